# Stand-in package set: every package is a fake derivation { name, outPath } under `storeDir`, so a
# test can create real executables where a unit expects them. Only the packages nix/ refers to
# exist; referring to another one is an evaluation error ("attribute ... missing").
{ lib ? import ./lib.nix, storeDir ? "/nix/store/stand-in" }:

let
  pkg = name: { type = "derivation"; inherit name; outPath = "${storeDir}/${name}"; };

  pythonPackages = {
    pytest = pkg "python3-pytest";
    playwright = pkg "python3-playwright";
  };

  self = lib.listToAttrs (map (n: lib.nameValuePair n (pkg n)) [
    "abra" "bash" "coreutils" "curl" "docker" "drone-runner-exec" "git" "git-lfs" "gnugrep"
    "gnused" "gnutar" "jq" "nodejs_20" "openssh" "openssl" "procps" "util-linux"
  ]) // {
    inherit lib;

    # withPackages records what it was given, so tests can see the Python environment's contents.
    python3 = pkg "python3" // {
      withPackages = f: pkg "python3-env" // { pythonPackages = map (p: p.name) (f pythonPackages); };
    };

    playwright-driver = pkg "playwright-driver" // { browsers = pkg "playwright-browsers"; };

    writeShellApplication = { name, text, runtimeInputs ? [ ], ... }:
      pkg name // { inherit text runtimeInputs; };

    buildNpmPackage = { pname, version, ... }@args: pkg pname // { inherit args; version = version; };

    # Like nixpkgs: fill a function's arguments from this set, then apply the overrides.
    callPackage = fn: overrides:
      let f = if builtins.isFunction fn then fn else import fn; in
      f (builtins.intersectAttrs (builtins.functionArgs f) self // overrides);
  };
in
self
