#!/usr/bin/env bash
# Baseline for `ccci-sweep sync`: the replaced Python sweep's mirror update, one recipe after another. For
# each enrolled recipe: fetch upstream's main and tags into the local clone, then push them to the mirror.
# Prints "recipe<TAB>ok|fetch-failed|push-failed".
#
# usage: baseline-sync.sh CCCI_REPO RECIPES_DIR UPSTREAM_URL_TEMPLATE MIRROR_URL_TEMPLATE
set -euo pipefail
ccci=$1 recipes=$2 upstream=$3 mirror=$4

for meta in "$ccci"/tests/*/recipe_meta.py; do
  recipe=${meta%/recipe_meta.py}
  recipe=${recipe##*/}
  case $recipe in _*) continue ;; esac
  grep -q '^WARM_CANONICAL = True' "$meta" || continue
  clone=$recipes/$recipe
  if ! git -C "$clone" fetch --quiet --no-tags "${upstream//\{recipe\}/$recipe}" \
      '+refs/heads/main:refs/remotes/ccci-upstream/main' 'refs/tags/*:refs/tags/*'; then
    printf '%s\tfetch-failed\n' "$recipe"
    continue
  fi
  if ! git -C "$clone" push --quiet "${mirror//\{recipe\}/$recipe}" \
      'refs/remotes/ccci-upstream/main:refs/heads/main' 'refs/tags/*:refs/tags/*'; then
    printf '%s\tpush-failed\n' "$recipe"
    continue
  fi
  printf '%s\tok\n' "$recipe"
done
