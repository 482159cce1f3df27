# Stand-in for the NixOS options that nix/ modules define (declared by NixOS itself in real use),
# with the types NixOS gives them, narrowed to the attributes nix/ uses: a key outside these
# records (a typo, or something this stand-in does not model) is an evaluation error.
{ lib, ... }:

let
  inherit (lib) mkOption types;
  strs = types.listOf types.str;
  unitCommon = {
    description = types.str;
    wantedBy = strs;
    after = strs;
    before = strs;
    wants = strs;
    requires = strs;
    unitConfig = types.attrsOf types.anything;
  };
  service = types.record "systemd service" (unitCommon // {
    path = types.listOf types.package;
    environment = types.attrsOf types.str;
    serviceConfig = types.attrsOf types.anything;
    restartIfChanged = types.bool;
  });
  timer = types.record "systemd timer" (unitCommon // {
    timerConfig = types.attrsOf types.anything;
  });
in
{
  options = {
    environment.systemPackages = mkOption { type = types.listOf types.package; default = [ ]; };
    virtualisation.docker.enable = mkOption { type = types.bool; default = false; };
    systemd.services = mkOption { type = types.attrsOf service; default = { }; };
    systemd.timers = mkOption { type = types.attrsOf timer; default = { }; };
    systemd.tmpfiles.rules = mkOption { type = strs; default = [ ]; };
  };
}
