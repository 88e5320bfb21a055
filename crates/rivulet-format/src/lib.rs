//! Encodings of change events at the edge: the Debezium JSON encoder, and its inverse.
//!
//! Rivulet promises users migrating from Debezium 3.6 the *same* records: the key and value JSON
//! that Kafka Connect's `JsonConverter` writes with `schemas.enable=false`, on the same topics.
//! This crate turns a [`rivulet_core::ChangeEvent`] into those bytes, writing straight into the
//! caller's buffer (it is the hot path: no intermediate JSON tree, no per-field allocation).
//!
//! ```text
//!  ChangeEvent ──▶ DebeziumEncoder ──┬─ topic()       "<prefix>.<schema>.<table>" (cached per table)
//!   (row, schema,     │              ├─ write_key()   {"id":1} | null
//!    source meta)     │              ├─ write_value() {"before":…,"after":…,"source":{…},"op":"c",…}
//!                     │              └─ write_jsonl() {"topic":…,"key":…,"value":…}\n (+ tombstone)
//!                     ▼
//!   TablePlan (per Arc<TableSchema>): topic, pre-escaped field names, one ColumnEncoding per column
//!                     │
//!                     ▼
//!   column_encoding ─▶ java_number (Double/Float.toString), decimal (BigInteger bytes),
//!                      temporal (epoch units, ISO strings), bits, json_text (Jackson escaping)
//! ```
//!
//! The rules (which Debezium logical type each PostgreSQL type becomes, fallbacks for NULLs in
//! NOT NULL columns, unchanged-TOAST placeholders, ...) were taken from Debezium 3.6 output on the
//! conformance cases in `tests/conformance/cases/` and are listed in the module docs where they
//! are implemented.
//!
//! [`DebeziumDecoder`] reads such records back (from Rivulet or from Debezium 3.x, with or
//! without Kafka Connect schemas) into `ChangeEvent`s with typed rows, keeping each record's
//! bytes so forwarding sinks write it unchanged; see `decode.rs` for what it can and cannot type.
//!
//! `source.version` is [`CONNECTOR_VERSION`], Rivulet's own version, not Debezium's: consumers
//! can tell the producer apart, and conformance comparisons ignore the field.

mod binary;
mod bits;
mod column_encoding;
mod decimal;
mod decode;
mod envelope;
mod geometry;
mod hstore;
mod java_hash;
mod java_number;
mod json_text;
mod name_uuid;
mod record;
mod settings;
mod temporal;
mod topic;

pub use decode::{DebeziumDecoder, DecodeError};
pub use envelope::DebeziumEncoder;
pub use record::{EncodedRecord, EncodedRecords, RecordEncoder, records_to_jsonl};
pub use settings::{
    BinaryHandling, DebeziumSettings, DecimalHandling, HstoreHandling, IntervalHandling, TimePrecisionMode,
    UnchangedToast,
};

/// What Rivulet writes in `source.version` (Debezium writes e.g. `3.6.3.Final` there).
pub const CONNECTOR_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Java-compatible number spellings, exposed for other encoders that must match Kafka Connect.
pub mod java {
    pub use crate::java_number::{double_to_string, float_to_string};
}
