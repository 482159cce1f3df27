// cc-ci-run.nix: a writeShellApplication whose runtime inputs are the harness tools, whose runtimeEnv
// is the harness environment, and which never falls through to the caller's PATH (inheritPath =
// false). The script is the one the stand-in writeShellApplication writes the way nixpkgs'
// trivial-builders do; it is run for real, with a fake python3 in the stand-in store.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nixEval, prelude, tempDir } from './helpers.js';

interface Wrapper {
  name: string;
  runtimeInputs: string[];
  inheritPath: boolean;
  script: string;
  harnessTools: string[];
  harnessToolPaths: string[];
  harnessEnv: Record<string, string>;
}

/** A program printing what it was run with, at `file`. */
function fakeProgram(file: string, label: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `#!${process.execPath}
console.log(JSON.stringify({ label: ${JSON.stringify(label)}, argv: process.argv.slice(2), env: process.env }));
process.exit(Number(process.env.FAKE_EXIT ?? 0));
`);
  chmodSync(file, 0o755);
}

describe('cc-ci-run', () => {
  let w: Wrapper;
  let tmp: ReturnType<typeof tempDir>;
  let script: string;
  let callerBin: string;

  beforeAll(async () => {
    tmp = tempDir('ccci-run-');
    const storeDir = path.join(tmp.dir, 'store');
    w = await nixEval<Wrapper>(`${prelude({ storeDir })}
      let
        top = import (root + "/default.nix") { inherit pkgs; abra = pkgs.abra-stand-in; };
        h = top.harnessEnv;
      in {
        inherit (top.cc-ci-run) name script inheritPath;
        runtimeInputs = names top.cc-ci-run.runtimeInputs;
        harnessTools = names h.tools;
        harnessToolPaths = map (p: "\${lib.getBin p}") h.tools;
        harnessEnv = h.env;
      }`);
    script = path.join(tmp.dir, 'cc-ci-run');
    writeFileSync(script, w.script);
    // The python3 of the harness environment, in the stand-in store...
    fakeProgram(path.join(storeDir, 'python3-env', 'bin', 'python3'), 'store');
    // ...and another one first on the caller's PATH, which the wrapper must not reach.
    callerBin = path.join(tmp.dir, 'caller-bin');
    fakeProgram(path.join(callerBin, 'python3'), 'caller');
  });
  afterAll(() => tmp?.cleanup());

  const run = (args: string[], env: Record<string, string> = {}) =>
    execa('bash', [script, ...args], {
      reject: false, extendEnv: false,
      env: { PATH: `${callerBin}:${process.env.PATH ?? ''}`, PLAYWRIGHT_BROWSERS_PATH: 'inherited-should-be-overridden', ...env },
    });

  it('is named cc-ci-run, runs with exactly the harness tools and never inherits PATH', () => {
    expect(w.name).toBe('cc-ci-run');
    expect(w.runtimeInputs).toEqual(w.harnessTools);
    expect(w.inheritPath).toBe(false);
  });

  it('is valid bash', async () => {
    const r = await execa('bash', ['-n', script], { reject: false });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
  });

  it("runs the store's python3 with PATH = the harness tools only, whatever the caller's PATH", async () => {
    const r = await run(['x.py']);
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout);
    expect(out.label).toBe('store');
    expect(out.env.PATH).toBe(w.harnessToolPaths.map((p) => `${p}/bin`).join(':'));
    expect(out.env.PATH).not.toContain(callerBin);
  });

  it('passes its arguments through untouched, with the harness environment exported', async () => {
    const args = ['runner/run_recipe_ci.py', '--recipe', 'a b', "it's", '$HOME', '*'];
    const r = await run(args, { ABRA_DIR: '/home/drone/.abra', GIT_CONFIG_COUNT: '0' });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.argv).toEqual(args);
    // Every harness variable, whatever the caller had (a Drone step has its own HOME and no ABRA_DIR).
    for (const [k, v] of Object.entries(w.harnessEnv)) expect(out.env[k], k).toBe(v);
  });

  it("exits with python3's status (exec, no wrapper process left to swallow signals)", async () => {
    const r = await run(['x.py'], { FAKE_EXIT: '7' });
    expect(r.exitCode).toBe(7);
    expect(w.script).toMatch(/^exec python3 "\$@"$/m);
  });
});
