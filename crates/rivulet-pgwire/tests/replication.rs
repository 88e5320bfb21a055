//! The replication protocol client against a real server: replication commands, slots,
//! streaming pgoutput data, status updates, errors, and cancel-safety of the stream.

#![allow(clippy::unwrap_used)] // helpers outside #[test] functions may unwrap too

use std::sync::Arc;
use std::time::{Duration, Instant};

use rivulet_core::Lsn;
use rivulet_pgwire::{
    ConnectionConfig, PgError, ReplicationConnection, ReplicationMessage, ReplicationStream, SlotSnapshot,
    connect_sql,
};
use rivulet_testkit::PgCluster;

fn config(pg: &PgCluster) -> ConnectionConfig {
    ConnectionConfig::from_url(&pg.url()).unwrap()
}

const PGOUTPUT_OPTIONS: &[(&str, &str)] = &[("proto_version", "1"), ("publication_names", "pub")];

/// Polls `check` until it holds; fails the test if it never does. The deadline only bounds a
/// hang, it is not a performance expectation.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !check() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The next XLogData payload, skipping keepalives.
async fn next_data(stream: &mut ReplicationStream) -> ReplicationMessage {
    loop {
        match stream.next().await.unwrap().expect("stream ended") {
            ReplicationMessage::Keepalive { .. } => continue,
            m => return m,
        }
    }
}

fn payload(m: &ReplicationMessage) -> &[u8] {
    match m {
        ReplicationMessage::XLogData { data, .. } => data,
        ReplicationMessage::Keepalive { .. } => panic!("not XLogData"),
    }
}

#[tokio::test]
async fn identify_system_and_session_settings() {
    let pg = PgCluster::start();
    // Defaults that differ from what we ask for, to see ours win.
    pg.psql_script(
        "ALTER DATABASE postgres SET DateStyle = 'SQL, DMY';
         ALTER DATABASE postgres SET TimeZone = 'America/New_York';
         ALTER DATABASE postgres SET extra_float_digits = 0;
         ALTER DATABASE postgres SET bytea_output = 'escape';
         ALTER DATABASE postgres SET IntervalStyle = 'iso_8601';",
    );
    let cfg = config(&pg);
    let mut conn = ReplicationConnection::connect(&cfg).await.unwrap();

    let info = conn.identify_system().await.unwrap();
    assert_eq!(info.timeline, 1);
    assert_eq!(info.dbname.as_deref(), Some("postgres"));
    assert_eq!(
        info.system_id,
        pg.psql("SELECT system_identifier FROM pg_control_system()")
    );
    assert!(!info.xlogpos.is_zero());
    let num = conn.server_version_num().unwrap();
    assert_eq!(num.to_string(), pg.psql("SHOW server_version_num"));
    assert_eq!(conn.parameter("TimeZone"), Some("UTC"));
    assert_eq!(conn.parameter("application_name"), Some("rivulet"));
    assert!(conn.backend_pid() > 0);

    let expected = [
        // Setting only the output format keeps the built-in field order.
        ("DateStyle", "ISO, MDY"),
        ("IntervalStyle", "postgres"),
        ("TimeZone", "UTC"),
        ("extra_float_digits", "3"),
        ("bytea_output", "hex"),
        ("lc_monetary", "C"),
        ("client_encoding", "UTF8"),
    ];
    for (name, value) in expected {
        let rows = conn.simple_query(&format!("SHOW {name}")).await.unwrap();
        assert_eq!(
            rows,
            vec![vec![Some(value.to_string())]],
            "replication connection: {name}"
        );
    }
    let client = connect_sql(&cfg).await.unwrap();
    for (name, value) in expected {
        let row = client.query_one(&format!("SHOW {name}"), &[]).await.unwrap();
        assert_eq!(row.get::<_, String>(0), value, "SQL connection: {name}");
    }

    // Several statements: all rows, NULLs as None; a failing statement is a server error.
    let rows = conn
        .simple_query("SELECT 1, NULL::text; SELECT 'x' UNION ALL SELECT 'y'")
        .await
        .unwrap();
    assert_eq!(
        rows,
        vec![
            vec![Some("1".into()), None],
            vec![Some("x".into())],
            vec![Some("y".into())]
        ]
    );
    let err = conn
        .simple_query("SELECT * FROM no_such_table")
        .await
        .unwrap_err();
    assert_eq!(err.sqlstate(), Some("42P01"));
    assert_eq!(
        err.to_string(),
        "relation \"no_such_table\" does not exist (SQLSTATE 42P01)"
    );
    // ...and the connection is still usable afterwards.
    assert_eq!(
        conn.simple_query("SELECT 2").await.unwrap(),
        vec![vec![Some("2".into())]]
    );
    conn.close().await.unwrap();
}

#[tokio::test]
async fn creates_temporary_and_permanent_slots() {
    let pg = PgCluster::start();
    pg.psql("CREATE TABLE snap (id int); INSERT INTO snap VALUES (1)");
    let cfg = config(&pg);

    let mut conn = ReplicationConnection::connect(&cfg).await.unwrap();
    let slot = conn
        .create_logical_slot("perm_slot", "pgoutput", false, SlotSnapshot::Export)
        .await
        .unwrap();
    assert_eq!(slot.slot_name, "perm_slot");
    assert_eq!(slot.output_plugin, "pgoutput");
    assert!(!slot.consistent_point.is_zero());
    let snapshot = slot.snapshot_name.clone().expect("an exported snapshot");

    // The exported snapshot sees the data as of the slot's creation, not later changes.
    pg.psql("INSERT INTO snap VALUES (2)");
    let mut client = connect_sql(&cfg).await.unwrap();
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .start()
        .await
        .unwrap();
    tx.batch_execute(&format!("SET TRANSACTION SNAPSHOT '{snapshot}'"))
        .await
        .unwrap();
    let count: i64 = tx
        .query_one("SELECT count(*) FROM snap", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 1);
    tx.commit().await.unwrap();

    let mut conn2 = ReplicationConnection::connect(&cfg).await.unwrap();
    let temp = conn2
        .create_logical_slot("temp_slot", "pgoutput", true, SlotSnapshot::NoExport)
        .await
        .unwrap();
    assert_eq!(temp.snapshot_name, None);
    assert_eq!(
        pg.psql("SELECT slot_name || ':' || temporary FROM pg_replication_slots ORDER BY 1"),
        "perm_slot:false\ntemp_slot:true"
    );
    // A second slot of the same name is a server error with its SQLSTATE.
    let err = conn2
        .create_logical_slot("perm_slot", "pgoutput", false, SlotSnapshot::NoExport)
        .await
        .unwrap_err();
    assert_eq!(err.sqlstate(), Some("42710"), "{err}");

    // Names that cannot be slot names are refused before anything is sent.
    for odd in ["odd\"name", "Upper", "", "x y"] {
        let err = conn2
            .create_logical_slot(odd, "pgoutput", true, SlotSnapshot::NoExport)
            .await
            .unwrap_err();
        assert!(matches!(err, PgError::Config(_)), "{err:?}");
        assert!(err.to_string().contains("invalid replication slot name"), "{err}");
    }

    // SNAPSHOT 'use' inside a repeatable-read transaction.
    conn2
        .simple_query("BEGIN ISOLATION LEVEL REPEATABLE READ")
        .await
        .unwrap();
    let used = conn2
        .create_logical_slot("use_slot", "pgoutput", true, SlotSnapshot::Use)
        .await
        .unwrap();
    assert_eq!(used.snapshot_name, None);
    assert_eq!(
        conn2.simple_query("SELECT count(*) FROM snap").await.unwrap(),
        vec![vec![Some("2".into())]]
    );
    conn2.simple_query("COMMIT").await.unwrap();

    conn2.close().await.unwrap();
    eventually("temporary slots vanish with their connection", || {
        pg.psql("SELECT string_agg(slot_name, ',') FROM pg_replication_slots") == "perm_slot"
    });
    conn.close().await.unwrap();
}

#[tokio::test]
async fn streams_a_transaction_and_confirms_it() {
    let pg = PgCluster::start();
    pg.psql_script("CREATE TABLE t (id int PRIMARY KEY, v text); CREATE PUBLICATION pub FOR TABLE t;");
    let cfg = config(&pg);
    let mut conn = ReplicationConnection::connect(&cfg).await.unwrap();
    conn.create_logical_slot("s", "pgoutput", false, SlotSnapshot::NoExport)
        .await
        .unwrap();
    pg.psql("INSERT INTO t VALUES (1, 'one')");

    let mut stream = conn
        .start_logical_replication("s", Lsn::ZERO, PGOUTPUT_OPTIONS)
        .await
        .unwrap();
    let mut kinds = Vec::new();
    let mut commit_end = Lsn::ZERO;
    while kinds.last() != Some(&b'C') {
        let m = next_data(&mut stream).await;
        let data = payload(&m);
        kinds.push(data[0]);
        if data[0] == b'I' {
            assert!(
                data.windows(3).any(|w| w == b"one"),
                "the row's text is in the payload"
            );
        }
        if data[0] == b'C' {
            commit_end = Lsn(u64::from_be_bytes(data[10..18].try_into().unwrap()));
        }
        if let ReplicationMessage::XLogData { server_time_us, .. } = m {
            let now_us = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_micros();
            assert!(
                (server_time_us as u128).abs_diff(now_us) < 3_600_000_000,
                "a Unix-epoch time"
            );
        }
    }
    assert_eq!(kinds, b"BRIC");
    assert!(!commit_end.is_zero());

    // Confirm the transaction and ask for a reply: the server answers with a keepalive.
    stream
        .send_status(commit_end, commit_end, commit_end, true)
        .await
        .unwrap();
    loop {
        match stream.next().await.unwrap().unwrap() {
            ReplicationMessage::Keepalive { wal_end, .. } => {
                assert!(wal_end >= commit_end);
                break;
            }
            ReplicationMessage::XLogData { .. } => {}
        }
    }
    eventually("confirmed_flush_lsn reaches the commit", || {
        let lsn: Lsn = pg
            .psql("SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 's'")
            .parse()
            .unwrap();
        lsn >= commit_end
    });

    // The slot is busy: a second consumer gets a clear error.
    let second = ReplicationConnection::connect(&cfg).await.unwrap();
    let err = second
        .start_logical_replication("s", Lsn::ZERO, PGOUTPUT_OPTIONS)
        .await
        .err()
        .unwrap();
    assert_eq!(err.sqlstate(), Some("55006"));
    assert!(
        err.to_string()
            .starts_with("replication slot \"s\" is active for PID "),
        "{err}"
    );
    assert!(err.to_string().ends_with("(SQLSTATE 55006)"), "{err}");
    assert!(!err.is_transient());

    let missing = ReplicationConnection::connect(&cfg).await.unwrap();
    let err = missing
        .start_logical_replication("nope", Lsn::ZERO, PGOUTPUT_OPTIONS)
        .await
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "replication slot \"nope\" does not exist (SQLSTATE 42704)"
    );

    // Bad plugin options fail when streaming starts.
    let mut bad = ReplicationConnection::connect(&cfg).await.unwrap();
    bad.create_logical_slot("t2", "pgoutput", true, SlotSnapshot::NoExport)
        .await
        .unwrap();
    let err = match bad
        .start_logical_replication("t2", Lsn::ZERO, &[("proto_version", "1")])
        .await
    {
        Ok(mut s) => s.next().await.err().unwrap(),
        Err(e) => e,
    };
    assert!(matches!(err, PgError::Server(_)), "{err:?}");
    assert!(err.to_string().contains("publication_names"), "{err}");

    // A graceful end, after more data that finish() has to skip.
    pg.psql("INSERT INTO t VALUES (2, 'two')");
    stream.finish().await.unwrap();
    eventually("the slot is released", || {
        pg.psql("SELECT active FROM pg_replication_slots WHERE slot_name = 's'") == "f"
    });

    // Restarting from the confirmed position skips the confirmed transaction.
    let conn = ReplicationConnection::connect(&cfg).await.unwrap();
    let mut stream = conn
        .start_logical_replication("s", commit_end, PGOUTPUT_OPTIONS)
        .await
        .unwrap();
    let mut inserted = Vec::new();
    loop {
        let m = next_data(&mut stream).await;
        let data = payload(&m);
        if data[0] == b'I' {
            inserted.push(data.to_vec());
        }
        if data[0] == b'C' {
            break;
        }
    }
    assert_eq!(inserted.len(), 1);
    assert!(inserted[0].windows(3).any(|w| w == b"two"));
    stream.finish().await.unwrap();
}

#[tokio::test]
async fn the_server_ending_the_stream_is_none() {
    // On a loaded machine the server sometimes terminates the walsender (57P01) instead of
    // ending its stream: that attempt shows nothing about how an ended stream reads, so it is
    // tried again, and one of three attempts must see the stream end.
    for attempt in 1..=3 {
        match stream_ended_by_a_fast_shutdown().await {
            Ok(()) => return,
            Err(e) if e.sqlstate() == Some("57P01") => eprintln!("attempt {attempt}: {e}"),
            Err(e) => panic!("{e}"),
        }
    }
    panic!("the server terminated the walsender in every attempt instead of ending the stream");
}

/// Streams from a fresh cluster while it shuts down (fast): the end of the stream must read as
/// `None`, and stay so.
async fn stream_ended_by_a_fast_shutdown() -> Result<(), PgError> {
    let pg = PgCluster::start();
    pg.psql("CREATE PUBLICATION pub FOR ALL TABLES");
    let cfg = config(&pg);
    let mut conn = ReplicationConnection::connect(&cfg).await.unwrap();
    conn.create_logical_slot("s", "pgoutput", false, SlotSnapshot::NoExport)
        .await
        .unwrap();
    let mut stream = conn
        .start_logical_replication("s", Lsn::ZERO, PGOUTPUT_OPTIONS)
        .await
        .unwrap();
    // A fast shutdown ends walsenders (with CommandComplete) once we confirmed all they sent.
    // The cluster is shared so that a failing test still drops (and removes) it.
    let pg = Arc::new(pg);
    let stopper = tokio::task::spawn_blocking({
        let pg = pg.clone();
        move || pg.stop()
    });
    // The walsender waits for us to confirm everything before it ends the stream.
    let ended = loop {
        match stream.next().await {
            Ok(Some(ReplicationMessage::Keepalive {
                wal_end,
                reply_requested: true,
                ..
            })) => {
                stream
                    .send_status(wal_end, wal_end, wal_end, false)
                    .await
                    .unwrap();
            }
            Ok(Some(_)) => continue,
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    if ended.is_ok() {
        assert!(stream.next().await.unwrap().is_none(), "stays ended");
        stream.finish().await.unwrap();
    }
    stopper.await.unwrap();
    ended
}

/// The id and the length of the text value of a pgoutput v1 Insert of `t (id int, v text)`.
fn inserted_row(data: &[u8]) -> (usize, usize) {
    // 'I', relation oid, 'N', column count, then per column: 't', length, text.
    assert_eq!((data[0], data[5]), (b'I', b'N'));
    assert_eq!(u16::from_be_bytes([data[6], data[7]]), 2);
    let mut at = 8;
    let mut column = || {
        assert_eq!(data[at], b't');
        let len = u32::from_be_bytes(data[at + 1..at + 5].try_into().unwrap()) as usize;
        let text = &data[at + 5..at + 5 + len];
        at += 5 + len;
        text
    };
    let id = std::str::from_utf8(column()).unwrap().parse().unwrap();
    let value_len = column().len();
    assert_eq!(at, data.len());
    (id, value_len)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_is_cancel_safe() {
    const TRANSACTIONS: usize = 20;
    const ROWS_PER_TRANSACTION: usize = 100;
    let pg = PgCluster::start();
    pg.psql_script("CREATE TABLE t (id int PRIMARY KEY, v text); CREATE PUBLICATION pub FOR TABLE t;");
    let cfg = config(&pg);
    let mut conn = ReplicationConnection::connect(&cfg).await.unwrap();
    conn.create_logical_slot("s", "pgoutput", false, SlotSnapshot::NoExport)
        .await
        .unwrap();
    let mut stream = conn
        .start_logical_replication("s", Lsn::ZERO, PGOUTPUT_OPTIONS)
        .await
        .unwrap();

    // Rows of varying size, some far bigger than one read, arrive while the consumer keeps
    // abandoning next() for a timer.
    let pg = Arc::new(pg);
    let writer = tokio::task::spawn_blocking({
        let pg = pg.clone();
        move || {
            for tx in 0..TRANSACTIONS {
                let first = tx * ROWS_PER_TRANSACTION;
                pg.psql(&format!(
                    "INSERT INTO t SELECT i, repeat(md5(i::text), (i % 7) * 1000 + 1) \
                 FROM generate_series({first}, {}) i",
                    first + ROWS_PER_TRANSACTION - 1
                ));
            }
        }
    });

    let (mut inserts, mut commits, mut cancelled) = (0, 0, 0u64);
    let mut last_end = Lsn::ZERO;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    while commits < TRANSACTIONS {
        assert!(
            tokio::time::Instant::now() < deadline,
            "stream stalled: {inserts} inserts, {commits} commits"
        );
        tokio::select! {
            m = stream.next() => match m.unwrap().expect("stream ended") {
                ReplicationMessage::XLogData { data, wal_end, .. } => {
                    match data[0] {
                        b'I' => {
                            // Rows arrive in id order, each with its full value: nothing lost,
                            // duplicated or torn.
                            let (id, value_len) = inserted_row(&data);
                            assert_eq!(id, inserts);
                            assert_eq!(value_len, 32 * ((id % 7) * 1000 + 1));
                            inserts += 1;
                        }
                        b'C' => commits += 1,
                        b'B' | b'R' => {}
                        other => panic!("unexpected pgoutput message {:?}", char::from(other)),
                    }
                    last_end = last_end.max(wal_end);
                }
                ReplicationMessage::Keepalive { reply_requested, wal_end, .. } => {
                    if reply_requested {
                        stream.send_status(last_end, last_end, last_end, false).await.unwrap();
                    }
                    last_end = last_end.max(wal_end);
                }
            },
            _ = tokio::time::sleep(Duration::from_micros(100)) => cancelled += 1,
        }
    }
    assert_eq!(
        inserts,
        TRANSACTIONS * ROWS_PER_TRANSACTION,
        "no message lost or duplicated"
    );
    println!("next() was abandoned {cancelled} times");
    writer.await.unwrap();
    stream.finish().await.unwrap();
}
