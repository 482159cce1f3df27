#!/usr/bin/env bash
# Reference for `ccci-sweep plan`: the same `git ls-remote --tags` per enrolled recipe, JOBS at a time, from
# xargs instead of Node, doing nothing with the answers. What this machine and the loopback server can do at
# that concurrency, so plan's distance from the network floor can be split into "machine" and "ccci-sweep".
#
# usage: parallel-ls-remote.sh CCCI_REPO UPSTREAM_URL_TEMPLATE JOBS
set -euo pipefail
ccci=$1 template=$2 jobs=$3
for meta in "$ccci"/tests/*/recipe_meta.py; do
  recipe=${meta%/recipe_meta.py}
  recipe=${recipe##*/}
  case $recipe in _*) continue ;; esac
  grep -q '^WARM_CANONICAL = True' "$meta" && printf '%s\n' "${template//\{recipe\}/$recipe}"
done | xargs -P "$jobs" -n 1 git ls-remote --tags >/dev/null
