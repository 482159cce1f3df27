# Entry point: `nix-build nix -A cc-ci-run --arg abra ...`, `nix-build nix -A ccci-sweep --argstr
# npmRegistry https://...`, and the NixOS modules for a host's `imports` (the modules do not use this
# file's `pkgs`).
#   abra: the abra package (no nixpkgs release has one; NixOS/nixpkgs#441439).
#   npmRegistry: base URL of the npm registry to fetch the dependencies from (no default).
#   npmDepsHash: from the first build's hash mismatch (see package.nix).
{ pkgs ? import <nixpkgs> { }, abra ? pkgs.abra or null, npmRegistry ? null, npmDepsHash ? pkgs.lib.fakeHash }:

let
  harnessEnv = import ./harness-env.nix { inherit pkgs abra; };
in
{
  inherit harnessEnv;
  cc-ci-run = pkgs.callPackage ./cc-ci-run.nix { inherit harnessEnv; };
  ccci-sweep = pkgs.callPackage ./package.nix {
    inherit npmDepsHash;
    npmRegistry = if npmRegistry != null then npmRegistry
      else throw "nix/default.nix: pass --argstr npmRegistry <base URL of your npm registry>";
  };

  nixosModules = {
    harness = ./modules/harness.nix;
    ccci-sweep = ./modules/ccci-sweep.nix;
    drone-runner = ./modules/drone-runner.nix;
    woodpecker-agent = ./modules/woodpecker-agent.nix;
    default = {
      imports = [ ./modules/harness.nix ./modules/ccci-sweep.nix ./modules/drone-runner.nix ./modules/woodpecker-agent.nix ];
    };
  };
}
