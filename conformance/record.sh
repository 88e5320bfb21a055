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
for case in "$@"; do
    sql=tests/conformance/cases/$case.sql
    [ -f "$sql" ] || { echo "no such case: $sql" >&2; exit 1; }
    out=$(mktemp -d)
    "$anchors/conform.sh" "$sql" "$out" >"$out.log" 2>&1 || { cat "$out.log" >&2; exit 1; }
    cp "$out/debezium.normalized.jsonl" "tests/conformance/cases/$case.debezium.jsonl"
    echo "$case: $(wc -l <"$out/debezium.normalized.jsonl") records"
    rm -rf "$out" "$out.log"
done
