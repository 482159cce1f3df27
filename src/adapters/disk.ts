// Free space of the file systems a test writes to (statfs), for the disk guard and doctor.
import { existsSync, statfsSync } from 'node:fs';
import { bytesWords, checkDisk, type DiskCheck, diskProblem, limitWords } from '../core/disk.js';
import type { OperatorSettings } from '../core/operator-settings.js';

/** Where docker keeps images and volumes unless configured elsewhere: checked by default when it exists. */
export const DOCKER_DATA_ROOT = '/var/lib/docker';

/** The state dir's file system and each disk path (default: the docker data root when it exists). */
export function guardedPaths(stateDir: string, s: Pick<OperatorSettings, 'diskPaths'>): string[] {
  const extra = s.diskPaths ?? (existsSync(DOCKER_DATA_ROOT) ? [DOCKER_DATA_ROOT] : []);
  return [...new Set([stateDir, ...extra])];
}

/** Each path's figures against the limit. A path that cannot be measured is reported as having nothing free. */
export function diskChecks(stateDir: string, s: Pick<OperatorSettings, 'diskPaths' | 'minFree'>): (DiskCheck & { error?: string })[] {
  return guardedPaths(stateDir, s).map((p) => {
    try {
      const st = statfsSync(p, { bigint: false });
      // bavail: what a non-root writer (the harness's containers, the sweep) can still use.
      return checkDisk({ path: p, freeBytes: st.bavail * st.bsize, totalBytes: st.blocks * st.bsize }, s.minFree);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      return { ...checkDisk({ path: p, freeBytes: 0, totalBytes: 0 }, s.minFree), ok: false, error: `cannot measure free space (${e.code ?? e.message})` };
    }
  });
}

/** The guard run calls before each launch: why none may start, or null. */
export function diskGuard(stateDir: string, s: Pick<OperatorSettings, 'diskPaths' | 'minFree'>, _env?: NodeJS.ProcessEnv): () => string | null {
  return () => {
    const checks = diskChecks(stateDir, s);
    const broken = checks.find((c) => c.error);
    if (broken) return `${broken.path}: ${broken.error}: not tested; fix --disk-path`;
    return diskProblem(checks);
  };
}

/**
 * doctor: the same figures the guard checks before each launch, as `disk` in the report and one check per
 * file system (a file system below the limit fails doctor, as it would stop every test).
 */
export function withDiskFigures<R extends { ok: boolean; checks: { name: string; ok: boolean; detail: string }[] }>(
  report: R, stateDir: string, s: Pick<OperatorSettings, 'diskPaths' | 'minFree'>,
): R & { disk: (DiskCheck & { error?: string })[] } {
  const disk = diskChecks(stateDir, s);
  const checks = disk.map((c) => ({
    name: `free space ${c.path}`,
    ok: c.ok,
    detail: c.error ?? `${bytesWords(c.freeBytes)} free of ${bytesWords(c.totalBytes)}, ${bytesWords(c.requiredBytes)} required (--min-free ${limitWords(s.minFree)})`,
  }));
  return { ...report, ok: report.ok && disk.every((c) => c.ok), checks: [...report.checks, ...checks], disk };
}
