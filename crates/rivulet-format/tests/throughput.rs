//! Encoding throughput on a 13-column row like the anchors' bench table (`bench.orders`).
//! Ignored by default; run with
//! `cargo test -p rivulet-format --release --test throughput -- --ignored --nocapture`.

mod common;

use std::time::Instant;

use common::*;
use rivulet_core::PgType;
use rivulet_format::{DebeziumEncoder, DecimalHandling};

#[test]
#[ignore = "benchmark"]
fn encodes_well_over_200k_events_per_second() {
    let orders = table(
        "bench",
        "orders",
        vec![
            req("id", PgType::Int8),
            col("customer_id", PgType::Int4),
            col("quantity", PgType::Int8),
            col("amount", numeric(12, 2)),
            col("status", PgType::Text),
            col("note", PgType::Varchar { length: Some(200) }),
            col("paid", PgType::Bool),
            col("created_at", PgType::TimestampTz { precision: None }),
            col("ship_date", PgType::Date),
            col("attrs", PgType::Jsonb),
            col("ref", PgType::Uuid),
            col("score", PgType::Float8),
            col("comment", PgType::Text),
        ],
        &["id"],
    );
    let events: Vec<_> = (0..1000)
        .map(|i| {
            insert(
                &orders,
                vec![
                    i8(i),
                    i4(i as i32 % 1000),
                    i8(i * 7),
                    num(&format!("{}.{:02}", i * 3, i % 100)),
                    t("shipped"),
                    t("a note about the order"),
                    b(i % 2 == 0),
                    tstz(2024, 6, 30, 12, 0, 0, i * 1000),
                    date(2024, 7, 1),
                    t(r#"{"k": 1, "tags": ["a", "b"]}"#),
                    t("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
                    f8(i as f64 * 0.25),
                    t("comment with \"quotes\" and ünïcode"),
                ],
            )
        })
        .collect();
    for mode in [
        DecimalHandling::Precise,
        DecimalHandling::String,
        DecimalHandling::Double,
    ] {
        let mut encoder = DebeziumEncoder::new(settings(mode));
        let mut out = Vec::with_capacity(4 << 20);
        let rounds = 300;
        let start = Instant::now();
        for _ in 0..rounds {
            out.clear();
            for e in &events {
                encoder.write_jsonl(e, &mut out);
            }
        }
        let secs = start.elapsed().as_secs_f64();
        let rate = (rounds * events.len()) as f64 / secs;
        println!(
            "{mode:?}: {rate:.0} events/s, {} bytes per event",
            out.len() / events.len()
        );
        assert!(rate > 200_000.0 || cfg!(debug_assertions), "{rate:.0} events/s");
    }
}
