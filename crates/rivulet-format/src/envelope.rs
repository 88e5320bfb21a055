//! The Debezium envelope: topic, key and value of each record, and the JSONL line format.
//!
//! Value of a row event (field order matters to byte-level consumers and is Debezium's):
//! `{"before":…,"after":…,"source":{…},"transaction":null,"op":"c","ts_ms":…,"ts_us":…,"ts_ns":…}`
//! where `source` is
//! `{"version","connector":"postgresql","name":<prefix>,"ts_ms","snapshot","db","sequence",
//! "ts_us","ts_ns","schema","table","txId","lsn","xmin":null,"origin","origin_lsn"}`:
//! `source.ts_*` are the commit time, `sequence` is a *string* holding the JSON array
//! `["<last commit LSN>","<LSN>"]` (decimal LSNs, the first null when unknown), `txId` and
//! `lsn` are numbers. The envelope's own `ts_*` are the processing time, taken once per event.
//!
//! Keys are the primary-key columns in key order (`null` without a primary key and for
//! truncates). A truncate has `before`/`after` null and op `t`. A logical decoding message goes
//! to `<prefix>.message` with key `{"prefix":…}` and value
//! `{"op":"m","ts_ms":…,"source":{…},"transaction":null,"message":{"prefix":…,"content":base64}}`
//! (no `ts_us`/`ts_ns`; `source.schema`/`table` are `""`).
//!
//! Every delete is followed by a tombstone (`value` null, same key, even a null key) when
//! `tombstones_on_delete` is set, as Debezium does.
//!
//! An update's unchanged TOAST value is taken from the old row when the old row carries it
//! (REPLICA IDENTITY FULL), as Debezium does, and replaced by the placeholder otherwise (or left
//! out of `after` with `unchanged_toast = omit`).
//!
//! **Missing values and defaults.** Debezium gives a column whose `DEFAULT` it can parse a
//! Connect schema default ([`rivulet_core::Column::default`]), and Kafka Connect's
//! `JsonConverter` (`replace.null.with.default=true`) writes that default wherever the value is
//! null: an explicit NULL, the non-key columns of a delete's old row. A NOT NULL column missing
//! from an old row gets its default or its type's fallback ([`crate::column_encoding`]) from
//! Debezium's converters, whatever the JSON converter does. `null_as_default` and
//! `not_null_fallback` turn these two substitutions off.
//!
//! **Transaction metadata** (`provide.transaction.metadata`): each event carries
//! `"transaction":{"id":"<txid>:<lsn>","total_order":n,"data_collection_order":m}`; BEGIN and END
//! records go to `<prefix>.transaction` with key `{"id":…}` and value
//! `{"status":"BEGIN"|"END","id":…,"event_count":n|null,"data_collections":[{"data_collection":
//! "schema.table","event_count":k},…]|null,"ts_ms":<commit time>}`, the tables in Java
//! `HashMap` order (Debezium counts them in a `HashMap`). **Heartbeats** go to
//! `<heartbeat_topics_prefix>.<prefix>` with key `{"serverName":<prefix>}` and value
//! `{"ts_ms":<now>}`.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Weak};
use std::time::{SystemTime, UNIX_EPOCH};

use rivulet_core::{
    Change, ChangeEvent, Column, LogicalMessage, Op, RowChange, SnapshotMarker, SourceMeta, TableSchema,
    TransactionMarker, TransactionRef, Value,
};

use crate::column_encoding::Encoding;
use crate::java_hash::hash_map_order;
use crate::json_text::{object_key, write_base64, write_i64, write_i128, write_str, write_u64};
use crate::topic::topic_name;
use crate::{CONNECTOR_VERSION, DebeziumSettings, DecimalHandling, UnchangedToast};

/// Encodes [`ChangeEvent`]s as Debezium 3.6 records (JSON with schemas disabled).
///
/// Keeps a plan per table schema (topic, pre-escaped field names, column encodings), keyed by
/// the `Arc<TableSchema>` the events share, so steady-state encoding allocates nothing.
pub struct DebeziumEncoder {
    plans: Plans,
    render: Renderer,
}

impl DebeziumEncoder {
    pub fn new(settings: DebeziumSettings) -> Self {
        DebeziumEncoder {
            plans: Plans::default(),
            render: Renderer::new(settings),
        }
    }

    pub fn settings(&self) -> &DebeziumSettings {
        &self.render.settings
    }

    /// The record's topic: `<prefix>.<schema>.<table>` or `<prefix>.message`, sanitised.
    pub fn topic<'a>(&'a mut self, event: &'a ChangeEvent) -> &'a str {
        if let Some(original) = &event.source.original {
            return &original.topic;
        }
        match event.table() {
            Some(table) => &self.plans.get(table, &self.render).topic,
            None => self.render.topic_without_table(event),
        }
    }

    /// Appends the record key's JSON (`null` when the record has none).
    pub fn write_key(&mut self, event: &ChangeEvent, out: &mut Vec<u8>) {
        if let Some(original) = &event.source.original {
            return write_raw(original.key.as_deref(), out);
        }
        let plan = event.table().map(|table| self.plans.get(table, &self.render));
        self.render.write_key(plan, event, out);
    }

    /// Appends the record value's JSON (the envelope).
    pub fn write_value(&mut self, event: &ChangeEvent, out: &mut Vec<u8>) {
        if let Some(original) = &event.source.original {
            return write_raw(original.value.as_deref(), out);
        }
        let plan = event.table().map(|table| self.plans.get(table, &self.render));
        self.render.write_value(plan, event, ProcessingTime::now(), out);
    }

    /// Appends `{"topic":…,"key":…,"value":…}\n`, and after a delete the tombstone line
    /// `{"topic":…,"key":…,"value":null}\n` when `tombstones_on_delete` is set.
    pub fn write_jsonl(&mut self, event: &ChangeEvent, out: &mut Vec<u8>) {
        if let Some(original) = &event.source.original {
            // A record read from a Debezium-format topic goes out as it came in (its own
            // tombstones arrive as records of their own).
            out.extend_from_slice(b"{\"topic\":");
            write_str(out, &original.topic);
            out.extend_from_slice(b",\"key\":");
            write_raw(original.key.as_deref(), out);
            out.extend_from_slice(b",\"value\":");
            write_raw(original.value.as_deref(), out);
            out.extend_from_slice(b"}\n");
            return;
        }
        let now = ProcessingTime::now();
        // One plan lookup serves topic, key and value.
        let plan = event.table().map(|table| self.plans.get(table, &self.render));
        let topic = match plan {
            Some(plan) => plan.topic.as_str(),
            None => self.render.topic_without_table(event),
        };
        out.extend_from_slice(b"{\"topic\":");
        let topic_start = out.len();
        write_str(out, topic);
        let topic_end = out.len();
        out.extend_from_slice(b",\"key\":");
        let key_start = out.len();
        self.render.write_key(plan, event, out);
        let key_end = out.len();
        out.extend_from_slice(b",\"value\":");
        self.render.write_value(plan, event, now, out);
        out.extend_from_slice(b"}\n");
        if event.op() == Op::Delete && self.render.settings.tombstones_on_delete {
            out.extend_from_slice(b"{\"topic\":");
            out.extend_from_within(topic_start..topic_end);
            out.extend_from_slice(b",\"key\":");
            out.extend_from_within(key_start..key_end);
            out.extend_from_slice(b",\"value\":null}\n");
        }
    }

    /// True if `event` is followed by a tombstone record (for sinks that write records one by
    /// one: key as from [`Self::write_key`], value null).
    pub fn emits_tombstone(&self, event: &ChangeEvent) -> bool {
        event.source.original.is_none()
            && event.op() == Op::Delete
            && self.render.settings.tombstones_on_delete
    }
}

impl crate::RecordEncoder for DebeziumEncoder {
    fn encode(&mut self, event: &ChangeEvent, out: &mut crate::EncodedRecords) {
        out.clear();
        if let Some(original) = &event.source.original {
            let r = out.push();
            r.topic.push_str(&original.topic);
            r.key = original.key.clone();
            r.value = original.value.clone();
            return;
        }
        let tombstone = self.emits_tombstone(event);
        let r = out.push();
        r.topic.push_str(self.topic(event));
        let mut key = r.key.take().unwrap_or_default();
        self.write_key(event, &mut key);
        // Kafka Connect's JsonConverter writes a null key as no key at all.
        r.key = (key.as_slice() != b"null").then_some(key);
        let mut value = r.value.take().unwrap_or_default();
        self.write_value(event, &mut value);
        r.value = Some(value);
        if tombstone {
            let (topic, key) = (r.topic.clone(), r.key.clone());
            let t = out.push();
            t.topic.push_str(&topic);
            t.key = key;
            t.value = None;
        }
    }

    fn write_jsonl(&mut self, event: &ChangeEvent, out: &mut Vec<u8>) {
        DebeziumEncoder::write_jsonl(self, event, out);
    }
}

/// Writes forwarded JSON bytes as they are (`null` when absent). They were JSON when read;
/// bytes that are not UTF-8 would break the line, so those become a JSON string instead.
fn write_raw(raw: Option<&[u8]>, out: &mut Vec<u8>) {
    match raw {
        None => out.extend_from_slice(b"null"),
        Some(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) if !text.trim().is_empty() && !text.contains('\n') => {
                out.extend_from_slice(text.trim().as_bytes());
            }
            Ok(text) => write_str(out, text),
            Err(_) => write_str(out, &String::from_utf8_lossy(bytes)),
        },
    }
}

/// Wall-clock time when an event is encoded: the envelope's `ts_ms`/`ts_us`/`ts_ns`.
#[derive(Copy, Clone)]
struct ProcessingTime {
    nanos: u128,
}

impl ProcessingTime {
    fn now() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        ProcessingTime { nanos }
    }
}

/// Per-table plans, keyed by the address of the `Arc<TableSchema>` events share. Each plan
/// holds a `Weak` to its schema, which keeps the allocation (and so the address) from being
/// reused while the entry exists; entries whose schema is gone are pruned as the map grows.
#[derive(Default)]
struct Plans {
    map: HashMap<usize, TablePlan, BuildHasherDefault<AddressHasher>>,
    prune_at: usize,
}

impl Plans {
    fn get(&mut self, table: &Arc<TableSchema>, render: &Renderer) -> &TablePlan {
        let key = Arc::as_ptr(table) as usize;
        if self.map.len() >= self.prune_at && !self.map.contains_key(&key) {
            self.map.retain(|_, plan| plan.table.strong_count() > 0);
            self.prune_at = (self.map.len() * 2).max(64);
        }
        self.map
            .entry(key)
            .or_insert_with(|| TablePlan::new(table, render))
    }
}

/// Hashes a pointer-sized key by mixing its bits (addresses are already unique).
#[derive(Default)]
struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_usize(&mut self, v: usize) {
        self.0 = (v as u64 ^ (v as u64 >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// Everything about a table that does not change from one event to the next.
struct TablePlan {
    table: Weak<TableSchema>,
    topic: String,
    /// `,"schema":"…","table":"…","txId":` for the source block.
    source_table: Vec<u8>,
    /// The columns Debezium writes, in table order (types it drops are not here).
    columns: Vec<ColumnPlan>,
    /// Indexes into `columns` of the primary-key columns, in key order.
    key_columns: Vec<usize>,
}

struct ColumnPlan {
    /// The column's index in a row.
    index: usize,
    /// `"name":`
    key: Box<[u8]>,
    encoding: Encoding,
    /// Every value counts as missing (Debezium cannot read the type).
    reads_nothing: bool,
    /// Pre-rendered JSON for a NULL (or a value Debezium cannot read): null, the column's
    /// default, or its type's fallback, per nullability and settings.
    missing: Box<[u8]>,
    /// Pre-rendered JSON for an unchanged TOAST value; `None`: leave the column out.
    unchanged: Option<Box<[u8]>>,
}

impl TablePlan {
    fn new(table: &Arc<TableSchema>, render: &Renderer) -> Self {
        let settings = &render.settings;
        let mut columns = Vec::with_capacity(table.columns.len());
        for (index, column) in table.columns.iter().enumerate() {
            let Some(encoding) = Encoding::for_type(&column.pg_type, settings) else {
                continue;
            };
            let missing = missing_value(column, &encoding, settings);
            let unchanged = (settings.unchanged_toast == UnchangedToast::Placeholder).then(|| {
                let mut unchanged = Vec::new();
                encoding.write_unchanged(&mut unchanged, &column.pg_type, settings);
                unchanged.into_boxed_slice()
            });
            columns.push(ColumnPlan {
                index,
                key: object_key(&column.name),
                reads_nothing: encoding.reads_nothing(),
                encoding,
                missing,
                unchanged,
            });
        }
        let key_columns = table
            .primary_key
            .iter()
            .filter_map(|&i| columns.iter().position(|c: &ColumnPlan| c.index == i))
            .collect();
        let mut source_table = Vec::new();
        source_table.extend_from_slice(b",\"schema\":");
        write_str(&mut source_table, &table.id.schema);
        source_table.extend_from_slice(b",\"table\":");
        write_str(&mut source_table, &table.id.name);
        source_table.extend_from_slice(b",\"txId\":");
        TablePlan {
            table: Arc::downgrade(table),
            topic: topic_name(&settings.topic_prefix, &[&table.id.schema, &table.id.name]),
            source_table,
            columns,
            key_columns,
        }
    }
}

/// What a missing value of `column` is written as. Debezium's converters give a NOT NULL column
/// its default, else its type's fallback; `JsonConverter` then replaces any remaining null with
/// the schema default.
fn missing_value(column: &Column, encoding: &Encoding, settings: &DebeziumSettings) -> Box<[u8]> {
    let default = column
        .default
        .as_ref()
        .filter(|_| can_be_default(encoding))
        .map(|value| {
            let mut out = Vec::new();
            encoding.write(&mut out, value);
            out
        })
        // A value the encoding cannot express (a source bug) is no default.
        .filter(|json| json.as_slice() != b"null");
    let json = if !column.nullable && settings.not_null_fallback {
        default.unwrap_or_else(|| {
            let mut out = Vec::new();
            encoding.write_fallback(&mut out);
            out
        })
    } else if settings.null_as_default {
        default.unwrap_or_else(|| b"null".to_vec())
    } else {
        b"null".to_vec()
    };
    json.into_boxed_slice()
}

/// Kafka Connect cannot use a struct as a schema default (KAFKA-12694), so Debezium drops the
/// defaults of columns encoded as structs.
fn can_be_default(encoding: &Encoding) -> bool {
    !matches!(
        encoding,
        Encoding::VariableDecimal {
            mode: DecimalHandling::Precise
        } | Encoding::Point
    )
}

/// Settings-derived pieces of JSON shared by all tables.
struct Renderer {
    settings: DebeziumSettings,
    message_topic: String,
    /// `<prefix>.transaction`: BEGIN/END records.
    transaction_topic: String,
    /// `<heartbeat prefix>.<prefix>`.
    heartbeat_topic: String,
    /// `{"version":…,"connector":"postgresql","name":…,"ts_ms":`
    source_head: Vec<u8>,
    /// `,"db":…,"sequence":"[`
    source_db: Vec<u8>,
}

impl Renderer {
    fn new(settings: DebeziumSettings) -> Self {
        let mut source_head = Vec::new();
        source_head.extend_from_slice(b"{\"version\":");
        write_str(&mut source_head, CONNECTOR_VERSION);
        source_head.extend_from_slice(b",\"connector\":\"postgresql\",\"name\":");
        write_str(&mut source_head, &settings.topic_prefix);
        source_head.extend_from_slice(b",\"ts_ms\":");
        let mut source_db = Vec::new();
        source_db.extend_from_slice(b",\"db\":");
        write_str(&mut source_db, &settings.database);
        source_db.extend_from_slice(b",\"sequence\":\"[");
        Renderer {
            message_topic: topic_name(&settings.topic_prefix, &["message"]),
            transaction_topic: topic_name(&settings.topic_prefix, &["transaction"]),
            heartbeat_topic: topic_name(&settings.heartbeat_topics_prefix, &[&settings.topic_prefix]),
            settings,
            source_head,
            source_db,
        }
    }

    /// The topic of an event that belongs to no table.
    fn topic_without_table(&self, event: &ChangeEvent) -> &str {
        match &event.change {
            Change::TransactionBegin(_) | Change::TransactionEnd(_) => &self.transaction_topic,
            Change::Heartbeat => &self.heartbeat_topic,
            _ => &self.message_topic,
        }
    }

    /// `plan` is the plan of the event's table (`None` for messages).
    fn write_key(&self, plan: Option<&TablePlan>, event: &ChangeEvent, out: &mut Vec<u8>) {
        match (&event.change, plan) {
            (Change::Row(row), Some(plan)) => Self::write_row_key(plan, row, out),
            (Change::Message(message), _) => Self::write_message_key(message, out),
            (Change::TransactionBegin(marker) | Change::TransactionEnd(marker), _) => {
                out.extend_from_slice(b"{\"id\":");
                write_str(out, &marker.id);
                out.push(b'}');
            }
            (Change::Heartbeat, _) => {
                out.extend_from_slice(b"{\"serverName\":");
                write_str(out, &self.settings.topic_prefix);
                out.push(b'}');
            }
            _ => out.extend_from_slice(b"null"),
        }
    }

    fn write_value(
        &self,
        plan: Option<&TablePlan>,
        event: &ChangeEvent,
        now: ProcessingTime,
        out: &mut Vec<u8>,
    ) {
        match (&event.change, plan) {
            (Change::Row(row), Some(plan)) => self.write_row_value(plan, row, &event.source, now, out),
            (Change::Truncate(_), Some(plan)) => self.write_truncate_value(plan, &event.source, now, out),
            (Change::Message(message), _) => self.write_message_value(message, &event.source, now, out),
            (Change::TransactionBegin(marker), _) => {
                self.write_transaction_value(marker, false, &event.source, out);
            }
            (Change::TransactionEnd(marker), _) => {
                self.write_transaction_value(marker, true, &event.source, out);
            }
            (Change::Heartbeat, _) => {
                out.extend_from_slice(b"{\"ts_ms\":");
                write_u64(out, (now.nanos / 1_000_000) as u64);
                out.push(b'}');
            }
            // Rows and truncates always have a table, hence a plan.
            _ => out.extend_from_slice(b"null"),
        }
    }

    fn write_row_key(plan: &TablePlan, row: &RowChange, out: &mut Vec<u8>) {
        let image = match row.op {
            Op::Delete => row.before.as_ref(),
            _ => row.after.as_ref().or(row.before.as_ref()),
        };
        let (Some(image), false) = (image, plan.key_columns.is_empty()) else {
            out.extend_from_slice(b"null");
            return;
        };
        out.push(b'{');
        for (n, &i) in plan.key_columns.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            let column = &plan.columns[i];
            out.extend_from_slice(&column.key);
            let value = image.get(column.index).unwrap_or(&Value::Null);
            // A key value is never an unchanged TOAST value worth omitting.
            if !write_column(column, value, None, row.op == Op::Read, out) {
                out.extend_from_slice(b"null");
            }
        }
        out.push(b'}');
    }

    fn write_message_key(message: &LogicalMessage, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"prefix\":");
        write_str(out, &message.prefix);
        out.push(b'}');
    }

    fn write_row_value(
        &self,
        plan: &TablePlan,
        row: &RowChange,
        source: &SourceMeta,
        now: ProcessingTime,
        out: &mut Vec<u8>,
    ) {
        out.extend_from_slice(b"{\"before\":");
        match &row.before {
            Some(before) => write_row(plan, before, None, row.op == Op::Read, out),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"after\":");
        match &row.after {
            Some(after) => write_row(plan, after, row.before.as_deref(), row.op == Op::Read, out),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"source\":");
        self.write_source(Some(plan), source, out);
        self.write_transaction_block(source, out);
        out.extend_from_slice(b",\"op\":\"");
        out.extend_from_slice(row.op.code().as_bytes());
        out.push(b'"');
        write_processing_time(now, out);
        out.push(b'}');
    }

    fn write_truncate_value(
        &self,
        plan: &TablePlan,
        source: &SourceMeta,
        now: ProcessingTime,
        out: &mut Vec<u8>,
    ) {
        out.extend_from_slice(b"{\"before\":null,\"after\":null,\"source\":");
        self.write_source(Some(plan), source, out);
        self.write_transaction_block(source, out);
        out.extend_from_slice(b",\"op\":\"t\"");
        write_processing_time(now, out);
        out.push(b'}');
    }

    fn write_message_value(
        &self,
        message: &LogicalMessage,
        source: &SourceMeta,
        now: ProcessingTime,
        out: &mut Vec<u8>,
    ) {
        out.extend_from_slice(b"{\"op\":\"m\",\"ts_ms\":");
        write_u64(out, (now.nanos / 1_000_000) as u64);
        out.extend_from_slice(b",\"source\":");
        self.write_source(None, source, out);
        self.write_transaction_block(source, out);
        out.extend_from_slice(b",\"message\":{\"prefix\":");
        write_str(out, &message.prefix);
        out.extend_from_slice(b",\"content\":");
        write_base64(out, &message.content);
        out.extend_from_slice(b"}}");
    }

    /// `,"transaction":{…}` with transaction metadata, `,"transaction":null` without.
    fn write_transaction_block(&self, source: &SourceMeta, out: &mut Vec<u8>) {
        match (&source.transaction, self.settings.provide_transaction_metadata) {
            (
                Some(TransactionRef {
                    id,
                    total_order,
                    data_collection_order,
                }),
                true,
            ) => {
                out.extend_from_slice(b",\"transaction\":{\"id\":");
                write_str(out, id);
                out.extend_from_slice(b",\"total_order\":");
                write_u64(out, *total_order);
                out.extend_from_slice(b",\"data_collection_order\":");
                write_u64(out, *data_collection_order);
                out.push(b'}');
            }
            _ => out.extend_from_slice(b",\"transaction\":null"),
        }
    }

    /// A BEGIN or END record's value; `ts_ms` is the transaction's commit time.
    fn write_transaction_value(
        &self,
        marker: &TransactionMarker,
        end: bool,
        source: &SourceMeta,
        out: &mut Vec<u8>,
    ) {
        out.extend_from_slice(if end {
            b"{\"status\":\"END\",\"id\":"
        } else {
            b"{\"status\":\"BEGIN\",\"id\":"
        });
        write_str(out, &marker.id);
        out.extend_from_slice(b",\"event_count\":");
        match (end, marker.event_count) {
            (true, Some(n)) => write_u64(out, n),
            _ => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"data_collections\":");
        if end {
            let names: Vec<String> = marker
                .data_collections
                .iter()
                .map(|(t, _)| t.to_string())
                .collect();
            out.push(b'[');
            for (n, i) in hash_map_order(&names).into_iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(b"{\"data_collection\":");
                write_str(out, &names[i]);
                out.extend_from_slice(b",\"event_count\":");
                write_u64(out, marker.data_collections[i].1);
                out.push(b'}');
            }
            out.push(b']');
        } else {
            out.extend_from_slice(b"null");
        }
        out.extend_from_slice(b",\"ts_ms\":");
        write_i64(out, source.commit_time_us.div_euclid(1000));
        out.push(b'}');
    }

    fn write_source(&self, plan: Option<&TablePlan>, source: &SourceMeta, out: &mut Vec<u8>) {
        let commit_us = source.commit_time_us;
        out.extend_from_slice(&self.source_head);
        write_i64(out, commit_us.div_euclid(1000));
        if source.snapshot == SnapshotMarker::False && !self.settings.null_as_default {
            // Streamed events leave `snapshot` unset; only its schema default says "false".
            out.extend_from_slice(b",\"snapshot\":null");
        } else {
            out.extend_from_slice(b",\"snapshot\":\"");
            out.extend_from_slice(source.snapshot.as_str().as_bytes());
            out.push(b'"');
        }
        out.extend_from_slice(&self.source_db);
        match source.last_commit_lsn {
            Some(lsn) => {
                out.extend_from_slice(b"\\\"");
                write_u64(out, lsn.0);
                out.extend_from_slice(b"\\\"");
            }
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\\\"");
        write_u64(out, source.lsn.0);
        out.extend_from_slice(b"\\\"]\",\"ts_us\":");
        write_i64(out, commit_us);
        out.extend_from_slice(b",\"ts_ns\":");
        write_i128(out, i128::from(commit_us) * 1000);
        match plan {
            Some(plan) => out.extend_from_slice(&plan.source_table),
            None => out.extend_from_slice(b",\"schema\":\"\",\"table\":\"\",\"txId\":"),
        }
        match source.txid {
            Some(txid) => write_u64(out, u64::from(txid)),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"lsn\":");
        write_u64(out, source.lsn.0);
        out.extend_from_slice(b",\"xmin\":null,\"origin\":");
        match &source.origin {
            Some(origin) => write_str(out, origin),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"origin_lsn\":");
        match source.origin_lsn {
            Some(lsn) => write_u64(out, lsn.0),
            None => out.extend_from_slice(b"null"),
        }
        out.push(b'}');
    }
}

fn write_processing_time(now: ProcessingTime, out: &mut Vec<u8>) {
    out.extend_from_slice(b",\"ts_ms\":");
    write_u64(out, (now.nanos / 1_000_000) as u64);
    out.extend_from_slice(b",\"ts_us\":");
    write_u64(out, (now.nanos / 1_000) as u64);
    out.extend_from_slice(b",\"ts_ns\":");
    write_u64(out, now.nanos as u64);
}

/// A row image as an object of the plan's columns in table order. `old` is the update's old row,
/// the source of unchanged TOAST values; `snapshot` is true for snapshot reads.
fn write_row(plan: &TablePlan, row: &[Value], old: Option<&[Value]>, snapshot: bool, out: &mut Vec<u8>) {
    out.push(b'{');
    let mut written = 0usize;
    for column in &plan.columns {
        let field_start = out.len();
        if written > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&column.key);
        let old_value = match old {
            Some(old) => old.get(column.index),
            None => None,
        };
        let value = row.get(column.index).unwrap_or(&Value::Null);
        if write_column(column, value, old_value, snapshot, out) {
            written += 1;
        } else {
            out.truncate(field_start);
        }
    }
    out.push(b'}');
}

/// Writes one column's value; false if the column is to be left out (an unchanged TOAST value
/// with `unchanged_toast = omit`), in which case what was written must be discarded.
fn write_column(
    column: &ColumnPlan,
    value: &Value,
    old: Option<&Value>,
    snapshot: bool,
    out: &mut Vec<u8>,
) -> bool {
    match value {
        Value::Null => out.extend_from_slice(&column.missing),
        // Debezium's snapshot reads these through JDBC, which does return them.
        _ if column.reads_nothing && !snapshot => out.extend_from_slice(&column.missing),
        Value::Unchanged => match old {
            Some(old) if !matches!(old, Value::Null | Value::Unchanged) => column.encoding.write(out, old),
            _ => match &column.unchanged {
                Some(placeholder) => out.extend_from_slice(placeholder),
                None => return false,
            },
        },
        value => column.encoding.write(out, value),
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use rivulet_core::{Lsn, PgType, ReplicaIdentity, TableId};

    fn table() -> Arc<TableSchema> {
        Arc::new(TableSchema {
            id: TableId::new("shop", "order lines"),
            relation_oid: 1,
            columns: vec![
                Column {
                    name: "qty".into(),
                    type_oid: 21,
                    type_modifier: -1,
                    pg_type: PgType::Int2,
                    nullable: false,
                    default: None,
                    missing: None,
                },
                Column {
                    name: "id".into(),
                    type_oid: 23,
                    type_modifier: -1,
                    pg_type: PgType::Int4,
                    nullable: false,
                    default: None,
                    missing: None,
                },
                Column {
                    name: "note".into(),
                    type_oid: 25,
                    type_modifier: -1,
                    pg_type: PgType::Text,
                    nullable: true,
                    default: None,
                    missing: None,
                },
            ],
            primary_key: vec![1],
            replica_identity: ReplicaIdentity::Default,
        })
    }

    fn source() -> SourceMeta {
        SourceMeta {
            lsn: Lsn(22_287_600),
            last_commit_lsn: None,
            txid: Some(735),
            commit_time_us: 1_795_306_542_849_178,
            snapshot: SnapshotMarker::False,
            origin: None,
            origin_lsn: None,
            original: None,
            transaction: None,
        }
    }

    fn settings() -> DebeziumSettings {
        DebeziumSettings {
            topic_prefix: "dbz".into(),
            ..DebeziumSettings::default()
        }
    }

    #[test]
    fn value_bytes_in_debezium_order() {
        let mut encoder = DebeziumEncoder::new(settings());
        let event = ChangeEvent {
            change: Change::Row(RowChange {
                table: table(),
                op: Op::Create,
                before: None,
                after: Some(vec![
                    Value::Int16(2),
                    Value::Int32(1),
                    Value::Text("a/\"b\"".into()),
                ]),
            }),
            source: source(),
        };
        assert_eq!(encoder.topic(&event), "dbz.shop.order_lines");
        let mut out = Vec::new();
        let now = ProcessingTime {
            nanos: 1_795_306_544_417_259_589,
        };
        let plan = event
            .table()
            .map(|table| encoder.plans.get(table, &encoder.render));
        encoder.render.write_value(plan, &event, now, &mut out);
        let expected = format!(
            concat!(
                r#"{{"before":null,"after":{{"qty":2,"id":1,"note":"a/\"b\""}},"source":{{"version":"{}","#,
                r#""connector":"postgresql","name":"dbz","ts_ms":1795306542849,"snapshot":"false","db":"postgres","#,
                r#""sequence":"[null,\"22287600\"]","ts_us":1795306542849178,"ts_ns":1795306542849178000,"#,
                r#""schema":"shop","table":"order lines","txId":735,"lsn":22287600,"xmin":null,"origin":null,"#,
                r#""origin_lsn":null}},"transaction":null,"op":"c","ts_ms":1795306544417,"ts_us":1795306544417259,"#,
                r#""ts_ns":1795306544417259589}}"#
            ),
            CONNECTOR_VERSION
        );
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }

    #[test]
    fn plans_follow_schema_versions() {
        let mut encoder = DebeziumEncoder::new(settings());
        for round in 0..200 {
            let mut schema = (*table()).clone();
            schema.id.name = format!("t{round}");
            let event = ChangeEvent {
                change: Change::Truncate(rivulet_core::Truncate {
                    table: Arc::new(schema),
                    cascade: false,
                    restart_identity: false,
                }),
                source: source(),
            };
            assert_eq!(encoder.topic(&event), format!("dbz.shop.t{round}"));
        }
        assert!(encoder.plans.map.len() < 200, "dropped schemas are pruned");
    }
}
