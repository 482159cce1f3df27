// Fault injection for the crash-safety tests: with CCCI_CRASH_AT=<step> the sweep kills itself with SIGKILL
// at that step, exactly as a power cut or an OOM kill would. Unset (always, in production) it does nothing.
export type CrashStep = 'before-seed' | 'after-seed' | 'during-record-write' | 'after-rename' | 'before-history';

export function crashPoint(step: CrashStep, env: NodeJS.ProcessEnv): void {
  if (env.CCCI_CRASH_AT === step) process.kill(process.pid, 'SIGKILL');
}
