# An example CI host (a module to import into the host's configuration, next to its hardware and
# boot settings). Its command-line tools are the harness list, so an admin logged in on the host
# has what a recipe test has: nothing here is a hand-kept list.
{ config, ... }:

{
  imports = [
    ../modules/harness.nix
    ../modules/ccci-sweep.nix
    ../modules/drone-runner.nix
  ];

  environment.systemPackages = config.ccci.harness.tools ++ [
    config.ccci.harness.package
    config.services.ccci-sweep.package
  ];

  virtualisation.docker.enable = true;

  services.ccci-sweep = {
    enable = true;
    mirrorUrl = "https://git.example.org/recipe-mirror/{recipe}.git";
    mirrorTokenFile = "/run/secrets/ccci-mirror-token";
  };

  services.ccci-drone-runner = {
    enable = true;
    environmentFile = "/run/secrets/drone-runner.env";
    settings = {
      DRONE_RPC_PROTO = "https";
      DRONE_RPC_HOST = "drone.example.org";
      DRONE_RUNNER_CAPACITY = "1";
      DRONE_RUNNER_NAME = "ci-example";
    };
  };
}
