# services.ccci-drone-runner: the Drone exec runner that runs the cc-ci pipelines on this host.
#
# For hosts on a channel that still has pkgs.drone-runner-exec: it is unfree (Polyform), archived
# upstream in 2022 and gone from nixpkgs master (NixOS/nixpkgs#543796). Allow it alone with
#   nixpkgs.config.allowUnfreePredicate = pkg: builtins.elem (lib.getName pkg) [ "drone-runner-exec" ];
# The maintained path is services.ccci-woodpecker-agent (./woodpecker-agent.nix), wired to the same list.
#
# Exec pipelines run their steps on the host, and the runner passes only PATH and USER from its own
# environment to a step. So the runner's `path` is what a pipeline can call (cc-ci-run plus the
# harness tools, read from nix/harness-env.nix via ccci.harness; NixOS appends its five), and
# everything else a harness needs is set by cc-ci-run itself. Nothing is added by hand here.
{ config, lib, pkgs, ... }:

let
  inherit (lib) mkOption mkEnableOption mkIf types literalExpression optionalAttrs;
  cfg = config.services.ccci-drone-runner;
  harness = config.ccci.harness;
  sweepWorker = lib.optional (config.services.ccci-sweep.enable or false && config.services.ccci-sweep.runnerWorker) config.services.ccci-sweep.wrapperPackage;

  # Runner settings that would replace the PATH (or the environment) a step gets from the runner,
  # i.e. the one list (drone-runner-exec engine/compiler and daemon/config.go read them).
  overriding = [ "DRONE_RUNNER_PATH" "DRONE_RUNNER_ENVIRON" "DRONE_RUNNER_ENVFILE" "PATH" ];
in
{
  imports = [ ./harness.nix ];

  options.services.ccci-drone-runner = {
    enable = mkEnableOption "the Drone exec runner for cc-ci pipelines";

    package = mkOption {
      type = types.nullOr types.package;
      # mkPackageOption-style, nullable so that a channel without it gets the assertion below.
      default = pkgs.drone-runner-exec or null;
      defaultText = literalExpression "pkgs.drone-runner-exec";
      description = "The drone-runner-exec package to use (unfree; see allowUnfreePredicate).";
    };

    settings = mkOption {
      type = types.attrsOf types.str;
      default = { };
      example = {
        DRONE_RPC_PROTO = "https";
        DRONE_RPC_HOST = "drone.example.org";
        DRONE_RUNNER_CAPACITY = "1";
      };
      description = "Non-secret DRONE_* settings, passed as environment. Not DRONE_RUNNER_PATH, DRONE_RUNNER_ENVIRON, DRONE_RUNNER_ENVFILE or PATH.";
    };

    environmentFile = mkOption {
      # A string, never a path literal: a path would be copied into the world-readable store.
      type = types.nullOr types.str;
      default = null;
      example = "/run/secrets/drone-runner.env";
      description = "File on the host with secret settings (DRONE_RPC_SECRET=...), read with EnvironmentFile=. DRONE_RUNNER_PATH, DRONE_RUNNER_ENVIRON and DRONE_RUNNER_ENVFILE in it are unset.";
    };
  };

  config = mkIf cfg.enable {
    ccci.harness.enable = true;

    assertions = [
      {
        assertion = cfg.package != null;
        message = "services.ccci-drone-runner: this nixpkgs has no drone-runner-exec (removed from master, NixOS/nixpkgs#543796): set services.ccci-drone-runner.package, or use services.ccci-woodpecker-agent";
      }
    ] ++ map (k: {
      assertion = !(cfg.settings ? ${k});
      message = "services.ccci-drone-runner.settings.${k} would replace the PATH/environment pipeline steps get from the harness list (nix/harness-env.nix): remove it";
    }) overriding;

    systemd.services.drone-runner-exec = {
      description = "Drone exec runner (cc-ci pipelines)";
      wantedBy = [ "multi-user.target" ];
      after = [ "network-online.target" "docker.service" ];
      wants = [ "network-online.target" ];

      # ccci-sweep (the admin wrapper, with the sweep services' environment) for the sweep pipeline's
      # `ccci-sweep worker` step, when services.ccci-sweep.runnerWorker asks for it.
      path = [ harness.package ] ++ harness.tools ++ sweepWorker;
      # `%` would be a systemd specifier in Environment=.
      environment = lib.mapAttrs (_: lib.replaceStrings [ "%" ] [ "%%" ]) cfg.settings;

      # A deploy that changes the runner's PATH must not kill the pipelines it is running; the new
      # unit is picked up at the next restart.
      restartIfChanged = false;

      serviceConfig = {
        ExecStart = "${lib.getExe cfg.package} service run";
        User = harness.user;
        Restart = "on-failure";
        RestartSec = "15s";
        # The runner exits at once on SIGTERM; with KillMode=mixed everything it started (the
        # harness, its docker and abra children) would then get SIGKILL without teardown. So the
        # whole cgroup gets SIGTERM together, and TimeoutStopSec for the harnesses to tear down.
        KillMode = "control-group";
        TimeoutStopSec = "15min";
        # Whatever the unmanaged environment file says, these never reach the runner.
        UnsetEnvironment = [ "DRONE_RUNNER_PATH" "DRONE_RUNNER_ENVIRON" "DRONE_RUNNER_ENVFILE" ];
      } // optionalAttrs (cfg.environmentFile != null) {
        EnvironmentFile = lib.replaceStrings [ "%" ] [ "%%" ] cfg.environmentFile;
      };
    };
  };
}
