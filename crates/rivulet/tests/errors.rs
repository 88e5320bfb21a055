//! Bad input gets one clear line on stderr, a non-zero exit, no password, and leaves the
//! offsets untouched.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Output;

use common::*;
use rivulet_testkit::PgCluster;

const SECRET: &str = "Sup3r-s3cret";

fn run(config: &Path) -> Output {
    command(&["run", "--config", config.to_str().unwrap()])
        .output()
        .unwrap()
}

/// The `error:` line; asserts there is exactly one, that it leaks no secret, and a failure exit.
fn error_line(out: &Output) -> String {
    assert!(!out.status.success(), "expected a failure");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains(SECRET), "the password leaked: {stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(errors.len(), 1, "one error line expected in:\n{stderr}");
    errors[0].to_string()
}

fn with_url(config: &Path, url: &str) {
    let text = std::fs::read_to_string(config).unwrap();
    let start = text.find("url = \"").unwrap() + 7;
    let end = start + text[start..].find('"').unwrap();
    std::fs::write(config, format!("{}{url}{}", &text[..start], &text[end..])).unwrap();
}

fn simple_table(pg: &PgCluster) {
    pg.psql("CREATE TABLE public.t (id int PRIMARY KEY, v text)");
}

#[test]
fn configuration_mistakes_exit_2_and_name_the_line() {
    let pg = PgCluster::start();
    let dir = scratch();
    let config = write_pipeline(&pg, dir.path(), &["public.t"], "slott = \"x\"", "");
    let out = run(&config);
    assert_eq!(out.status.code(), Some(2));
    let line = error_line(&out);
    assert!(
        line.contains("pipeline.toml:10: unknown key `source.slott`"),
        "{line}"
    );

    let config = write_pipeline(&pg, dir.path(), &["public.t"], "", "");
    with_url(
        &config,
        &format!("postgres://postgres:{SECRET}@127.0.0.1:notaport/postgres"),
    );
    let out = run(&config);
    assert_eq!(out.status.code(), Some(2));
    let line = error_line(&out);
    assert!(line.contains("port"), "{line}");
    assert!(!dir.path().join("offsets.json").exists());
}

#[test]
fn unreachable_server_and_wrong_password() {
    let pg = PgCluster::builder()
        .hba("host all app 127.0.0.1/32 scram-sha-256")
        .start();
    simple_table(&pg);
    pg.psql(&format!(
        "CREATE ROLE app LOGIN REPLICATION PASSWORD 'right-{SECRET}'"
    ));
    let dir = scratch();
    let config = write_pipeline(&pg, dir.path(), &["public.t"], "", "");

    with_url(
        &config,
        &format!(
            "postgres://app:{SECRET}@127.0.0.1:{}/postgres",
            rivulet_testkit::free_port()
        ),
    );
    let line = error_line(&run(&config));
    assert!(
        line.contains("cannot connect") && line.contains("refused"),
        "{line}"
    );

    with_url(
        &config,
        &format!("postgres://app:{SECRET}@127.0.0.1:{}/postgres", pg.port()),
    );
    let line = error_line(&run(&config));
    assert!(
        line.contains("password authentication failed for user \"app\""),
        "{line}"
    );
    assert!(!dir.path().join("offsets.json").exists());
    assert_eq!(
        pg.psql("SELECT count(*) FROM pg_replication_slots"),
        "0",
        "nothing was created"
    );
}

#[test]
fn wal_level_not_logical() {
    let pg = PgCluster::builder().conf("wal_level = replica").start();
    simple_table(&pg);
    let dir = scratch();
    let config = write_pipeline(&pg, dir.path(), &["public.t"], "", "");
    let line = error_line(&run(&config));
    assert!(
        line.contains("wal_level is 'replica'") && line.contains("ALTER SYSTEM SET wal_level = logical"),
        "{line}"
    );
}

#[test]
fn missing_table_and_table_without_primary_key() {
    let pg = PgCluster::start();
    simple_table(&pg);
    pg.psql("CREATE TABLE public.nopk (a int)");
    let dir = scratch();
    let config = write_pipeline(&pg, dir.path(), &["public.t", "public.nope"], "", "");
    let line = error_line(&run(&config));
    assert!(
        line.contains("public.nope") && line.contains("not exist"),
        "{line}"
    );

    let config = write_pipeline(&pg, dir.path(), &["public.t", "public.nopk"], "", "");
    let line = error_line(&run(&config));
    assert!(
        line.contains("ALTER TABLE \"public\".\"nopk\" REPLICA IDENTITY FULL"),
        "{line}"
    );
    // Refusing is the point: the publication would have broken the application's UPDATEs.
    assert_eq!(pg.psql("SELECT count(*) FROM pg_publication"), "0");
    assert!(pg.try_psql("UPDATE public.nopk SET a = 1").is_ok());
}

#[test]
fn slot_in_use_or_made_for_another_plugin() {
    let pg = PgCluster::start();
    simple_table(&pg);
    let dir = scratch();
    let config = write_pipeline(&pg, dir.path(), &["public.t"], "", "");
    run_to_end(&pg, &config, &[]);
    let offsets_before = std::fs::read(dir.path().join("offsets.json")).ok();

    // Another consumer holds the slot.
    let mut holder = std::process::Command::new(rivulet_testkit::pg_bin_dir().join("pg_recvlogical"))
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &pg.port().to_string(),
            "-U",
            "postgres",
            "-d",
            "postgres",
        ])
        .args([
            "-S",
            "rivulet_test",
            "--start",
            "-f",
            "/dev/null",
            "-o",
            "proto_version=1",
            "-o",
        ])
        .arg("publication_names=rivulet_test")
        .spawn()
        .unwrap();
    wait_for(
        "pg_recvlogical to hold the slot",
        std::time::Duration::from_secs(30),
        || pg.psql("SELECT active FROM pg_replication_slots WHERE slot_name = 'rivulet_test'") == "t",
    );
    let line = error_line(&run(&config));
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert!(line.contains("in use by another process (PID"), "{line}");
    assert_eq!(
        std::fs::read(dir.path().join("offsets.json")).ok(),
        offsets_before,
        "offsets untouched"
    );

    let config = write_pipeline(&pg, dir.path(), &["public.t"], "slot = \"other_plugin\"", "");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replacen("slot = \"rivulet_test\"\n", "", 1);
    std::fs::write(&config, text).unwrap();
    pg.psql("SELECT pg_create_logical_replication_slot('other_plugin', 'test_decoding')");
    let line = error_line(&run(&config));
    assert!(
        line.contains("plugin 'test_decoding'") && line.contains("pg_drop_replication_slot"),
        "{line}"
    );
}
