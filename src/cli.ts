// The CLI entry: parses options, resolves the config, runs one command, and maps errors to exit codes in
// one place. Heavy modules are imported lazily so `--version` and `--help` start fast.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_TEST_TIMEOUT_MS } from './attempts.js';
import { GLOBAL_OPTIONS, loadConfig, type Config, type ConfigKey } from './config.js';
import { ConfigError, EXIT, UsageError, exitCodeFor, messageOf } from './errors.js';
import { parseDuration, timerProblem } from './duration.js';
import type { CadenceFilter } from './enrolment.js';
import type { Logger } from './log.js';
import type { CrashHook } from './sweep/faults.js';
import { guardStream } from './stream-guard.js';
import { registerOperatorCommands } from './cli/commands/index.js';
import { operatorSettings, withDiskGuard, withNotify, withReleaseAge } from './cli/commands/operator-options.js';

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** stderr is a terminal: show live progress there. */
  stderrTty?: boolean;
  /** Test-only crash points, passed into the sweep's context (test/support/crash-cli.ts); never set here. */
  crash?: CrashHook;
}

// A reader that goes away (`| head`, quitting `less`, a dropped ssh session) or a full disk must never end
// the sweep: it finishes its work and writes its reports; what it would have printed is dropped.
const stdoutGuard = guardStream(process.stdout);
const stderrGuard = guardStream(process.stderr);

export const defaultIo: Io = {
  stdout: (t) => stdoutGuard.write(t),
  stderr: (t) => stderrGuard.write(t),
  env: process.env,
  stderrTty: process.stderr.isTTY === true && !process.env.JOURNAL_STREAM && process.env.TERM !== 'dumb',
};

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

const collect = (value: string, previous: string[]) => [...previous, value];

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number of at least 1');
  return n;
}

function duration(value: string): number {
  const ms = parseDuration(value);
  if (ms === null) throw new InvalidArgumentError('must be a duration like 90m, 120s, 1h30m or a number of seconds');
  const problem = timerProblem(ms);
  if (problem) throw new InvalidArgumentError(problem);
  return ms;
}

/** A poll interval: 0 would ask the CI server without pause, so it is refused (exit 2). */
function pollInterval(value: string): number {
  const ms = duration(value);
  if (ms === 0) throw new InvalidArgumentError('must be more than 0, like 15s');
  return ms;
}

/** A path option: an empty value would silently mean the current directory, so it is refused (exit 2). */
function pathArg(flag: string) {
  return (value: string): string => {
    if (value.trim() === '') throw new InvalidArgumentError(`${flag} is empty; give a path or leave the option out`);
    return value;
  };
}

function withGlobals(cmd: Command): Command {
  for (const o of GLOBAL_OPTIONS) cmd.option(`--${o.flag} <${o.arg}>`, `${o.description} [env ${o.env}]`);
  return cmd;
}

function withSelection(cmd: Command, cadence = true): Command {
  cmd.option('--recipe <name>', 'only this recipe (repeatable)', collect, []);
  if (cadence) {
    cmd.addOption(new Option('--cadence <cadence>', 'which enrolled recipes').choices(['nightly', 'weekly', 'all']).default('all'));
  }
  return cmd.option('--json', 'print one JSON document on stdout');
}

interface CommonOpts {
  recipe: string[];
  cadence?: CadenceFilter;
  json?: boolean;
}

/** Config from flags > env > settings > defaults, validated and with paths made absolute (src/config.ts). */
function configFrom(opts: Record<string, unknown>, io: Io): Config {
  const flags: Partial<Record<ConfigKey, string>> = {};
  for (const o of GLOBAL_OPTIONS) {
    // commander names the value after the flag (`--cc-ci-run` -> ccCiRun), not after our config key.
    const v = opts[o.flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase())];
    if (typeof v === 'string') flags[o.key] = v;
  }
  const { config, warnings } = loadConfig(flags, io.env);
  for (const w of warnings) io.stderr(`ccci-sweep: warning: ${w}\n`);
  return config;
}

async function context(config: Config, io: Io, opts: { dryRun: boolean; signal?: AbortSignal; mirror?: boolean }) {
  const { createLogger, scrub } = await import('./log.js');
  scrubText = scrub;
  const { createWriter } = await import('./dry-run.js');
  const { mirrorSetup } = await import('./sweep.js');
  const log = createLogger({ env: io.env });
  const mirror = opts.mirror === false ? null : mirrorSetup(config);
  // Whenever a token file is configured its token is scrubbed from every log line and harness.log, even
  // when this command does not use it (--no-sync): the harness could still print it.
  if (!mirror?.token && config.mirrorTokenFile) {
    const { registerTokenFileSecret } = await import('./mirror/token.js');
    registerTokenFileSecret(config.mirrorTokenFile);
  }
  if (config.ciTokenFile) {
    const { registerTokenFileSecret } = await import('./mirror/token.js');
    registerTokenFileSecret(config.ciTokenFile, 'CI token');
  }
  return { config, log, writer: createWriter(opts.dryRun, log), env: io.env, now: () => new Date(), signal: opts.signal, mirror, crash: io.crash };
}

const SIGNAL_EXIT: Partial<Record<NodeJS.Signals, number>> = { SIGINT: EXIT.sigint, SIGTERM: EXIT.sigterm, SIGHUP: EXIT.sighup };

interface Stopper {
  signal: AbortSignal;
  /** The exit code a signal (or an internal error) asks for, or null when none arrived. */
  exitCode: () => number | null;
  /** An uncaught error: stop like SIGTERM, exit 70. */
  fail: () => void;
  dispose: () => void;
}

// The running command's stopper, for the last-resort handler (an uncaught error stops the sweep cleanly).
let current: Stopper | null = null;
let internalError = false;

/**
 * SIGTERM, SIGINT and SIGHUP (a by-hand run's ssh session dropping) abort the sweep: harnesses are stopped
 * with their grace, checkouts restored, nothing more promoted. A second request does not wait: every
 * harness's process group gets SIGKILL at once, then the clones are restored and the sweep exits.
 */
function stopOnSignals(io: Io): Stopper {
  const controller = new AbortController();
  let received: NodeJS.Signals | null = null;
  let requests = 0;
  const request = (why: string) => {
    requests += 1;
    if (requests === 1) return controller.abort();
    io.stderr(`ccci-sweep: ${why} again: killing every running harness now (SIGKILL), then restoring the clones\n`);
    void import('./harness.js').then(({ killAllHarnesses }) => killAllHarnesses());
  };
  const onSignal = (sig: NodeJS.Signals) => {
    received ??= sig;
    request(sig);
  };
  const signals = Object.keys(SIGNAL_EXIT) as NodeJS.Signals[];
  for (const sig of signals) process.on(sig, onSignal);
  const stopper: Stopper = {
    signal: controller.signal,
    exitCode: () => (internalError ? EXIT.internal : received === null ? null : SIGNAL_EXIT[received]!),
    fail: () => request('internal error'),
    dispose: () => {
      for (const sig of signals) process.off(sig, onSignal);
      if (current === stopper) current = null;
    },
  };
  current = stopper;
  return stopper;
}

/**
 * The last resort: an error nothing caught becomes one line on stderr, never a stack trace. A running
 * sweep is stopped as SIGTERM stops it (harness torn down, clone restored, reports written), and exits 70.
 */
export function installLastResort(): void {
  const onFatal = (err: unknown) => {
    internalError = true;
    process.exitCode = EXIT.internal;
    stderrGuard.write(`ccci-sweep: internal error: ${scrubText(messageOf(err))}\n`);
    if (current) current.fail();
    else process.exit(EXIT.internal);
  };
  process.on('uncaughtException', onFatal);
  process.on('unhandledRejection', onFatal);
}

// Secrets are registered only once log.js is loaded; until then there is nothing to scrub.
let scrubText: (text: string) => string = (t) => t;

/** The host lock for commands that write (run, sync); plan and status never take it. */
async function hostLock(ctx: { config: Config; log: Logger; env: NodeJS.ProcessEnv }, command: string, waitMs: number, signal: AbortSignal) {
  const { mkdirSync } = await import('node:fs');
  const { acquireHostLock } = await import('./lock.js');
  const { startedBy } = await import('./sweep.js');
  const { assertWritableStateDir } = await import('./config.js');
  // Every command that writes comes here first: a read-only state dir is one line and exit 2.
  assertWritableStateDir(ctx.config.stateDir);
  mkdirSync(ctx.config.stateDir, { recursive: true });
  return acquireHostLock(ctx.config.stateDir, {
    // The whole command line, so an operator can tell a timer sweep from a by-hand `run --recipe x`.
    log: ctx.log, command: ['ccci-sweep', command, ...process.argv.slice(3)].join(' '), by: startedBy(ctx.env), waitMs, signal,
  });
}

/** The host lock, or null when a signal ended the wait for it (exit 130/143/129, not 3). */
async function hostLockUnlessStopped(
  ctx: { config: Config; log: Logger; env: NodeJS.ProcessEnv }, command: string, waitMs: number, stop: Stopper, io: Io,
) {
  try {
    return await hostLock(ctx, command, waitMs, stop.signal);
  } catch (err) {
    if (stop.exitCode() === null) throw err;
    io.stderr('ccci-sweep: stopped while waiting for the host lock; nothing was done\n');
    return null;
  }
}

async function selection(config: Config, o: CommonOpts) {
  const { readEnrolment, selectRecipes } = await import('./enrolment.js');
  return selectRecipes(readEnrolment(config.ccciRepo), config.ccciRepo, o.recipe, o.cadence ?? 'all');
}

async function planCommand(
  opts: CommonOpts & { offline?: boolean; force?: boolean; retry?: boolean; testTimeout?: number; tag?: string }, config: Config, io: Io,
): Promise<number> {
  const { plan } = await import('./sweep.js');
  const settings = await operatorSettings(opts, io.env);
  const { renderPlan, planJson } = await import('./report.js');
  const ctx = await context(config, io, { dryRun: true, mirror: !opts.offline });
  const { inDryRun } = await import('./adapters/effects.js');
  const enrolment = await selection(config, opts);
  // Plan only reads: every write below it is refused (src/adapters/effects.ts), whatever the code path.
  const entries = await inDryRun(() => plan(ctx, enrolment, {
    offline: opts.offline, force: opts.force, retry: opts.retry, mirrorState: !opts.offline,
    minReleaseAgeMs: settings.minReleaseAgeMs, requestedTag: opts.tag,
    // `run --dry-run --test-timeout X` shows what that run would do; plan shows the default run.
    testTimeoutMs: opts.testTimeout ?? DEFAULT_TEST_TIMEOUT_MS,
  }));
  io.stdout(opts.json ? `${JSON.stringify(planJson(entries), null, 2)}\n` : renderPlan(entries));
  return entries.some((e) => e.decision === 'error') ? EXIT.failed : EXIT.ok;
}

type RunOpts = CommonOpts & {
  dryRun?: boolean; jobs?: number; force?: boolean; retry?: boolean; sync?: boolean; syncJobs?: number;
  waitLock?: number; stopGrace?: number; testTimeout?: number; metricsFile?: string; ciPollInterval?: number;
  tag?: string; allowDowngrade?: boolean;
};

async function runCommand(opts: RunOpts, config: Config, io: Io): Promise<number> {
  if (opts.tag !== undefined && opts.recipe.length !== 1) throw new UsageError('--tag needs exactly one --recipe: a tag is a release of one recipe');
  if (opts.allowDowngrade && opts.tag === undefined) throw new UsageError('--allow-downgrade needs --tag: it allows testing that chosen older release');
  // `run --dry-run` is exactly `plan`: same reads, same output, no writes.
  if (opts.dryRun) return planCommand(opts, config, io);
  const settings = await operatorSettings(opts, io.env);
  const { run } = await import('./sweep.js');
  const { renderSummary, summaryJson, runSucceeded } = await import('./report.js');
  const enrolment = await selection(config, opts);
  const ci = await ciClientFor(config, io);
  const startedAt = new Date();
  const stop = stopOnSignals(io);
  try {
    const ctx = await context(config, io, { dryRun: false, signal: stop.signal, mirror: opts.sync !== false });
    const lock = await hostLockUnlessStopped(ctx, 'run', opts.waitLock ?? 0, stop, io);
    if (!lock) return stop.exitCode()!;
    const { createProgress } = await import('./progress.js');
    const progress = createProgress({ stream: process.stderr, tty: io.stderrTty ?? false, log: ctx.log, jobs: opts.jobs });
    try {
      const ciSweep = ci ? await startCiSweep(ctx, ci, opts.ciPollInterval) : null;
      const results = await run({ ...ctx, onEvent: progress.listener }, enrolment, {
        jobs: opts.jobs, force: opts.force, retry: opts.retry, sync: opts.sync, syncJobs: opts.syncJobs,
        testTimeoutMs: opts.testTimeout, stopGraceMs: opts.stopGrace, executor: ciSweep?.executor,
        minReleaseAgeMs: settings.minReleaseAgeMs, recordSeenTags: true, requestedTag: opts.tag, allowDowngrade: opts.allowDowngrade,
        diskGuard: await diskGuardFor(config, settings, io.env),
      });
      ciSweep?.end();
      progress.stop();
      io.stdout(opts.json ? `${JSON.stringify(summaryJson(results), null, 2)}\n` : renderSummary(results));
      const recorded = await recordSweep(config, io, { startedAt, results, metricsFile: opts.metricsFile, argv: process.argv.slice(2) });
      await notifyAfterRun(ctx, settings, results);
      return stop.exitCode() ?? (runSucceeded(results) && recorded ? EXIT.ok : EXIT.failed);
    } finally {
      progress.stop();
      lock.release();
    }
  } finally {
    stop.dispose();
  }
}

/** The CI client when `--executor` is drone or woodpecker (null for local); config problems exit 2 here. */
async function ciClientFor(config: Config, io: Io) {
  if (!config.executor || config.executor === 'local') return null;
  const { ciClientFromConfig } = await import('./adapters/ci/from-config.js');
  return ciClientFromConfig(config, io.env);
}

/** A CI sweep's id (and the killed earlier sweep's, to adopt its builds), and its executor. */
async function startCiSweep(
  ctx: Awaited<ReturnType<typeof context>>, client: import('./adapters/ci/engine.js').CiClient, pollMs: number | undefined,
) {
  const { beginCiSweep, endCiSweep, ciExecutor } = await import('./sweep/ci-executor.js');
  const { sweepId, previous } = beginCiSweep(ctx.config.stateDir, ctx.now());
  ctx.log.info({ sweepId, executor: client.engine, adopting: previous }, 'dispatching tests as CI builds');
  return {
    executor: ciExecutor(ctx, { client, sweepId, previousSweepIds: previous, pollMs }),
    end: () => endCiSweep(ctx.config.stateDir, sweepId),
  };
}

/** The pid of this process's parent right now (Linux /proc), or null when it cannot be read. */
function parentPid(): number | null {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isInteger(ppid) ? ppid : null;
  } catch {
    return null;
  }
}

/**
 * Drone's exec runner cancels a build by SIGKILL to the step's shell alone: this worker is orphaned and
 * would test on. Noticing the parent is gone, it stops as on SIGTERM (harness group stopped, clone put back).
 */
function stopWhenOrphaned(io: Io): () => void {
  const first = parentPid();
  if (first === null) return () => undefined;
  const timer = setInterval(() => {
    const now = parentPid();
    if (now === null || now === first) return;
    clearInterval(timer);
    io.stderr('ccci-sweep: worker: the build step that started this worker is gone (cancelled?); stopping the test\n');
    process.kill(process.pid, 'SIGTERM');
  }, 250);
  timer.unref();
  return () => clearInterval(timer);
}

type WorkerOpts = { testTimeout?: number; stopGrace?: number };

async function workerCommand(opts: WorkerOpts, config: Config, io: Io): Promise<number> {
  const { workerVars, runWorker } = await import('./sweep/worker.js');
  const { resultLine } = await import('./core/executor-result.js');
  const { assertWritableStateDir } = await import('./config.js');
  // Whatever goes wrong before the test, the coordinator gets a result line saying it (when it can be
  // addressed: recipe and sweep id known), besides the one line on stderr and exit 2.
  const say = (outcome: string, detail: string) => {
    if (io.env.RECIPE && io.env.CCCI_SWEEP_ID) {
      io.stdout(`${resultLine({
        recipe: io.env.RECIPE.trim(), sweepId: io.env.CCCI_SWEEP_ID.trim(), tag: io.env.CCCI_SWEEP_TAG?.trim() || null,
        outcome, exitCode: null, durationMs: 0, log: null, detail,
      })}\n`);
    }
  };
  let setup;
  try {
    const v = workerVars(io.env);
    const enrolment = await selection(config, { recipe: [v.recipe] });
    const enrolled = enrolment.recipes[0];
    if (!enrolled) throw new ConfigError(`worker: recipe ${v.recipe} is not enrolled here: ${enrolment.problems[0]?.problem ?? 'see plan'}`);
    assertWritableStateDir(config.stateDir);
    setup = { v, cadence: enrolled.cadence };
  } catch (err) {
    const { scrub } = await import('./log.js');
    say('error', `the runner's host refused the build: ${scrub(messageOf(err))}`);
    throw err;
  }
  const stop = stopOnSignals(io);
  const unwatch = stopWhenOrphaned(io);
  try {
    // The coordinator's CCCI_UPGRADE_BASE is passed on explicitly (unset when empty), never inherited as is.
    const { CCCI_UPGRADE_BASE: _base, ...env } = io.env;
    const ctx = await context(config, { ...io, env }, { dryRun: false, signal: stop.signal, mirror: false });
    const result = await runWorker(ctx, setup.v, { cadence: setup.cadence, testTimeoutMs: opts.testTimeout, stopGraceMs: opts.stopGrace });
    io.stdout(`${resultLine(result)}\n`);
    return stop.exitCode() ?? (result.outcome === 'promoted' ? EXIT.ok : EXIT.failed);
  } finally {
    unwatch();
    stop.dispose();
  }
}

/**
 * The sweep's report in the state dir and, when asked, the Prometheus metrics of every enrolled recipe. Each
 * is written whole or not at all; one that cannot be written (a full disk) is one line on stderr and makes
 * the run exit 1, without stopping the other. Returns whether both were written.
 */
async function recordSweep(
  config: Config, io: Io, s: { startedAt: Date; results: import('./sweep.js').RunResult[]; metricsFile?: string; argv: string[] },
): Promise<boolean> {
  const { sweepReport, writeSweepReport } = await import('./sweep-report.js');
  const { startedBy } = await import('./sweep.js');
  const endedAt = new Date();
  let ok = true;
  const attempt = (fn: () => void) => {
    try {
      fn();
    } catch (err) {
      ok = false;
      io.stderr(`ccci-sweep: ${messageOf(err)}\n`);
    }
  };
  attempt(() => writeSweepReport(config.stateDir, sweepReport({
    startedAt: s.startedAt.toISOString(), endedAt: endedAt.toISOString(), argv: s.argv, by: startedBy(io.env), config, recipes: s.results,
  })));
  if (!s.metricsFile) return ok;
  const { metricsInput, writeMetrics } = await import('./metrics.js');
  const { status } = await import('./status.js');
  const { readEnrolment } = await import('./enrolment.js');
  // Every enrolled recipe, not only this sweep's: the textfile replaces the previous one whole.
  const all = status(config.stateDir, readEnrolment(config.ccciRepo), endedAt.getTime());
  attempt(() => writeMetrics(path.resolve(s.metricsFile!), metricsInput(all, s.results, endedAt.getTime())));
  return ok;
}

/** The disk guard a run checks before each harness launch (src/adapters/disk.ts). */
async function diskGuardFor(config: Config, settings: import('./core/operator-settings.js').OperatorSettings, env: NodeJS.ProcessEnv) {
  const { diskGuard } = await import('./adapters/disk.js');
  return diskGuard(config.stateDir, settings, env);
}

/** Webhooks for recipes whose health changed; never fails the run (src/sweep/notify.ts). */
async function notifyAfterRun(
  ctx: { config: Config; log: Logger; env: NodeJS.ProcessEnv; signal?: AbortSignal }, settings: import('./core/operator-settings.js').OperatorSettings,
  results: import('./sweep.js').RunResult[],
): Promise<void> {
  if (settings.notify.length === 0) return;
  const { notifyChanges } = await import('./sweep/notify.js');
  await notifyChanges(ctx, settings.notify, results);
}

type SyncOpts = CommonOpts & { dryRun?: boolean; syncJobs?: number; waitLock?: number };

async function syncCommand(opts: SyncOpts, config: Config, io: Io): Promise<number> {
  if (!config.mirrorUrl) {
    throw new ConfigError('sync needs a mirror: set --mirror-url, CCCI_MIRROR_URL or [sweep] mirror-url');
  }
  const { syncMirrors } = await import('./sweep.js');
  const { renderSync, syncFailed } = await import('./report.js');
  const enrolment = await selection(config, opts);
  const stop = stopOnSignals(io);
  try {
    const ctx = await context(config, io, { dryRun: Boolean(opts.dryRun), signal: stop.signal });
    // A dry-run writes nothing, so it needs no lock (like plan).
    const lock = opts.dryRun ? null : await hostLockUnlessStopped(ctx, 'sync', opts.waitLock ?? 0, stop, io);
    if (!opts.dryRun && !lock) return stop.exitCode()!;
    try {
      const { inDryRun } = await import('./adapters/effects.js');
      const sync = () => syncMirrors(ctx, enrolment, { syncJobs: opts.syncJobs });
      const results = await (opts.dryRun ? inDryRun(sync) : sync());
      io.stdout(opts.json ? `${JSON.stringify({ recipes: results }, null, 2)}\n` : renderSync(results));
      return stop.exitCode() ?? (results.some((r) => syncFailed(r)) ? EXIT.failed : EXIT.ok);
    } finally {
      lock?.release();
    }
  } finally {
    stop.dispose();
  }
}

async function statusCommand(opts: CommonOpts, config: Config, io: Io): Promise<number> {
  const { status } = await import('./status.js');
  const { renderStatus } = await import('./report.js');
  const { createLogger } = await import('./log.js');
  const log = createLogger({ env: io.env });
  const { inDryRun } = await import('./adapters/effects.js');
  const enrolment = await selection(config, opts);
  // status only reads the state dir: any write below it is refused.
  const entries = inDryRun(() => status(config.stateDir, enrolment, Date.now(), (recipe, message) => log.warn({ recipe }, message)));
  io.stdout(opts.json ? `${JSON.stringify({ recipes: entries }, null, 2)}\n` : renderStatus(entries));
  return entries.some((e) => e.error) ? EXIT.failed : EXIT.ok;
}

async function explainCommand(
  recipe: string, opts: { offline?: boolean; retry?: boolean; json?: boolean; minReleaseAge?: string }, config: Config, io: Io,
): Promise<number> {
  const { explain, renderExplain } = await import('./explain.js');
  const enrolment = await selection(config, { recipe: [recipe] });
  const r = enrolment.recipes[0] ?? enrolment.problems[0]!;
  const ctx = await context(config, io, { dryRun: true, mirror: false });
  const { inDryRun } = await import('./adapters/effects.js');
  const settings = await operatorSettings(opts, io.env);
  const e = await inDryRun(() => explain(ctx, r.recipe, r.cadence, { ...opts, minReleaseAgeMs: settings.minReleaseAgeMs }));
  io.stdout(opts.json ? `${JSON.stringify(e, null, 2)}\n` : renderExplain(e));
  return e.decision === 'error' ? EXIT.failed : EXIT.ok;
}

async function doctorCommand(opts: { json?: boolean }, config: Config, io: Io): Promise<number> {
  const { runDoctor, renderDoctor } = await import('./doctor.js');
  const settings = await operatorSettings(opts, io.env);
  const { withDiskFigures } = await import('./adapters/disk.js');
  const report = withDiskFigures(await runDoctor(config, io.env), config.stateDir, settings);
  io.stdout(opts.json ? `${JSON.stringify(report, null, 2)}\n` : renderDoctor(report));
  return report.ok ? EXIT.ok : EXIT.failed;
}

/** What a command in src/cli/commands/ needs from the entry: one kit, so each command stays in its own file. */
export interface CommandKit {
  io: Io;
  done: (code: number) => void;
  withGlobals: (cmd: Command) => Command;
  configFrom: (opts: Record<string, unknown>) => Config;
  selection: typeof selection;
  context: typeof context;
  hostLockUnlessStopped: typeof hostLockUnlessStopped;
  stopOnSignals: typeof stopOnSignals;
  recordSweep: typeof recordSweep;
}

export function buildProgram(io: Io, done: (code: number) => void): Command {
  const program = new Command('ccci-sweep')
    .description('Canonical sweep of a Co-op Cloud CI host: decide by version, test through cc-ci-run, promote.')
    .version(packageVersion(), '-V, --version')
    .showHelpAfterError('(run ccci-sweep --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });

  const act = (fn: (opts: never, config: Config, io: Io) => Promise<number>) =>
    async function (this: Command) {
      const opts = this.opts();
      done(await fn(opts as never, configFrom(opts, io), io));
    };

  withReleaseAge(withSelection(withGlobals(program.command('plan').description('preview the sweep: decisions only, nothing written'))))
    .option('--offline', "use the local clones' tags instead of asking upstream")
    .option('--force', 'show what --force would run')
    .option('--retry', 'show what --retry would run')
    .action(act(planCommand));

  withNotify(withDiskGuard(withReleaseAge(withSelection(withGlobals(
    program.command('run').description('sweep: mirror-sync, then test each new release through cc-ci-run and promote it'))))))
    .option('--tag <tag>', 'test this release of the one --recipe instead of the newest (reason requested)')
    .option('--allow-downgrade', 'with --tag: a release at or below the canonical may be tested and, when green, become the canonical')
    .option('--dry-run', 'exactly `plan`: decide, write nothing')
    .option('--jobs <n>', 'recipes tested at once', positiveInt, 1)
    .option('--force', 'run the newest release even when the decision is skip')
    .option('--retry', 'run a newest release that already went red under unchanged conditions')
    .option('--no-sync', 'skip mirror-sync')
    .option('--sync-jobs <n>', 'mirrors synced at once', positiveInt, 4)
    .option('--wait-lock <duration>', 'wait this long for another sweep to finish (default: exit 3 at once)', duration)
    .option('--stop-grace <duration>', 'after SIGTERM, how long the harness may tear down before SIGKILL (0: at once)', duration, 120_000)
    .option('--test-timeout <duration>', 'per harness run and seed script; then it is stopped like on SIGTERM (outcome timeout); 0: none', duration, DEFAULT_TEST_TIMEOUT_MS)
    .option('--metrics-file <path>', 'write Prometheus metrics here (node_exporter textfile collector), atomically', pathArg('--metrics-file'))
    .option('--ci-poll-interval <duration>', 'with a CI executor: how often each build is polled (with jitter)', pollInterval, 15_000)
    .action(act(runCommand));

  withGlobals(program.command('worker').description('inside a CI build: test the recipe the build names (RECIPE, CCCI_SWEEP_*) and print its result line'))
    .option('--stop-grace <duration>', 'after SIGTERM, how long the harness may tear down before SIGKILL (0: at once)', duration, 120_000)
    .option('--test-timeout <duration>', 'per harness run and seed script; then it is stopped like on SIGTERM (outcome timeout); 0: none', duration, DEFAULT_TEST_TIMEOUT_MS)
    .action(act(workerCommand));

  withSelection(withGlobals(program.command('sync').description("mirror-sync alone: upstream's branch and tags to each recipe's mirror")), false)
    .option('--dry-run', 'read both sides and say what would be pushed or closed; write nothing')
    .option('--sync-jobs <n>', 'mirrors synced at once', positiveInt, 4)
    .option('--wait-lock <duration>', 'wait this long for another sweep to finish (default: exit 3 at once)', duration)
    .action(act(syncCommand));

  withReleaseAge(withGlobals(program.command('explain').description('every tag of a recipe, its rank, why the newest is newest, attempts and the decision')))
    .argument('<recipe>', 'an enrolled recipe')
    .option('--offline', "use the local clone's tags instead of asking upstream")
    .option('--retry', 'explain the decision as with --retry')
    .option('--json', 'print one JSON document on stdout')
    .action(async function (this: Command, recipe: string) {
      const opts = this.opts();
      done(await explainCommand(recipe, opts, configFrom(opts, io), io));
    });

  withSelection(withGlobals(program.command('status').description("each enrolled recipe's canonical and last outcome")), false)
    .action(act(statusCommand));

  withDiskGuard(withGlobals(program.command('doctor').description('check the configuration and probe every harness tool through cc-ci-run')))
    .option('--json', 'print the report as one JSON document')
    .action(act(doctorCommand));

  const kit: CommandKit = {
    io, done, withGlobals, configFrom: (opts) => configFrom(opts, io), selection, context, hostLockUnlessStopped, stopOnSignals, recordSweep,
  };
  registerOperatorCommands(program, kit, { duration, defaultTestTimeoutMs: DEFAULT_TEST_TIMEOUT_MS });

  program
    .command('completion')
    .description('print a shell completion script (bash: source <(ccci-sweep completion bash))')
    .addArgument(new Argument('<shell>', 'the shell').choices(['bash', 'zsh']))
    .action(async (shell: 'bash' | 'zsh') => {
      const { completionScript } = await import('./completion.js');
      io.stdout(completionScript(program, shell));
      done(EXIT.ok);
    });

  program
    .command('demo')
    .description('build a throwaway sandbox and run a real plan and run in it')
    .action(async () => {
      const { runDemo } = await import('./demo/run-demo.js');
      done(await runDemo(io, main));
    });
  return program;
}

/** Runs the CLI; returns the exit code. Never throws, never prints a stack trace. */
export async function main(argv: string[], io: Io = defaultIo): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv);
    return internalError ? EXIT.internal : code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with exit code 0; usage errors were already printed by commander.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const { scrub } = await import('./log.js');
    io.stderr(`ccci-sweep: ${scrub(messageOf(err))}\n`);
    return err instanceof UsageError ? EXIT.usage : exitCodeFor(err);
  }
}
