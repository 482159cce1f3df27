// What a host gets wrong is stopped at evaluation with a message saying what to set, as NixOS
// assertions do (failed ones end the evaluation of system.build.toplevel).
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nixEval, nixEvalError, nixStr, prelude, stubsDir } from './helpers.js';

/** A host of the sweep module plus `extra` (a Nix module), checked; returns the error output. */
const failing = (extra: string, base = 'baseHost') => nixEvalError(`${prelude()}
  (checkHost [ ${base} (root + "/modules/ccci-sweep.nix") (root + "/modules/drone-runner.nix")
    (root + "/modules/woodpecker-agent.nix") { services.ccci-sweep.enable = true; } (${extra}) ]).systemd.services`);

describe('assertions', () => {
  it('a complete host passes', async () => {
    const units = await nixEval<string[]>(`${prelude()}
      builtins.attrNames (checkHost [ baseHost (root + "/modules/ccci-sweep.nix") { services.ccci-sweep.enable = true; } ]).systemd.services`);
    expect(units).toEqual(['ccci-sweep-nightly', 'ccci-sweep-weekly']);
  });

  it('abra missing (no option, no pkgs.abra): the message names the option to set', async () => {
    const err = await failing('{ lib, ... }: { ccci.harness.abra = lib.mkForce null; }');
    expect(err).toMatch(/Failed assertions:/);
    expect(err).toMatch(/- ccci\.harness\.abra is not set and this nixpkgs has no pkgs\.abra \(NixOS\/nixpkgs#441439\): set ccci\.harness\.abra to an abra package/);
  });

  it.each(['DRONE_RUNNER_PATH', 'DRONE_RUNNER_ENVIRON', 'DRONE_RUNNER_ENVFILE', 'PATH'])(
    'a Drone runner settings.%s is refused', async (key) => {
      const err = await failing(`{ services.ccci-drone-runner = { enable = true; settings.${key} = "/usr/bin"; }; }`);
      expect(err).toContain(`- services.ccci-drone-runner.settings.${key} would replace the PATH/environment pipeline steps get from the harness list`);
    },
  );

  it('a Woodpecker environment.PATH is refused', async () => {
    const err = await failing('{ services.ccci-woodpecker-agent = { enable = true; environment.PATH = "/usr/bin"; }; }');
    expect(err).toMatch(/- services\.ccci-woodpecker-agent\.environment\.PATH would replace the harness list/);
  });

  it('docker not enabled', async () => {
    const err = await failing('{ lib, ... }: { virtualisation.docker.enable = lib.mkForce false; }');
    expect(err).toMatch(/- the cc-ci harness drives docker: set virtualisation\.docker\.enable = true;/);
  });

  it('the harness user: missing, root, or not in the docker group', async () => {
    expect(await failing('{ ccci.harness.user = "nobody-here"; }'))
      .toMatch(/- ccci\.harness\.user "nobody-here" does not exist: declare users\.users\.nobody-here/);
    expect(await failing('{ ccci.harness.user = "root"; }')).toMatch(/- ccci\.harness\.user must not be root/);
    expect(await failing('{ ccci.harness.user = "uid0"; users.users.uid0 = { uid = 0; extraGroups = [ "docker" ]; }; }'))
      .toMatch(/- ccci\.harness\.user must not be root/);
    expect(await failing('{ ccci.harness.user = "plain"; users.users.plain = { isSystemUser = true; }; }'))
      .toMatch(/- ccci\.harness\.user "plain" is not in the docker group: add "docker" to users\.users\.plain\.extraGroups/);
  });

  it('a channel without drone-runner-exec: the assertion says what to use instead', async () => {
    const stub = (f: string) => nixStr(path.join(stubsDir, f));
    const msgs = await nixEval<string[]>(`
      let
        lib = import ${stub('lib.nix')};
        pkgs = removeAttrs (import ${stub('pkgs.nix')} { inherit lib; }) [ "drone-runner-exec" ];
        cfg = (lib.evalModules {
          modules = [ ${stub('nixos-base.nix')} ${nixStr(path.join(stubsDir, '../../../nix/modules/drone-runner.nix'))}
            { services.ccci-drone-runner.enable = true; virtualisation.docker.enable = true; ccci.harness.abra = pkgs.abra-stand-in;
              users.users.ccci.extraGroups = [ "docker" ]; } ];
          specialArgs = { inherit pkgs; utils = import ${stub('utils.nix')}; };
        }).config;
      in map (a: a.message) (builtins.filter (a: !a.assertion) cfg.assertions)`);
    expect(msgs).toEqual([expect.stringMatching(/this nixpkgs has no drone-runner-exec .*#543796.*set services\.ccci-drone-runner\.package, or use services\.ccci-woodpecker-agent/)]);
  });

  it('drone-runner-exec is refused as unfree unless allowed for that one package', async () => {
    const stub = (f: string) => nixStr(path.join(stubsDir, f));
    const err = await nixEvalError(`
      let lib = import ${stub('lib.nix')}; pkgs = import ${stub('pkgs.nix')} { inherit lib; };
      in "\${pkgs.drone-runner-exec}"`);
    expect(err).toMatch(/unfree license.*allowUnfreePredicate/);
  });

  it('the npm registry has no default', async () => {
    const err = await nixEvalError(`${prelude()}
      (checkHost [ baseHost (root + "/modules/ccci-sweep.nix")
        ({ lib, ... }: { services.ccci-sweep = { enable = true; npmRegistry = lib.mkForce null; }; }) ]).services.ccci-sweep.package.args.postPatch`);
    expect(err).toMatch(/services\.ccci-sweep\.npmRegistry is not set: set it to the base URL of the npm registry/);
  });

  it('secret files are strings: a path literal (copied into the store) is a type error', async () => {
    const err = await failing('{ services.ccci-sweep.mirrorTokenFile = /run/secrets/token; }');
    expect(err).toMatch(/services\.ccci-sweep\.mirrorTokenFile' .*is not of type null or string/);
  });
});
