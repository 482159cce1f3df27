// harness-env.nix is the only list: whatever it holds reaches every consumer, and no consumer adds
// tools of its own. Checked by evaluation (with a modified harness-env in a copy of nix/) and by a
// scan of the sources.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyTreeWithHarnessTools, findNixFiles, nixDir, nixEval, nixEvalError, nixStr, prelude, tempDir } from './helpers.js';

interface Consumers {
  harness: string[];
  ccciRunInputs: string[];
  defaultNixCcciRunInputs: string[];
  nightlyPath: string[];
  weeklyPath: string[];
  dronePath: string[];
  woodpeckerPath: string[];
  systemPackages: string[];
}

/** Consumer lists of the example host (which enables everything), evaluated from the tree at `root`. */
async function evalConsumers(root: string): Promise<Consumers> {
  return nixEval<Consumers>(`${prelude({ root })}
    let
      # The example host runs the Woodpecker agent; the Drone runner is enabled too, to check its path.
      cfg = evalHost [ (root + "/hosts/example.nix") { services.ccci-drone-runner.enable = true; } ];
      svc = cfg.systemd.services;
      top = import (root + "/default.nix") { inherit pkgs; abra = pkgs.abra-stand-in; };
    in {
      harness = names (import (root + "/harness-env.nix") { inherit pkgs; abra = pkgs.abra-stand-in; }).tools;
      ccciRunInputs = names cfg.ccci.harness.package.runtimeInputs;
      defaultNixCcciRunInputs = names top.cc-ci-run.runtimeInputs;
      nightlyPath = names svc.ccci-sweep-nightly.path;
      weeklyPath = names svc.ccci-sweep-weekly.path;
      dronePath = names svc.drone-runner-exec.path;
      woodpeckerPath = names svc.woodpecker-agent-ccci.path;
      systemPackages = names cfg.environment.systemPackages;
    }`);
}

// What a consumer may hold besides the harness tools: programs, not tools, and what NixOS itself
// appends to every unit's path (nixos/lib/systemd-lib.nix), which is not ours to list.
const NIXOS_UNIT_PATH = ['coreutils', 'findutils', 'gnugrep', 'gnused', 'systemd'];
const ALLOWED_EXTRAS: Record<Exclude<keyof Consumers, 'harness'>, string[]> = {
  ccciRunInputs: [],
  defaultNixCcciRunInputs: [],
  nightlyPath: NIXOS_UNIT_PATH,
  weeklyPath: NIXOS_UNIT_PATH,
  dronePath: ['cc-ci-run', ...NIXOS_UNIT_PATH], // pipelines call the wrapper
  woodpeckerPath: ['cc-ci-run', ...NIXOS_UNIT_PATH],
  systemPackages: ['cc-ci-run', 'ccci-sweep'], // ccci-sweep: the admin wrapper
};
const unique = (xs: string[]) => [...new Set(xs)].sort();
const CONSUMERS = Object.keys(ALLOWED_EXTRAS) as (keyof typeof ALLOWED_EXTRAS)[];

const MARKER = 'zz-marker-tool';
const markerPkg = `{ type = "derivation"; name = "${MARKER}"; outPath = "/nix/store/stand-in/${MARKER}"; }`;

describe('one list, every consumer', () => {
  let tmp: ReturnType<typeof tempDir>;
  let real: Consumers;
  let appended: Consumers;
  let replaced: Consumers;

  beforeAll(async () => {
    tmp = tempDir('ccci-nix-');
    const appendRoot = copyTreeWithHarnessTools(path.join(tmp.dir, 'append'), `orig.tools ++ [ ${markerPkg} ]`);
    const replaceRoot = copyTreeWithHarnessTools(path.join(tmp.dir, 'replace'), `[ ${markerPkg} ]`);
    [real, appended, replaced] = await Promise.all([
      evalConsumers(nixDir), evalConsumers(appendRoot), evalConsumers(replaceRoot),
    ]);
  });
  afterAll(() => tmp?.cleanup());

  it.each(CONSUMERS)('%s holds exactly the harness tools (plus its own programs)', (c) => {
    expect(real.harness.length).toBeGreaterThan(5);
    expect(unique(real[c].filter((n) => !real.harness.includes(n))))
      .toEqual(unique(ALLOWED_EXTRAS[c].filter((n) => !real.harness.includes(n))));
    expect(real.harness.filter((n) => !real[c].includes(n))).toEqual([]);
    expect(real[c]).not.toContain(MARKER);
  });

  it.each(CONSUMERS)('a tool added to harness-env.nix reaches %s', (c) => {
    expect(appended.harness).toContain(MARKER);
    expect(appended[c]).toContain(MARKER);
    expect(appended[c].filter((n) => n !== MARKER)).toEqual(real[c]);
    // NixOS's five come after the harness list, never before it (mkAfter).
    if (NIXOS_UNIT_PATH.every((n) => ALLOWED_EXTRAS[c].includes(n))) {
      expect(appended[c].slice(-NIXOS_UNIT_PATH.length)).toEqual(NIXOS_UNIT_PATH);
    }
  });

  it.each(CONSUMERS)('%s has no tool that harness-env.nix does not list', (c) => {
    // harness-env.nix now lists only the marker: anything else left in a consumer came from elsewhere.
    expect(replaced.harness).toEqual([MARKER]);
    expect(unique(replaced[c].filter((n) => n !== MARKER))).toEqual(unique(ALLOWED_EXTRAS[c]));
  });

  it('refuses a second definition of the harness tools in a host', async () => {
    const err = await nixEvalError(`${prelude()}
      names (evalHost [ (root + "/hosts/example.nix") ({ pkgs, ... }: { ccci.harness.tools = [ pkgs.curl ]; }) ])
        .systemd.services.ccci-sweep-nightly.path`);
    expect(err).toMatch(/ccci\.harness\.tools' is read-only/);
  });
});

// ---- the source scan ----

/** Nix source without comments (# to end of line, and /* *\/), string contents kept. */
export function stripNixComments(src: string): string {
  let out = '';
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    const two = src.slice(i, i + 2);
    if (c === '#') {
      while (i < src.length && src[i] !== '\n') i++;
    } else if (two === '/*') {
      const end = src.indexOf('*/', i + 2);
      i = end < 0 ? src.length : end + 2;
    } else if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1;
      out += src.slice(i, j + 1);
      i = j + 1;
    } else if (two === "''") {
      let j = i + 2;
      for (;;) {
        const k = src.indexOf("''", j);
        if (k < 0) { j = src.length; break; }
        if (src[k + 2] === "'" || src[k + 2] === '$' || src[k + 2] === '\\') { j = k + 3; continue; } // escapes
        j = k + 2;
        break;
      }
      out += src.slice(i, j);
      i = j;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Why `src` (a .nix file other than harness-env.nix) declares a tool list, or [] if it does not. */
export function toolListViolations(src: string, toolAttrs: string[]): string[] {
  const code = stripNixComments(src);
  const found: string[] = [];
  const rules: [RegExp, string][] = [
    [/withPackages/, 'builds a Python environment (withPackages)'],
    [/\bpkgs\s*\.\s*python\w*/, 'takes a Python from pkgs (a second pyEnv)'],
    [/\bwith\s+pkgs\s*;/, 'uses `with pkgs;` (a hidden package list)'],
    [/inherit\s*\(\s*pkgs\s*\)/, 'inherits packages from pkgs'],
    [/\bPATH\s*=/, 'sets PATH'],
    ...toolAttrs.map((t): [RegExp, string] => [
      new RegExp(`\\bpkgs\\s*\\.\\s*(?:${escapeRe(t)}|"${escapeRe(t)}")(?![\\w-])`), `refers to pkgs.${t}`,
    ]),
  ];
  for (const [re, why] of rules) if (re.test(code)) found.push(why);
  return found;
}

describe('no second tool list in the sources', () => {
  const files = findNixFiles(nixDir);
  const harnessFile = path.join(nixDir, 'harness-env.nix');
  let toolAttrs: string[];

  beforeAll(async () => {
    // The attribute names harness-env.nix takes from pkgs (stand-in packages are named after their
    // attribute; the Python environment is built from python3), plus the names from the issue.
    const names = await nixEval<string[]>(`${prelude()}
      names (import ${nixStr(harnessFile)} { inherit pkgs; abra = pkgs.abra-stand-in; }).tools`);
    toolAttrs = [...new Set([
      ...names.map((n) => (n === 'python3-env' ? 'python3' : n)),
      'bash', 'git', 'git-lfs', 'curl', 'jq', 'gnused', 'gnugrep', 'gnutar', 'coreutils', 'util-linux', 'procps',
      'openssh', 'openssl', 'docker', 'abra', 'gzip', 'xz', 'gawk', 'diffutils', 'which', 'hostname-debian', 'findutils',
    ])];
  });

  // Where pkgs.abra is named as the default of the abra option (and in the message saying it is
  // missing): the package the host supplies, handed to harness-env.nix, not a second list.
  const ABRA_DEFAULT = /\bpkgs\.abra(?= or null| \()/g;

  it('the scan catches what it is meant to catch', () => {
    expect(toolListViolations('{ pkgs, ... }: { path = [ pkgs.git ]; }', toolAttrs)).toEqual(['refers to pkgs.git']);
    expect(toolListViolations('{ pkgs }: with pkgs; [ jq ]', toolAttrs)).toHaveLength(1);
    expect(toolListViolations('{ pkgs }: pkgs."git-lfs"', toolAttrs)).toEqual(['refers to pkgs.git-lfs']);
    expect(toolListViolations('x: { environment.PATH = "/run/current-system/sw/bin:$PATH"; }', toolAttrs))
      .toEqual(['sets PATH']);
    expect(toolListViolations('{ pkgs }: pkgs.python3.withPackages (ps: [ ])', toolAttrs))
      .toEqual(expect.arrayContaining(['builds a Python environment (withPackages)', 'refers to pkgs.python3']));
    expect(toolListViolations('{ pkgs }: pkgs.python312.buildEnv', toolAttrs))
      .toEqual(['takes a Python from pkgs (a second pyEnv)']);
    // Comments do not count, neither do longer names that merely start like a tool.
    expect(toolListViolations('# was: pkgs.git, PATH prepend\n{ pkgs }: [ pkgs.git-crypt pkgs.jqq ]', toolAttrs))
      .toEqual([]);
  });

  it.each(files.filter((f) => f !== harnessFile).map((f) => [path.relative(nixDir, f), f]))(
    '%s declares no tools', (_rel, file) => {
      expect(toolListViolations(readFileSync(file, 'utf8').replace(ABRA_DEFAULT, 'ABRA_OPTION_DEFAULT'), toolAttrs)).toEqual([]);
    },
  );

  it.each(files.map((f) => [path.relative(nixDir, f), f]))('%s does not mention /run/current-system', (_rel, file) => {
    expect(readFileSync(file, 'utf8')).not.toContain('/run/current-system');
  });

  it('harness-env.nix holds the one pyEnv', () => {
    const code = stripNixComments(readFileSync(harnessFile, 'utf8'));
    expect(code.match(/withPackages/g)).toHaveLength(1);
  });
});
