# services.ccci-woodpecker-agent: a Woodpecker agent with the local backend, running the cc-ci
# pipelines on this host with the same harness list as the sweep (the maintained replacement for the
# Drone exec runner, whose package is unfree and gone from nixpkgs master).
#
# Built on nixpkgs' services.woodpecker-agents module
# (nixos/modules/services/continuous-integration/woodpecker/agents.nix): the agent's `path` is
# cc-ci-run plus the harness tools, so a workflow step calls cc-ci-run exactly as the sweep does.
# That module hardens the unit for container backends (DynamicUser, PrivateUsers, ProtectSystem=
# strict, MemoryDenyWriteExecute, a syscall filter); a local-backend step that drives docker, abra
# and Chromium needs the harness user, the docker group, a writable ABRA_DIR and JIT, so those are
# relaxed here, and stopping works as for the sweep: the steps get SIGTERM and time to tear down.
{ config, lib, ... }:

let
  inherit (lib) mkOption mkEnableOption mkIf mkForce types;
  cfg = config.services.ccci-woodpecker-agent;
  harness = config.ccci.harness;
  sweepWorker = lib.optional (config.services.ccci-sweep.enable or false && config.services.ccci-sweep.runnerWorker) config.services.ccci-sweep.wrapperPackage;
in
{
  imports = [ ./harness.nix ];

  options.services.ccci-woodpecker-agent = {
    enable = mkEnableOption "a Woodpecker agent (local backend) for cc-ci pipelines";

    name = mkOption {
      type = types.str;
      default = "ccci";
      description = "Name of the agent in services.woodpecker-agents.agents; the unit is woodpecker-agent-<name>.";
    };

    environment = mkOption {
      type = types.attrsOf types.str;
      default = { };
      example = { WOODPECKER_SERVER = "woodpecker.example.org:9000"; WOODPECKER_MAX_WORKFLOWS = "1"; };
      description = "Non-secret WOODPECKER_* settings. WOODPECKER_BACKEND is always local.";
    };

    environmentFile = mkOption {
      # Strings, never path literals: a path would be copied into the world-readable store.
      type = types.listOf types.str;
      default = [ ];
      example = [ "/run/secrets/woodpecker-agent.env" ];
      description = "Files with secret settings (WOODPECKER_AGENT_SECRET=...).";
    };
  };

  config = mkIf cfg.enable {
    ccci.harness.enable = true;

    assertions = [{
      assertion = !(cfg.environment ? PATH);
      message = "services.ccci-woodpecker-agent.environment.PATH would replace the harness list (nix/harness-env.nix): remove it";
    }];

    services.woodpecker-agents.agents.${cfg.name} = {
      enable = true;
      # `%` would be a systemd specifier in Environment= (nixpkgs' module writes values as given).
      environment = lib.mapAttrs (_: lib.replaceStrings [ "%" ] [ "%%" ]) cfg.environment // { WOODPECKER_BACKEND = "local"; };
      # ccci-sweep (the admin wrapper) for the sweep workflow's `ccci-sweep worker` step (runnerWorker).
      path = [ harness.package ] ++ harness.tools ++ sweepWorker;
      extraGroups = [ "docker" ];
      inherit (cfg) environmentFile;
    };

    systemd.services."woodpecker-agent-${cfg.name}" = {
      after = [ "docker.service" ];
      restartIfChanged = false;
      serviceConfig = {
        DynamicUser = mkForce false;
        User = harness.user;
        PrivateUsers = mkForce false;
        ProtectSystem = mkForce "full";
        MemoryDenyWriteExecute = mkForce false;
        SystemCallFilter = mkForce [ ];
        KillMode = "control-group";
        TimeoutStopSec = "15min";
      };
    };
  };
}
