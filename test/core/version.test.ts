import { describe, expect, it } from 'vitest';
import { classifyTags, compareReleases, newestRelease, parseRelease } from '../../src/core/version.js';

const order = (tags: string[]) => classifyTags(tags).releases.map((r) => r.tag);

describe('parseRelease', () => {
  it.each(['1.13.0+1.31.1', '3.6.0', '1.0.0+v1.6.870-0', '3.5.3+1.24.2-rootless', '0.1.1+v0.4', '2.0.0-rc.1+5'])(
    'accepts release tag %s',
    (tag) => {
      expect(parseRelease(tag)?.tag).toBe(tag);
    },
  );

  it.each(['latest', 'v2.4.8-d7d63b0d', '1.14.1-rootless_1', 'v1.0.0', '=1.0.0', '1.0', '01.0.0', '1.0.0+', '1.0.0+a b', ''])(
    'rejects non-release tag %j',
    (tag) => {
      expect(parseRelease(tag)).toBeNull();
    },
  );

  it('splits the app version into numeric and word segments, dropping a leading v', () => {
    expect(parseRelease('1.0.0+v1.6.870-0')?.appSegments).toEqual([1, 6, 870, 0]);
    expect(parseRelease('3.5.3+1.24.2-rootless')?.appSegments).toEqual([1, 24, 2, 'rootless']);
  });
});

describe('release ordering', () => {
  it('orders by recipe semver first, whatever the app version says', () => {
    expect(order(['1.13.0+9.0.0', '1.14.0+1.0.0', '1.2.0+99'])).toEqual(['1.2.0+99', '1.13.0+9.0.0', '1.14.0+1.0.0']);
  });

  it('breaks recipe ties by app version numerically (+1.31.10 > +1.31.9), which plain semver ignores', () => {
    expect(order(['1.0.0+1.31.10', '1.0.0+1.31.9'])).toEqual(['1.0.0+1.31.9', '1.0.0+1.31.10']);
  });

  it('ignores a leading v in the app version', () => {
    expect(order(['1.0.0+v1.10', '1.0.0+1.9'])).toEqual(['1.0.0+1.9', '1.0.0+v1.10']);
  });

  it('puts prereleases below the release', () => {
    expect(order(['2.0.0+1', '2.0.0-rc.2+1', '2.0.0-rc.10+1', '1.9.9+1'])).toEqual([
      '1.9.9+1', '2.0.0-rc.2+1', '2.0.0-rc.10+1', '2.0.0+1',
    ]);
  });

  it('puts a tag without app version below one with it, and breaks final ties by the tag string', () => {
    expect(order(['1.0.0+v1', '1.0.0+1', '1.0.0'])).toEqual(['1.0.0', '1.0.0+1', '1.0.0+v1']);
  });

  it('is a total order: every permutation gives the same result', () => {
    const tags = ['1.13.0+1.31.1', '3.6.0', '1.0.0+v1.6.870-0', '3.5.3+1.24.2-rootless', '0.1.1+v0.4', '3.5.3+1.24.2', '3.5.3+1.24.10'];
    const expected = ['0.1.1+v0.4', '1.0.0+v1.6.870-0', '1.13.0+1.31.1', '3.5.3+1.24.2', '3.5.3+1.24.2-rootless', '3.5.3+1.24.10', '3.6.0'];
    for (let i = 0; i < 20; i++) {
      const shuffled = [...tags].sort(() => Math.random() - 0.5);
      expect(order(shuffled)).toEqual(expected);
    }
  });

  it('compareReleases is antisymmetric', () => {
    const a = parseRelease('1.0.0+1.31.9')!;
    const b = parseRelease('1.0.0+1.31.10')!;
    expect(compareReleases(a, b)).toBeLessThan(0);
    expect(compareReleases(b, a)).toBeGreaterThan(0);
    expect(compareReleases(a, a)).toBe(0);
  });
});

describe('classifyTags', () => {
  it('lists non-release tags as ignored and picks the newest release', () => {
    const set = classifyTags(['latest', '1.0.0+1.2', 'v2.4.8-d7d63b0d', '1.1.0+1.2', '1.14.1-rootless_1']);
    expect(set.ignored).toEqual(['latest', 'v2.4.8-d7d63b0d', '1.14.1-rootless_1']);
    expect(newestRelease(set)?.tag).toBe('1.1.0+1.2');
  });

  it('has no newest release when no tag is a release', () => {
    expect(newestRelease(classifyTags(['latest']))).toBeNull();
    expect(newestRelease(classifyTags([]))).toBeNull();
  });
});
