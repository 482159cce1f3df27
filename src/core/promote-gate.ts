// The promote gate: a pure function of what the harness run was. Only a green, cold run of a real release
// tag, whose compose label says that same version, on a tree that is still exactly that tag afterwards,
// may become the canonical. It fails closed: whatever it cannot read, or reads two ways, does not promote.
import { parseRelease } from './version.js';

/** What `<runs-dir>/results.json` held: absent, unreadable (exists but no JSON object), or its fields. */
export type RunResults =
  | { kind: 'absent' }
  | { kind: 'unreadable'; why: string }
  | { kind: 'read'; fields: Record<string, unknown> };

/** Pure: results.json's text (null when the file does not exist) as RunResults. */
export function parseRunResults(text: string | null): RunResults {
  if (text === null) return { kind: 'absent' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: 'unreadable', why: 'not valid JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { kind: 'unreadable', why: 'not a JSON object' };
  }
  // JSON.parse keeps the LAST of duplicate keys, so `{"quick": true, "quick": false}` would read as a cold
  // run: a marker given twice (in any case) is read two ways, and that is unreadable.
  const seen = new Set<string>();
  for (const key of topLevelKeys(text)) {
    const k = key.trim().toLowerCase();
    if (!MARKERS.includes(k)) continue;
    if (seen.has(k)) return { kind: 'unreadable', why: `marker "${k}" given more than once` };
    seen.add(k);
  }
  return { kind: 'read', fields: value as Record<string, unknown> };
}

const MARKERS = ['quick', 'mode', 'pr', 'ref'];

/** Pure: the keys of the top-level object of `text`, which is valid JSON whose top level is an object. */
export function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let keyNext = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (depth === 1 && keyNext) keys.push(JSON.parse(text.slice(i, j + 1)) as string);
      keyNext = false;
      i = j;
    } else if (c === '{' || c === '[') {
      depth++;
      keyNext = depth === 1;
    } else if (c === '}' || c === ']') {
      depth--;
    } else if (c === ',' && depth === 1) {
      keyNext = true;
    }
  }
  return keys;
}

/** The tree under test as found after the harness exited. */
export interface TreeAfter {
  /** The commit checked out then, or null when it could not be read. */
  head: string | null;
  /** `git status --porcelain` entries (modified tracked files, untracked files not ignored). */
  changes: string[];
  /** Why the tree could not be inspected at all. */
  problem?: string;
}

export interface GateInput {
  exitCode: number | null;
  /** The tag that was checked out and tested. */
  tag: string;
  /** The commit the tag points to (peeled): what must still be checked out after the test. */
  commit: string;
  /** Every release tag of the recipe (from upstream). */
  releaseTags: ReadonlySet<string>;
  /** Version label of the compose file in the tag's commit, or null when absent/unreadable. */
  labelVersion: string | null;
  /** Why the label could not be read, when labelVersion is null. */
  labelProblem?: string;
  /** What the harness wrote about its own run. */
  results: RunResults;
  tree: TreeAfter;
}

export type GateResult = { promote: true } | { promote: false; reason: string };

// Values that clearly mean "not set". Everything else sets a marker: a harness that says `"quick": "yes"`
// or `"pr": 5` is believed, because believing it costs one promotion and disbelieving it costs a wrong one.
function unset(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0) return true;
  if (typeof v !== 'string') return false;
  // Not trimmed: `"false "` is not one of the few spellings of "not set", so it blocks.
  return ['', 'false', 'no', 'off', '0', 'none', 'null'].includes(v.toLowerCase());
}

/** The only modes that are a full cold test; any other mode (quick, warm, Quick, a number) is not. */
const COLD_MODES = ['cold', 'full'];

/** Pure: why the markers in results.json forbid promotion, or null when they allow it. */
export function resultsBlock(results: RunResults, tag: string, commit: string): string | null {
  if (results.kind === 'absent') return null;
  if (results.kind === 'unreadable') return `results.json unreadable (${results.why})`;
  // Keys are matched whatever their case (`"Quick"`, `"MODE"`), and every spelling present is checked.
  const all = Object.entries(results.fields);
  const markers = (name: string) => all.filter(([k]) => k.trim().toLowerCase() === name);
  const show = (k: string, v: unknown) => `"${k}": ${JSON.stringify(v)}`;
  for (const [k, v] of markers('quick')) {
    if (!unset(v)) return `quick run (${show(k, v)}): only a cold run can promote`;
  }
  for (const [k, v] of markers('mode')) {
    // Only an absent mode or exactly cold/full (any case) is a cold run: `null`, `""` and `"COLD "` are not.
    const mode = typeof v === 'string' ? v.toLowerCase() : null;
    if (mode === null || !COLD_MODES.includes(mode)) {
      return `quick or unknown run mode (${show(k, v)}): only a cold run (${COLD_MODES.join(' or ')}) can promote`;
    }
  }
  for (const [k, v] of markers('pr')) {
    if (!unset(v)) return `run tested pull request (${show(k, v)})`;
  }
  for (const [k, v] of markers('ref')) {
    if (v !== undefined && v !== null && v !== '' && !refIsTag(v, tag, commit)) return `run tested ref (${show(k, v)}), not tag ${tag}`;
  }
  return null;
}

function refIsTag(ref: unknown, tag: string, commit: string): boolean {
  if (typeof ref !== 'string') return false;
  const r = ref;
  if (r === tag || r === `refs/tags/${tag}` || r === `tags/${tag}`) return true;
  // The commit itself, in full or abbreviated (git never abbreviates below 7).
  return /^[0-9a-f]{7,64}$/.test(r) && commit.startsWith(r);
}

/** Pure: why the tree after the test is not the tag that was meant to be tested, or null. */
export function treeBlock(tree: TreeAfter, tag: string, commit: string): string | null {
  if (tree.problem) return `cannot tell what was tested: ${tree.problem}`;
  if (tree.head !== commit) {
    return `the tree under test is no longer ${tag} (${commit.slice(0, 10)}) but ${tree.head?.slice(0, 10) ?? 'unreadable'}: the harness checked out something else`;
  }
  if (tree.changes.length > 0) {
    const shown = tree.changes.slice(0, 5).join(', ');
    const more = tree.changes.length > 5 ? ` and ${tree.changes.length - 5} more` : '';
    return `the tree under test was changed during the test (${shown}${more}): what ran is not ${tag}`;
  }
  return null;
}

export function promoteGate(g: GateInput): GateResult {
  if (g.exitCode !== 0) return { promote: false, reason: `harness exited ${g.exitCode ?? 'by signal'}` };
  const tree = treeBlock(g.tree, g.tag, g.commit);
  if (tree) return { promote: false, reason: tree };
  const results = resultsBlock(g.results, g.tag, g.commit);
  if (results) return { promote: false, reason: results };
  if (!parseRelease(g.tag) || !g.releaseTags.has(g.tag)) {
    return { promote: false, reason: `${g.tag} is not a release tag of the recipe` };
  }
  if (g.labelVersion === null) {
    return { promote: false, reason: g.labelProblem ?? 'compose file has no version label' };
  }
  if (g.labelVersion !== g.tag) {
    return { promote: false, reason: `compose version label ${g.labelVersion} does not match tag ${g.tag}` };
  }
  return { promote: true };
}
