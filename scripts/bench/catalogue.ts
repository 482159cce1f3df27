// The benchmark's synthetic catalogue: N recipes, each with an upstream and a mirror bare repo, a local
// clone, a recipe_meta.py in a cc-ci repo and (for most) a canonical record. Building must take seconds, not
// minutes: each repo *shape* is made once with one `git fast-import` and then copied per recipe with
// fs.cpSync, so the number of git processes does not grow with N.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** The test sandbox's helpers (compose file and recipe_meta.py text), test/support/sandbox.ts. */
export type SandboxModule = typeof import('../../test/support/sandbox.js');

const IDENT = 'bench <bench@example.invalid>';
const GIT_ENV = {
  GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@example.invalid',
  GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@example.invalid',
};

/** Tags that are not releases but sit in real recipe repos; the sweep must list them as ignored. */
export const ODD_TAGS = ['latest', 'v2.4.8-d7d63b0d', '1.14.1-rootless_1'];

/**
 * `count` release tags, oldest first, shaped like Co-op Cloud's: `<recipe-semver>+<app-version>`, with
 * two-digit app segments (so `+1.31.10` must sort above `+1.31.9`), some `+v…` apps and some bare semver.
 */
export function releaseTags(count: number): string[] {
  const tags: string[] = [];
  let major = 0;
  let minor = 1;
  let patch = 0;
  for (let i = 0; i < count; i++) {
    if (i > 0) {
      if (i % 50 === 0) [major, minor, patch] = [major + 1, 0, 0];
      else if (i % 8 === 0) [minor, patch] = [minor + 1, 0];
      else patch += 1;
    }
    const recipe = `${major}.${minor}.${patch}`;
    const app = `${1 + Math.floor(i / 40)}.${i % 40}.${i % 3}`;
    if (i % 17 === 5) tags.push(recipe);
    else if (i % 13 === 7) tags.push(`${recipe}+v${app}-0`);
    else tags.push(`${recipe}+${app}`);
  }
  return tags;
}

export interface Template {
  /** Bare repo to copy. */
  bare: string;
  /** Non-bare clone of it, already holding everything upstream has (as after a sync). */
  clone: string;
  /** Release tags, oldest first. */
  releases: string[];
  /** Every tag -> peeled commit. */
  commits: Map<string, string>;
  head: string;
}

function git(args: string[], cwd: string, input?: string): string {
  return execFileSync('git', args, { cwd, input, encoding: 'utf8', env: { ...process.env, ...GIT_ENV }, maxBuffer: 1 << 28 });
}

/**
 * One bare repo made by a single `git fast-import`: a commit per release whose compose.yml carries that
 * release's version label, an annotated tag on it, then `untagged` commits nobody tagged, then the odd tags.
 */
export function buildTemplate(
  dir: string, name: string, releases: string[], sb: SandboxModule, opts: { untagged?: number; odd?: string[]; clone?: boolean } = {},
): Template {
  const bare = path.join(dir, `${name}.git`);
  mkdirSync(bare, { recursive: true });
  // --template= : no sample hooks, so every copy is a handful of files.
  git(['init', '--quiet', '--bare', '--template=', '--initial-branch=main'], bare);
  const parts: string[] = [];
  const data = (text: string) => `data ${Buffer.byteLength(text)}\n${text}\n`;
  let mark = 0;
  let when = 1_700_000_000;
  const commit = (message: string, label: string, first: boolean) => {
    mark += 1;
    when += 3600;
    parts.push(`commit refs/heads/main\nmark :${mark}\ncommitter ${IDENT} ${when} +0000\n${data(message)}`);
    if (first) parts.push(`M 100644 inline README.md\n${data(`# ${name}\n`)}`);
    parts.push(`M 100644 inline compose.yml\n${data(sb.composeFile(label))}`);
    return mark;
  };
  commit('init', '0.0.0+unreleased', true);
  for (const tag of releases) {
    const m = commit(`release ${tag}`, tag, false);
    parts.push(`tag ${tag}\nfrom :${m}\ntagger ${IDENT} ${when} +0000\n${data(`release ${tag}`)}`);
  }
  for (let i = 0; i < (opts.untagged ?? 0); i++) commit(`unreleased change ${i + 1}`, releases.at(-1) ?? '0.0.0+unreleased', false);
  for (const odd of opts.odd ?? ODD_TAGS) parts.push(`reset refs/tags/${odd}\nfrom :${mark}\n\n`);
  git(['fast-import', '--quiet'], bare, parts.join(''));
  git(['pack-refs', '--all'], bare);

  const commits = new Map<string, string>();
  const refs = git(['for-each-ref', '--format=%(refname:strip=2)%09%(objectname)%09%(*objectname)', 'refs/tags'], bare);
  for (const line of refs.split('\n')) {
    const [tag, obj, peeled] = line.split('\t');
    if (tag && obj) commits.set(tag, peeled || obj);
  }
  const head = git(['rev-parse', 'refs/heads/main'], bare).trim();

  const clone = path.join(dir, `${name}-clone`);
  if (opts.clone !== false) {
    git(['clone', '--quiet', '--no-hardlinks', '--template=', bare, clone], dir);
    // What a sync leaves behind: upstream's branch under the sweep's own tracking ref.
    git(['update-ref', 'refs/remotes/ccci-upstream/main', head], clone);
  }
  return { bare, clone, releases, commits, head };
}

export type Kind = 'never-released' | 'no-canonical' | 'behind' | 'up-to-date';

/** The mix of the catalogue, by position: 10 % never released, 20 % without canonical, 30 % behind, 40 % up to date. */
export function kindOf(i: number): Kind {
  const k = i % 10;
  if (k === 0) return 'never-released';
  if (k <= 2) return 'no-canonical';
  if (k <= 5) return 'behind';
  return 'up-to-date';
}

export const recipeName = (i: number) => `recipe-${String(i + 1).padStart(4, '0')}`;

export interface Catalogue {
  root: string;
  /** Served over HTTP: <gitRoot>/upstream/<recipe>.git and <gitRoot>/mirror/<recipe>.git */
  gitRoot: string;
  upstreamDir: string;
  mirrorDir: string;
  recipesDir: string;
  stateDir: string;
  ccciRepo: string;
  recipes: { name: string; kind: Kind }[];
  released: Template;
  unreleased: Template;
  settings: string;
  buildMs: number;
}

export function writeMeta(ccciRepo: string, recipe: string, sb: SandboxModule, cadence: 'nightly' | 'weekly'): void {
  mkdirSync(path.join(ccciRepo, 'tests', recipe), { recursive: true });
  writeFileSync(path.join(ccciRepo, 'tests', recipe, 'recipe_meta.py'), sb.recipeMeta({ cadence }));
}

/** A cc-ci repo enrolling `recipes`, with the harness script; a git repo when `commit` (run reads its HEAD). */
export function buildCcciRepo(dir: string, recipes: string[], sb: SandboxModule, commit = false): string {
  recipes.forEach((r, i) => writeMeta(dir, r, sb, i % 3 === 0 ? 'nightly' : 'weekly'));
  mkdirSync(path.join(dir, 'tests', '_shared'), { recursive: true });
  writeFileSync(path.join(dir, 'tests', '_shared', 'recipe_meta.py'), 'WARM_CANONICAL = True\n');
  mkdirSync(path.join(dir, 'runner'), { recursive: true });
  writeFileSync(path.join(dir, 'runner', 'run_recipe_ci.py'), '# the real harness lives in cc-ci\n');
  // No runner/seed_canonical.py: a promotion then launches nothing more, so each recipe is one launch.
  if (commit) {
    git(['init', '--quiet', '--template=', '--initial-branch=main'], dir);
    git(['add', '-A'], dir);
    git(['commit', '--quiet', '-m', 'cc-ci'], dir);
  }
  return dir;
}

/** Copies a bare upstream repo for `recipe` unless it exists (growth sizes reuse the catalogue's). */
export function ensureUpstream(cat: Catalogue, recipe: string, template: Template): void {
  const dst = path.join(cat.upstreamDir, `${recipe}.git`);
  if (!existsSync(dst)) cpSync(template.bare, dst, { recursive: true });
}

export function buildCatalogue(root: string, n: number, tags: number, sb: SandboxModule): Catalogue {
  const started = performance.now();
  const gitRoot = path.join(root, 'git');
  const templates = path.join(root, 'templates');
  const cat: Catalogue = {
    root,
    gitRoot,
    upstreamDir: path.join(gitRoot, 'upstream'),
    mirrorDir: path.join(gitRoot, 'mirror'),
    recipesDir: path.join(root, 'abra', 'recipes'),
    stateDir: path.join(root, 'state'),
    ccciRepo: path.join(root, 'cc-ci'),
    recipes: [],
    released: buildTemplate(templates, 'released', releaseTags(tags), sb, { untagged: 2 }),
    unreleased: buildTemplate(templates, 'unreleased', [], sb, { untagged: 1, odd: ['latest', 'v2.4.8-d7d63b0d'] }),
    settings: path.join(root, 'settings.toml'), // never created: absent settings are fine
    buildMs: 0,
  };
  for (const d of [cat.upstreamDir, cat.mirrorDir, cat.recipesDir, cat.stateDir]) mkdirSync(d, { recursive: true });
  const rel = cat.released.releases;
  for (let i = 0; i < n; i++) {
    const name = recipeName(i);
    const kind = kindOf(i);
    const t = kind === 'never-released' ? cat.unreleased : cat.released;
    cpSync(t.bare, path.join(cat.upstreamDir, `${name}.git`), { recursive: true });
    cpSync(t.bare, path.join(cat.mirrorDir, `${name}.git`), { recursive: true }); // mirror already in sync
    cpSync(t.clone, path.join(cat.recipesDir, name), { recursive: true });
    cat.recipes.push({ name, kind });
    if (kind === 'behind' || kind === 'up-to-date') {
      // Behind by 1..5 releases (never below the first).
      const version = kind === 'up-to-date' ? rel.at(-1)! : rel[Math.max(0, rel.length - 2 - (i % 5))]!;
      const record = { recipe: name, version, commit: t.commits.get(version), status: 'idle', ts: '20250101T000000Z', domain: `${name}.ci.example` };
      mkdirSync(path.join(cat.stateDir, name), { recursive: true });
      writeFileSync(path.join(cat.stateDir, name, 'canonical.json'), `${JSON.stringify(record, null, 2)}\n`);
    }
  }
  buildCcciRepo(cat.ccciRepo, cat.recipes.map((r) => r.name), sb, true);
  cat.buildMs = performance.now() - started;
  return cat;
}
