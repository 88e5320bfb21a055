#!/usr/bin/env python3
"""chaos_lake.py - reads back what the files and Delta sinks wrote, for rivulet-chaos, with
independent readers (pyarrow, the Python `deltalake` package, boto3 via lake_tool.Root).

  chaos_lake.py delta TABLE_URI KEY[,KEY...]
      {"rows": [...], "cdf_errors": [...], "cdf_changes": N}: the table's rows, and the change
      data feed replayed per key in commit order (an insert of a present key, an update or a
      delete of an absent one: what a batch applied twice leaves)
  chaos_lake.py bucket NAME
      creates a bucket on the S3 server (the Delta sink does not create one)
  chaos_lake.py records FILE
      Debezium records (JSON lines, the value an object or JSON text) with every float as text
      and the value as an object: Rust's serde_json (without float_roundtrip) can be 1 ulp
      off when it parses a float, Python's json never is
  chaos_lake.py files ROOT
      one JSON line per data row: {"file": key, "idx": row number, "row": {...}} for every
      Parquet file under ROOT/full and ROOT/inc

Values: bytes as "\\x<hex>" (PostgreSQL's bytea text; the unchanged-TOAST placeholder bytes
stay the placeholder text), decimals as text, timestamps in ISO 8601, lists as JSON arrays.
S3 roots take S3_ENDPOINT and the AWS_* variables.
"""
import io
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../scripts"))

PLACEHOLDER = b"__debezium_unavailable_value"


def plain(v):
    if isinstance(v, bytes):
        return PLACEHOLDER.decode() if v == PLACEHOLDER else "\\x" + v.hex()
    if isinstance(v, list):
        return [plain(x) for x in v]
    if isinstance(v, float):
        return repr(v)
    if v is None or isinstance(v, (str, int, bool)):
        return v
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return str(v)


def row_of(r):
    return {k: plain(v) for k, v in r.items()}


def storage_options():
    if "S3_ENDPOINT" not in os.environ:
        return None
    return {
        "AWS_ENDPOINT_URL": os.environ["S3_ENDPOINT"],
        "AWS_ACCESS_KEY_ID": os.environ["AWS_ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": os.environ["AWS_SECRET_ACCESS_KEY"],
        "AWS_REGION": os.environ.get("AWS_REGION", "us-east-1"),
        "AWS_ALLOW_HTTP": "true",
        "AWS_S3_ALLOW_UNSAFE_RENAME": "true",
    }


def delta(uri, keys):
    import pyarrow as pa
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    try:
        dt = DeltaTable(uri, storage_options=storage_options())
    except TableNotFoundError:
        # No change ever reached this table (e.g. it stayed empty): no table was created.
        print(json.dumps({"rows": [], "cdf_errors": [], "cdf_error_count": 0, "cdf_changes": 0}))
        return
    rows = [row_of(r) for r in dt.to_pyarrow_table().to_pylist()]
    changes = pa.RecordBatchReader.from_stream(dt.load_cdf(starting_version=0)).read_all().to_pylist()
    order = {"update_preimage": 0, "delete": 1, "update_postimage": 2, "insert": 3}
    key_of = lambda c: tuple(c[k] for k in keys)
    changes.sort(key=lambda c: (c["_commit_version"], order[c["_change_type"]], repr(key_of(c))))
    present, errors = set(), []
    for c in changes:
        t, k = c["_change_type"], key_of(c)
        where = f"version {c['_commit_version']} key {k}"
        if t == "insert":
            if k in present:
                errors.append(f"{where}: insert of a present key")
            present.add(k)
        elif t in ("update_postimage", "delete"):
            if k not in present:
                errors.append(f"{where}: {t} of an absent key")
            if t == "delete":
                present.discard(k)
    print(json.dumps({"rows": rows, "cdf_errors": errors[:20], "cdf_error_count": len(errors),
                      "cdf_changes": len(changes)}))


def files(root_uri):
    import pyarrow.parquet as pq
    from lake_tool import Root

    root = Root(root_uri)
    out = sys.stdout
    for o in root.list():
        key = o["key"]
        if not key.endswith(".parquet") or not (key.startswith("full/") or key.startswith("inc/")):
            continue
        table = pq.read_table(io.BytesIO(root.get(key)))
        for i, r in enumerate(table.to_pylist()):
            out.write(json.dumps({"file": key, "idx": i, "row": row_of(r)}) + "\n")


def make_bucket(name):
    import boto3

    client = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"], region_name="us-east-1")
    client.create_bucket(Bucket=name)


def records(path):
    out = sys.stdout
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            r = json.loads(line, parse_float=str)
            if isinstance(r.get("value"), str):
                r["value"] = json.loads(r["value"], parse_float=str)
            out.write(json.dumps(r) + "\n")


def main():
    cmd, *args = sys.argv[1:]
    if cmd == "delta":
        delta(args[0], args[1].split(","))
    elif cmd == "bucket":
        make_bucket(args[0])
    elif cmd == "records":
        records(args[0])
    elif cmd == "files":
        files(args[0])
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
    # As lake_tool.py: skip interpreter teardown, where Arrow's threads can abort the process.
    sys.stdout.flush()
    os._exit(0)
