// `ccci-sweep doctor`: real checks on real folders, and a real probe run through a stand-in cc-ci-run that
// mirrors nix/cc-ci-run.nix (PATH = the harness tools only, Playwright env exported, `exec python3 "$@"`).
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { execa } from 'execa';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/core/config.js';
import { HARNESS_TOOLS } from '../../src/core/doctor-probe.js';
import { type DoctorReport, renderDoctor } from '../../src/render/doctor.js';
import { runDoctor } from '../../src/sweep/doctor.js';
import { nixDir, nixEval, nixStr, prelude, tempDir } from '../nix/helpers.js';

const CLI_BIN = path.resolve(import.meta.dirname, '../../bin/ccci-sweep.js');

let realPython: string;
beforeAll(async () => {
  // The real interpreter, not a version-manager shim that would need its own PATH.
  const r = await execa('python3', ['-c', 'import os, sys; print(os.path.realpath(sys.executable))']);
  realPython = r.stdout.trim();
});

interface Host {
  root: string;
  bin: string;
  pyPath: string;
  browsers: string;
  config: Config;
  env: NodeJS.ProcessEnv;
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
});

function write(file: string, text: string, mode?: number): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  if (mode !== undefined) chmodSync(file, mode);
}

const sh = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** A host: cc-ci repo with one enrolled recipe, a state dir, and a cc-ci-run stand-in over a tools bin dir. */
function host(opts: { omit?: string[]; wrapperBody?: string } = {}): Host {
  const { dir: root, cleanup } = tempDir('ccci-doctor-test-');
  cleanups.push(cleanup);
  const bin = path.join(root, 'harness/bin');
  const pyPath = path.join(root, 'harness/python');
  const browsers = path.join(root, 'harness/browsers');
  mkdirSync(bin, { recursive: true });
  for (const t of HARNESS_TOOLS) {
    if (t.kind !== 'command' || opts.omit?.includes(t.tool)) continue;
    if (t.tool === 'python3') symlinkSync(realPython, path.join(bin, 'python3'));
    else write(path.join(bin, t.tool), '#!/bin/sh\nexit 0\n', 0o755);
  }
  for (const t of HARNESS_TOOLS) {
    if (t.kind === 'python-module' && !opts.omit?.includes(t.tool)) write(path.join(pyPath, t.tool, '__init__.py'), '');
  }
  const ccciRepo = path.join(root, 'cc-ci');
  write(path.join(ccciRepo, 'tests/app/recipe_meta.py'), 'WARM_CANONICAL = True\nSWEEP_CADENCE = "nightly"\n');
  write(path.join(ccciRepo, 'tests/other/recipe_meta.py'), 'WARM_CANONICAL = False\n');
  write(path.join(ccciRepo, 'runner/run_recipe_ci.py'), 'print("harness")\n');
  const stateDir = path.join(root, 'state');
  mkdirSync(stateDir);
  // The enrolled recipe's upstream: an empty bare repo is enough for doctor's one ls-remote.
  execFileSync('git', ['init', '-q', '--bare', path.join(root, 'upstream', 'app.git')]);
  const ccciRun = path.join(root, 'wrapper/cc-ci-run');
  write(ccciRun, `#!/usr/bin/env bash
set -euo pipefail
${opts.wrapperBody ?? `export PATH=${sh(bin)}
export PYTHONPATH=${sh(pyPath)}
export PLAYWRIGHT_BROWSERS_PATH=${sh(browsers)}
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
exec python3 "$@"`}
`, 0o755);
  const config: Config = {
    ccciRepo,
    stateDir,
    recipesDir: path.join(root, 'recipes'),
    ccciRun,
    harnessScript: 'runner/run_recipe_ci.py',
    seedScript: 'runner/seed_canonical.py',
    upstreamUrl: `file://${root}/upstream/{recipe}.git`,
    mirrorUrl: undefined,
    giteaApi: undefined,
    mirrorTokenFile: undefined,
  };
  return { root, bin, pyPath, browsers, config, env: { PATH: process.env.PATH, HOME: root } };
}

const check = (r: DoctorReport, name: string) => {
  const c = r.checks.find((x) => x.name === name);
  if (!c) throw new Error(`no check ${name} in ${JSON.stringify(r.checks)}`);
  return c;
};
const tool = (r: DoctorReport, name: string) => r.tools.find((t) => t.tool === name);

describe('runDoctor probe through cc-ci-run', () => {
  it('all tools present: ok, and every tool resolves inside the harness env', async () => {
    const h = host();
    const r = await runDoctor(h.config, h.env);
    expect(r.checks.filter((c) => !c.ok)).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.ccciRun).toBe(h.config.ccciRun);
    expect(r.tools.map((t) => t.tool)).toEqual(HARNESS_TOOLS.map((t) => t.tool));
    for (const t of HARNESS_TOOLS) {
      const p = tool(r, t.tool)!;
      expect(p.ok, t.tool).toBe(true);
      expect(p.path, t.tool).toBe(
        t.kind === 'command' ? path.join(h.bin, t.tool) : path.join(h.pyPath, t.tool, '__init__.py'),
      );
    }
    expect(check(r, 'PLAYWRIGHT_BROWSERS_PATH').detail).toBe(h.browsers);
    expect(check(r, 'enrolment').detail).toContain(path.join(h.config.ccciRepo, 'tests'));
    expect(check(r, 'enrolment').detail).toMatch(/^1 enrolled/);
    // The state dir's write test leaves nothing behind.
    expect(readdirSync(h.config.stateDir)).toEqual([]);
    const text = renderDoctor(r);
    expect(text).toMatch(/^cc-ci-run\s+ok\s+/m);
    expect(text).toContain(path.join(h.bin, 'git-lfs'));
    expect(text).not.toMatch(/FAIL|MISSING/);
  });

  it('one tool missing from the harness env: not ok, and it is named', async () => {
    const h = host({ omit: ['git-lfs'] });
    const r = await runDoctor(h.config, h.env);
    expect(r.ok).toBe(false);
    expect(tool(r, 'git-lfs')).toMatchObject({ path: null, ok: false });
    expect(tool(r, 'git-lfs')!.detail).toContain('git-lfs');
    expect(r.tools.filter((t) => !t.ok).map((t) => t.tool)).toEqual(['git-lfs']);
    expect(check(r, 'probe')).toMatchObject({ ok: false, detail: 'missing in the harness env: git-lfs' });
    expect(renderDoctor(r)).toMatch(/^git-lfs\s+MISSING/m);
  });

  it('only the harness env counts: a tool on the caller\'s PATH but not the wrapper\'s is missing', async () => {
    const h = host({ omit: ['jq'] });
    const outside = path.join(h.root, 'outside');
    write(path.join(outside, 'jq'), '#!/bin/sh\n', 0o755);
    const r = await runDoctor(h.config, { ...h.env, PATH: `${outside}:${h.env.PATH}` });
    expect(tool(r, 'jq')).toMatchObject({ path: null, ok: false });
  });

  it('a python module the harness python cannot import is missing', async () => {
    const h = host({ omit: ['playwright'] });
    const r = await runDoctor(h.config, h.env);
    expect(r.ok).toBe(false);
    expect(tool(r, 'playwright')).toMatchObject({ path: null, ok: false });
    expect(tool(r, 'pytest')).toMatchObject({ ok: true });
  });

  it('cc-ci-run missing: a failed check and no probe', async () => {
    const h = host();
    rmSync(h.config.ccciRun);
    const r = await runDoctor(h.config, h.env);
    expect(r.ok).toBe(false);
    expect(r.ccciRun).toBeNull();
    expect(check(r, 'cc-ci-run')).toMatchObject({ ok: false });
    expect(check(r, 'cc-ci-run').detail).toContain(h.config.ccciRun);
    expect(r.tools).toEqual([]);
    expect(r.checks.find((c) => c.name === 'probe')).toBeUndefined();
    expect(renderDoctor(r)).toContain('not probed');
  });

  it('cc-ci-run by name is looked up on the given PATH', async () => {
    const h = host();
    const r = await runDoctor({ ...h.config, ccciRun: 'cc-ci-run' }, { ...h.env, PATH: path.dirname(h.config.ccciRun) + ':' + h.env.PATH });
    expect(r.ccciRun).toBe(h.config.ccciRun);
    expect(r.ok).toBe(true);
    const none = await runDoctor({ ...h.config, ccciRun: 'cc-ci-run' }, { ...h.env, PATH: h.bin });
    expect(check(none, 'cc-ci-run')).toMatchObject({ ok: false, detail: expect.stringContaining('not on PATH') });
  });

  it('a probe that fails to run is a failed check with the first line of its stderr', async () => {
    const h = host({ wrapperBody: 'echo "" >&2\necho "cc-ci-run: harness env broken" >&2\necho "second line" >&2\nexit 3' });
    const r = await runDoctor(h.config, h.env);
    expect(r.ok).toBe(false);
    expect(r.tools).toEqual([]);
    const p = check(r, 'probe');
    expect(p.ok).toBe(false);
    expect(p.detail).toMatch(/exit 3: cc-ci-run: harness env broken$/);
  });

  it('a probe that exits 0 without its result is a failed check', async () => {
    const h = host({ wrapperBody: 'echo "nothing to see"' });
    const r = await runDoctor(h.config, h.env);
    expect(check(r, 'probe')).toMatchObject({ ok: false, detail: expect.stringContaining('printed no result') });
  });

  it('runs the probe in the cc-ci repo with the given environment', async () => {
    const h = host();
    const seen = path.join(h.root, 'seen');
    h.config.ccciRun = path.join(h.root, 'wrapper/spy');
    write(h.config.ccciRun, `#!/usr/bin/env bash\npwd > ${sh(seen)}\necho "$DOCTOR_MARK" >> ${sh(seen)}\nexec ${sh(path.join(h.root, 'wrapper/cc-ci-run'))} "$@"\n`, 0o755);
    const r = await runDoctor(h.config, { ...h.env, DOCTOR_MARK: 'from-env' });
    expect(r.ok).toBe(true);
    expect(readFileSync(seen, 'utf8')).toBe(`${h.config.ccciRepo}\nfrom-env\n`);
  });
});

describe('runDoctor configuration checks', () => {
  it('missing cc-ci repo: failed check naming the path; the probe still runs', async () => {
    const h = host();
    const config = { ...h.config, ccciRepo: path.join(h.root, 'nope') };
    const r = await runDoctor(config, h.env);
    expect(r.ok).toBe(false);
    expect(check(r, 'cc-ci repo')).toMatchObject({ ok: false, detail: expect.stringContaining(config.ccciRepo) });
    expect(r.tools.every((t) => t.ok)).toBe(true);
  });

  it('no tests/ folder, or nothing enrolled: failed checks', async () => {
    const h = host();
    rmSync(path.join(h.config.ccciRepo, 'tests/app'), { recursive: true });
    const r = await runDoctor(h.config, h.env);
    expect(check(r, 'enrolment')).toMatchObject({ ok: false, detail: expect.stringMatching(/^0 enrolled under .*tests/) });
    rmSync(path.join(h.config.ccciRepo, 'tests'), { recursive: true });
    const r2 = await runDoctor(h.config, h.env);
    expect(check(r2, 'cc-ci repo')).toMatchObject({ ok: false, detail: expect.stringContaining('no tests/') });
  });

  it('an invalid recipe_meta.py fails enrolment', async () => {
    const h = host();
    write(path.join(h.config.ccciRepo, 'tests/bad/recipe_meta.py'), 'WARM_CANONICAL = maybe\n');
    const r = await runDoctor(h.config, h.env);
    expect(check(r, 'enrolment')).toMatchObject({ ok: false, detail: expect.stringContaining('bad: WARM_CANONICAL') });
  });

  it('state dir: missing under a writable parent is fine and is not created; a file is not', async () => {
    const h = host();
    const missing = path.join(h.root, 'fresh/state');
    const r = await runDoctor({ ...h.config, stateDir: missing }, h.env);
    expect(check(r, 'state dir')).toMatchObject({ ok: true, detail: expect.stringContaining('does not exist yet') });
    expect(existsSync(path.join(h.root, 'fresh'))).toBe(false);
    const file = path.join(h.root, 'a-file');
    write(file, 'x');
    const r2 = await runDoctor({ ...h.config, stateDir: file }, h.env);
    expect(check(r2, 'state dir')).toMatchObject({ ok: false, detail: `${file} is not a directory` });
  });

  it('state dir not writable: failed check (as an unprivileged user when the tests run as root)', async () => {
    const h = host();
    chmodSync(h.config.stateDir, 0o555);
    cleanups.push(() => chmodSync(h.config.stateDir, 0o755));
    if (process.getuid?.() !== 0) {
      const r = await runDoctor(h.config, h.env);
      expect(check(r, 'state dir')).toMatchObject({ ok: false, detail: expect.stringContaining('not writable') });
      return;
    }
    // Root may write anywhere, so this case needs a user who may not: CCCI_TEST_USER (.ci/run creates one)
    // or nobody. The CLI runs as that user, no skip.
    const user = process.env.CCCI_TEST_USER ?? 'nobody';
    const id = (flag: string) => execFileSync('id', [flag, user], { encoding: 'utf8' }).trim();
    chmodSync(h.root, 0o755);
    // It may read everything (CAP_DAC_READ_SEARCH: the checkout may sit in root's 0700 home), write nothing
    // root's mode bits forbid it.
    const r = await execa('setpriv', [`--reuid=${id('-u')}`, `--regid=${id('-g')}`, '--clear-groups',
      '--inh-caps=+dac_read_search', '--ambient-caps=+dac_read_search', '--',
      'node', CLI_BIN, 'doctor', '--json', '--ccci-repo', h.config.ccciRepo, '--state-dir', h.config.stateDir, '--cc-ci-run', h.config.ccciRun], {
      env: { ...h.env, LANG: 'C', CCCI_SETTINGS: path.join(h.root, 'none.toml') }, extendEnv: false, reject: false, stdin: 'ignore',
    });
    expect(r.exitCode, `${user} must be able to read ${CLI_BIN}: ${String(r.stderr)}`).toBe(1);
    expect(check(JSON.parse(String(r.stdout)) as DoctorReport, 'state dir')).toMatchObject({ ok: false, detail: expect.stringContaining('not writable') });
  });

  it('harness script missing fails; seed script missing is only noted', async () => {
    const h = host();
    unlinkSync(path.join(h.config.ccciRepo, 'runner/run_recipe_ci.py'));
    const r = await runDoctor(h.config, h.env);
    expect(check(r, 'harness script')).toMatchObject({ ok: false });
    expect(check(r, 'seed script')).toMatchObject({ ok: true, detail: expect.stringContaining('absent') });
    expect(r.ok).toBe(false);
  });
});

describe('HARNESS_TOOLS and nix/harness-env.nix', () => {
  // Evaluated with the stand-in package set of test/nix/stubs. Each tool is named by the attribute of
  // `pkgs` it is (found by store path, not by name), pyEnv as `python3`; pyEnv's Python packages by name.
  const harnessEnv = async () => nixEval<{ tools: string[][]; pyPackages: string[]; env: string[] }>(`${prelude()}
    let
      # nixpkgs has no abra; a host supplies one (the stand-in's attribute is abra-stand-in).
      h = import ${nixStr(path.join(nixDir, 'harness-env.nix'))} { inherit pkgs; abra = pkgs.abra-stand-in; };
      attrOf = t: if t.outPath == h.pyEnv.outPath then [ "python3" ]
        else if t.outPath == pkgs.abra-stand-in.outPath then [ "abra" ]
        else builtins.filter (n: (pkgs.\${n}.outPath or null) == t.outPath) (builtins.attrNames pkgs);
    in { tools = map attrOf h.tools; pyPackages = h.pyEnv.pythonPackages; env = builtins.attrNames h.env; }`);

  it('probes exactly one command of every package in harness-env tools', async () => {
    const h = await harnessEnv();
    for (const attrs of h.tools) expect(attrs).toHaveLength(1);
    const nixTools = h.tools.map((a) => a[0]!).sort();
    const probed = HARNESS_TOOLS.filter((t) => t.kind === 'command').map((t) => t.nix).sort();
    expect(probed).toEqual(nixTools);
    expect(new Set(HARNESS_TOOLS.map((t) => t.tool)).size).toBe(HARNESS_TOOLS.length);
  });

  it('probes exactly the Python modules of pyEnv', async () => {
    const h = await harnessEnv();
    const nixModules = h.pyPackages.map((n) => n.replace(/^python3-/, '')).sort();
    expect(HARNESS_TOOLS.filter((t) => t.kind === 'python-module').map((t) => t.nix).sort()).toEqual(nixModules);
  });

  it('the shared tools the sweep relies on are all probed', () => {
    const names = HARNESS_TOOLS.map((t) => t.tool);
    for (const t of ['bash', 'git', 'git-lfs', 'script', 'docker', 'abra', 'curl', 'jq', 'openssl', 'python3', 'pytest', 'playwright']) {
      expect(names).toContain(t);
    }
    expect(HARNESS_TOOLS.find((t) => t.tool === 'script')!.nix).toBe('util-linux');
  });

  it('the probe reports PLAYWRIGHT_BROWSERS_PATH, which harness-env sets', async () => {
    expect((await harnessEnv()).env).toContain('PLAYWRIGHT_BROWSERS_PATH');
  });
});

describe('ccci-sweep doctor (the CLI)', () => {
  const BIN = path.resolve(import.meta.dirname, '../../bin/ccci-sweep.js');
  const doctor = (h: Host) =>
    execa('node', [BIN, 'doctor', '--json', '--ccci-repo', h.config.ccciRepo, '--state-dir', h.config.stateDir, '--cc-ci-run', h.config.ccciRun,
      '--upstream-url', h.config.upstreamUrl], {
      env: { ...h.env, CCCI_SETTINGS: path.join(h.root, 'none.toml') }, extendEnv: false, reject: false,
    });

  it('exits 0 when every tool resolves inside the harness env', async () => {
    const r = await doctor(host());
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const report = JSON.parse(String(r.stdout)) as DoctorReport;
    expect(report.ok).toBe(true);
    expect(report.tools.every((t) => t.ok)).toBe(true);
  });

  it('exits 1 and names the missing tool', async () => {
    const r = await doctor(host({ omit: ['git-lfs'] }));
    expect(r.exitCode).toBe(1);
    const report = JSON.parse(String(r.stdout)) as DoctorReport;
    expect(report.tools.filter((t) => !t.ok).map((t) => t.tool)).toEqual(['git-lfs']);
  });
});

describe('doctor reads upstream as plan does', () => {
  const BIN = path.resolve(import.meta.dirname, '../../bin/ccci-sweep.js');
  const doctor = (h: Host, upstreamUrl: string, env: Record<string, string> = {}) =>
    execa('node', [BIN, 'doctor', '--json', '--ccci-repo', h.config.ccciRepo, '--state-dir', h.config.stateDir, '--cc-ci-run', h.config.ccciRun,
      '--upstream-url', upstreamUrl], {
      env: { ...h.env, CCCI_SETTINGS: path.join(h.root, 'none.toml'), ...env }, extendEnv: false, reject: false,
    });

  it('probes one git ls-remote with the operator\'s git configuration (GIT_CONFIG_GLOBAL insteadOf)', async () => {
    const h = host();
    const global = path.join(h.root, 'operator.gitconfig');
    writeFileSync(global, `[url "file://${h.root}/upstream/"]\n\tinsteadOf = https://forge.example.invalid/\n`);
    const r = await doctor(h, 'https://forge.example.invalid/{recipe}.git', { GIT_CONFIG_GLOBAL: global, GIT_EXEC_PATH: '/nonexistent' });
    const report = JSON.parse(String(r.stdout)) as DoctorReport;
    expect(check(report, 'git ls-remote')).toMatchObject({ ok: true, detail: expect.stringContaining('https://forge.example.invalid/app.git: 0 tags') });
    expect(r.exitCode).toBe(0);
  });

  it('names a TMPDIR that does not exist instead of failing inside git', async () => {
    const h = host();
    const missing = path.join(h.root, 'no-such-tmp');
    const r = await doctor(h, h.config.upstreamUrl, { TMPDIR: missing });
    expect(r.exitCode).toBe(1);
    const report = JSON.parse(String(r.stdout)) as DoctorReport;
    expect(check(report, 'git ls-remote')).toMatchObject({ ok: false, detail: expect.stringContaining(`TMPDIR=${missing} does not exist`) });
    expect(check(report, 'probe')).toMatchObject({ ok: false, detail: expect.stringContaining(missing) });
  });

  it('fails, in git\'s words, when plan could not read upstream', async () => {
    const h = host();
    const r = await doctor(h, `file://${h.root}/nowhere/{recipe}.git`);
    const report = JSON.parse(String(r.stdout)) as DoctorReport;
    expect(check(report, 'git ls-remote')).toMatchObject({ ok: false, detail: expect.stringMatching(/^git ls-remote file:\S+nowhere\/app\.git failed: fatal: /) });
    expect(r.exitCode).toBe(1);
  });
});
