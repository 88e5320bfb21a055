#!/usr/bin/env bash
# conformance/record.sh CASE… — records what Debezium 3.6.3 emits for
# tests/conformance/cases/CASE.sql (via ../shared/anchors/conform.sh) into
# tests/conformance/cases/CASE.debezium.jsonl: the oracle the `conformance` test compares
# Rivulet's events with. Run it when a case is added or changed.
set -euo pipefail
cd "$(dirname "$0")/.."
anchors=$(realpath "${ANCHORS:-../shared/anchors}" 2>/dev/null || true)
[ -x "$anchors/conform.sh" ] || { echo "skipped: ../shared/anchors/conform.sh not found (set ANCHORS=…)"; exit 0; }
[ $# -gt 0 ] || { sed -n '2,6s/^# \{0,1\}//p' "$0"; exit 2; }
"$anchors/setup.sh" >/dev/null 2>&1
# A case marked "-- @snapshot" is run whole, then snapshotted by Debezium (initial_only).
record_snapshot() {
    local sql=$1 out=$2 port=${CONFORM_SNAPSHOT_PORT:-55452}
    local pgdata=/tmp/rivulet-record-snapshot-$$
    "$anchors/pg-temp.sh" start "$pgdata" "$port" >/dev/null 2>&1
    trap '"$anchors/pg-temp.sh" destroy "$pgdata" >/dev/null 2>&1' RETURN
    psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres -f "$sql" >/dev/null
    psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "CREATE PUBLICATION conform_pub FOR ALL TABLES"
    local sets=()
    while read -r kv; do sets+=(--set "$kv"); done < <(sed -n 's/^-- @set[[:space:]]\{1,\}//p' "$sql")
    "$anchors/run-debezium.sh" --port "$port" --db postgres --slot dbz_snapshot --publication conform_pub \
        --publication-autocreate disabled --snapshot-mode initial_only --idle-secs 5 --first-timeout-secs 60 \
        --out "$out/debezium.jsonl" "${sets[@]}" >"$out/run.log" 2>&1
    python3 "$anchors/normalize.py" "$out/debezium.jsonl" >"$out/debezium.normalized.jsonl"
}

for case in "$@"; do
    sql=tests/conformance/cases/$case.sql
    [ -f "$sql" ] || { echo "no such case: $sql" >&2; exit 1; }
    out=$(mktemp -d)
    chmod 755 "$out"
    if grep -q '^-- @snapshot' "$sql"; then
        record_snapshot "$(realpath "$sql")" "$out"
        cp "$out/debezium.normalized.jsonl" "tests/conformance/cases/$case.debezium.jsonl"
        echo "$case: $(wc -l <"$out/debezium.normalized.jsonl") records (snapshot)"
        rm -rf "$out"
        continue
    fi
    "$anchors/conform.sh" "$sql" "$out" >"$out.log" 2>&1 || { cat "$out.log" >&2; exit 1; }
    cp "$out/debezium.normalized.jsonl" "tests/conformance/cases/$case.debezium.jsonl"
    echo "$case: $(wc -l <"$out/debezium.normalized.jsonl") records"
    rm -rf "$out" "$out.log"
done
