# cc-ci-run: the one harness wrapper. The Drone pipeline and the sweep both call it, so a recipe
# test sees the same tools and Playwright settings whoever starts it.
#
#   pkgs.callPackage ./cc-ci-run.nix { harnessEnv = import ./harness-env.nix { inherit pkgs; }; }
{ lib, writeShellApplication, harnessEnv }:

writeShellApplication {
  name = "cc-ci-run";
  runtimeInputs = harnessEnv.tools;
  text = ''
    ${lib.concatStringsSep "\n" (lib.mapAttrsToList (name: value: "export ${name}=${lib.escapeShellArg value}") harnessEnv.env)}
    exec python3 "$@"
  '';
}
