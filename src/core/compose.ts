// The compose version label of a checked-out recipe: `coop-cloud.${STACK_NAME}.version=<v>` in a service's
// `deploy.labels`, as a list entry or a map key. The promote gate compares it with the tag: a release
// whose compose file claims another version is not what we think we tested. It is read from the tag's
// commit, never from the work tree, so nothing a harness or an operator changes on disk can vouch for it.
import { parse as parseYaml } from 'yaml';

const LABEL_KEY = 'coop-cloud.${STACK_NAME}.version';
export const COMPOSE_FILES = ['compose.yml', 'compose.yaml', 'docker-compose.yml', 'docker-compose.yaml'];

export type LabelResult = { version: string } | { version: null; problem: string };

/** Pure: the version label of one compose document. */
export function versionLabelOf(doc: unknown): LabelResult {
  const services = (doc as { services?: unknown } | null)?.services;
  if (typeof services !== 'object' || services === null) return { version: null, problem: 'compose file has no services' };
  const found = new Set<string>();
  for (const svc of Object.values(services as Record<string, unknown>)) {
    const labels = (svc as { deploy?: { labels?: unknown } } | null)?.deploy?.labels;
    if (Array.isArray(labels)) {
      for (const l of labels) {
        if (typeof l === 'string' && l.startsWith(`${LABEL_KEY}=`)) found.add(l.slice(LABEL_KEY.length + 1).trim());
      }
    } else if (labels && typeof labels === 'object') {
      const v = (labels as Record<string, unknown>)[LABEL_KEY];
      if (v !== undefined && v !== null) found.add(String(v).trim());
    }
  }
  if (found.size === 0) return { version: null, problem: `compose file has no ${LABEL_KEY} label` };
  if (found.size > 1) return { version: null, problem: `compose file has conflicting version labels: ${[...found].join(', ')}` };
  return { version: [...found][0]! };
}

/**
 * Pure: the version label of a recipe tree, given the compose files it has (name -> text, in any order).
 * The first of COMPOSE_FILES that is present is the one abra deploys.
 */
export function versionLabelOfFiles(files: ReadonlyMap<string, string>, where: string): LabelResult {
  const name = COMPOSE_FILES.find((f) => files.has(f));
  if (!name) return { version: null, problem: `no compose file (${COMPOSE_FILES.join(', ')}) in ${where}` };
  let doc: unknown;
  try {
    doc = parseYaml(files.get(name)!);
  } catch (err) {
    return { version: null, problem: `${name} does not parse: ${(err as Error).message.split('\n')[0]}` };
  }
  return versionLabelOf(doc);
}
