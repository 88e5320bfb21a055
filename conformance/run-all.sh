#!/usr/bin/env bash
# conformance/run-all.sh [CASE.sql…] — the strict conformance suite: for every streaming case in
# tests/conformance/cases/ (and the anchors' conform/sample.sql), runs real Debezium 3.6.3 and
# `rivulet run --debezium conformance/connector.properties` on the same WAL
# (../shared/anchors/conform.sh --ours) and compares their records strictly: only ts_ms/ts_us/
# ts_ns and source.version may differ (strict_diff.py). A case's "-- @set key=value" lines go to
# both, unchanged. Prints "P/N cases identical"; exits 1 unless all are.
# Env: CONFORM_JOBS (parallel cases, default 2), RIVULET_BIN (skip the build), ANCHORS.
set -euo pipefail
cd "$(dirname "$0")/.."
anchors=$(realpath "${ANCHORS:-../shared/anchors}" 2>/dev/null || true)
if [ ! -x "$anchors/conform.sh" ]; then
    echo "conformance: skipped: ../shared/anchors/conform.sh (Debezium 3.6.3 runner) not found; set ANCHORS=… to run it"
    exit 0
fi
source scripts/ensure-deps.sh
ensure_rust
bin=${RIVULET_BIN:-}
if [ -z "$bin" ]; then
    cargo build --quiet -p rivulet --all-features --locked
    target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
    bin="$target_dir/debug/rivulet"
fi
"$anchors/setup.sh" >/dev/null 2>&1 || { echo "conformance: $anchors/setup.sh failed" >&2; exit 1; }

if [ $# -gt 0 ]; then
    cases=()
    for sql in "$@"; do cases+=("$(realpath "$sql")"); done
else
    cases=("$anchors/conform/sample.sql")
    for sql in tests/conformance/cases/*.sql; do
        # Snapshot cases need Debezium's own snapshot (the `conformance` test covers them), and
        # heartbeats depend on timing: neither fits conform.sh's streaming run.
        grep -q '^-- @snapshot' "$sql" && continue
        grep -q '^-- @set heartbeat.interval.ms' "$sql" && continue
        cases+=("$(realpath "$sql")")
    done
fi
jobs=${CONFORM_JOBS:-2}
results=$(mktemp -d /tmp/rivulet-conformance.XXXXXX)
echo "conformance: ${#cases[@]} cases, Debezium 3.6.3 vs Rivulet, $jobs at a time (work: $results)"

# A free port below the kernel's ephemeral range, where no outgoing connection can take it
# before the case's PostgreSQL binds it.
free_port() {
    python3 - <<'PY'
import random, socket
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
for _ in range(200):
    port = random.randrange(10000, max(low, 11000))
    try:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))
        print(port)
        break
    except OSError:
        pass
PY
}

run_case() {
    local lane=$1 sql=$2 name work sets=() ours kv
    name=$(basename "$sql" .sql)
    [ "$sql" = "$anchors/conform/sample.sql" ] && name=anchors-sample
    work=$results/$name
    mkdir -p "$work"
    while read -r kv; do sets+=(--set "$kv"); done < <(sed -n 's/^-- @set[[:space:]]\{1,\}//p' "$sql")
    ours="$(printf '%q' "$bin") run --debezium $(printf '%q' "$PWD/conformance/connector.properties")"
    ours+=" --jsonl {out} --set database.port={port} --set database.dbname={db} --set slot.name={slot}"
    ours+=" --set publication.name={publication} --set offset.storage.file.filename=$work/offsets"
    ours+=" --set decimal.handling.mode=string"  # the anchors' runner default
    [ ${#sets[@]} -gt 0 ] && ours+=" $(printf '%q ' "${sets[@]}")"
    local attempt ok=
    for attempt in 1 2 3; do
        if CONFORM_PORT=$(free_port) CONFORM_DIR=/tmp/rivulet-conform-lane$lane \
            "$anchors/conform.sh" "$(realpath "$sql")" "$work/out" --ours "$ours" >"$work/conform.log" 2>&1; then
            ok=1
            break
        fi
        # Another process took the port between the check and PostgreSQL's bind: another port.
        grep -q 'Address already in use' "$work/conform.log" || break
    done
    if [ -z "$ok" ]; then
        echo "FAILED to run (see $work/conform.log)" >"$work/result"
        return
    fi
    if n=$(python3 conformance/strict_diff.py "$work/out/debezium.jsonl" "$work/out/ours.jsonl" 2>&1 >"$work/diff.txt"); then
        echo "identical ($(cat "$work/diff.txt") records)" >"$work/result"
    else
        echo "DIFFERENT" >"$work/result"
        : "$n"
    fi
}

lane_run() {
    local lane=$1 i
    for ((i = lane; i < ${#cases[@]}; i += jobs)); do run_case "$lane" "${cases[i]}"; done
}
pids=()
for ((lane = 0; lane < jobs; lane++)); do
    lane_run "$lane" &
    pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done

pass=0
for sql in "${cases[@]}"; do
    name=$(basename "$sql" .sql)
    [ "$sql" = "$anchors/conform/sample.sql" ] && name=anchors-sample
    result=$(cat "$results/$name/result" 2>/dev/null || echo "no result")
    printf '  %-28s %s\n' "$name" "$result"
    case "$result" in
        identical*) pass=$((pass + 1)) ;;
        DIFFERENT) sed 's/^/    /' "$results/$name/diff.txt" | cut -c1-400 ;;
    esac
done
echo "conformance: $pass/${#cases[@]} cases identical"
[ "$pass" -eq "${#cases[@]}" ] || { echo "conformance: work files kept in $results" >&2; exit 1; }
rm -rf "$results"
