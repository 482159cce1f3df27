// `status`: each enrolled recipe's canonical, last attempt and last promotion, from the state dir alone
// (no network, no lock).

import { attempts, lastPromotion } from '../core/attempts.js';
import { canonicalSince } from '../core/canonical-record.js';
import { readCanonical, readHistory } from '../adapters/fs/state-store.js';
import type { Enrolment } from '../core/enrolment.js';
import { messageOf } from '../core/errors.js';
import { activeHolds } from '../core/holds.js';
import { readHolds } from '../adapters/fs/holds-store.js';
import type { StatusEntry } from '../core/status.js';

export function status(
  stateDir: string, enrolment: Enrolment, now: number, warn?: (recipe: string, message: string) => void,
): StatusEntry[] {
  const entries = enrolment.recipes.map((r): StatusEntry => {
    const entry: StatusEntry = {
      recipe: r.recipe, cadence: r.cadence, canonical: null, lastAttempt: null, lastPromotion: null,
      lastOutcome: null, lastTag: null, lastAttemptAt: null, lastLog: null,
    };
    try {
      const rec = readCanonical(stateDir, r.recipe);
      if (rec) {
        const since = canonicalSince(rec);
        entry.canonical = {
          version: rec.version, commit: rec.commit,
          promotedAt: typeof rec.promotedAt === 'string' ? rec.promotedAt : null,
          ageSeconds: since === null ? null : Math.max(0, Math.round((now - since) / 1000)),
        };
      }
    } catch (err) {
      entry.error = messageOf(err);
    }
    const { entries: history, warning } = readHistory(stateDir, r.recipe);
    if (warning) warn?.(r.recipe, warning);
    const last = attempts(history).at(-1);
    if (last) {
      entry.lastAttempt = {
        tag: last.tag, outcome: last.outcome, exitCode: last.exitCode, durationMs: last.durationMs,
        endedAt: last.endedAt, by: last.by, log: last.log,
      };
      Object.assign(entry, { lastOutcome: last.outcome, lastTag: last.tag, lastAttemptAt: last.endedAt, lastLog: last.log });
    }
    try {
      const holds = activeHolds(readHolds(stateDir, r.recipe), now);
      if (holds.hold) entry.hold = holds.hold;
      if (holds.heldTags.length) entry.heldTags = holds.heldTags;
      if (holds.expired.length) entry.expiredHolds = holds.expired;
    } catch (err) {
      entry.error ??= messageOf(err);
    }
    const verify = history.filter((e) => e.type === 'verify').at(-1);
    if (verify && verify.type === 'verify') entry.lastVerify = { tag: verify.tag, outcome: verify.outcome, endedAt: verify.endedAt, log: verify.log };
    const promo = lastPromotion(history);
    if (promo) {
      entry.lastPromotion = { version: promo.version, commit: promo.commit, promotedAt: promo.promotedAt };
    }
    return entry;
  });
  for (const p of enrolment.problems) {
    entries.push({
      recipe: p.recipe, cadence: p.cadence, canonical: null, lastAttempt: null, lastPromotion: null,
      lastOutcome: null, lastTag: null, lastAttemptAt: null, lastLog: null, error: p.problem,
    });
  }
  return entries.sort((a, b) => (a.recipe < b.recipe ? -1 : 1));
}
