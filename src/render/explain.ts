// `explain <recipe>` as text (pure).
import type { Attempt } from '../core/attempts.js';
import type { Cadence } from '../core/enrolment.js';
import { table } from './report.js';
import type { PlanEntry } from '../core/sweep-types.js';

export interface ExplainedTag {
  tag: string;
  commit: string | null;
  release: boolean;
  /** 1 = newest; null for tags that are not releases. */
  rank: number | null;
  recipeVersion: string | null;
  prerelease: string | null;
  app: string | null;
  appSegments: (number | string)[];
  /** Why a tag that looks like a release is not one (it points to a tree or blob). */
  note?: string;
}

export interface Explanation {
  recipe: string;
  cadence: Cadence;
  tags: ExplainedTag[];
  newest: { tag: string; why: string } | null;
  canonical: { version: string; commit: string; promotedAt: string | null } | null;
  attemptsOfNewest: Attempt[];
  /** Set when the newest release went red before: whether anything changed since. */
  knownRed: { unchanged: boolean; changed: string[] } | null;
  decision: string;
  reason: string;
  error?: string;
  /** Worth a look, not an error: e.g. the canonical version is no longer a tag upstream. */
  warnings?: string[];
  /** Operator controls in force, as in plan: the recipe's hold, held releases, a release still settling. */
  hold?: PlanEntry['hold'];
  heldTags?: PlanEntry['heldTags'];
  pending?: PlanEntry['pending'];
}

export function renderExplain(e: Explanation): string {
  const out: string[] = [`${e.recipe} (${e.cadence})`, ''];
  // Nothing could be read (tags or enrolment): an empty table and "never released" would be false.
  if (e.decision === 'error' && e.tags.length === 0 && (e.reason === 'tags-unavailable' || e.reason === 'enrolment-invalid')) {
    out.push(`decision: ${e.decision} (${e.reason})${e.error ? `: ${e.error}` : ''}`);
    return `${out.join('\n')}\n`;
  }
  out.push(table(
    ['RANK', 'TAG', 'RECIPE VERSION', 'PRERELEASE', 'APP', 'APP SEGMENTS', 'COMMIT'],
    e.tags.map((t) => [
      t.rank === null ? 'ignored' : String(t.rank), t.tag, t.recipeVersion ?? '-', t.prerelease ?? '-', t.app ?? '-',
      t.release ? JSON.stringify(t.appSegments) : (t.note ?? 'not <semver>[+<app>]'), t.commit?.slice(0, 10) ?? '-',
    ]),
  ).trimEnd());
  out.push('');
  out.push(e.newest ? `newest release: ${e.newest.tag}: ${e.newest.why}` : 'newest release: none (never released)');
  out.push(e.canonical ? `canonical: ${e.canonical.version} at ${e.canonical.commit.slice(0, 10)}${e.canonical.promotedAt ? `, promoted ${e.canonical.promotedAt}` : ''}` : 'canonical: none');
  if (e.newest) {
    out.push(e.attemptsOfNewest.length ? `attempts of ${e.newest.tag}:` : `attempts of ${e.newest.tag}: none`);
    for (const a of e.attemptsOfNewest) {
      out.push(`  ${a.endedAt}  ${a.outcome.padEnd(14)} exit ${a.exitCode ?? '-'}  ${Math.round(a.durationMs / 1000)}s  cc-ci ${a.ccciCommit?.slice(0, 10) ?? '-'}  by ${a.by}  ${a.log}`);
    }
  }
  if (e.knownRed) {
    out.push(e.knownRed.unchanged
      ? 'known red: nothing changed since the last red attempt (tag commit, cc-ci commit, cc-ci-run); --retry runs it anyway'
      : `went red before, but since then: ${e.knownRed.changed.join('; ')}`);
  }
  if (e.hold) out.push(`held: ${e.hold.reason} (by ${e.hold.by} since ${e.hold.since}, ${e.hold.until ? `until ${e.hold.until}` : 'until released'})`);
  for (const t of e.heldTags ?? []) out.push(`held release ${t.tag}: ${t.reason} (by ${t.by} since ${t.since}, ${t.until ? `until ${t.until}` : 'until released'})`);
  if (e.pending) out.push(`settling: ${e.pending.tag} becomes a candidate at ${e.pending.eligibleAt} (--min-release-age)`);
  for (const w of e.warnings ?? []) out.push(`warning: ${w}`);
  out.push(`decision: ${e.decision} (${e.reason})${e.error ? `: ${e.error}` : ''}`);
  return `${out.join('\n')}\n`;
}
