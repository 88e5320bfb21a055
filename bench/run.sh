#!/usr/bin/env bash
# bench/run.sh — Rivulet side by side with Debezium 3.6.3 and pg_recvlogical on the same WAL,
# using ../shared/anchors/bench-peer.sh (a fresh PostgreSQL 15 cluster, 200k inserts + 100k
# updates + 50k deletes in transactions of 1000 rows; every contender drains it from its own
# slot; then a 1M-row table read by `psql \copy`, Debezium initial_only and Rivulet
# initial_only). Appends the table it prints to bench/RESULTS.md with the date and the machine.
#
#   bench/run.sh                 # streaming catch-up, then the 1M-row snapshot (initial_only)
#   bench/run.sh --skip-snapshot # streaming only
#   BENCH_INSERTS=… BENCH_UPDATES=… BENCH_DELETES=… bench/run.sh   # other sizes (see bench-peer.sh)
#   ANCHORS=/path/to/anchors bench/run.sh
#   RIVULET_BIN=/path/to/release/rivulet bench/run.sh   # skip the build
#
# The machine should be otherwise idle: two cores are shared by the server and the client.
set -euo pipefail
cd "$(dirname "$0")/.."
anchors=${ANCHORS:-../shared/anchors}
if [ ! -x "$anchors/bench-peer.sh" ]; then
    echo "skipped: $anchors/bench-peer.sh not found (the anchors are not checked out next to the project; set ANCHORS=…)"
    exit 0
fi
anchors=$(realpath "$anchors")
source scripts/ensure-deps.sh
ensure_rust
ensure_postgres

if [ -n "${RIVULET_BIN:-}" ]; then
    bin=$RIVULET_BIN  # a release binary built elsewhere (skips the build)
else
    cargo build --release --quiet -p rivulet
    target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
    bin="$target_dir/release/rivulet"
fi
"$anchors/setup.sh" >/dev/null 2>&1

work=$(mktemp -d /tmp/rivulet-bench.XXXXXX)
chmod 755 "$work"  # the benchmark cluster runs as the postgres OS user
trap 'rm -rf "$work"' EXIT
ours="$bin run --config $PWD/bench/pipeline.toml --set source.url=postgres://postgres@127.0.0.1:{port}/{db}"
ours+=" --set source.slot={slot} --set source.publication={publication} --set source.tables={tables}"
ours+=" --set sink.path={out} --set offsets.path=$work/offsets-\$\$.json"
snapshot="$ours --set source.snapshot=initial_only"
BENCH_DIR="$work/bench" "$anchors/bench-peer.sh" "$@" --ours "$ours" --ours-snapshot "$snapshot" 2>&1 | tee "$work/log.txt"

{
    echo
    echo "## $(date -u '+%Y-%m-%d %H:%M UTC') — $(nproc) cores, $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ *//'), rivulet $(git describe --always --dirty 2>/dev/null || echo "?")"
    echo
    echo '```'
    sed -n '/^bench-peer:/,$p' "$work/bench/results.txt"
    echo '```'
} >>bench/RESULTS.md
echo "appended to bench/RESULTS.md"
