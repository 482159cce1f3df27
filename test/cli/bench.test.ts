// The benchmark (`npm run bench`, scripts/bench/) at CI size: it must run end to end and report every figure.
// Timings are never asserted here; only that each figure is a finite number or null with a reason.
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

const REPO = path.resolve(import.meta.dirname, '../..');

interface Row {
  id: string;
  figure: string;
  unit: string;
  ccci: number | null;
  baseline: number | null;
  ratio: number | null;
  target: string | null;
  met: boolean | null;
  why: Record<string, string>;
}

describe('npm run bench (CI size)', () => {
  it('runs end to end and its JSON has every figure', async () => {
    const r = await execa(process.execPath, [
      '--import', 'tsx', 'scripts/bench/bench.ts',
      '--recipes', '5', '--tags', '5', '--runs', '1', '--latency', '5', '--run-recipes', '3',
      '--growth-recipes', '5,10', '--growth-tags', '10,100', '--json',
    ], { cwd: REPO, reject: false, stdin: 'ignore' });
    expect(r.exitCode, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as {
      config: Record<string, unknown>;
      rows: Row[];
      details: Record<string, any>;
      warnings: string[];
    };
    // The table goes to stderr when --json prints the document.
    expect(r.stderr).toMatch(/figure\s+ccci-sweep/);

    expect(doc.config).toMatchObject({ recipes: 5, tags: 5, runs: 1, latencyMs: 5, runRecipes: 3, growthRecipes: [5, 10], growthTags: [10, 100] });
    for (const k of ['remoteJobs', 'runJobs', 'cpus', 'node', 'git', 'rss']) expect(doc.config, k).toHaveProperty(k);

    const ids = doc.rows.map((row) => row.id);
    expect(ids).toEqual(expect.arrayContaining([
      'plan.wall', 'plan.floor', 'plan.parallel', 'plan.mirror',
      'sync.wall', 'sync.connections', 'sync.requests', 'sync.pushes',
      'startup', 'rss.plan', 'rss.run',
      'overhead.launch', 'overhead.gap', 'overhead.requests',
      'growth.recipes.5', 'growth.recipes.10', 'growth.recipes.fit',
      'growth.tags.cli.10', 'growth.tags.cli.100', 'growth.tags.order.10', 'growth.tags.order.100',
      'growth.tags.exponent', 'order.10000',
    ]));
    expect(new Set(ids).size).toBe(ids.length);

    for (const row of doc.rows) {
      expect(typeof row.figure, row.id).toBe('string');
      for (const k of ['ccci', 'baseline', 'ratio'] as const) {
        const v = row[k];
        if (v === null) expect(row.why[k], `${row.id}.${k} is null without a reason`).toMatch(/\S/);
        else expect(Number.isFinite(v), `${row.id}.${k} = ${v}`).toBe(true);
      }
      if (row.met === null) expect(row.why.met, `${row.id}.met is null without a reason`).toMatch(/\S/);
      else expect(typeof row.met).toBe('boolean');
      if (row.target !== null) expect(row.met === null ? row.why.met : row.met, row.id).not.toBeUndefined();
    }

    // The contenders measured what they should have: same decisions, a launch per recipe, nothing odd.
    const byId = new Map(doc.rows.map((row) => [row.id, row]));
    for (const id of ['plan.wall', 'startup', 'order.10000', 'overhead.launch']) expect(byId.get(id)!.ccci, id).not.toBeNull();
    expect(byId.get('plan.wall')!.baseline).not.toBeNull();
    expect(doc.details.plan.baselineAgrees).toBe('5/5');
    expect(doc.details.run.outcomes).toEqual({ promoted: 3 });
    expect(doc.warnings).toEqual([]);
  }, 120_000);
});
