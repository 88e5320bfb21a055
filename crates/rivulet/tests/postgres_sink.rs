//! The PostgreSQL replica sink end to end: the real binary streams from a throwaway cluster's
//! `postgres` database into its `target` database, and the tests compare what a user would
//! compare: row counts and a checksum over every column, `md5(string_agg(t::text, …))`.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use common::*;
use rivulet_testkit::PgCluster;

const TARGET_DB: &str = "target";

/// A cluster with an empty `target` database next to the source's `postgres`.
fn cluster() -> PgCluster {
    let pg = PgCluster::start();
    pg.psql(&format!("CREATE DATABASE {TARGET_DB}"));
    pg
}

fn target(pg: &PgCluster, sql: &str) -> String {
    pg.try_psql_in(TARGET_DB, sql)
        .unwrap_or_else(|e| panic!("target query failed: {e}\n{sql}"))
}

/// A pipeline from `tables` in `postgres` to the `target` database; `sink_extra` and
/// `source_extra` are added to their sections.
fn pipeline(pg: &PgCluster, dir: &Path, tables: &[&str], source_extra: &str, sink_extra: &str) -> PathBuf {
    let tables: Vec<String> = tables.iter().map(|t| format!("\"{t}\"")).collect();
    let text = format!(
        r#"name = "replica"

[source]
type = "postgres"
url = "{src}"
tables = [{tables}]
slot = "rivulet_test"
publication = "rivulet_test"
{source_extra}

[sink]
type = "postgres"
url = "{dst}"
{sink_extra}

[offsets]
path = "{offsets}"
flush_interval = "100ms"
"#,
        src = pg.url(),
        dst = pg.url_for("postgres", TARGET_DB),
        tables = tables.join(", "),
        offsets = dir.join("offsets.json").display(),
    );
    let path = dir.join("pipeline.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// (row count, md5 over every column in key order) of a table.
fn checksum(pg: &PgCluster, db: &str, table: &str, order: &str) -> String {
    pg.try_psql_in(
        db,
        &format!("SELECT count(*) || ' ' || coalesce(md5(string_agg(t::text, '' ORDER BY {order})), '-') FROM {table} t"),
    )
    .unwrap()
}

fn assert_same(pg: &PgCluster, source_table: &str, target_table: &str, order: &str) {
    let s = checksum(pg, "postgres", source_table, order);
    let t = checksum(pg, TARGET_DB, target_table, order);
    assert_eq!(
        s,
        t,
        "target {target_table} differs from source {source_table}:\nsource:\n{}\ntarget:\n{}",
        pg.psql(&format!("SELECT * FROM {source_table} ORDER BY {order} LIMIT 20")),
        target(
            pg,
            &format!("SELECT * FROM {target_table} ORDER BY {order} LIMIT 20")
        )
    );
}

/// Runs until the current WAL position and expects failure; returns stderr.
fn run_expect_failure(pg: &PgCluster, config: &Path) -> String {
    let endpos = pg.current_lsn();
    let out = command(&["run", "--config", config.to_str().unwrap(), "--endpos", &endpos])
        .output()
        .unwrap();
    assert!(!out.status.success(), "rivulet run should have failed");
    String::from_utf8_lossy(&out.stderr).to_string()
}

const VENDAS: &str = "
    CREATE TABLE public.vendas (
        id int PRIMARY KEY,
        cliente_id int NOT NULL,
        valor numeric(10,2) NOT NULL,
        quantidade int NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE FUNCTION public.touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN NEW.updated_at := clock_timestamp(); RETURN NEW; END $$;
    CREATE TRIGGER vendas_touch BEFORE INSERT OR UPDATE ON public.vendas
        FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();";
const VENDAS_ROWS: &str = "INSERT INTO public.vendas (id, cliente_id, valor, quantidade) VALUES
    (1, 101, 100.00, 2), (2, 102, 250.50, 1), (3, 101, 75.25, 4);";
const VENDAS_CHANGES: &str = "
    INSERT INTO public.vendas (id, cliente_id, valor, quantidade) VALUES (4, 103, 500.00, 1);
    UPDATE public.vendas SET valor = 150 WHERE id = 1;
    DELETE FROM public.vendas WHERE id = 2;";

fn check_vendas(pg: &PgCluster) {
    assert_eq!(
        target(
            pg,
            "SELECT id, cliente_id, valor, quantidade FROM public.vendas_cdc ORDER BY id"
        ),
        "1|101|150.00|2\n3|101|75.25|4\n4|103|500.00|1"
    );
    // updated_at too: the trigger's values travel with the rows.
    assert_same(pg, "public.vendas", "public.vendas_cdc", "id");
    let ddl = target(
        pg,
        "SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod) || CASE WHEN attnotnull THEN ' not null' \
         ELSE '' END, ', ' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'public.vendas_cdc'::regclass AND attnum > 0",
    );
    assert_eq!(
        ddl,
        "id integer not null, cliente_id integer not null, valor numeric(10,2) not null, quantidade integer not null, \
         updated_at timestamp with time zone not null"
    );
    assert_eq!(
        target(
            pg,
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'public.vendas_cdc'::regclass"
        ),
        "PRIMARY KEY (id)"
    );
}

#[test]
fn seed_vendas_streamed_into_vendas_cdc() {
    let pg = cluster();
    pg.psql_script(VENDAS);
    let dir = scratch();
    let config = pipeline(
        &pg,
        dir.path(),
        &["public.vendas"],
        "",
        "table_name = \"{table}_cdc\"",
    );
    // The first run creates the slot; the rows come after it.
    run_to_end(&pg, &config, &[]);
    pg.psql_script(VENDAS_ROWS);
    run_to_end(&pg, &config, &[]);
    assert_same(&pg, "public.vendas", "public.vendas_cdc", "id");
    pg.psql_script(VENDAS_CHANGES);
    run_to_end(&pg, &config, &[]);
    check_vendas(&pg);
    // The position lives in the target, one row per pipeline.
    assert_eq!(
        target(&pg, "SELECT pipeline FROM public.rivulet_offsets"),
        "replica"
    );
}

#[test]
fn seed_vendas_with_an_initial_snapshot() {
    let pg = cluster();
    pg.psql_script(VENDAS);
    pg.psql_script(VENDAS_ROWS);
    let dir = scratch();
    let config = pipeline(
        &pg,
        dir.path(),
        &["public.vendas"],
        "snapshot = \"initial\"",
        "table_name = \"{table}_cdc\"",
    );
    run_to_end(&pg, &config, &[]);
    assert_same(&pg, "public.vendas", "public.vendas_cdc", "id");
    pg.psql_script(VENDAS_CHANGES);
    run_to_end(&pg, &config, &[]);
    check_vendas(&pg);
}

#[test]
fn history_mode_appends_every_change() {
    let pg = cluster();
    pg.psql_script(VENDAS);
    let dir = scratch();
    let config = pipeline(
        &pg,
        dir.path(),
        &["public.vendas"],
        "",
        "mode = \"history\"\nschema = \"audit\"\ntable_name = \"{table}_history\"",
    );
    run_to_end(&pg, &config, &[]);
    pg.psql_script(VENDAS_ROWS);
    pg.psql_script(VENDAS_CHANGES);
    pg.psql("TRUNCATE public.vendas");
    run_to_end(&pg, &config, &[]);
    let rows = target(
        &pg,
        "SELECT _cdc_op, id, valor FROM audit.vendas_history ORDER BY _cdc_lsn, id",
    );
    assert_eq!(
        rows,
        "c|1|100.00\nc|2|250.50\nc|3|75.25\nc|4|500.00\nu|1|150.00\nd|2|\nt||"
    );
    // Every row knows its transaction.
    assert_eq!(
        target(
            &pg,
            "SELECT count(*) FROM audit.vendas_history WHERE _cdc_commit_ts IS NULL OR _cdc_lsn IS NULL OR \
             _cdc_txid IS NULL"
        ),
        "0"
    );
    assert_eq!(
        target(&pg, "SELECT pipeline FROM audit.rivulet_offsets"),
        "replica"
    );
}

/// Many changes to the same keys inside one batch collapse, and the result is still exact.
#[test]
fn changes_to_one_key_in_a_batch_collapse_correctly() {
    let pg = cluster();
    pg.psql("CREATE TABLE public.kv (id int PRIMARY KEY, v int NOT NULL, note text)");
    let dir = scratch();
    let config = pipeline(&pg, dir.path(), &["public.kv"], "", "");
    run_to_end(&pg, &config, &[]);
    pg.psql_script(
        "INSERT INTO kv SELECT g, g, 'n' FROM generate_series(1, 100) g;
         BEGIN; INSERT INTO kv VALUES (1000, 1, 'x'); UPDATE kv SET v = 2 WHERE id = 1000; DELETE FROM kv WHERE id = 1000; COMMIT;
         UPDATE kv SET v = v + 1 WHERE id <= 50;
         UPDATE kv SET v = v + 1 WHERE id <= 25;
         DELETE FROM kv WHERE id BETWEEN 40 AND 60;
         INSERT INTO kv SELECT g, -g, 'again' FROM generate_series(45, 55) g;
         UPDATE kv SET id = id + 500 WHERE id BETWEEN 90 AND 95;
         UPDATE kv SET note = NULL WHERE id = 3;",
    );
    run_to_end(&pg, &config, &[]);
    assert_same(&pg, "public.kv", "public.kv", "id");
    assert_eq!(target(&pg, "SELECT count(*) FROM kv WHERE id = 1000"), "0");
    pg.psql("TRUNCATE kv; INSERT INTO kv VALUES (7, 7, 'after truncate')");
    run_to_end(&pg, &config, &[]);
    assert_same(&pg, "public.kv", "public.kv", "id");
}

#[test]
fn every_type_arrives_exactly() {
    let pg = cluster();
    pg.psql_script(
        "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
         CREATE TABLE public.types (
            id bigint PRIMARY KEY, b boolean, s smallint, i int, f4 real, f8 double precision,
            n numeric(12,3), nfree numeric, m money, t text, c char(5), vc varchar(20), by bytea,
            d date, tm time, tmtz timetz, ts timestamp(3), tstz timestamptz, iv interval, u uuid,
            j json, jb jsonb, x xml, ip inet, cidr cidr, mac macaddr, bits bit(4), vbits varbit(8),
            e mood, p point, r int4range, tsv tsvector, ia int[], ta text[], ja jsonb[], ea mood[],
            nested int[][], oid oid);
         ALTER TABLE public.types REPLICA IDENTITY FULL;",
    );
    let rows = r#"INSERT INTO public.types VALUES
        (1, true, -32768, 2147483647, 1.5e-10, -2.2250738585072014e-308, 123456789.123, 'NaN', '-12.34',
         E'tab\there\nnewline \\ backslash "quote"', 'ab', 'héllo wörld', '\x00ff5c0a09',
         '0044-03-15 BC', '24:00:00', '13:14:15.5+05:30', '2024-02-29 12:34:56.789', '2024-06-01 00:00:00.000001+02',
         '-1 year 2 mons -3 days 04:05:06.000007', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
         '{"a": [1, 2.50, null]}', '{"b": {"c": "d"}, "a": 1}', '<x a="1">y</x>', '192.168.0.1/24', '10.0.0.0/8',
         '08:00:2b:01:02:03', B'1010', B'101', 'happy', '(1.5,-2)', '[3,7)', 'a fat cat',
         '{1,NULL,3}', '{"", "NULL", "a,b", "c\"d", "e\\f", NULL, " lead"}', ARRAY['{"k":1}'::jsonb, 'null'],
         '{sad,happy}', '{{1,2},{3,4}}', 4000000000),
        (2, false, 0, 0, 'Infinity', '-Infinity', '-0.001', '1e-20', '0', '', NULL, NULL, '',
         'infinity', '00:00:00', '00:00:00-14', '-infinity', 'infinity', '0', NULL, 'null', '[]', NULL, '::1',
         '::/0', NULL, NULL, B'', 'sad', NULL, 'empty', '', '{}', '{}', '{}', '{}', '{}', 0),
        (3, NULL, NULL, NULL, 'NaN', 'NaN', NULL, 'Infinity', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
         '1999-12-31 23:59:59.999999-08', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
         NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)"#;
    pg.psql(rows);
    let dir = scratch();
    let config = pipeline(&pg, dir.path(), &["public.types"], "snapshot = \"initial\"", "");
    run_to_end(&pg, &config, &[]);
    assert_same(&pg, "public.types", "public.types", "id");
    // The same rows again, streamed this time (and updated, and deleted).
    pg.psql("DELETE FROM public.types");
    pg.psql(rows);
    pg.psql("UPDATE public.types SET id = id + 10");
    pg.psql("UPDATE public.types SET t = t || '!' WHERE id = 11; DELETE FROM public.types WHERE id = 13");
    run_to_end(&pg, &config, &[]);
    assert_same(&pg, "public.types", "public.types", "id");
}

/// An update that leaves an out-of-line (TOAST) value alone does not send it: the target must
/// keep its value, not overwrite it with a placeholder or NULL.
#[test]
fn unchanged_toast_values_are_kept() {
    let pg = cluster();
    pg.psql_script(
        "CREATE TABLE public.docs (id int PRIMARY KEY, title text, body text, tags text[]);
         ALTER TABLE public.docs ALTER COLUMN body SET STORAGE EXTERNAL;
         ALTER TABLE public.docs ALTER COLUMN tags SET STORAGE EXTERNAL;",
    );
    let dir = scratch();
    let config = pipeline(&pg, dir.path(), &["public.docs"], "", "");
    run_to_end(&pg, &config, &[]);
    pg.psql_script(
        "INSERT INTO docs SELECT g, 'title ' || g, repeat(md5(g::text), 400), ARRAY[repeat('t', 5000)] FROM generate_series(1, 20) g;",
    );
    run_to_end(&pg, &config, &[]);
    // In a later batch: the key's earlier state is not in the batch, only in the target.
    pg.psql_script(
        "UPDATE docs SET title = 'changed' WHERE id <= 10;
         UPDATE docs SET title = 'again', tags = NULL WHERE id = 5;",
    );
    run_to_end(&pg, &config, &[]);
    assert_same(&pg, "public.docs", "public.docs", "id");
    // In the same batch as the insert.
    pg.psql_script(
        "INSERT INTO docs VALUES (100, 'x', repeat(md5('y'), 400), NULL);
         UPDATE docs SET title = 'y' WHERE id = 100;",
    );
    run_to_end(&pg, &config, &[]);
    assert_same(&pg, "public.docs", "public.docs", "id");
}

/// Issue 12: a primary-key update of a row whose TOAST value did not change must not lose the
/// row (it vanished: the new key's staged row only had an `UPDATE … FROM`).
#[test]
fn key_changes_keep_unchanged_toast_values() {
    let pg = cluster();
    pg.psql_script(TOAST_KEY_SETUP);
    let dir = scratch();
    let config = pipeline(
        &pg,
        dir.path(),
        &["public.tk", "public.tc"],
        "snapshot = \"initial\"",
        "",
    );
    run_to_end(&pg, &config, &[]);
    for (what, sql) in TOAST_KEY_STEPS {
        pg.psql_script(sql);
        run_to_end(&pg, &config, &[]);
        for (table, key) in [("public.tk", "id"), ("public.tc", "a, b")] {
            let s = checksum(&pg, "postgres", table, key);
            let t = checksum(&pg, TARGET_DB, table, key);
            assert_eq!(
                s,
                t,
                "after {what}: {table} differs from its source; target:\n{}",
                target(
                    &pg,
                    &format!("SELECT {key}, n, md5(big) FROM {table} ORDER BY {key}")
                )
            );
        }
    }
}

/// Values that neither the batch nor the target has (a target that lacks the source's rows)
/// stop the pipeline instead of writing a placeholder or dropping the row.
#[test]
fn unknowable_toast_values_stop_the_pipeline() {
    for update in [
        "UPDATE tk SET id = 101 WHERE id = 1",
        "UPDATE tk SET n = 5 WHERE id = 2",
    ] {
        let pg = cluster();
        pg.psql_script(TOAST_KEY_SETUP);
        let dir = scratch();
        // no_data: the target never gets the existing rows.
        let config = pipeline(&pg, dir.path(), &["public.tk"], "snapshot = \"no_data\"", "");
        run_to_end(&pg, &config, &[]);
        pg.psql(update);
        let err = run_expect_failure(&pg, &config);
        assert!(err.contains("REPLICA IDENTITY FULL"), "{update}: {err}");
        // Nothing was applied (the table itself may not exist: it is created in the batch).
        let rows = pg.try_psql_in(TARGET_DB, "SELECT count(*) FROM public.tk");
        assert!(
            !matches!(rows.as_deref(), Ok(r) if r.trim() != "0"),
            "{update}: {rows:?}"
        );
    }
}

/// Issue 12: `ADD COLUMN … DEFAULT` gives the source's existing rows the default without WAL;
/// the replica's rows get it too, so each equals its source row.
#[test]
fn columns_added_with_a_default_give_existing_rows_the_default() {
    let pg = cluster();
    pg.psql_script(
        "CREATE TABLE public.d (id int PRIMARY KEY, s text);
         INSERT INTO d SELECT g, 'row ' || g FROM generate_series(1, 5) g;",
    );
    let dir = scratch();
    let config = pipeline(&pg, dir.path(), &["public.d"], "snapshot = \"initial\"", "");
    run_to_end(&pg, &config, &[]);
    pg.psql_script(
        "ALTER TABLE d ADD COLUMN n int DEFAULT 7, ADD COLUMN q text NOT NULL DEFAULT 'it''s \\ here',
             ADD COLUMN ts timestamptz DEFAULT '2020-02-03 04:05:06+00', ADD COLUMN plain int;
         ALTER TABLE d ALTER COLUMN n SET DEFAULT 8;
         INSERT INTO d (id, s) VALUES (6, 'new');
         UPDATE d SET s = 'changed' WHERE id = 2;",
    );
    run_to_end(&pg, &config, &[]);
    assert_same(&pg, "public.d", "public.d", "id");
    // The target keeps no default of its own: values come from the source.
    assert_eq!(
        target(
            &pg,
            "SELECT count(*) FROM pg_attrdef WHERE adrelid = 'public.d'::regclass"
        ),
        "0"
    );
}

#[test]
fn tables_without_a_key_need_replica_identity_full() {
    let pg = cluster();
    pg.psql_script(
        "CREATE TABLE public.nokey (a int, b text);
         CREATE TABLE public.dup (a int, b text);
         ALTER TABLE public.dup REPLICA IDENTITY FULL;",
    );
    let dir = scratch();
    let config = pipeline(&pg, dir.path(), &["public.dup"], "", "");
    run_to_end(&pg, &config, &[]);
    pg.psql_script(
        "INSERT INTO dup VALUES (1, 'a'), (1, 'a'), (2, NULL), (3, 'c');
         UPDATE dup SET b = 'b' WHERE a = 2;
         DELETE FROM dup WHERE ctid = (SELECT min(ctid) FROM dup WHERE a = 1);
         INSERT INTO dup VALUES (4, 'd');
         DELETE FROM dup WHERE a = 3;",
    );
    run_to_end(&pg, &config, &[]);
    assert_same(&pg, "public.dup", "public.dup", "a, b");

    let dir = scratch();
    let config = pipeline(&pg, dir.path(), &["public.nokey"], "", "");
    std::fs::write(
        &config,
        std::fs::read_to_string(&config)
            .unwrap()
            .replace("rivulet_test", "rivulet_nokey")
            .replace("name = \"replica\"", "name = \"nokey\""),
    )
    .unwrap();
    // The source already refuses such a table (its updates would fail once published); the
    // sink has the same check for sources that do not.
    let err = run_expect_failure(&pg, &config);
    assert!(
        err.contains("public.nokey") && err.contains("REPLICA IDENTITY FULL"),
        "{err}"
    );
}

#[test]
fn schema_changes_reach_the_target_and_incompatible_ones_stop() {
    let pg = cluster();
    pg.psql("CREATE TABLE public.evo (id int PRIMARY KEY, small int NOT NULL, name varchar(10), gone text NOT NULL)");
    let dir = scratch();
    let config = pipeline(&pg, dir.path(), &["public.evo"], "", "");
    run_to_end(&pg, &config, &[]);
    pg.psql_script(
        "INSERT INTO evo VALUES (1, 1, 'one', 'g1');
         ALTER TABLE evo ADD COLUMN extra jsonb;
         INSERT INTO evo VALUES (2, 2, 'two', 'g2', '{\"a\": 1}');
         ALTER TABLE evo DROP COLUMN gone;
         INSERT INTO evo VALUES (3, 3, 'three', '[]');
         ALTER TABLE evo ALTER COLUMN small TYPE bigint, ALTER COLUMN name TYPE text;
         INSERT INTO evo VALUES (4, 9000000000, repeat('long', 10), NULL);",
    );
    run_to_end(&pg, &config, &[]);
    assert_eq!(
        target(
            &pg,
            "SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod) || CASE WHEN attnotnull THEN ' not null' \
             ELSE '' END, ', ' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'public.evo'::regclass AND attnum > 0 \
             AND NOT attisdropped"
        ),
        "id integer not null, small bigint not null, name text, gone text, extra jsonb"
    );
    assert_eq!(
        target(&pg, "SELECT id, small, name, gone, extra FROM evo ORDER BY id"),
        "1|1|one|g1|\n2|2|two|g2|{\"a\": 1}\n3|3|three||[]\n4|9000000000|longlonglonglonglonglonglonglonglonglong||"
    );
    pg.psql_script(
        "ALTER TABLE evo ALTER COLUMN extra TYPE int USING 1;
         INSERT INTO evo VALUES (5, 5, 'five', 5);",
    );
    let err = run_expect_failure(&pg, &config);
    assert!(
        err.contains("extra")
            && err.contains("public.evo")
            && err.contains("integer")
            && err.contains("jsonb"),
        "{err}"
    );
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(errors.len(), 1, "one line: {err}");
    assert_eq!(target(&pg, "SELECT count(*) FROM evo WHERE id = 5"), "0");
}

#[test]
fn constraint_violation_in_the_target_stops_with_the_key() {
    let pg = cluster();
    pg.psql("CREATE TABLE public.users (id int PRIMARY KEY, email text)");
    target(
        &pg,
        "CREATE TABLE public.users (id int PRIMARY KEY, email text UNIQUE)",
    );
    let dir = scratch();
    let config = pipeline(&pg, dir.path(), &["public.users"], "", "");
    run_to_end(&pg, &config, &[]);
    pg.psql("INSERT INTO users VALUES (1, 'a@example.com')");
    run_to_end(&pg, &config, &[]);
    pg.psql("INSERT INTO users VALUES (2, 'a@example.com')");
    let err = run_expect_failure(&pg, &config);
    assert!(
        err.contains("23505") && err.contains("(email)=(a@example.com)") && err.contains("public.users"),
        "{err}"
    );
    // Nothing of the failed batch, and the position stayed before it.
    assert_eq!(target(&pg, "SELECT count(*) FROM users"), "1");
    target(&pg, "ALTER TABLE users DROP CONSTRAINT users_email_key");
    run_to_end(&pg, &config, &[]);
    assert_same(&pg, "public.users", "public.users", "id");
}

#[test]
fn permission_and_connection_problems_are_one_clear_line() {
    let pg = cluster();
    pg.psql("CREATE TABLE public.t (id int PRIMARY KEY)");
    target(
        &pg,
        "CREATE ROLE weak LOGIN; REVOKE CREATE ON SCHEMA public FROM PUBLIC; GRANT USAGE ON SCHEMA public TO weak",
    );
    let dir = scratch();
    let config = pipeline(&pg, dir.path(), &["public.t"], "", "");
    let text = std::fs::read_to_string(&config).unwrap();
    let weak = text.replace(&pg.url_for("postgres", TARGET_DB), &pg.url_for("weak", TARGET_DB));
    std::fs::write(&config, &weak).unwrap();
    let err = run_expect_failure(&pg, &config);
    assert!(
        err.contains("permission denied") && err.contains("42501") && err.contains("grant"),
        "{err}"
    );

    let unreachable = text.replace(
        &pg.url_for("postgres", TARGET_DB),
        &format!(
            "postgres://postgres:secret@127.0.0.1:{}/x",
            rivulet_testkit::free_port()
        ),
    );
    std::fs::write(&config, unreachable).unwrap();
    let err = run_expect_failure(&pg, &config);
    assert!(err.contains("cannot connect to the target database"), "{err}");
    assert!(!err.contains("secret"), "the password must not appear: {err}");
}

/// The target goes away while the pipeline runs: it waits, and catches up when the target is
/// back, exactly.
#[test]
fn a_target_outage_pauses_the_pipeline() {
    let pg = PgCluster::start();
    let dst = PgCluster::start();
    pg.psql("CREATE TABLE public.kv (id int PRIMARY KEY, v int)");
    let dir = scratch();
    let config = pipeline(&pg, dir.path(), &["public.kv"], "", "");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace(&pg.url_for("postgres", TARGET_DB), &dst.url());
    std::fs::write(&config, text).unwrap();
    run_to_end(&pg, &config, &[]);
    let mut child = spawn_run(&config, &[]);
    pg.psql("INSERT INTO kv SELECT g, g FROM generate_series(1, 100) g");
    wait_for("the first rows", Duration::from_secs(120), || {
        dst.try_psql("SELECT count(*) FROM kv").ok().as_deref() == Some("100")
    });
    dst.stop();
    pg.psql("UPDATE kv SET v = v * 2; INSERT INTO kv VALUES (101, 101)");
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the pipeline must wait, not exit"
    );
    dst.start_again();
    wait_for("catching up", Duration::from_secs(180), || {
        dst.try_psql("SELECT count(*) || ' ' || sum(v) FROM kv")
            .ok()
            .as_deref()
            == Some("101 10201")
    });
    signal(&child, "TERM");
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("the pipeline waits"),
        "the outage should have been noticed: {log}"
    );
}

/// A transaction far larger than the sink keeps in memory is applied in parts inside one target
/// transaction, and still lands whole (and collapses across the parts).
#[test]
fn a_huge_transaction_is_applied_in_parts_but_atomically() {
    let pg = cluster();
    pg.psql("CREATE TABLE public.big (id int PRIMARY KEY, v int NOT NULL, payload text)");
    let dir = scratch();
    let config = pipeline(&pg, dir.path(), &["public.big"], "", "");
    run_to_end(&pg, &config, &[]);
    pg.psql_script(
        "BEGIN;
         INSERT INTO big SELECT g, g, repeat(md5(g::text), 4) FROM generate_series(1, 400000) g;
         UPDATE big SET v = -v WHERE id % 10 = 0;
         DELETE FROM big WHERE id % 7 = 0;
         INSERT INTO big SELECT g, 0, 'late' FROM generate_series(400001, 400100) g;
         COMMIT;",
    );
    let out = run_to_end(&pg, &config, &[]);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("applying its first part now"),
        "the batch should have been split: {log}"
    );
    assert_same(&pg, "public.big", "public.big", "id");
}

/// A deterministic mixed workload that runs for a few seconds.
fn workload() -> String {
    let mut sql = String::new();
    for round in 0..120 {
        let base = round * 100;
        sql.push_str(&format!(
            "INSERT INTO kv SELECT g, g, 'n' || g FROM generate_series({}, {}) g;\n",
            base + 1,
            base + 100
        ));
        sql.push_str(&format!(
            "UPDATE kv SET v = v + 1, note = note || '+' WHERE id BETWEEN {} AND {};\n",
            base - 50,
            base + 30
        ));
        sql.push_str(&format!(
            "BEGIN; DELETE FROM kv WHERE id BETWEEN {} AND {}; INSERT INTO log (k, payload) VALUES ({round}, repeat('p', 500)); \
             UPDATE kv SET v = -v WHERE id = {}; COMMIT;\n",
            base + 91,
            base + 100,
            base + 5
        ));
        if round % 40 == 7 {
            sql.push_str(
                "INSERT INTO log (k, payload) SELECT g, repeat('x', 200) FROM generate_series(1, 8000) g;\n",
            );
            sql.push_str("UPDATE log SET k = k + 1 WHERE id % 7 = 0;\n");
        }
        if round == 60 {
            sql.push_str("DELETE FROM log WHERE id % 3 = 0;\n");
        }
        sql.push_str("SELECT pg_sleep(0.08);\n");
    }
    sql
}

#[test]
fn kill_9_during_a_mixed_workload_leaves_target_equal_to_source() {
    let pg = cluster();
    pg.psql_script(
        "CREATE TABLE public.kv (id int PRIMARY KEY, v int NOT NULL, note text);
         CREATE TABLE public.log (id bigserial PRIMARY KEY, k int, payload text);
         INSERT INTO kv SELECT -g, g, 'before' FROM generate_series(1, 2000) g;",
    );
    let dir = scratch();
    let config = pipeline(
        &pg,
        dir.path(),
        &["public.kv", "public.log"],
        "snapshot = \"initial\"",
        "",
    );
    let seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("random seed {seed}");
    let mut rng = seed;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut kills = 0;
    let mut progressed = 0;
    let script = workload();
    let applied = || {
        pg.try_psql_in(TARGET_DB, "SELECT position FROM public.rivulet_offsets")
            .unwrap_or_default()
    };
    std::thread::scope(|scope| {
        let worker = scope.spawn(|| pg.psql_script(&script));
        while !worker.is_finished() {
            let before = applied();
            let mut child = spawn_run(&config, &[]);
            std::thread::sleep(Duration::from_millis(300 + next() % 1200));
            signal(&child, "KILL");
            child.wait().unwrap();
            kills += 1;
            if applied() != before {
                progressed += 1;
            }
        }
        worker.join().unwrap();
    });
    run_to_end(&pg, &config, &[]);
    println!("{kills} kills, {progressed} after progress");
    assert!(
        kills >= 3 && progressed >= 2,
        "the test must interrupt applying (kills={kills}, after progress {progressed})"
    );
    assert_same(&pg, "public.kv", "public.kv", "id");
    assert_same(&pg, "public.log", "public.log", "id");
}

/// Record transforms work on Debezium records, which this sink never makes: refused, not
/// silently skipped.
#[test]
fn record_transforms_are_refused() {
    let pg = cluster();
    pg.psql("CREATE TABLE public.t (id int PRIMARY KEY)");
    let dir = scratch();
    let config = pipeline(&pg, dir.path(), &["public.t"], "", "");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("\n[[transform]]\ntype = \"unwrap\"\n");
    std::fs::write(&config, text).unwrap();
    let err = run_expect_failure(&pg, &config);
    assert!(
        err.contains("postgres sink") && err.contains("transform"),
        "{err}"
    );
    assert_eq!(
        target(&pg, "SELECT count(*) FROM pg_tables WHERE tablename = 't'"),
        "0"
    );
}
