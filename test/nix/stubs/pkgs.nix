# Stand-in package set: every package is a fake derivation { name, outPath } under `storeDir`, so a
# test can create real executables where a unit expects them. Only the packages nix/ refers to
# exist, and only those a current nixpkgs has: referring to another one is an evaluation error
# ("attribute ... missing"), as it is on a NixOS host. Checked against NixOS/nixpkgs:
#  - no `abra` (not in a release; the init PR NixOS/nixpkgs#441439 is open);
#  - no `nodejs_20` (marked insecure, #511784, then removed from master); `nodejs` is the default;
#  - `drone-runner-exec` is unfree (pkgs/by-name/dr/drone-runner-exec/package.nix, removed from
#    master by #543796): like check-meta, using its outPath fails unless `config` allows it;
#  - `xz` has a separate `bin` output (what makeBinPath picks), as in nixpkgs;
#  - writeShellApplication writes the script trivial-builders/default.nix writes (runtimeEnv,
#    runtimeInputs, inheritPath), exposed as `script` so tests can run it.
{ lib ? import ./lib.nix, storeDir ? "/nix/store/stand-in", config ? { } }:

let
  pkg = name: { type = "derivation"; inherit name; outPath = "${storeDir}/${name}"; };
  withMain = name: main: pkg name // { meta.mainProgram = main; };

  allowUnfree = p: (config.allowUnfree or false) || (config.allowUnfreePredicate or (_: false)) p;
  unfree = p: p // {
    meta = p.meta // { license = { free = false; shortName = "unfree"; }; };
    outPath = if allowUnfree p then p.outPath
      else throw "Package ‘${p.name}’ has an unfree license (‘unfree’), refusing to evaluate. Allow it with nixpkgs.config.allowUnfreePredicate.";
  };

  pythonPackages = {
    pytest = pkg "python3-pytest";
    playwright = pkg "python3-playwright";
  };

  runtimeShell = "${storeDir}/bash/bin/bash";

  self = lib.listToAttrs (map (n: lib.nameValuePair n (pkg n)) [
    "bash" "coreutils" "curl" "diffutils" "docker" "findutils" "gawk" "git" "git-lfs" "gnugrep"
    "gnused" "gnutar" "gzip" "hostname-debian" "jq" "openssh" "openssl" "procps" "systemd"
    "util-linux" "which"
  ]) // {
    inherit lib runtimeShell;

    # Not in nixpkgs: what a host supplies as ccci.harness.abra in the tests.
    abra-stand-in = withMain "abra" "abra";

    # The channel's default Node.js (26.05: an LTS newer than 20).
    nodejs = pkg "nodejs" // { version = "24.11.1"; };
    nodejs_22 = pkg "nodejs_22" // { version = "22.21.0"; };

    xz = pkg "xz" // { bin = pkg "xz-bin"; outputs = [ "bin" "out" ]; };
    woodpecker-agent = withMain "woodpecker-agent" "woodpecker-agent";
    drone-runner-exec = unfree (withMain "drone-runner-exec" "drone-runner-exec" // { pname = "drone-runner-exec"; });

    # withPackages records what it was given, so tests can see the Python environment's contents.
    python3 = pkg "python3" // {
      withPackages = f: pkg "python3-env" // { pythonPackages = map (p: p.name) (f pythonPackages); };
    };

    playwright-driver = pkg "playwright-driver" // { browsers = pkg "playwright-browsers"; };

    writeShellApplication = { name, text, runtimeInputs ? [ ], runtimeEnv ? null, inheritPath ? true,
      bashOptions ? [ "errexit" "nounset" "pipefail" ], meta ? { }, ... }:
      pkg name // {
        inherit text runtimeInputs runtimeEnv inheritPath;
        meta = { mainProgram = name; } // meta;
        script = "#!${runtimeShell}\n"
          + lib.concatStringsSep "\n" (map (o: "set -o ${o}") bashOptions) + "\n"
          + (if runtimeEnv == null then "" else lib.concatStringsSep ""
              (lib.mapAttrsToList (n: v: "${lib.toShellVar n v}\nexport ${n}\n") runtimeEnv))
          + (if runtimeInputs == [ ] then "" else
              "\nexport PATH=\"${lib.makeBinPath runtimeInputs}${if inheritPath then ":$PATH" else ""}\"\n")
          + "\n${text}\n";
      };

    # Like a real store path, the name depends on the content, so using it forces the text.
    writeText = name: text: pkg name // { inherit text; outPath = "${storeDir}/${builtins.hashString "sha256" text}-${name}"; };
    writeShellScriptBin = name: text: pkg name // { inherit text; meta.mainProgram = name; };

    buildGoModule = { pname, version, ... }@args: pkg pname // { inherit args version; meta = args.meta or { }; };
    fetchFromGitea = { domain, owner, repo, rev, hash, ... }: pkg "source" // { inherit domain owner repo rev hash; };

    buildNpmPackage = { pname, version, ... }@args: pkg pname // { inherit args; version = version; meta = args.meta or { }; };

    # The NixOS VM test driver (pkgs.testers.runNixOSTest): the test module is returned for
    # inspection, nothing is run.
    testers.runNixOSTest = test: { _type = "nixos-test-stand-in"; inherit test; };

    # Like nixpkgs: fill a function's arguments from this set, then apply the overrides. A required
    # argument nobody supplies is an error, as in nixpkgs.
    callPackage = fn: overrides:
      let
        f = if builtins.isFunction fn then fn else import fn;
        args = builtins.functionArgs f;
        given = builtins.intersectAttrs args self // overrides;
        missing = lib.filter (n: !args.${n} && !(given ? ${n})) (lib.attrNames args);
      in
      if missing != [ ] then throw "Function called without required argument \"${builtins.head missing}\""
      else f given;
  };
in
self
