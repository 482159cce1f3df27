# NixOS VM test, in the style of nixpkgs' nixos/tests: a machine with services.ccci-sweep, a local
# bare upstream recipe with a release tag, a stand-in harness behind the real cc-ci-run; the nightly
# unit runs and promotes the release. Needs KVM and the npm registry the package is built from:
#
#   nix-build -E 'with import <nixpkgs> { }; testers.runNixOSTest (import ./nix/tests/ccci-sweep.nix {
#     npmRegistry = "https://<your npm registry>"; npmDepsHash = "sha256-..."; })'
#
# (npmDepsHash: the value the host uses, see README "Deploying on NixOS".)
{ npmRegistry, npmDepsHash }:

{ pkgs, lib, ... }:

let
  recipe = "gitea";
  tag = "1.0.0+1.0";

  # abra is never called by the sweep itself; the stand-in harness below does not call it either.
  abra = pkgs.writeShellScriptBin "abra" ''
    echo "abra (stand-in for the VM test)"
  '';

  # The harness contract, minimally: the test script exits 0 for a green run; the seed script too.
  harnessScript = pkgs.writeText "run_recipe_ci.py" ''
    import os, sys
    print("stand-in harness: testing", os.environ.get("RECIPE"), os.environ.get("CCCI_SWEEP_TAG"))
    sys.exit(0)
  '';
  seedScript = pkgs.writeText "seed_canonical.py" ''
    print("stand-in seed")
  '';
in
{
  name = "ccci-sweep";

  nodes.machine = { config, ... }: {
    imports = [ ../modules/ccci-sweep.nix ];

    virtualisation.docker.enable = true;
    virtualisation.memorySize = 2048;

    users.users.ccci = {
      isSystemUser = true;
      group = "ccci";
      extraGroups = [ "docker" ];
      home = "/var/lib/ccci";
      createHome = true;
    };
    users.groups.ccci = { };

    ccci.harness.abra = abra;

    services.ccci-sweep = {
      enable = true;
      inherit npmRegistry npmDepsHash;
      ccciRepo = "/srv/cc-ci";
      nightly.timerConfig = null; # started by the test script
      weekly.timerConfig = null;
    };

    # The upstream is a local bare repo (the VM has no network).
    environment.etc."cc-ci/settings.toml".text = ''
      [sweep]
      upstream-url = "file:///srv/upstream/{recipe}.git"
    '';

    # The admin has the harness tools (git to set up the fixtures) and the ccci-sweep wrapper.
    environment.systemPackages = config.ccci.harness.tools;
  };

  testScript = ''
    machine.wait_for_unit("multi-user.target")

    with subtest("a bare upstream with a release tag"):
        machine.succeed(
            "mkdir -p /tmp/work && cd /tmp/work && git init -q -b main"
            " && git config user.email t@example.invalid && git config user.name t"
            " && printf 'services:\\n  app:\\n    deploy:\\n      labels:\\n"
            "        - \"coop-cloud.''${STACK_NAME}.version=${tag}\"\\n' > compose.yml"
            " && git add -A && git commit -qm release && git tag -a -m release '${tag}'"
            " && mkdir -p /srv/upstream && git clone -q --bare /tmp/work /srv/upstream/${recipe}.git"
        )

    with subtest("a cc-ci checkout enrolling the recipe nightly"):
        machine.succeed(
            "mkdir -p /srv/cc-ci/tests/${recipe} /srv/cc-ci/runner"
            " && printf 'WARM_CANONICAL = True\\nSWEEP_CADENCE = \"nightly\"\\n' > /srv/cc-ci/tests/${recipe}/recipe_meta.py"
            " && cp ${harnessScript} /srv/cc-ci/runner/run_recipe_ci.py"
            " && cp ${seedScript} /srv/cc-ci/runner/seed_canonical.py"
            " && cd /srv/cc-ci && git init -q -b main && git config user.email t@example.invalid"
            " && git config user.name t && git add -A && git commit -qm cc-ci"
            " && chown -R ccci /srv/cc-ci"
        )

    with subtest("the nightly unit promotes the release"):
        machine.systemctl("start ccci-sweep-nightly.service")
        machine.succeed('test "$(systemctl show -p Result --value ccci-sweep-nightly.service)" = success')
        machine.succeed("jq -e '.version == \"${tag}\"' /var/lib/ci-warm/${recipe}/canonical.json")
        machine.succeed("test \"$(stat -c %U /var/lib/ci-warm)\" = ccci")

    with subtest("the admin wrapper runs with the unit's settings"):
        machine.succeed("runuser -u ccci -- ccci-sweep status | grep -F '${tag}'")
        machine.fail("ccci-sweep status")  # as root: refused, with the user to run it as
  '';
}
