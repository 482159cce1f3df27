// Tests stand alone: the developer's shell must not reach the CLI under test. Here the test process itself
// carries what a systemd unit, Termux or a git hook would set; the CLI must behave as without them.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cliJson, launches, sandbox } from '../support/cli.js';

const LEAKS = {
  INVOCATION_ID: '0123456789abcdef', // would make the sweep say it was started by the timer
  PREFIX: '/data/data/com.termux/files/usr', // refused by simple-git: every recipe would be an error
  GIT_DIR: '/nonexistent/.git', // would redirect git
};

afterEach(() => {
  for (const k of Object.keys(LEAKS)) delete process.env[k];
});

describe('the CLI under test gets a minimal, explicit environment', () => {
  it('ignores INVOCATION_ID, PREFIX and GIT_DIR of the parent process', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    Object.assign(process.env, LEAKS);
    const { r, doc } = await cliJson(sb, ['run']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(doc.recipes).toMatchObject([{ recipe: 'gitea', outcome: 'promoted' }]);
    const last = JSON.parse(readFileSync(path.join(sb.stateDir, 'last-sweep.json'), 'utf8'));
    expect(last.by).toMatch(/^operator:/);
    const env = launches(sb).at(-1)!.env;
    for (const k of ['INVOCATION_ID', 'PREFIX', 'GIT_DIR']) expect(env).not.toHaveProperty(k);
    expect(env.HOME).toBe(path.join(sb.root, 'home'));
    expect(env.LANG).toBe('C');
  });

  it('the test process itself starts from a clean environment with its own HOME and TMPDIR', () => {
    expect(process.env.HOME).toMatch(/ccci-tests-[^/]+\/home$/);
    expect(process.env.TMPDIR).toMatch(/ccci-tests-[^/]+\/tmp$/);
    expect(process.env.LANG).toBe('C');
    expect(Object.keys(process.env).filter((k) => k.startsWith('GIT_') && k !== 'GIT_CONFIG_NOSYSTEM')).toEqual([]);
  });
});
