//! A rough hot-path measurement, not a gate: decode the real captured Insert messages and parse
//! every column, printing nanoseconds per row and per column.
//! `cargo test --release -p rivulet-pgoutput --test throughput -- --ignored --nocapture`

// Test helpers outside #[test] functions panic on purpose too.
#![allow(clippy::unwrap_used)]

mod fixture;

use std::collections::HashMap;
use std::time::Instant;

use rivulet_core::PgType;
use rivulet_pgoutput::{PgOutputMessage, builtin_type, decode, parse_tuple_value};

#[test]
#[ignore = "measurement; run in release with --ignored --nocapture"]
fn decode_and_parse_rows() {
    let messages = fixture::fixture_messages();
    let mut types: HashMap<u32, Vec<PgType>> = HashMap::new();
    let mut enums: HashMap<u32, String> = HashMap::new();
    let mut inserts = Vec::new();
    for m in &messages {
        match decode(m.clone()).unwrap() {
            PgOutputMessage::Type { type_oid, name, .. } => {
                enums.insert(type_oid, name);
            }
            PgOutputMessage::Relation(r) => {
                let cols = r
                    .columns
                    .iter()
                    .map(|c| {
                        builtin_type(c.type_oid, c.type_modifier).unwrap_or_else(|| PgType::Enum {
                            name: enums[&c.type_oid].clone(),
                        })
                    })
                    .collect();
                types.insert(r.relation_oid, cols);
            }
            PgOutputMessage::Insert { relation_oid, .. } => inserts.push((m.clone(), relation_oid)),
            _ => {}
        }
    }
    // Skip the 10 kB TOAST row: it measures memcpy, not parsing.
    inserts.retain(|(m, _)| m.len() < 2000);
    let rounds = 200_000;
    let (mut rows, mut columns) = (0u64, 0u64);
    let start = Instant::now();
    for i in 0..rounds {
        let (data, oid) = &inserts[i % inserts.len()];
        let PgOutputMessage::Insert { new, .. } = decode(data.clone()).unwrap() else {
            unreachable!()
        };
        let row: Vec<_> = types[oid]
            .iter()
            .zip(new.iter())
            .map(|(t, v)| parse_tuple_value(t, v).unwrap())
            .collect();
        rows += 1;
        columns += row.len() as u64;
        std::hint::black_box(row);
    }
    let ns = start.elapsed().as_nanos() as f64;
    println!(
        "{rows} rows, {:.1} columns/row: {:.0} ns/row, {:.0} ns/column",
        columns as f64 / rows as f64,
        ns / rows as f64,
        ns / columns as f64
    );
}
