// Stopping a harness: SIGTERM/SIGINT to the sweep, --test-timeout, and a harness that ignores TERM.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { harnessEnv, harnessVisibleEnv } from '../../src/adapters/harness.js';
import { MAX_TIMER_MS, timerProblem } from '../../src/core/duration.js';
import type { Sandbox } from '../support/sandbox.js';
import { addRelease } from '../support/sandbox.js';
import { cli, cliJson, control, launches, readJson, sandbox, startCli, until } from '../support/cli.js';
import { git } from '../support/git.js';

function start(sb: Sandbox, args: string[]) {
  return startCli(sb, [...args, '--json']);
}

const signals = (sb: Sandbox): any[] =>
  existsSync(`${sb.harnessLog}.signals`) ? readFileSync(`${sb.harnessLog}.signals`, 'utf8').trim().split('\n').map((l) => JSON.parse(l)) : [];

/** A recipe with a canonical at 1.0.0 and a new release 1.1.0 waiting to be tested. */
async function withNewRelease(): Promise<{ sb: Sandbox; canonical: string }> {
  const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
  expect((await cli(sb, ['run'])).exitCode).toBe(0);
  await addRelease(sb, 'gitea', { tag: '1.1.0' });
  return { sb, canonical: readFileSync(path.join(sb.stateDir, 'gitea', 'canonical.json'), 'utf8') };
}

describe('harness environment', () => {
  it('is the sweep environment minus the selectors, plus the contract variables', () => {
    const env = harnessEnv({ PATH: '/bin', REF: 'x', PR: '1', SRC: 's', MODE: 'quick', CCCI_QUICK: '1', CCCI_UPGRADE_BASE: 'stale' }, {
      recipe: 'gitea', ccciRepo: '/c', recipesDir: '/a/recipes', tag: '1.0.0', upgradeBase: null, runsDir: '/s/gitea/runs/1',
    });
    expect(env).toEqual({
      PATH: '/bin', RECIPE: 'gitea', CCCI_SKIP_FETCH: '1', CCCI_REPO: '/c', ABRA_DIR: '/a', CCCI_SWEEP: '1',
      CCCI_SWEEP_TAG: '1.0.0', CCCI_RUNS_DIR: '/s/gitea/runs/1',
    });
  });
});

describe('what the harness may see (one place)', () => {
  it('drops the credential variables and any value holding a secret; passes everything else unchanged', () => {
    const operator = {
      PATH: '/bin', GIT_CONFIG_GLOBAL: '/home/op/.gitconfig-ci', GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'credential.helper',
      GIT_CONFIG_VALUE_0: 'store', EDITOR: 'vim', PAGER: 'less -R', GIT_EXEC_PATH: '/usr/lib/git-core', PREFIX: '/usr',
    };
    const env = harnessVisibleEnv({
      ...operator, CREDENTIALS_DIRECTORY: '/run/credentials/ccci-sweep.service', CCCI_MIRROR_TOKEN_FILE: '/etc/cc-ci/token',
      CCCI_CI_TOKEN_FILE: '/etc/cc-ci/ci-token', CCCI_DRONE_SECRET: 'x', SOME_URL: 'https://ci:s3cr3t-tok@host/', REF: 'refs/pull/1/head',
    }, ['s3cr3t-tok']);
    expect(env).toEqual(operator);
  });

  it('the harness and seed environment is built on it', () => {
    const env = harnessEnv({ PATH: '/bin', CREDENTIALS_DIRECTORY: '/run/c', CCCI_MIRROR_TOKEN_FILE: '/t', EDITOR: 'ed' }, {
      recipe: 'gitea', ccciRepo: '/c', recipesDir: '/a/recipes', tag: '1.0.0', upgradeBase: null, runsDir: '/r',
    }, []);
    expect(env).not.toHaveProperty('CREDENTIALS_DIRECTORY');
    expect(env).not.toHaveProperty('CCCI_MIRROR_TOKEN_FILE');
    expect(env.EDITOR).toBe('ed');
  });
});

describe('durations a timer can hold', () => {
  it('accepts up to 2^31-1 ms and refuses more (a longer Node timer fires after 1 ms)', () => {
    expect(timerProblem(0)).toBeNull();
    expect(timerProblem(MAX_TIMER_MS)).toBeNull();
    expect(timerProblem(MAX_TIMER_MS + 1)).toMatch(/at most 596h/);
    expect(timerProblem(Number.POSITIVE_INFINITY)).toMatch(/at most 596h/);
  });
});

describe('signals', () => {
  it('SIGTERM: the harness gets TERM, tears down, the clone is restored, nothing promoted, exit 143', async () => {
    const { sb, canonical } = await withNewRelease();
    control(sb, { gitea: { sleepMs: 60_000, teardownMs: 1500 } });
    const sweep = start(sb, ['run']);
    await until('the harness to start', () => launches(sb).length === 3);
    sweep.kill('SIGTERM');
    const r = await sweep;
    expect(r.exitCode).toBe(143);
    expect(signals(sb).map((s) => s.signal ?? (s.tornDown && 'torn-down'))).toEqual(['SIGTERM', 'torn-down']);
    const doc = JSON.parse(String(r.stdout));
    expect(doc.recipes[0]).toMatchObject({ outcome: 'interrupted', tag: '1.1.0' });
    expect(readFileSync(path.join(sb.stateDir, 'gitea', 'canonical.json'), 'utf8')).toBe(canonical);
    expect(git(path.join(sb.recipesDir, 'gitea'), 'symbolic-ref', '--short', 'HEAD')).toBe('main');
    expect(existsSync(path.join(sb.stateDir, '.sweep.lock'))).toBe(false);
    expect(existsSync(path.join(sb.stateDir, 'gitea', '.recipe.lock'))).toBe(false);
    expect(launches(sb).filter((l) => l.script.includes('seed'))).toHaveLength(1); // only the first run's
    const history = readFileSync(path.join(sb.stateDir, 'gitea', 'history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(history.at(-1)).toMatchObject({ type: 'attempt', tag: '1.1.0', outcome: 'interrupted' });
  });

  it('SIGINT exits 130', async () => {
    const { sb } = await withNewRelease();
    control(sb, { gitea: { sleepMs: 60_000 } });
    const sweep = start(sb, ['run']);
    await until('the harness to start', () => launches(sb).length === 3);
    sweep.kill('SIGINT');
    expect((await sweep).exitCode).toBe(130);
    expect(git(path.join(sb.recipesDir, 'gitea'), 'symbolic-ref', '--short', 'HEAD')).toBe('main');
  });

  it('kills a harness that ignores TERM after the grace period', async () => {
    const { sb, canonical } = await withNewRelease();
    control(sb, { gitea: { sleepMs: 600_000, onTerm: 'ignore' } });
    const sweep = start(sb, ['run', '--stop-grace', '1s']);
    await until('the harness to start', () => launches(sb).length === 3);
    sweep.kill('SIGTERM');
    const r = await sweep; // the harness would sleep 10 min, beyond the test's timeout: returning means it was killed
    expect(r.exitCode).toBe(143);
    expect(signals(sb)).toHaveLength(1);
    expect(String(r.stderr)).toMatch(/harness still running after the grace period: SIGKILL/);
    expect(readFileSync(path.join(sb.stateDir, 'gitea', 'canonical.json'), 'utf8')).toBe(canonical);
    expect(git(path.join(sb.recipesDir, 'gitea'), 'symbolic-ref', '--short', 'HEAD')).toBe('main');
  });
});

describe('--test-timeout', () => {
  it('stops a harness that runs too long like a SIGTERM, outcome timeout, and the sweep goes on', async () => {
    const sb = await sandbox([
      { name: 'slow', releases: [{ tag: '1.0.0' }] },
      { name: 'quick', releases: [{ tag: '1.0.0' }] },
    ]);
    control(sb, { slow: { sleepMs: 60_000, teardownMs: 200 } });
    const { r, doc } = await cliJson(sb, ['run', '--test-timeout', '1s', '--stop-grace', '5s']);
    expect(r.exitCode).toBe(1);
    const by = Object.fromEntries(doc.recipes.map((x: any) => [x.recipe, x]));
    expect(by.slow).toMatchObject({ outcome: 'timeout', detail: 'test timeout reached' });
    expect(by.quick.outcome).toBe('promoted');
    expect(signals(sb)[0]).toMatchObject({ recipe: 'slow', signal: 'SIGTERM' });
    expect(existsSync(path.join(sb.stateDir, 'slow', 'canonical.json'))).toBe(false);
    expect(readJson(path.join(sb.stateDir, 'quick', 'canonical.json')).version).toBe('1.0.0');
  });

  it('rejects a malformed duration with exit 2', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [] }]);
    const r = await cli(sb, ['run', '--test-timeout', 'forever']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/must be a duration like 90m/);
  });
});
