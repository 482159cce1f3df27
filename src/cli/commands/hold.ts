// `ccci-sweep hold <recipe> --reason TEXT [--tag TAG] [--until SPAN|ISO]` and `release <recipe> [--tag TAG]`.
import type { Command } from 'commander';
import type { CommandKit } from '../program.js';
import { EXIT } from '../../core/errors.js';

interface HoldOpts { reason: string; tag?: string; until?: string; json?: boolean }
interface ReleaseOpts { tag?: string; reason?: string; json?: boolean }

export function registerHold(program: Command, kit: CommandKit): void {
  const { io, done } = kit;

  kit.withGlobals(program.command('hold').description('hold a recipe (or one release of it): the sweep skips it until released or --until'))
    .argument('<recipe>', 'an enrolled recipe')
    .requiredOption('--reason <text>', 'why (shown by plan, explain and status)')
    .option('--tag <tag>', 'hold only this release: it is never a candidate')
    .option('--until <when>', 'the hold ends by itself: a span from now (7d, 36h) or an ISO-8601 date')
    .option('--json', 'print one JSON document on stdout')
    .action(async function (this: Command, recipe: string) {
      const opts = this.opts<HoldOpts>();
      const config = kit.configFrom(opts as unknown as Record<string, unknown>);
      const c = await holdContext(kit, config, recipe);
      const { parseUntil } = await import('../../core/holds.js');
      const { holdRecipe } = await import('../../sweep/hold.js');
      const until = opts.until === undefined ? null : parseUntil(opts.until, c.now().getTime());
      const r = await holdRecipe(c, recipe, { tag: opts.tag, reason: opts.reason, until });
      const what = r.tag ? `${r.tag} of ${recipe}` : recipe;
      io.stdout(opts.json ? `${JSON.stringify(r, null, 2)}\n` : `held ${what}: ${r.hold.reason} (by ${r.hold.by}, ${r.hold.until ? `until ${r.hold.until}` : 'until released'})\n`);
      done(EXIT.ok);
    });

  kit.withGlobals(program.command('release').description('lift the hold of a recipe (or of one release with --tag)'))
    .argument('<recipe>', 'an enrolled recipe')
    .option('--tag <tag>', 'lift the hold of this release only')
    .option('--reason <text>', 'why (recorded in history.jsonl)')
    .option('--json', 'print one JSON document on stdout')
    .action(async function (this: Command, recipe: string) {
      const opts = this.opts<ReleaseOpts>();
      const config = kit.configFrom(opts as unknown as Record<string, unknown>);
      const c = await holdContext(kit, config, recipe);
      const { releaseRecipe } = await import('../../sweep/hold.js');
      const r = await releaseRecipe(c, recipe, { tag: opts.tag, reason: opts.reason });
      const what = r.tag ? `${r.tag} of ${recipe}` : recipe;
      io.stdout(opts.json ? `${JSON.stringify(r, null, 2)}\n` : r.released ? `released ${what} (held since ${r.released.since}: ${r.released.reason})\n` : `${what} was not held; nothing changed\n`);
      done(EXIT.ok);
    });
}

/** The recipe must be enrolled (else exit 2) and the state dir writable (else exit 2). */
async function holdContext(kit: CommandKit, config: import('../../core/config.js').Config, recipe: string) {
  await kit.selection(config, { recipe: [recipe] });
  const { assertWritableStateDir } = await import('../../adapters/fs/settings.js');
  assertWritableStateDir(config.stateDir);
  const { createLogger } = await import('../../adapters/log.js');
  const { startedBy } = await import('../../sweep/context.js');
  // One instant for the whole command: a hold `--until 7d` lasts exactly 7 days from its `since`.
  const at = new Date();
  return { stateDir: config.stateDir, log: createLogger({ env: kit.io.env }), by: startedBy(kit.io.env), now: () => at };
}
