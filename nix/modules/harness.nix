# Exposes harness-env and the cc-ci-run wrapper to other modules as read-only options, so that the
# sweep timers, the Drone runner and the host configuration all read the same values instead of
# keeping their own lists. The values are defined here, once; read-only means a second definition
# elsewhere (someone "just adding a tool" to one consumer) is an evaluation error.
# The only setting is which abra to use.
{ config, lib, pkgs, ... }:

let
  inherit (lib) mkOption types optionalAttrs;
  cfg = config.ccci.harness;
  harnessEnv = import ../harness-env.nix
    ({ inherit pkgs; } // optionalAttrs (cfg.abra != null) { inherit (cfg) abra; });
in
{
  options.ccci.harness = {
    abra = mkOption {
      type = types.nullOr types.package;
      default = null;
      description = "The abra package recipe tests drive, e.g. from a flake. Null: harness-env.nix's default.";
    };

    tools = mkOption {
      type = types.listOf types.package;
      readOnly = true;
      description = "Everything a recipe test runs, from nix/harness-env.nix. The `path` of anything that starts a harness.";
    };

    env = mkOption {
      type = types.attrsOf types.str;
      readOnly = true;
      description = "Environment a recipe test needs (Playwright browsers from the store), from nix/harness-env.nix.";
    };

    pyEnv = mkOption {
      type = types.package;
      readOnly = true;
      description = "The harness's Python environment (pytest, playwright), from nix/harness-env.nix.";
    };

    package = mkOption {
      type = types.package;
      readOnly = true;
      description = "The cc-ci-run wrapper, built from the same harness environment.";
    };
  };

  config.ccci.harness = {
    inherit (harnessEnv) tools env pyEnv;
    package = pkgs.callPackage ../cc-ci-run.nix { inherit harnessEnv; };
  };
}
