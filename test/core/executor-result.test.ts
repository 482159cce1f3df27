import { describe, expect, it } from 'vitest';
import { buildPhase, droneLogLines, findResult, jittered, noResultDetail, resultLine, sweepVarsOf, woodpeckerLogLines, type WorkerResult } from '../../src/core/executor-result.js';

const ok: WorkerResult = { recipe: 'app', sweepId: 's1', tag: '1.0.0+1', outcome: 'promoted', exitCode: 0, durationMs: 5, log: '/x/harness.log' };
const expectFor = { recipe: 'app', sweepId: 's1' };

describe('findResult', () => {
  it('finds the worker line among the build output', () => {
    const lines = ['+ ccci-sweep worker', 'some harness noise', resultLine(ok), ''];
    expect(findResult(lines, expectFor)).toEqual({ kind: 'found', result: ok });
  });

  it('takes the last marked line: an earlier look-alike printed by the harness does not decide', () => {
    const fake = resultLine({ ...ok, outcome: 'red' });
    const found = findResult([fake, 'x', `${resultLine(ok)}\r`], expectFor);
    expect(found.kind === 'found' && found.result.outcome).toBe('promoted');
  });

  it('no line: none; a line that is not at the start of a line does not count', () => {
    expect(findResult(['a', `noise ${resultLine(ok)}`], expectFor)).toEqual({ kind: 'none' });
  });

  it.each([
    ['not JSON', 'CCCI-SWEEP-RESULT {nope', /not JSON/],
    ['another recipe', resultLine({ ...ok, recipe: 'other' }), /names recipe "other"/],
    ['another sweep', resultLine({ ...ok, sweepId: 's0' }), /belongs to sweep "s0"/],
    ['unknown outcome', resultLine({ ...ok, outcome: 'great' }), /unknown outcome/],
    ['no duration', resultLine({ ...ok, durationMs: -1 }), /durationMs/],
    ['array', 'CCCI-SWEEP-RESULT []', /not a JSON object/],
    ['a key given twice', resultLine({ ...ok, outcome: 'red' }).replace('{', '{"outcome":"promoted",'), /gives a key more than once/],
  ])('a malformed result (%s) is reported, not trusted', (_what, line, why) => {
    const found = findResult([line], expectFor);
    expect(found.kind).toBe('invalid');
    expect(found.kind === 'invalid' && found.why).toMatch(why);
  });
});

describe('build status', () => {
  it('maps each engine\'s statuses', () => {
    expect(['pending', 'blocked', 'waiting_on_dependencies'].map((s) => buildPhase('drone', s))).toEqual(['waiting', 'waiting', 'waiting']);
    expect(buildPhase('drone', 'running')).toBe('running');
    expect(['success', 'failure', 'killed', 'error', 'skipped', 'declined'].every((s) => buildPhase('drone', s) === 'ended')).toBe(true);
    expect(['created', 'pending', 'blocked'].map((s) => buildPhase('woodpecker', s))).toEqual(['waiting', 'waiting', 'waiting']);
    expect(['success', 'failure', 'killed', 'canceled', 'error', 'declined', 'skipped'].every((s) => buildPhase('woodpecker', s) === 'ended')).toBe(true);
    // Unknown: followed as running until it ends or the timeout cancels it.
    expect(buildPhase('woodpecker', 'something-new')).toBe('running');
  });
});

describe('logs', () => {
  it('Drone: JSON lines of {pos,out,time}, an out may hold several lines', () => {
    expect(droneLogLines([{ pos: 0, out: 'a\n', time: 1 }, { pos: 1, out: 'b\nc\n', time: 1 }])).toEqual(['a', 'b', 'c', '']);
    expect(droneLogLines({})).toEqual([]);
  });

  it('Woodpecker: base64 data per entry, UTF-8', () => {
    const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
    expect(woodpeckerLogLines([{ id: 1, step_id: 2, line: 0, data: b64('héllo\n'), type: 0 }, { data: b64('x') }, { data: 5 }])).toEqual(['héllo', 'x']);
  });
});

describe('sweepVarsOf, jittered, noResultDetail', () => {
  it('reads a sweep build\'s variables, or null for any other build', () => {
    const vars = { CCCI_SWEEP: '1', RECIPE: 'app', CCCI_SWEEP_TAG: '1.0.0', CCCI_SWEEP_COMMIT: 'a'.repeat(40), CCCI_SWEEP_ID: 's1' };
    expect(sweepVarsOf(vars)).toEqual({ recipe: 'app', tag: '1.0.0', commit: 'a'.repeat(40), sweepId: 's1' });
    expect(sweepVarsOf({ ...vars, CCCI_SWEEP: undefined })).toBeNull();
    expect(sweepVarsOf(null)).toBeNull();
  });

  it('jitter stays within ±20 % and never 0', () => {
    expect(jittered(1000, 0)).toBe(800);
    expect(jittered(1000, 0.999999)).toBe(1200);
    expect(jittered(0, 0.5)).toBe(1);
  });

  it('says build, status and URL', () => {
    expect(noResultDetail({ number: 7, status: 'failure', url: 'http://ci/x/7' })).toBe('build 7 ended failure without a result: http://ci/x/7');
  });
});
