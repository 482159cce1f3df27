# Exposes harness-env and the cc-ci-run wrapper to other modules as read-only options, so that the
# sweep timers, the CI runners and the host configuration all read the same values instead of
# keeping their own lists. The values are defined here, once; read-only means a second definition
# elsewhere (someone "just adding a tool" to one consumer) is an evaluation error.
# Settings: which abra, where abra keeps its state, and the one user every harness runs as.
{ config, lib, pkgs, ... }:

let
  inherit (lib) mkOption types literalExpression;
  cfg = config.ccci.harness;
  harnessEnv = import ../harness-env.nix { inherit pkgs; inherit (cfg) abra abraDir; };
  userCfg = config.users.users.${cfg.user} or null;
in
{
  options.ccci.harness = {
    enable = mkOption {
      type = types.bool;
      default = false;
      internal = true;
      description = "Set by the modules that start harnesses (sweep, runners): turns on the checks and the ABRA_DIR below.";
    };

    abra = mkOption {
      type = types.nullOr types.package;
      # mkPackageOption-style, but nullable: no nixpkgs release has abra (NixOS/nixpkgs#441439), and
      # a missing one must be an assertion naming this option, not "attribute 'abra' missing".
      default = pkgs.abra or null;
      defaultText = literalExpression "pkgs.abra or null";
      description = "The abra package to use. Required: nixpkgs has none yet, so set it from an overlay, a flake or a local build.";
    };

    abraDir = mkOption {
      type = types.str;
      default = "/var/lib/ccci-abra";
      description = "ABRA_DIR of every harness run (sweep, Drone and Woodpecker steps, by-hand runs): abra's servers, recipes and catalogue. Created for `user`.";
    };

    user = mkOption {
      type = types.str;
      default = "ccci";
      description = "The non-root user that runs every harness (sweep timers, CI runner steps). Must exist and be in the docker group: the harness drives docker and abra.";
    };

    tools = mkOption {
      type = types.listOf types.package;
      readOnly = true;
      description = "Everything a recipe test runs, from nix/harness-env.nix. The `path` of anything that starts a harness.";
    };

    env = mkOption {
      type = types.attrsOf types.str;
      readOnly = true;
      description = "Environment a recipe test needs (Playwright browsers from the store, ABRA_DIR, the git-lfs filters), from nix/harness-env.nix.";
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

  config = lib.mkMerge [
    {
      ccci.harness = {
        inherit (harnessEnv) tools env pyEnv;
        package = pkgs.callPackage ../cc-ci-run.nix { inherit harnessEnv; };
      };
    }
    (lib.mkIf cfg.enable {
      assertions = [
        {
          assertion = cfg.abra != null;
          message = "ccci.harness.abra is not set and this nixpkgs has no pkgs.abra (NixOS/nixpkgs#441439): set ccci.harness.abra to an abra package, e.g. ccci.harness.abra = pkgs.callPackage ./abra.nix { };";
        }
        {
          assertion = config.virtualisation.docker.enable;
          message = "the cc-ci harness drives docker: set virtualisation.docker.enable = true;";
        }
        {
          assertion = userCfg != null;
          message = "ccci.harness.user \"${cfg.user}\" does not exist: declare users.users.${cfg.user} (isSystemUser = true; group = ...; extraGroups = [ \"docker\" ];) or set ccci.harness.user";
        }
        {
          assertion = cfg.user != "root" && (userCfg == null || userCfg.uid != 0);
          message = "ccci.harness.user must not be root: harnesses run recipe code; set it to a user in the docker group";
        }
        {
          assertion = userCfg == null || builtins.elem "docker" userCfg.extraGroups;
          message = "ccci.harness.user \"${cfg.user}\" is not in the docker group: add \"docker\" to users.users.${cfg.user}.extraGroups";
        }
      ];
      # tmpfiles.d reads `%` as a specifier too.
      systemd.tmpfiles.rules = [ "d ${lib.replaceStrings [ "%" ] [ "%%" ] cfg.abraDir} 0750 ${cfg.user} - -" ];
    })
  ];
}
