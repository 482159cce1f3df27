// Shared helpers for the Nix tests: run nix-instantiate, build expressions over the stand-in
// package set / lib / module evaluator in test/nix/stubs, render systemd units the way NixOS does
// for the attributes nix/ uses.
import { cpSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const nixDir = path.join(repoRoot, 'nix');
export const stubsDir = path.join(repoRoot, 'test/nix/stubs');

/** Every .nix file under `dir`, recursively, sorted. */
export function findNixFiles(dir: string = nixDir): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...findNixFiles(full));
    else if (entry.isFile() && entry.name.endsWith('.nix')) out.push(full);
  }
  return out.sort();
}

/** A Nix string literal holding `s`. */
export function nixStr(s: string): string {
  return `"${s.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('${', '\\${')}"`;
}

/** Evaluates `expr` strictly and returns its JSON value; a failed evaluation throws with Nix's message. */
export async function nixEval<T>(expr: string): Promise<T> {
  const r = await execa('nix-instantiate', ['--eval', '--strict', '--json', '--expr', expr], { reject: false });
  if (r.exitCode !== 0) throw new Error(`nix-instantiate failed (exit ${r.exitCode}):\n${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** Evaluates `expr`, which must fail; returns Nix's error output. */
export async function nixEvalError(expr: string): Promise<string> {
  const r = await execa('nix-instantiate', ['--eval', '--strict', '--json', '--expr', expr], { reject: false });
  if (r.exitCode === 0) throw new Error(`expected the evaluation to fail, it gave: ${r.stdout}`);
  return r.stderr;
}

export interface StandIn {
  /** Root of the nix/ tree to evaluate (the real one, or a modified copy). */
  root?: string;
  /** Where the stand-in packages "live"; packages are `${storeDir}/${name}`. */
  storeDir?: string;
}

export const DEFAULT_STORE = '/nix/store/stand-in';

/**
 * `let ... in` binding, for the expression that follows:
 *   lib, pkgs, utils   the stand-ins
 *   root               the nix/ tree, as a string (import works on absolute path strings)
 *   evalHost modules   config of a stand-in NixOS system made of `modules` (base options included)
 *   names              package list -> names
 */
export function prelude({ root = nixDir, storeDir = DEFAULT_STORE }: StandIn = {}): string {
  const stub = (f: string) => nixStr(path.join(stubsDir, f));
  return `
    let
      lib = import ${stub('lib.nix')};
      # The one unfree package nix/ uses is allowed, as the README tells operators to.
      pkgs = import ${stub('pkgs.nix')} {
        inherit lib; storeDir = ${nixStr(storeDir)};
        config.allowUnfreePredicate = p: (p.pname or "") == "drone-runner-exec";
      };
      utils = import ${stub('utils.nix')};
      root = ${nixStr(root)};
      evalHost = modules: (lib.evalModules {
        modules = [ ${stub('nixos-base.nix')} ] ++ modules;
        specialArgs = { inherit pkgs utils; };
      }).config;
      # As system.build.toplevel (nixos/modules/system/activation/top-level.nix): failed assertions
      # stop the evaluation with their messages.
      checkHost = modules:
        let
          cfg = evalHost modules;
          failed = map (a: a.message) (builtins.filter (a: !a.assertion) cfg.assertions);
        in
        if failed != [ ] then throw "\nFailed assertions:\n\${builtins.concatStringsSep "\n" (map (m: "- \${m}") failed)}"
        else cfg;
      # Makes a module: a host that is complete (docker, the harness user, abra) apart from what it is given.
      baseHost = { lib, ... }: {
        virtualisation.docker.enable = lib.mkDefault true;
        users.users.ccci = { isSystemUser = true; group = "ccci"; extraGroups = [ "docker" ]; home = "/var/lib/ccci"; };
        ccci.harness.abra = lib.mkDefault pkgs.abra-stand-in;
        services.ccci-sweep.npmRegistry = lib.mkDefault "http://127.0.0.1:4873";
      };
      names = map (p: p.name);
    in`;
}

/** A temp dir removed by the returned cleanup. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A copy of nix/ in `dest` whose harness-env.nix is replaced by a wrapper around the real one:
 * `toolsExpr` is a Nix expression over `orig` (the real result) and `args` giving the new tools.
 * Consumers import harness-env.nix by path, so whatever reaches them came from this file.
 */
export function copyTreeWithHarnessTools(dest: string, toolsExpr: string): string {
  const root = path.join(dest, 'nix');
  cpSync(nixDir, root, { recursive: true });
  cpSync(path.join(repoRoot, 'package.json'), path.join(dest, 'package.json')); // read by package.nix
  renameSync(path.join(root, 'harness-env.nix'), path.join(root, 'harness-env.real.nix'));
  writeFileSync(
    path.join(root, 'harness-env.nix'),
    `args: let orig = import ./harness-env.real.nix args; in orig // { tools = ${toolsExpr}; }\n`,
  );
  return root;
}

// ---- systemd units, rendered from the evaluated NixOS attributes ----

export type UnitValue = string | number | boolean | string[];
export interface UnitAttrs {
  description?: string;
  wantedBy?: string[];
  after?: string[];
  before?: string[];
  wants?: string[];
  requires?: string[];
  onFailure?: string[];
  unitConfig?: Record<string, UnitValue>;
  path?: string[];
  environment?: Record<string, string>;
  serviceConfig?: Record<string, UnitValue>;
  timerConfig?: Record<string, UnitValue>;
  /** NixOS switch behaviour; not part of the unit file. */
  restartIfChanged?: boolean;
}

const KNOWN_KEYS = new Set([
  'description', 'wantedBy', 'after', 'before', 'wants', 'requires', 'onFailure', 'unitConfig', 'path', 'environment',
  'serviceConfig', 'timerConfig', 'restartIfChanged',
]);

function lines(key: string, value: UnitValue): string[] {
  const values = Array.isArray(value) ? value : [value];
  return values.map((v) => `${key}=${typeof v === 'boolean' ? (v ? 'true' : 'false') : String(v)}`);
}

/**
 * A unit file as NixOS writes it for these attributes (nixos/lib/systemd-lib.nix serviceToUnit,
 * timerToUnit, commonUnitText): `environment` (PATH included: the stand-in NixOS computes it from
 * `path` as NixOS does) becomes JSON-quoted Environment= lines, `restartIfChanged = false` becomes
 * X-RestartIfChanged=false, lists repeat their key, booleans are true/false. [Install] is written
 * too so `systemd-analyze verify` checks WantedBy=. An attribute this renderer does not know is an
 * error rather than silently dropped.
 */
export function renderUnit(kind: 'service' | 'timer', u: UnitAttrs): string {
  const unknown = Object.keys(u).filter((k) => !KNOWN_KEYS.has(k));
  if (unknown.length > 0) throw new Error(`renderUnit: unknown attributes ${unknown.join(', ')}`);
  const out: string[] = ['[Unit]'];
  if (u.description !== undefined) out.push(`Description=${u.description}`);
  for (const [attr, key] of [['after', 'After'], ['before', 'Before'], ['wants', 'Wants'], ['requires', 'Requires'], ['onFailure', 'OnFailure']] as const) {
    const v = u[attr];
    if (v && v.length > 0) out.push(`${key}=${v.join(' ')}`);
  }
  for (const [k, v] of Object.entries(u.unitConfig ?? {})) out.push(...lines(k, v));

  if (kind === 'service') {
    out.push('', '[Service]');
    for (const [k, v] of Object.entries(u.environment ?? {})) out.push(`Environment=${JSON.stringify(`${k}=${v}`)}`);
    if (u.restartIfChanged === false) out.push('X-RestartIfChanged=false');
    for (const [k, v] of Object.entries(u.serviceConfig ?? {})) out.push(...lines(k, v));
  } else {
    out.push('', '[Timer]');
    for (const [k, v] of Object.entries(u.timerConfig ?? {})) out.push(...lines(k, v));
  }
  if (u.wantedBy && u.wantedBy.length > 0) out.push('', '[Install]', `WantedBy=${u.wantedBy.join(' ')}`);
  return `${out.join('\n')}\n`;
}

/** Words of an ExecStart= line: double-quoted words unquoted (JSON rules), others split on spaces. */
export function execStartWords(execStart: string): string[] {
  const words: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (const m of execStart.matchAll(re)) words.push(m[1] !== undefined ? (JSON.parse(`"${m[1]}"`) as string) : m[2]!);
  return words;
}
