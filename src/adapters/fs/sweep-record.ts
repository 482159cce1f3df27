// The record of one sweep: `<state-dir>/sweeps/<stamp>.json` (the --json summary plus the config and
// timings it ran with) and `last-sweep.json`, both written atomically.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ensureDir, removeStaleTemps, writeFileAtomic } from './atomic-file.js';
import { stamp } from '../../core/canonical-record.js';
import type { Config } from '../../core/config.js';
import { countOutcomes } from '../../render/report.js';
import type { RunResult } from '../../core/sweep-types.js';

export interface SweepReport {
  startedAt: string;
  endedAt: string;
  durationMs: number;
  argv: string[];
  by: string;
  config: Config;
  recipes: RunResult[];
  counts: Record<string, number>;
}

export function sweepReport(r: Omit<SweepReport, 'counts' | 'durationMs'>): SweepReport {
  return { ...r, durationMs: Date.parse(r.endedAt) - Date.parse(r.startedAt), counts: countOutcomes(r.recipes) };
}

/** Writes the report; returns the path of `sweeps/<stamp>.json`. */
export function writeSweepReport(stateDir: string, report: SweepReport): string {
  const dir = path.join(stateDir, 'sweeps');
  ensureDir(dir);
  const base = stamp(new Date(report.startedAt));
  let file = path.join(dir, `${base}.json`);
  for (let n = 2; existsSync(file); n++) file = path.join(dir, `${base}-${n}.json`);
  const text = `${JSON.stringify(report, null, 2)}\n`;
  const last = path.join(stateDir, 'last-sweep.json');
  removeStaleTemps(last); // left by a sweep killed mid-write; we hold the host lock
  writeFileAtomic(file, text);
  writeFileAtomic(last, text);
  return file;
}
