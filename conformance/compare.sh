#!/usr/bin/env bash
# conformance/compare.sh [CASE.sql] — runs real Debezium 3.6.3 and Rivulet on the same SQL
# (../shared/anchors/conform.sh --ours) and diffs their events after normalize.py (which drops
# the fields that differ between runs; source.version is dropped too). Default case: the
# anchors' own conform/sample.sql. Exit 0 when identical.
set -euo pipefail
cd "$(dirname "$0")/.."
anchors=$(realpath "${ANCHORS:-../shared/anchors}" 2>/dev/null || true)
[ -x "$anchors/conform.sh" ] || { echo "skipped: ../shared/anchors/conform.sh not found (set ANCHORS=…)"; exit 0; }
sql=$(realpath "${1:-$anchors/conform/sample.sql}")
source scripts/ensure-deps.sh
ensure_rust
cargo build --quiet -p rivulet
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
bin="$target_dir/debug/rivulet"
"$anchors/setup.sh" >/dev/null 2>&1

# Capture every schema the case creates, and map its Debezium properties to Rivulet settings.
schemas=$( (echo public; sed -n 's/^CREATE SCHEMA \([A-Za-z_][A-Za-z0-9_]*\).*/\1/Ip' "$sql") | sort -u | sed 's/$/.*/' | paste -sd, -)
sets="--set source.tables=$schemas"
skipped='["t"]'
grep -q '^-- @set decimal.handling.mode=' "$sql" || sets+=" --set format.decimal_handling=string"  # the anchors' runner default
while read -r kv; do
    case "$kv" in
        decimal.handling.mode=*) sets+=" --set format.decimal_handling=${kv#*=}" ;;
        tombstones.on.delete=*) sets+=" --set format.tombstones_on_delete=${kv#*=}" ;;
        skipped.operations=none) skipped='[]' ;;
        skipped.operations=*) skipped="[\"$(sed 's/,/","/g' <<<"${kv#*=}")\"]" ;;
        *) echo "error: no Rivulet setting for Debezium property $kv" >&2; exit 1 ;;
    esac
done < <(sed -n 's/^-- @set[[:space:]]\{1,\}//p' "$sql")
work=$(mktemp -d /tmp/rivulet-conform.XXXXXX)
trap 'rm -rf "$work"' EXIT
ours="$bin run --config $PWD/conformance/pipeline.toml --set source.url=postgres://postgres@127.0.0.1:{port}/{db}"
ours+=" --set source.slot={slot} --set source.publication={publication} --set sink.path={out}"
ours+=" --set offsets.path=$work/offsets.json $sets --set 'source.skipped_operations=$skipped'"
"$anchors/conform.sh" "$sql" "$work/out" --ours "$ours" >"$work/conform.log" 2>&1 || { cat "$work/conform.log" >&2; exit 1; }
strip_version() { python3 -c 'import json,sys
for l in sys.stdin:
    r = json.loads(l)
    if isinstance(r.get("value"), dict) and isinstance(r["value"].get("source"), dict): r["value"]["source"].pop("version", None)
    print(json.dumps(r, sort_keys=True, ensure_ascii=False))'; }
python3 "$anchors/normalize.py" "$work/out/debezium.jsonl" | strip_version >"$work/debezium.txt"
python3 "$anchors/normalize.py" "$work/out/ours.jsonl" | strip_version >"$work/rivulet.txt"
if diff -u "$work/debezium.txt" "$work/rivulet.txt" >"$work/diff.txt"; then
    echo "identical: $(wc -l <"$work/debezium.txt") records from Debezium and from Rivulet for $(basename "$sql")"
else
    echo "DIFFERENT ($(basename "$sql")): --- Debezium, +++ Rivulet" >&2
    head -n 60 "$work/diff.txt" >&2
    exit 1
fi
