// Where the CLI writes and what it reads: stdout, stderr and the environment, passed to every command.
import type { CrashHook } from '../sweep/faults.js';
import { guardStream, STDERR_CAP_BYTES } from '../adapters/terminal/stream-guard.js';

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
// A reader that stops reading (a paused pager) must not make the sweep's memory grow: what waits for stderr
// is bounded (lines beyond are dropped and counted). stdout carries only the bounded report, kept whole.
const stdoutGuard = guardStream(process.stdout);
export const stderrGuard = guardStream(process.stderr, { capBytes: STDERR_CAP_BYTES, name: 'stderr' });

export const defaultIo: Io = {
  stdout: (t) => stdoutGuard.write(t),
  stderr: (t) => stderrGuard.write(t),
  // One frozen copy for the whole command: nothing may change the environment under a sweep, and the git
  // runner computes git's environment once per such object.
  env: Object.freeze({ ...process.env }),
  stderrTty: process.stderr.isTTY === true && !process.env.JOURNAL_STREAM && process.env.TERM !== 'dumb',
};
