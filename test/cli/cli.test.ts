// Bad input: one clear line, the documented exit code, no stack trace, nothing lost.
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, cliJson, launches, sandbox } from '../support/cli.js';

const noStack = (stderr: string) => expect(stderr).not.toMatch(/^\s+at /m);

describe('configuration errors exit 2 and name the path', () => {
  it('refuses to sweep nothing: a cc-ci repo with no enrolled recipe', async () => {
    const sb = await sandbox([{ name: 'gitea', warm: 'False', releases: [] }]);
    for (const cmd of [['plan'], ['run'], ['status']]) {
      const r = await cli(sb, cmd);
      expect(r.exitCode).toBe(2);
      expect(r.stderr.trim()).toBe(`ccci-sweep: no enrolled recipes under ${sb.ccciRepo}/tests: check --ccci-repo and WARM_CANONICAL in recipe_meta.py`);
    }
  });

  it('refuses a missing cc-ci repo and a cc-ci repo without tests/', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [] }]);
    const missing = await cli(sb, ['plan', '--ccci-repo', '/nonexistent/cc-ci']);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/cc-ci repo \/nonexistent\/cc-ci does not exist/);
    rmSync(path.join(sb.ccciRepo, 'tests'), { recursive: true });
    const noTests = await cli(sb, ['run']);
    expect(noTests.exitCode).toBe(2);
    expect(noTests.stderr).toMatch(/has no tests\/ folder/);
    noStack(noTests.stderr);
  });

  it('refuses zero recipes after the cadence filter', async () => {
    const sb = await sandbox([{ name: 'gitea', cadence: 'weekly', releases: [] }]);
    const r = await cli(sb, ['plan', '--cadence', 'nightly']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/no enrolled recipes with cadence nightly under/);
  });

  it('refuses an unknown recipe and a recipe name that is not a recipe name', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [] }]);
    const unknown = await cli(sb, ['run', '--recipe', 'nope']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toMatch(/recipe nope is not enrolled: .*tests\/nope\/recipe_meta\.py must set WARM_CANONICAL = True/);
    const bad = await cli(sb, ['plan', '--recipe', '../etc']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/recipe name "\.\.\/etc" is invalid/);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('refuses a missing cc-ci-run before touching any recipe', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    const r = await cli(sb, ['run', '--cc-ci-run', '/nonexistent/cc-ci-run']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim()).toBe('ccci-sweep: cc-ci-run /nonexistent/cc-ci-run is missing or not executable: fix --cc-ci-run / CCCI_RUN');
    const onPath = await cli(sb, ['run'], { CCCI_RUN: '', PATH: '/usr/bin:/bin' });
    expect(onPath.exitCode).toBe(2);
    expect(onPath.stderr).toMatch(/cc-ci-run is not on PATH/);
  });

  it('refuses a malformed settings file and reads a good one', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [] }]);
    writeFileSync(sb.env.CCCI_SETTINGS!, '[sweep\nstate-dir = ');
    const bad = await cli(sb, ['status']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/settings file .*settings\.toml is not valid TOML/);
    // Settings apply below env: with CCCI_REPO unset, the [sweep] table's ccci-repo is used.
    writeFileSync(sb.env.CCCI_SETTINGS!, `[sweep]\nccci_repo = "/from/settings"\n`);
    const fromSettings = await cli(sb, ['status'], { CCCI_REPO: '' });
    expect(fromSettings.stderr).toMatch(/cc-ci repo \/from\/settings does not exist/);
    const flagWins = await cli(sb, ['status', '--ccci-repo', '/from/flag'], { CCCI_REPO: '/from/env' });
    expect(flagWins.stderr).toMatch(/cc-ci repo \/from\/flag does not exist/);
  });

  it('rejects unknown options and bad --jobs with exit 2', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [] }]);
    expect((await cli(sb, ['plan', '--bogus'])).exitCode).toBe(2);
    expect((await cli(sb, ['run', '--jobs', '0'])).exitCode).toBe(2);
    expect((await cli(sb, ['plan', '--cadence', 'daily'])).exitCode).toBe(2);
  });
});

describe('per-recipe errors', () => {
  it('reports a corrupt canonical.json for that recipe, leaves it untouched, and sweeps the others', async () => {
    const sb = await sandbox([
      { name: 'broken', releases: [{ tag: '1.0.0' }] },
      { name: 'wrongname', releases: [{ tag: '1.0.0' }] },
      { name: 'fine', releases: [{ tag: '1.0.0' }] },
    ]);
    const files = {
      broken: '{"recipe": "broken", "version": "1.0',
      wrongname: JSON.stringify({ recipe: 'gitea', version: '1.0.0', commit: 'a'.repeat(40), status: 'idle', ts: '' }),
    };
    for (const [recipe, text] of Object.entries(files)) {
      mkdirSync(path.join(sb.stateDir, recipe), { recursive: true });
      writeFileSync(path.join(sb.stateDir, recipe, 'canonical.json'), text);
    }
    const { r, doc } = await cliJson(sb, ['run']);
    expect(r.exitCode).toBe(1);
    noStack(r.stderr);
    const by = Object.fromEntries(doc.recipes.map((x: any) => [x.recipe, x]));
    expect(by.broken).toMatchObject({ outcome: 'error', reason: 'canonical-unreadable' });
    expect(by.broken.detail).toMatch(/broken\/canonical\.json is not valid JSON; it is left untouched/);
    expect(by.wrongname.detail).toMatch(/names recipe "gitea", not wrongname/);
    expect(by.fine).toMatchObject({ outcome: 'promoted' });
    for (const [recipe, text] of Object.entries(files)) {
      expect(readFileSync(path.join(sb.stateDir, recipe, 'canonical.json'), 'utf8')).toBe(text);
    }
    expect(launches(sb).map((l) => l.recipe)).toEqual(['fine', 'fine']);
  });

  it('reports an unreadable clone as an error for that recipe', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    mkdirSync(path.join(sb.recipesDir, 'gitea'), { recursive: true });
    writeFileSync(path.join(sb.recipesDir, 'gitea', 'not-a-repo'), '');
    const { r, doc } = await cliJson(sb, ['run']);
    expect(r.exitCode).toBe(1);
    expect(doc.recipes[0]).toMatchObject({ outcome: 'error' });
    expect(doc.recipes[0].detail).toMatch(/clone is not a git repository \(or is corrupt\): .*gitea$/);
    expect(launches(sb)).toEqual([]);
    const offline = await cliJson(sb, ['plan', '--offline']);
    expect(offline.doc.recipes[0]).toMatchObject({ decision: 'error', reason: 'tags-unavailable' });
  });

  it('shows an enrolment file with a non-literal WARM_CANONICAL as an error for that recipe', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [] }, { name: 'odd', warm: 'os.environ.get("X")', releases: [] }]);
    const { r, doc } = await cliJson(sb, ['plan']);
    expect(r.exitCode).toBe(1);
    expect(doc.recipes[1]).toMatchObject({ recipe: 'odd', decision: 'error', reason: 'enrolment-invalid' });
  });

  it('never leaves the clone detached, even when the harness cannot be executed', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    writeFileSync(sb.ccciRun, '#!/nonexistent/interpreter\n');
    chmodSync(sb.ccciRun, 0o755);
    const { r, doc } = await cliJson(sb, ['run']);
    expect(r.exitCode).toBe(1);
    expect(doc.recipes[0]).toMatchObject({ outcome: 'error' });
    const { git } = await import('../support/git.js');
    expect(git(path.join(sb.recipesDir, 'gitea'), 'symbolic-ref', '--short', 'HEAD')).toBe('main');
  });
});

describe('--version and --help', () => {
  it('print and exit 0', async () => {
    const sb = await sandbox([]);
    const v = await cli(sb, ['--version']);
    expect(v.exitCode).toBe(0);
    expect(v.stdout.trim()).toBe(JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../../package.json'), 'utf8')).version);
    const h = await cli(sb, ['run', '--help']);
    expect(h.exitCode).toBe(0);
    expect(h.stdout).toMatch(/--dry-run/);
  });
});
