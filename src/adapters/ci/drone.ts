// Drone 2.x REST API, the few calls a sweep build needs. A build created through the API has event
// `custom` and gets every query parameter (but branch, commit, access_token) as an environment variable
// of its steps. An answer of `null` means no pipeline of the repo accepts that event.
import { buildPhase, droneLogLines } from '../../core/executor-result.js';
import { CiError } from '../../core/errors.js';
import { asVars, type CiBuild, type CiClient } from './engine.js';
import { ciHttp, type CiHttpOptions } from './http.js';

interface DroneStep { number?: unknown }
interface DroneStage { number?: unknown; steps?: DroneStep[] }
interface DroneBuild { number?: unknown; status?: unknown; params?: unknown; stages?: DroneStage[] }

export function droneClient(o: CiHttpOptions & { repo: string; branch: string }): CiClient {
  const parts = o.repo.split('/');
  if (parts.length !== 2 || !parts[0] || !parts[1]) {
    throw new CiError(`--ci-repo ${JSON.stringify(o.repo)} is not owner/name, as Drone names a repo`);
  }
  const repoPath = `/api/repos/${parts.map(encodeURIComponent).join('/')}`;
  const call = ciHttp('Drone', o);
  const ui = o.server.replace(/\/+$/, '');

  const toBuild = (b: DroneBuild): CiBuild => {
    if (typeof b?.number !== 'number' || typeof b.status !== 'string') throw new CiError('Drone answered with something that is not a build');
    return { number: b.number, status: b.status, phase: buildPhase('drone', b.status), url: `${ui}/${o.repo}/${b.number}`, vars: asVars(b.params) };
  };

  return {
    engine: 'drone',
    async dispatch(vars) {
      const q = new URLSearchParams({ branch: o.branch, ...vars });
      const res = await call('POST', `${repoPath}/builds?${q}`);
      if (res.body === null || res.body === undefined) {
        throw new CiError(
          `Drone created no build for ${o.repo}: no pipeline on branch ${o.branch} accepts the custom event; ` +
            'give the sweep pipeline "trigger: event: [custom]" (README: Running tests as CI builds)',
        );
      }
      return toBuild(res.body as DroneBuild);
    },
    async get(number) {
      return toBuild((await call('GET', `${repoPath}/builds/${number}`)).body as DroneBuild);
    },
    async logs(number) {
      const b = (await call('GET', `${repoPath}/builds/${number}`)).body as DroneBuild;
      const lines: string[] = [];
      for (const stage of b?.stages ?? []) {
        for (const step of stage.steps ?? []) {
          if (typeof stage.number !== 'number' || typeof step.number !== 'number') continue;
          // Drone stores a step's log when the step ends; a step that never ran has none (404).
          const res = await call('GET', `${repoPath}/builds/${number}/logs/${stage.number}/${step.number}`, undefined, { allow404: true });
          lines.push(...droneLogLines(res.body));
        }
      }
      return lines;
    },
    async cancel(number) {
      await call('DELETE', `${repoPath}/builds/${number}`);
    },
    async recent() {
      const res = await call('GET', `${repoPath}/builds?page=1&per_page=50`);
      return Array.isArray(res.body) ? (res.body as DroneBuild[]).map(toBuild) : [];
    },
  };
}
