//! The decoder on records written with Kafka Connect schemas (`JsonConverter`,
//! `schemas.enable=true`), modelled on what Debezium 3.x's PostgreSQL connector declares; on
//! schema versions (cached, re-published only on change, ALTER TABLE upstream); and on the
//! records it must refuse, with where and why.
#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too

use std::sync::Arc;

use rivulet_core::value::TIMESTAMP_INFINITY;
use rivulet_core::{Change, ChangeEvent, Numeric, Op, OriginalRecord, PgType, SnapshotMarker, Value};
use rivulet_format::{DebeziumDecoder, DebeziumEncoder, DebeziumSettings};
use serde_json::{Value as Json, json};

fn field(name: &str, kind: &str, optional: bool, extra: Json) -> Json {
    let mut field = json!({"type": kind, "optional": optional, "field": name});
    if let (Some(field), Json::Object(extra)) = (field.as_object_mut(), extra) {
        field.extend(extra);
    }
    field
}

/// The columns of the test table `public.orders`.
fn columns() -> Vec<Json> {
    let logical = |name: &str| json!({"name": name, "version": 1});
    vec![
        field("id", "int32", false, json!({})),
        field(
            "price",
            "bytes",
            true,
            json!({"name": "org.apache.kafka.connect.data.Decimal", "version": 1,
                   "parameters": {"scale": "2", "connect.decimal.precision": "12"}}),
        ),
        field(
            "placed_at",
            "int64",
            true,
            logical("io.debezium.time.MicroTimestamp"),
        ),
        field(
            "updated_at",
            "string",
            true,
            logical("io.debezium.time.ZonedTimestamp"),
        ),
        field("ship_date", "int32", true, logical("io.debezium.time.Date")),
        json!({"type": "struct", "fields": [
                  {"type": "int32", "optional": false, "field": "scale"},
                  {"type": "bytes", "optional": false, "field": "value"}],
               "optional": true, "name": "io.debezium.data.VariableScaleDecimal", "version": 1,
               "doc": "Variable scaled decimal", "field": "ratio"}),
        field(
            "tags",
            "array",
            true,
            json!({"items": {"type": "string", "optional": true}}),
        ),
        field("ref", "string", true, logical("io.debezium.data.Uuid")),
        field("attrs", "string", true, logical("io.debezium.data.Json")),
        field("wait", "int64", true, logical("io.debezium.time.MicroDuration")),
        field("at_time", "string", true, logical("io.debezium.time.ZonedTime")),
        field("raw", "bytes", true, json!({})),
        field("score", "float64", true, json!({})),
        field("small", "int16", true, json!({})),
        field("flag", "boolean", true, json!({})),
        field("t3", "int32", true, logical("io.debezium.time.Time")),
        field("created", "int64", true, logical("io.debezium.time.Timestamp")),
        field(
            "mood",
            "string",
            true,
            json!({"name": "io.debezium.data.Enum", "version": 1, "parameters": {"allowed": "happy,sad"}}),
        ),
    ]
}

/// The envelope schema Debezium's PostgreSQL connector declares for a table with `columns`.
fn envelope_schema(columns: &[Json]) -> Json {
    let value = |image: &str| {
        json!({"type": "struct", "fields": columns, "optional": true,
               "name": "dbz.public.orders.Value", "field": image})
    };
    json!({
        "type": "struct",
        "fields": [
            value("before"),
            value("after"),
            {"type": "struct", "fields": [
                {"type": "string", "optional": false, "field": "version"},
                {"type": "string", "optional": false, "field": "connector"},
                {"type": "string", "optional": false, "field": "name"},
                {"type": "int64", "optional": false, "field": "ts_ms"},
                {"type": "string", "optional": true, "name": "io.debezium.data.Enum", "version": 1,
                 "parameters": {"allowed": "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},
                 "default": "false", "field": "snapshot"},
                {"type": "string", "optional": false, "field": "db"},
                {"type": "string", "optional": true, "field": "sequence"},
                {"type": "int64", "optional": true, "field": "ts_us"},
                {"type": "int64", "optional": true, "field": "ts_ns"},
                {"type": "string", "optional": false, "field": "schema"},
                {"type": "string", "optional": false, "field": "table"},
                {"type": "int64", "optional": true, "field": "txId"},
                {"type": "int64", "optional": true, "field": "lsn"},
                {"type": "int64", "optional": true, "field": "xmin"}],
             "optional": false, "name": "io.debezium.connector.postgresql.Source", "field": "source"},
            {"type": "struct", "fields": [
                {"type": "string", "optional": false, "field": "id"},
                {"type": "int64", "optional": false, "field": "total_order"},
                {"type": "int64", "optional": false, "field": "data_collection_order"}],
             "optional": true, "name": "event.block", "version": 1, "field": "transaction"},
            {"type": "string", "optional": false, "field": "op"},
            {"type": "int64", "optional": true, "field": "ts_ms"},
            {"type": "int64", "optional": true, "field": "ts_us"},
            {"type": "int64", "optional": true, "field": "ts_ns"}
        ],
        "optional": false,
        "name": "dbz.public.orders.Envelope",
        "version": 2
    })
}

fn row_values(id: i64) -> Json {
    json!({
        "id": id,
        "price": "HL6ZGhQ=",
        "placed_at": 1_719_791_999_123_456i64,
        "updated_at": "2024-06-30T21:59:59.123456Z",
        "ship_date": 19_782,
        "ratio": {"scale": 20, "value": "EQfV61tbpNfG"},
        "tags": ["a", null],
        "ref": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        "attrs": "{\"k\": [1, 2]}",
        "wait": 37_091_106_789_000i64,
        "at_time": "11:45:10.5Z",
        "raw": "3q2+7w==",
        "score": 2.5,
        "small": -2,
        "flag": true,
        "t3": 49_510_123,
        "created": 1_719_791_999_123i64,
        "mood": "happy"
    })
}

fn source(snapshot: &str) -> Json {
    json!({"version": "3.6.3.Final", "connector": "postgresql", "name": "dbz", "ts_ms": 1_795_306_542_849i64,
           "snapshot": snapshot, "db": "postgres", "sequence": "[\"22287400\",\"22287600\"]",
           "ts_us": 1_795_306_542_849_178i64, "ts_ns": 1_795_306_542_849_178_000i64,
           "schema": "public", "table": "orders", "txId": 735, "lsn": 22_287_600, "xmin": null})
}

fn key(id: i64) -> Json {
    json!({"schema": {"type": "struct", "fields": [{"type": "int32", "optional": false, "field": "id"}],
                      "optional": false, "name": "dbz.public.orders.Key"},
           "payload": {"id": id}})
}

fn wrapped(schema: &Json, mut payload: Json) -> Json {
    json!({"schema": schema, "payload": payload.take()})
}

fn record(offset: i64, key: &Json, value: &Json) -> Arc<OriginalRecord> {
    Arc::new(OriginalRecord {
        topic: "dbz.public.orders".into(),
        partition: 0,
        offset,
        key: (!key.is_null()).then(|| serde_json::to_vec(key).unwrap()),
        value: (!value.is_null()).then(|| serde_json::to_vec(value).unwrap()),
    })
}

fn row(event: &ChangeEvent) -> &rivulet_core::RowChange {
    match &event.change {
        Change::Row(row) => row,
        other => panic!("not a row: {other:?}"),
    }
}

#[test]
fn logical_types_decode_to_postgres_values() {
    let schema = envelope_schema(&columns());
    let value = wrapped(
        &schema,
        json!({"before": null, "after": row_values(1), "source": source("false"), "transaction": null,
               "op": "c", "ts_ms": 1, "ts_us": 1, "ts_ns": 1}),
    );
    let mut decoder = DebeziumDecoder::new();
    let event = decoder.decode(record(10, &key(1), &value)).unwrap();
    let row = row(&event);
    assert_eq!(row.op, Op::Create);
    assert_eq!(row.table.id.to_string(), "public.orders");
    assert_eq!(row.table.primary_key, [0]);
    assert_eq!(event.source.lsn.0, 22_287_600);
    assert_eq!(event.source.last_commit_lsn.map(|l| l.0), Some(22_287_400));
    assert_eq!(event.source.txid, Some(735));
    assert_eq!(event.source.commit_time_us, 1_795_306_542_849_178);

    let after = row.after.as_ref().unwrap();
    let column = |name: &str| {
        let i = row.table.column_index(name).unwrap();
        (
            &after[i],
            &row.table.columns[i].pg_type,
            row.table.columns[i].nullable,
        )
    };
    let numeric = |text: &str| Value::Numeric(Numeric::Finite(text.into()));
    assert_eq!(column("id"), (&Value::Int32(1), &PgType::Int4, false));
    assert_eq!(
        column("price"),
        (
            &numeric("1234567890.12"),
            &PgType::Numeric {
                precision: Some(12),
                scale: Some(2)
            },
            true
        )
    );
    assert_eq!(
        column("placed_at"),
        (
            &Value::Timestamp(1_719_791_999_123_456),
            &PgType::Timestamp { precision: None },
            true
        )
    );
    assert_eq!(
        column("updated_at"),
        (
            &Value::TimestampTz(1_719_784_799_123_456),
            &PgType::TimestampTz { precision: None },
            true
        )
    );
    assert_eq!(column("ship_date"), (&Value::Date(19_782), &PgType::Date, true));
    assert_eq!(
        column("ratio"),
        (
            &numeric("3.14159265358979323846"),
            &PgType::Numeric {
                precision: None,
                scale: None
            },
            true
        )
    );
    assert_eq!(
        column("tags").0,
        &Value::Array(vec![Value::Text("a".into()), Value::Null])
    );
    assert_eq!(column("tags").1, &PgType::Array(Box::new(PgType::Text)));
    assert_eq!(column("ref").1, &PgType::Uuid);
    assert_eq!(
        column("attrs"),
        (&Value::Text("{\"k\": [1, 2]}".into()), &PgType::Json, true)
    );
    assert_eq!(
        column("wait").0,
        &Value::Interval {
            months: 0,
            days: 0,
            micros: 37_091_106_789_000
        }
    );
    assert_eq!(
        column("at_time").0,
        &Value::TimeTz {
            micros: 42_310_500_000,
            offset_seconds: 0
        }
    );
    assert_eq!(
        column("raw"),
        (&Value::Bytes(vec![0xde, 0xad, 0xbe, 0xef]), &PgType::Bytea, true)
    );
    assert_eq!(column("score"), (&Value::Float64(2.5), &PgType::Float8, true));
    assert_eq!(column("small"), (&Value::Int16(-2), &PgType::Int2, true));
    assert_eq!(column("flag"), (&Value::Bool(true), &PgType::Bool, true));
    assert_eq!(
        column("t3"),
        (
            &Value::Time(49_510_123_000),
            &PgType::Time { precision: Some(3) },
            true
        )
    );
    assert_eq!(
        column("created"),
        (
            &Value::Timestamp(1_719_791_999_123_000),
            &PgType::Timestamp { precision: Some(3) },
            true
        )
    );
    assert_eq!(column("mood").1, &PgType::Enum { name: "enum".into() });

    // Typed this way, the row re-encodes to exactly the payload Debezium wrote.
    let mut encoder = DebeziumEncoder::new(DebeziumSettings {
        topic_prefix: "dbz".into(),
        ..DebeziumSettings::default()
    });
    let mut bare = event.clone();
    bare.source.original = None;
    let mut out = Vec::new();
    encoder.write_value(&bare, &mut out);
    let reencoded: Json = serde_json::from_slice(&out).unwrap();
    assert_eq!(reencoded["after"], row_values(1));
    assert_eq!(reencoded["source"]["sequence"], source("false")["sequence"]);
    out.clear();
    encoder.write_key(&bare, &mut out);
    assert_eq!(out, br#"{"id":1}"#);
}

#[test]
fn schema_versions_follow_the_records() {
    let schema = envelope_schema(&columns());
    let mut decoder = DebeziumDecoder::new();
    let insert = |schema: &Json, after: Json| {
        wrapped(
            schema,
            json!({"before": null, "after": after, "source": source("false"), "op": "c"}),
        )
    };
    let first = decoder
        .decode(record(1, &key(1), &insert(&schema, row_values(1))))
        .unwrap();
    let second = decoder
        .decode(record(2, &key(2), &insert(&schema, row_values(2))))
        .unwrap();
    assert!(
        Arc::ptr_eq(&row(&first).table, &row(&second).table),
        "an unchanged schema is one Arc"
    );

    // ALTER TABLE … ADD COLUMN note: the schema grows, a new version appears.
    let mut grown = columns();
    grown.push(field("note", "string", true, json!({})));
    let grown = envelope_schema(&grown);
    let mut after = row_values(3);
    after["note"] = json!("hello");
    let third = decoder
        .decode(record(3, &key(3), &insert(&grown, after)))
        .unwrap();
    let table = &row(&third).table;
    assert!(!Arc::ptr_eq(&row(&second).table, table));
    assert_eq!(table.columns.len(), row(&second).table.columns.len() + 1);
    assert_eq!(table.columns.last().unwrap().name, "note");
    assert_eq!(
        row(&third).after.as_ref().unwrap().last(),
        Some(&Value::Text("hello".into()))
    );
    // The old version is untouched; a delete still typed by the old schema goes back to it.
    assert_eq!(row(&first).table.columns.len(), table.columns.len() - 1);
    let delete = wrapped(
        &schema,
        json!({"before": row_values(1), "after": null, "source": source("false"), "op": "d"}),
    );
    let fourth = decoder.decode(record(4, &key(1), &delete)).unwrap();
    assert_eq!(row(&fourth).op, Op::Delete);
    assert_eq!(row(&fourth).table.columns.len(), row(&first).table.columns.len());
    assert_eq!(*row(&fourth).table, *row(&first).table);
}

#[test]
fn schemaless_tables_grow_and_learn_types() {
    let mut decoder = DebeziumDecoder::new();
    let value = |after: Json| json!({"before": null, "after": after, "source": {"schema": "s", "table": "t"}, "op": "r"});
    let decode = |decoder: &mut DebeziumDecoder, offset, after| {
        decoder
            .decode(record(offset, &json!({"id": offset}), &value(after)))
            .unwrap()
    };
    let a = decode(&mut decoder, 1, json!({"id": 1, "x": null}));
    let b = decode(&mut decoder, 2, json!({"id": 2, "x": 2.5}));
    let c = decode(&mut decoder, 3, json!({"id": 3, "x": 4}));
    let d = decode(&mut decoder, 4, json!({"y": "new", "id": 4}));
    let e = decode(&mut decoder, 5, json!({"id": 5, "x": 1.0, "y": "z"}));
    let types = |event: &ChangeEvent| -> Vec<(String, PgType)> {
        row(event)
            .table
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.pg_type.clone()))
            .collect()
    };
    let s = |name: &str, t: PgType| (name.to_string(), t);
    assert_eq!(types(&a), [s("id", PgType::Int8), s("x", PgType::Text)]);
    assert_eq!(types(&b), [s("id", PgType::Int8), s("x", PgType::Float8)]);
    assert!(Arc::ptr_eq(&row(&b).table, &row(&c).table));
    assert_eq!(row(&c).after.as_ref().unwrap()[1], Value::Float64(4.0));
    assert_eq!(
        types(&d),
        [
            s("id", PgType::Int8),
            s("x", PgType::Float8),
            s("y", PgType::Text)
        ]
    );
    assert_eq!(
        row(&d).after.as_ref().unwrap(),
        &vec![Value::Int64(4), Value::Null, Value::Text("new".into())]
    );
    assert!(Arc::ptr_eq(&row(&d).table, &row(&e).table));
    assert_eq!(row(&e).table.primary_key, [0]);
    assert_eq!(row(&a).table.id.to_string(), "s.t");
    assert_eq!(e.source.snapshot, SnapshotMarker::False);
}

#[test]
fn tombstones_truncates_and_infinities() {
    let mut decoder = DebeziumDecoder::new();
    let tombstone = decoder.decode(record(7, &key(1), &Json::Null)).unwrap();
    assert_eq!(tombstone.change, Change::Tombstone);
    assert_eq!(tombstone.source.original.as_ref().unwrap().offset, 7);
    let explicit_null = decoder
        .decode(record(8, &Json::Null, &json!({"schema": null, "payload": null})))
        .unwrap();
    assert_eq!(explicit_null.change, Change::Tombstone);

    let truncate = decoder
        .decode(record(
            9,
            &Json::Null,
            &json!({"before": null, "after": null, "source": source("false"), "op": "t"}),
        ))
        .unwrap();
    let Change::Truncate(t) = &truncate.change else {
        panic!("truncate")
    };
    assert_eq!(t.table.id.to_string(), "public.orders");

    let schema = envelope_schema(&columns());
    let mut after = row_values(1);
    after["updated_at"] = json!("infinity");
    after["placed_at"] = json!(9_223_372_036_825_200_000i64);
    let value = wrapped(
        &schema,
        json!({"after": after, "source": source("first"), "op": "r"}),
    );
    let event = decoder.decode(record(10, &key(1), &value)).unwrap();
    let row = row(&event);
    let after = row.after.as_ref().unwrap();
    assert_eq!(after[3], Value::TimestampTz(TIMESTAMP_INFINITY));
    assert_eq!(after[2], Value::Timestamp(TIMESTAMP_INFINITY));
    assert_eq!(event.source.snapshot, SnapshotMarker::First);
}

#[test]
fn refuses_malformed_records_saying_where_and_why() {
    let schema = envelope_schema(&columns());
    let mut decoder = DebeziumDecoder::new();
    let mut check = |value: Json, raw: Option<&[u8]>, expected: &str| {
        let mut record = (*record(42, &key(1), &value)).clone();
        if let Some(raw) = raw {
            record.value = Some(raw.to_vec());
        }
        let err = decoder.decode(Arc::new(record)).unwrap_err();
        assert_eq!(
            (err.topic(), err.partition(), err.offset()),
            ("dbz.public.orders", 0, 42)
        );
        let message = err.to_string();
        assert!(
            message.starts_with(
                "cannot decode the Debezium record at dbz.public.orders partition 0 offset 42: "
            ),
            "{message}"
        );
        assert!(
            err.problem().contains(expected),
            "{message} should mention {expected}"
        );
        assert!(!message.contains('\n'));
    };
    check(Json::Null, Some(b"{\"op\":"), "the value is not JSON");
    check(json!([1]), None, "expected an object, found an array");
    check(json!({"after": {}}), None, "no \"op\"");
    check(json!({"op": "x"}), None, "op \"x\" is not a Debezium operation");
    check(
        json!({"op": "c", "after": [1]}),
        None,
        "\"after\": expected an object",
    );
    check(
        json!({"op": "m", "message": {"content": "!!"}}),
        None,
        "message.content",
    );
    let mut after = row_values(1);
    after["placed_at"] = json!("yesterday");
    check(
        wrapped(
            &schema,
            json!({"op": "c", "after": after, "source": source("false")}),
        ),
        None,
        "column \"placed_at\": expected an integer, found a string",
    );
    let mut after = row_values(1);
    after["price"] = json!("AA");
    after["updated_at"] = json!("2024-02-30T00:00:00Z");
    check(
        wrapped(
            &schema,
            json!({"op": "c", "after": after, "source": source("false")}),
        ),
        None,
        "column \"updated_at\": \"2024-02-30T00:00:00Z\" is not an ISO-8601 timestamp",
    );
    check(
        wrapped(&json!({"type": 5}), json!({"op": "c", "after": {}})),
        None,
        "not a Kafka Connect schema",
    );
}

#[test]
fn keys_keep_their_order_and_the_decoder_moves_between_threads() {
    fn assert_send<T: Send + 'static>() {}
    assert_send::<DebeziumDecoder>();

    let mut decoder = DebeziumDecoder::new();
    // Raw bytes: serde_json's map would sort the key's fields.
    let raw = |offset, key: Option<&str>, value: &str| {
        Arc::new(OriginalRecord {
            topic: "dbz.shop.order_lines".into(),
            partition: 1,
            offset,
            key: key.map(|k| k.as_bytes().to_vec()),
            value: Some(value.as_bytes().to_vec()),
        })
    };
    let value = r#"{"before":null,"after":{"qty":2,"line_no":1,"order_id":7},"source":{},"op":"c"}"#;
    let keyed = decoder
        .decode(raw(1, Some(r#"{"order_id":7,"line_no":1}"#), value))
        .unwrap();
    // The table comes from the topic when source has no schema/table.
    assert_eq!(row(&keyed).table.id.to_string(), "shop.order_lines");
    assert_eq!(row(&keyed).table.primary_key, [2, 1]);
    let again = decoder
        .decode(raw(2, Some(r#"{"order_id":7,"line_no":2}"#), value))
        .unwrap();
    assert!(Arc::ptr_eq(&row(&keyed).table, &row(&again).table));
    // The key went away (REPLICA IDENTITY / primary key dropped upstream): a new version.
    let keyless = decoder.decode(raw(3, None, value)).unwrap();
    assert!(row(&keyless).table.primary_key.is_empty());
    assert_eq!(row(&keyless).table.columns, row(&keyed).table.columns);
}
