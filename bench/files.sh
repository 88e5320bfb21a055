#!/usr/bin/env bash
# bench/files.sh — the files sink's write rates (Parquet, CSV) to local disk, next to the JSONL
# sink on the same WAL and psql's \copy floor, and the size of what each writes.
#
# One throwaway PostgreSQL 15 cluster (../shared/anchors/pg-temp.sh, port 55470). Then:
#   streaming: ../shared/anchors/workload.py makes 200k inserts + 100k updates + 50k deletes of
#              bench.orders (transactions of 1000 rows). Rivulet drains the same WAL three times,
#              from three slots created before the workload: into JSONL (the reference), into
#              Parquet (snappy) and into CSV files. Each run goes to --endpos = the LSN after the
#              workload; the time is the whole process run.
#   snapshot:  bench.orders is recreated with 1M rows; `\copy bench.orders to /dev/null` is the
#              floor for reading it; then Rivulet `initial_only` into JSONL, Parquet and CSV.
# Rows in the files are counted back with scripts/lake_tool.py (pyarrow). Appends the table it
# prints to bench/RESULTS.md.
#
#   bench/files.sh
#   BENCH_INSERTS=… BENCH_UPDATES=… BENCH_DELETES=… BENCH_BATCH=… BENCH_SNAPSHOT_ROWS=… bench/files.sh
#   ANCHORS=/path/to/anchors bench/files.sh
#   RIVULET_BIN=/path/to/release/rivulet bench/files.sh   # skip the build
#   BENCH_RECORD=0 bench/files.sh                        # print only, leave bench/RESULTS.md alone
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
ensure_s3_tools

inserts=${BENCH_INSERTS:-200000}
updates=${BENCH_UPDATES:-100000}
deletes=${BENCH_DELETES:-50000}
batch=${BENCH_BATCH:-1000}
snap_rows=${BENCH_SNAPSHOT_ROWS:-1000000}
port=55470
pgbin=${PGBIN:-/usr/lib/postgresql/15/bin}

if [ -n "${RIVULET_BIN:-}" ]; then
    bin=$RIVULET_BIN
else
    cargo build --release --quiet -p rivulet
    target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
    bin="$target_dir/release/rivulet"
fi

work=$(mktemp -d /tmp/rivulet-files-bench.XXXXXX)
chmod 755 "$work" # the cluster runs as the postgres OS user
cleanup() {
    "$anchors/pg-temp.sh" destroy "$work/pg" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
"$anchors/pg-temp.sh" start "$work/pg" $port >/dev/null
src="postgres://postgres@127.0.0.1:$port/postgres"
q() { "$pgbin/psql" -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres -p $port -d postgres -c "$1"; }
now() { date +%s.%N; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
# rivulet run into $2 (jsonl, parquet or csv) from slot $1; the rest: more arguments.
ours() {
    local slot=$1 sink=$2
    shift 2
    local sets=(--set "source.url=$src" --set "source.slot=$slot" --set "offsets.path=$work/offsets-$slot.json")
    if [ "$sink" = jsonl ]; then
        "$bin" run --config bench/pipeline.toml "${sets[@]}" --set source.publication=bench_pub \
            --set "sink.path=$work/out-$slot.jsonl" "$@"
    else
        "$bin" run --config bench/pipeline-files.toml "${sets[@]}" --set "sink.url=$work/out-$slot" \
            --set "sink.format=$sink" "$@"
    fi
}
# Rows and bytes of a run's output.
counted() {
    local slot=$1 sink=$2
    if [ "$sink" = jsonl ]; then
        echo "$(wc -l <"$work/out-$slot.jsonl") $(stat -c %s "$work/out-$slot.jsonl")"
    else
        "$RIVULET_TOOLS/venv/bin/python" scripts/lake_tool.py --root "$work/out-$slot" count |
            "$RIVULET_TOOLS/venv/bin/python" -c 'import json,sys; c=json.load(sys.stdin); print(c["rows"], c["bytes"])'
    fi
}
rows_out=()
timed() { # scenario sink slot expected-rows args…
    local scenario=$1 sink=$2 slot=$3 n=$4
    shift 4
    local t0 t1 s
    t0=$(now)
    ours "$slot" "$sink" "$@" 2>"$work/$slot.log" || { tail -20 "$work/$slot.log" >&2; exit 1; }
    t1=$(now)
    s=$(secs "$t0" "$t1")
    read -r rows bytes < <(counted "$slot" "$sink")
    rows_out+=("| $scenario | $sink | $n | $s | $(rate "$n" "$s") | $(mb "$bytes") | $rows |")
}

echo "setting up on port $port" >&2
(cd "$anchors" && ./workload.py --port $port create)
q "CREATE PUBLICATION bench_pub FOR TABLE bench.orders"
for s in jsonl parquet csv; do
    ours "stream_$s" "$s" --endpos "$(q 'SELECT pg_current_wal_lsn()')" 2>/dev/null
done
changes=$((inserts + updates + deletes))
echo "streaming: $inserts inserts, $updates updates, $deletes deletes ($batch rows per transaction)" >&2
(cd "$anchors" && ./workload.py --port $port changes --inserts "$inserts" --updates "$updates" \
    --deletes "$deletes" --batch "$batch")
endpos=$(q "SELECT pg_current_wal_lsn()")
for s in jsonl parquet csv; do
    timed "streaming" "$s" "stream_$s" "$changes" --endpos "$endpos"
done

echo "snapshot: $snap_rows rows" >&2
(cd "$anchors" && ./workload.py --port $port create && ./workload.py --port $port load "$snap_rows")
q "ALTER PUBLICATION bench_pub SET TABLE bench.orders"
q "VACUUM (FREEZE, ANALYZE) bench.orders"
q "CHECKPOINT"
t0=$(now)
"$pgbin/psql" -X -q -h 127.0.0.1 -U postgres -p $port -d postgres -c '\copy bench.orders to /dev/null'
t1=$(now)
read_s=$(secs "$t0" "$t1")
for s in jsonl parquet csv; do
    timed "snapshot (initial_only)" "$s" "snap_$s" "$snap_rows" --set source.snapshot=initial_only \
        --set "name=bench-snap-$s"
done

results=$(
    echo "bench/files.sh: one PostgreSQL 15 cluster on this machine, files to local disk (Parquet: snappy)"
    echo "| scenario | sink | rows | seconds | rows/s | output MB | rows in output |"
    echo "|---|---|---|---|---|---|---|"
    printf '%s\n' "${rows_out[@]:0:3}"
    echo "| snapshot, \\copy to /dev/null (read floor) | | $snap_rows | $read_s | $(rate "$snap_rows" "$read_s") | | |"
    printf '%s\n' "${rows_out[@]:3:3}"
)
echo "$results"
[ "${BENCH_RECORD:-1}" = 0 ] && exit 0
{
    echo
    echo "## $(date -u '+%Y-%m-%d %H:%M UTC') — files sink — $(nproc) cores, $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ *//'), rivulet $(git describe --always --dirty 2>/dev/null || echo "?")"
    echo
    echo "$results"
} >>bench/RESULTS.md
echo "appended to bench/RESULTS.md"
