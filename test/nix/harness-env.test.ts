// nix/harness-env.nix, evaluated with the stand-in package set, covers every list it replaced.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_STORE, nixDir, nixEval, nixEvalError, nixStr, prelude } from './helpers.js';

// The lists that drifted (issue 4), by package name. 'python3-env' is the stand-in pyEnv.
const PRIOR_LISTS: Record<string, string[]> = {
  'cc-ci-run (harness module)': ['python3-env', 'abra', 'docker', 'git', 'coreutils', 'util-linux'],
  'nightly sweep module': ['bash', 'abra', 'docker', 'git', 'curl', 'jq', 'gnused', 'gnugrep', 'gnutar', 'coreutils',
    'util-linux', 'procps', 'python3-env'],
  'host A systemPackages': ['curl', 'git', 'jq', 'openssh'],
  'host B systemPackages': ['curl', 'git', 'git-lfs', 'jq', 'openssh'],
  'recipe tests shell out to': ['openssl', 'git-lfs', 'util-linux'],
  // What the tools above exec at run time (issue 13): GNU tar runs gzip/xz, snippets use awk, diff,
  // which, hostname, find.
  'run-time needs of the tools': ['gzip', 'xz', 'gawk', 'diffutils', 'which', 'hostname-debian', 'findutils'],
};

interface HarnessEval {
  tools: string[];
  pyEnvName: string;
  pyPackages: string[];
  env: Record<string, string>;
}

const harnessFile = nixStr(path.join(nixDir, 'harness-env.nix'));

async function evalHarness(args = '{ inherit pkgs; abra = pkgs.abra-stand-in; }'): Promise<HarnessEval> {
  return nixEval<HarnessEval>(`${prelude()}
    let h = import ${harnessFile} ${args}; in {
      tools = names h.tools;
      pyEnvName = h.pyEnv.name;
      pyPackages = h.pyEnv.pythonPackages;
      env = h.env;
    }`);
}

describe('harness-env.nix', () => {
  it.each(Object.entries(PRIOR_LISTS))('covers the %s list', async (_what, list) => {
    const { tools } = await evalHarness();
    expect(list.filter((n) => !tools.includes(n))).toEqual([]);
  });

  it('has one Python environment, with pytest and playwright, and no duplicate tools', async () => {
    const h = await evalHarness();
    expect(h.tools.filter((n) => n.startsWith('python3'))).toEqual([h.pyEnvName]);
    expect(h.pyPackages.sort()).toEqual(['python3-playwright', 'python3-pytest']);
    expect(new Set(h.tools).size).toBe(h.tools.length);
  });

  it('points Playwright at the store browsers, forbids downloads, fixes ABRA_DIR and declares the LFS filters', async () => {
    const { env } = await evalHarness();
    expect(env).toMatchObject({
      PLAYWRIGHT_BROWSERS_PATH: `${DEFAULT_STORE}/playwright-browsers`,
      PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1',
      ABRA_DIR: '/var/lib/ccci-abra',
    });
    // GIT_CONFIG_* as git reads them: COUNT pairs of KEY_n / VALUE_n.
    const n = Number(env.GIT_CONFIG_COUNT);
    const cfg = Object.fromEntries(Array.from({ length: n }, (_, i) => [env[`GIT_CONFIG_KEY_${i}`], env[`GIT_CONFIG_VALUE_${i}`]]));
    expect(cfg).toEqual({
      'filter.lfs.process': 'git-lfs filter-process',
      'filter.lfs.required': 'true',
      'filter.lfs.clean': 'git-lfs clean',
      'filter.lfs.smudge': 'git-lfs smudge',
    });
    // A `%` would be a specifier once the value is in a unit's Environment= line.
    expect(Object.values(env).filter((v) => v.includes('%'))).toEqual([]);
  });

  it('a real git applies the declared LFS filter', async () => {
    // git itself reads the env: the filter is configured for a repository that never ran `git lfs install`.
    const { env } = await evalHarness();
    const { execa } = await import('execa');
    const r = await execa('git', ['config', '--get', 'filter.lfs.process'], {
      env: { ...env, PATH: process.env.PATH ?? '', HOME: '/nonexistent' }, extendEnv: false, reject: false, cwd: '/',
    });
    expect(r.stdout).toBe('git-lfs filter-process');
  });

  it('without abra, says what to pass (nixpkgs has no pkgs.abra)', async () => {
    const err = await nixEvalError(`${prelude()}
      names (import ${harnessFile} { inherit pkgs; }).tools`);
    expect(err).toMatch(/no abra package.*pass abra = <an abra package>, or on NixOS set ccci\.harness\.abra/);
  });

  it('takes abra from the caller when given', async () => {
    const { tools } = await evalHarness(
      `{ inherit pkgs; abra = pkgs.abra-stand-in // { name = "abra-from-flake"; outPath = "/nix/store/x-abra"; }; }`,
    );
    expect(tools).toContain('abra-from-flake');
    expect(tools).not.toContain('abra');
  });
});
