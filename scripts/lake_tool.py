#!/usr/bin/env python3
"""lake_tool.py - the independent reader of Rivulet's files-sink tests (pyarrow, boto3).

  lake_tool.py --root ROOT list
      every object under ROOT as JSON lines {"key": relative key, "size": bytes} (plus "etag" on
      S3: a multipart upload's ends in "-<parts>")
  lake_tool.py --root ROOT read KEY
      one data file as JSON {"schema": [[name, arrow type]...], "rows": [{col: value}...]}:
      Parquet read with pyarrow (decimals, timestamps as text), CSV with Python's csv module
      (every value as the text in the file; an empty field is null)
  lake_tool.py --root ROOT count
      the rows in every data file under ROOT (Parquet from the footers, CSV by records), as JSON
      {"files": N, "rows": N, "bytes": N}
  lake_tool.py --root ROOT cat KEY
      an object's bytes as text

ROOT is a local directory or s3://bucket/prefix; for S3 the endpoint comes from S3_ENDPOINT and
the credentials from the standard AWS_* variables.
"""
import argparse
import csv
import io
import json
import os
import sys

import pyarrow.parquet as pq


class Root:
    def __init__(self, root):
        self.s3 = root.startswith("s3://")
        if self.s3:
            import boto3

            bucket, _, prefix = root[len("s3://"):].partition("/")
            self.bucket, self.prefix = bucket, prefix.strip("/")
            self.client = boto3.client(
                "s3",
                endpoint_url=os.environ.get("S3_ENDPOINT"),
                region_name=os.environ.get("AWS_REGION", "us-east-1"),
            )
        else:
            self.dir = root

    def list(self):
        if self.s3:
            out = []
            token = None
            while True:
                kw = {"Bucket": self.bucket, "Prefix": self.prefix + "/" if self.prefix else ""}
                if token:
                    kw["ContinuationToken"] = token
                page = self.client.list_objects_v2(**kw)
                for o in page.get("Contents", []):
                    key = o["Key"][len(kw["Prefix"]):]
                    out.append({"key": key, "size": o["Size"], "etag": o["ETag"].strip('"')})
                if not page.get("IsTruncated"):
                    return sorted(out, key=lambda o: o["key"])
                token = page["NextContinuationToken"]
        out = []
        for base, _, files in os.walk(self.dir):
            for f in files:
                path = os.path.join(base, f)
                out.append({"key": os.path.relpath(path, self.dir), "size": os.path.getsize(path)})
        return sorted(out, key=lambda o: o["key"])

    def get(self, key):
        if self.s3:
            full = f"{self.prefix}/{key}" if self.prefix else key
            return self.client.get_object(Bucket=self.bucket, Key=full)["Body"].read()
        with open(os.path.join(self.dir, key), "rb") as f:
            return f.read()


def read(root, key):
    data = root.get(key)
    if key.endswith(".parquet"):
        table = pq.read_table(io.BytesIO(data))
        schema = [[f.name, str(f.type)] for f in table.schema]
        rows = table.to_pylist()
        for r in rows:
            for k, v in r.items():
                if isinstance(v, bytes):
                    r[k] = v.hex()
                elif v is not None and not isinstance(v, (str, int, float, bool, list)):
                    r[k] = v.isoformat() if hasattr(v, "isoformat") else str(v)
        return {"schema": schema, "rows": rows}
    reader = csv.DictReader(io.StringIO(data.decode()))
    rows = [{k: (v if v != "" else None) for k, v in r.items()} for r in reader]
    return {"schema": [[n, "csv"] for n in (reader.fieldnames or [])], "rows": rows}


def count(root):
    files = rows = size = 0
    for o in root.list():
        key = o["key"]
        if key.endswith(".parquet"):
            rows += pq.read_metadata(io.BytesIO(root.get(key))).num_rows
        elif key.endswith(".csv"):
            rows += sum(1 for _ in csv.reader(io.StringIO(root.get(key).decode()))) - 1
        else:
            continue
        files += 1
        size += o["size"]
    return {"files": files, "rows": rows, "bytes": size}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--root", required=True)
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list")
    r = sub.add_parser("read")
    r.add_argument("key")
    sub.add_parser("count")
    c = sub.add_parser("cat")
    c.add_argument("key")
    args = p.parse_args()
    root = Root(args.root)
    if args.cmd == "list":
        for o in root.list():
            print(json.dumps(o))
    elif args.cmd == "read":
        print(json.dumps(read(root, args.key), default=str))
    elif args.cmd == "count":
        print(json.dumps(count(root)))
    else:
        sys.stdout.write(root.get(args.key).decode())


if __name__ == "__main__":
    main()
    # Leave without interpreter teardown: on a loaded machine Arrow's worker threads can still
    # be winding down then, and the process aborts ("terminate called without an active
    # exception") after its work is done and printed.
    sys.stdout.flush()
    os._exit(0)
