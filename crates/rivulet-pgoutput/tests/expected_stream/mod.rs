//! What the changes in `fixtures/pgoutput_v1.sql` must decode to, checked the way a consumer
//! would see them: relations and types remembered from their messages, every text value parsed
//! with the type they announce. Shared by the stored-fixture test and the live-server test.

// Test support: each test binary uses part of it, and panicking is how it reports.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::HashMap;

use bytes::Bytes;
use rivulet_core::value::{DATE_INFINITY, DATE_NEG_INFINITY, TIMESTAMP_INFINITY};
use rivulet_core::{Lsn, Numeric, PgType, Value};
use rivulet_pgoutput::{
    OldTuple, PgOutputMessage, Relation, TupleData, builtin_type, decode, parse_tuple_value,
};

/// The SQL behind the fixture; run it after creating slot `s` on a fresh database.
pub const SCRIPT: &str = include_str!("../fixtures/pgoutput_v1.sql");

/// One decoded change, with values parsed; what the assertions compare.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Type(String),
    Relation {
        name: String,
        identity: u8,
        columns: Vec<(String, bool)>,
    },
    Insert(String, Vec<Value>),
    Update {
        table: String,
        old: Option<(char, Vec<Value>)>,
        new: Vec<Value>,
    },
    Delete {
        table: String,
        old: (char, Vec<Value>),
    },
    Truncate {
        tables: Vec<String>,
        cascade: bool,
        restart_identity: bool,
    },
    Message {
        transactional: bool,
        in_transaction: bool,
        prefix: String,
        content: Vec<u8>,
    },
}

/// Decodes every message, checks transaction framing, and returns the changes in order.
pub fn changes(messages: &[Bytes]) -> Vec<Change> {
    let mut relations: HashMap<u32, Relation> = HashMap::new();
    let mut types: HashMap<u32, String> = HashMap::new();
    let mut open: Option<(Lsn, i64, u32)> = None;
    let mut out = Vec::new();
    let row = |relations: &HashMap<u32, Relation>,
               types: &HashMap<u32, String>,
               oid: u32,
               tuple: &TupleData| {
        let rel = &relations[&oid];
        assert_eq!(rel.columns.len(), tuple.len(), "{}", rel.name);
        let values = rel
            .columns
            .iter()
            .zip(tuple.iter())
            .map(|(col, v)| {
                let ty = builtin_type(col.type_oid, col.type_modifier)
                    .or_else(|| {
                        types
                            .get(&col.type_oid)
                            .map(|name| PgType::Enum { name: name.clone() })
                    })
                    .unwrap_or_else(|| panic!("unknown type {} of {}.{}", col.type_oid, rel.name, col.name));
                parse_tuple_value(&ty, v).unwrap_or_else(|e| panic!("{}.{}: {e}", rel.name, col.name))
            })
            .collect::<Vec<_>>();
        (rel.name.clone(), values)
    };
    let old = |relations: &HashMap<u32, Relation>, types: &HashMap<u32, String>, oid: u32, t: &OldTuple| {
        let kind = match t {
            OldTuple::Key(_) => 'K',
            OldTuple::Full(_) => 'O',
        };
        (kind, row(relations, types, oid, t.tuple()).1)
    };
    for data in messages {
        let msg = decode(data.clone()).unwrap_or_else(|e| panic!("{e}"));
        match msg {
            PgOutputMessage::Begin {
                final_lsn,
                commit_time_us,
                xid,
            } => {
                assert!(open.is_none(), "nested Begin");
                // Commit times are "now": between 2020 and 2100.
                assert!(
                    (1_577_836_800_000_000..4_102_444_800_000_000).contains(&commit_time_us),
                    "{commit_time_us}"
                );
                open = Some((final_lsn, commit_time_us, xid));
            }
            PgOutputMessage::Commit {
                flags,
                commit_lsn,
                end_lsn,
                commit_time_us,
            } => {
                let (final_lsn, begin_time, _) = open.take().expect("Commit without Begin");
                assert_eq!(flags, 0);
                assert_eq!(commit_lsn, final_lsn);
                assert!(end_lsn > commit_lsn);
                assert_eq!(commit_time_us, begin_time);
            }
            PgOutputMessage::Origin { .. } => panic!("no origins in this stream"),
            PgOutputMessage::Type {
                type_oid,
                namespace,
                name,
            } => {
                assert_eq!(namespace, "public");
                types.insert(type_oid, name.clone());
                out.push(Change::Type(name));
            }
            PgOutputMessage::Relation(rel) => {
                assert_eq!(rel.namespace, "public");
                out.push(Change::Relation {
                    name: rel.name.clone(),
                    identity: rel.replica_identity,
                    columns: rel.columns.iter().map(|c| (c.name.clone(), c.is_key)).collect(),
                });
                relations.insert(rel.relation_oid, rel);
            }
            PgOutputMessage::Insert { relation_oid, new } => {
                let (table, values) = row(&relations, &types, relation_oid, &new);
                out.push(Change::Insert(table, values));
            }
            PgOutputMessage::Update {
                relation_oid,
                old: o,
                new,
            } => {
                let old = o.as_ref().map(|o| old(&relations, &types, relation_oid, o));
                let (table, new) = row(&relations, &types, relation_oid, &new);
                out.push(Change::Update { table, old, new });
            }
            PgOutputMessage::Delete { relation_oid, old: o } => {
                let old = old(&relations, &types, relation_oid, &o);
                out.push(Change::Delete {
                    table: relations[&relation_oid].name.clone(),
                    old,
                });
            }
            PgOutputMessage::Truncate {
                cascade,
                restart_identity,
                relation_oids,
            } => out.push(Change::Truncate {
                tables: relation_oids
                    .iter()
                    .map(|oid| relations[oid].name.clone())
                    .collect(),
                cascade,
                restart_identity,
            }),
            PgOutputMessage::Message {
                transactional,
                lsn,
                prefix,
                content,
            } => {
                assert!(!lsn.is_zero());
                out.push(Change::Message {
                    transactional,
                    in_transaction: open.is_some(),
                    prefix,
                    content: content.to_vec(),
                });
            }
        }
    }
    assert!(open.is_none(), "unterminated transaction");
    out
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

fn num(s: &str) -> Value {
    Value::Numeric(Numeric::Finite(s.to_string()))
}

fn columns(names: &[(&str, bool)]) -> Vec<(String, bool)> {
    names.iter().map(|(n, k)| (n.to_string(), *k)).collect()
}

/// The changes the script must produce, in order.
pub fn expected() -> Vec<Change> {
    let big = text(&"x".repeat(10_000));
    let happy = Value::Text("happy".into());
    let tags = Value::Array(vec![text("a"), text("b c"), Value::Null]);
    let t_columns = columns(&[
        ("id", true),
        ("name", false),
        ("big", false),
        ("m", false),
        ("tags", false),
    ]);
    let t = Change::Relation {
        name: "t".into(),
        identity: b'd',
        columns: t_columns.clone(),
    };
    // With REPLICA IDENTITY FULL every column is flagged as part of the key.
    let f = Change::Relation {
        name: "f".into(),
        identity: b'f',
        columns: columns(&[("id", true), ("v", true), ("n", true)]),
    };
    let nulls = |first: Value| vec![first, Value::Null, Value::Null, Value::Null, Value::Null];
    let f1 = vec![Value::Int32(1), text("x"), num("1.50")];
    let f2 = vec![Value::Int32(2), Value::Null, num("-0.01")];
    let mut t6 = t_columns;
    t6.push(("extra".into(), false));
    let wide_columns = [
        "id", "b", "i2", "i4", "f4", "f8", "n", "mo", "t", "c", "v", "by", "d", "tm", "ttz", "ts", "tstz",
        "iv", "u", "j", "jb", "x", "ip", "cd", "mac", "bt", "vb", "pt", "r", "ia", "ta", "da",
    ];
    let wide1 = vec![
        Value::Int64(1),
        Value::Bool(true),
        Value::Int16(-2),
        Value::Int32(40_000),
        Value::Float32(1.5),
        Value::Float64(-2.5e-300),
        num("-123456789.125"),
        num("-1234.50"),
        text("line\nbreak \"q\""),
        text("ab "),
        text("héllo"),
        Value::Bytes(vec![0, 0xff]),
        Value::Date(-735_160),
        Value::Time(86_400_000_000),
        Value::TimeTz {
            micros: 43_200_000_000,
            offset_seconds: -(5 * 3600 + 30 * 60 + 15),
        },
        Value::Timestamp(9_215_576_668_800_000_001),
        Value::TimestampTz(-2_208_988_800_000_000),
        Value::Interval {
            months: -12,
            days: 3,
            micros: -14_706_789_000,
        },
        text("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
        text("{\"a\": 1}"),
        text("{\"b\": [1, null]}"),
        text("<a/>"),
        text("::1"),
        text("10.0.0.0/8"),
        text("08:00:2b:01:02:03"),
        text("1010"),
        text("1"),
        text("(1,2)"),
        text("[1,5)"),
        Value::Array(vec![Value::Int32(1), Value::Null]),
        Value::Array(vec![text(""), Value::Null, text("NULL"), text("a,b")]),
        Value::Array(vec![Value::Date(19_782), Value::Date(DATE_INFINITY)]),
    ];
    let mut wide2 = vec![Value::Null; wide_columns.len()];
    wide2[0] = Value::Int64(2);
    wide2[4] = Value::Float32(f32::NAN);
    wide2[5] = Value::Float64(f64::NEG_INFINITY);
    wide2[12] = Value::Date(DATE_NEG_INFINITY);
    wide2[15] = Value::Timestamp(TIMESTAMP_INFINITY);
    vec![
        Change::Type("mood".into()),
        t.clone(),
        Change::Insert(
            "t".into(),
            vec![Value::Int32(1), text("a"), big, happy.clone(), tags.clone()],
        ),
        // The unchanged TOASTed column is not sent.
        Change::Update {
            table: "t".into(),
            old: None,
            new: vec![
                Value::Int32(1),
                text("b"),
                Value::Unchanged,
                happy.clone(),
                tags.clone(),
            ],
        },
        // A key change sends the old key.
        Change::Update {
            table: "t".into(),
            old: Some(('K', nulls(Value::Int32(1)))),
            new: vec![Value::Int32(2), text("b"), Value::Unchanged, happy, tags],
        },
        Change::Delete {
            table: "t".into(),
            old: ('K', nulls(Value::Int32(2))),
        },
        f.clone(),
        Change::Insert("f".into(), f1.clone()),
        Change::Insert("f".into(), f2.clone()),
        Change::Update {
            table: "f".into(),
            old: Some(('O', f1)),
            new: vec![Value::Int32(1), text("y"), num("1.50")],
        },
        Change::Delete {
            table: "f".into(),
            old: ('O', f2),
        },
        Change::Type("mood".into()),
        t.clone(),
        f,
        Change::Truncate {
            tables: vec!["t".into(), "f".into()],
            cascade: false,
            restart_identity: false,
        },
        Change::Type("mood".into()),
        t,
        Change::Truncate {
            tables: vec!["t".into()],
            cascade: true,
            restart_identity: true,
        },
        Change::Message {
            transactional: true,
            in_transaction: true,
            prefix: "rivulet".into(),
            content: b"transactional content".to_vec(),
        },
        Change::Message {
            transactional: false,
            in_transaction: false,
            prefix: "rivulet".into(),
            content: vec![0, 0xff],
        },
        // ALTER TABLE: the relation is described again before its next change.
        Change::Type("mood".into()),
        Change::Relation {
            name: "t".into(),
            identity: b'd',
            columns: t6,
        },
        Change::Insert(
            "t".into(),
            vec![
                Value::Int32(3),
                text("c"),
                text("small"),
                text("ok"),
                Value::Array(vec![]),
                Value::Int32(7),
            ],
        ),
        Change::Relation {
            name: "wide".into(),
            identity: b'd',
            columns: wide_columns.iter().map(|c| (c.to_string(), *c == "id")).collect(),
        },
        Change::Insert("wide".into(), wide1),
        Change::Insert("wide".into(), wide2),
    ]
}

/// Compares, treating NaN floats as equal (the second wide row holds one).
pub fn assert_stream(messages: &[Bytes]) {
    let got = changes(messages);
    let want = expected();
    assert_eq!(got.len(), want.len(), "{got:#?}");
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        let nan_aware = format!("{g:?}") == format!("{w:?}");
        assert!(g == w || nan_aware, "change {i}:\n got {g:?}\nwant {w:?}");
    }
}
