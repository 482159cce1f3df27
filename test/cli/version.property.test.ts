// Property and fuzz tests: release ordering over random and hostile tag names, and the end-to-end plan over
// hostile tags in a real repo (names that look like options, shell, paths, unicode, 300 characters).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyTags, compareReleases, parseRelease } from '../../src/core/version.js';
import { cliJson, sandbox } from '../support/cli.js';

const num = fc.nat({ max: 30 }).map(String);
const word = fc.constantFrom('rc', 'beta', 'rootless', 'alpine', 'v', 'x');
const semverish = fc.tuple(num, num, num, fc.option(fc.tuple(word, num), { nil: undefined }))
  .map(([a, b, c, pre]) => `${a}.${b}.${c}${pre ? `-${pre[0]}.${pre[1]}` : ''}`);
const app = fc.tuple(fc.array(fc.oneof(num, word), { minLength: 1, maxLength: 4 }), fc.constantFrom('.', '-'))
  .map(([parts, sep]) => parts.join(sep));
const releaseTag = fc.tuple(semverish, fc.option(fc.tuple(fc.boolean(), app), { nil: undefined }))
  .map(([r, a]) => (a ? `${r}+${a[0] ? 'v' : ''}${a[1]}` : r));
const hostile = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('$(touch pwned)', '`id`', '-rf', '--upload-pack=touch pwned', '../../etc/passwd', 'latest', 'v1.0.0', '1.0.0+', '+1.0', ' 1.0.0', '1.0.0 '),
  fc.string({ maxLength: 300 }).map((s) => `1.0.0+${s}`),
);
const anyTag = fc.oneof(releaseTag, releaseTag, hostile);

describe('ordering properties', () => {
  it('never throws, and splits every tag set into releases and ignored tags exactly', () => {
    fc.assert(fc.property(fc.array(anyTag, { maxLength: 60 }), (tags) => {
      const set = classifyTags(tags);
      const unique = new Set(tags);
      expect(set.releases.length + set.ignored.length).toBe(unique.size);
      for (const r of set.releases) expect(parseRelease(r.tag)).not.toBeNull();
      for (const t of set.ignored) expect(parseRelease(t)).toBeNull();
    }), { numRuns: 300 });
  });

  it('gives the same order whatever the input order', () => {
    fc.assert(fc.property(fc.array(anyTag, { maxLength: 60 }).chain((tags) => fc.tuple(fc.constant(tags), fc.shuffledSubarray(tags, { minLength: tags.length, maxLength: tags.length }))), ([a, b]) => {
      expect(classifyTags(b).releases.map((r) => r.tag)).toEqual(classifyTags(a).releases.map((r) => r.tag));
    }), { numRuns: 300 });
  });

  it('is antisymmetric and transitive, and equal only for the same tag', () => {
    fc.assert(fc.property(releaseTag, releaseTag, releaseTag, (x, y, z) => {
      const [a, b, c] = [x, y, z].map((t) => parseRelease(t)!);
      expect(Math.sign(compareReleases(a!, b!))).toBe(-Math.sign(compareReleases(b!, a!)));
      expect(compareReleases(a!, b!) === 0).toBe(x === y);
      if (compareReleases(a!, b!) <= 0 && compareReleases(b!, c!) <= 0) expect(compareReleases(a!, c!)).toBeLessThanOrEqual(0);
    }), { numRuns: 1000 });
  });

  it('orders 10 000 tags', () => {
    const tags = fc.sample(releaseTag, { numRuns: 10_000, seed: 42 });
    const set = classifyTags(tags);
    for (let i = 1; i < set.releases.length; i++) expect(compareReleases(set.releases[i - 1]!, set.releases[i]!)).toBeLessThan(0);
  });
});

describe('plan over hostile tags in a real repo', () => {
  it('keeps every tag away from shells and paths, and agrees with the pure ordering', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0+1' }] }]);
    const repo = path.join(sb.upstreamDir, 'gitea.git');
    const head = execFileSync('git', ['rev-parse', 'main'], { cwd: repo, encoding: 'utf8' }).trim();
    const names = [
      // Git refuses spaces in ref names; ${IFS} is the shell's way around that.
      '$(touch${IFS}pwned)', '`touch${IFS}pwned`', '-rf', '--upload-pack=touch_pwned', 'a;touch${IFS}pwned', 'ünïcödé', '1.0.0+ünï',
      `9.9.9+${'a'.repeat(294)}`, `${'x'.repeat(300)}`, '1.0.0+a/b', 'latest', 'v2.4.8-d7d63b0d', '1.14.1-rootless_1', '2.0.0+v1.31.10', '2.0.0+1.31.9',
    ];
    // A 300-character tag is longer than a file name may be, so the tags go into packed-refs (without the
    // `sorted` trait, so git sorts them itself). No shell, no option parsing.
    execFileSync('git', ['pack-refs', '--all'], { cwd: repo });
    const packed = path.join(repo, 'packed-refs');
    const text = readFileSync(packed, 'utf8').replace(/^(# pack-refs with:.*) sorted/m, '$1');
    writeFileSync(packed, text + names.map((n) => `${head} refs/tags/${n}\n`).join(''));
    const { r, doc } = await cliJson(sb, ['plan'], { PWD: sb.root });
    expect(r.exitCode, r.stderr).toBe(0);
    const expected = classifyTags([...names, '1.0.0+1']);
    expect(doc.recipes[0]).toMatchObject({ decision: 'run', reason: 'first-canonical', latest: `9.9.9+${'a'.repeat(294)}` });
    expect(new Set(doc.recipes[0].ignoredTags)).toEqual(new Set(expected.ignored));
    const found: string[] = [];
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.name.includes('pwned')) found.push(path.join(d, e.name));
        if (e.isDirectory() && !e.name.endsWith('.git')) walk(path.join(d, e.name));
      }
    };
    walk(sb.root);
    expect(found).toEqual([]);
    expect(existsSync(path.join(process.cwd(), 'pwned'))).toBe(false);
  });

  it('plans a recipe with 10 000 tags', async () => {
    const sb = await sandbox([{ name: 'big', releases: [{ tag: '0.0.1' }] }]);
    const repo = path.join(sb.upstreamDir, 'big.git');
    const head = execFileSync('git', ['rev-parse', 'main'], { cwd: repo, encoding: 'utf8' }).trim();
    const lines: string[] = [];
    for (let i = 0; i < 10_000; i++) lines.push(`create refs/tags/${Math.floor(i / 100)}.${i % 100}.0+1.${i % 7} ${head}\n`);
    execFileSync('git', ['update-ref', '--stdin'], { cwd: repo, input: lines.join('') });
    const { r, doc } = await cliJson(sb, ['plan']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(doc.recipes[0]).toMatchObject({ latest: '99.99.0+1.3', decision: 'run' });
  });
});
