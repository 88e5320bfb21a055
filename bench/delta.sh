#!/usr/bin/env bash
# bench/delta.sh — the Delta Lake sink: MERGE rate into a mirror table with the change data
# feed on, commit latency, and files per table.
#
# One throwaway PostgreSQL 15 cluster (../shared/anchors/pg-temp.sh, port 55470), then:
#   streaming: ../shared/anchors/workload.py makes 200k inserts + 100k updates + 50k deletes of
#              bench.orders (transactions of 1000 rows); Rivulet drains them to --endpos into a
#              local Delta table (mode = "mirror", [offsets] flush_interval = "5s": one MERGE
#              commit per 5 s of changes). Time = the whole process run.
#   snapshot:  bench.orders is recreated with 1M rows; Rivulet `initial_only` into a new table.
# Each table is then read with the Python deltalake package (scripts/delta_check.py) and
# compared with the source (row count and md5 of the ids). Commit latency comes from the
# sink's "delta commit … ms=" log lines. Appends the table it prints to bench/RESULTS.md.
#
#   bench/delta.sh
#   BENCH_INSERTS=… BENCH_UPDATES=… BENCH_DELETES=… BENCH_BATCH=… BENCH_SNAPSHOT_ROWS=… bench/delta.sh
#   FLUSH_INTERVAL=10s bench/delta.sh      # larger commits
#   RIVULET_BIN=/path/to/release/rivulet bench/delta.sh
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
ensure_delta_tools

inserts=${BENCH_INSERTS:-200000}
updates=${BENCH_UPDATES:-100000}
deletes=${BENCH_DELETES:-50000}
batch=${BENCH_BATCH:-1000}
snap_rows=${BENCH_SNAPSHOT_ROWS:-1000000}
flush=${FLUSH_INTERVAL:-5s}
port=55470
pgbin=${PGBIN:-/usr/lib/postgresql/15/bin}
python=$RIVULET_TOOLS/venv/bin/python

if [ -n "${RIVULET_BIN:-}" ]; then
    bin=$RIVULET_BIN
else
    cargo build --release --quiet -p rivulet
    target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
    bin="$target_dir/release/rivulet"
fi

work=$(mktemp -d /tmp/rivulet-delta-bench.XXXXXX)
chmod 755 "$work" # the cluster runs as the postgres OS user
cleanup() {
    "$anchors/pg-temp.sh" destroy "$work/src" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
"$anchors/pg-temp.sh" start "$work/src" $port >/dev/null
src="postgres://postgres@127.0.0.1:$port/postgres"
q() { "$pgbin/psql" -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres -p $port -d postgres -c "$1"; }
now() { date +%s.%N; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
source_summary() { q "SELECT count(*) || ' ' || md5(coalesce(string_agg(id::text, ',' ORDER BY id), '')) FROM bench.orders"; }
delta_summary() {
    "$python" - "$1" <<'PY'
import hashlib, sys
from deltalake import DeltaTable
ids = sorted(r["id"] for r in DeltaTable(sys.argv[1]).to_pyarrow_table(columns=["id"]).to_pylist())
print(len(ids), hashlib.md5(",".join(map(str, ids)).encode()).hexdigest())
PY
}
# Commits, median and max commit latency (ms) from the sink's log lines.
commit_stats() {
    grep -o 'delta commit.*' "$1" | sed -n 's/.*ms=\([0-9]*\).*/\1/p' | sort -n |
        awk '{ v[NR] = $1 } END { if (NR == 0) { print "0 - -"; exit } print NR, v[int((NR + 1) / 2)], v[NR] }'
}
files() { find "$1" -path '*/_change_data' -prune -o -name '*.parquet' -print | wc -l; }
cdc_files() { find "$1/_change_data" -name '*.parquet' 2>/dev/null | wc -l; }
ours() {
    local slot=$1 lake=$2
    shift 2
    "$bin" run --config bench/pipeline-delta.toml --set "source.url=$src" --set "source.slot=$slot" \
        --set "sink.url=$lake" --set "offsets.path=$work/offsets-$slot.json" \
        --set "offsets.flush_interval=$flush" "$@"
}

echo "setting up: source on $port" >&2
(cd "$anchors" && ./workload.py --port $port create)
q "CREATE PUBLICATION bench_pub FOR TABLE bench.orders"
ours bench_delta "$work/lake" --endpos "$(q 'SELECT pg_current_wal_lsn()')" 2>/dev/null
changes=$((inserts + updates + deletes))
echo "streaming: $inserts inserts, $updates updates, $deletes deletes ($batch rows per transaction)" >&2
(cd "$anchors" && ./workload.py --port $port changes --inserts "$inserts" --updates "$updates" \
    --deletes "$deletes" --batch "$batch")
endpos=$(q "SELECT pg_current_wal_lsn()")
t0=$(now)
ours bench_delta "$work/lake" --endpos "$endpos" 2>"$work/stream.log"
t1=$(now)
stream_s=$(secs "$t0" "$t1")
stream_same=no
[ "$(source_summary)" = "$(delta_summary "$work/lake/bench.orders")" ] && stream_same=yes
read -r stream_commits stream_p50 stream_max <<<"$(commit_stats "$work/stream.log")"
stream_files=$(files "$work/lake/bench.orders")
stream_cdc=$(cdc_files "$work/lake/bench.orders")

echo "snapshot: $snap_rows rows" >&2
(cd "$anchors" && ./workload.py --port $port create && ./workload.py --port $port load "$snap_rows")
q "ALTER PUBLICATION bench_pub SET TABLE bench.orders"
q "VACUUM (FREEZE, ANALYZE) bench.orders"
q "CHECKPOINT"
t0=$(now)
ours bench_snap "$work/snap" --set source.snapshot=initial_only --set name=bench-delta-snapshot 2>"$work/snap.log"
t1=$(now)
snap_s=$(secs "$t0" "$t1")
snap_same=no
[ "$(source_summary)" = "$(delta_summary "$work/snap/bench.orders")" ] && snap_same=yes
read -r snap_commits snap_p50 snap_max <<<"$(commit_stats "$work/snap.log")"
snap_files=$(files "$work/snap/bench.orders")

results=$(
    cat <<TABLE
bench/delta.sh: PostgreSQL 15 → local Delta table bench.orders (mode = "mirror", change data feed on, flush_interval = $flush)
| scenario | rows | seconds | rows/s | commits | commit ms p50 / max | data files (+ CDF files) | table equals source |
|---|---|---|---|---|---|---|---|
| streaming, MERGE | $changes | $stream_s | $(rate $changes "$stream_s") | $stream_commits | $stream_p50 / $stream_max | $stream_files (+ $stream_cdc) | $stream_same |
| snapshot (initial_only) | $snap_rows | $snap_s | $(rate "$snap_rows" "$snap_s") | $snap_commits | $snap_p50 / $snap_max | $snap_files | $snap_same |
TABLE
)
echo "$results"
{
    echo
    echo "## $(date -u '+%Y-%m-%d %H:%M UTC') — Delta sink (bench/delta.sh) — $(nproc) cores, $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ *//'), rivulet $(git describe --always --dirty 2>/dev/null || echo "?")"
    echo
    echo "$results"
} >>bench/RESULTS.md
echo "appended to bench/RESULTS.md"
