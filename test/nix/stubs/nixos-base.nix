# Stand-in for the NixOS options that nix/ modules define or read (declared by NixOS itself in real
# use), with the types NixOS gives them, narrowed to the attributes nix/ uses: a key outside these
# records (a typo, or something this stand-in does not model) is an evaluation error.
#
# What NixOS does to them is modelled where nix/ depends on it, each from the nixpkgs source read:
#  - every service's `path` gets coreutils findutils gnugrep gnused systemd appended (mkAfter), and
#    a non-empty `path` becomes environment.PATH = <bin of each>:<sbin of each>
#    (nixos/lib/systemd-lib.nix: stage2ServiceConfig, serviceConfig);
#  - `assertions` / `warnings` (nixos/modules/misc/assertions.nix); `checkAssertions` below fails
#    like system.build.toplevel does (nixos/modules/system/activation/top-level.nix);
#  - services.woodpecker-agents: the agent units the nixpkgs module generates, hardening included
#    (nixos/modules/services/continuous-integration/woodpecker/agents.nix), so that what nix/
#    overrides there is checked against what NixOS would set.
{ lib, pkgs, config, ... }:

let
  inherit (lib) mkOption types mkIf;
  strs = types.listOf types.str;
  unitCommon = {
    description = types.str;
    wantedBy = strs;
    after = strs;
    before = strs;
    wants = strs;
    requires = strs;
    # Rendered as OnFailure= in [Unit] (nixos/lib/systemd-unit-options.nix, commonUnitOptions).
    onFailure = strs;
    unitConfig = types.attrsOf types.anything;
  };

  # The five packages NixOS appends to every service's PATH (systemd = config.systemd.package).
  defaultServicePath = [ pkgs.coreutils pkgs.findutils pkgs.gnugrep pkgs.gnused pkgs.systemd ];

  service = types.recordWith {
    name = "systemd service";
    fields = unitCommon // {
      path = types.listOf types.package;
      environment = types.attrsOf types.str;
      serviceConfig = types.attrsOf types.anything;
      restartIfChanged = types.bool;
    };
    extraDefs = [ { path = lib.mkAfter defaultServicePath; } ];
    finalize = loc: svc:
      let
        path = svc.path or [ ];
        computed = "${lib.makeBinPath path}:${lib.makeSearchPathOutput "bin" "sbin" path}";
        env = svc.environment or { };
      in
      if path == [ ] then svc
      else if env ? PATH && env.PATH != computed then
        throw "The option `${loc}.environment.PATH' has conflicting definition values (NixOS sets it from `path')"
      else svc // { environment = env // { PATH = computed; }; };
  };
  timer = types.record "systemd timer" (unitCommon // {
    timerConfig = types.attrsOf types.anything;
  });

  # Defaults as nixos/modules/config/users-groups.nix gives them (home "/var/empty", no groups).
  user = types.recordWith {
    name = "user";
    fields = {
      isSystemUser = types.bool;
      isNormalUser = types.bool;
      uid = types.nullOr types.int;
      group = types.str;
      extraGroups = strs;
      home = types.str;
      createHome = types.bool;
      description = types.str;
    };
    extraDefs = [ (lib.mkOverride 1500 {
      isSystemUser = false; isNormalUser = false; uid = null; group = ""; extraGroups = [ ];
      home = "/var/empty"; createHome = false; description = "";
    }) ];
  };

  assertion = types.record "assertion" { assertion = types.bool; message = types.str; };

  agent = types.recordWith {
    name = "woodpecker agent";
    fields = {
      enable = types.bool;
      package = types.package;
      environment = types.attrsOf types.str;
      extraGroups = strs;
      path = types.listOf types.package;
      environmentFile = types.listOf types.str;
    };
    extraDefs = [ (lib.mkOverride 1500 {
      enable = false;
      package = pkgs.woodpecker-agent;
      environment = { };
      extraGroups = [ ];
      path = [ ];
      environmentFile = [ ];
    }) ];
  };
  agents = config.services.woodpecker-agents.agents;
  agentService = name: a: {
    name = "woodpecker-agent-${name}";
    value = {
      description = "Woodpecker-Agent Service - ${name}";
      wantedBy = [ "multi-user.target" ];
      after = [ "network-online.target" ];
      wants = [ "network-online.target" ];
      inherit (a) environment path;
      serviceConfig = {
        DynamicUser = true;
        SupplementaryGroups = a.extraGroups;
        EnvironmentFile = a.environmentFile;
        ExecStart = lib.getExe a.package;
        Restart = "on-failure";
        RestartSec = 15;
        CapabilityBoundingSet = "";
        NoNewPrivileges = true;
        ProtectSystem = "strict";
        PrivateTmp = true;
        PrivateDevices = true;
        PrivateUsers = true;
        ProtectHostname = true;
        ProtectClock = true;
        ProtectKernelTunables = true;
        ProtectKernelModules = true;
        ProtectKernelLogs = true;
        ProtectControlGroups = true;
        RestrictAddressFamilies = [ "AF_UNIX AF_INET AF_INET6" ];
        LockPersonality = true;
        MemoryDenyWriteExecute = true;
        RestrictRealtime = true;
        RestrictSUIDSGID = true;
        PrivateMounts = true;
        SystemCallArchitectures = "native";
        SystemCallFilter = "~@clock @privileged @cpu-emulation @debug @keyring @module @mount @obsolete @raw-io @reboot @setuid @swap";
      };
    };
  };
in
{
  options = {
    assertions = mkOption { type = types.listOf assertion; default = [ ]; };
    warnings = mkOption { type = strs; default = [ ]; };
    environment.systemPackages = mkOption { type = types.listOf types.package; default = [ ]; };
    virtualisation.docker.enable = mkOption { type = types.bool; default = false; };
    # The VM test's machine (nixos/modules/virtualisation/qemu-vm.nix) and /etc files.
    virtualisation.memorySize = mkOption { type = types.int; default = 1024; };
    environment.etc = mkOption { type = types.attrsOf (types.record "etc file" { text = types.str; }); default = { }; };
    users.users = mkOption { type = types.attrsOf user; default = { }; };
    users.groups = mkOption { type = types.attrsOf (types.record "group" { gid = types.int; }); default = { }; };
    systemd.services = mkOption { type = types.attrsOf service; default = { }; };
    systemd.timers = mkOption { type = types.attrsOf timer; default = { }; };
    systemd.tmpfiles.rules = mkOption { type = strs; default = [ ]; };
    services.woodpecker-agents.agents = mkOption { type = types.attrsOf agent; default = { }; };
  };

  config = {
    # NixOS declares root (nixos/modules/config/users-groups.nix).
    users.users.root = { uid = 0; home = "/root"; group = "root"; };
    systemd.services = lib.listToAttrs (map (n: agentService n agents.${n})
      (lib.filter (n: agents.${n}.enable) (lib.attrNames agents)));
  };
}
