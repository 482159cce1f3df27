// The disk guard on a real small tmpfs (root only): below --min-free no harness starts, the recipe is an
// error naming the path, free and required, it never counts as known red, and doctor shows the same figures.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, cliJson, launches, sandbox } from '../support/cli.js';
import { git } from '../support/git.js';

const isRoot = process.getuid?.() === 0;
const mounted: string[] = [];
afterEach(() => {
  while (mounted.length > 0) execFileSync('umount', ['-l', mounted.pop()!]);
});

function tmpfs(dir: string, size: string): void {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir]);
  mounted.push(dir);
}

describe('--min-free on a CI runner', () => {
  it("the worker checks its own host's disks before the harness starts; below the limit its result is error naming them", async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    const commit = git(path.join(sb.upstreamDir, 'gitea.git'), 'rev-parse', '1.0.0^{commit}');
    const build = { RECIPE: 'gitea', CCCI_SWEEP_TAG: '1.0.0', CCCI_SWEEP_COMMIT: commit, CCCI_UPGRADE_BASE: '', CCCI_SWEEP_ID: 'sweep-1' };
    // 100% free is more than any file system in use has.
    const r = await cli(sb, ['worker'], { ...build, CCCI_MIN_FREE: '100%' });
    expect(r.exitCode).toBe(1);
    const line = r.stdout.split('\n').find((l) => l.includes('"sweepId":"sweep-1"'))!;
    const result = JSON.parse(line.slice(line.indexOf('{')));
    expect(result).toMatchObject({ recipe: 'gitea', outcome: 'error', detail: expect.stringMatching(new RegExp(`^${sb.stateDir} has .* free, .* required \\(--min-free\\): not tested`)) });
    expect(launches(sb)).toEqual([]);
  });
});

describe.skipIf(!isRoot)('--min-free (tmpfs; needs root to mount)', () => {
  it('below the limit on a --disk-path: error naming path, free and required, exit 1, no launch, not known red; with room the next run tests', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    const docker = path.join(sb.root, 'docker');
    tmpfs(docker, '1m');
    writeFileSync(path.join(docker, 'filler'), Buffer.alloc(900 * 1024));

    const { r, doc } = await cliJson(sb, ['run', '--disk-path', docker, '--min-free', '512K']);
    expect(r.exitCode, r.stderr).toBe(1);
    expect(doc.recipes[0]).toMatchObject({ recipe: 'gitea', tag: '1.0.0', outcome: 'error' });
    expect(doc.recipes[0].detail).toMatch(new RegExp(`^${docker} has \\d+(\\.\\d)?K free, 512K required \\(--min-free\\): not tested; free some space$`));
    expect(launches(sb)).toEqual([]);
    expect(git(path.join(sb.recipesDir, 'gitea'), 'symbolic-ref', '--short', 'HEAD')).toBe('main');
    const history = path.join(sb.stateDir, 'gitea', 'history.jsonl');
    expect(existsSync(history) ? readFileSync(history, 'utf8') : '').not.toMatch(/"type":"attempt"/);

    // The same limit from the environment and the settings file; doctor shows the figures and fails.
    const dr = await cliJson(sb, ['doctor'], { CCCI_DISK_PATH: docker, CCCI_MIN_FREE: '512K' });
    expect(dr.r.exitCode).toBe(1);
    expect(dr.doc.disk).toEqual([
      expect.objectContaining({ path: sb.stateDir, ok: true }),
      expect.objectContaining({ path: docker, ok: false, totalBytes: 1024 * 1024, requiredBytes: 512 * 1024 }),
    ]);
    expect(dr.doc.checks.find((c: any) => c.name === `free space ${docker}`)).toMatchObject({ ok: false, detail: expect.stringMatching(/free of 1M, 512K required \(--min-free 512K\)/) });

    rmSync(path.join(docker, 'filler'));
    const again = await cliJson(sb, ['run', '--disk-path', docker, '--min-free', '512K']);
    expect(again.r.exitCode, again.r.stderr).toBe(0);
    expect(again.doc.recipes[0]).toMatchObject({ outcome: 'promoted', reason: 'first-canonical' });
  });

  it("the state dir's own file system is always checked, in bytes too; a bad limit is exit 2", async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    tmpfs(sb.stateDir, '2m');
    const { r, doc } = await cliJson(sb, ['run', '--min-free', '3M']);
    expect(r.exitCode, r.stderr).toBe(1);
    expect(doc.recipes[0].detail).toMatch(new RegExp(`^${sb.stateDir} has 2M free, 3M required`));
    expect(launches(sb)).toEqual([]);
    const bad = await cli(sb, ['run', '--min-free', 'plenty']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/--min-free "plenty" is not a size/);
  });
});
