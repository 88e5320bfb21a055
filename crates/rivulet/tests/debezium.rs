//! `rivulet run --debezium`: a Debezium connector configuration, unchanged, against a real
//! PostgreSQL — Debezium's defaults, include/exclude lists, overrides, transaction metadata,
//! heartbeats, and one-line errors for what Rivulet does not support.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use common::*;
use rivulet_testkit::PgCluster;
use serde_json::{Value, json};

fn connector(pg: &PgCluster, extra: &Value) -> Value {
    let mut config = json!({
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
        "database.hostname": "127.0.0.1",
        "database.port": pg.port(),
        "database.user": "postgres",
        "database.dbname": "postgres",
        "topic.prefix": "inv",
        "plugin.name": "pgoutput",
        "tasks.max": "1"
    });
    for (k, v) in extra.as_object().unwrap() {
        config[k] = v.clone();
    }
    json!({"name": "inventory-connector", "config": config})
}

fn run_debezium(pg: &PgCluster, file: &Path, args: &[&str]) -> Output {
    let endpos = pg.current_lsn();
    let mut all = vec!["run", "--debezium", file.to_str().unwrap(), "--endpos", &endpos];
    all.extend_from_slice(args);
    command(&all).output().unwrap()
}

fn ok(out: &Output) -> String {
    let log = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "rivulet failed ({}):\n{log}", out.status);
    log
}

#[test]
fn a_connect_json_config_runs_with_debezium_defaults() {
    let pg = PgCluster::start();
    pg.psql_script(
        "CREATE SCHEMA other;
         CREATE TABLE public.customers (id int PRIMARY KEY, name text NOT NULL);
         CREATE TABLE public.orders (id int PRIMARY KEY, customer int);
         CREATE TABLE other.audit (id int PRIMARY KEY, what text);
         INSERT INTO customers VALUES (1, 'Ann');
         INSERT INTO orders VALUES (1, 1);
         INSERT INTO other.audit VALUES (1, 'seed');",
    );
    let dir = scratch();
    let file = dir.path().join("connector.json");
    let offsets = dir.path().join("offsets.dat");
    let config = connector(
        &pg,
        &json!({
            "table.exclude.list": "public\\.ord.*",
            "offset.storage.file.filename": offsets.display().to_string(),
            "max.batch.size": 2048
        }),
    );
    std::fs::write(&file, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    let out_path = dir.path().join("out.jsonl");
    let jsonl = out_path.to_str().unwrap();

    // First run: Debezium's default snapshot.mode=initial reads the existing rows.
    let log = ok(&run_debezium(&pg, &file, &["--jsonl", jsonl]));
    assert!(log.contains("tasks.max is ignored"), "{log}");
    assert!(log.contains("max.batch.size is ignored"), "{log}");
    // Debezium's names and publication.autocreate.mode=all_tables.
    assert_eq!(
        pg.psql("SELECT puballtables FROM pg_publication WHERE pubname = 'dbz_publication'"),
        "t"
    );
    assert_eq!(
        pg.psql("SELECT plugin FROM pg_replication_slots WHERE slot_name = 'debezium'"),
        "pgoutput"
    );
    assert!(
        offsets.exists(),
        "offsets go where offset.storage.file.filename says"
    );
    let records = read_jsonl(&out_path);
    let mut got: Vec<(String, String)> = summary(&records).into_iter().map(|(t, o, _)| (t, o)).collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("inv.other.audit".to_string(), "r".to_string()),
            ("inv.public.customers".to_string(), "r".to_string()),
        ],
        "every table but the excluded one is snapshotted"
    );

    // Streaming: truncates are skipped (Debezium's skipped.operations=t), excluded tables too.
    pg.psql_script(
        "INSERT INTO customers VALUES (2, 'Bob');
         INSERT INTO orders VALUES (2, 2);
         TRUNCATE other.audit;
         DELETE FROM customers WHERE id = 1;",
    );
    ok(&run_debezium(&pg, &file, &["--jsonl", jsonl]));
    let records = read_jsonl(&out_path);
    let streamed: Vec<(String, String, Value)> = summary(&records).into_iter().skip(2).collect();
    assert_eq!(
        streamed,
        vec![
            ("inv.public.customers".into(), "c".into(), json!({"id": 2})),
            ("inv.public.customers".into(), "d".into(), json!({"id": 1})),
            (
                "inv.public.customers".into(),
                "tombstone".into(),
                json!({"id": 1})
            ),
        ],
        "the excluded table and the truncate are not captured"
    );
    // A delete's `before` under the default replica identity: Debezium's NOT NULL fill.
    assert_eq!(records[3]["value"]["before"], json!({"id": 1, "name": ""}));
    assert_eq!(records[3]["value"]["source"]["name"], "inv");
}

#[test]
fn a_properties_file_with_overrides_and_transaction_metadata() {
    let pg = PgCluster::start();
    pg.psql_script("CREATE TABLE public.items (id int PRIMARY KEY, qty int, price numeric(8,2));");
    let dir = scratch();
    let file = dir.path().join("connector.properties");
    std::fs::write(
        &file,
        format!(
            "# a Debezium Server style file\n\
             connector.class=io.debezium.connector.postgresql.PostgresConnector\n\
             database.hostname=127.0.0.1\n\
             database.port={port}\n\
             database.user=postgres\n\
             database.password=${{env:RIVULET_TEST_PGPASSWORD}}\n\
             database.dbname=postgres\n\
             topic.prefix=shop\n\
             plugin.name=pgoutput\n\
             slot.name=shop_slot\n\
             publication.name=shop_pub\n\
             publication.autocreate.mode=filtered\n\
             table.include.list=public.items\n\
             snapshot.mode=never\n\
             skipped.operations=none\n\
             provide.transaction.metadata=true\n\
             decimal.handling.mode=double\n\
             offset.storage.file.filename={offsets}\n",
            port = pg.port(),
            offsets = dir.path().join("offsets").display()
        ),
    )
    .unwrap();
    let out_path = dir.path().join("out.jsonl");
    let jsonl = out_path.to_str().unwrap();
    let endpos = pg.current_lsn();
    let first = command(&[
        "run",
        "--debezium",
        file.to_str().unwrap(),
        "--jsonl",
        jsonl,
        "--endpos",
        &endpos,
        "--set",
        "tombstones.on.delete=false",
    ])
    .env("RIVULET_TEST_PGPASSWORD", "unused-with-trust-auth")
    .output()
    .unwrap();
    ok(&first);
    assert_eq!(
        pg.psql("SELECT string_agg(tablename, ',') FROM pg_publication_tables WHERE pubname = 'shop_pub'"),
        "items",
        "publication.autocreate.mode=filtered publishes the captured tables only"
    );
    pg.psql_script(
        "BEGIN; INSERT INTO items VALUES (1, 5, 2.50), (2, 1, 9.99); DELETE FROM items WHERE id = 2; COMMIT;
         TRUNCATE items;",
    );
    let endpos = pg.current_lsn();
    let second = command(&[
        "run",
        "--debezium",
        file.to_str().unwrap(),
        "--jsonl",
        jsonl,
        "--endpos",
        &endpos,
        "--set",
        "tombstones.on.delete=false",
    ])
    .env("RIVULET_TEST_PGPASSWORD", "unused-with-trust-auth")
    .output()
    .unwrap();
    ok(&second);
    let records = read_jsonl(&out_path);
    let shape: Vec<(String, String)> = records
        .iter()
        .map(|r| {
            let v = &r["value"];
            let what = v["op"]
                .as_str()
                .or(v["status"].as_str())
                .unwrap_or("?")
                .to_string();
            (r["topic"].as_str().unwrap().to_string(), what)
        })
        .collect();
    let expect = |t: &str, w: &str| (t.to_string(), w.to_string());
    assert_eq!(
        shape,
        vec![
            expect("shop.transaction", "BEGIN"),
            expect("shop.public.items", "c"),
            expect("shop.public.items", "c"),
            expect("shop.public.items", "d"),
            expect("shop.transaction", "END"),
            expect("shop.transaction", "BEGIN"),
            expect("shop.public.items", "t"),
            expect("shop.transaction", "END"),
        ],
        "transaction records, no tombstones (--set), the truncate kept (skipped.operations=none)"
    );
    let begin = &records[0]["value"];
    let end = &records[4]["value"];
    // Debezium's ids are "<xid>:<lsn at the record>": same xid, BEGIN at the first event's LSN.
    let xid = |v: &serde_json::Value| v["id"].as_str().unwrap().split(':').next().unwrap().to_string();
    assert_eq!(xid(begin), xid(end));
    assert_eq!(
        begin["id"],
        format!("{}:{}", xid(begin), records[1]["value"]["source"]["lsn"])
    );
    assert_eq!(end["event_count"], 3);
    assert_eq!(
        end["data_collections"],
        json!([{"data_collection": "public.items", "event_count": 3}])
    );
    let row = &records[1]["value"];
    assert_eq!(row["after"]["price"], json!(2.5), "decimal.handling.mode=double");
    assert_eq!(row["transaction"]["id"], begin["id"]);
    assert_eq!(row["transaction"]["total_order"], 1);
    assert_eq!(records[3]["value"]["transaction"]["total_order"], 3);
}

#[test]
fn heartbeats_arrive_while_nothing_changes() {
    let pg = PgCluster::start();
    pg.psql_script("CREATE TABLE public.t (id int PRIMARY KEY);");
    let dir = scratch();
    let file = dir.path().join("c.json");
    let config = connector(
        &pg,
        &json!({
            "snapshot.mode": "no_data",
            "heartbeat.interval.ms": "200",
            "offset.storage.file.filename": dir.path().join("offsets").display().to_string()
        }),
    );
    std::fs::write(&file, config.to_string()).unwrap();
    let out_path = dir.path().join("out.jsonl");
    let mut child = command(&[
        "run",
        "--debezium",
        file.to_str().unwrap(),
        "--jsonl",
        out_path.to_str().unwrap(),
    ])
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    wait_for("three heartbeats", Duration::from_secs(60), || {
        read_jsonl(&out_path).len() >= 3
    });
    // A table created while running is captured too: no include list means every table.
    pg.psql_script("INSERT INTO t VALUES (1); CREATE TABLE public.later (id int PRIMARY KEY); INSERT INTO later VALUES (7);");
    wait_for("the inserts", Duration::from_secs(60), || {
        read_jsonl(&out_path)
            .iter()
            .any(|r| r["topic"] == "inv.public.later" && r["value"]["op"] == "c")
    });
    signal(&child, "TERM");
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    let records = read_jsonl(&out_path);
    let heartbeat = &records[0];
    assert_eq!(heartbeat["topic"], "__debezium-heartbeat.inv");
    assert_eq!(heartbeat["key"], json!({"serverName": "inv"}));
    assert!(heartbeat["value"]["ts_ms"].as_u64().unwrap() > 1_700_000_000_000);
}

#[test]
fn a_sink_file_chooses_any_sink() {
    let pg = PgCluster::start();
    pg.psql_script("CREATE TABLE public.t (id int PRIMARY KEY); INSERT INTO t VALUES (1);");
    let dir = scratch();
    let file = dir.path().join("c.json");
    let config = connector(
        &pg,
        &json!({"offset.storage.file.filename": dir.path().join("offsets").display().to_string()}),
    );
    std::fs::write(&file, config["config"].to_string()).unwrap();
    let sink = dir.path().join("sink.toml");
    let out_path = dir.path().join("elsewhere.jsonl");
    std::fs::write(
        &sink,
        format!("[sink]\ntype = \"jsonl\"\npath = \"{}\"\n", out_path.display()),
    )
    .unwrap();
    ok(&run_debezium(
        &pg,
        &file,
        &["--sink-config", sink.to_str().unwrap()],
    ));
    let records = read_jsonl(&out_path);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["value"]["op"], "r");

    std::fs::write(&sink, "[sink]\ntype = \"jsonl\"\npathh = \"x\"\n").unwrap();
    let out = run_debezium(&pg, &file, &["--sink-config", sink.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("sink.toml:3: unknown key `sink.pathh`"), "{err}");
}

#[test]
fn what_rivulet_cannot_honour_is_a_one_line_error() {
    let pg = PgCluster::start();
    let dir = scratch();
    let file = dir.path().join("c.json");
    let cases: Vec<(Value, Vec<&str>, &str)> = vec![
        (
            json!({"snapshot.mode": "always"}),
            vec!["--jsonl", "x.jsonl"],
            "snapshot.mode \"always\" is not supported",
        ),
        (
            json!({"plugin.name": "decoderbufs"}),
            vec!["--jsonl", "x.jsonl"],
            "plugin.name \"decoderbufs\"",
        ),
        (
            json!({"database.hostnme": "x"}),
            vec!["--jsonl", "x.jsonl"],
            "property `database.hostnme`",
        ),
        (
            json!({"signal.data.collection": "public.s"}),
            vec!["--jsonl", "x.jsonl"],
            "signals and incremental snapshots",
        ),
        (
            json!({"value.converter": "io.confluent.connect.avro.AvroConverter"}),
            vec!["--jsonl", "x.jsonl"],
            "value.converter",
        ),
        (json!({}), vec![], "no sink"),
    ];
    for (extra, args, expected) in cases {
        std::fs::write(&file, connector(&pg, &extra).to_string()).unwrap();
        let out = run_debezium(&pg, &file, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra}: {err}");
        assert!(err.contains(expected), "{extra}: expected {expected:?} in {err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert!(err.starts_with("error: "), "{err}");
    }
    assert_eq!(
        pg.psql("SELECT count(*) FROM pg_replication_slots"),
        "0",
        "nothing was created"
    );
}

#[test]
fn column_rules_and_smts_from_the_connector_config() {
    let pg = PgCluster::start();
    pg.psql_script(
        "CREATE TABLE public.customers (id int PRIMARY KEY, email text, ssn text, name text NOT NULL, tenant int);",
    );
    let dir = scratch();
    let file = dir.path().join("c.json");
    let config = connector(
        &pg,
        &json!({
            "snapshot.mode": "no_data",
            "offset.storage.file.filename": dir.path().join("offsets").display().to_string(),
            "column.exclude.list": "public\\.customers\\.ssn",
            "column.mask.with.4.chars": "public.customers.name",
            "message.key.columns": "public.customers:tenant,id",
            "transforms": "unwrap,route",
            "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
            "transforms.unwrap.add.fields": "op",
            "transforms.route.type": "org.apache.kafka.connect.transforms.RegexRouter",
            "transforms.route.regex": "inv\\.public\\.(.*)",
            "transforms.route.replacement": "cdc.$1"
        }),
    );
    std::fs::write(&file, config.to_string()).unwrap();
    let out_path = dir.path().join("out.jsonl");
    let jsonl = out_path.to_str().unwrap();
    ok(&run_debezium(&pg, &file, &["--jsonl", jsonl]));
    pg.psql("INSERT INTO customers VALUES (1, 'a@example.com', '123-45-6789', 'Ann', 7)");
    ok(&run_debezium(&pg, &file, &["--jsonl", jsonl]));
    let records = read_jsonl(&out_path);
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["topic"], "cdc.customers");
    assert_eq!(records[0]["key"], json!({"tenant": 7, "id": 1}));
    let line = std::fs::read_to_string(&out_path).unwrap();
    assert!(
        line.contains(r#""value":{"id":1,"email":"a@example.com","name":"****","tenant":7,"__op":"c"}"#),
        "the flattened row, ssn excluded, name masked, fields in column order: {line}"
    );

    // A class Rivulet does not implement is named, before anything runs.
    let mut bad = config;
    bad["config"]["transforms.route.type"] = json!("com.example.MyTransform");
    std::fs::write(&file, bad.to_string()).unwrap();
    let out = run_debezium(&pg, &file, &["--jsonl", jsonl]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("com.example.MyTransform"), "{err}");
}

#[test]
fn transforms_in_a_pipeline_file() {
    let pg = PgCluster::start();
    pg.psql_script("CREATE TABLE public.items (id int PRIMARY KEY, secret text, qty int);");
    let dir = scratch();
    let config = write_pipeline(
        &pg,
        dir.path(),
        &["public.items"],
        "",
        r#"
[[transform]]
type = "columns"
exclude = ["public\\.items\\.secret"]

[[transform]]
type = "unwrap"
delete_tombstone_handling_mode = "rewrite"
"#,
    );
    run_to_end(&pg, &config, &[]);
    pg.psql_script("INSERT INTO items VALUES (1, 's', 2); DELETE FROM items;");
    run_to_end(&pg, &config, &[]);
    let records = read_jsonl(&dir.path().join("out.jsonl"));
    let values: Vec<Value> = records.iter().map(|r| r["value"].clone()).collect();
    assert_eq!(
        values,
        vec![
            json!({"id": 1, "qty": 2, "__deleted": "false"}),
            json!({"id": 1, "qty": null, "__deleted": "true"}),
        ],
        "rewrite mode: deletes become rows marked __deleted, tombstones are dropped"
    );

    let bad = std::fs::read_to_string(&config)
        .unwrap()
        .replace("delete_tombstone_handling_mode", "delete_tombstone_handling");
    std::fs::write(&config, bad).unwrap();
    let out = command(&["run", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("delete_tombstone_handling"), "{err}");
}
