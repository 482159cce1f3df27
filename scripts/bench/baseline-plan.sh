#!/usr/bin/env bash
# Baseline for `ccci-sweep plan`: what the replaced Python sweep did, one recipe after another. For each
# enrolled recipe: one `git ls-remote --tags` to upstream, the newest release by `sort -V`, the canonical
# version read with jq, and the skip/run decision. Prints "recipe<TAB>canonical<TAB>latest<TAB>decision reason".
#
# usage: baseline-plan.sh CCCI_REPO STATE_DIR UPSTREAM_URL_TEMPLATE   ({recipe} is replaced)
set -euo pipefail
ccci=$1 state=$2 template=$3
# Release tags: exact semver for the recipe part, optional +app version.
release='^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z][0-9A-Za-z._-]*)?$'

for meta in "$ccci"/tests/*/recipe_meta.py; do
  recipe=${meta%/recipe_meta.py}
  recipe=${recipe##*/}
  case $recipe in _*) continue ;; esac
  grep -q '^WARM_CANONICAL = True' "$meta" || continue
  url=${template//\{recipe\}/$recipe}
  if ! refs=$(git ls-remote --tags "$url"); then
    printf '%s\t-\t-\terror tags-unavailable\n' "$recipe"
    continue
  fi
  latest=$(printf '%s\n' "$refs" | cut -f2 | sed -e 's#^refs/tags/##' -e '/\^{}$/d' | { grep -E "$release" || true; } | sort -V | tail -n 1)
  canonical=
  if [ -f "$state/$recipe/canonical.json" ]; then
    canonical=$(jq -r '.version // empty' "$state/$recipe/canonical.json")
  fi
  if [ -z "$latest" ]; then
    decision='skip never-released'
  elif [ -z "$canonical" ]; then
    decision='run first-canonical'
  elif [ "$(printf '%s\n%s\n' "$canonical" "$latest" | sort -V | tail -n 1)" = "$canonical" ]; then
    decision='skip no-new-version'
  else
    decision='run new-release'
  fi
  printf '%s\t%s\t%s\t%s\n' "$recipe" "${canonical:--}" "${latest:--}" "$decision"
done
