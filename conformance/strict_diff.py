#!/usr/bin/env python3
"""strict_diff.py DEBEZIUM.jsonl RIVULET.jsonl - compares two record streams strictly.

Only the processing times (value.ts_ms/ts_us/ts_ns, and the same in value.source) and
value.source.version may differ: everything else, including source.lsn, txId and sequence,
must be equal, record for record, in the same order. Prints the first differences and exits 1
when the streams differ.
"""
import json
import sys

VOLATILE = ("ts_ms", "ts_us", "ts_ns")


def strip(rec):
    value = rec.get("value")
    if isinstance(value, dict):
        for k in VOLATILE:
            value.pop(k, None)
        source = value.get("source")
        if isinstance(source, dict):
            for k in VOLATILE + ("version",):
                source.pop(k, None)
    return json.dumps(rec, sort_keys=True, ensure_ascii=False)


def load(path):
    with open(path) as f:
        return [strip(json.loads(line)) for line in f if line.strip()]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    theirs, ours = load(sys.argv[1]), load(sys.argv[2])
    shown = 0
    for i in range(max(len(theirs), len(ours))):
        a = theirs[i] if i < len(theirs) else "<missing>"
        b = ours[i] if i < len(ours) else "<missing>"
        if a != b and shown < 3:
            print(f"  record {i + 1}:\n    Debezium: {a}\n    Rivulet:  {b}")
            shown += 1
    if shown:
        print(f"  Debezium {len(theirs)} records, Rivulet {len(ours)}")
        sys.exit(1)
    print(len(theirs))


if __name__ == "__main__":
    main()
