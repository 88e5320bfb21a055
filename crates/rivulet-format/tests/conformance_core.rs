//! Conformance with Debezium 3.6 on the core streaming case (`core.sql`) and the anchors'
//! sample (`/work/shared/anchors/conform/sample.sql`): inserts, updates and deletes under
//! DEFAULT and FULL identity, a composite key declared out of order, a table without a key, a
//! quoted table name, a key change (delete + tombstone + create), logical decoding messages, a
//! schema change mid-stream, unchanged TOAST values and truncates. String decimal mode.

mod common;

use common::*;
use rivulet_core::PgType;
use rivulet_format::DecimalHandling;

#[test]
fn core_case() {
    let customers = table(
        "shop",
        "customers",
        vec![
            req("id", PgType::Int8),
            req("email", PgType::Varchar { length: Some(120) }),
            col("name", PgType::Text),
            req("vip", PgType::Bool),
            col("credit", numeric(10, 2)),
        ],
        &["id"],
    );
    let orders = table(
        "shop",
        "orders",
        vec![
            req("order_id", PgType::Int4),
            req("customer", PgType::Int8),
            req("placed_at", PgType::TimestampTz { precision: None }),
            req("total", numeric(12, 2)),
            col("notes", PgType::Text),
        ],
        &["order_id"],
    );
    let order_lines = table(
        "shop",
        "order_lines",
        vec![
            req("qty", PgType::Int2),
            req("line_no", PgType::Int4),
            req("order_id", PgType::Int4),
            req("sku", PgType::Char { length: Some(8) }),
        ],
        &["order_id", "line_no"],
    );
    let audit_log = table(
        "shop",
        "audit_log",
        vec![
            col("at", PgType::Timestamp { precision: Some(3) }),
            col("what", PgType::Text),
        ],
        &[],
    );
    let mixed = table(
        "public",
        "Shop Mixed",
        vec![req("Id", PgType::Int4), col("Value Col", PgType::Text)],
        &["Id"],
    );
    // After ALTER TABLE ... ADD COLUMN tier: a new schema version.
    let customers_v2 = {
        let mut schema = (*customers).clone();
        schema.columns.push(rivulet_core::Column {
            name: "tier".into(),
            type_oid: 25,
            type_modifier: -1,
            pg_type: PgType::Text,
            nullable: true,
            default: None,
            missing: None,
        });
        std::sync::Arc::new(schema)
    };

    let notes = "x".repeat(9000);
    let placed_at = tstz(2025, 1, 2, 3, 4, 5, 678_000);
    let order_row = |total: &str| vec![i4(1), i8(2), placed_at.clone(), num(total), t(&notes)];
    let line = |qty, line_no, sku: &str| vec![i2(qty), i4(line_no), i4(1), t(sku)];

    let events = vec![
        insert(
            &customers,
            vec![i8(2), t("bob@example.com"), t("Bob"), b(true), num("99999999.99")],
        ),
        insert(
            &customers,
            vec![i8(3), t("cy@example.com"), null(), b(false), null()],
        ),
        insert(&orders, order_row("12.50")),
        // FULL identity: the old row is complete; the new row's out-of-line notes is unchanged.
        update(&orders, Some(order_row("12.50")), {
            let mut row = order_row("13.00");
            row[4] = unchanged();
            row
        }),
        update(
            &customers,
            None,
            vec![i8(1), t("ann@example.com"), t("Ann B."), b(false), num("10.00")],
        ),
        insert(&order_lines, line(2, 1, "SKU-1   ")),
        insert(&order_lines, line(1, 2, "SKU-22  ")),
        update(&order_lines, None, line(5, 2, "SKU-22  ")),
        // Key change (line_no 2 -> 3), emitted by the source as delete + create.
        delete(
            &order_lines,
            key_only(&order_lines, &[("order_id", i4(1)), ("line_no", i4(2))]),
        ),
        insert(&order_lines, line(5, 3, "SKU-22  ")),
        delete(
            &order_lines,
            key_only(&order_lines, &[("order_id", i4(1)), ("line_no", i4(1))]),
        ),
        insert(&audit_log, vec![ts(2025, 1, 2, 3, 4, 5, 678_000), t("first")]),
        insert(&audit_log, vec![null(), null()]),
        insert(&mixed, vec![i4(1), t("quoted")]),
        insert(
            &customers,
            vec![i8(60), t("kept@example.com"), t("Kept"), b(false), num("2.00")],
        ),
        update(
            &customers,
            None,
            vec![i8(60), t("kept@example.com"), t("Kept"), b(true), num("2.00")],
        ),
        message(false, "audit", b"non-transactional hello"),
        message(true, "audit", "in a transaction ✓".as_bytes()),
        insert(&audit_log, vec![ts(2025, 1, 3, 0, 0, 0, 0), t("with message")]),
        delete(&customers, key_only(&customers, &[("id", i8(3))])),
        delete(&orders, order_row("13.00")),
        insert(
            &customers_v2,
            vec![
                i8(4),
                t("dee@example.com"),
                t("Dee"),
                b(false),
                num("5.50"),
                t("gold"),
            ],
        ),
        update(
            &customers_v2,
            None,
            vec![
                i8(2),
                t("bob@example.com"),
                t("Bob"),
                b(true),
                num("99999999.99"),
                t("silver"),
            ],
        ),
        truncate(&order_lines),
        truncate(&audit_log),
    ];
    assert_conforms("core", settings(DecimalHandling::String), &events);
}

#[test]
fn anchors_sample_case() {
    let items = |name: &str| {
        table(
            "conf",
            name,
            vec![
                req("id", PgType::Int4),
                req("name", PgType::Text),
                col("qty", PgType::Int4),
                col("price", numeric(10, 2)),
                col("big", PgType::Text),
            ],
            &["id"],
        )
    };
    let (dflt, full) = (items("items_default"), items("items_full"));
    let nopk = table(
        "conf",
        "events_nopk",
        vec![
            col("kind", PgType::Text),
            col("payload", PgType::Jsonb),
            col("at", PgType::TimestampTz { precision: None }),
        ],
        &[],
    );
    let types = table(
        "conf",
        "types",
        vec![
            req("id", PgType::Int8),
            col("n_fixed", numeric(12, 2)),
            col("n_free", numeric_free()),
            col("n_wide", numeric(38, 10)),
            col("ts", PgType::TimestampTz { precision: None }),
            col("ts_local", PgType::Timestamp { precision: None }),
            col("d", PgType::Date),
            col("tm", PgType::Time { precision: None }),
            col("doc", PgType::Jsonb),
            col("js", PgType::Json),
            col("int_arr", array(PgType::Int4)),
            col("text_arr", array(PgType::Text)),
            col("u", PgType::Uuid),
            col("raw", PgType::Bytea),
            col("f8", PgType::Float8),
            col("f4", PgType::Float4),
            col("flag", PgType::Bool),
            col("span", PgType::Interval),
            col("label", PgType::Varchar { length: Some(20) }),
        ],
        &["id"],
    );

    // The 10 kB value (string_agg of md5s) is text: it encodes as itself.
    let big = golden_text("sample", 2, "after", "big");
    let item = |id, name: &str, qty, price: &str, big: rivulet_core::Value| {
        vec![i4(id), t(name), i4(qty), num(price), big]
    };
    let apple = || item(1, "apple", 10, "1.25", null());
    let pear = |qty| item(2, "pear", qty, "2.50", big.clone());
    let plum = |id| item(id, "plum", 0, "0.10", t("small"));
    let with_unchanged_big = |mut row: Vec<rivulet_core::Value>| {
        row[4] = unchanged();
        row
    };
    let event_row = |kind: &str, payload: Option<&str>, at: Option<rivulet_core::Value>| {
        vec![t(kind), payload.map_or(null(), t), at.unwrap_or(null())]
    };
    let created1 = event_row(
        "created",
        Some(r#"{"id": 1, "tags": ["a", "b"]}"#),
        Some(tstz(2024, 2, 29, 12, 0, 0, 0)),
    );
    let noise = event_row("noise", None, None);
    let type_row1 = |n_fixed: &str, doc: &str, int_arr: Vec<i32>| {
        vec![
            i8(1),
            num(n_fixed),
            num("3.14159265358979323846"),
            num("12345678901234567890.0123456789"),
            tstz(2024, 6, 30, 21, 59, 59, 123_456),
            ts(2024, 6, 30, 23, 59, 59, 123_456),
            date(2024, 2, 29),
            time(13, 45, 10, 500_000),
            t(doc),
            t(r#"{"raw":  "json",  "kept": 1}"#),
            arr(int_arr.into_iter().map(i4).collect()),
            arr(vec![t("x"), t("y z"), null()]),
            t("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
            hex("deadbeef"),
            f8(1.5e300),
            f4(3.25),
            b(true),
            interval(14, 3, tod(4, 5, 6, 0)),
            t("ünïcödé ✓"),
        ]
    };

    let events = vec![
        insert(&dflt, apple()),
        insert(&dflt, pear(5)),
        insert(&dflt, plum(3)),
        insert(&full, apple()),
        insert(&full, pear(5)),
        insert(&full, plum(3)),
        update(&dflt, None, with_unchanged_big(pear(6))),
        update(&full, Some(pear(5)), with_unchanged_big(pear(6))),
        update(&dflt, None, item(100, "seed (updated)", 1, "9.99", null())),
        update(
            &full,
            Some(item(100, "seed", 1, "9.99", null())),
            item(100, "seed (updated)", 1, "9.99", null()),
        ),
        // Key changes: DEFAULT identity sends the old key only, FULL the old row.
        delete(&dflt, key_only(&dflt, &[("id", i4(3))])),
        insert(&dflt, plum(4)),
        delete(&full, plum(3)),
        insert(&full, plum(4)),
        delete(&dflt, key_only(&dflt, &[("id", i4(1))])),
        delete(&dflt, key_only(&dflt, &[("id", i4(2))])),
        delete(&full, apple()),
        delete(&full, pear(6)),
        insert(&nopk, created1.clone()),
        insert(
            &nopk,
            event_row(
                "created",
                Some(r#"{"id": 2}"#),
                Some(tstz(2024, 2, 29, 12, 0, 1, 0)),
            ),
        ),
        insert(&nopk, noise.clone()),
        insert(&dflt, item(5, "kiwi", 7, "0.99", null())),
        update(
            &nopk,
            Some(created1),
            event_row(
                "created",
                Some(r#"{"id": 1, "seen": true, "tags": ["a", "b"]}"#),
                Some(tstz(2024, 2, 29, 12, 0, 0, 0)),
            ),
        ),
        // A delete in a table without a key: Debezium still emits a tombstone (key null).
        delete(&nopk, noise),
        insert(
            &types,
            type_row1(
                "1234567890.12",
                r#"{"a": 1, "b": [true, null, 2.5], "c": {"d": "é"}}"#,
                vec![1, 2, 3],
            ),
        ),
        insert(
            &types,
            vec![
                i8(2),
                num("-0.01"),
                num("0"),
                num("0.0000000000"),
                tstz(1970, 1, 1, 0, 0, 0, 0),
                ts(1900, 1, 1, 0, 0, 0, 0),
                date(1, 1, 1),
                time(0, 0, 0, 0),
                t("[]"),
                t("null"),
                arr(vec![]),
                arr(vec![]),
                t("00000000-0000-0000-0000-000000000000"),
                bytes(b""),
                f8(0.0),
                f4(-1.5),
                b(false),
                interval(0, -3, 0),
                t(""),
            ],
        ),
        insert(&types, {
            let mut row = sparse(&types, &[("id", i8(3)), ("n_free", num("NaN"))]);
            row.truncate(19);
            row
        }),
        update(
            &types,
            None,
            type_row1(
                "2469135780.24",
                r#"{"b": [true, null, 2.5], "c": {"d": "é"}}"#,
                vec![1, 2, 3, 4],
            ),
        ),
        truncate(&nopk),
    ];
    assert_conforms("sample", settings(DecimalHandling::String), &events);
}
