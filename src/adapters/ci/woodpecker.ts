// Woodpecker (v2/v3) REST API, the few calls a sweep build needs. A pipeline created through the API has
// event `manual` and runs the branch head with the given variables in its steps' environment; 204 (no
// body) means no workflow accepted it. The repo is addressed by its numeric id (looked up once from
// owner/name when that is what was configured).
import { buildPhase, woodpeckerLogLines } from '../../core/executor-result.js';
import { CiError } from '../../core/errors.js';
import { asVars, type CiBuild, type CiClient } from './engine.js';
import { ciHttp, type CiHttpOptions } from './http.js';

interface WpStep { id?: unknown }
interface WpWorkflow { children?: WpStep[] }
interface WpPipeline { number?: unknown; status?: unknown; variables?: unknown; workflows?: WpWorkflow[] }

export function woodpeckerClient(o: CiHttpOptions & { repo: string; branch: string }): CiClient {
  const call = ciHttp('Woodpecker', o);
  const ui = o.server.replace(/\/+$/, '');
  let id: number | null = /^[1-9][0-9]*$/.test(o.repo) ? Number(o.repo) : null;
  if (id === null && !/^[^/]+\/[^/]+$/.test(o.repo)) {
    throw new CiError(`--ci-repo ${JSON.stringify(o.repo)} is neither a Woodpecker repo id nor owner/name`);
  }

  const repoId = async (): Promise<number> => {
    if (id !== null) return id;
    const res = await call('GET', `/api/repos/lookup/${o.repo.split('/').map(encodeURIComponent).join('/')}`);
    const found = (res.body as { id?: unknown } | undefined)?.id;
    if (typeof found !== 'number') throw new CiError(`Woodpecker has no repo ${o.repo}; enable it or give its id as --ci-repo`);
    id = found;
    return id;
  };
  const toBuild = (repo: number, p: WpPipeline): CiBuild => {
    if (typeof p?.number !== 'number' || typeof p.status !== 'string') throw new CiError('Woodpecker answered with something that is not a pipeline');
    return { number: p.number, status: p.status, phase: buildPhase('woodpecker', p.status), url: `${ui}/repos/${repo}/pipeline/${p.number}`, vars: asVars(p.variables) };
  };

  return {
    engine: 'woodpecker',
    async dispatch(vars) {
      const repo = await repoId();
      const res = await call('POST', `/api/repos/${repo}/pipelines`, { branch: o.branch, variables: vars });
      if (res.status === 204 || res.body === undefined || res.body === null) {
        throw new CiError(
          `Woodpecker created no pipeline for ${o.repo}: no workflow on branch ${o.branch} accepts the manual event; ` +
            'give the sweep workflow "when: - event: manual" (README: Running tests as CI builds)',
        );
      }
      return toBuild(repo, res.body as WpPipeline);
    },
    async get(number) {
      const repo = await repoId();
      return toBuild(repo, (await call('GET', `/api/repos/${repo}/pipelines/${number}`)).body as WpPipeline);
    },
    async logs(number) {
      const repo = await repoId();
      const p = (await call('GET', `/api/repos/${repo}/pipelines/${number}`)).body as WpPipeline;
      const lines: string[] = [];
      for (const wf of p?.workflows ?? []) {
        for (const step of wf.children ?? []) {
          if (typeof step.id !== 'number') continue;
          const res = await call('GET', `/api/repos/${repo}/logs/${number}/${step.id}`, undefined, { allow404: true });
          lines.push(...woodpeckerLogLines(res.body));
        }
      }
      return lines;
    },
    async cancel(number) {
      const repo = await repoId();
      await call('POST', `/api/repos/${repo}/pipelines/${number}/cancel`);
    },
    async recent() {
      const repo = await repoId();
      const res = await call('GET', `/api/repos/${repo}/pipelines?page=1&perPage=50`);
      return Array.isArray(res.body) ? (res.body as WpPipeline[]).map((p) => toBuild(repo, p)) : [];
    },
  };
}
