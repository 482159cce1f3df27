# The ccci-sweep CLI:
#
#   pkgs.callPackage ./package.nix { npmRegistry = "https://<your npm registry>"; npmDepsHash = "sha256-..."; }
#
# npmRegistry (no default): base URL of the npm registry the dependencies are fetched from, the
# public one or a mirror. package-lock.json carries no registry URLs; ./npm-lock.nix derives each
# dependency's `resolved` from name + version + this base, and the lock's integrity hashes still pin
# every tarball. The derived lock replaces package-lock.json in the source (postPatch), which
# buildNpmPackage also hands to fetchNpmDeps, so the fetch and `npm ci` read the same file.
#
# npmDepsHash pins the fetched dependencies. It depends on the registry URL (the fetched cache
# records it), so it is the operator's to fill: build once with the placeholder (lib.fakeHash), and
# the build fails with "hash mismatch ... got: sha256-..."; put that value here (on NixOS:
# services.ccci-sweep.npmDepsHash). Redo it whenever package-lock.json or the registry changes.
#
# nodejs: the channel's default Node.js (nodejs_20 is insecure on 26.05 and gone from master);
# package.json's engines (>=20.18.1) is what the CLI needs.
{ lib, buildNpmPackage, nodejs, writeText, npmRegistry, npmDepsHash ? lib.fakeHash }:

let
  manifest = lib.importJSON ../package.json;
  # package.json's engines is the truth about which Node.js the CLI runs on; a nodejs override below it
  # is refused here rather than failing at run time.
  minNode =
    let m = builtins.match ">= *([0-9][0-9.]*)" (manifest.engines.node or ""); in
    if m == null then throw "package.json: engines.node must be of the form \">=N\"" else builtins.head m;
  lock = import ./npm-lock.nix {
    registry = npmRegistry;
    lock = lib.importJSON ../package-lock.json;
  };
  lockFile = writeText "package-lock.json" (builtins.toJSON lock);
in
assert lib.assertMsg (lib.versionAtLeast nodejs.version minNode)
  "ccci-sweep needs Node.js >= ${minNode} (package.json engines); nodejs is ${nodejs.version}";
buildNpmPackage {
  pname = manifest.name;
  inherit (manifest) version;
  inherit nodejs npmDepsHash;

  # Only what `npm run build` and the installed package need; keeps node_modules, dist and test
  # fixtures out of the source hash.
  src = lib.fileset.toSource {
    root = ./..;
    fileset = lib.fileset.unions [
      ../package.json
      ../package-lock.json
      ../tsconfig.json
      ../src
      ../bin
    ];
  };

  postPatch = ''
    cp ${lockFile} package-lock.json
  '';

  # `npm run build` compiles src/ to dist/; bin/ccci-sweep.js imports dist/cli/main.js. The install
  # phase packs the `files` of package.json and links its `bin` entries into $out/bin.
  npmBuildScript = "build";

  passthru = { inherit lock lockFile; };

  meta = {
    description = manifest.description;
    license = lib.licenses.agpl3Plus;
    mainProgram = "ccci-sweep";
  };
}
