// A duration that is not 0 but below 1 ms never rounds to 0 (which means "none" or "at once"): refused with
// exit 2 by every duration option and setting; and a timer never overflows into firing at once.
import { describe, expect, it } from 'vitest';
import { clampTimerMs, MAX_TIMER_MS, readDuration } from '../../src/core/duration.js';
import { readSpan } from '../../src/core/span.js';
import { later } from '../../src/adapters/timers.js';
import { cli, launches, sandbox } from '../support/cli.js';

describe('the one duration parser', () => {
  it('refuses a non-zero value below 1 ms, in every spelling; keeps 0 and 1 ms', () => {
    for (const t of ['0.0004', '0.4ms', '0.0001s', '0.9ms', '0.0000001m', '0.0000000001h']) expect(readDuration(t), t).toBe('below-1ms');
    for (const t of ['0.4ms', '0.00000001d']) expect(readSpan(t), t).toBe('below-1ms');
    expect(readDuration('0')).toBe(0);
    expect(readDuration('0ms')).toBe(0);
    expect(readDuration('1ms')).toBe(1);
    expect(readDuration('0.001')).toBe(1);
    expect(readDuration('1.4ms')).toBe(1);
    expect(readDuration('1h30m')).toBe(5_400_000);
    expect(readSpan('2d')).toBe(172_800_000);
    expect(readDuration('2d')).toBe('malformed');
  });
});

describe('duration options and settings below 1 ms', () => {
  it.each([
    ['run', '--test-timeout', '0.0004'],
    ['run', '--test-timeout', '0.4ms'],
    ['run', '--stop-grace', '0.4ms'],
    ['run', '--wait-lock', '0.0001s'],
    ['run', '--ci-poll-interval', '0.2ms'],
    ['verify', '--test-timeout', '0.4ms'],
    ['rollback', '--stop-grace', '0.4ms'],
    ['sync', '--wait-lock', '0.4ms'],
    ['run', '--min-release-age', '0.4ms'],
  ])('%s %s %s is refused with exit 2, nothing launched', async (cmd, flag, value) => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    const args = cmd === 'rollback' ? [cmd, 'gitea', '--reason', 'x', flag, value] : [cmd, flag, value];
    const r = await cli(sb, args);
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/above 0 but below 1ms/);
    expect(launches(sb)).toHaveLength(0);
  });

  it('hold --until 0.4ms and CCCI_MIN_RELEASE_AGE=0.4ms are refused with exit 2', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    const hold = await cli(sb, ['hold', 'gitea', '--reason', 'x', '--until', '0.4ms']);
    expect(hold.exitCode, hold.stderr).toBe(2);
    expect(hold.stderr).toMatch(/--until "0.4ms" is above 0 but below 1ms/);
    const env = await cli(sb, ['plan'], { CCCI_MIN_RELEASE_AGE: '0.4ms' });
    expect(env.exitCode, env.stderr).toBe(2);
    expect(env.stderr).toMatch(/CCCI_MIN_RELEASE_AGE "0.4ms" is above 0 but below 1ms/);
  });
});

describe('timers', () => {
  it('a delay above 2^31-1 ms is clamped: it does not fire before a 20 ms timer (Node would fire it after 1 ms)', async () => {
    expect(clampTimerMs(2 ** 31 + 5)).toBe(MAX_TIMER_MS);
    expect(clampTimerMs(Number.NaN)).toBe(0);
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    let fired = false;
    // 596h with +20 % jitter, as the CI executor's poll computes it with --test-timeout 0.
    const huge = later(() => { fired = true; }, 596 * 3_600_000 * 1.2);
    await new Promise<void>((resolve) => later(resolve, 20));
    clearTimeout(huge);
    process.off('warning', onWarning);
    expect(fired).toBe(false);
    expect(warnings).not.toContain('TimeoutOverflowWarning');
  });
});
