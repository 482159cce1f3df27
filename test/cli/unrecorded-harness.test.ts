// Fail-safe: a harness the sweep cannot record in its recipe lock (a full disk) is not launched, so a sweep
// that died could never leave an unprotected test behind. Real tmpfs (root only), built CLI, stand-in harness.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cliJson, control, launches, sandbox } from '../support/cli.js';

const isRoot = process.getuid?.() === 0;
const mounted: string[] = [];
afterEach(() => {
  while (mounted.length > 0) execFileSync('umount', ['-l', mounted.pop()!]);
});

describe.skipIf(!isRoot)('a harness that cannot be recorded in the recipe lock (tmpfs; needs root to mount)', () => {
  it('is not launched: the recipe is error (not a verdict), no warning-and-test-anyway; with room again it is tested', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0755', 'tmpfs', sb.stateDir]);
    mounted.push(sb.stateDir);
    // The test fills the disk and passes; the seed script, launched next, cannot be recorded in the lock.
    const filler = path.join(sb.stateDir, 'filler');
    control(sb, { gitea: { fill: { file: filler, leaveBytes: 0 } } });
    const { r, doc } = await cliJson(sb, ['run']);
    expect(r.exitCode, r.stderr).toBe(1);
    expect(doc.recipes[0]).toMatchObject({ recipe: 'gitea', outcome: 'error' });
    expect(doc.recipes[0].detail).toMatch(/^cannot record the harness in the recipe lock \(.*ENOSPC.*\); not launched/);
    expect(r.stderr).not.toMatch(/could not record the harness in the recipe lock/);
    expect(launches(sb).map((l) => l.script)).toEqual([expect.not.stringContaining('seed')]);
    expect(r.stderr).not.toMatch(/\n\s+at /);

    // Not known-red: with room again the release is tested and promoted.
    rmSync(filler);
    control(sb, {});
    const again = await cliJson(sb, ['run']);
    expect(again.r.exitCode, again.r.stderr).toBe(0);
    expect(again.doc.recipes[0]).toMatchObject({ outcome: 'promoted', tag: '1.0.0' });
  });
});
