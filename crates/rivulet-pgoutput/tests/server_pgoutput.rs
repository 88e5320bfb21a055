//! The decoder on what a live PostgreSQL 15 sends: the changes in `fixtures/pgoutput_v1.sql`
//! (inserts, updates with default and full replica identity, a key change, an unchanged TOAST
//! value, deletes, truncates, logical messages, ALTER TABLE mid-stream, an enum type, a row with
//! most built-in types) read back through a pgoutput slot with proto_version 1.

// Test helpers outside #[test] functions panic on purpose too.
#![allow(clippy::unwrap_used)]

mod expected_stream;
mod fixture;

use bytes::Bytes;
use rivulet_testkit::PgCluster;

const PEEK: &str = "SELECT encode(data, 'hex') FROM pg_logical_slot_peek_binary_changes('s', NULL, NULL,
    'proto_version', '1', 'publication_names', 'pub', 'messages', 'true')";

fn peek(pg: &PgCluster) -> Vec<Bytes> {
    pg.psql(PEEK)
        .lines()
        .map(|l| Bytes::from(fixture::unhex(l)))
        .collect()
}

#[test]
fn live_pgoutput_stream_decodes_to_the_scripted_changes() {
    let pg = PgCluster::start();
    // The slot must exist before the changes; the script's first statements create what it uses.
    let (setup, changes) = expected_stream::SCRIPT.split_once("INSERT INTO t").unwrap();
    pg.psql_script(setup);
    // The test cluster runs with synchronous_commit = off, and the SQL decoding functions only
    // read flushed WAL: synchronous commits make every change visible to the peek below.
    pg.psql_script(&format!("SET synchronous_commit = on;\nINSERT INTO t{changes}"));
    expected_stream::assert_stream(&peek(&pg));
}

#[test]
fn proto_version_2_streaming_messages_are_refused_by_name() {
    let pg = PgCluster::builder()
        .conf("logical_decoding_work_mem = 64kB")
        .start();
    pg.psql_script(
        "CREATE TABLE big (id int, v text);
         CREATE PUBLICATION pub FOR ALL TABLES;
         SELECT 'init' FROM pg_create_logical_replication_slot('s', 'pgoutput');
         SET synchronous_commit = on;
         INSERT INTO big SELECT g, repeat('v', 100) FROM generate_series(1, 5000) g;",
    );
    let out = pg.psql(
        "SELECT encode(data, 'hex') FROM pg_logical_slot_peek_binary_changes('s', NULL, NULL,
            'proto_version', '2', 'publication_names', 'pub', 'streaming', 'on') LIMIT 1",
    );
    let first = Bytes::from(fixture::unhex(&out));
    let err = rivulet_pgoutput::decode(first).unwrap_err().to_string();
    assert!(
        err.contains("Stream Start") && err.contains("proto_version 1"),
        "{err}"
    );
}
