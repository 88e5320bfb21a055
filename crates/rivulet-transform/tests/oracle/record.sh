#!/usr/bin/env bash
# record.sh [CASE.sql...] - re-record the Debezium 3.6.3 oracle for the transform tests.
#
# For each case: CASE.debezium.jsonl is what Debezium emits with the case's `-- @set` lines
# (transforms and column rules applied), CASE.debezium.normalized.jsonl the same through
# ../../../../../shared/anchors/normalize.py, and CASE.plain.jsonl what Debezium emits without the
# transform/column-rule properties (the input the tests feed through Rivulet's transforms).
# Needs /work/shared/anchors (setup.sh done); every jar of the wheel is on the classpath
# (Debezium's SMTs live in debezium-connect-plugins, outside the anchors' 25-jar list).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
anchors=${ANCHORS:-$here/../../../../../shared/anchors}
export CONFORM_PORT=${CONFORM_PORT:-55472} CONFORM_DIR=${CONFORM_DIR:-/tmp/conform-helper-transform}
export DBZ_FULL_CLASSPATH=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=("$here"/*.sql)
for sql in "${cases[@]}"; do
    name=$(basename "$sql" .sql)
    echo "== $name" >&2
    # conform.sh's closing summary expects envelopes; outbox values are not, so its exit status
    # alone does not tell: the recorded files do.
    "$anchors/conform.sh" "$sql" "$work/$name.t" >"$work/$name.t.log" 2>&1 || true
    [ -s "$work/$name.t/debezium.normalized.jsonl" ] || { tail -20 "$work/$name.t.log"; exit 1; }
    cp "$work/$name.t/debezium.jsonl" "$here/$name.debezium.jsonl"
    cp "$work/$name.t/debezium.normalized.jsonl" "$here/$name.debezium.normalized.jsonl"
    # The same changes without the properties under test.
    grep -v -E '^-- @set (transforms|predicates|column\.|message\.key\.columns|message\.prefix\.)' "$sql" >"$work/$name.plain.sql"
    "$anchors/conform.sh" "$work/$name.plain.sql" "$work/$name.p" >"$work/$name.p.log" 2>&1 || true
    [ -s "$work/$name.p/debezium.jsonl" ] || { tail -20 "$work/$name.p.log"; exit 1; }
    cp "$work/$name.p/debezium.jsonl" "$here/$name.plain.jsonl"
    wc -l "$here/$name.debezium.jsonl" "$here/$name.plain.jsonl" >&2
done
