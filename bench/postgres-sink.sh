#!/usr/bin/env bash
# bench/postgres-sink.sh — the PostgreSQL replica sink's apply rate and snapshot load rate.
#
# Two throwaway PostgreSQL 15 clusters (../shared/anchors/pg-temp.sh): a source on port 55460
# and a target on 55461. Then:
#   streaming: ../shared/anchors/workload.py makes 200k inserts + 100k updates + 50k deletes of
#              bench.orders (transactions of 1000 rows). Rivulet drains the same WAL twice, from
#              two slots: once into JSONL (the reference rate), once into the target cluster with
#              the postgres sink (mirror mode). Each run goes to --endpos = the LSN after the
#              workload; the time is the whole process run. The target is then compared with the
#              source (row count + md5 over all columns).
#   snapshot:  bench.orders is recreated with 1M rows; `\copy bench.orders to /dev/null` is the
#              floor for reading it, `\copy … to stdout | \copy … from stdin` into the target the
#              floor for moving it; then Rivulet `initial_only` with the postgres sink into an
#              empty target, and the comparison again.
# Appends the table it prints to bench/RESULTS.md.
#
#   bench/postgres-sink.sh
#   BENCH_INSERTS=… BENCH_UPDATES=… BENCH_DELETES=… BENCH_BATCH=… BENCH_SNAPSHOT_ROWS=… bench/postgres-sink.sh
#   ANCHORS=/path/to/anchors bench/postgres-sink.sh
#   RIVULET_BIN=target/release/rivulet bench/postgres-sink.sh   # skip the build
set -euo pipefail
cd "$(dirname "$0")/.."
anchors=${ANCHORS:-../shared/anchors}
if [ ! -x "$anchors/pg-temp.sh" ]; then
    echo "skipped: $anchors/pg-temp.sh not found (the anchors are not checked out next to the project; set ANCHORS=…)"
    exit 0
fi
anchors=$(realpath "$anchors")
source scripts/ensure-deps.sh
ensure_rust
ensure_postgres

inserts=${BENCH_INSERTS:-200000}
updates=${BENCH_UPDATES:-100000}
deletes=${BENCH_DELETES:-50000}
batch=${BENCH_BATCH:-1000}
snap_rows=${BENCH_SNAPSHOT_ROWS:-1000000}
src_port=55460
dst_port=55461
pgbin=${PGBIN:-/usr/lib/postgresql/15/bin}

if [ -n "${RIVULET_BIN:-}" ]; then
    bin=$RIVULET_BIN # a release binary built already
else
    cargo build --release --quiet -p rivulet
    target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
    bin="$target_dir/release/rivulet"
fi

work=$(mktemp -d /tmp/rivulet-pgsink-bench.XXXXXX)
chmod 755 "$work" # the clusters run as the postgres OS user
cleanup() {
    "$anchors/pg-temp.sh" destroy "$work/src" >/dev/null 2>&1 || true
    "$anchors/pg-temp.sh" destroy "$work/dst" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
"$anchors/pg-temp.sh" start "$work/src" $src_port >/dev/null
"$anchors/pg-temp.sh" start "$work/dst" $dst_port >/dev/null
src="postgres://postgres@127.0.0.1:$src_port/postgres"
dst="postgres://postgres@127.0.0.1:$dst_port/postgres"
q() { "$pgbin/psql" -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres -p "$1" -d postgres -c "$2"; }
now() { date +%s.%N; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
checksum() { q "$1" "SELECT count(*) || ' ' || md5(string_agg(t::text, '' ORDER BY id)) FROM bench.orders t"; }
# rivulet run with the benchmark pipeline; $1 = slot, $2 = sink type, the rest: more arguments.
ours() {
    local slot=$1 sink=$2
    shift 2
    local sets=(--set "source.url=$src" --set "source.slot=$slot" --set "offsets.path=$work/offsets-$slot.json")
    if [ "$sink" = jsonl ]; then
        "$bin" run --config bench/pipeline.toml "${sets[@]}" --set source.publication=bench_pub \
            --set "sink.path=$work/$slot.jsonl" "$@"
    else
        "$bin" run --config bench/pipeline-postgres.toml "${sets[@]}" --set "sink.url=$dst" "$@"
    fi
}

echo "setting up: source on $src_port, target on $dst_port" >&2
(cd "$anchors" && ./workload.py --port $src_port create)
q $src_port "CREATE PUBLICATION bench_pub FOR TABLE bench.orders"
# Both slots exist before the workload, so both drain the same WAL.
ours bench_jsonl jsonl --endpos "$(q $src_port 'SELECT pg_current_wal_lsn()')" 2>/dev/null
ours bench_pg postgres --endpos "$(q $src_port 'SELECT pg_current_wal_lsn()')" 2>/dev/null
changes=$((inserts + updates + deletes))
echo "streaming: $inserts inserts, $updates updates, $deletes deletes ($batch rows per transaction)" >&2
(cd "$anchors" && ./workload.py --port $src_port changes --inserts "$inserts" --updates "$updates" \
    --deletes "$deletes" --batch "$batch")
endpos=$(q $src_port "SELECT pg_current_wal_lsn()")

t0=$(now)
ours bench_jsonl jsonl --endpos "$endpos" 2>"$work/jsonl.log"
t1=$(now)
jsonl_s=$(secs "$t0" "$t1")
t0=$(now)
ours bench_pg postgres --endpos "$endpos" 2>"$work/pg.log"
t1=$(now)
pg_s=$(secs "$t0" "$t1")
stream_same=no
[ "$(checksum $src_port)" = "$(checksum $dst_port)" ] && stream_same=yes

echo "snapshot: $snap_rows rows" >&2
(cd "$anchors" && ./workload.py --port $src_port create && ./workload.py --port $src_port load "$snap_rows")
q $src_port "ALTER PUBLICATION bench_pub SET TABLE bench.orders"
q $src_port "VACUUM (FREEZE, ANALYZE) bench.orders"
q $src_port "CHECKPOINT"
t0=$(now)
"$pgbin/psql" -X -q -h 127.0.0.1 -U postgres -p $src_port -d postgres -c '\copy bench.orders to /dev/null'
t1=$(now)
read_s=$(secs "$t0" "$t1")
# The floor for moving the rows: psql's \copy out of the source, into an empty copy of the table.
q $dst_port "DROP SCHEMA IF EXISTS bench CASCADE"
(cd "$anchors" && ./workload.py --port $dst_port create)
t0=$(now)
"$pgbin/psql" -X -q -h 127.0.0.1 -U postgres -p $src_port -d postgres -c '\copy bench.orders to stdout' |
    "$pgbin/psql" -X -q -h 127.0.0.1 -U postgres -p $dst_port -d postgres -c '\copy bench.orders from stdin'
t1=$(now)
pipe_s=$(secs "$t0" "$t1")
# Rivulet creates the target table itself.
q $dst_port "DROP SCHEMA bench CASCADE"
t0=$(now)
ours bench_snap postgres --set source.snapshot=initial_only --set name=bench-snapshot 2>"$work/snap.log"
t1=$(now)
snap_s=$(secs "$t0" "$t1")
snap_same=no
[ "$(checksum $src_port)" = "$(checksum $dst_port)" ] && snap_same=yes

results=$(
    cat <<TABLE
bench/postgres-sink.sh: source and target in two PostgreSQL 15 clusters on this machine

| scenario | rows | seconds | rows/s | target equals source |
|---|---|---|---|---|
| streaming, JSONL sink (reference) | $changes | $jsonl_s | $(rate $changes "$jsonl_s") | |
| streaming, postgres sink (mirror) | $changes | $pg_s | $(rate $changes "$pg_s") | $stream_same |
| snapshot, \\copy to /dev/null (read floor) | $snap_rows | $read_s | $(rate "$snap_rows" "$read_s") | |
| snapshot, \\copy source → \\copy target (move floor) | $snap_rows | $pipe_s | $(rate "$snap_rows" "$pipe_s") | |
| snapshot, postgres sink (initial_only) | $snap_rows | $snap_s | $(rate "$snap_rows" "$snap_s") | $snap_same |
TABLE
)
echo "$results"
{
    echo
    echo "## $(date -u '+%Y-%m-%d %H:%M UTC') — postgres sink — $(nproc) cores, $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ *//'), rivulet $(git describe --always --dirty 2>/dev/null || echo "?")"
    echo
    echo "$results"
} >>bench/RESULTS.md
echo "appended to bench/RESULTS.md"
