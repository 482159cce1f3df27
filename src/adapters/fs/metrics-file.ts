// The metrics textfile, written atomically so the collector never reads half a file.
import { removeStaleTemps, writeFileAtomic } from './atomic-file.js';
import { type MetricsInput, renderMetrics } from '../../render/metrics.js';

export function writeMetrics(file: string, m: MetricsInput): void {
  removeStaleTemps(file); // left by a sweep killed mid-write; we hold the host lock
  writeFileAtomic(file, renderMetrics(m));
}
