// The mirror token: file permissions, and that it never leaks into argv, logs, errors or results.
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createWriter } from '../../../src/adapters/writer.js';
import { ConfigError } from '../../../src/core/errors.js';
import { scrub } from '../../../src/adapters/log.js';
import { giteaApiFor, ownerRepoOf, readTokenFile } from '../../../src/adapters/fs/token-file.js';
import { type MirrorTarget, syncMirror } from '../../../src/sweep/mirror-sync.js';
import { startGitHttpServer } from '../../support/git-http-server.js';
import { startGiteaServer } from '../../support/gitea-server.js';
import { captureLogger, FAST_RETRY, git, makeScenario, refOf, setupGitEnv } from './fixtures.js';

const { base, argvLog } = setupGitEnv();
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('readTokenFile', () => {
  it('refuses a group/world-readable file with a one-line fix', () => {
    const file = path.join(base, 'token-0644');
    writeFileSync(file, 'abcd-secret\n', { mode: 0o644 });
    chmodSync(file, 0o644); // the umask may have narrowed it
    expect(() => readTokenFile(file)).toThrow(ConfigError);
    expect(() => readTokenFile(file)).toThrow(`mirror token file ${file} is readable by group or others (mode 0644); run: chmod 600 ${file}`);
  });

  it('reads a 0600 file, trims it and registers it as a secret', () => {
    const file = path.join(base, 'token-0600');
    writeFileSync(file, '  tok-0600-value\n', { mode: 0o600 });
    expect(readTokenFile(file)).toBe('tok-0600-value');
    expect(scrub('header: token tok-0600-value')).toBe('header: token ***');
  });

  it('refuses more than one non-empty line (a second line would reach an HTTP header)', () => {
    const file = path.join(base, 'token-two-lines');
    writeFileSync(file, 'tok-line-one\n\nX-Evil: 1\n', { mode: 0o600 });
    expect(() => readTokenFile(file)).toThrow(`mirror token file ${file} has 2 non-empty lines; it must hold the token alone on one line`);
    writeFileSync(file, '\n  tok-only-line  \r\n\n', { mode: 0o600 });
    expect(readTokenFile(file)).toBe('tok-only-line');
  });

  it.each([['a lone CR', 'abc\rdef'], ['a NUL', 'abc\u0000def\n'], ['a tab inside', 'abc\tdef'], ['an escape', '\u001b[2Jabc'], ['a line separator', 'abc\u2028def']])(
    'refuses a token with %s (it would reach an HTTP header)', (_what, text) => {
      const file = path.join(base, 'token-control');
      writeFileSync(file, text, { mode: 0o600 });
      expect(() => readTokenFile(file)).toThrow(`mirror token file ${file} contains a control character (CR, NUL, tab...); it must hold the token alone on one line`);
      expect(() => readTokenFile(file, 'CI token')).toThrow(/^CI token file .* contains a control character/);
    });

  it('still reads a token ending in CRLF', () => {
    const file = path.join(base, 'token-crlf');
    writeFileSync(file, 'abc123\r\n', { mode: 0o600 });
    expect(readTokenFile(file)).toBe('abc123');
  });

  it('names a missing or empty file', () => {
    expect(() => readTokenFile(path.join(base, 'nope'))).toThrow(/cannot read mirror token file .*nope/);
    const empty = path.join(base, 'token-empty');
    writeFileSync(empty, '\n', { mode: 0o600 });
    expect(() => readTokenFile(empty)).toThrow(/is empty/);
  });
});

describe('mirror URL helpers', () => {
  it('derives the Gitea API and owner/repo', () => {
    expect(giteaApiFor('https://git.autonomic.zone/recipe-maintainers/app.git')).toBe('https://git.autonomic.zone/api/v1');
    expect(ownerRepoOf('https://git.autonomic.zone/recipe-maintainers/app.git')).toEqual({ owner: 'recipe-maintainers', repo: 'app' });
    expect(() => giteaApiFor('git@host:o/r.git')).toThrow(ConfigError);
  });
});

describe('token secrecy', () => {
  it('authenticates to the mirror and Gitea without the token entering argv, logs, errors or results', async () => {
    const token = 'S3cret-mirror-token-9f2a71';
    const file = path.join(base, 'mirror-token');
    writeFileSync(file, `${token}\n`, { mode: 0o600 });
    const s = makeScenario(base);
    s.commit('new release');
    s.tag('1.1.0+1.2.4');
    s.publish();
    // Upstream and mirror on different origins, so we can see the token goes to the mirror only.
    const upSrv = await startGitHttpServer({ root: s.root });
    const mirrorSrv = await startGitHttpServer({ root: s.root, token, authAll: true });
    const gitea = await startGiteaServer({ token });
    gitea.addPull('recipe-maintainers/app', { headSha: git(s.upstream, 'rev-parse', 'main') });
    const { log, output } = captureLogger();
    try {
      const t: MirrorTarget = {
        recipe: s.recipe, cloneDir: s.clone, giteaApi: gitea.api,
        upstreamUrl: `${upSrv.url}/coop-cloud/app.git`, mirrorUrl: `${mirrorSrv.url}/recipe-maintainers/app.git`,
      };
      const writer = createWriter(false, log);
      const ok = await syncMirror(t, { token: readTokenFile(file), writer, log, retry: FAST_RETRY, env: process.env });
      expect(ok).toMatchObject({ outcome: 'updated', tagsAdded: ['1.1.0+1.2.4'], prsClosed: [1] });
      expect(refOf(s.mirror, 'main')).toBe(refOf(s.upstream, 'main'));
      expect(mirrorSrv.requests.length).toBeGreaterThan(0);
      expect(mirrorSrv.requests.every((r) => r.auth)).toBe(true);
      expect(upSrv.requests.some((r) => r.auth)).toBe(false);

      // A failure whose messages pass through git and Gitea errors: a token the servers reject.
      const wrong = `${token}-wrong`;
      s.commit('another');
      s.publish();
      const bad = await syncMirror(t, { token: wrong, writer, log, retry: FAST_RETRY, env: process.env });
      expect(bad.outcome).toBe('error');
      expect(bad.error?.step).toBe('token');

      const everything = [readFileSync(argvLog, 'utf8'), output(), JSON.stringify([ok, bad])].join('\n');
      expect(readFileSync(argvLog, 'utf8')).toContain('push'); // the wrapper did see our git calls
      expect(everything).not.toContain(token);
    } finally {
      await Promise.all([upSrv.close(), mirrorSrv.close(), gitea.close()]);
    }
  });
});
