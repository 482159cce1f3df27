// `status`: each enrolled recipe's canonical and its last attempt, from the state dir alone (no network).
import { readCanonical, readHistory } from './canonical.js';
import type { Cadence, Enrolment } from './enrolment.js';
import { messageOf } from './errors.js';

export interface StatusEntry {
  recipe: string;
  cadence: Cadence;
  canonical: { version: string; commit: string; promotedAt: string | null } | null;
  lastOutcome: string | null;
  lastTag: string | null;
  lastAttemptAt: string | null;
  lastLog: string | null;
  error?: string;
}

export function status(stateDir: string, enrolment: Enrolment): StatusEntry[] {
  const entries = enrolment.recipes.map((r): StatusEntry => {
    const entry: StatusEntry = {
      recipe: r.recipe, cadence: r.cadence, canonical: null, lastOutcome: null, lastTag: null, lastAttemptAt: null, lastLog: null,
    };
    try {
      const rec = readCanonical(stateDir, r.recipe);
      if (rec) {
        const promotedAt = typeof rec.promotedAt === 'string' ? rec.promotedAt : null;
        entry.canonical = { version: rec.version, commit: rec.commit, promotedAt };
      }
    } catch (err) {
      entry.error = messageOf(err);
    }
    const last = readHistory(stateDir, r.recipe).entries.filter((e) => e.type === 'attempt').at(-1);
    if (last) {
      entry.lastOutcome = typeof last.outcome === 'string' ? last.outcome : null;
      entry.lastTag = typeof last.tag === 'string' ? last.tag : null;
      entry.lastAttemptAt = typeof last.endedAt === 'string' ? last.endedAt : null;
      entry.lastLog = typeof last.log === 'string' ? last.log : null;
    }
    return entry;
  });
  for (const p of enrolment.problems) {
    entries.push({
      recipe: p.recipe, cadence: p.cadence, canonical: null, lastOutcome: null, lastTag: null, lastAttemptAt: null,
      lastLog: null, error: p.problem,
    });
  }
  return entries.sort((a, b) => (a.recipe < b.recipe ? -1 : 1));
}
