#!/usr/bin/env bash
# bench/latency.sh — what the operations features cost, and how fresh the delivered data is.
#
#  1. Metrics overhead: one backlog of changes (BENCH_CHANGES, default 1M: inserts, updates,
#     deletes in transactions of 1000 rows, as bench/run.sh), drained to JSONL from slots that
#     all saw the same WAL, alternately without and with `[metrics] listen` (ROUNDS each, default
#     9), while a scraper reads /metrics every second. Throughput = changes / wall time of the run;
#     CPU = user + system seconds of the rivulet process per million changes (steadier than wall
#     time on a shared machine).
#  2. Commit → delivery latency: pgbench at a steady BENCH_RATE single-row transactions/s
#     (default 5000) for BENCH_SECONDS (default 30) while Rivulet streams with [metrics] on.
#     Per event: `ts_ms` (when Rivulet encoded and wrote it) − `source.ts_ms` (its commit time),
#     from the JSONL file; p50 / p99 / max. Millisecond resolution, same clock (one machine).
#
#   bench/latency.sh                       # both, appends the results to bench/RESULTS.md
#   RIVULET_BIN=target/release/rivulet bench/latency.sh   # skip the build
#   BENCH_CHANGES=… ROUNDS=… BENCH_RATE=… BENCH_SECONDS=… bench/latency.sh
#   RESULTS=/dev/null bench/latency.sh     # a dry run that records nothing
#   BENCH_SYNCHRONOUS_COMMIT=off bench/latency.sh   # the server's setting (default on); with off,
#       WAL reaches the walsender only when the WAL writer flushes it (wal_writer_delay, 200 ms)
#
# The machine should be otherwise idle: the server, pgbench and Rivulet share its cores.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-deps.sh
ensure_postgres
changes=${BENCH_CHANGES:-1000000}
rounds=${ROUNDS:-9}
rate=${BENCH_RATE:-5000}
seconds=${BENCH_SECONDS:-30}
results=${RESULTS:-bench/RESULTS.md}

if [ -n "${RIVULET_BIN:-}" ]; then
    bin=$(realpath "$RIVULET_BIN")
else
    ensure_rust
    cargo build --release --quiet -p rivulet
    bin="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/release/rivulet"
fi

work=$(mktemp -d /tmp/rivulet-latency.XXXXXX)
chmod 755 "$work"  # the cluster runs as the postgres OS user when we are root
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cleanup() {
    # shellcheck disable=SC2046
    kill $(jobs -p) 2>/dev/null || true
    as_pg "$PGBIN/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

mkdir -m 700 "$work/pg"
[ "$(id -u)" = 0 ] && chown postgres "$work/pg"
as_pg "$PGBIN/initdb" -D "$work/pg" -U postgres --auth=trust --no-sync >/dev/null
cat >>"$work/pg/postgresql.conf" <<EOF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$work/pg'
wal_level = logical
max_replication_slots = 20
max_wal_senders = 20
shared_buffers = 256MB
max_wal_size = 4GB
synchronous_commit = ${BENCH_SYNCHRONOUS_COMMIT:-on}
EOF
as_pg "$PGBIN/pg_ctl" -D "$work/pg" -l "$work/pg/server.log" -w start >/dev/null
url="postgres://postgres@127.0.0.1:$port/postgres"
sql() { psql "$url" -X -q -At -v ON_ERROR_STOP=1 -c "$1"; }

sql "CREATE SCHEMA bench;
     CREATE TABLE bench.orders (id bigint PRIMARY KEY, customer int NOT NULL, amount numeric(12,2),
       status text, note text, created timestamptz NOT NULL DEFAULT now());
     CREATE PUBLICATION bench_pub FOR TABLE bench.orders;"

pipeline() {  # pipeline NAME SLOT OUT [extra TOML]
    cat >"$work/$1.toml" <<EOF
name = "$1"
[source]
type = "postgres"
url = "$url"
tables = ["bench.orders"]
slot = "$2"
publication = "bench_pub"
[format]
decimal_handling = "string"
tombstones_on_delete = false
[sink]
type = "jsonl"
path = "$3"
[offsets]
path = "$work/$1.offsets"
${4:-}
EOF
}

# --- 1. overhead --------------------------------------------------------------------------
for r in $(seq 1 "$rounds"); do
    sql "SELECT pg_create_logical_replication_slot('plain_$r', 'pgoutput'), pg_create_logical_replication_slot('metrics_$r', 'pgoutput')" >/dev/null
done
inserts=$((changes * 4 / 7)) updates=$((changes * 2 / 7)); deletes=$((changes - inserts - updates))
echo "writing $changes changes ($inserts inserts, $updates updates, $deletes deletes)" >&2
sql "DO \$\$ BEGIN
  FOR b IN 0..($inserts - 1) / 1000 LOOP
    INSERT INTO bench.orders (id, customer, amount, status, note)
      SELECT g, g % 997, (g % 10000) / 100.0, 'new', 'order ' || g
      FROM generate_series(b * 1000 + 1, least((b + 1) * 1000, $inserts)) g;
    COMMIT;
  END LOOP;
  FOR b IN 0..($updates - 1) / 1000 LOOP
    UPDATE bench.orders SET status = 'paid', amount = amount + 1
      WHERE id > b * 1000 AND id <= least((b + 1) * 1000, $updates);
    COMMIT;
  END LOOP;
  FOR b IN 0..($deletes - 1) / 1000 LOOP
    DELETE FROM bench.orders WHERE id > $inserts - least((b + 1) * 1000, $deletes) AND id <= $inserts - b * 1000;
    COMMIT;
  END LOOP;
END \$\$;"
# The insert position: with synchronous_commit = off the write position may still be short of
# the last commit record.
endpos=$(sql "SELECT pg_current_wal_insert_lsn()")

scrape() { while sleep 1; do curl -s "http://127.0.0.1:$mport/metrics" >/dev/null 2>&1 || true; done; }
declare -A rates cpus
TIMEFORMAT='%R %U %S'
for r in $(seq 1 "$rounds"); do
    for kind in plain metrics; do
        extra=""
        [ "$kind" = metrics ] && extra=$'[metrics]\nlisten = "127.0.0.1:'"$mport"'"'
        pipeline "${kind}_$r" "${kind}_$r" "$work/${kind}_$r.jsonl" "$extra"
        scraper=""
        if [ "$kind" = metrics ]; then scrape & scraper=$!; fi
        { time "$bin" run --config "$work/${kind}_$r.toml" --endpos "$endpos" 2>"$work/${kind}_$r.log"; } 2>"$work/${kind}_$r.time"
        read -r wall user sys <"$work/${kind}_$r.time"
        [ -n "$scraper" ] && kill "$scraper" 2>/dev/null && wait "$scraper" 2>/dev/null || true
        lines=$(wc -l <"$work/${kind}_$r.jsonl")
        [ "$lines" -eq "$changes" ] || { echo "error: ${kind}_$r wrote $lines lines, expected $changes" >&2; exit 1; }
        per_s=$(python3 -c "print(round($changes / $wall))")
        cpu=$(python3 -c "print(round(($user + $sys) / $changes * 1e6, 3))")
        rates[$kind]="${rates[$kind]:-} $per_s"
        cpus[$kind]="${cpus[$kind]:-} $cpu"
        echo "round $r $kind: $per_s changes/s, $cpu CPU s per million changes" >&2
        rm -f "$work/${kind}_$r.jsonl"
    done
done
overhead=$(python3 - "${rates[plain]}" "${rates[metrics]}" "${cpus[plain]}" "${cpus[metrics]}" <<'EOF'
import statistics, sys
plain, metrics, cpu_plain, cpu_metrics = ([float(x) for x in a.split()] for a in sys.argv[1:5])
p, m = statistics.median(plain), statistics.median(metrics)
cp, cm = statistics.median(cpu_plain), statistics.median(cpu_metrics)
print(f"without [metrics]: {' '.join(str(int(x)) for x in plain)} changes/s (median {p:.0f}); CPU {cp:.2f} s per million changes")
print(f"with [metrics]:    {' '.join(str(int(x)) for x in metrics)} changes/s (median {m:.0f}); CPU {cm:.2f} s per million changes")
print(f"throughput overhead (median): {(p - m) / p * 100:+.1f}%; CPU overhead (median): {(cm - cp) / cp * 100:+.1f}%")
EOF
)
echo "$overhead" >&2

# --- 2. latency at a steady rate ----------------------------------------------------------
sql "CREATE TABLE bench.events (id bigserial PRIMARY KEY, account int NOT NULL, delta int NOT NULL,
       at timestamptz NOT NULL DEFAULT now());
     CREATE PUBLICATION lat_pub FOR TABLE bench.events;"
pipeline latency lat_slot "$work/latency.jsonl" $'[metrics]\nlisten = "127.0.0.1:'"$mport"'"'
sed -i 's/bench_pub/lat_pub/; s/"bench.orders"/"bench.events"/' "$work/latency.toml"
"$bin" run --config "$work/latency.toml" 2>"$work/latency.log" &
rivulet=$!
for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$mport/health/ready" >/dev/null 2>&1 && break
    sleep 0.2
done
cat >"$work/txn.sql" <<'EOF'
\set account random(1, 100000)
\set delta random(-5000, 5000)
INSERT INTO bench.events (account, delta) VALUES (:account, :delta);
EOF
echo "pgbench: ${rate} transactions/s for ${seconds}s" >&2
pgbench "$url" -n -f "$work/txn.sql" -R "$rate" -T "$seconds" -c 8 -j 2 >"$work/pgbench.txt" 2>&1
want=$(sql "SELECT count(*) FROM bench.events")
for _ in $(seq 1 600); do
    [ "$(wc -l <"$work/latency.jsonl")" -ge "$want" ] && break
    sleep 0.1
done
curl -s "http://127.0.0.1:$mport/metrics" | grep '^rivulet_commit_to_delivery_seconds' >"$work/histogram.txt" || true
kill -TERM "$rivulet"; wait "$rivulet" || true
latency=$(python3 - "$work/latency.jsonl" "$seconds" "$work/pgbench.txt" <<'EOF'
import json, sys
lat = []
for line in open(sys.argv[1]):
    v = json.loads(line)["value"]
    lat.append(v["ts_ms"] - v["source"]["ts_ms"])
lat.sort()
def pct(p): return lat[min(len(lat) - 1, int(len(lat) * p))]
tps = next((l.split("=")[1].split()[0] for l in open(sys.argv[3]) if l.startswith("tps")), "?")
print(f"events: {len(lat)} in {sys.argv[2]} s (pgbench tps {tps})")
print(f"commit -> delivery: p50 {pct(0.50)} ms, p99 {pct(0.99)} ms, p99.9 {pct(0.999)} ms, max {lat[-1]} ms")
EOF
)
echo "$latency" >&2

{
    echo
    echo "## Operations: metrics overhead and commit→delivery latency — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, rivulet $(git describe --always --dirty 2>/dev/null || echo "?")"
    echo
    echo '```'
    echo "bench/latency.sh: $changes changes drained $rounds× per setting (JSONL sink, alternating)"
    echo "$overhead"
    echo "steady load: pgbench -R $rate (one INSERT per transaction, synchronous_commit = ${BENCH_SYNCHRONOUS_COMMIT:-on}), [metrics] on"
    echo "$latency"
    echo '```'
} >>"$results"
echo "appended to $results"
