// Runs before every test file (vitest setupFiles). Tests stand alone: whatever the developer's shell holds
// (INVOCATION_ID, PREFIX, GIT_*, LC_*, a ~/.gitconfig) must change nothing. So each test file gets a minimal,
// explicit process environment, a HOME and a TMPDIR of its own under one temp root, and that root is
// removed when the file is done (every temp dir a test makes lives under TMPDIR, so nothing is left behind).
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

// PATH finds the tools; CCCI_TEST_USER names the unprivileged user root-only cases run as (.ci/run sets it).
// VITEST*/NODE_ENV/TEST are vitest's own.
const keep = (k: string) => k === 'PATH' || k === 'CCCI_TEST_USER' || k === 'NODE_ENV' || k === 'TEST' || k.startsWith('VITEST');

const root = mkdtempSync(path.join(tmpdir(), 'ccci-tests-'));
// Traversable, so a test can run the CLI as an unprivileged user on folders below it.
chmodSync(root, 0o755);
const home = path.join(root, 'home');
const tmp = path.join(root, 'tmp');
mkdirSync(home, { mode: 0o755 });
mkdirSync(tmp, { mode: 0o755 });
// Test fixtures commit to temp repos: a fixed identity, not the developer's.
writeFileSync(path.join(home, '.gitconfig'), '[user]\n\tname = ccci-test\n\temail = ccci-test@example.invalid\n');

for (const k of Object.keys(process.env)) if (!keep(k)) delete process.env[k];
Object.assign(process.env, { HOME: home, TMPDIR: tmp, LANG: 'C', GIT_CONFIG_NOSYSTEM: '1' });
process.env.PATH ??= '/usr/local/bin:/usr/bin:/bin';

/** Mount points at or below `dir` (a full-disk test's tmpfs left mounted), deepest first. */
function mountsUnder(dir: string): string[] {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean)
    .map((l) => unescape(l.split(' ')[4] ?? ''))
    .filter((m) => m === dir || m.startsWith(dir + '/'))
    .sort((a, b) => b.length - a.length);
}

afterAll(() => {
  try {
    for (const m of mountsUnder(root)) execFileSync('umount', ['-l', m], { stdio: 'ignore' });
  } catch {
    // not Linux, or not allowed: rmSync below reports what it cannot remove
  }
  rmSync(root, { recursive: true, force: true, maxRetries: 5 });
});
