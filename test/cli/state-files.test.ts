// Bad state files never stop other recipes, and --force never overwrites a canonical.json it could not
// read. Built CLI, real git, the stand-in cc-ci-run.
import { readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { addRelease } from '../support/sandbox.js';
import { cli, cliJson, launches, readJson, sandbox } from '../support/cli.js';
import { git } from '../support/git.js';

describe('a damaged history.jsonl', () => {
  it('with a null and an incomplete line is skipped with a warning naming the file; every command works for every recipe', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }, { name: 'other', releases: [{ tag: '1.0.0' }] }]);
    const file = path.join(sb.stateDir, 'gitea', 'history.jsonl');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, 'null\n{"type":"attempt","recipe":"gitea","tag":"1.0.0"}\n{"type":"promotion","recipe":"gitea"}\n');
    const warning = `${file} has 3 invalid lines (line 1 is null, not an entry; line 2 has no string "tagCommit"; line 3 has no string "version"); skipped`;
    // Logs are JSON lines here: the message appears JSON-escaped.
    const logged = JSON.stringify(warning).slice(1, -1);

    const plan = await cliJson(sb, ['plan']);
    expect(plan.r.exitCode, plan.r.stderr).toBe(0);
    expect(plan.doc.recipes.map((x: any) => [x.recipe, x.decision])).toEqual([['gitea', 'run'], ['other', 'run']]);
    expect(plan.r.stderr).toContain(logged);

    const status = await cliJson(sb, ['status']);
    expect(status.r.exitCode, status.r.stderr).toBe(0);
    expect(status.doc.recipes.map((x: any) => [x.recipe, x.lastAttempt, x.lastPromotion])).toEqual([['gitea', null, null], ['other', null, null]]);
    expect(status.r.stderr).toContain(logged);

    const explain = await cliJson(sb, ['explain', 'gitea']);
    expect(explain.r.exitCode, explain.r.stderr).toBe(0);
    expect(explain.doc).toMatchObject({ decision: 'run', attemptsOfNewest: [] });
    expect(explain.r.stderr).toContain(logged);

    const run = await cliJson(sb, ['run']);
    expect(run.r.exitCode, run.r.stderr).toBe(0);
    expect(run.doc.recipes.map((x: any) => [x.recipe, x.outcome])).toEqual([['gitea', 'promoted'], ['other', 'promoted']]);
    // The damaged lines stay as they were (nothing is lost); the new entries are appended after them.
    expect(readFileSync(file, 'utf8').split('\n').slice(0, 3)).toEqual(['null', '{"type":"attempt","recipe":"gitea","tag":"1.0.0"}', '{"type":"promotion","recipe":"gitea"}']);
    const after = await cliJson(sb, ['status']);
    expect(after.doc.recipes[0]).toMatchObject({ recipe: 'gitea', lastAttempt: { outcome: 'promoted' }, lastPromotion: { version: '1.0.0' } });
  });
});

describe('--force and an invalid canonical.json', () => {
  const commitOf = (sb: { upstreamDir: string }) => git(path.join(sb.upstreamDir, 'gitea.git'), 'rev-parse', '1.0.0^{commit}');
  const kinds: [string, (commit: string) => string][] = [
    ['not JSON', () => '{"version": "1.0.0", "comm'],
    ['empty', () => ''],
    ['null', () => 'null'],
    ['without a commit', () => '{"recipe": "gitea", "version": "1.0.0"}'],
    ['with a version that is not a release', (c) => JSON.stringify({ recipe: 'gitea', version: 'main', commit: c })],
    ['with a numeric status', (c) => JSON.stringify({ recipe: 'gitea', version: '1.0.0', commit: c, status: 0 })],
    ['with a string previous', (c) => JSON.stringify({ recipe: 'gitea', version: '1.0.0', commit: c, previous: '0.9.0' })],
    ['of another recipe', (c) => JSON.stringify({ recipe: 'other', version: '1.0.0', commit: c })],
  ];

  it.each(kinds)('%s: is an error, left byte for byte, and nothing is launched for it', async (_kind, content) => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }, { name: 'other', releases: [{ tag: '1.0.0' }] }]);
    const file = path.join(sb.stateDir, 'gitea', 'canonical.json');
    mkdirSync(path.dirname(file), { recursive: true });
    const text = content(commitOf(sb));
    writeFileSync(file, text);
    const { r, doc } = await cliJson(sb, ['run', '--force']);
    expect(r.exitCode).toBe(1);
    const by = Object.fromEntries(doc.recipes.map((x: any) => [x.recipe, x]));
    expect(by.gitea).toMatchObject({ decision: 'error', outcome: 'error' });
    expect(by.other).toMatchObject({ outcome: 'promoted' });
    expect(readFileSync(file, 'utf8')).toBe(text);
    expect(launches(sb).filter((l) => l.recipe === 'gitea')).toEqual([]);
  });
});

describe('a large canonical.json', () => {
  it('does not double on promotion: previous keeps the known fields only', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    const file = path.join(sb.stateDir, 'gitea', 'canonical.json');
    mkdirSync(path.dirname(file), { recursive: true });
    const commit = git(path.join(sb.upstreamDir, 'gitea.git'), 'rev-parse', '1.0.0^{commit}');
    writeFileSync(file, JSON.stringify({ recipe: 'gitea', version: '1.0.0', commit, status: 'idle', ts: '20250101T000000Z', blob: 'x'.repeat(50_000_000) }));
    const before = statSync(file).size;
    await addRelease(sb, 'gitea', { tag: '1.1.0' });
    const r = await cli(sb, ['run']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(statSync(file).size).toBeLessThan(before + 2000);
    const rec = readJson(file);
    expect(rec.version).toBe('1.1.0');
    expect(rec.previous).toEqual({ recipe: 'gitea', version: '1.0.0', commit, status: 'idle', ts: '20250101T000000Z' });
  });
});

describe('a canonical.json that becomes invalid during the test', () => {
  it('is not overwritten by the promotion: the recipe is an error and the file is left as it is', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    expect((await cli(sb, ['run'])).exitCode).toBe(0);
    await addRelease(sb, 'gitea', { tag: '1.1.0' });
    const file = path.join(sb.stateDir, 'gitea', 'canonical.json');
    const { control } = await import('../support/cli.js');
    control(sb, { gitea: { write: { path: file, text: '{"version": "1.0.0", "commit": "hand-edited"}' } } });
    const { r, doc } = await cliJson(sb, ['run']);
    expect(r.exitCode).toBe(1);
    expect(doc.recipes[0]).toMatchObject({ tag: '1.1.0', outcome: 'error', detail: expect.stringMatching(/canonical\.json has a "commit" that is not a hex commit hash; it is left untouched/) });
    expect(readFileSync(file, 'utf8')).toBe('{"version": "1.0.0", "commit": "hand-edited"}');
  });
});
