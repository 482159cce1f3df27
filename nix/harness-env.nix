# What a recipe test needs: the ONE list.
#
# The harness wrapper (cc-ci-run), the sweep timers, the Drone exec runner, the Woodpecker agent and
# the hosts' system packages all take their tools from here. Before this file existed there were
# three hand-kept lists (harness module, nightly sweep module, hosts) and they drifted: the sweep
# timer lacked bash, then git-lfs, and got a PATH prepend of the system profile instead of a fix.
# Add a tool here and every consumer gets it; never list a tool anywhere else (test/nix enforces both).
#
# A plain function of a package set so it can be evaluated with any `pkgs` (the tests use a
# stand-in). `abra` is passed in: no nixpkgs release has it (NixOS/nixpkgs#441439 is still open),
# so it comes from an overlay, a flake or a local build. `abraDir` is where abra keeps its state;
# every path that starts a harness gets the same one (Drone steps run with a HOME of their own, so
# abra's default ~/.abra would differ between a pipeline and the sweep).
{ pkgs, abra ? pkgs.abra or null, abraDir ? "/var/lib/ccci-abra" }:

let
  # The harness is pytest + playwright; recipe tests import nothing else from Python.
  pyEnv = pkgs.python3.withPackages (ps: [ ps.pytest ps.playwright ]);
  abra' = if abra != null then abra else
    throw "nix/harness-env.nix: no abra package. This nixpkgs has no pkgs.abra (NixOS/nixpkgs#441439); pass abra = <an abra package>, or on NixOS set ccci.harness.abra.";
in
{
  inherit pyEnv;

  tools = [
    pyEnv
    abra'
    pkgs.docker # client; the daemon is virtualisation.docker on the host
    pkgs.bash # recipe tests run shell snippets
    pkgs.coreutils
    pkgs.util-linux # `script` gives abra a tty
    pkgs.procps
    pkgs.gnused
    pkgs.gnugrep
    pkgs.gawk # recipe test snippets
    pkgs.findutils
    pkgs.diffutils
    pkgs.which
    pkgs.hostname-debian # `hostname`, which recipe tests and abra's helper scripts call
    pkgs.gnutar
    pkgs.gzip # GNU tar execs gzip and xz for .tar.gz / .tar.xz; it does not link them
    pkgs.xz
    pkgs.git
    pkgs.git-lfs # some recipes keep fixtures in LFS (filters: env below)
    pkgs.openssh # abra reaches servers over ssh
    pkgs.curl
    pkgs.jq
    pkgs.openssl # recipe tests generate secrets and certificates
  ];

  env = {
    # Playwright must use the browsers from the store, never download its own.
    PLAYWRIGHT_BROWSERS_PATH = "${pkgs.playwright-driver.browsers}";
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD = "1";
    ABRA_DIR = abraDir;
    # git-lfs on PATH is not enough: git runs LFS only where filter.lfs.* is configured, and nothing
    # on the host declares it (programs.git.lfs writes /etc/gitconfig only with programs.git.enable).
    # Declared here, so every path has it. No `%f` argument (git-lfs does not need it, and a `%` in
    # a unit's Environment= would be read as a systemd specifier); `process` is what git uses.
    GIT_CONFIG_COUNT = "4";
    GIT_CONFIG_KEY_0 = "filter.lfs.process";
    GIT_CONFIG_VALUE_0 = "git-lfs filter-process";
    GIT_CONFIG_KEY_1 = "filter.lfs.required";
    GIT_CONFIG_VALUE_1 = "true";
    GIT_CONFIG_KEY_2 = "filter.lfs.clean";
    GIT_CONFIG_VALUE_2 = "git-lfs clean";
    GIT_CONFIG_KEY_3 = "filter.lfs.smudge";
    GIT_CONFIG_VALUE_3 = "git-lfs smudge";
  };
}
