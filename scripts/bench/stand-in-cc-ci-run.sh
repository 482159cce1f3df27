#!/usr/bin/env bash
# Stand-in for cc-ci-run in the benchmark: the "test" passes at once. It records when it started and ended
# (bash's $EPOCHREALTIME, no extra process) so the driver's own cost per launch is wall time minus this.
start=$EPOCHREALTIME
printf '%s %s %s\n' "$RECIPE" "${start/,/.}" "${EPOCHREALTIME/,/.}" >>"$BENCH_HARNESS_LOG"
