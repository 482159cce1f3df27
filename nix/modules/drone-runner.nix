# services.ccci-drone-runner: the Drone exec runner that runs the cc-ci pipelines on this host.
#
# Exec pipelines run their steps on the host with the runner's environment, so the runner's `path`
# is what a pipeline can call: cc-ci-run plus the harness tools, read from nix/harness-env.nix via
# ccci.harness. Nothing is added by hand here.
{ config, lib, pkgs, ... }:

let
  inherit (lib) mkOption mkEnableOption mkIf types literalExpression optionalAttrs;
  cfg = config.services.ccci-drone-runner;
  harness = config.ccci.harness;
in
{
  imports = [ ./harness.nix ];

  options.services.ccci-drone-runner = {
    enable = mkEnableOption "the Drone exec runner for cc-ci pipelines";

    package = mkOption {
      type = types.package;
      default = pkgs.drone-runner-exec;
      defaultText = literalExpression "pkgs.drone-runner-exec";
      description = "The Drone exec runner package.";
    };

    settings = mkOption {
      type = types.attrsOf types.str;
      default = { };
      example = {
        DRONE_RPC_PROTO = "https";
        DRONE_RPC_HOST = "drone.example.org";
        DRONE_RUNNER_CAPACITY = "1";
      };
      description = "Non-secret DRONE_* settings, passed as environment.";
    };

    environmentFile = mkOption {
      type = types.nullOr types.path;
      default = null;
      example = "/run/secrets/drone-runner.env";
      description = "File on the host with secret settings (DRONE_RPC_SECRET=...), read with EnvironmentFile=.";
    };
  };

  config = mkIf cfg.enable {
    systemd.services.drone-runner-exec = {
      description = "Drone exec runner (cc-ci pipelines)";
      wantedBy = [ "multi-user.target" ];
      after = [ "network-online.target" "docker.service" ];
      wants = [ "network-online.target" ];

      path = [ harness.package ] ++ harness.tools;
      environment = harness.env // cfg.settings;

      serviceConfig = {
        ExecStart = "${cfg.package}/bin/drone-runner-exec service run";
        Restart = "on-failure";
        # Same stop semantics as the sweep: let a running harness tear down its test apps.
        KillMode = "mixed";
        TimeoutStopSec = "15min";
      } // optionalAttrs (cfg.environmentFile != null) {
        EnvironmentFile = toString cfg.environmentFile;
      };
    };
  };
}
