// `explain <recipe>`: every tag with its parsed parts and rank, why the newest is newest, the canonical, the
// attempts of the newest tag, and the decision with its reason. Reads only.
import { attempts, changedSince, DEFAULT_TEST_TIMEOUT_MS, knownRed, type Attempt } from './attempts.js';
import type { Cadence } from './enrolment.js';
import { table } from './report.js';
import { planOne, sweepConditions, type PlanEntry, type SweepContext } from './sweep.js';
import { classifyTags, whyNewer } from './version.js';

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

export async function explain(
  ctx: SweepContext, recipe: string, cadence: Cadence, opts: { offline?: boolean; retry?: boolean; minReleaseAgeMs?: number } = {},
): Promise<Explanation> {
  // explain has no --test-timeout: it explains what a run with the default would do.
  const conditions = await sweepConditions(ctx, DEFAULT_TEST_TIMEOUT_MS);
  const p = await planOne(ctx, recipe, cadence, { offline: opts.offline, retry: opts.retry, minReleaseAgeMs: opts.minReleaseAgeMs }, conditions);
  const set = classifyTags(p.tags.keys());
  const ranked = [...set.releases].reverse();
  const tags: ExplainedTag[] = [
    ...ranked.map((r, i) => ({
      tag: r.tag, commit: p.tags.get(r.tag) ?? null, release: true, rank: i + 1, recipeVersion: r.recipe.version,
      prerelease: r.recipe.prerelease.length ? r.recipe.prerelease.join('.') : null, app: r.app, appSegments: r.appSegments,
    })),
    ...set.ignored.map((t) => ({
      tag: t, commit: p.tags.get(t) ?? null, release: false, rank: null, recipeVersion: null, prerelease: null, app: null, appSegments: [],
    })),
    ...p.notCommits.map((t) => ({
      tag: t, commit: null, release: false, rank: null, recipeVersion: null, prerelease: null, app: null, appSegments: [],
      note: 'points to a tree or blob, not a commit',
    })),
  ];
  const [first, second] = ranked;
  const newest = first
    ? { tag: first.tag, why: second ? whyNewer(first, second) : 'the only release tag' }
    : null;
  const history = attempts(p.history);
  const attemptsOfNewest = newest ? history.filter((a) => a.tag === newest.tag) : [];
  let red: Explanation['knownRed'] = null;
  const lastOfNewest = attemptsOfNewest.at(-1);
  if (newest && lastOfNewest && (lastOfNewest.outcome === 'red' || lastOfNewest.outcome === 'timeout')) {
    const c = { tag: newest.tag, tagCommit: p.tags.get(newest.tag), ...conditions };
    red = { unchanged: knownRed(p.history, c) !== null, changed: changedSince(lastOfNewest, c) };
  }
  return {
    recipe, cadence, tags, newest,
    canonical: p.record ? { version: p.record.version, commit: p.record.commit, promotedAt: typeof p.record.promotedAt === 'string' ? p.record.promotedAt : null } : null,
    attemptsOfNewest, knownRed: red, decision: p.decision, reason: p.reason, ...(p.error ? { error: p.error } : {}),
    ...(p.warnings?.length ? { warnings: p.warnings } : {}),
    ...(p.hold ? { hold: p.hold } : {}), ...(p.heldTags ? { heldTags: p.heldTags } : {}), ...(p.pending ? { pending: p.pending } : {}),
  };
}

export function renderExplain(e: Explanation): string {
  const out: string[] = [`${e.recipe} (${e.cadence})`, ''];
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
