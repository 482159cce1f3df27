import { describe, expect, it } from 'vitest';
import { promoteGate, type GateInput } from '../src/promote-gate.js';

const green: GateInput = {
  exitCode: 0,
  tag: '1.1.0+2.0',
  releaseTags: new Set(['1.0.0+1.0', '1.1.0+2.0']),
  labelVersion: '1.1.0+2.0',
  quick: false,
  prRef: null,
};

describe('promoteGate', () => {
  it('promotes a green cold run of a release tag whose label matches', () => {
    expect(promoteGate(green)).toEqual({ promote: true });
  });

  it.each([
    [{ exitCode: 1 }, /harness exited 1/],
    [{ exitCode: null }, /by signal/],
    [{ quick: true }, /quick run/],
    [{ prRef: 'refs/pull/7/head' }, /pull request/],
    [{ tag: 'latest', labelVersion: 'latest' }, /not a release tag/],
    [{ tag: '1.2.0+2.0', labelVersion: '1.2.0+2.0' }, /not a release tag of the recipe/],
    [{ labelVersion: '1.0.0+1.0' }, /does not match tag/],
    [{ labelVersion: null }, /no version label/],
    [{ labelVersion: null, labelProblem: 'compose.yml does not parse' }, /does not parse/],
  ] as [Partial<GateInput>, RegExp][])('refuses %j', (change, reason) => {
    const result = promoteGate({ ...green, ...change });
    expect(result.promote).toBe(false);
    if (!result.promote) expect(result.reason).toMatch(reason);
  });
});
