import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type GateInput, parseRunResults, promoteGate } from '../../src/core/promote-gate.js';

const commit = 'a1b2c3d4e5'.padEnd(40, '0');
const green: GateInput = {
  exitCode: 0,
  tag: '1.1.0+2.0',
  commit,
  releaseTags: new Set(['1.0.0+1.0', '1.1.0+2.0']),
  labelVersion: '1.1.0+2.0',
  results: { kind: 'absent' },
  tree: { head: commit, changes: [] },
};

/** The gate's verdict for a run whose harness wrote `text` as results.json. */
const withResults = (text: string | null) => promoteGate({ ...green, results: parseRunResults(text) });
const reasonOf = (r: ReturnType<typeof promoteGate>) => (r.promote ? null : r.reason);

describe('promoteGate', () => {
  it('promotes a green cold run of a release tag whose label matches, on the untouched tag', () => {
    expect(promoteGate(green)).toEqual({ promote: true });
  });

  it.each([
    [{ exitCode: 1 }, /harness exited 1/],
    [{ exitCode: null }, /by signal/],
    [{ tag: 'latest', labelVersion: 'latest' }, /not a release tag/],
    [{ tag: '1.2.0+2.0', labelVersion: '1.2.0+2.0' }, /not a release tag of the recipe/],
    [{ labelVersion: '1.0.0+1.0' }, /does not match tag/],
    [{ labelVersion: null }, /no version label/],
    [{ labelVersion: null, labelProblem: 'compose.yml does not parse' }, /does not parse/],
    [{ tree: { head: 'f'.repeat(40), changes: [] } }, /no longer 1\.1\.0\+2\.0 .*checked out something else/],
    [{ tree: { head: null, changes: [] } }, /no longer .* but unreadable/],
    [{ tree: { head: commit, changes: ['M compose.yml'] } }, /changed during the test \(M compose\.yml\)/],
    [{ tree: { head: commit, changes: ['?? a', '?? b', '?? c', '?? d', '?? e', '?? f'] } }, /\?\? e and 1 more/],
    [{ tree: { head: null, changes: [], problem: 'cannot read HEAD of /x' } }, /cannot tell what was tested: cannot read HEAD/],
    [{ results: { kind: 'unreadable', why: 'EISDIR' } }, /results\.json unreadable \(EISDIR\)/],
  ] as [Partial<GateInput>, RegExp][])('refuses %j', (change, reason) => {
    expect(reasonOf(promoteGate({ ...green, ...change }))).toMatch(reason);
  });
});

describe('results.json markers fail closed', () => {
  it.each([
    ['', /results\.json unreadable \(not valid JSON\)/],
    ['{"quick": fal', /results\.json unreadable/],
    ['null', /results\.json unreadable \(not a JSON object\)/],
    ['[]', /not a JSON object/],
    ['"cold"', /not a JSON object/],
    ['{"quick": true}', /quick run/],
    ['{"quick": "true"}', /quick run \("quick": "true"\)/],
    ['{"Quick": true}', /quick run \("Quick": true\)/],
    ['{"quick": false, "QUICK": "yes"}', /unreadable \(marker "quick" given more than once\)/],
    ['{"MODE": "quick"}', /run mode \("MODE": "quick"\)/],
    ['{"PR": 3}', /pull request \("PR": 3\)/],
    ['{"ref": "1.1.0+2.0", "Ref": "refs/pull/1/head"}', /unreadable \(marker "ref" given more than once\)/],
    ['{"quick": "yes"}', /quick run/],
    ['{"quick": 1}', /quick run/],
    ['{"quick": {}}', /quick run/],
    ['{"mode": "quick"}', /run mode \("mode": "quick"\)/],
    ['{"mode": "Quick"}', /run mode/],
    ['{"mode": " QUICK "}', /run mode/],
    ['{"mode": "warm"}', /run mode/],
    ['{"mode": 2}', /run mode/],
    ['{"mode": ["cold"]}', /run mode/],
    ['{"pr": 5}', /pull request \("pr": 5\)/],
    ['{"pr": "5"}', /pull request \("pr": "5"\)/],
    ['{"pr": "refs/pull/7/head"}', /pull request/],
    ['{"pr": true}', /pull request/],
    ['{"ref": "refs/merge-requests/5/head"}', /tested ref \("ref": "refs\/merge-requests\/5\/head"\), not tag 1\.1\.0\+2\.0/],
    ['{"ref": "refs/pull/9/head"}', /tested ref/],
    ['{"ref": "main"}', /tested ref \("ref": "main"\)/],
    ['{"ref": "refs/tags/1.0.0+1.0"}', /tested ref/],
    ['{"ref": "1.1.0+2.0-rc1"}', /tested ref/],
    ['{"ref": "ffffffffff"}', /tested ref/],
    ['{"ref": 5}', /tested ref \("ref": 5\)/],
    ['{"ref": {"tag": "1.1.0+2.0"}}', /tested ref/],
  ])('%s does not promote', (text, reason) => {
    expect(reasonOf(withResults(text))).toMatch(reason);
  });

  it.each([
    null,
    '{}',
    '{"level": 3}',
    '{"quick": false, "mode": "cold", "pr": null, "ref": "1.1.0+2.0"}',
    '{"quick": "false", "mode": "Cold", "pr": "", "ref": "refs/tags/1.1.0+2.0"}',
    '{"quick": 0, "mode": "full", "pr": 0, "ref": "tags/1.1.0+2.0"}',
    '{"quick": "no", "ref": "a1b2c3d4e5"}',
    `{"quick": null, "mode": "FULL", "ref": "${commit}"}`,
    '{"Quick": false, "nested": {"quick": true, "quick": true}, "list": [{"mode": "quick"}]}',
  ])('%s promotes', (text) => {
    expect(withResults(text)).toEqual({ promote: true });
  });

  it.each([
    ['{"quick": true, "quick": false}', /unreadable \(marker "quick" given more than once\)/],
    ['{"mode": "quick", "mode": "cold"}', /marker "mode" given more than once/],
    ['{"pr": 5, "PR": null}', /marker "pr" given more than once/],
    ['{"ref": "main", " Ref": "1.1.0+2.0"}', /marker "ref" given more than once/],
    ['{"q\\"uick": 1, "quick": false, "quick": false}', /marker "quick" given more than once/],
    ['{"mode": "COLD "}', /run mode/],
    ['{"mode": " cold"}', /run mode/],
    ['{"mode": null}', /run mode/],
    ['{"mode": ""}', /run mode/],
    ['{"quick": "false "}', /quick run/],
    ['{"pr": " 0"}', /pull request/],
  ])('%s does not promote (duplicates and untrimmed values)', (text, reason) => {
    expect(reasonOf(withResults(text))).toMatch(reason);
  });

  it('never promotes when any marker is set to a value outside the few that mean "not set"', () => {
    const notSet = new Set(['undefined', 'null', 'false', '0', '""', '"false"', '"no"', '"off"', '"0"', '"none"', '"null"']);
    const value = fc.oneof(fc.jsonValue(), fc.constantFrom('true', 'True', 'quick', 'Quick', 'yes', '1', 5, true, [], {}));
    fc.assert(fc.property(fc.constantFrom('quick', 'pr'), value, (key, v) => {
      const shown = JSON.stringify(v);
      fc.pre(!notSet.has(typeof v === 'string' ? JSON.stringify(v.toLowerCase()) : String(shown)));
      expect(withResults(JSON.stringify({ [key]: v })).promote).toBe(false);
    }), { numRuns: 300 });
  });

  it('never promotes a ref or a mode it does not recognise as the tag and a cold run', () => {
    fc.assert(fc.property(fc.jsonValue(), fc.jsonValue(), (ref, mode) => {
      const r = withResults(JSON.stringify({ ref, mode }));
      const refOk = ref === null || ref === '' || ref === green.tag || ref === `refs/tags/${green.tag}` || ref === `tags/${green.tag}`
        || (typeof ref === 'string' && /^[0-9a-f]{7,64}$/.test(ref) && commit.startsWith(ref));
      const modeOk = typeof mode === 'string' && ['cold', 'full'].includes(mode.toLowerCase());
      expect(r.promote).toBe(refOk && modeOk);
    }), { numRuns: 300 });
  });
});
