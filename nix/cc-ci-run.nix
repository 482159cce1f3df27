# cc-ci-run: the one harness wrapper. The Drone pipeline, the Woodpecker agent and the sweep all call
# it, so a recipe test sees the same tools and settings whoever starts it.
#
#   pkgs.callPackage ./cc-ci-run.nix { harnessEnv = import ./harness-env.nix { inherit pkgs abra; }; }
#
# Hermetic: PATH is the harness tools and nothing else (inheritPath = false), never the caller's
# PATH, which differs between a Drone step, a Woodpecker step, a timer and an admin's shell. The
# harness environment (Playwright, ABRA_DIR, the LFS filters) is set here too: the Drone exec runner
# passes only PATH and USER from its own environment to a step.
{ writeShellApplication, harnessEnv }:

writeShellApplication {
  name = "cc-ci-run";
  runtimeInputs = harnessEnv.tools;
  runtimeEnv = harnessEnv.env;
  inheritPath = false;
  text = ''
    exec python3 "$@"
  '';
}
