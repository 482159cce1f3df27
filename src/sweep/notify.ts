// After a run: one webhook POST per recipe whose health changed since the last notification, to every
// --notify URL. The last-notified state lives in <state-dir>/notify-state.json (written whole or not at all,
// under the host lock the run holds); a recipe whose notice reached no URL keeps its old state, so the next
// run announces it again.
import { hostname } from 'node:os';
import path from 'node:path';
import { removeStaleTemps, writeFileAtomic } from '../adapters/fs/atomic-file.js';
import { readRegularText } from '../adapters/fs/read-file.js';
import { messageOf } from '../core/errors.js';
import type { Logger } from '../adapters/log.js';
import { noticesFor, type NotifiedState, parseNotifiedState, type RunOutcome } from '../core/health.js';
import { origin, postJson } from '../adapters/notify.js';

export function notifyStatePath(stateDir: string): string {
  return path.join(stateDir, 'notify-state.json');
}

function readState(file: string): NotifiedState {
  try {
    return parseNotifiedState(JSON.parse(readRegularText(file)));
  } catch {
    return {};
  }
}

export async function notifyChanges(
  ctx: { config: { stateDir: string }; log: Logger; env: NodeJS.ProcessEnv; now: () => Date; signal?: AbortSignal }, urls: string[], results: RunOutcome[],
  o: { backoffMs?: number } = {},
): Promise<{ sent: number; failed: number }> {
  const file = notifyStatePath(ctx.config.stateDir);
  const state = readState(file);
  const { notices, health } = noticesFor(results, state, hostname(), ctx.now().toISOString());
  const next: NotifiedState = { ...state };
  let sent = 0;
  let failed = 0;
  const pending = new Set(notices.map((n) => n.recipe));
  for (const n of notices) {
    // Deliveries are independent: every URL gets every notice, whatever another URL did.
    const delivered = await Promise.all(urls.map((url) => postJson(url, n, { env: ctx.env, log: ctx.log, backoffMs: o.backoffMs, signal: ctx.signal })));
    if (delivered.some(Boolean)) {
      next[n.recipe] = health[n.recipe]!;
      sent += 1;
      ctx.log.info({ recipe: n.recipe, from: n.from, to: n.to, urls: urls.filter((_, i) => delivered[i]).map(origin) }, 'notified');
    } else failed += 1;
  }
  for (const [recipe, h] of Object.entries(health)) if (!pending.has(recipe)) next[recipe] = h;
  try {
    removeStaleTemps(file);
    writeFileAtomic(file, `${JSON.stringify(next, null, 2)}\n`);
  } catch (err) {
    ctx.log.warn({ err: messageOf(err) }, 'could not record what was notified; the next run may announce it again');
  }
  return { sent, failed };
}
