// Config that cannot silently point elsewhere, through the built CLI: empty paths, relative settings paths,
// URL templates without {recipe}, misspelt and doubled settings keys, a read-only state dir.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../support/sandbox.js';
import { BIN, cli, cliEnv, cliJson, launches, readJson, sandbox } from '../support/cli.js';

const settings = (sb: Sandbox, text: string) => writeFileSync(sb.env.CCCI_SETTINGS!, text);
/** The CLI run from `cwd`, with the sandbox's env minus `drop` (so the settings file decides those). */
const cliIn = async (sb: Sandbox, cwd: string, args: string[], drop: string[] = []) => {
  const env = cliEnv(sb);
  for (const k of drop) delete env[k];
  const r = await execa('node', [BIN, ...args], { cwd, env, extendEnv: false, reject: false, stdin: 'ignore' });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
};

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

describe('empty paths are refused', () => {
  it.each([
    [['plan', '--state-dir', ''], '--state-dir is empty'],
    [['run', '--recipes-dir', ''], '--recipes-dir is empty'],
    [['status', '--ccci-repo', ' '], '--ccci-repo is empty'],
    [['run', '--metrics-file', ''], '--metrics-file is empty'],
    [['doctor', '--cc-ci-run', ''], '--cc-ci-run is empty'],
  ])('%j: exit 2, one line, nothing written in the working directory', async (args, message) => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    const cwd = path.join(sb.root, 'cwd');
    mkdirSync(cwd);
    const r = await cliIn(sb, cwd, args);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr.trim().split('\n').filter((l) => !l.startsWith('(run ccci-sweep'))).toHaveLength(1);
    expect(readdirSync(cwd)).toEqual([]);
    expect(launches(sb)).toEqual([]);
  });

  it('state-dir = "" in the settings file: exit 2 naming the file and key', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    settings(sb, '[sweep]\nstate-dir = ""\n');
    const cwd = path.join(sb.root, 'cwd');
    mkdirSync(cwd);
    const r = await cliIn(sb, cwd, ['run'], ['CCCI_STATE_DIR']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim()).toBe(`ccci-sweep: settings file ${sb.env.CCCI_SETTINGS}: [sweep] state-dir is empty; set it or remove the line to use the default`);
    expect(readdirSync(cwd)).toEqual([]);
  });
});

describe('relative paths in the settings file', () => {
  it("resolve against the settings file's folder, whatever the working directory", async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    settings(sb, '[sweep]\nstate_dir = "state-from-settings"\nrecipes-dir = "abra/recipes"\n');
    const cwd = path.join(sb.root, 'elsewhere');
    mkdirSync(cwd);
    const r = await cliIn(sb, cwd, ['run', '--json'], ['CCCI_STATE_DIR', 'CCCI_RECIPES_DIR']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(readJson(path.join(sb.root, 'state-from-settings', 'gitea', 'canonical.json')).version).toBe('1.0.0');
    expect(existsSync(path.join(sb.root, 'abra', 'recipes', 'gitea', '.git'))).toBe(true);
    expect(readdirSync(cwd)).toEqual([]);
  });
});

describe('URL templates', () => {
  it('without {recipe} are refused with exit 2 before anything is tested', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }, { name: 'other', releases: [{ tag: '2.0.0' }] }]);
    const one = `file://${path.join(sb.upstreamDir, 'gitea.git')}`;
    const up = await cli(sb, ['run', '--upstream-url', one]);
    expect(up.exitCode).toBe(2);
    expect(up.stderr.trim()).toBe(`ccci-sweep: --upstream-url (${one}) has no {recipe}: every recipe would be fetched from one repository; put {recipe} where the recipe name goes`);
    const mirror = await cli(sb, ['plan'], { CCCI_MIRROR_URL: 'https://mirror.example/ci/mirror.git' });
    expect(mirror.exitCode).toBe(2);
    expect(mirror.stderr).toContain('CCCI_MIRROR_URL (https://mirror.example/ci/mirror.git) has no {recipe}');
    expect(launches(sb)).toEqual([]);
    expect(existsSync(path.join(sb.stateDir, 'gitea'))).toBe(false);
  });
});

describe('[sweep] keys', () => {
  it('a misspelt key is warned about and ignored; the same key spelled both ways is exit 2', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [] }]);
    settings(sb, '[sweep]\nstat-dir = "/nowhere"\ndomain = "ci.example"\n');
    const plan = await cliJson(sb, ['plan']);
    expect(plan.r.exitCode).toBe(0);
    expect(plan.r.stderr).toContain(`ccci-sweep: warning: settings file ${sb.env.CCCI_SETTINGS}: [sweep] stat-dir is not a ccci-sweep setting and is ignored; did you mean state-dir?`);
    expect(plan.r.stderr).not.toContain('domain');

    settings(sb, '[sweep]\nccci-repo = "/a"\nccci_repo = "/b"\n');
    const twice = await cli(sb, ['plan']);
    expect(twice.exitCode).toBe(2);
    expect(twice.stderr.trim()).toBe(`ccci-sweep: settings file ${sb.env.CCCI_SETTINGS}: [sweep] sets ccci-repo twice (ccci-repo and ccci_repo); keep one`);
  });
});

describe('a misspelt table and scripts outside the cc-ci repo', () => {
  it('[Sweep] and [sweeep] are warned about; [deploy] is not', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [] }]);
    settings(sb, '[Sweep]\nstate-dir = "/nowhere"\n[sweeep]\nccci-repo = "/nowhere"\n[deploy]\nx = "y"\n');
    const plan = await cliJson(sb, ['plan']);
    expect(plan.r.exitCode).toBe(0);
    for (const t of ['Sweep', 'sweeep']) {
      expect(plan.r.stderr).toContain(`ccci-sweep: warning: settings file ${sb.env.CCCI_SETTINGS}: [${t}] is not a ccci-sweep table and is ignored; did you mean [sweep]?`);
    }
    expect(plan.r.stderr).not.toContain('[deploy]');
  });

  it('a harness or seed script outside the repo (absolute or ../) is exit 2; one inside is fine', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    for (const [args, origin] of [
      [['--harness-script', '/bin/true'], '--harness-script (/bin/true)'],
      [['--seed-script', '../../evil.sh'], '--seed-script (../../evil.sh)'],
      [['--harness-script', 'tests/../../x.sh'], '--harness-script (tests/../../x.sh)'],
    ] as const) {
      const r = await cli(sb, ['run', ...args]);
      expect(r.exitCode).toBe(2);
      expect(r.stderr.trim()).toBe(`ccci-sweep: ${origin} is outside the cc-ci repo; give a path relative to the cc-ci repo, inside it`);
    }
    settings(sb, '[sweep]\nseed-script = "/tmp/seed.sh"\n');
    const fromFile = await cli(sb, ['plan']);
    expect(fromFile.exitCode).toBe(2);
    expect(fromFile.stderr).toContain('seed-script (/tmp/seed.sh) is outside the cc-ci repo');
    expect(launches(sb)).toEqual([]);
    settings(sb, '[sweep]\nseed-script = "tests/./seed.sh"\n');
    expect((await cli(sb, ['plan'])).exitCode).toBe(0);
  });
});

describe('a state dir that is a file', () => {
  it('is exit 2 saying so, for the dir itself and for a path below a file', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    cleanups.push(() => rmSync(sb.root, { recursive: true, force: true }));
    const file = path.join(sb.root, 'state-file');
    writeFileSync(file, 'not a folder\n');
    for (const dir of [file, path.join(file, 'below')]) {
      const run = await cli(sb, ['run', '--state-dir', dir]);
      expect(run.exitCode).toBe(2);
      expect(run.stderr.trim()).toBe(`ccci-sweep: state dir ${dir} is not a directory: remove that file or point --state-dir elsewhere`);
    }
    expect(launches(sb)).toEqual([]);
    expect(readFileSync(file, 'utf8')).toBe('not a folder\n');
  });
});

describe('a read-only state dir', () => {
  it('is exit 2 with one line for run and sync; plan needs no write access', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    if (process.getuid?.() === 0) {
      // Root writes through any mode bits: a read-only mount is what stops it.
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', sb.stateDir]);
      cleanups.push(() => execFileSync('umount', ['-l', sb.stateDir]));
    } else {
      chmodSync(sb.stateDir, 0o555);
      cleanups.push(() => chmodSync(sb.stateDir, 0o755));
    }
    const run = await cli(sb, ['run']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr.trim()).toMatch(new RegExp(`^ccci-sweep: state dir ${sb.stateDir} is not writable \\((read-only file system|permission denied)\\): fix its permissions or mount, or point --state-dir elsewhere$`));
    expect(launches(sb)).toEqual([]);
    const sync = await cli(sb, ['sync'], { CCCI_MIRROR_URL: `file://${sb.root}/mirror/{recipe}.git`, CCCI_GITEA_API: 'http://127.0.0.1:9/api/v1' });
    expect(sync.exitCode).toBe(2);
    expect(sync.stderr).toContain('is not writable');
    const plan = await cliJson(sb, ['plan']);
    expect(plan.r.exitCode, plan.r.stderr).toBe(0);
    expect(plan.doc.recipes[0]).toMatchObject({ decision: 'run' });
  });
});
