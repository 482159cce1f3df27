# abra, built from its source, for hosts whose nixpkgs has no pkgs.abra (no release has it yet; the
# init PR is NixOS/nixpkgs#441439). Pass it as ccci.harness.abra:
#
#   ccci.harness.abra = pkgs.callPackage ./nix/abra.nix { version = "<release tag>"; hash = "..."; vendorHash = "..."; };
#
# `hash` and `vendorHash` start as the placeholder: the first build fails with "hash mismatch ...
# got: sha256-...", once for the source and once for the Go modules; put each value in. Redo both
# for another version. Once nixpkgs has abra, drop this and leave ccci.harness.abra at its default.
{ lib, buildGoModule, fetchgit, version ? "0.11.0-beta", hash ? lib.fakeHash, vendorHash ? lib.fakeHash }:

buildGoModule {
  pname = "abra";
  inherit version vendorHash;

  src = fetchgit {
    url = "https://git.coopcloud.tech/toolshed/abra.git";
    rev = version;
    inherit hash;
  };

  subPackages = [ "cmd/abra" ];
  # The test suite reaches the network and a docker daemon, neither of which a build has.
  doCheck = false;

  meta = {
    description = "The Co-op Cloud command-line utility belt";
    license = lib.licenses.gpl3Plus;
    mainProgram = "abra";
  };
}
