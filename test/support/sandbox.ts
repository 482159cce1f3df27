// A throwaway Co-op Cloud CI host in a folder: bare "upstream" recipe repos with annotated release tags
// and compose labels, a cc-ci repo with recipe_meta.py files, and a stand-in cc-ci-run that follows the
// harness contract, steered per recipe by a control file. Test-only: the integration tests and the benchmark
// build these; it is not shipped (the demo keeps its own small copy in src/demo/).
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runGit } from '../../src/adapters/git.js';

export interface ReleaseSpec {
  tag: string;
  /** Version label written into compose.yml; defaults to the tag. */
  label?: string;
}

export interface RecipeSpec {
  name: string;
  cadence?: 'nightly' | 'weekly';
  /** WARM_CANONICAL literal; default "True". */
  warm?: string;
  releases: ReleaseSpec[];
  /** Commits on the default branch after the last release, never tagged. */
  untaggedAfter?: number;
  /** Non-release tags (e.g. `latest`), pointing at the last commit. */
  otherTags?: string[];
}

export interface Sandbox {
  root: string;
  upstreamDir: string;
  ccciRepo: string;
  recipesDir: string;
  stateDir: string;
  ccciRun: string;
  /** Every launch of the stand-in cc-ci-run appends one JSON line here. */
  harnessLog: string;
  /**
   * JSON file steering the stand-in per recipe: { "<recipe>": { "exit": 1, "seedExit": 0, "sleepMs": 0,
   * "onTerm": "teardown" | "ignore", "teardownMs": 0, "results": {...} (written as JSON), "resultsText": "..."
   * (written as is), "dirty": "<file written into the clone>", "checkout": "<ref checked out in the clone
   * during the test, as `abra app deploy <version>` does>", "git": [[<args>], ...] (git commands run in the
   * clone during the test, after checkout), "fill": { "file": "<path>", "leaveBytes": 0 }
   * (fills that file system while testing, then frees leaveBytes), "print": "<text printed>", "printBytes":
   * N (lines of output), "bigLineBytes": N (one line, no newline), "leaveChild": "group" | "setsid" (a
   * `sleep` left holding stdout) | "quiet" (escaped, holding no output), "seedSleepMs": 0, "write": { "path": "<any file>", "text": "..." } (written
   * while testing), "waitFor": "<file>" (the test is held until it exists) } }. Signals it receives are appended to
   * `<harnessLog>.signals`, the pids of children it leaves to `<harnessLog>.children`, and one line per run
   * that reached its end to `<harnessLog>.ends`.
   */
  control: string;
  upstreamUrl: string;
  /** Environment for running ccci-sweep against this sandbox. */
  env: Record<string, string>;
}

const IDENTITY = {
  GIT_AUTHOR_NAME: 'sandbox', GIT_AUTHOR_EMAIL: 'sandbox@example.invalid',
  GIT_COMMITTER_NAME: 'sandbox', GIT_COMMITTER_EMAIL: 'sandbox@example.invalid',
};

export function composeFile(label: string): string {
  return [
    'version: "3.8"',
    'services:',
    '  app:',
    '    image: example/app:1',
    '    deploy:',
    '      labels:',
    '        - "traefik.enable=true"',
    `        - "coop-cloud.\${STACK_NAME}.version=${label}"`,
    '',
  ].join('\n');
}

// The stand-in harness: records argv, cwd, env and what is checked out, then exits as the control file says.
const STAND_IN_CC_CI_RUN = `#!/usr/bin/env node
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const script = process.argv[2] || '';
const recipe = process.env.RECIPE || '';
const clone = path.join(process.env.ABRA_DIR || '', 'recipes', recipe);
const git = (...args) => { try { return execFileSync('git', ['-C', clone, ...args], { encoding: 'utf8' }).trim(); } catch { return null; } };
const control = (() => { try { return JSON.parse(fs.readFileSync(process.env.SANDBOX_CONTROL, 'utf8'))[recipe] || {}; } catch { return {}; } })();
const seeding = script.includes('seed');
// A stop request: tear down for teardownMs then exit 143, or ignore it (to be killed after the grace).
process.on('SIGTERM', () => {
  fs.appendFileSync(process.env.SANDBOX_HARNESS_LOG + '.signals', JSON.stringify({ recipe, signal: 'SIGTERM', at: Date.now() }) + '\\n');
  if (control.onTerm === 'ignore') return;
  setTimeout(() => {
    fs.appendFileSync(process.env.SANDBOX_HARNESS_LOG + '.signals', JSON.stringify({ recipe, tornDown: true, at: Date.now() }) + '\\n');
    process.exit(143);
  }, control.teardownMs ?? 0);
});
fs.appendFileSync(process.env.SANDBOX_HARNESS_LOG, JSON.stringify({
  argv: process.argv.slice(2), cwd: process.cwd(), env: process.env, script, recipe, pid: process.pid,
  head: git('rev-parse', 'HEAD'), branch: git('symbolic-ref', '-q', '--short', 'HEAD'),
}) + '\\n');
console.log((seeding ? 'seeding warm data for ' : 'testing ') + recipe + ' ' + (process.env.CCCI_SWEEP_TAG || ''));
const exit = seeding ? (control.seedExit ?? 0) : (control.exit ?? 0);
// A full disk while the test runs: fill the file system of control.fill.file, then give back leaveBytes.
if (!seeding && control.fill) {
  // Only once the sweep has our first line in harness.log, so the full disk meets the sweep's own writes.
  const harnessLog = path.join(process.env.CCCI_RUNS_DIR || '', 'harness.log');
  for (let i = 0; i < 1000 && !(fs.existsSync(harnessLog) && fs.statSync(harnessLog).size > 0); i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
  const fd = fs.openSync(control.fill.file, 'w');
  const chunk = Buffer.alloc(65536, 120);
  let size = 0;
  try { for (;;) size += fs.writeSync(fd, chunk); } catch {}
  fs.ftruncateSync(fd, Math.max(0, size - (control.fill.leaveBytes || 0)));
  fs.closeSync(fd);
}
// Leftovers in the clone, as a careless harness might leave (they can block putting the checkout back).
if (!seeding && control.dirty) fs.writeFileSync(path.join(clone, control.dirty), 'harness leftovers\\n');
if (!seeding && control.write) fs.writeFileSync(control.write.path, control.write.text);
if (!seeding && control.checkout) git('-c', 'advice.detachedHead=false', 'checkout', '--quiet', '--detach', control.checkout);
for (const args of (!seeding && control.git) || []) git(...args);
const resultsText = control.resultsText ?? (control.results === undefined ? undefined : JSON.stringify(control.results));
if (!seeding && resultsText !== undefined && process.env.CCCI_RUNS_DIR) {
  fs.mkdirSync(process.env.CCCI_RUNS_DIR, { recursive: true });
  fs.writeFileSync(path.join(process.env.CCCI_RUNS_DIR, 'results.json'), resultsText);
}
if (!seeding && control.print) console.log(control.print);
// A lot of output (a chatty deploy), or one "line" of many MB: written synchronously, so a reader that
// stops reading blocks the harness, as a real pipe would.
const writeAll = (buf) => {
  for (let off = 0; off < buf.length;) {
    try { off += fs.writeSync(1, buf, off); } catch (e) {
      if (e.code !== 'EAGAIN') throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5); // a non-blocking pipe is full: wait
    }
  }
};
const line = Buffer.from('x'.repeat(999) + '\\n');
for (let n = 0; !seeding && n < (control.printBytes ?? 0); n += line.length) writeAll(line);
const mb = Buffer.alloc(1 << 20, 'y');
for (let n = 0; !seeding && n < (control.bigLineBytes ?? 0); n += mb.length) writeAll(mb);
if (!seeding && control.leaveChild) {
  // 'quiet': escaped (setsid) and holding none of our output: only its environment says whose it is.
  const quiet = control.leaveChild === 'quiet';
  const c = require('node:child_process').spawn('sleep', ['600'], { stdio: quiet ? 'ignore' : ['ignore', 'inherit', 'inherit'], detached: control.leaveChild !== 'group' });
  c.unref();
  fs.appendFileSync(process.env.SANDBOX_HARNESS_LOG + '.children', JSON.stringify({ recipe, pid: c.pid, how: control.leaveChild }) + '\\n');
}
const finish = () => setTimeout(() => {
  fs.appendFileSync(process.env.SANDBOX_HARNESS_LOG + '.ends', JSON.stringify({ recipe, script, exit }) + '\\n');
  process.exit(exit);
}, seeding ? (control.seedSleepMs ?? 0) : (control.sleepMs ?? 0));
// Held until a test lets it go (an event, not a sleep): the file control.waitFor appears.
if (!seeding && control.waitFor) {
  const t = setInterval(() => {
    if (fs.existsSync(control.waitFor)) { clearInterval(t); finish(); }
    else if (!fs.existsSync(path.dirname(control.waitFor))) process.exit(1); // the sandbox is gone: never wait forever
  }, 20);
} else finish();
`;

/** git in `dir`, through the sweep's own adapter, with a fixed identity. */
async function git(dir: string, args: string[]): Promise<string> {
  return (await runGit(args, { cwd: dir, env: { ...process.env, ...IDENTITY } })).stdout;
}

async function commitAll(dir: string, message: string): Promise<void> {
  await git(dir, ['add', '-A']);
  await git(dir, ['commit', '--quiet', '-m', message]);
}

/** Creates `<upstreamDir>/<name>.git` with the given releases as annotated tags. */
export async function makeUpstreamRecipe(upstreamDir: string, spec: RecipeSpec, workRoot: string): Promise<void> {
  const work = path.join(workRoot, spec.name);
  mkdirSync(work, { recursive: true });
  await git(work, ['init', '--quiet', '--initial-branch=main']);
  writeFileSync(path.join(work, 'README.md'), `# ${spec.name}\n`);
  writeFileSync(path.join(work, 'compose.yml'), composeFile('0.0.0+unreleased'));
  await commitAll(work, 'init');
  for (const r of spec.releases) {
    writeFileSync(path.join(work, 'compose.yml'), composeFile(r.label ?? r.tag));
    await commitAll(work, `release ${r.tag}`);
    await git(work, ['tag', '-a', '-m', `release ${r.tag}`, r.tag]);
  }
  for (let i = 0; i < (spec.untaggedAfter ?? 0); i++) {
    writeFileSync(path.join(work, 'CHANGES.md'), `unreleased change ${i + 1}\n`);
    await commitAll(work, `unreleased change ${i + 1}`);
  }
  for (const t of spec.otherTags ?? []) await git(work, ['tag', t]);
  const bare = path.join(upstreamDir, `${spec.name}.git`);
  await git(workRoot, ['clone', '--quiet', '--bare', work, bare]);
}

export function recipeMeta(spec: Pick<RecipeSpec, 'warm' | 'cadence'>): string {
  return [
    '# Recipe test metadata read by the harness and by ccci-sweep.',
    `WARM_CANONICAL = ${spec.warm ?? 'True'}`,
    `SWEEP_CADENCE = "${spec.cadence ?? 'weekly'}"`,
    '',
  ].join('\n');
}

export async function buildSandbox(root: string, specs: RecipeSpec[]): Promise<Sandbox> {
  const sb: Sandbox = {
    root,
    upstreamDir: path.join(root, 'upstream'),
    ccciRepo: path.join(root, 'cc-ci'),
    recipesDir: path.join(root, 'abra', 'recipes'),
    stateDir: path.join(root, 'state'),
    ccciRun: path.join(root, 'bin', 'cc-ci-run'),
    harnessLog: path.join(root, 'harness-launches.jsonl'),
    control: path.join(root, 'harness-control.json'),
    upstreamUrl: `file://${path.join(root, 'upstream')}/{recipe}.git`,
    env: {},
  };
  for (const d of [sb.upstreamDir, sb.recipesDir, sb.stateDir, path.dirname(sb.ccciRun), path.join(root, 'work')]) {
    mkdirSync(d, { recursive: true });
  }
  for (const spec of specs) await makeUpstreamRecipe(sb.upstreamDir, spec, path.join(root, 'work'));

  // The cc-ci repo: enrolment files and the harness scripts cc-ci-run is given.
  for (const spec of specs) {
    mkdirSync(path.join(sb.ccciRepo, 'tests', spec.name), { recursive: true });
    writeFileSync(path.join(sb.ccciRepo, 'tests', spec.name, 'recipe_meta.py'), recipeMeta(spec));
  }
  mkdirSync(path.join(sb.ccciRepo, 'tests', '_shared'), { recursive: true });
  writeFileSync(path.join(sb.ccciRepo, 'tests', '_shared', 'recipe_meta.py'), 'WARM_CANONICAL = True\n');
  mkdirSync(path.join(sb.ccciRepo, 'runner'), { recursive: true });
  writeFileSync(path.join(sb.ccciRepo, 'runner', 'run_recipe_ci.py'), '# the real harness lives in cc-ci\n');
  writeFileSync(path.join(sb.ccciRepo, 'runner', 'seed_canonical.py'), '# retains the warm data of a promoted run\n');
  await git(sb.ccciRepo, ['init', '--quiet', '--initial-branch=main']);
  await commitAll(sb.ccciRepo, 'cc-ci');

  writeFileSync(sb.ccciRun, STAND_IN_CC_CI_RUN);
  chmodSync(sb.ccciRun, 0o755);
  writeFileSync(sb.control, '{}\n');
  sb.env = {
    CCCI_REPO: sb.ccciRepo,
    CCCI_STATE_DIR: sb.stateDir,
    CCCI_RECIPES_DIR: sb.recipesDir,
    CCCI_RUN: sb.ccciRun,
    CCCI_UPSTREAM_URL: sb.upstreamUrl,
    CCCI_SETTINGS: path.join(root, 'settings.toml'),
    SANDBOX_HARNESS_LOG: sb.harnessLog,
    SANDBOX_CONTROL: sb.control,
  };
  return sb;
}

/** Adds a release to an existing upstream repo (new commit + annotated tag on main). */
export async function addRelease(sb: Sandbox, recipe: string, release: ReleaseSpec): Promise<void> {
  const work = path.join(sb.root, 'work', recipe);
  writeFileSync(path.join(work, 'compose.yml'), composeFile(release.label ?? release.tag));
  await commitAll(work, `release ${release.tag}`);
  await git(work, ['tag', '-a', '-m', `release ${release.tag}`, release.tag]);
  await git(work, ['push', '--quiet', '--follow-tags', path.join(sb.upstreamDir, `${recipe}.git`), 'main']);
}

/** The commit an upstream release tag points to (peeled), read from the bare upstream repo. */
export async function upstreamTagCommit(sb: Sandbox, recipe: string, tag: string): Promise<string> {
  const out = await git(path.join(sb.upstreamDir, `${recipe}.git`), ['rev-parse', '--verify', `refs/tags/${tag}^{commit}`]);
  return out.trim();
}
