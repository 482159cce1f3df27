// The operator-control commands (issue 14), each in its own file: hold, release, rollback, verify.
import type { Command } from 'commander';
import type { CommandKit } from '../program.js';
import { registerHold } from './hold.js';
import { registerRollback } from './rollback.js';
import { registerVerify } from './verify.js';

export function registerOperatorCommands(program: Command, kit: CommandKit, shared: { duration: (v: string) => number; defaultTestTimeoutMs: number }): void {
  registerHold(program, kit);
  registerRollback(program, kit, shared);
  registerVerify(program, kit, shared);
}
