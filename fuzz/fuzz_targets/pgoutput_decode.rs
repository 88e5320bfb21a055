//! Any bytes given to the pgoutput decoder yield a message or an error, never a panic; decoded
//! text values are then parsed as every type, which must not panic either.

#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use rivulet_core::PgType;
use rivulet_pgoutput::{PgOutputMessage, TupleValue, decode, parse_text};

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = decode(Bytes::copy_from_slice(data)) else {
        return;
    };
    let tuples = match &msg {
        PgOutputMessage::Insert { new, .. } => vec![new],
        PgOutputMessage::Update { old, new, .. } => old.iter().map(|o| o.tuple()).chain([new]).collect(),
        PgOutputMessage::Delete { old, .. } => vec![old.tuple()],
        _ => vec![],
    };
    let types = [
        PgType::Timestamp { precision: None },
        PgType::Interval,
        PgType::Numeric {
            precision: None,
            scale: None,
        },
        PgType::Array(Box::new(PgType::Text)),
    ];
    for value in tuples.into_iter().flat_map(|t| t.iter()) {
        if let TupleValue::Text(text) = value {
            for ty in &types {
                let _ = parse_text(ty, text);
            }
        }
    }
});
