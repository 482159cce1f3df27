// Metrics rendered for node_exporter's textfile collector, checked with a real Prometheus text parser.
import { readFileSync } from 'node:fs';
import path from 'node:path';
// @ts-expect-error: the parser ships no type declarations
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { describe, expect, it } from 'vitest';
import { renderMetrics } from '../../src/render/metrics.js';
import { cli, control, sandbox } from '../support/cli.js';
import { addRelease } from '../support/sandbox.js';

interface Family { name: string; type: string; metrics: { value: string; labels?: Record<string, string> }[] }
const parse = (text: string): Map<string, Family> =>
  new Map((parsePrometheusTextFormat(text) as Family[]).map((f) => [f.name, f]));
const value = (f: Family | undefined, labels: Record<string, string> = {}) =>
  f?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))?.value;

describe('renderMetrics', () => {
  it('renders every family with escaped labels', () => {
    const text = renderMetrics({
      sweepEndedAt: 1_700_000_000_000, now: 1_700_000_000_000, outcomes: { promoted: 1, red: 1 },
      recipes: [
        { recipe: 'gitea', canonicalVersion: '1.0.0+1.2', canonicalSince: 1_700_000_000_000 - 90_000, lastAttempt: { outcome: 'red', durationMs: 1500 }, sweepOutcome: 'promoted' },
        { recipe: 'odd', canonicalVersion: 'v"1\\x', canonicalSince: null, lastAttempt: null, sweepOutcome: null },
      ],
    });
    const m = parse(text);
    expect(value(m.get('ccci_sweep_last_run_timestamp_seconds'))).toBe('1700000000');
    expect(value(m.get('ccci_sweep_recipes'), { outcome: 'promoted' })).toBe('1');
    expect(value(m.get('ccci_sweep_recipes'), { outcome: 'timeout' })).toBe('0');
    expect(value(m.get('ccci_recipe_canonical_info'), { recipe: 'odd', version: 'v"1\\x' })).toBe('1');
    expect(value(m.get('ccci_recipe_last_outcome'), { recipe: 'gitea', outcome: 'promoted' })).toBe('1');
    expect(value(m.get('ccci_recipe_test_duration_seconds'), { recipe: 'gitea' })).toBe('1.5');
    expect(value(m.get('ccci_recipe_canonical_age_seconds'), { recipe: 'gitea' })).toBe('90');
    expect(m.get('ccci_recipe_canonical_age_seconds')!.metrics).toHaveLength(1);
  });
});

describe('run --metrics-file and the sweep reports', () => {
  it('writes metrics for every enrolled recipe, sweeps/<stamp>.json and last-sweep.json', async () => {
    const sb = await sandbox([
      { name: 'gitea', releases: [{ tag: '1.0.0' }] },
      { name: 'broken', releases: [{ tag: '2.0.0' }] },
      { name: 'never', releases: [] },
    ]);
    control(sb, { broken: { exit: 1, sleepMs: 300 } });
    const metricsFile = path.join(sb.root, 'textfile', 'ccci.prom');
    const { mkdirSync, readdirSync } = await import('node:fs');
    mkdirSync(path.dirname(metricsFile));
    const before = Math.floor(Date.now() / 1000);
    const r = await cli(sb, ['run', '--metrics-file', metricsFile]);
    const after = Math.ceil(Date.now() / 1000);
    expect(r.exitCode).toBe(1);
    const m = parse(readFileSync(metricsFile, 'utf8'));
    expect(value(m.get('ccci_sweep_recipes'), { outcome: 'promoted' })).toBe('1');
    expect(value(m.get('ccci_sweep_recipes'), { outcome: 'red' })).toBe('1');
    expect(value(m.get('ccci_sweep_recipes'), { outcome: 'skipped' })).toBe('1');
    expect(value(m.get('ccci_recipe_canonical_info'), { recipe: 'gitea', version: '1.0.0' })).toBe('1');
    expect(value(m.get('ccci_recipe_last_outcome'), { recipe: 'broken', outcome: 'red' })).toBe('1');
    expect(Number(value(m.get('ccci_recipe_test_duration_seconds'), { recipe: 'broken' }))).toBeGreaterThanOrEqual(0.3);
    const ts = Number(value(m.get('ccci_sweep_last_run_timestamp_seconds')));
    expect(ts).toBeGreaterThanOrEqual(before);
    expect(ts).toBeLessThanOrEqual(after);
    expect(readdirSync(path.dirname(metricsFile))).toEqual(['ccci.prom']);

    // A by-hand run of one recipe still exports every enrolled recipe.
    await addRelease(sb, 'gitea', { tag: '1.1.0' });
    expect((await cli(sb, ['run', '--recipe', 'gitea', '--metrics-file', metricsFile])).exitCode).toBe(0);
    const again = parse(readFileSync(metricsFile, 'utf8'));
    expect(value(again.get('ccci_recipe_canonical_info'), { recipe: 'gitea', version: '1.1.0' })).toBe('1');
    expect(value(again.get('ccci_recipe_last_outcome'), { recipe: 'broken', outcome: 'red' })).toBe('1');

    const sweeps = readdirSync(path.join(sb.stateDir, 'sweeps'));
    expect(sweeps).toHaveLength(2);
    const last = JSON.parse(readFileSync(path.join(sb.stateDir, 'last-sweep.json'), 'utf8'));
    expect(last).toMatchObject({ counts: { promoted: 1 }, config: { stateDir: sb.stateDir }, argv: expect.arrayContaining(['--recipe', 'gitea']) });
    expect(last.recipes.map((x: any) => x.recipe)).toEqual(['gitea']);
    expect(last.durationMs).toBeGreaterThanOrEqual(0);
    const reports = sweeps.map((f) => JSON.parse(readFileSync(path.join(sb.stateDir, 'sweeps', f), 'utf8')));
    expect(reports).toContainEqual(last);
    expect(reports.map((x) => x.recipes.length).sort()).toEqual([1, 3]);
  });
});
