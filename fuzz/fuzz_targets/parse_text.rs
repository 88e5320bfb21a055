//! Any text parsed as any type yields a value or an error, never a panic. The first byte picks
//! the type (scalars, their arrays, and a two-level array), the rest is the text.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rivulet_core::PgType;
use rivulet_pgoutput::parse_text;

fn scalar(n: u8) -> PgType {
    match n % 24 {
        0 => PgType::Bool,
        1 => PgType::Int2,
        2 => PgType::Int4,
        3 => PgType::Int8,
        4 => PgType::Oid,
        5 => PgType::Float4,
        6 => PgType::Float8,
        7 => PgType::Numeric {
            precision: None,
            scale: None,
        },
        8 => PgType::Money,
        9 => PgType::Text,
        10 => PgType::Bytea,
        11 => PgType::Date,
        12 => PgType::Time { precision: None },
        13 => PgType::TimeTz { precision: None },
        14 => PgType::Timestamp { precision: None },
        15 => PgType::TimestampTz { precision: None },
        16 => PgType::Interval,
        17 => PgType::Uuid,
        18 => PgType::Jsonb,
        19 => PgType::Bit { length: None },
        20 => PgType::Enum { name: "e".into() },
        21 => PgType::Other { name: "box".into() },
        22 => PgType::Char { length: Some(1) },
        _ => PgType::Other { name: "point".into() },
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, text)) = data.split_first() else {
        return;
    };
    let ty = match selector / 64 {
        0 | 1 => scalar(selector),
        2 => PgType::Array(Box::new(scalar(selector))),
        _ => PgType::Array(Box::new(PgType::Array(Box::new(scalar(selector))))),
    };
    let _ = parse_text(&ty, text);
});
