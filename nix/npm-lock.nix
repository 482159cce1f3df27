# package-lock.json with a `resolved` URL for every registry dependency, derived from name + version
# and the registry the operator names. Pure Nix (builtins only), so evaluation alone shows the result.
#
# Why: the committed lock carries no registry URLs (the registry is each operator's choice, and no
# registry host is written into this repository), but nixpkgs' fetchNpmDeps (prefetch-npm-deps)
# fetches only lock entries whose `resolved` is a URL and fails with "No cacheable dependencies were
# found" otherwise (pkgs/build-support/node/fetch-npm-deps/src/parse/lock.rs, parse/mod.rs). The
# `integrity` hashes stay as they are, so the tarballs are still pinned byte for byte: a registry
# that serves anything else fails the fetch.
#
#   import ./npm-lock.nix { registry = "https://npm.example.org"; lock = builtins.fromJSON (...); }
{ registry, lock }:

let
  inherit (builtins) match isString stringLength substring mapAttrs head elemAt length split filter isList;

  base =
    if !(isString registry) || match "https?://[^/]+(/.*)?" registry == null then
      throw "npm registry: expected the base URL of an npm registry (http:// or https://), got ${builtins.toJSON registry}"
    else if substring (stringLength registry - 1) 1 registry == "/" then substring 0 (stringLength registry - 1) registry
    else registry;

  # "node_modules/a/node_modules/@s/b" -> "@s/b": the installed name is what follows the last
  # node_modules/. An aliased install (npm:real@1) records the real name in `name`.
  installedName = key:
    let parts = filter isString (split "node_modules/" key); in
    elemAt parts (length parts - 1);

  # The registry's tarball path: <name>/-/<name without scope>-<version>.tgz
  tarball = name: version:
    let
      scoped = match "@[^/]+/(.+)" name;
      bare = if scoped == null then name else head scoped;
    in
    "${base}/${name}/-/${bare}-${version}.tgz";

  # Entries fetchNpmDeps does not fetch: the root, workspace links, bundled dependencies (shipped
  # inside their parent's tarball). Everything else must be a registry package with an integrity.
  skip = key: p: key == "" || (p.link or false) || (p.inBundle or false);

  withResolved = key: p:
    if skip key p || p ? resolved then p
    else if !(p ? integrity) || !(p ? version) then
      throw "package-lock.json: ${key} has no integrity/version, so no registry URL can be derived for it; run `npm install` to refresh the lock"
    else p // { resolved = tarball (p.name or (installedName key)) p.version; };
in
builtins.seq base (
if (lock.lockfileVersion or 0) < 2 || !(lock ? packages) then
  throw "package-lock.json: lockfileVersion ${toString (lock.lockfileVersion or "?")} has no `packages` map; regenerate it with npm 7 or later"
else
  lock // { packages = mapAttrs withResolved lock.packages; })
