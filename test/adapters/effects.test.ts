// Dry-run is enforced at the adapter primitives (src/adapters/effects.ts): in a dry-run scope every write
// (a file, a folder, a git process not marked read-only, a harness launch, a Gitea call that is not a GET)
// is refused before it happens, and read-only calls still run. Unmarked means refused: the safe default.
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { inDryRun, isDryRun, mayAct } from '../../src/adapters/effects.js';
import { appendLineDurable, createExclusive, ensureDir, removeFile, writeFileAtomic } from '../../src/adapters/fs/atomic-file.js';
import { appendHistory, createRunDir, writeCanonical } from '../../src/adapters/fs/state-store.js';
import { DryRunRefusal } from '../../src/core/errors.js';
import { headCommit, runGit } from '../../src/adapters/git.js';
import { runHarness } from '../../src/adapters/harness.js';
import { createLogger } from '../../src/adapters/log.js';
import { giteaClient } from '../../src/adapters/gitea.js';
import { startGiteaServer } from '../support/gitea-server.js';
import { git } from '../support/git.js';

const base = mkdtempSync(path.join(tmpdir(), 'effects-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const log = createLogger({ env: { CCCI_LOG_LEVEL: 'silent' } });

describe('mayAct', () => {
  it('lets everything through outside a dry-run scope, and only reads inside one', async () => {
    expect(isDryRun()).toBe(false);
    expect(() => mayAct('write x')).not.toThrow();
    const refused: string[] = [];
    await inDryRun(async () => {
      expect(isDryRun()).toBe(true);
      await Promise.resolve(); // the scope follows async continuations
      expect(() => mayAct('write x')).toThrow(new DryRunRefusal('dry-run: would write x'));
      expect(() => mayAct('list y', 'read')).not.toThrow();
    }, (what) => refused.push(what));
    expect(refused).toEqual(['write x']);
    expect(isDryRun()).toBe(false);
  });
});

describe('in dry-run, every write primitive refuses and leaves nothing behind', () => {
  it('state files: atomic write, exclusive create, append, folder, removal, canonical, history, run folder', async () => {
    const dir = path.join(base, 'state');
    ensureDir(dir);
    const kept = path.join(dir, 'kept');
    writeFileSync(kept, 'old\n');
    await inDryRun(async () => {
      expect(() => writeFileAtomic(kept, 'new\n')).toThrow(DryRunRefusal);
      expect(() => createExclusive(path.join(dir, 'lock'), '{}')).toThrow(DryRunRefusal);
      expect(() => appendLineDurable(path.join(dir, 'history.jsonl'), '{}')).toThrow(DryRunRefusal);
      expect(() => ensureDir(path.join(dir, 'sub'))).toThrow(DryRunRefusal);
      expect(() => removeFile(kept)).toThrow(DryRunRefusal);
      expect(() => writeCanonical(dir, { recipe: 'r', version: '1.0.0', commit: 'a'.repeat(40), status: 'idle', ts: '20260101T000000Z' })).toThrow(DryRunRefusal);
      expect(() => appendHistory(dir, { type: 'promotion', recipe: 'r', version: '1', commit: 'a'.repeat(40), previousVersion: null, ccciCommit: null, promotedAt: 'x' })).toThrow(DryRunRefusal);
      expect(() => createRunDir(dir, 'r', new Date(0))).toThrow(DryRunRefusal);
    });
    expect(readdirSync(dir)).toEqual(['kept']);
    expect(existsSync(kept)).toBe(true);
  });

  it('git: a call not marked read-only is refused before git starts; read-only calls run', async () => {
    const repo = path.join(base, 'repo');
    ensureDir(repo);
    git(repo, 'init', '--quiet');
    git(repo, 'commit', '--quiet', '--allow-empty', '-m', 'one');
    const head = git(repo, 'rev-parse', 'HEAD');
    await inDryRun(async () => {
      expect(await headCommit(repo, { env: process.env })).toBe(head);
      await expect(runGit(['tag', 'made-in-dry-run'], { repo, env: process.env })).rejects.toThrow(DryRunRefusal);
      await expect(runGit(['init', '--quiet', path.join(base, 'new-repo')], { env: process.env })).rejects.toThrow(DryRunRefusal);
    });
    expect(git(repo, 'tag', '--list')).toBe('');
    expect(existsSync(path.join(base, 'new-repo'))).toBe(false);
  });

  it('a harness is never launched', async () => {
    const marker = path.join(base, 'launched');
    const script = path.join(base, 'harness.sh');
    writeFileSync(script, `#!/bin/sh\ntouch ${marker}\n`, { mode: 0o755 });
    const logFile = path.join(base, 'harness-run', 'harness.log');
    await inDryRun(async () => {
      await expect(runHarness({ ccciRun: script, script: 'x', ccciRepo: base, env: {}, logFile, log, now: () => new Date() })).rejects.toThrow(DryRunRefusal);
    });
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(path.dirname(logFile))).toBe(false);
  });

  it('Gitea: GET still runs, a write never reaches the server', async () => {
    const server = await startGiteaServer({ token: 'tok-effects' });
    try {
      server.addPull('o/r', { headSha: 'b'.repeat(40) });
      const client = giteaClient({ api: server.api, owner: 'o', repo: 'r', token: 'tok-effects', timeoutMs: 5000, retry: { tries: 1, baseDelayMs: 0 }, log, env: process.env });
      await inDryRun(async () => {
        expect((await client.listOpenPulls()).length).toBe(1);
        await expect(client.close(1)).rejects.toThrow(DryRunRefusal);
        await expect(client.comment(1, 'hello')).rejects.toThrow(DryRunRefusal);
      });
      expect(server.requests.map((r) => r.method)).toEqual(['GET']);
      expect(server.closed).toEqual([]);
    } finally {
      await server.close();
    }
  });
});
