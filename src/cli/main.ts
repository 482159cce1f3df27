// The CLI entry: runs one command and maps errors to exit codes in one place. Heavy modules are imported
// lazily so `--version` and `--help` start fast.
import { CommanderError } from 'commander';
import { EXIT, exitCodeFor, messageOf, UsageError } from '../core/errors.js';
import { defaultIo, type Io } from './io.js';
import { internalError } from './signals.js';
import { buildProgram } from './program.js';

// bin/ccci-sweep.js installs the last resort before running main().
export { installLastResort } from './signals.js';

/** Runs the CLI; returns the exit code. Never throws, never prints a stack trace. */
export async function main(argv: string[], io: Io = defaultIo): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram(io, (c) => {
    code = c;
  }, main);
  try {
    await program.parseAsync(argv);
    return internalError ? EXIT.internal : code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with exit code 0; usage errors were already printed by commander.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const { scrub } = await import('../adapters/log.js');
    io.stderr(`ccci-sweep: ${scrub(messageOf(err))}\n`);
    return err instanceof UsageError ? EXIT.usage : exitCodeFor(err);
  }
}
