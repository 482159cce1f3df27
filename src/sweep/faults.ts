// Crash points: named steps of a promotion where the crash-safety tests stop the sweep as a power cut or an
// OOM kill would. The shipped CLI never arms one (nothing it reads can); a test builds the context with a
// hook (test/support/crash-cli.ts), and the sweep calls it at each step.
export type CrashStep =
  | 'before-seed' | 'after-seed' | 'during-record-write' | 'after-rename' | 'before-history' | 'uncaught-while-testing';

export type CrashHook = (step: CrashStep) => void;
