#!/usr/bin/env bash
# bench/chaos.sh — the long fault-injection run (the short one is part of ./test:
# crates/rivulet-chaos/tests/short.rs). Per sink (postgres, jsonl, delta, files, kafka) it runs
# CHAOS_TRIALS trials of CHAOS_FAULTS faults each (default 5 × 12 = 60 faults per sink: kill -9
# of Rivulet — the first inside the initial snapshot — immediate restarts of the source and of
# the replica's target, cut source connections, S3 server restarts for files and Delta on S3)
# during a seeded random workload of CHAOS_WORKLOAD (default 40s) over CHAOS_ROWS seeded rows,
# then catches up with --endpos and compares every table with the source.
#
# Prints one line per trial, then "chaos: N trials, F faults, L lost, D duplicated" and
# "P passed, F failed"; exits 1 if any trial failed. Every failure names the seed that repeats
# its workload and fault schedule: rivulet-chaos --sink S --seed N --trials 1.
#
#   bench/chaos.sh                                  # every sink, a random seed
#   bench/chaos.sh --sink postgres --seed 42        # more options: rivulet-chaos --help
#   CHAOS_TRIALS=10 CHAOS_WORKLOAD=60s bench/chaos.sh
#   RIVULET_BIN=/path/to/rivulet bench/chaos.sh      # test that binary (skips its build)
# The whole run's output is also written to $CHAOS_LOG (default /tmp/rivulet-chaos-<time>.log).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-deps.sh
ensure_rust
ensure_postgres
ensure_kafka_tools
ensure_delta_tools
ensure_s3_tools

target=${CARGO_TARGET_DIR:-target}
if [ -z "${RIVULET_BIN:-}" ]; then
    cargo build -p rivulet
    RIVULET_BIN=$target/debug/rivulet
    echo "rivulet built from $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- crates || echo ' + uncommitted changes')"
fi
cargo build -p rivulet-chaos
log=${CHAOS_LOG:-/tmp/rivulet-chaos-$(date -u +%Y%m%dT%H%M%SZ).log}
echo "log: $log"
"$target/debug/rivulet-chaos" \
    --rivulet "$RIVULET_BIN" \
    --trials "${CHAOS_TRIALS:-5}" \
    --faults-per-trial "${CHAOS_FAULTS:-12}" \
    --workload "${CHAOS_WORKLOAD:-40s}" \
    --rows "${CHAOS_ROWS:-5000}" \
    "$@" | tee "$log"
exit "${PIPESTATUS[0]}"
