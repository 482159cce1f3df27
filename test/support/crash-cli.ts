// Test-only entry: the CLI with one crash point armed, for the crash-safety tests. Run as
// `node --import tsx test/support/crash-cli.ts <step> <ccci-sweep args...>`. At <step> the sweep kills
// itself with SIGKILL (a power cut, an OOM kill), or for `uncaught-while-testing` throws an error nothing
// catches while the harness runs (a bug), to prove the CLI's last-resort handler. Never shipped.
import { defaultIo } from '../../src/cli/io.js';
import { installLastResort } from '../../src/cli/signals.js';
import { main } from '../../src/cli/main.js';
import type { CrashHook, CrashStep } from '../../src/sweep/faults.js';

const [step, ...args] = process.argv.slice(2) as [CrashStep, ...string[]];
// The sweep names its command line in lock files; it should read as the real CLI's.
process.argv = [process.argv[0]!, 'ccci-sweep', ...args];

const crash: CrashHook = (at) => {
  if (at !== step) return;
  if (at === 'uncaught-while-testing') {
    setImmediate(() => {
      throw new Error(`injected fault at ${at}`);
    });
    return;
  }
  process.kill(process.pid, 'SIGKILL');
};

installLastResort();
main(process.argv, { ...defaultIo, crash }).then((code) => {
  process.exitCode = code;
});
