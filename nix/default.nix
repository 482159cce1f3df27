# Entry point: `nix-build nix -A cc-ci-run`, `nix-build nix -A ccci-sweep`, and the NixOS modules
# for a host's `imports`.
# abra: null means harness-env.nix's default (pkgs.abra).
{ pkgs ? import <nixpkgs> { }, abra ? null }:

let
  harnessEnv = import ./harness-env.nix ({ inherit pkgs; } // (if abra == null then { } else { inherit abra; }));
in
{
  inherit harnessEnv;
  cc-ci-run = pkgs.callPackage ./cc-ci-run.nix { inherit harnessEnv; };
  ccci-sweep = pkgs.callPackage ./package.nix { };

  nixosModules = {
    harness = ./modules/harness.nix;
    ccci-sweep = ./modules/ccci-sweep.nix;
    drone-runner = ./modules/drone-runner.nix;
    default = {
      imports = [ ./modules/harness.nix ./modules/ccci-sweep.nix ./modules/drone-runner.nix ];
    };
  };
}
