//! Debezium conformance: each case in `tests/conformance/cases/*.sql` is run against a real
//! PostgreSQL and Rivulet's events must equal, record for record, what Debezium 3.6.3 emitted
//! for the same SQL (`<case>.debezium.jsonl`, recorded with `../shared/anchors/conform.sh` by
//! `conformance/record.sh`). Fields that differ between any two runs are left out on both sides,
//! as the anchors' normalize.py does, plus `source.version`.
//! Cases marked `-- @strict-only` need connector properties only `rivulet run --debezium`
//! understands; conformance/run-all.sh runs them against live Debezium instead.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use common::*;
use rivulet_testkit::PgCluster;
use serde_json::Value;

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance/cases")
}

fn normalize(mut record: Value) -> Value {
    if let Some(value) = record.get_mut("value").and_then(Value::as_object_mut) {
        for k in ["ts_ms", "ts_us", "ts_ns"] {
            value.remove(k);
        }
        if let Some(source) = value.get_mut("source").and_then(Value::as_object_mut) {
            for k in [
                "ts_ms", "ts_us", "ts_ns", "txId", "lsn", "sequence", "xmin", "version",
            ] {
                source.remove(k);
            }
        }
    }
    record
}

/// JSON equality, except that a float4 may be spelled differently: the oracle ran on JDK 17,
/// whose Float.toString is not always the shortest spelling (`1.17549435E-38`); Rivulet
/// follows JDK 19+ (`1.1754944E-38`). Both are the same float4.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same(v, w)),
        (Value::Number(x), Value::Number(y)) if x != y => match (x.as_f64(), y.as_f64()) {
            (Some(p), Some(q)) if !x.is_i64() && !y.is_i64() => {
                let shortest_f32 = |v: f64| (v as f32).to_string().parse::<f64>().ok() == Some(v);
                p as f32 == q as f32 && (shortest_f32(p) || shortest_f32(q))
            }
            _ => false,
        },
        _ => a == b,
    }
}

/// Maps the case's `-- @set` Debezium properties to Rivulet settings.
fn settings(sql: &str) -> Vec<String> {
    let mut sets = Vec::new();
    let mut skipped = None;
    // The anchors' Debezium runner defaults to decimal.handling.mode=string (Debezium's own
    // default, like Rivulet's, is precise).
    if !sql.contains("-- @set decimal.handling.mode=") {
        sets.push("format.decimal_handling=string".to_string());
    }
    // Debezium drops columns of types it has no converter for unless told otherwise; Rivulet
    // keeps them by default.
    if !sql.contains("-- @set include.unknown.datatypes=") {
        sets.push("format.include_unknown_datatypes=false".to_string());
    }
    for line in sql.lines() {
        let Some(kv) = line.strip_prefix("-- @set ") else {
            continue;
        };
        let (k, v) = kv.trim().split_once('=').expect("key=value");
        match k {
            "decimal.handling.mode" => sets.push(format!("format.decimal_handling={v}")),
            "tombstones.on.delete" => sets.push(format!("format.tombstones_on_delete={v}")),
            "unavailable.value.placeholder" => {
                sets.push(format!("format.unavailable_value_placeholder=\"{v}\""));
            }
            "skipped.operations" => skipped = Some(v.to_string()),
            "time.precision.mode" => sets.push(format!("format.time_precision_mode=\"{v}\"")),
            "binary.handling.mode" => sets.push(format!("format.binary_handling=\"{v}\"")),
            "interval.handling.mode" => sets.push(format!("format.interval_handling=\"{v}\"")),
            "hstore.handling.mode" => sets.push(format!("format.hstore_handling=\"{v}\"")),
            "include.unknown.datatypes" => sets.push(format!("format.include_unknown_datatypes={v}")),
            // Kafka Connect's JsonConverter setting, passed to the engine's value converter.
            "value.converter.replace.null.with.default" => sets.push(format!("format.null_as_default={v}")),
            "provide.transaction.metadata" => sets.push(format!("source.provide_transaction_metadata={v}")),
            other => panic!("the conformance test does not map Debezium property {other} yet"),
        }
    }
    // Debezium skips truncates unless told otherwise; Rivulet captures everything by default.
    let skipped = skipped.unwrap_or_else(|| "t".into());
    let list: Vec<String> = if skipped == "none" {
        vec![]
    } else {
        skipped.split(',').map(|s| format!("\"{}\"", s.trim())).collect()
    };
    sets.push(format!("source.skipped_operations=[{}]", list.join(",")));
    sets
}

fn run_case(name: &str, sql_path: &Path) {
    let sql = std::fs::read_to_string(sql_path).unwrap();
    let (setup, changes) = sql.split_once("\n-- @changes").expect("a '-- @changes' line");
    let expected: Vec<Value> = read_jsonl(&cases_dir().join(format!("{name}.debezium.jsonl")));

    let pg = PgCluster::start();
    // A "-- @snapshot" case is run whole and then snapshotted (initial_only); the others are
    // captured from the slot as they run.
    let snapshot = sql.lines().any(|l| l.trim() == "-- @snapshot");
    if snapshot {
        pg.psql_script(&sql);
        pg.psql("CREATE PUBLICATION conform_pub FOR ALL TABLES");
    } else {
        pg.psql_script(setup);
        pg.psql("CREATE PUBLICATION conform_pub FOR ALL TABLES");
        pg.psql("SELECT pg_create_logical_replication_slot('rivulet_test', 'pgoutput')");
        pg.psql_script(changes);
    }
    let schemas = pg.psql(
        "SELECT string_agg(quote_ident(nspname) || '.*', ',') FROM pg_namespace \
         WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'",
    );
    let dir = scratch();
    let config = write_pipeline(&pg, dir.path(), &[], "", "");
    let mut args: Vec<String> = vec![
        "--set".into(),
        format!("source.tables={schemas}"),
        "--set".into(),
        "source.publication=conform_pub".into(),
    ];
    for s in settings(&sql) {
        args.push("--set".into());
        args.push(s);
    }
    if snapshot {
        args.push("--set".into());
        args.push("source.snapshot=initial_only".into());
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    run_to_end(&pg, &config, &refs);

    let got: Vec<Value> = read_jsonl(&dir.path().join("out.jsonl"))
        .into_iter()
        .map(normalize)
        .collect();
    let expected: Vec<Value> = expected.into_iter().map(normalize).collect();
    for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
        assert!(
            same(g, e),
            "case {name}: record {} differs\n rivulet:  {g}\n debezium: {e}",
            i + 1
        );
    }
    assert_eq!(
        got.len(),
        expected.len(),
        "case {name}: {} records from Rivulet, {} from Debezium",
        got.len(),
        expected.len()
    );
}

macro_rules! case {
    ($name:ident) => {
        #[test]
        fn $name() {
            let name = stringify!($name);
            run_case(name, &cases_dir().join(format!("{name}.sql")));
        }
    };
}

case!(core);
case!(types_string);
case!(types_precise);
case!(types_double);
case!(temporal);
case!(arrays);
case!(toast);
case!(toast_string);
case!(snapshot);
case!(time_adaptive);
case!(time_adaptive_micro);
case!(time_connect);
case!(time_isostring);
case!(time_microseconds);
case!(time_nanoseconds);
case!(binary_bytes);
case!(binary_base64);
case!(binary_base64_url);
case!(binary_hex);
case!(interval_string);
case!(hstore_json);
case!(hstore_map);
case!(unknown_dropped);
case!(unknown_included);
case!(defaults);
case!(defaults_precise);
case!(defaults_keep_null);
case!(defaults_connect);
case!(point);
case!(ranges);
case!(text_search);
case!(ltree_citext_isbn);
case!(network);
case!(enums_domains);
case!(arrays_more);
case!(generated_identity);
case!(identifiers);
case!(replica_identity);
case!(partitions);
case!(partitions_root);
case!(interleaved);
case!(snapshot_types);

/// The anchors' own sample lives outside the project: run it when `../shared/anchors` is there.
#[test]
fn anchors_sample() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/anchors/conform/sample.sql");
    if !sample.exists() {
        println!(
            "skipped: {} is absent (the anchors are not checked out next to the project)",
            sample.display()
        );
        return;
    }
    run_case("sample", &sample);
}

#[test]
fn every_case_has_a_test_and_a_recorded_oracle() {
    let this =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance.rs")).unwrap();
    for entry in std::fs::read_dir(cases_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "sql") {
            let name = path.file_stem().unwrap().to_str().unwrap().to_string();
            // Cases for connector properties only `rivulet run --debezium` takes (column rules,
            // transaction ids) run in conformance/run-all.sh alone, against live Debezium.
            if std::fs::read_to_string(&path)
                .unwrap()
                .contains("\n-- @strict-only")
            {
                continue;
            }
            assert!(
                this.contains(&format!("case!({name});")),
                "case {name} has no test in conformance.rs"
            );
            assert!(
                cases_dir().join(format!("{name}.debezium.jsonl")).exists(),
                "case {name} has no recorded Debezium output (run conformance/record.sh {name})"
            );
        }
    }
}
