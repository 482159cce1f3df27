# An example CI host (a module to import into the host's configuration, next to its hardware and
# boot settings). Its command-line tools are the harness list, so an admin logged in on the host
# has what a recipe test has: nothing here is a hand-kept list. `ccci-sweep` on the admin's PATH is
# the services' wrapper (services.ccci-sweep.createWrapper), not the bare package.
{ config, pkgs, ... }:

{
  imports = [
    ../modules/harness.nix
    ../modules/ccci-sweep.nix
    ../modules/drone-runner.nix
    ../modules/woodpecker-agent.nix
  ];

  environment.systemPackages = config.ccci.harness.tools ++ [ config.ccci.harness.package ];

  virtualisation.docker.enable = true;

  # The one user every harness runs as (ccci.harness.user): not root, in the docker group.
  users.users.ccci = {
    isSystemUser = true;
    group = "ccci";
    extraGroups = [ "docker" ];
    home = "/var/lib/ccci";
    createHome = true;
  };
  users.groups.ccci = { };

  # nixpkgs has no abra yet (NixOS/nixpkgs#441439): build or fetch one and point at it.
  ccci.harness.abra = pkgs.callPackage ../abra.nix { };  # version and hash: see nix/abra.nix

  services.ccci-sweep = {
    enable = true;
    npmRegistry = "https://npm.example.org";
    # npmDepsHash = "sha256-...";  # from the first build's "got:" line
    mirrorUrl = "https://git.example.org/recipe-mirror/{recipe}.git";
    mirrorTokenFile = "/run/secrets/ccci-mirror-token";
  };

  # One CI runner: the Woodpecker agent (maintained), or the Drone exec runner on a channel that
  # still has it (then: nixpkgs.config.allowUnfreePredicate for "drone-runner-exec").
  services.ccci-woodpecker-agent = {
    enable = true;
    environment = {
      WOODPECKER_SERVER = "woodpecker.example.org:9000";
      WOODPECKER_MAX_WORKFLOWS = "1";
    };
    environmentFile = [ "/run/secrets/woodpecker-agent.env" ];
  };
}
