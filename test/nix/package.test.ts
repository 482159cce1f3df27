// nix/package.nix against package.json: what buildNpmPackage is given, and the assumptions the
// module makes about the result ($out/bin/ccci-sweep, linked from package.json's bin). The lock
// rewrite (nix/npm-lock.nix) is shown by plain evaluation: every registry dependency gets a URL
// under the given base, with its integrity untouched.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { nixEval, nixEvalError, nixStr, prelude, repoRoot } from './helpers.js';

interface PackageArgs {
  pname: string;
  version: string;
  nodejs: string;
  npmBuildScript: string;
  npmDepsHash: string;
  mainProgram: string;
  srcRoot: string;
  srcFiles: string[];
  postPatch: string;
  lockFile: string;
  lockText: string;
}

interface LockEntry { version?: string; integrity?: string; resolved?: string; link?: boolean; inBundle?: boolean; name?: string }
interface Lock { lockfileVersion: number; packages: Record<string, LockEntry> }

const manifest = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
  name: string; version: string; bin: Record<string, string>; files: string[]; scripts: Record<string, string>;
};
const committedLock = JSON.parse(readFileSync(path.join(repoRoot, 'package-lock.json'), 'utf8')) as Lock;
const REGISTRY = 'http://127.0.0.1:4873/npm';

/** The rewritten lock, evaluated by nix-instantiate from the committed package-lock.json. */
function evalLock(registry: string, lockExpr = `builtins.fromJSON (builtins.readFile ${nixStr(path.join(repoRoot, 'package-lock.json'))})`) {
  return `import ${nixStr(path.join(repoRoot, 'nix/npm-lock.nix'))} { registry = ${nixStr(registry)}; lock = ${lockExpr}; }`;
}

describe('package.nix', () => {
  let p: PackageArgs;
  beforeAll(async () => {
    p = await nixEval<PackageArgs>(`${prelude()}
      let
        drv = (import (root + "/default.nix") { inherit pkgs; abra = pkgs.abra-stand-in; npmRegistry = ${nixStr(REGISTRY)}; }).ccci-sweep;
        a = drv.args;
      in {
        inherit (a) pname version npmBuildScript npmDepsHash postPatch;
        nodejs = a.nodejs.name;
        mainProgram = a.meta.mainProgram;
        srcRoot = toString a.src.root;
        srcFiles = map toString a.src.fileset.list;
        lockFile = "\${a.passthru.lockFile}";
        lockText = a.passthru.lockFile.text;
      }`);
  });

  it("builds ccci-sweep at the version of package.json, with the channel's nodejs and `npm run build`", () => {
    expect(p.pname).toBe(manifest.name);
    expect(p.version).toBe(manifest.version);
    // nodejs_20 is insecure on 26.05 and gone from master (NixOS/nixpkgs#511784); the stand-in has no nodejs_20 at all.
    expect(p.nodejs).toBe('nodejs');
    expect(p.npmBuildScript).toBe('build');
    expect(manifest.scripts[p.npmBuildScript]).toMatch(/\btsc\b/);
    expect(p.npmDepsHash).toMatch(/^sha256-[A-Za-z0-9+/]{43}=$/);
  });

  it('installs the bin the module runs', () => {
    // buildNpmPackage links package.json's bin entries into $out/bin; the module runs $out/bin/ccci-sweep.
    expect(p.mainProgram).toBe('ccci-sweep');
    expect(Object.keys(manifest.bin)).toContain(p.mainProgram);
    const binFile = manifest.bin[p.mainProgram]!;
    expect(manifest.files.some((f) => binFile.startsWith(f))).toBe(true);
    // ...and the bin imports the build output, which `files` ships.
    expect(readFileSync(path.join(repoRoot, binFile), 'utf8')).toContain("'../dist/cli/main.js'");
    expect(manifest.files).toContain('dist/');
  });

  it('builds from the sources npm needs, not the working tree', () => {
    expect(p.srcRoot).toBe(repoRoot);
    expect(p.srcFiles.map((f) => path.relative(repoRoot, f)).sort())
      .toEqual(['bin', 'package-lock.json', 'package.json', 'src', 'tsconfig.json']);
  });

  it('puts the derived lock in the source before fetchNpmDeps and npm ci read it', () => {
    // buildNpmPackage passes postPatch on to fetchNpmDeps, and npmConfigHook compares the two locks.
    expect(p.postPatch.trim()).toBe(`cp ${p.lockFile} package-lock.json`);
    const written = JSON.parse(p.lockText) as Lock;
    expect(Object.values(written.packages).filter((e) => e.integrity).every((e) => e.resolved?.startsWith(`${REGISTRY}/`))).toBe(true);
  });

  it('takes the registry as an argument with no default', async () => {
    const err = await nixEvalError(`${prelude()} (pkgs.callPackage (root + "/package.nix") { }).args.pname`);
    expect(err).toMatch(/without required argument "npmRegistry"/);
  });

  it('documents the hash step and leaves npmDepsHash a placeholder', () => {
    const src = readFileSync(path.join(repoRoot, 'nix/package.nix'), 'utf8');
    expect(src).toContain('npmDepsHash ? lib.fakeHash');
    expect(src).toMatch(/hash mismatch .*got: sha256-/s);
  });
});

describe('npm-lock.nix: the lock with registry URLs, by evaluation', () => {
  let lock: Lock;
  beforeAll(async () => {
    lock = await nixEval<Lock>(evalLock(`${REGISTRY}/`));
  });

  it('the committed lock has no registry URLs, so fetchNpmDeps alone would find nothing to fetch', () => {
    expect(Object.values(committedLock.packages).some((e) => e.resolved)).toBe(false);
    expect(Object.keys(committedLock.packages).length).toBeGreaterThan(50);
  });

  it('gives every non-link dependency a tarball URL under the base, integrity kept', () => {
    const deps = Object.entries(lock.packages).filter(([k, e]) => k !== '' && !e.link && !e.inBundle);
    expect(deps.length).toBe(Object.keys(committedLock.packages).length - 1);
    for (const [key, e] of deps) {
      const name = key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
      const bare = name.startsWith('@') ? name.split('/')[1] : name;
      expect(e.resolved, key).toBe(`${REGISTRY}/${name}/-/${bare}-${e.version}.tgz`);
      expect(e.integrity, key).toBe(committedLock.packages[key]!.integrity);
    }
    // Nothing else changed: strip the new field and it is the committed lock.
    const stripped = structuredClone(lock);
    for (const e of Object.values(stripped.packages)) delete e.resolved;
    expect(stripped).toEqual(committedLock);
  });

  it('handles scoped, nested, aliased, linked, bundled and already-resolved entries', async () => {
    const small = JSON.stringify({
      lockfileVersion: 3,
      packages: {
        '': { name: 'x', version: '1.0.0' },
        'node_modules/a': { version: '1.0.0', integrity: 'sha512-a' },
        'node_modules/@s/b': { version: '2.0.0', integrity: 'sha512-b' },
        'node_modules/a/node_modules/c': { version: '3.0.0', integrity: 'sha512-c' },
        'node_modules/alias': { name: 'real', version: '4.0.0', integrity: 'sha512-r' },
        'node_modules/ws': { resolved: 'packages/ws', link: true },
        'node_modules/a/node_modules/inner': { version: '1.0.0', inBundle: true },
        'node_modules/git': { version: '1.0.0', resolved: 'git+ssh://git@example.org/x.git#abc' },
      },
    });
    const out = await nixEval<Lock>(evalLock('https://npm.example.org', `builtins.fromJSON ${nixStr(small)}`));
    const r = (k: string) => out.packages[k]!.resolved;
    expect(r('node_modules/a')).toBe('https://npm.example.org/a/-/a-1.0.0.tgz');
    expect(r('node_modules/@s/b')).toBe('https://npm.example.org/@s/b/-/b-2.0.0.tgz');
    expect(r('node_modules/a/node_modules/c')).toBe('https://npm.example.org/c/-/c-3.0.0.tgz');
    expect(r('node_modules/alias')).toBe('https://npm.example.org/real/-/real-4.0.0.tgz');
    expect(r('node_modules/ws')).toBe('packages/ws');
    expect(r('node_modules/a/node_modules/inner')).toBeUndefined();
    expect(r('node_modules/git')).toBe('git+ssh://git@example.org/x.git#abc');
    expect(out.packages['']).toEqual({ name: 'x', version: '1.0.0' });
  });

  it('refuses a registry that is not an http(s) URL, and an entry it cannot place', async () => {
    expect(await nixEvalError(evalLock('npm.example.org'))).toMatch(/expected the base URL of an npm registry/);
    const bad = JSON.stringify({ lockfileVersion: 3, packages: { 'node_modules/a': { version: '1.0.0' } } });
    expect(await nixEvalError(evalLock('https://npm.example.org', `builtins.fromJSON ${nixStr(bad)}`)))
      .toMatch(/node_modules\/a has no integrity\/version/);
  });
});

describe('abra.nix (for hosts whose nixpkgs has no abra)', () => {
  it('builds cmd/abra from the given tag, the source hash a placeholder to fill, the Go modules vendored', async () => {
    const a = await nixEval<{ pname: string; version: string; sub: string[]; vendorHash: string | null; hash: string; rev: string; main: string; exe: string }>(`${prelude()}
      let p = pkgs.callPackage (root + "/abra.nix") { version = "0.12.0-beta"; }; in {
        inherit (p.args) pname version vendorHash;
        sub = p.args.subPackages; hash = p.args.src.hash; rev = p.args.src.rev;
        main = p.meta.mainProgram; exe = lib.getExe p;
      }`);
    expect(a).toMatchObject({ pname: 'abra', version: '0.12.0-beta', sub: ['cmd/abra'], vendorHash: null, rev: '0.12.0-beta', main: 'abra' });
    expect(a.hash).toMatch(/^sha256-A{43}=$/);
    expect(a.exe).toMatch(/\/bin\/abra$/);
  });
});

describe('package.nix and the Node.js it is built with', () => {
  it("takes another nodejs when given (services.ccci-sweep.nodejs), and refuses one below package.json's engines", async () => {
    const v = await nixEval<string>(`${prelude()}
      (pkgs.callPackage (root + "/package.nix") { npmRegistry = "http://127.0.0.1:4873"; nodejs = pkgs.nodejs_22; }).args.nodejs.version`);
    expect(v).toBe('22.21.0');
    const err = await nixEvalError(`${prelude()}
      (pkgs.callPackage (root + "/package.nix") { npmRegistry = "http://127.0.0.1:4873"; nodejs = pkgs.nodejs // { version = "18.20.8"; }; }).args.pname`);
    expect(err).toMatch(/ccci-sweep needs Node\.js >= 20\.18\.1 \(package\.json engines\); nodejs is 18\.20\.8/);
    // engines says 20.18.1: an older Node 20 is refused too, not only an older major.
    const err20 = await nixEvalError(`${prelude()}
      (pkgs.callPackage (root + "/package.nix") { npmRegistry = "http://127.0.0.1:4873"; nodejs = pkgs.nodejs // { version = "20.17.0"; }; }).args.pname`);
    expect(err20).toMatch(/needs Node\.js >= 20\.18\.1 .*nodejs is 20\.17\.0/);
  });

  it('the module builds the package with its nodejs option (default: the channel nodejs)', async () => {
    const names = await nixEval<string[]>(`${prelude()}
      map (extra: (checkHost [ baseHost (root + "/modules/ccci-sweep.nix") { services.ccci-sweep.enable = true; } extra ])
        .services.ccci-sweep.package.args.nodejs.name) [ { } { services.ccci-sweep.nodejs = pkgs.nodejs_22; } ]`);
    expect(names).toEqual(['nodejs', 'nodejs_22']);
  });
});
