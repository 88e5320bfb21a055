//! Conformance with Debezium 3.6 on unchanged TOAST values: `toast.sql` (precise mode, the
//! default placeholder, every placeholder shape, DEFAULT vs FULL identity) and
//! `toast_string.sql` (string mode, a custom non-ASCII placeholder, a key change of a row with
//! unchanged values).

mod common;

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::*;
use rivulet_core::{PgType, Row, TableSchema, Value};
use rivulet_format::{DebeziumSettings, DecimalHandling};

/// A golden array of strings, as `Text` values (uuid text encodes as itself).
fn golden_texts(case: &str, line: usize, image: &str, name: &str) -> Value {
    let items = golden_field(case, line, image, name);
    arr(items
        .as_array()
        .expect("array")
        .iter()
        .map(|v| t(v.as_str().expect("string")))
        .collect())
}

/// A golden array of base64 strings, decoded back to `Bytes` values.
fn golden_bytes_array(case: &str, line: usize, image: &str, name: &str) -> Value {
    let items = golden_field(case, line, image, name);
    let decode =
        |v: &serde_json::Value| bytes(&STANDARD.decode(v.as_str().expect("string")).expect("base64"));
    arr(items.as_array().expect("array").iter().map(decode).collect())
}

fn with_unchanged(mut row: Row, table: &TableSchema, columns: &[&str]) -> Row {
    for name in columns {
        row[table.column_index(name).expect("column")] = unchanged();
    }
    row
}

#[test]
fn toast_case() {
    let columns = || {
        vec![
            req("id", PgType::Int4),
            col("small", PgType::Int4),
            col("t", PgType::Text),
            col("vc", PgType::Varchar { length: Some(5000) }),
            col("raw", PgType::Bytea),
            col("js", PgType::Json),
            col("jb", PgType::Jsonb),
            col("x", PgType::Xml),
            col("n", numeric_free()),
            col("ia", array(PgType::Int4)),
            col("ba", array(PgType::Int8)),
            col("ta", array(PgType::Text)),
            col("da", array(PgType::Date)),
            col("ua", array(PgType::Uuid)),
            col("bya", array(PgType::Bytea)),
            col("i2a", array(PgType::Int2)),
            col("vb", PgType::VarBit { length: None }),
        ]
    };
    let dflt: Arc<TableSchema> = table("tst", "dflt", columns(), &["id"]);
    let full: Arc<TableSchema> = table("tst", "full_ident", columns(), &["id"]);

    let big_row = |small: i32| -> Row {
        vec![
            i4(1),
            i4(small),
            t(&"t".repeat(2500)),
            t(&"v".repeat(2500)),
            bytes(&[0x00, 0xff].repeat(1250)),
            t(&format!(r#"{{"k": "{}"}}"#, "j".repeat(2500))),
            t(&format!(r#"{{"k": "{}"}}"#, "b".repeat(2500))),
            t(&format!("<x>{}</x>", "x".repeat(2500))),
            num(&format!("{}.5", "9".repeat(7000))),
            arr((1..=700).map(i4).collect()),
            arr((1..=300).map(|g| i8(g * 1_000_000_000)).collect()),
            arr((1..=400).map(|g| t(&format!("elem{g}"))).collect()),
            arr((1..=700)
                .map(|g| Value::Date((days(2024, 1, 1) + g) as i32))
                .collect()),
            golden_texts("toast", 2, "before", "ua"),
            golden_bytes_array("toast", 2, "before", "bya"),
            arr((1..=1500).map(i2).collect()),
            t(&"10".repeat(12_000)),
        ]
    };
    let toasted = [
        "t", "vc", "raw", "js", "jb", "x", "n", "ia", "ba", "ta", "da", "ua", "bya", "i2a", "vb",
    ];
    let small_row = vec![
        i4(2),
        i4(1),
        t("small"),
        t("small"),
        hex("01"),
        t("{}"),
        t("{}"),
        t("<x/>"),
        num("1.5"),
        arr(vec![i4(1)]),
        arr(vec![i8(1)]),
        arr(vec![t("a")]),
        arr(vec![date(2024, 1, 1)]),
        arr(vec![t("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")]),
        arr(vec![hex("01")]),
        arr(vec![i2(1)]),
        t("101"),
    ];
    let set = |mut row: Row, name: &str, value: Value| {
        row[dflt.column_index(name).expect("column")] = value;
        row
    };
    let after_t_changed = set(
        with_unchanged(big_row(1), &dflt, &toasted[1..]),
        "t",
        t("now inline"),
    );
    let after_nulls = set(set(after_t_changed.clone(), "ia", null()), "ta", null());
    let events = vec![
        update(&dflt, None, with_unchanged(big_row(1), &dflt, &toasted)),
        // FULL identity: the old row is detoasted, so unchanged values come from it.
        update(
            &full,
            Some(big_row(0)),
            with_unchanged(big_row(1), &full, &toasted),
        ),
        update(&dflt, None, small_row),
        update(&dflt, None, after_t_changed),
        update(&dflt, None, after_nulls.clone()),
        update(&dflt, None, set(after_nulls, "small", i4(2))),
        delete(&dflt, key_only(&dflt, &[("id", i4(1))])),
        delete(&full, big_row(1)),
    ];
    assert_conforms("toast", settings(DecimalHandling::Precise), &events);
}

#[test]
fn toast_string_case_with_custom_placeholder() {
    let columns = || {
        vec![
            req("id", PgType::Int4),
            col("small", PgType::Int4),
            col("body", PgType::Text),
            col("n", numeric_free()),
            col("raw", PgType::Bytea),
            col("ia", array(PgType::Int4)),
            col("ba", array(PgType::Int8)),
            col("ua", array(PgType::Uuid)),
            col("jba", array(PgType::Jsonb)),
        ]
    };
    let docs = table("tst2", "docs", columns(), &["id"]);
    let docs_full = table("tst2", "docs_full", columns(), &["id"]);
    let big = |id: i32, small: i32| -> Row {
        vec![
            i4(id),
            i4(small),
            t(&"é".repeat(1500)),
            num(&format!("{}.25", "1234567890".repeat(700))),
            bytes(&[0xab, 0xcd].repeat(1250)),
            arr((1..=700).map(i4).collect()),
            arr((1..=300).map(|g| i8(-g)).collect()),
            golden_texts("toast_string", 2, "before", "ua"),
            arr((1..=300).map(|g| t(&format!(r#"{{"k": {g}}}"#))).collect()),
        ]
    };
    let toasted = ["body", "n", "raw", "ia", "ba", "ua", "jba"];
    let events = vec![
        update(&docs, None, with_unchanged(big(1, 1), &docs, &toasted)),
        update(
            &docs_full,
            Some(big(1, 0)),
            with_unchanged(big(1, 1), &docs_full, &toasted),
        ),
        // UPDATE ... SET id = 3 WHERE id = 2 under DEFAULT identity: delete (old key) + create
        // whose out-of-line values are unchanged and unknown.
        delete(&docs, key_only(&docs, &[("id", i4(2))])),
        insert(&docs, with_unchanged(big(3, 0), &docs, &toasted)),
    ];
    let settings = DebeziumSettings {
        unavailable_value_placeholder: "ünchangéd ✓".into(),
        ..settings(DecimalHandling::String)
    };
    assert_conforms("toast_string", settings, &events);
}
