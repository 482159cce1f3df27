// nix/harness-env.nix, evaluated with the stand-in package set, covers every list it replaced.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_STORE, nixDir, nixEval, nixStr, prelude } from './helpers.js';

// The lists that drifted (issue 4), by package name. 'python3-env' is the stand-in pyEnv.
const PRIOR_LISTS: Record<string, string[]> = {
  'cc-ci-run (harness module)': ['python3-env', 'abra', 'docker', 'git', 'coreutils', 'util-linux'],
  'nightly sweep module': ['bash', 'abra', 'docker', 'git', 'curl', 'jq', 'gnused', 'gnugrep', 'gnutar', 'coreutils',
    'util-linux', 'procps', 'python3-env'],
  'host A systemPackages': ['curl', 'git', 'jq', 'openssh'],
  'host B systemPackages': ['curl', 'git', 'git-lfs', 'jq', 'openssh'],
  'recipe tests shell out to': ['openssl', 'git-lfs', 'util-linux'],
};

interface HarnessEval {
  tools: string[];
  pyEnvName: string;
  pyPackages: string[];
  env: Record<string, string>;
}

const harnessFile = nixStr(path.join(nixDir, 'harness-env.nix'));

async function evalHarness(args = '{ inherit pkgs; }'): Promise<HarnessEval> {
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

  it('points Playwright at the store browsers and forbids downloads', async () => {
    const { env } = await evalHarness();
    expect(env).toEqual({
      PLAYWRIGHT_BROWSERS_PATH: `${DEFAULT_STORE}/playwright-browsers`,
      PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1',
    });
  });

  it('takes abra from the caller when given', async () => {
    const { tools } = await evalHarness(
      `{ inherit pkgs; abra = pkgs.abra // { name = "abra-from-flake"; outPath = "/nix/store/x-abra"; }; }`,
    );
    expect(tools).toContain('abra-from-flake');
    expect(tools).not.toContain('abra');
  });
});
