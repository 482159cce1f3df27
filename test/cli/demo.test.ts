// `ccci-sweep demo` builds its own throwaway host (src/demo/, not the tests' stand-in) and runs a real plan
// and run in it: gitea is promoted, the others skipped, and the second run launches nothing.
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { BIN } from '../support/cli.js';

describe('ccci-sweep demo', () => {
  it('promotes gitea through its own stand-in cc-ci-run, skips the others, and removes its sandbox', async () => {
    const tmp = mkdtempSync(path.join(tmpdir(), 'demo-'));
    const r = await execa('node', [BIN, 'demo'], {
      env: { PATH: process.env.PATH!, HOME: process.env.HOME!, TMPDIR: tmp, LANG: 'C', CCCI_LOG_FORMAT: 'json' },
      extendEnv: false, reject: false, stdin: 'ignore',
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/gitea\s+3\.0\.0\+1\.23\.1\s+promoted/);
    expect(r.stdout).toMatch(/first run exit 0, second run exit 0/);
    expect(readdirSync(tmp)).toEqual([]);
  });
});
