// A timeout is not a verdict: a release that timed out is known-red only under the same (or a shorter) test
// timeout; raising --test-timeout runs it again.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliJson, control, launches, sandbox } from '../support/cli.js';

describe('--test-timeout and known-red', () => {
  it('records the timeout in the attempt; the same timeout skips, a raised one runs again', async () => {
    const sb = await sandbox([{ name: 'slow', releases: [{ tag: '1.0.0' }] }]);
    control(sb, { slow: { sleepMs: 600_000 } });
    const tests = () => launches(sb).filter((l) => !l.script.includes('seed')).length;

    const first = await cliJson(sb, ['run', '--test-timeout', '1s', '--stop-grace', '5s']);
    expect(first.doc.recipes[0]).toMatchObject({ outcome: 'timeout' });
    const history = readFileSync(path.join(sb.stateDir, 'slow', 'history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(history.at(-1)).toMatchObject({ type: 'attempt', outcome: 'timeout', testTimeoutMs: 1000 });
    expect(tests()).toBe(1);

    const again = await cliJson(sb, ['run', '--test-timeout', '1s']);
    expect(again.doc.recipes[0]).toMatchObject({ outcome: 'skipped', reason: 'known-red-unchanged' });
    expect(tests()).toBe(1);

    // The plan with a raised timeout already says so.
    const planned = await cliJson(sb, ['run', '--dry-run', '--test-timeout', '2s']);
    expect(planned.doc.recipes[0]).toMatchObject({ decision: 'run' });
    expect((await cliJson(sb, ['run', '--dry-run', '--test-timeout', '1s'])).doc.recipes[0]).toMatchObject({ decision: 'skip' });

    const raised = await cliJson(sb, ['run', '--test-timeout', '2s', '--stop-grace', '5s']);
    expect(raised.doc.recipes[0]).toMatchObject({ outcome: 'timeout' });
    expect(tests()).toBe(2);
    const last = readFileSync(path.join(sb.stateDir, 'slow', 'history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).at(-1);
    expect(last).toMatchObject({ outcome: 'timeout', testTimeoutMs: 2000 });
  });
});
