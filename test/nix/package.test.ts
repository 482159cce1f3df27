// nix/package.nix against package.json: what buildNpmPackage is given, and the assumptions the
// module makes about the result ($out/bin/ccci-sweep, linked from package.json's bin).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { nixEval, prelude, repoRoot } from './helpers.js';

interface PackageArgs {
  pname: string;
  version: string;
  nodejs: string;
  npmBuildScript: string;
  npmDepsHash: string;
  mainProgram: string;
  srcRoot: string;
  srcFiles: string[];
}

const manifest = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
  name: string; version: string; bin: Record<string, string>; files: string[]; scripts: Record<string, string>;
};

describe('package.nix', () => {
  let p: PackageArgs;
  beforeAll(async () => {
    p = await nixEval<PackageArgs>(`${prelude()}
      let a = (import (root + "/default.nix") { inherit pkgs; }).ccci-sweep.args; in {
        inherit (a) pname version npmBuildScript npmDepsHash;
        nodejs = a.nodejs.name;
        mainProgram = a.meta.mainProgram;
        srcRoot = toString a.src.root;
        srcFiles = map toString a.src.fileset.list;
      }`);
  });

  it('builds ccci-sweep at the version of package.json, with Node 20 and `npm run build`', () => {
    expect(p.pname).toBe(manifest.name);
    expect(p.version).toBe(manifest.version);
    expect(p.nodejs).toBe('nodejs_20');
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
    expect(readFileSync(path.join(repoRoot, binFile), 'utf8')).toContain("'../dist/cli.js'");
    expect(manifest.files).toContain('dist/');
  });

  it('builds from the sources npm needs, not the working tree', () => {
    expect(p.srcRoot).toBe(repoRoot);
    expect(p.srcFiles.map((f) => path.relative(repoRoot, f)).sort())
      .toEqual(['bin', 'package-lock.json', 'package.json', 'src', 'tsconfig.json']);
  });

  it('documents how to get the real npmDepsHash', () => {
    expect(readFileSync(path.join(repoRoot, 'nix/package.nix'), 'utf8')).toContain('prefetch-npm-deps package-lock.json');
  });
});
