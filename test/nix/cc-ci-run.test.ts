// cc-ci-run.nix: a writeShellApplication whose runtime inputs are the harness tools and whose script
// exports the harness environment and hands its arguments to python3. The script is run for real
// (with a fake python3) to check the quoting and the exit status.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nixEval, prelude, tempDir } from './helpers.js';

interface Wrapper {
  name: string;
  runtimeInputs: string[];
  text: string;
  harnessTools: string[];
  harnessEnv: Record<string, string>;
}

describe('cc-ci-run', () => {
  let w: Wrapper;
  let tmp: ReturnType<typeof tempDir>;
  let script: string;
  let fakeBin: string;

  beforeAll(async () => {
    w = await nixEval<Wrapper>(`${prelude()}
      let
        top = import (root + "/default.nix") { inherit pkgs; };
        h = top.harnessEnv;
      in {
        inherit (top.cc-ci-run) name text;
        runtimeInputs = names top.cc-ci-run.runtimeInputs;
        harnessTools = names h.tools;
        harnessEnv = h.env;
      }`);
    tmp = tempDir('ccci-run-');
    // writeShellApplication's script: a bash shebang and strict mode, then the text.
    script = path.join(tmp.dir, 'cc-ci-run');
    writeFileSync(script, `#!/usr/bin/env bash\nset -o errexit\nset -o nounset\nset -o pipefail\n\n${w.text}`);
    chmodSync(script, 0o755);
    fakeBin = path.join(tmp.dir, 'bin');
    mkdirSync(fakeBin);
    writeFileSync(path.join(fakeBin, 'python3'), `#!/usr/bin/env node
console.log(JSON.stringify({
  argv: process.argv.slice(2),
  browsers: process.env.PLAYWRIGHT_BROWSERS_PATH ?? null,
  skip: process.env.PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD ?? null,
}));
process.exit(Number(process.env.FAKE_EXIT ?? 0));
`);
    chmodSync(path.join(fakeBin, 'python3'), 0o755);
  });
  afterAll(() => tmp?.cleanup());

  it('is named cc-ci-run and runs with exactly the harness tools', () => {
    expect(w.name).toBe('cc-ci-run');
    expect(w.runtimeInputs).toEqual(w.harnessTools);
  });

  it('is valid bash', async () => {
    const r = await execa('bash', ['-n', script], { reject: false });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
  });

  it('passes its arguments through untouched, with the Playwright environment exported', async () => {
    const args = ['runner/run_recipe_ci.py', '--recipe', 'a b', "it's", '$HOME', '*'];
    const r = await execa(script, args, {
      reject: false,
      env: { PATH: `${fakeBin}:${process.env.PATH ?? ''}`, PLAYWRIGHT_BROWSERS_PATH: 'inherited-should-be-overridden' },
      extendEnv: false,
    });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      argv: args,
      browsers: w.harnessEnv.PLAYWRIGHT_BROWSERS_PATH,
      skip: w.harnessEnv.PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD,
    });
  });

  it("exits with python3's status (exec, no wrapper process left to swallow signals)", async () => {
    const r = await execa(script, ['x.py'], {
      reject: false,
      env: { PATH: `${fakeBin}:${process.env.PATH ?? ''}`, FAKE_EXIT: '7' },
      extendEnv: false,
    });
    expect(r.exitCode).toBe(7);
    expect(w.text).toMatch(/^exec python3 "\$@"$/m);
  });
});
