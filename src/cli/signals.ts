// Signals and the last resort: SIGTERM/SIGINT/SIGHUP stop a running command cleanly; an uncaught error
// becomes one line and exit 70.
import { EXIT, messageOf } from '../core/errors.js';
import { type Io, stderrGuard } from './io.js';

const SIGNAL_EXIT: Partial<Record<NodeJS.Signals, number>> = { SIGINT: EXIT.sigint, SIGTERM: EXIT.sigterm, SIGHUP: EXIT.sighup };

export interface Stopper {
  signal: AbortSignal;
  /** The exit code a signal (or an internal error) asks for, or null when none arrived. */
  exitCode: () => number | null;
  /** An uncaught error: stop like SIGTERM, exit 70. */
  fail: () => void;
  dispose: () => void;
}

// The running command's stopper, for the last-resort handler (an uncaught error stops the sweep cleanly).
let current: Stopper | null = null;
export let internalError = false;

/**
 * SIGTERM, SIGINT and SIGHUP (a by-hand run's ssh session dropping) abort the sweep: harnesses are stopped
 * with their grace, checkouts restored, nothing more promoted. A second request does not wait: every
 * harness's process group gets SIGKILL at once, then the clones are restored and the sweep exits.
 */
export function stopOnSignals(io: Io): Stopper {
  const controller = new AbortController();
  let received: NodeJS.Signals | null = null;
  let requests = 0;
  const request = (why: string) => {
    requests += 1;
    if (requests === 1) return controller.abort();
    io.stderr(`ccci-sweep: ${why} again: killing every running harness now (SIGKILL), then restoring the clones\n`);
    void import('../adapters/harness.js').then(({ killAllHarnesses }) => killAllHarnesses());
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
 * A read-only command (plan, explain, run --dry-run) under INT/TERM/HUP: `work` runs with the stop signal,
 * so its listings and git processes stop with it (none is left behind); after a signal nothing is printed
 * and the exit code is the signal's (130/143/129).
 */
export async function readUntilStopped(io: Io, work: (signal: AbortSignal) => Promise<{ output: string; exitCode: number }>): Promise<number> {
  const stop = stopOnSignals(io);
  try {
    const r = await work(stop.signal);
    const stopped = stop.exitCode();
    if (stopped !== null) return stopped;
    io.stdout(r.output);
    return r.exitCode;
  } finally {
    stop.dispose();
  }
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

/** The scrubber for the last-resort message, once the logger (and its secrets) is loaded. */
export function setScrub(scrub: (text: string) => string): void {
  scrubText = scrub;
}
