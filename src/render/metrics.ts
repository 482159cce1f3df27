// Prometheus text exposition for node_exporter's textfile collector (pure): what the state dir and the last
// sweep say, as metric lines.
import type { Attempt } from '../core/attempts.js';
import { countOutcomes } from './report.js';

export interface RecipeMetrics {
  recipe: string;
  canonicalVersion: string | null;
  /** When the canonical was promoted (or its `ts`), ms since the epoch; null when unknown. */
  canonicalSince: number | null;
  lastAttempt: Pick<Attempt, 'outcome' | 'durationMs'> | null;
  /** This sweep's outcome for the recipe, when it was in this sweep (wins over the last attempt). */
  sweepOutcome: string | null;
  /** The last `verify` of the canonical: when it ended (ms since the epoch) and whether it passed. */
  lastVerify?: { at: number; ok: boolean } | null;
}

export interface MetricsInput {
  /** When the sweep ended, ms since the epoch. */
  sweepEndedAt: number;
  /** Outcome counts of this sweep. */
  outcomes: Record<string, number>;
  recipes: RecipeMetrics[];
  now: number;
}

const OUTCOMES = ['skipped', 'promoted', 'not-promoted', 'promote-failed', 'red', 'timeout', 'interrupted', 'error'];

function label(value: string): string {
  return value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
}

function labels(l: Record<string, string>): string {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${label(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

export function renderMetrics(m: MetricsInput): string {
  const out: string[] = [];
  const family = (name: string, type: string, help: string, samples: [Record<string, string>, number][]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [l, v] of samples) out.push(`${name}${labels(l)} ${Number.isFinite(v) ? v : 'NaN'}`);
  };
  family('ccci_sweep_last_run_timestamp_seconds', 'gauge', 'When the last sweep ended (unix seconds).', [[{}, m.sweepEndedAt / 1000]]);
  const outcomes = [...new Set([...OUTCOMES, ...Object.keys(m.outcomes)])];
  family('ccci_sweep_recipes', 'gauge', 'Recipes per outcome in the last sweep.', outcomes.map((o) => [{ outcome: o }, m.outcomes[o] ?? 0]));
  family('ccci_recipe_canonical_info', 'gauge', 'The canonical release of each recipe (always 1).',
    m.recipes.filter((r) => r.canonicalVersion).map((r) => [{ recipe: r.recipe, version: r.canonicalVersion! }, 1]));
  family('ccci_recipe_last_outcome', 'gauge', "Each recipe's last outcome (always 1).",
    m.recipes.flatMap((r) => {
      const o = r.sweepOutcome ?? r.lastAttempt?.outcome;
      return o ? [[{ recipe: r.recipe, outcome: o }, 1] as [Record<string, string>, number]] : [];
    }));
  family('ccci_recipe_test_duration_seconds', 'gauge', "Duration of each recipe's last harness run.",
    m.recipes.filter((r) => r.lastAttempt).map((r) => [{ recipe: r.recipe }, r.lastAttempt!.durationMs / 1000]));
  family('ccci_recipe_canonical_age_seconds', 'gauge', "Age of each recipe's canonical.",
    m.recipes.filter((r) => r.canonicalSince !== null).map((r) => [{ recipe: r.recipe }, Math.max(0, (m.now - r.canonicalSince!) / 1000)]));
  const verified = m.recipes.filter((r) => r.lastVerify && Number.isFinite(r.lastVerify.at));
  family('ccci_recipe_last_verify_timestamp_seconds', 'gauge', "When each recipe's canonical was last verified (unix seconds).",
    verified.map((r) => [{ recipe: r.recipe }, r.lastVerify!.at / 1000]));
  family('ccci_recipe_last_verify_ok', 'gauge', "Whether each recipe's last verify passed (1) or failed (0).",
    verified.map((r) => [{ recipe: r.recipe }, r.lastVerify!.ok ? 1 : 0]));
  return `${out.join('\n')}\n`;
}

/** Pure: metrics from `status` of every enrolled recipe and this sweep's results. */
export function metricsInput(
  statuses: {
    recipe: string; canonical: { version: string; ageSeconds: number | null } | null; lastAttempt: { outcome: string; durationMs: number } | null;
    lastVerify?: { outcome: string; endedAt: string };
  }[],
  results: { recipe: string; outcome: string }[],
  endedAt: number,
): MetricsInput {
  const sweep = new Map(results.map((r) => [r.recipe, r.outcome]));
  return {
    sweepEndedAt: endedAt,
    now: endedAt,
    outcomes: countOutcomes(results),
    recipes: statuses.map((s) => ({
      recipe: s.recipe,
      canonicalVersion: s.canonical?.version ?? null,
      canonicalSince: s.canonical?.ageSeconds == null ? null : endedAt - s.canonical.ageSeconds * 1000,
      lastAttempt: s.lastAttempt,
      sweepOutcome: sweep.get(s.recipe) ?? null,
      lastVerify: s.lastVerify ? { at: Date.parse(s.lastVerify.endedAt), ok: s.lastVerify.outcome === 'verified' } : null,
    })),
  };
}
