#!/usr/bin/env bash
# bench/kafka.sh — Rivulet's streaming rate to Kafka vs to a JSONL file, on the same WAL.
#
# A fresh PostgreSQL 15 cluster (../shared/anchors/pg-temp.sh) gets the anchors' workload
# (200k inserts + 100k updates + 50k deletes of bench.orders in transactions of 1000 rows,
# workload.py) after two pgoutput slots are created; Rivulet then drains one slot into a JSONL
# file and the other into a Kafka-protocol broker (noida-db from the test tools, on this
# machine), each with --endpos, so each run ends when everything is durable (fsynced /
# acknowledged by the broker). An independent client then counts the records in Kafka.
# Appends the table to bench/RESULTS.md. Sizes: BENCH_INSERTS, BENCH_UPDATES, BENCH_DELETES.
set -euo pipefail
cd "$(dirname "$0")/.."
anchors=${ANCHORS:-../shared/anchors}
if [ ! -x "$anchors/pg-temp.sh" ]; then
    echo "skipped: $anchors/pg-temp.sh not found (set ANCHORS=…)"
    exit 0
fi
anchors=$(realpath "$anchors")
source scripts/ensure-deps.sh
ensure_rust
ensure_postgres
ensure_tools
ensure_kafka_tools

cargo build --release --quiet -p rivulet
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
bin="$target_dir/release/rivulet"
inserts=${BENCH_INSERTS:-200000} updates=${BENCH_UPDATES:-100000} deletes=${BENCH_DELETES:-50000}
changes=$((inserts + updates + deletes))
port=${BENCH_PORT:-55481}
work=$(mktemp -d /tmp/rivulet-kafka-bench.XXXXXX)
chmod 755 "$work"
kport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() {
    # The broker runs in its own process group (the launcher does not pass signals on).
    [ -n "${broker_pid:-}" ] && kill -- "-$broker_pid" 2>/dev/null || true
    "$anchors/pg-temp.sh" destroy "$work/pg" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
psql() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres "$@"; }

"$anchors/pg-temp.sh" start "$work/pg" "$port" >/dev/null 2>&1
psql -c "ALTER SYSTEM SET autovacuum = off" -c "SELECT pg_reload_conf()" >/dev/null
"$anchors/workload.py" --port "$port" create >/dev/null
psql -c "CREATE PUBLICATION bench_pub FOR TABLE bench.orders" \
     -c "SELECT pg_create_logical_replication_slot(s, 'pgoutput') FROM unnest(ARRAY['s_jsonl', 's_kafka']) s" >/dev/null
"$anchors/workload.py" --port "$port" changes --inserts "$inserts" --updates "$updates" --deletes "$deletes" --batch 1000
endpos=$(psql -At -c "SELECT pg_current_wal_lsn()")
psql -c CHECKPOINT

setsid "$RIVULET_TOOLS/venv/bin/noida-db" start --only kafka --kafka-port "$kport" --data-dir "$work/kafka" >"$work/broker.log" 2>&1 &
broker_pid=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$kport") 2>/dev/null && break; sleep 0.1; done

common=(--set "source.url=postgres://postgres@127.0.0.1:$port/postgres"
        --set source.publication=bench_pub --set source.tables=bench.orders --endpos "$endpos")
measure() { # measure LABEL ARGS… → "LABEL wall_s rss_kb cpu_s"
    local label=$1
    shift
    /usr/bin/time -f "$label %e %M %U %S" "$bin" run "${common[@]}" "$@" 2>"$work/$label.log" >/dev/null ||
        { tail -5 "$work/$label.log" >&2; exit 1; }
    tail -n1 "$work/$label.log"
}
jsonl=$(measure jsonl --config bench/pipeline.toml --set source.slot=s_jsonl --set sink.path="$work/out.jsonl" \
    --set offsets.path="$work/o1.json")
kafka=$(measure kafka --config bench/pipeline-kafka.toml --set source.slot=s_kafka --set offsets.path="$work/o2.json" \
    --set sink.brokers="127.0.0.1:$kport")
counted=$("$RIVULET_TOOLS/venv/bin/python" scripts/kafka_tool.py --bootstrap "127.0.0.1:$kport" consume \
    --topics bench.bench.orders --expect "$changes" --out "$work/consumed.jsonl" >/dev/null && wc -l <"$work/consumed.jsonl")

python3 - "$changes" "$counted" "$jsonl" "$kafka" <<'PY' | tee "$work/table.txt"
import sys
changes, counted = int(sys.argv[1]), int(sys.argv[2])
rows = []
for spec in sys.argv[3:]:
    label, wall, rss, user, sys_ = spec.split()
    wall = float(wall)
    rows.append((label, wall, changes / wall, float(user) + float(sys_), int(rss) / 1024))
print(f"rivulet streaming {changes:,} changes: JSONL file vs Kafka (noida-db on this machine); records in Kafka: {counted:,}")
print(f"{'sink':6} {'wall s':>7} {'changes/s':>10} {'CPU s':>6} {'peak RSS MB':>11}")
for label, wall, rate, cpu, rss in rows:
    print(f"{label:6} {wall:7.2f} {rate:10,.0f} {cpu:6.2f} {rss:11.1f}")
print(f"kafka / jsonl rate: {rows[1][2] / rows[0][2]:.2f}x")
PY
{
    echo
    echo "## $(date -u '+%Y-%m-%d %H:%M UTC') — Kafka sink (bench/kafka.sh), $(nproc) cores, rivulet $(git describe --always --dirty 2>/dev/null || echo '?')"
    echo
    echo '```'
    cat "$work/table.txt"
    echo '```'
} >>bench/RESULTS.md
echo "appended to bench/RESULTS.md"
