// End to end: `run --executor drone|woodpecker` against loopback fake CI servers (test/support/fake-ci.ts)
// whose builds run the REAL built `ccci-sweep worker` with the build's parameters as its environment.
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../support/sandbox.js';
import { type RecipeSpec, upstreamTagCommit } from '../support/sandbox.js';
import { BIN, cli, cliEnv, cliJson, control, launches, readJson, sandbox, startCli, until } from '../support/cli.js';
import { git } from '../support/git.js';
import { FakeCi, type FakeCiOptions } from '../support/fake-ci.js';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) {
    try {
      await c();
    } catch {
      // best effort: the next cleanup still runs
    }
  }
});

const TOKEN = 'ci-t0ken-that-must-never-show';

interface Setup {
  sb: Sandbox;
  ci: FakeCi;
  args: string[];
  /** The state dir of the runner's host (the coordinator's own unless `separateRunner`). */
  runnerState: string;
  release: string;
}

async function setup(
  engine: 'drone' | 'woodpecker',
  o: {
    specs?: RecipeSpec[]; separateRunner?: boolean; capacity?: number; stepCommand?: FakeCiOptions['stepCommand'];
    runnerEnv?: (sb: Sandbox) => Record<string, string>;
  } = {},
): Promise<Setup> {
  const sb = await sandbox(o.specs ?? [{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
  const release = path.join(sb.root, 'release');
  cleanups.push(() => rmSync(sb.root, { recursive: true, force: true }));
  // Whatever a test did, no stand-in harness is left waiting.
  cleanups.push(() => writeFileSync(release, 'go\n'));
  const tokenFile = path.join(sb.root, 'ci-token');
  writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  const runnerState = o.separateRunner ? path.join(sb.root, 'runner-state') : sb.stateDir;
  const ci = await new FakeCi({
    engine, token: TOKEN, repo: 'coop/cc-ci', bin: BIN, capacity: o.capacity, stepCommand: o.stepCommand,
    stepEnv: cliEnv(sb, { CCCI_STATE_DIR: runnerState, ...o.runnerEnv?.(sb) }),
  }).start();
  cleanups.push(() => ci.stop());
  const args = ['run', '--executor', engine, '--ci-server', ci.url, '--ci-repo', 'coop/cc-ci', '--ci-token-file', tokenFile, '--ci-poll-interval', '40ms'];
  return { sb, ci, args, runnerState, release };
}

const jsonLines = (file: string): any[] =>
  existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
const history = (stateDir: string, recipe = 'gitea') => jsonLines(path.join(stateDir, recipe, 'history.jsonl'));
const signals = (sb: Sandbox) => jsonLines(`${sb.harnessLog}.signals`);
const onBranch = (sb: Sandbox, recipe = 'gitea') => git(path.join(sb.recipesDir, recipe), 'symbolic-ref', '--short', 'HEAD');
const resultLines = (out: string[]) => out.filter((l) => l.startsWith('CCCI-SWEEP-RESULT '));

/** The token is in no output, log, record or harness environment; every request carried it as Bearer. */
function assertNoToken(s: Setup, ...outputs: string[]): void {
  const everything = [
    ...outputs,
    ...[...s.ci.builds.values()].map((b) => b.output.join('\n')),
    ...launches(s.sb).map((l) => JSON.stringify(l)),
    ...['gitea', 'a', 'b', 'c'].map((r) => JSON.stringify([history(s.sb.stateDir, r), history(s.runnerState, r)])),
  ];
  for (const text of everything) expect(text).not.toContain(TOKEN);
  expect(s.ci.requests.length).toBeGreaterThan(0);
  for (const r of s.ci.requests) {
    expect(r.auth).toBe(`Bearer ${TOKEN}`);
    expect(r.url).not.toContain(TOKEN);
  }
}

describe('run --executor drone', () => {
  it('a new release is promoted through a build; the worker shares the state dir, so nothing is recorded twice', async () => {
    const s = await setup('drone');
    const commit = await upstreamTagCommit(s.sb, 'gitea', '1.0.0');
    const { r, doc } = await cliJson(s.sb, s.args);
    expect(r.exitCode, r.stderr).toBe(0);
    const entry = doc.recipes[0];
    expect(entry).toMatchObject({ recipe: 'gitea', tag: '1.0.0', outcome: 'promoted', commit, build: { engine: 'drone', number: 1, url: `${s.ci.url}/coop/cc-ci/1` } });
    // One build, created with the parameters as query string (they become the step's environment).
    const create = new URL(s.ci.requests[0]!.url, 'http://x');
    expect(s.ci.requests[0]!.method).toBe('POST');
    expect(create.pathname).toBe('/api/repos/coop/cc-ci/builds');
    expect(Object.fromEntries(create.searchParams)).toEqual({
      branch: 'main', CCCI_SWEEP: '1', RECIPE: 'gitea', CCCI_SWEEP_TAG: '1.0.0', CCCI_SWEEP_COMMIT: commit, CCCI_UPGRADE_BASE: '',
      CCCI_SWEEP_ID: expect.any(String),
    });
    expect(s.ci.builds.size).toBe(1);
    // The REAL worker ran the local path: the harness saw the tag, no upgrade base (first canonical).
    const [launch] = launches(s.sb).filter((l) => !l.script.includes('seed'));
    expect(launch!.env.CCCI_SWEEP_TAG).toBe('1.0.0');
    expect(launch!.env).not.toHaveProperty('CCCI_UPGRADE_BASE');
    expect(resultLines(s.ci.builds.get(1)!.output)).toHaveLength(1);
    expect(readJson(path.join(s.sb.stateDir, 'gitea', 'canonical.json'))).toMatchObject({ version: '1.0.0', commit });
    // Recorded once (by the worker, in this very state dir), with the build.
    const h = history(s.sb.stateDir);
    expect(h.map((e) => [e.type, e.outcome ?? null])).toEqual([['attempt', 'promoted'], ['promotion', null]]);
    expect(h[0]).toMatchObject({ sweepId: create.searchParams.get('CCCI_SWEEP_ID'), build: { engine: 'drone', number: 1 } });
    expect(await onBranch(s.sb)).toBe('main');
    // The coordinator's plan now shows it as any local promotion.
    const plan = await cliJson(s.sb, ['plan', '--offline']);
    expect(plan.doc.recipes[0]).toMatchObject({ canonical: { version: '1.0.0' }, decision: 'skip', reason: 'no-new-version' });
    assertNoToken(s, r.stdout, r.stderr, plan.r.stdout, plan.r.stderr);
  });

  it('red: the worker says red, the run exits 1, one attempt recorded', async () => {
    const s = await setup('drone');
    control(s.sb, { gitea: { exit: 1 } });
    const { r, doc } = await cliJson(s.sb, s.args);
    expect(r.exitCode).toBe(1);
    expect(doc.recipes[0]).toMatchObject({ outcome: 'red', exitCode: 1, build: { number: 1 } });
    expect(s.ci.builds.get(1)!.status).toBe('failure');
    expect(history(s.sb.stateDir).map((e) => e.outcome)).toEqual(['red']);
    expect(existsSync(path.join(s.sb.stateDir, 'gitea', 'canonical.json'))).toBe(false);
    assertNoToken(s, r.stdout, r.stderr);
  });

  it('red on a runner host with its own cc-ci-run path: known-red here under unchanged conditions, not dispatched again', async () => {
    const s = await setup('drone', {
      separateRunner: true,
      // The runner's host has its own path to the same wrapper (another store path).
      runnerEnv: (sb) => {
        const own = path.join(sb.root, 'runner-bin', 'cc-ci-run');
        mkdirSync(path.dirname(own), { recursive: true });
        symlinkSync(sb.ccciRun, own);
        return { CCCI_RUN: own };
      },
    });
    control(s.sb, { gitea: { exit: 1 } });
    const first = await cliJson(s.sb, s.args);
    expect(first.doc.recipes[0]).toMatchObject({ outcome: 'red', build: { number: 1 } });
    const attempt = history(s.sb.stateDir)[0];
    expect(attempt).toMatchObject({ outcome: 'red', ccciRun: s.sb.ccciRun, runner: { ccciRun: path.join(s.sb.root, 'runner-bin', 'cc-ci-run') } });
    const again = await cliJson(s.sb, s.args);
    expect(again.r.exitCode).toBe(0);
    expect(again.doc.recipes[0]).toMatchObject({ outcome: 'skipped', reason: 'known-red-unchanged' });
    expect(s.ci.builds.size).toBe(1);
    assertNoToken(s, first.r.stdout, first.r.stderr, again.r.stdout, again.r.stderr);
  });

  it('a build that ends without a result line is error, naming the build, its status and URL', async () => {
    const s = await setup('drone', { stepCommand: () => 'echo "ccci-sweep: command not found" >&2; exit 127' });
    const { r, doc } = await cliJson(s.sb, s.args);
    expect(r.exitCode).toBe(1);
    expect(doc.recipes[0]).toMatchObject({ outcome: 'error', detail: `build 1 ended failure without a result: ${s.ci.url}/coop/cc-ci/1` });
    // No worker ran here, so the coordinator records the attempt itself, with the build.
    expect(history(s.sb.stateDir)).toEqual([expect.objectContaining({ outcome: 'error', build: { engine: 'drone', number: 1, url: `${s.ci.url}/coop/cc-ci/1` } })]);
    assertNoToken(s, r.stdout, r.stderr);
  });

  it('no pipeline accepts the custom event (Drone answers null): a clear error naming the repo and the trigger', async () => {
    const s = await setup('drone');
    s.ci.accepts = false;
    const { r, doc } = await cliJson(s.sb, s.args);
    expect(r.exitCode).toBe(1);
    expect(doc.recipes[0].outcome).toBe('error');
    expect(doc.recipes[0].detail).toContain('no build for coop/cc-ci');
    expect(doc.recipes[0].detail).toContain('trigger: event: [custom]');
    assertNoToken(s, r.stdout, r.stderr);
  });

  it('a build still running at --test-timeout is cancelled (timeout); the orphaned worker stops its harness and puts the clone back', async () => {
    const s = await setup('drone');
    control(s.sb, { gitea: { waitFor: s.release, onTerm: 'teardown' } });
    // Long enough for the worker to reach the harness, which then waits for a release that never comes.
    const { r, doc } = await cliJson(s.sb, [...s.args, '--test-timeout', '15s']);
    expect(r.exitCode).toBe(1);
    expect(doc.recipes[0]).toMatchObject({ outcome: 'timeout', build: { number: 1 } });
    expect(doc.recipes[0].detail).toContain('build 1 cancelled');
    expect(s.ci.builds.get(1)).toMatchObject({ cancelled: true, status: 'killed' });
    // The exec runner killed the step's shell only; the worker noticed and stopped its harness itself.
    expect(launches(s.sb)).toHaveLength(1);
    await until('the harness got SIGTERM from the worker', () => signals(s.sb).some((x) => x.signal === 'SIGTERM'));
    await until('the worker put the clone back and let go of the recipe', () => !existsSync(path.join(s.sb.stateDir, 'gitea', '.recipe.lock')) && history(s.sb.stateDir).length > 0);
    expect(await onBranch(s.sb)).toBe('main');
    // Recorded once for this sweep (by the worker, which shares the state dir and was stopped).
    expect(history(s.sb.stateDir)).toEqual([expect.objectContaining({ outcome: 'interrupted', build: expect.objectContaining({ number: 1 }) })]);
    assertNoToken(s, r.stdout, r.stderr);
  });

  it('SIGTERM cancels the builds in flight, records interrupted and exits 143', async () => {
    const s = await setup('drone');
    control(s.sb, { gitea: { waitFor: s.release } });
    const child = startCli(s.sb, [...s.args, '--json']);
    await s.ci.waitFor('started', 1);
    await until('the harness runs', () => launches(s.sb).length === 1);
    child.kill('SIGTERM');
    const r = await child;
    expect(r.exitCode).toBe(143);
    expect(JSON.parse(String(r.stdout)).recipes[0]).toMatchObject({ outcome: 'interrupted', build: { number: 1 } });
    expect(s.ci.builds.get(1)!.cancelled).toBe(true);
    await until('the harness got SIGTERM from the orphaned worker', () => signals(s.sb).some((x) => x.signal === 'SIGTERM'));
    await until('the clone is put back', () => !existsSync(path.join(s.sb.stateDir, 'gitea', '.recipe.lock')));
    expect(await onBranch(s.sb)).toBe('main');
    assertNoToken(s, String(r.stdout), String(r.stderr));
  });

  it('a build that can no longer be read (HTTP 404/401) is error at once, naming the build: not followed until the timeout', async () => {
    const s = await setup('drone');
    control(s.sb, { gitea: { waitFor: s.release } });
    const child = startCli(s.sb, [...s.args, '--json']);
    await s.ci.waitFor('started', 1);
    s.ci.refuseReads = 404;
    const r = await child;
    expect(r.exitCode).toBe(1);
    const entry = JSON.parse(String(r.stdout)).recipes[0];
    expect(entry).toMatchObject({ outcome: 'error', build: { number: 1 } });
    expect(entry.detail).toMatch(/^cannot follow build 1 \(Drone GET \/api\/repos\/coop\/cc-ci\/builds\/1: HTTP 404 .*\); it may still run: http/);
    assertNoToken(s, String(r.stdout), String(r.stderr));
  });

  it('a restarted coordinator adopts the running build of the killed sweep instead of dispatching twice (also after two kills)', async () => {
    const s = await setup('drone');
    control(s.sb, { gitea: { waitFor: s.release } });
    const first = startCli(s.sb, [...s.args, '--json']);
    await s.ci.waitFor('started', 1);
    await until('the harness runs', () => launches(s.sb).length === 1);
    first.kill('SIGKILL');
    await first;
    const reads = () => s.ci.requests.filter((q) => q.method === 'GET' && q.url === '/api/repos/coop/cc-ci/builds/1').length;
    const lists = () => s.ci.requests.filter((q) => q.method === 'GET' && q.url.startsWith('/api/repos/coop/cc-ci/builds?')).length;
    // The second one adopts build 1, and is killed in turn while it waits for it.
    const second = startCli(s.sb, [...s.args, '--json']);
    await until('the second coordinator follows build 1', () => lists() === 1 && reads() > 0);
    second.kill('SIGKILL');
    await second;
    const seen = reads();
    const third = startCli(s.sb, [...s.args, '--json']);
    await until('the third coordinator follows build 1', () => lists() === 2 && reads() > seen);
    writeFileSync(s.release, 'go\n');
    const r = await third;
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(JSON.parse(String(r.stdout)).recipes[0]).toMatchObject({ outcome: 'promoted', build: { number: 1 } });
    expect(s.ci.builds.size).toBe(1);
    expect(s.ci.requests.filter((q) => q.method === 'POST')).toHaveLength(1);
    expect(history(s.sb.stateDir).map((e) => e.type)).toEqual(['attempt', 'promotion']);
    // A sweep that ended leaves nothing to adopt.
    expect(existsSync(path.join(s.sb.stateDir, 'ci-sweep.json'))).toBe(false);
    assertNoToken(s, String(r.stdout), String(r.stderr));
  });
});

describe('run --executor woodpecker', () => {
  it('promotes through pipelines on a runner host with its own state dir, 2 at a time, and records here with build number and URL', async () => {
    const specs = ['a', 'b', 'c'].map((name) => ({ name, releases: [{ tag: '1.0.0' }] }));
    const s = await setup('woodpecker', { specs, separateRunner: true, capacity: 2 });
    const { r, doc } = await cliJson(s.sb, [...s.args, '--jobs', '3']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(doc.recipes.map((e: any) => e.outcome)).toEqual(['promoted', 'promoted', 'promoted']);
    expect(s.ci.maxRunning).toBe(2);
    const create = s.ci.requests.find((q) => q.method === 'POST')!;
    expect(create.url).toBe('/api/repos/7/pipelines');
    expect(JSON.parse(create.body)).toMatchObject({ branch: 'main', variables: { CCCI_SWEEP: '1', CCCI_SWEEP_TAG: '1.0.0', CCCI_UPGRADE_BASE: '' } });
    for (const recipe of ['a', 'b', 'c']) {
      const entry = doc.recipes.find((e: any) => e.recipe === recipe);
      const url = `${s.ci.url}/repos/7/pipeline/${entry.build.number}`;
      expect(entry.build).toEqual({ engine: 'woodpecker', number: expect.any(Number), url });
      // Both hosts know: the runner's (the worker's own records) and this one (written by the coordinator).
      expect(readJson(path.join(s.sb.stateDir, recipe, 'canonical.json')).version).toBe('1.0.0');
      expect(readJson(path.join(s.runnerState, recipe, 'canonical.json')).version).toBe('1.0.0');
      const here = history(s.sb.stateDir, recipe);
      expect(here.map((e) => e.type)).toEqual(['attempt', 'promotion']);
      expect(here[0]).toMatchObject({ outcome: 'promoted', build: { engine: 'woodpecker', url } });
      expect(history(s.runnerState, recipe)[0]).toMatchObject({ build: { engine: 'woodpecker', number: entry.build.number } });
    }
    assertNoToken(s, r.stdout, r.stderr);
  });

  it('timeout: the pipeline is cancelled; the local backend kills the worker\'s group, the harness runs on and keeps the next test off its clone', async () => {
    const s = await setup('woodpecker');
    control(s.sb, { gitea: { waitFor: s.release } });
    const { r, doc } = await cliJson(s.sb, [...s.args, '--test-timeout', '12s']);
    expect(doc.recipes[0]).toMatchObject({ outcome: 'timeout', build: { engine: 'woodpecker', number: 1 } });
    expect(s.ci.builds.get(1)).toMatchObject({ cancelled: true, status: 'killed' });
    expect(launches(s.sb)).toHaveLength(1);
    // What README says the local backend cannot do: the worker got SIGKILL, its harness did not stop.
    expect(signals(s.sb)).toEqual([]);
    const again = await cliJson(s.sb, s.args);
    expect(again.doc.recipes[0]).toMatchObject({ outcome: 'error', build: { number: 2 } });
    expect(again.doc.recipes[0].detail).toContain('a test from an earlier sweep is still running');
    expect(launches(s.sb)).toHaveLength(1);
    // Once it ends, the next test restores the clone and runs.
    writeFileSync(s.release, 'go\n');
    await until('the orphaned harness ended', () => existsSync(`${s.sb.harnessLog}.ends`));
    const last = await cliJson(s.sb, s.args);
    expect(last.r.exitCode, last.r.stderr).toBe(0);
    expect(last.doc.recipes[0]).toMatchObject({ outcome: 'promoted', build: { number: 3 } });
    expect(await onBranch(s.sb)).toBe('main');
    assertNoToken(s, r.stdout, r.stderr, again.r.stdout, again.r.stderr, last.r.stdout, last.r.stderr);
  });

  it('no workflow accepts the manual event (204): a clear error', async () => {
    const s = await setup('woodpecker');
    s.ci.accepts = false;
    const { r, doc } = await cliJson(s.sb, s.args);
    expect(r.exitCode).toBe(1);
    expect(doc.recipes[0].detail).toContain('event: manual');
    assertNoToken(s, r.stdout, r.stderr);
  });
});

describe('configuration', () => {
  it('a CI executor without its server, or with a token file others can read, is exit 2 with one line', async () => {
    const s = await setup('drone');
    const noServer = await cli(s.sb, ['run', '--executor', 'drone', '--ci-repo', 'coop/cc-ci']);
    expect(noServer.exitCode).toBe(2);
    expect(noServer.stderr.trim()).toMatch(/^ccci-sweep: --executor drone needs --ci-server/);
    const loose = path.join(s.sb.root, 'loose-token');
    writeFileSync(loose, `${TOKEN}\n`, { mode: 0o644 });
    const r = await cli(s.sb, [...s.args.slice(0, -4), '--ci-token-file', loose]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('CI token file');
    expect(r.stderr + r.stdout).not.toContain(TOKEN);
    const bad = await cli(s.sb, ['plan', '--offline'], { CCCI_EXECUTOR: 'jenkins' });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('CCCI_EXECUTOR is "jenkins"; use one of local, drone, woodpecker');
    expect(s.ci.requests).toHaveLength(0);
  });

  it('worker without the build parameters: exit 2, one line naming them', async () => {
    const s = await setup('drone');
    const r = await cli(s.sb, ['worker'], { RECIPE: 'gitea', CCCI_SWEEP_ID: 'x1' });
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim()).toMatch(/^ccci-sweep: worker: CCCI_SWEEP_TAG, CCCI_SWEEP_COMMIT, CCCI_UPGRADE_BASE not set/);
    // The coordinator still gets an answer it can show.
    expect(r.stdout).toMatch(/^CCCI-SWEEP-RESULT \{.*"outcome":"error"/);
  });

  it('worker: a tag whose commit is not CCCI_SWEEP_COMMIT is refused (error); the right one is tested with the given upgrade base, one result line', async () => {
    const s = await setup('drone');
    const commit = await upstreamTagCommit(s.sb, 'gitea', '1.0.0');
    const vars = { RECIPE: 'gitea', CCCI_SWEEP_TAG: '1.0.0', CCCI_UPGRADE_BASE: '0.9.0', CCCI_SWEEP_ID: 'by-hand-1' };
    const moved = await cli(s.sb, ['worker'], { ...vars, CCCI_SWEEP_COMMIT: 'f'.repeat(40) });
    expect(moved.exitCode).toBe(1);
    const lines = moved.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const refused = JSON.parse(lines[0]!.slice('CCCI-SWEEP-RESULT '.length));
    expect(refused).toMatchObject({ recipe: 'gitea', sweepId: 'by-hand-1', outcome: 'error' });
    expect(refused.detail).toContain('moved upstream');
    expect(launches(s.sb)).toHaveLength(0);

    const ok = await cli(s.sb, ['worker'], { ...vars, CCCI_SWEEP_COMMIT: commit });
    expect(ok.exitCode, ok.stderr).toBe(0);
    const out = ok.stdout.trim().split('\n');
    expect(out).toHaveLength(1);
    expect(JSON.parse(out[0]!.slice('CCCI-SWEEP-RESULT '.length))).toMatchObject({ outcome: 'promoted', tag: '1.0.0', commit, sweepId: 'by-hand-1' });
    expect(launches(s.sb)[0]!.env.CCCI_UPGRADE_BASE).toBe('0.9.0');
    expect(await onBranch(s.sb)).toBe('main');
  });

  it('doctor: the CI server lists the repo\'s builds with this token, or the check fails naming why (never the token)', async () => {
    const s = await setup('drone');
    const ciArgs = s.args.slice(1, -2); // the global CI options, without run's poll interval
    const good = await cliJson(s.sb, ['doctor', ...ciArgs]);
    expect(good.doc.checks.find((c: any) => c.name === 'CI executor (drone)')).toEqual({
      name: 'CI executor (drone)', ok: true, detail: `${s.ci.url} answers for coop/cc-ci (0 recent builds)`,
    });
    const wrong = path.join(s.sb.root, 'wrong-token');
    writeFileSync(wrong, 'not-the-token\n', { mode: 0o600 });
    const bad = await cliJson(s.sb, ['doctor', ...ciArgs.slice(0, -2), '--ci-token-file', wrong]);
    expect(bad.r.exitCode).toBe(1);
    const check = bad.doc.checks.find((c: any) => c.name === 'CI executor (drone)');
    expect(check.ok).toBe(false);
    expect(check.detail).toContain('HTTP 401');
    expect(check.detail).toContain('check the CI token');
    expect(good.r.stdout + good.r.stderr + bad.r.stdout + bad.r.stderr).not.toContain(TOKEN);
  });
});
