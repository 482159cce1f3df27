// The command line: every command, its options and their parsing (commander).
import { readFileSync } from 'node:fs';
import { Argument, Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_TEST_TIMEOUT_MS } from '../core/attempts.js';
import { DEFAULT_REMOTE_JOBS } from '../core/sweep-types.js';
import type { Config, ConfigKey } from '../core/config.js';
import { GLOBAL_OPTIONS, loadConfig } from '../adapters/fs/settings.js';
import { EXIT } from '../core/errors.js';
import { BELOW_1MS, readDuration, timerProblem } from '../core/duration.js';
import type { CadenceFilter } from '../core/enrolment.js';
import { registerOperatorCommands } from './commands/index.js';
import { withDiskGuard, withNotify, withReleaseAge } from './commands/operator-options.js';
import type { Io } from './io.js';
import { context, hostLockUnlessStopped, selection } from './context.js';
import { stopOnSignals } from './signals.js';
import { planCommand } from './commands/plan.js';
import { recordSweep, runCommand } from './commands/run.js';
import { workerCommand } from './commands/worker.js';
import { syncCommand } from './commands/sync.js';
import { statusCommand } from './commands/status.js';
import { explainCommand } from './commands/explain.js';
import { doctorCommand } from './commands/doctor.js';

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** Decimal digits only (Number() would take `1e3`, `0x10`, ` 4`), at least 1, at most 100 000. */
function positiveInt(value: string): number {
  const n = /^[0-9]{1,6}$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(n) || n < 1 || n > 100_000) throw new InvalidArgumentError('must be a whole number from 1 to 100000, in decimal digits');
  return n;
}

function duration(value: string): number {
  const ms = readDuration(value);
  if (ms === 'below-1ms') throw new InvalidArgumentError(BELOW_1MS);
  if (ms === 'malformed') throw new InvalidArgumentError('must be a duration like 90m, 120s, 1h30m or a number of seconds');
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

export interface CommonOpts {
  recipe: string[];
  cadence?: CadenceFilter;
  json?: boolean;
}

/** Config from flags > env > settings > defaults, validated and with paths made absolute (src/adapters/fs/settings.ts). */
function configFrom(opts: Record<string, unknown>, io: Io): Config {
  const flags: Partial<Record<ConfigKey, string>> = {};
  for (const o of GLOBAL_OPTIONS) {
    // commander names the value after the flag (`--cc-ci-run` -> ccCiRun), not after our config key.
    const v = opts[o.flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase())];
    if (typeof v === 'string') flags[o.key] = v;
  }
  const { config, warnings } = loadConfig(flags, io.env, process.cwd());
  for (const w of warnings) io.stderr(`ccci-sweep: warning: ${w}\n`);
  return config;
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

/** The CLI's entry, for the demo (which runs real commands); passed in so program.ts does not import main.ts. */
export type Main = (argv: string[], io: Io) => Promise<number>;

export function buildProgram(io: Io, done: (code: number) => void, main: Main): Command {
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
    .option('--remote-jobs <n>', 'upstream listings at once', positiveInt, DEFAULT_REMOTE_JOBS)
    .action(act(planCommand));

  withNotify(withDiskGuard(withReleaseAge(withSelection(withGlobals(
    program.command('run').description('sweep: mirror-sync, then test each new release through cc-ci-run and promote it'))))))
    .option('--tag <tag>', 'test this release of the one --recipe instead of the newest (reason requested)')
    .option('--allow-downgrade', 'with --tag: a release at or below the canonical may be tested and, when green, become the canonical')
    .option('--dry-run', "run's own steps with every write refused: prints what plan prints, writes nothing")
    .option('--jobs <n>', 'recipes tested at once', positiveInt, 1)
    .option('--force', 'run the newest release even when the decision is skip')
    .option('--retry', 'run a newest release that already went red under unchanged conditions')
    .option('--no-sync', 'skip mirror-sync')
    .option('--sync-jobs <n>', 'mirrors synced at once', positiveInt, 4)
    .option('--remote-jobs <n>', 'upstream listings at once', positiveInt, DEFAULT_REMOTE_JOBS)
    .option('--wait-lock <duration>', 'wait this long for another sweep to finish (default: exit 3 at once)', duration)
    .option('--stop-grace <duration>', 'after SIGTERM, how long the harness may tear down before SIGKILL (0: at once)', duration, 120_000)
    .option('--test-timeout <duration>', 'per harness run and seed script; then it is stopped like on SIGTERM (outcome timeout); 0: none', duration, DEFAULT_TEST_TIMEOUT_MS)
    .option('--metrics-file <path>', 'write Prometheus metrics here (node_exporter textfile collector), atomically', pathArg('--metrics-file'))
    .option('--ci-poll-interval <duration>', 'with a CI executor: how often each build is polled (with jitter)', pollInterval, 15_000)
    .action(act(runCommand));

  withDiskGuard(withGlobals(program.command('worker').description('inside a CI build: test the recipe the build names (RECIPE, CCCI_SWEEP_*) and print its result line')))
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
      const { completionScript } = await import('../render/completion.js');
      io.stdout(completionScript(program, shell));
      done(EXIT.ok);
    });

  program
    .command('demo')
    .description('build a throwaway sandbox and run a real plan and run in it')
    .action(async () => {
      const { runDemo } = await import('../demo/run-demo.js');
      done(await runDemo(io, main));
    });
  return program;
}
