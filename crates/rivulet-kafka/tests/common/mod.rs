//! Shared by the Kafka integration tests: building change events as a PostgreSQL source
//! would, sink settings for a throwaway broker, and reading topics back with the independent
//! client (scripts/kafka_tool.py, confluent-kafka).
#![allow(dead_code, clippy::unwrap_used)]

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rivulet_core::{
    Change, ChangeEvent, Column, Lsn, Op, OriginalRecord, PgType, Position, ReplicaIdentity, RowChange,
    SnapshotMarker, SourceMeta, TableId, TableSchema, Value,
};
use rivulet_format::{DebeziumEncoder, DebeziumSettings};
use rivulet_kafka::KafkaSinkConfig;
use rivulet_testkit::KafkaBroker;
use serde_json::{Value as Json, json};

/// A test broker that really stops. `KafkaBroker::stop` signals the `noida-db` Python
/// launcher, which exits without passing the signal on: the server process it started keeps
/// serving the port (and outlives the test). This wrapper also stops that server, found by
/// its `--kafka-port` right after it started, by its process id.
pub struct Broker {
    inner: KafkaBroker,
    server: Option<u32>,
}

impl Broker {
    pub fn start() -> Broker {
        let inner = KafkaBroker::start();
        let server = server_pid(inner.port());
        Broker { inner, server }
    }

    /// An outage: the broker process is gone and the port refuses connections.
    pub fn stop(&mut self) {
        self.inner.stop();
        if let Some(pid) = self.server.take() {
            let signal = |sig: &str| {
                let _ = std::process::Command::new("kill")
                    .args([sig, &pid.to_string()])
                    .status();
            };
            signal("-TERM");
            let deadline = Instant::now() + Duration::from_secs(10);
            while std::net::TcpStream::connect(("127.0.0.1", self.inner.port())).is_ok() {
                if Instant::now() > deadline {
                    signal("-KILL");
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    pub fn start_again(&mut self) {
        self.inner.start_again();
        self.server = server_pid(self.inner.port());
    }
}

impl Deref for Broker {
    type Target = KafkaBroker;
    fn deref(&self) -> &KafkaBroker {
        &self.inner
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The `noida-db` server (not its launcher) listening on `port`.
fn server_pid(port: u16) -> Option<u32> {
    let port_arg = format!("--kafka-port\0{port}\0");
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline);
        let program = cmdline.split('\0').next().unwrap_or("");
        if program.ends_with("noida_db/noida-db") && cmdline.contains(&port_arg) {
            return Some(pid);
        }
    }
    None
}

pub fn kafka_tool() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/kafka_tool.py")
}

/// Every record of `topics` (comma-separated), read from the beginning by the independent
/// client, which stops after `expect` records (or when idle for long).
pub fn consume(broker: &KafkaBroker, topics: &str, expect: usize, read_committed: bool) -> Vec<Json> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("consumed.jsonl");
    let expect = expect.to_string();
    let mut args = vec![
        "consume",
        "--topics",
        topics,
        "--out",
        out.to_str().unwrap(),
        "--expect",
        &expect,
    ];
    if read_committed {
        args.push("--read-committed");
    }
    broker.tool(&kafka_tool(), &args);
    read_jsonl(&out)
}

/// Like [`consume`], but reads until the topics have been idle for `idle` seconds: for
/// checking that nothing *more* than expected is there.
pub fn consume_all(broker: &KafkaBroker, topics: &str, read_committed: bool, idle: &str) -> Vec<Json> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("consumed.jsonl");
    let mut args = vec![
        "consume",
        "--topics",
        topics,
        "--out",
        out.to_str().unwrap(),
        "--idle",
        idle,
    ];
    if read_committed {
        args.push("--read-committed");
    }
    broker.tool(&kafka_tool(), &args);
    read_jsonl(&out)
}

pub fn read_jsonl(path: &Path) -> Vec<Json> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Topic name → {"partitions": n, "cleanup.policy": …}, as the independent client sees them.
pub fn topics(broker: &KafkaBroker) -> Json {
    serde_json::from_slice(&broker.tool(&kafka_tool(), &["topics"]).stdout).unwrap()
}

pub fn sink_config(broker: &KafkaBroker, extra: Json) -> KafkaSinkConfig {
    let mut config = json!({ "brokers": broker.bootstrap() });
    let Json::Object(extra) = extra else {
        panic!("settings are a JSON object")
    };
    for (k, v) in extra {
        config[k] = v;
    }
    serde_json::from_value(config).unwrap()
}

pub fn encoder() -> DebeziumEncoder {
    DebeziumEncoder::new(DebeziumSettings {
        topic_prefix: "dbz".into(),
        ..DebeziumSettings::default()
    })
}

/// `shop.customers (id bigint PRIMARY KEY, name text)`.
pub fn customers() -> Arc<TableSchema> {
    table("customers", true)
}

/// `shop.notes (body text)`, without a primary key: null keys.
pub fn notes() -> Arc<TableSchema> {
    table("notes", false)
}

fn table(name: &str, keyed: bool) -> Arc<TableSchema> {
    let column = |name: &str, pg_type: PgType, nullable: bool| Column {
        name: name.into(),
        type_oid: 0,
        type_modifier: -1,
        pg_type,
        nullable,
        default: None,
        missing: None,
    };
    let columns = if keyed {
        vec![
            column("id", PgType::Int8, false),
            column("name", PgType::Text, true),
        ]
    } else {
        vec![column("body", PgType::Text, true)]
    };
    Arc::new(TableSchema {
        id: TableId::new("shop", name),
        relation_oid: if keyed { 16384 } else { 16390 },
        columns,
        primary_key: if keyed { vec![0] } else { vec![] },
        replica_identity: ReplicaIdentity::Default,
    })
}

pub fn meta(lsn: u64) -> SourceMeta {
    SourceMeta {
        lsn: Lsn(lsn),
        last_commit_lsn: None,
        txid: Some(700),
        commit_time_us: 1_795_306_542_849_178,
        snapshot: SnapshotMarker::False,
        origin: None,
        origin_lsn: None,
        original: None,
        transaction: None,
    }
}

pub fn row(table: &Arc<TableSchema>, op: Op, id: i64, name: &str, lsn: u64) -> ChangeEvent {
    let image = if table.has_primary_key() {
        vec![Value::Int64(id), Value::Text(name.into())]
    } else {
        vec![Value::Text(format!("{id}:{name}"))]
    };
    let (before, after) = match op {
        Op::Delete => (Some(image), None),
        _ => (None, Some(image)),
    };
    ChangeEvent {
        change: Change::Row(RowChange {
            table: table.clone(),
            op,
            before,
            after,
        }),
        source: meta(lsn),
    }
}

/// An event read from a Debezium topic: only its original record matters to a sink.
pub fn forwarded(topic: &str, key: Option<&str>, value: Option<&str>) -> ChangeEvent {
    ChangeEvent {
        change: if value.is_some() {
            Change::Message(rivulet_core::LogicalMessage {
                transactional: false,
                prefix: "forwarded".into(),
                content: vec![],
            })
        } else {
            Change::Tombstone
        },
        source: SourceMeta {
            original: Some(Arc::new(OriginalRecord {
                topic: topic.into(),
                partition: 0,
                offset: 0,
                key: key.map(|k| k.as_bytes().to_vec()),
                value: value.map(|v| v.as_bytes().to_vec()),
            })),
            ..meta(1)
        },
    }
}

pub fn position(lsn: u64) -> Position {
    Position::at(Lsn(lsn))
}

/// The records a Debezium consumer expects for `events`: (topic, key, value) with JSON text,
/// as the encoder's JSONL form renders them (processing-time fields removed for comparing).
pub fn expected_records(events: &[ChangeEvent]) -> Vec<(String, Json, Json)> {
    let mut encoder = encoder();
    let mut out = Vec::new();
    for e in events {
        encoder.write_jsonl(e, &mut out);
    }
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| {
            let line: Json = serde_json::from_str(l).unwrap();
            (
                line["topic"].as_str().unwrap().to_string(),
                line["key"].clone(),
                comparable(line["value"].clone()),
            )
        })
        .collect()
}

/// A consumed record as (topic, key, value) JSON, processing-time fields removed.
pub fn record(consumed: &Json) -> (String, Json, Json) {
    let parse = |v: &Json| {
        v.as_str()
            .map_or(Json::Null, |s| serde_json::from_str(s).unwrap())
    };
    (
        consumed["topic"].as_str().unwrap().to_string(),
        parse(&consumed["key"]),
        comparable(parse(&consumed["value"])),
    )
}

fn comparable(mut value: Json) -> Json {
    if let Some(o) = value.as_object_mut() {
        for k in ["ts_ms", "ts_us", "ts_ns"] {
            o.remove(k);
        }
    }
    value
}
