//! The Debezium JSON decoder: the inverse of [`crate::DebeziumEncoder`], for a source that
//! consumes Debezium-format Kafka topics (written by Rivulet or by Debezium 3.x) and feeds any
//! Rivulet sink.
//!
//! ```text
//!  OriginalRecord { topic, partition, offset, key, value }          (kept whole in source.original)
//!        │ value: one serde_json parse into a borrowed, order-keeping tree (json)
//!        ▼
//!  {"schema":…,"payload":…} unwrapped ── schema text ──▶ connect::SchemaCache ──▶ typed columns
//!        │                       (parsed once per distinct schema; a value that starts with the
//!        │                        topic's last schema, byte for byte, only has its payload parsed)
//!        │ envelope {before, after, source, op, message}
//!        ├─ source ──▶ source::source_meta ──▶ SourceMeta (lsn, txid, commit time, snapshot, …)
//!        ├─ op c/u/d/r: table (source.schema/table, else the topic) ──▶ table::TableState
//!        │     rows aligned to its columns; values read by schema (connect) or inferred (infer);
//!        │     key field names ──▶ primary key;  Arc<TableSchema> re-published only on change
//!        ├─ op t ──▶ Change::Truncate      op m ──▶ Change::Message (content base64-decoded)
//!        └─ value null ──▶ Change::Tombstone
//!        ▼
//!  ChangeEvent { change, source: SourceMeta { original: Some(record), … } }
//! ```
//!
//! Forwarding sinks write `source.original` unchanged (the encoder passes it through), so a
//! record leaves exactly as it came. Sinks that apply rows use the typed rows, which are only
//! as precise as the record allows:
//!
//! * With a Kafka Connect schema (`schemas.enable=true`) values are typed as the schema says
//!   (see `connect`): decimals, temporal types, UUID, JSON, enums come back as PostgreSQL types.
//! * Without one (Rivulet's and the anchors' output) types are inferred from the JSON (see
//!   `infer`): booleans, integers, doubles, strings, arrays, objects. Decimals in precise mode
//!   (base64 strings, `{"scale","value"}` objects), dates and timestamps (numbers), `bytea`
//!   (base64) and `timestamptz` (ISO strings) stay what the JSON shows; decimals in string mode
//!   are text and in double mode doubles. Nothing is guessed from the shape of a string.
//! * Debezium's `unavailable.value.placeholder` (`__debezium_unavailable_value` by default) in a
//!   column becomes [`Value::Unchanged`], so a replica does not write the placeholder over the
//!   real value.
//!
//! Malformed records are [`DecodeError`]s (never panics): not JSON, not an envelope, an unknown
//! `op`, a row image that is not an object, a value contradicting its declared schema. Odd
//! `source` fields are tolerated and left at their defaults.

mod connect;
mod infer;
mod iso;
mod json;
mod numbers;
mod source;
mod table;

use std::sync::Arc;

use rivulet_core::{
    Change, ChangeEvent, LogicalMessage, Op, OriginalRecord, RowChange, SourceMeta, Truncate, Value,
};

use self::connect::{SchemaCache, SchemaColumns};
use self::json::{Document, Fields, Json};
use self::numbers::{decode_base64, quoted};
use self::table::Tables;

/// Debezium's default `unavailable.value.placeholder`.
const DEBEZIUM_PLACEHOLDER: &str = "__debezium_unavailable_value";

/// A record that cannot be decoded: where it is and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot decode the Debezium record at {topic} partition {partition} offset {offset}: {problem}")]
pub struct DecodeError {
    topic: String,
    partition: i32,
    offset: i64,
    problem: String,
}

impl DecodeError {
    fn new(record: &OriginalRecord, problem: String) -> Self {
        DecodeError {
            topic: record.topic.clone(),
            partition: record.partition,
            offset: record.offset,
            problem,
        }
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    pub fn partition(&self) -> i32 {
        self.partition
    }

    pub fn offset(&self) -> i64 {
        self.offset
    }

    /// What is wrong, without the location.
    pub fn problem(&self) -> &str {
        &self.problem
    }
}

/// Decodes Debezium-format records (JSON, with or without Kafka Connect schemas) into
/// [`ChangeEvent`]s with typed rows, keeping each record's bytes in `source.original`.
///
/// Keeps per-table state (columns, inferred types, the current `Arc<TableSchema>`) and the value
/// schemas recently seen per topic, so decode every record of a consumer with one decoder, in
/// order: a column's inferred type depends on the records before it.
pub struct DebeziumDecoder {
    tables: Tables,
    schemas: SchemaCache,
    placeholder: Option<String>,
}

impl Default for DebeziumDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl DebeziumDecoder {
    pub fn new() -> Self {
        DebeziumDecoder {
            tables: Tables::default(),
            schemas: SchemaCache::default(),
            placeholder: Some(DEBEZIUM_PLACEHOLDER.to_string()),
        }
    }

    /// The producer's `unavailable.value.placeholder`, decoded as [`Value::Unchanged`]; `None`
    /// decodes it as the text it is. Defaults to Debezium's `__debezium_unavailable_value`.
    pub fn with_unavailable_value_placeholder(mut self, placeholder: Option<String>) -> Self {
        self.placeholder = placeholder;
        self
    }

    /// Decodes one record. The returned event's `source.original` is `Some(record)`.
    pub fn decode(&mut self, record: Arc<OriginalRecord>) -> Result<ChangeEvent, DecodeError> {
        match self.decode_change(&record) {
            Ok((change, mut source)) => {
                source.original = Some(record);
                Ok(ChangeEvent { change, source })
            }
            Err(problem) => Err(DecodeError::new(&record, problem)),
        }
    }

    fn decode_change(&mut self, record: &OriginalRecord) -> Result<(Change, SourceMeta), String> {
        let Some(value) = record.value.as_deref() else {
            return Ok((Change::Tombstone, SourceMeta::default()));
        };
        let (envelope, columns) = self.parse_value(&record.topic, value)?;
        let envelope = &envelope;
        match envelope {
            Json::Object(_) => {}
            // A JSON null value is a tombstone too (e.g. `{"schema":null,"payload":null}`).
            Json::Null => return Ok((Change::Tombstone, SourceMeta::default())),
            other => {
                return Err(format!(
                    "the value is not a Debezium envelope (expected an object, found {})",
                    other.kind()
                ));
            }
        }
        let source_block = envelope.get("source");
        let meta = source::source_meta(source_block);
        let op = match envelope.get("op") {
            Some(Json::Str(op)) => op.as_ref(),
            Some(other) => return Err(format!("\"op\" is {}, not a string", other.kind())),
            None => return Err("the envelope has no \"op\"".to_string()),
        };
        let change = match op {
            "c" | "u" | "d" | "r" => {
                let op = match op {
                    "c" => Op::Create,
                    "u" => Op::Update,
                    "d" => Op::Delete,
                    _ => Op::Read,
                };
                self.decode_row_change(record, envelope, columns.as_ref(), op)?
            }
            "t" => {
                let (schema, name) = source::table_name(source_block, &record.topic);
                let table = self.tables.get(schema, name).schema().clone();
                Change::Truncate(Truncate {
                    table,
                    // Debezium's truncate events do not say.
                    cascade: false,
                    restart_identity: false,
                })
            }
            "m" => Change::Message(decode_message(envelope, source_block)?),
            other => {
                return Err(format!(
                    "op {} is not a Debezium operation (c, u, d, r, t, m)",
                    quoted(other)
                ));
            }
        };
        Ok((change, meta))
    }

    /// The envelope of a record value, and the columns its Kafka Connect schema declares.
    fn parse_value<'v>(
        &mut self,
        topic: &str,
        value: &'v [u8],
    ) -> Result<(Json<'v>, Option<Arc<SchemaColumns>>), String> {
        // The common case with schemas: the topic's schema again, byte for byte.
        if let Some((payload, columns)) = self.schemas.split_known(topic, value)
            && let Ok(envelope) = serde_json::from_slice::<Json<'v>>(payload)
        {
            return Ok((envelope, columns));
        }
        let document = Document::parse(value).map_err(|e| format!("the value is not JSON ({e})"))?;
        let columns = match document.schema {
            Some(raw) => self.schemas.columns(topic, raw)?,
            None => None,
        };
        Ok((document.body, columns))
    }

    fn decode_row_change(
        &mut self,
        record: &OriginalRecord,
        envelope: &Json<'_>,
        columns: Option<&Arc<SchemaColumns>>,
        op: Op,
    ) -> Result<Change, String> {
        let key = match record.key.as_deref() {
            Some(bytes) => Some(Document::parse(bytes).map_err(|e| format!("the key is not JSON ({e})"))?),
            None => None,
        };
        // Both images are checked before either is read, so a refused record leaves no columns
        // behind in the table's state.
        let before_image = row_image(envelope, "before")?;
        let after_image = row_image(envelope, "after")?;
        let (schema, name) = source::table_name(envelope.get("source"), &record.topic);
        let table = self.tables.get(schema, name);
        table.use_schema(columns);
        let placeholder = self.placeholder.as_deref();
        let before = before_image
            .map(|fields| table.decode_row(fields, placeholder))
            .transpose()
            .map_err(|e| format!("\"before\": {e}"))?;
        let after = after_image
            .map(|fields| table.decode_row(fields, placeholder))
            .transpose()
            .map_err(|e| format!("\"after\": {e}"))?;
        let key_names: &Fields<'_> = match key.as_ref().map(|k| &k.body) {
            Some(Json::Object(fields)) => fields,
            // A null key (no primary key), or a key that is not a struct (a custom key).
            _ => &[],
        };
        table.set_key(key_names.iter().map(|(name, _)| name.as_ref()));
        // Rows decoded before a later field added a column are shorter; absent fields are null.
        let width = table.column_count();
        let pad = |row: Option<Vec<Value>>| {
            row.map(|mut row| {
                row.resize(width, Value::Null);
                row
            })
        };
        Ok(Change::Row(RowChange {
            table: table.schema().clone(),
            op,
            before: pad(before),
            after: pad(after),
        }))
    }
}

/// The fields of a row image (`before` / `after`); `None` when it is absent or null.
fn row_image<'e, 'a>(envelope: &'e Json<'a>, image: &str) -> Result<Option<&'e Fields<'a>>, String> {
    match envelope.get(image) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Object(fields)) => Ok(Some(fields)),
        Some(other) => Err(format!("\"{image}\": expected an object, found {}", other.kind())),
    }
}

/// `{"message": {"prefix": …, "content": base64}}`; transactional when the record has a
/// transaction id, as PostgreSQL gives one only to transactional messages.
fn decode_message(envelope: &Json<'_>, source_block: Option<&Json<'_>>) -> Result<LogicalMessage, String> {
    let message = match envelope.get("message") {
        Some(message @ Json::Object(_)) => message,
        Some(other) => return Err(format!("\"message\" is {}, not an object", other.kind())),
        None => return Err("a message event (op \"m\") without \"message\"".to_string()),
    };
    let prefix = match message.get("prefix") {
        Some(Json::Str(prefix)) => prefix.to_string(),
        None | Some(Json::Null) => String::new(),
        Some(other) => return Err(format!("\"message.prefix\" is {}, not a string", other.kind())),
    };
    let content = match message.get("content") {
        Some(Json::Str(content)) => {
            decode_base64(content).map_err(|e| format!("\"message.content\": {e}"))?
        }
        None | Some(Json::Null) => Vec::new(),
        Some(other) => return Err(format!("\"message.content\" is {}, not base64", other.kind())),
    };
    Ok(LogicalMessage {
        transactional: source::has_txid(source_block),
        prefix,
        content,
    })
}
