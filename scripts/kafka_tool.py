#!/usr/bin/env python3
"""kafka_tool.py - the independent Kafka client of Rivulet's tests (confluent-kafka).

  kafka_tool.py --bootstrap B consume --topics T1,T2 [--out FILE] [--idle 5] [--read-committed] [--expect N]
      every record of the topics from the beginning, as JSON lines
      {"topic","partition","offset","key","value","headers"} (key/value as text, null if absent)
  kafka_tool.py --bootstrap B produce --in FILE.jsonl [--partitions N]
      records from {"topic","key","value"} JSON lines (key/value re-serialised as compact JSON,
      value null = tombstone), in order, with the Java client's key partitioning
  kafka_tool.py --bootstrap B topics          names, partition counts and cleanup.policy as JSON
"""
import argparse
import json
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic


def consume(args):
    conf = {
        "bootstrap.servers": args.bootstrap,
        "group.id": f"kafka-tool-{time.time_ns()}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "isolation.level": "read_committed" if args.read_committed else "read_uncommitted",
        # Some brokers (noida-db) answer a fetch with everything they have, past fetch.max.bytes.
        "receive.message.max.bytes": 2_000_000_000,
    }
    c = Consumer(conf)
    c.subscribe(args.topics.split(","))
    out = open(args.out, "w") if args.out else sys.stdout
    n, last = 0, time.time()
    deadline = time.time() + args.timeout
    while time.time() < deadline:
        if args.expect is not None and n >= args.expect:
            break
        m = c.poll(0.2)
        if m is None:
            if args.expect is None and n > 0 and time.time() - last > args.idle:
                break
            if args.expect is None and n == 0 and time.time() - last > args.idle * 2:
                break
            continue
        if m.error():
            continue
        last = time.time()
        n += 1
        dec = lambda b: None if b is None else b.decode("utf-8")
        headers = {k: dec(v) for k, v in (m.headers() or [])}
        out.write(json.dumps({"topic": m.topic(), "partition": m.partition(), "offset": m.offset(),
                              "key": dec(m.key()), "value": dec(m.value()), "headers": headers}) + "\n")
    c.close()
    if out is not sys.stdout:
        out.close()


def produce(args):
    p = Producer({"bootstrap.servers": args.bootstrap, "enable.idempotence": True,
                  "partitioner": "murmur2_random"})
    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    records = [json.loads(line) for line in open(args.infile) if line.strip()]
    topics = sorted({r["topic"] for r in records})
    fs = admin.create_topics([NewTopic(t, num_partitions=args.partitions, replication_factor=1) for t in topics])
    for f in fs.values():
        try:
            f.result()
        except Exception:
            pass
    enc = lambda v: None if v is None else json.dumps(v, separators=(",", ":"), ensure_ascii=False).encode()
    for r in records:
        p.produce(r["topic"], key=enc(r["key"]), value=enc(r["value"]))
        p.poll(0)
    left = p.flush(30)
    if left:
        sys.exit(f"{left} records were not delivered")


def topics(args):
    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    md = admin.list_topics(timeout=10)
    out = {}
    for name, t in md.topics.items():
        out[name] = {"partitions": len(t.partitions)}
    resources = [ConfigResource(ConfigResource.Type.TOPIC, n) for n in out]
    if resources:
        for res, f in admin.describe_configs(resources).items():
            try:
                cfg = f.result()
                policy = cfg.get("cleanup.policy")
                out[res.name]["cleanup.policy"] = policy.value if policy else None
            except Exception:
                out[res.name]["cleanup.policy"] = None
    print(json.dumps(out, sort_keys=True))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("consume")
    c.add_argument("--topics", required=True)
    c.add_argument("--out")
    c.add_argument("--idle", type=float, default=5)
    c.add_argument("--timeout", type=float, default=120)
    c.add_argument("--expect", type=int)
    c.add_argument("--read-committed", action="store_true")
    p = sub.add_parser("produce")
    p.add_argument("--in", dest="infile", required=True)
    p.add_argument("--partitions", type=int, default=3)
    sub.add_parser("topics")
    args = ap.parse_args()
    {"consume": consume, "produce": produce, "topics": topics}[args.cmd](args)


if __name__ == "__main__":
    main()
