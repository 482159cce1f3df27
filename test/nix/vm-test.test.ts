// nix/tests/ccci-sweep.nix, the NixOS VM test an operator runs on a host with KVM: here it can only be
// evaluated. Its machine must be a valid host for the modules (assertions pass, the nightly unit is
// there to start, no timer fires on its own), and its test script must be valid Python that starts
// the nightly unit and checks the promotion.
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { nixEval, prelude } from './helpers.js';

interface VmTest {
  name: string;
  testScript: string;
  services: string[];
  timers: string[];
  execStart: string;
  settings: string;
  systemPackages: string[];
}

describe('the NixOS VM test', () => {
  let t: VmTest;
  beforeAll(async () => {
    t = await nixEval<VmTest>(`${prelude()}
      let
        test = (pkgs.testers.runNixOSTest (import (root + "/tests/ccci-sweep.nix") {
          npmRegistry = "http://127.0.0.1:4873"; npmDepsHash = lib.fakeHash;
        })).test { inherit pkgs lib; };
        machine = checkHost [ test.nodes.machine ];
      in {
        inherit (test) name testScript;
        services = builtins.attrNames machine.systemd.services;
        timers = builtins.attrNames machine.systemd.timers;
        execStart = machine.systemd.services.ccci-sweep-nightly.serviceConfig.ExecStart;
        settings = machine.environment.etc."cc-ci/settings.toml".text;
        systemPackages = names machine.environment.systemPackages;
      }`);
  });

  it('evaluates to a machine the modules accept, with the nightly unit and no timers', () => {
    expect(t.name).toBe('ccci-sweep');
    expect(t.services).toEqual(['ccci-sweep-nightly', 'ccci-sweep-weekly']);
    expect(t.timers).toEqual([]);
    expect(t.execStart).toContain('"--cadence" "nightly"');
    expect(t.settings).toContain('upstream-url = "file:///srv/upstream/{recipe}.git"');
    expect(t.systemPackages).toContain('ccci-sweep'); // the admin wrapper
  });

  it('has a test script that is valid Python and checks the promotion', async () => {
    const r = await execa('python3', ['-c', 'import ast, sys; ast.parse(sys.stdin.read())'], { input: t.testScript, reject: false });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(t.testScript).toContain('machine.systemctl("start ccci-sweep-nightly.service")');
    expect(t.testScript).toMatch(/canonical\.json/);
    expect(t.testScript).toMatch(/git tag -a/);
  });
});
