//! Understanding what PostgreSQL sends over logical replication: the pgoutput protocol
//! (version 1) and the text format of column values. Pure code, no I/O.
//!
//! ```text
//!  XLogData payload ──decode()──▶ PgOutputMessage::Insert { new: TupleData([Text(b"42"), Null]) }
//!                                                                  │
//!  Relation column (type OID, typmod) ──builtin_type()──▶ PgType ──┴─parse_text()──▶ Value
//! ```
//!
//! The connection that produces the messages must run with the session settings the parsers
//! assume: `DateStyle=ISO`, `IntervalStyle=postgres`, `TimeZone=UTC`, `extra_float_digits=3`,
//! `bytea_output=hex`, `lc_monetary=C`, `client_encoding=UTF8`.

pub mod decode;
pub mod types;

pub use decode::{
    DecodeError, DecodeErrorKind, OldTuple, PG_EPOCH_OFFSET_US, PgOutputMessage, Relation, RelationColumn,
    TupleData, TupleValue, decode,
};
pub use types::{ValueError, builtin_type, parse_array_text, parse_text, render, text_param, type_name};

use rivulet_core::{PgType, Value};

/// Turns one column of a decoded tuple into a [`Value`]: `Null` and unchanged TOAST values map
/// to [`Value::Null`] and [`Value::Unchanged`], text is parsed with [`parse_text`]. Binary values
/// are an error, since Rivulet never asks for the `binary` option.
pub fn parse_tuple_value(ty: &PgType, value: &TupleValue) -> Result<Value, ValueError> {
    match value {
        TupleValue::Null => Ok(Value::Null),
        TupleValue::UnchangedToast => Ok(Value::Unchanged),
        TupleValue::Text(text) => parse_text(ty, text),
        TupleValue::Binary(bytes) => Err(ValueError::new(
            ty,
            "binary-format value, but Rivulet does not request the binary option",
            bytes,
        )),
    }
}
