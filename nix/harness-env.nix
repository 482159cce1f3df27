# What a recipe test needs: the ONE list.
#
# The harness wrapper (cc-ci-run), the sweep timers, the Drone exec runner and the hosts' system
# packages all take their tools from here. Before this file existed there were three hand-kept
# lists (harness module, nightly sweep module, hosts) and they drifted: the sweep timer lacked bash,
# then git-lfs, and got a PATH prepend of the system profile instead of a fix. Add a tool here and
# every consumer gets it; never list a tool anywhere else (test/nix enforces both).
#
# A plain function of a package set so it can be evaluated with any `pkgs` (the tests use a
# stand-in). `abra` is separate because it may come from an overlay or a flake rather than nixpkgs.
{ pkgs, abra ? pkgs.abra }:

let
  # The harness is pytest + playwright; recipe tests import nothing else from Python.
  pyEnv = pkgs.python3.withPackages (ps: [ ps.pytest ps.playwright ]);
in
{
  inherit pyEnv;

  tools = [
    pyEnv
    abra
    pkgs.docker # client; the daemon is virtualisation.docker on the host
    pkgs.bash # recipe tests run shell snippets
    pkgs.coreutils
    pkgs.util-linux # `script` gives abra a tty
    pkgs.procps
    pkgs.gnused
    pkgs.gnugrep
    pkgs.gnutar
    pkgs.git
    pkgs.git-lfs # some recipes keep fixtures in LFS
    pkgs.openssh # abra reaches servers over ssh
    pkgs.curl
    pkgs.jq
    pkgs.openssl # recipe tests generate secrets and certificates
  ];

  # Playwright must use the browsers from the store, never download its own.
  env = {
    PLAYWRIGHT_BROWSERS_PATH = "${pkgs.playwright-driver.browsers}";
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD = "1";
  };
}
