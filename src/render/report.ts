// Rendering for people: pure functions from results to text. JSON documents are built here too, so the
// shape other tooling reads is defined in one place.
import type { SyncResult } from '../core/sync-result.js';
import type { PlanEntry, RunResult } from '../core/sweep-types.js';
import type { StatusEntry } from '../core/status.js';

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n';
}

const short = (commit: string | undefined | null) => (commit ? commit.slice(0, 10) : '-');

export function planJson(entries: PlanEntry[]): { recipes: PlanEntry[] } {
  return { recipes: entries };
}

export function renderPlan(entries: PlanEntry[]): string {
  const withMirror = entries.some((e) => e.mirror);
  return table(
    ['RECIPE', 'CADENCE', 'CANONICAL', 'NEWEST RELEASE', 'DECISION', 'REASON', ...(withMirror ? ['MIRROR'] : [])],
    entries.map((e) => [
      e.recipe,
      e.cadence,
      e.canonical ? e.canonical.version : '-',
      e.latest ?? '-',
      e.decision,
      (e.error ? `${e.reason}: ${e.error}` : e.reason) + (e.warnings?.length ? `; warning: ${e.warnings.join('; ')}` : '') + controlsNote(e),
      ...(withMirror ? [e.mirror?.state ?? '-'] : []),
    ]),
  );
}

/** Holds and a settling release, for the plan table's reason column. */
function controlsNote(e: PlanEntry): string {
  const parts: string[] = [];
  if (e.hold) parts.push(`held: ${e.hold.reason}`);
  if (e.heldTags?.length) parts.push(`held releases: ${e.heldTags.map((t) => t.tag).join(', ')}`);
  if (e.pending) parts.push(`${e.pending.tag} settling until ${e.pending.eligibleAt}`);
  return parts.length ? `; ${parts.join('; ')}` : '';
}

/** One line on what mirror-sync did or found. */
export function syncDetail(r: SyncResult): string {
  const parts: string[] = [];
  if (r.error) return `${r.error.step}: ${r.error.message}`;
  if (r.outcome === 'diverged') parts.push(`mirror ${r.branch ?? 'branch'} has commits upstream lacks: not pushed`);
  if (r.branchTo && r.branchFrom !== r.branchTo && r.outcome !== 'diverged') {
    parts.push(`${r.branch} ${short(r.branchFrom)}..${short(r.branchTo)}`);
  }
  if (r.tagsAdded.length) parts.push(`${r.tagsAdded.length} tag(s) added`);
  if (r.tagConflicts.length) parts.push(`tag conflict: ${r.tagConflicts.map((c) => c.tag).join(', ')}`);
  if (r.prsClosed.length) parts.push(`closed PR ${r.prsClosed.map((n) => `#${n}`).join(', ')}`);
  if (r.wouldDo.length) parts.push(`dry-run: would ${r.wouldDo.length} write(s)`);
  return parts.join('; ') || '-';
}

export function syncFailed(r: SyncResult | undefined): boolean {
  return r !== undefined && r.outcome !== 'in-sync' && r.outcome !== 'updated';
}

export function renderSync(results: SyncResult[]): string {
  return table(['RECIPE', 'SYNC', 'DETAIL'], results.map((r) => [r.recipe, r.outcome, syncDetail(r)]));
}

export function summaryJson(results: RunResult[]): { recipes: RunResult[]; counts: Record<string, number> } {
  return { recipes: results, counts: countOutcomes(results) };
}

export function countOutcomes(results: readonly { outcome: string }[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of results) counts[r.outcome] = (counts[r.outcome] ?? 0) + 1;
  return counts;
}

function duration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

export function renderSummary(results: RunResult[]): string {
  const counts = Object.entries(countOutcomes(results))
    .map(([k, v]) => `${v} ${k}`)
    .join(', ');
  const withSync = results.some((r) => r.sync);
  const body = table(
    ['RECIPE', 'TAG', ...(withSync ? ['MIRROR'] : []), 'OUTCOME', 'DURATION', 'DETAIL'],
    results.map((r) => [
      r.recipe,
      r.tag ?? '-',
      ...(withSync ? [r.sync?.outcome ?? '-'] : []),
      r.outcome,
      r.outcome === 'skipped' ? '-' : duration(r.durationMs),
      [
        r.outcome === 'skipped' ? r.reason : (r.detail ?? (r.log ? `log: ${r.log}` : '')),
        syncFailed(r.sync) ? `mirror: ${syncDetail(r.sync!)}` : '',
      ].filter(Boolean).join('; '),
    ]),
  );
  // A clone left off its branch is worth its own line: every later run depends on putting it back.
  const restore = results.filter((r) => r.restoreError).map((r) => `${r.recipe}: ${r.restoreError}\n`).join('');
  return `${body}\n${results.length} recipes: ${counts}\n${restore}`;
}

/** `3d4h`, `5h12m`, `7m`: how long ago, at a glance. */
export function age(seconds: number | null): string {
  if (seconds === null) return '-';
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return d ? `${d}d${h}h` : h ? `${h}h${m}m` : `${m}m`;
}

export function renderStatus(entries: StatusEntry[]): string {
  const rows = entries.map((e) => [
    e.recipe,
    e.cadence,
    e.canonical?.version ?? (e.error ? 'error' : '-'),
    short(e.canonical?.commit),
    age(e.canonical?.ageSeconds ?? null),
    e.error ? e.error : e.lastAttempt ? `${e.lastAttempt.outcome} ${e.lastAttempt.tag} (${e.lastAttempt.endedAt.slice(0, 16).replace('T', ' ')})` : '-',
  ]);
  const body = table(['RECIPE', 'CADENCE', 'CANONICAL', 'COMMIT', 'AGE', 'LAST ATTEMPT'], rows);
  const logs = entries.filter((e) => e.lastAttempt && e.lastAttempt.outcome !== 'promoted');
  const until = (u: string | null) => (u ? `until ${u}` : 'until released');
  const holds = entries.flatMap((e) => [
    ...(e.hold ? [`${e.recipe}: held by ${e.hold.by} since ${e.hold.since}, ${until(e.hold.until)}: ${e.hold.reason}`] : []),
    ...(e.heldTags ?? []).map((t) => `${e.recipe}: release ${t.tag} held by ${t.by} since ${t.since}, ${until(t.until)}: ${t.reason}`),
    ...(e.expiredHolds ?? []).map((t) => `${e.recipe}: ${t.tag ? `hold of ${t.tag}` : 'hold'} expired at ${t.until} (${t.reason}); ccci-sweep release clears it`),
  ]);
  const tail = [...logs.map((e) => `${e.recipe}: ${e.lastAttempt!.log}`), ...holds];
  return tail.length === 0 ? body : `${body}\n${tail.join('\n')}\n`;
}

/** Exit status of a run: 0 when every recipe was skipped or promoted and no mirror needs attention. */
export function runSucceeded(results: RunResult[]): boolean {
  return results.every((r) => (r.outcome === 'skipped' || r.outcome === 'promoted') && !syncFailed(r.sync) && !r.restoreError);
}
