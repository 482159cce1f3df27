// Every .nix file under nix/ parses. The list is discovered, so a new file is checked too.
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { findNixFiles, nixDir, stubsDir } from './helpers.js';

const files = findNixFiles(nixDir);
const stubs = findNixFiles(stubsDir);

describe('nix/ parses', () => {
  it('discovers the files the issue asks for', () => {
    const rel = files.map((f) => path.relative(nixDir, f));
    for (const f of ['harness-env.nix', 'cc-ci-run.nix', 'package.nix', 'npm-lock.nix', 'abra.nix', 'default.nix',
      'modules/ccci-sweep.nix', 'modules/harness.nix', 'modules/drone-runner.nix', 'modules/woodpecker-agent.nix',
      'hosts/example.nix', 'tests/ccci-sweep.nix']) {
      expect(rel).toContain(f);
    }
  });

  it.each([...files, ...stubs].map((f) => [path.relative(path.dirname(nixDir), f), f]))('%s', async (_rel, file) => {
    const r = await execa('nix-instantiate', ['--parse', file], { reject: false });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
  });
});
