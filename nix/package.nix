# The ccci-sweep CLI: `pkgs.callPackage ./package.nix { }`.
#
# npmDepsHash pins the npm dependency closure of package-lock.json. After changing the lock file,
# compute the new value with `prefetch-npm-deps package-lock.json` (from nixpkgs'
# prefetch-npm-deps) and paste it below. Until then the placeholder makes the build fail with a
# hash mismatch that also prints the expected value.
{ lib, buildNpmPackage, nodejs_20 }:

let
  manifest = lib.importJSON ../package.json;
in
buildNpmPackage {
  pname = manifest.name;
  inherit (manifest) version;
  nodejs = nodejs_20;

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

  npmDepsHash = lib.fakeHash; # placeholder, see above

  # `npm run build` compiles src/ to dist/; bin/ccci-sweep.js imports dist/cli.js. The install
  # phase packs the `files` of package.json and links its `bin` entries into $out/bin.
  npmBuildScript = "build";

  meta = {
    description = manifest.description;
    license = lib.licenses.agpl3Plus;
    mainProgram = "ccci-sweep";
  };
}
