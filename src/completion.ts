// Shell completion scripts generated from the commander program, so they can never drift from the CLI.
import type { Command } from 'commander';

export type Shell = 'bash' | 'zsh';

export function completionScript(program: Command, shell: Shell): string {
  const commands = program.commands.map((c) => c.name()).join(' ');
  return shell === 'bash' ? `complete -W "${commands}" ${program.name()}\n` : `#compdef ${program.name()}\ncompadd ${commands}\n`;
}
