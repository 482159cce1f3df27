# services.ccci-sweep: the nightly and weekly canonical sweeps as oneshot services on timers.
#
# The services' PATH is the harness environment and nothing else: if a recipe test needs a tool,
# it belongs in nix/harness-env.nix, which cc-ci-run and the Drone runner read too.
{ config, lib, pkgs, utils, ... }:

let
  inherit (lib) mkOption mkEnableOption mkIf types literalExpression optional optionalAttrs;
  cfg = config.services.ccci-sweep;
  harness = config.ccci.harness;

  cadences = [ "nightly" "weekly" ];

  execStart = cadence: lib.concatStringsSep " " (
    [
      (utils.escapeSystemdExecArgs [
        "${cfg.package}/bin/ccci-sweep"
        "run"
        "--cadence"
        cadence
        # The store path, not a PATH lookup: the sweep runs exactly the wrapper built from harness-env.
        "--cc-ci-run"
        "${harness.package}/bin/cc-ci-run"
      ])
    ]
    # %d is the unit's credentials directory, where LoadCredential= below puts the token. Naming it
    # explicitly keeps a mirror-token-file in the settings file from overriding the credential.
    ++ optional (cfg.mirrorTokenFile != null) "--mirror-token-file %d/mirror-token"
    ++ optional (cfg.extraArgs != [ ]) (utils.escapeSystemdExecArgs cfg.extraArgs)
  );

  service = cadence: {
    description = "ccci-sweep ${cadence} sweep of the recipe canonicals";
    after = [ "network-online.target" "docker.service" ];
    wants = [ "network-online.target" ];

    path = harness.tools;
    environment = harness.env // {
      CCCI_REPO = cfg.ccciRepo;
      CCCI_STATE_DIR = cfg.stateDir;
    }
    // optionalAttrs (cfg.recipesDir != null) { CCCI_RECIPES_DIR = cfg.recipesDir; }
    // optionalAttrs (cfg.mirrorUrl != null) { CCCI_MIRROR_URL = cfg.mirrorUrl; };

    # A deploy must not kill a sweep halfway through a harness run; the next timer run picks up
    # the new unit.
    restartIfChanged = false;

    serviceConfig = {
      Type = "oneshot";
      User = cfg.user;
      ExecStart = execStart cadence;
      # On stop only the sweep gets SIGTERM; it forwards it to each harness and waits for the
      # harness's teardown (up to 120s grace each). Whatever is left after TimeoutStopSec is killed.
      KillMode = "mixed";
      TimeoutStopSec = cfg.stopTimeout;
    } // optionalAttrs (cfg.mirrorTokenFile != null) {
      # toString: a path literal must not be copied into the world-readable store.
      LoadCredential = "mirror-token:${toString cfg.mirrorTokenFile}";
    };
  };

  timer = cadence: {
    description = "ccci-sweep ${cadence} timer";
    wantedBy = [ "timers.target" ];
    timerConfig = {
      OnCalendar = cfg.schedules.${cadence};
      # Catch up on a run missed while the host was down.
      Persistent = true;
      RandomizedDelaySec = cfg.randomizedDelay;
    };
  };

  forCadences = f: lib.listToAttrs (map (c: lib.nameValuePair "ccci-sweep-${c}" (f c)) cadences);
in
{
  imports = [ ./harness.nix ];

  options.services.ccci-sweep = {
    enable = mkEnableOption "the nightly and weekly ccci-sweep runs";

    package = mkOption {
      type = types.package;
      default = pkgs.callPackage ../package.nix { };
      defaultText = literalExpression "pkgs.callPackage nix/package.nix { }";
      description = "The ccci-sweep package.";
    };

    user = mkOption {
      type = types.str;
      default = "root";
      description = "User the sweep runs as. The harness drives docker and abra (whose state is in this user's home), so it needs docker access.";
    };

    ccciRepo = mkOption {
      type = types.str;
      default = "/etc/cc-ci";
      description = "Checkout of the cc-ci repo (tests/<recipe>/recipe_meta.py, harness scripts). Passed as CCCI_REPO.";
    };

    stateDir = mkOption {
      type = types.str;
      default = "/var/lib/ci-warm";
      description = "Where canonicals, history and run logs live. Passed as CCCI_STATE_DIR.";
    };

    recipesDir = mkOption {
      type = types.nullOr types.str;
      default = null;
      description = "Local recipe clones. Null: the program's default ($ABRA_DIR/recipes, else ~/.abra/recipes).";
    };

    mirrorUrl = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "https://git.example.org/recipe-mirror/{recipe}.git";
      description = "Mirror repo URL template; {recipe} is replaced. Null skips mirror-sync.";
    };

    mirrorTokenFile = mkOption {
      type = types.nullOr types.path;
      default = null;
      example = "/run/secrets/ccci-mirror-token";
      description = "File on the host holding the mirror token, handed to the services with LoadCredential= (never put it in the store).";
    };

    schedules = {
      nightly = mkOption {
        type = types.str;
        default = "*-*-* 02:00:00";
        description = "OnCalendar= of the nightly sweep.";
      };
      weekly = mkOption {
        type = types.str;
        default = "Sun *-*-* 04:00:00";
        description = "OnCalendar= of the weekly sweep.";
      };
    };

    randomizedDelay = mkOption {
      type = types.str;
      default = "15min";
      description = "RandomizedDelaySec= of both timers.";
    };

    stopTimeout = mkOption {
      type = types.str;
      default = "15min";
      description = "TimeoutStopSec= of both services: long enough for the sweep to forward SIGTERM and let running harnesses tear down.";
    };

    extraArgs = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "--jobs" "2" ];
      description = "Extra arguments appended to `ccci-sweep run`.";
    };
  };

  config = mkIf cfg.enable {
    systemd.services = forCadences service;
    systemd.timers = forCadences timer;
    systemd.tmpfiles.rules = [ "d ${cfg.stateDir} 0750 ${cfg.user} - -" ];
  };
}
