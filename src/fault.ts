// Fault injection for the crash-safety tests: with CCCI_CRASH_AT=<step> the sweep kills itself with SIGKILL
// at that step, exactly as a power cut or an OOM kill would. Unset (always, in production) it does nothing.
// `uncaught-while-testing` instead throws an error nothing catches while the harness runs (a bug), to prove
// the CLI's last-resort handler.
export type CrashStep =
  | 'before-seed' | 'after-seed' | 'during-record-write' | 'after-rename' | 'before-history' | 'uncaught-while-testing';

export function crashPoint(step: CrashStep, env: NodeJS.ProcessEnv): void {
  if (env.CCCI_CRASH_AT !== step) return;
  if (step === 'uncaught-while-testing') {
    setImmediate(() => {
      throw new Error(`injected fault at ${step}`);
    });
    return;
  }
  process.kill(process.pid, 'SIGKILL');
}
