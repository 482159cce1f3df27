# abra, built from its source, for hosts whose nixpkgs has no pkgs.abra (no release has it yet; the
# init PR is NixOS/nixpkgs#441439). Pass it as ccci.harness.abra:
#
#   ccci.harness.abra = pkgs.callPackage ./nix/abra.nix { version = "<release tag>"; hash = "sha256-..."; };
#
# `hash` starts as the placeholder: the first build fails with "hash mismatch ... got: sha256-...";
# put that value in, and redo it for another version. abra's repository carries its Go modules in
# vendor/, hence no vendorHash (pass one only for a version without vendor/). Once nixpkgs has abra,
# drop this and leave ccci.harness.abra at its default.
{ lib, buildGoModule, fetchFromGitea, version ? "0.11.0-beta", hash ? lib.fakeHash, vendorHash ? null }:

buildGoModule {
  pname = "abra";
  inherit version vendorHash;

  src = fetchFromGitea {
    domain = "git.coopcloud.tech";
    owner = "toolshed";
    repo = "abra";
    rev = version;
    inherit hash;
  };

  subPackages = [ "cmd/abra" ];
  # `abra --version` reports what was built.
  ldflags = [ "-X main.Version=${version}" ];
  # The test suite reaches the network and a docker daemon, neither of which a build has.
  doCheck = false;

  meta = {
    description = "The Co-op Cloud command-line utility belt";
    license = lib.licenses.gpl3Plus;
    mainProgram = "abra";
  };
}
