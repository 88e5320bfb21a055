//! The one rule, tested the hard way: `kill -9` at random moments during a running workload,
//! restart each time, and at the end the JSONL file holds every committed change exactly once,
//! in commit order. The expected changes come from an independent decoder: a `test_decoding`
//! slot created next to Rivulet's, read with plain SQL.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, SystemTime};

use common::*;
use rivulet_testkit::PgCluster;

/// (table, op, id) of every change a test_decoding slot saw, in commit order.
fn oracle_changes(pg: &PgCluster, slot: &str) -> Vec<(String, String, i64)> {
    let text = pg.psql(&format!(
        "SELECT data FROM pg_logical_slot_get_changes('{slot}', NULL, NULL)"
    ));
    let mut out = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("table ") else {
            continue;
        };
        let (table, rest) = rest.split_once(": ").expect("table prefix");
        let (op, cols) = rest.split_once(": ").expect("op");
        let op = match op {
            "INSERT" => "c",
            "UPDATE" => "u",
            "DELETE" => "d",
            "TRUNCATE" => continue,
            other => panic!("unexpected op {other}"),
        };
        let id = cols
            .split(' ')
            .find_map(|c| {
                c.strip_prefix("id[integer]:")
                    .or_else(|| c.strip_prefix("id[bigint]:"))
            })
            .expect("id column")
            .parse()
            .expect("numeric id");
        out.push((table.to_string(), op.to_string(), id));
    }
    out
}

fn rivulet_changes(records: &[serde_json::Value]) -> Vec<(String, String, i64)> {
    records
        .iter()
        .map(|r| {
            let topic = r["topic"].as_str().unwrap();
            let table = topic.strip_prefix("dbz.").unwrap().to_string();
            (
                table,
                r["value"]["op"].as_str().unwrap().to_string(),
                r["key"]["id"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// A deterministic workload of small and large transactions, with pauses so that it runs for a
/// few seconds while Rivulet is killed and restarted.
fn workload() -> String {
    let mut sql = String::new();
    for round in 0..150 {
        let base = round * 100;
        sql.push_str(&format!(
            "INSERT INTO kv SELECT g, g, 'n' || g FROM generate_series({}, {}) g;\n",
            base + 1,
            base + 100
        ));
        sql.push_str(&format!(
            "UPDATE kv SET v = v + 1 WHERE id BETWEEN {} AND {};\n",
            base + 1,
            base + 30
        ));
        sql.push_str(&format!(
            "BEGIN; DELETE FROM kv WHERE id BETWEEN {} AND {}; INSERT INTO log (k, payload) VALUES ({round}, repeat('p', 500)); COMMIT;\n",
            base + 91,
            base + 100
        ));
        if round % 40 == 7 {
            // A large transaction: a kill in its middle must not leave half of it behind.
            sql.push_str(
                "INSERT INTO log (k, payload) SELECT g, repeat('x', 200) FROM generate_series(1, 8000) g;\n",
            );
        }
        sql.push_str("SELECT pg_sleep(0.04);\n");
    }
    sql
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn kill_9_at_random_moments_loses_and_duplicates_nothing() {
    let pg = PgCluster::start();
    pg.psql_script(
        "CREATE TABLE public.kv (id int PRIMARY KEY, v int NOT NULL, note text);
         CREATE TABLE public.log (id bigserial PRIMARY KEY, k int, payload text);",
    );
    let dir = scratch();
    let out_file = dir.path().join("out.jsonl");
    // Frequent checkpoints: more of them are interrupted.
    let config = write_pipeline(
        &pg,
        dir.path(),
        &["public.kv", "public.log"],
        "",
        "flush_interval = \"50ms\"\n\n[format]\ntombstones_on_delete = false\n",
    );
    run_to_end(&pg, &config, &[]);
    pg.psql("SELECT pg_create_logical_replication_slot('oracle', 'test_decoding')");

    let seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("random seed {seed}");
    let mut rng = Rng(seed);
    let mut kills = 0;
    let mut grew_between_kills = 0;
    let script = workload();
    std::thread::scope(|scope| {
        let worker = scope.spawn(|| pg.psql_script(&script));
        while !worker.is_finished() {
            let before = line_count(&out_file);
            let mut child = spawn_run(&config, &[]);
            std::thread::sleep(Duration::from_millis(100 + rng.next() % 600));
            signal(&child, "KILL");
            child.wait().unwrap();
            kills += 1;
            if line_count(&out_file) > before {
                grew_between_kills += 1;
            }
        }
        worker.join().unwrap();
    });
    // One last run with no kill, up to the end of the workload.
    run_to_end(&pg, &config, &[]);

    let expected = oracle_changes(&pg, "oracle");
    let got = rivulet_changes(&read_jsonl(&out_file));
    println!(
        "{kills} kills, {grew_between_kills} of them after progress; {} changes",
        expected.len()
    );
    assert!(
        kills >= 3 && grew_between_kills >= 2,
        "the test must actually interrupt streaming (kills={kills})"
    );
    assert_eq!(got.len(), expected.len(), "same number of changes (seed {seed})");
    if let Some(i) = (0..got.len()).find(|&i| got[i] != expected[i]) {
        panic!(
            "first difference at change {i}: rivulet {:?} vs PostgreSQL {:?} (seed {seed})",
            got[i], expected[i]
        );
    }
}

/// What a first run left behind when it was killed during its snapshot of `public.big`.
struct Interrupted {
    /// Rows in the table (every one must end up in the file exactly once).
    rows: i64,
    /// Bytes and complete lines the killed run had written.
    bytes: u64,
    lines: usize,
    /// Chunks its offsets record as done, of how many.
    done_chunks: usize,
    total_chunks: usize,
}

impl Interrupted {
    fn mid_snapshot(&self) -> bool {
        self.bytes > 0 && (self.lines as i64) < self.rows
    }
}

/// A first run (no offsets, no slot) snapshots `public.big` in `chunks` chunks and is killed
/// with -9 as soon as `ready(out file, rows)` holds. When the kill came too late for `wanted` (the
/// snapshot had finished, or got further than the test needs), everything starts over with a
/// table twice as large, a few times: a test that never interrupts what it means to must fail,
/// not pass without having tested anything.
fn interrupt_first_snapshot(
    pg: &PgCluster,
    dir: &std::path::Path,
    chunks: i64,
    ready: impl Fn(&std::path::Path, i64) -> bool,
    wanted: impl Fn(&Interrupted) -> bool,
) -> (std::path::PathBuf, Interrupted) {
    let out = dir.join("out.jsonl");
    let offsets = dir.join("offsets.json");
    let mut rows = 60_000;
    pg.psql_script(&format!(
        "CREATE TABLE public.big (id bigint PRIMARY KEY, v int NOT NULL, note text);
         INSERT INTO public.big SELECT g, g, 'row ' || g FROM generate_series(1, {rows}) g;"
    ));
    for attempt in 1..=5 {
        pg.psql("ANALYZE public.big");
        // Checkpoints during the snapshot come only from the snapshot itself: the interval is
        // far longer than the test.
        let config = write_pipeline(
            pg,
            dir,
            &["public.big"],
            &format!(
                "snapshot = \"initial\"\nsnapshot_chunk_rows = {}\nsnapshot_parallelism = 2",
                rows / chunks
            ),
            "flush_interval = \"1h\"\n",
        );
        let mut child = spawn_run(&config, &[]);
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        while !ready(&out, rows) && child.try_wait().unwrap().is_none() {
            assert!(std::time::Instant::now() < deadline, "the snapshot never started");
            std::thread::sleep(Duration::from_millis(2));
        }
        signal(&child, "KILL");
        child.wait().unwrap();
        let (done_chunks, total_chunks) = chunks_done(&offsets);
        let left = Interrupted {
            rows,
            bytes: std::fs::metadata(&out).map_or(0, |m| m.len()),
            lines: line_count(&out),
            done_chunks,
            total_chunks,
        };
        if left.mid_snapshot() && wanted(&left) {
            return (config, left);
        }
        println!(
            "attempt {attempt}: killed too late ({} of {rows} rows, {done_chunks} chunks done): again with more rows",
            left.lines
        );
        start_over(pg, &out, &offsets);
        pg.psql(&format!(
            "INSERT INTO public.big SELECT g, g, 'row ' || g FROM generate_series({}, {}) g",
            rows + 1,
            rows * 2
        ));
        rows *= 2;
    }
    panic!("could not kill the first snapshot where the test needs it in 5 attempts");
}

/// (done, total) chunks of the snapshot plan in the offsets file; (0, 0) without one.
fn chunks_done(offsets: &std::path::Path) -> (usize, usize) {
    let Ok(text) = std::fs::read_to_string(offsets) else {
        return (0, 0);
    };
    let cp: serde_json::Value = serde_json::from_str(&text).unwrap();
    let chunks: Vec<&serde_json::Value> = cp["position"]["source_state"]["snapshot"]["tables"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|t| t["chunks"].as_array().into_iter().flatten())
        .collect();
    let done = chunks.iter().filter(|c| c["done_at"].is_string()).count();
    (done, chunks.len())
}

/// Back to a pipeline that never ran: no slot, no output, no offsets.
fn start_over(pg: &PgCluster, out: &std::path::Path, offsets: &std::path::Path) {
    // The killed run's walsender may hold the slot for a moment.
    wait_for("the slot to be released", Duration::from_secs(30), || {
        pg.psql(
            "SELECT count(pg_drop_replication_slot(slot_name)) FROM pg_replication_slots \
             WHERE slot_name = 'rivulet_test' AND NOT active",
        );
        pg.psql("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'rivulet_test'") == "0"
    });
    let _ = std::fs::remove_file(out);
    let _ = std::fs::remove_file(offsets);
}

/// The file holds exactly one `r` event for each of the table's `rows` keys, 1..=rows.
fn assert_one_read_per_row(out: &std::path::Path, rows: i64) {
    let mut seen = std::collections::BTreeMap::<i64, usize>::new();
    for r in read_jsonl(out) {
        assert_eq!(r["value"]["op"], "r", "only snapshot rows were expected: {r}");
        *seen.entry(r["key"]["id"].as_i64().unwrap()).or_default() += 1;
    }
    let repeated: Vec<(&i64, &usize)> = seen.iter().filter(|(_, n)| **n > 1).collect();
    let total: usize = seen.values().sum();
    assert!(
        repeated.is_empty(),
        "{} of {rows} keys delivered more than once ({total} r events), e.g. {:?}",
        repeated.len(),
        &repeated[..repeated.len().min(3)]
    );
    let missing: Vec<i64> = (1..=rows).filter(|id| !seen.contains_key(id)).collect();
    assert!(
        missing.is_empty(),
        "{} keys missing, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(3)]
    );
    assert_eq!(seen.len() as i64, rows, "no keys beyond the table's");
}

#[test]
fn kill_9_before_the_first_checkpoint_of_the_first_snapshot_repeats_no_row() {
    let pg = PgCluster::start();
    let dir = scratch();
    // Killed while the first chunk is still being written: no chunk done, so nothing but the
    // file's length at the first start can tell the restart where to cut.
    let (config, left) = interrupt_first_snapshot(
        &pg,
        dir.path(),
        3,
        |out, _| std::fs::metadata(out).is_ok_and(|m| m.len() > 0),
        |left| left.done_chunks == 0,
    );
    println!(
        "killed after {} bytes, {} of {} rows",
        left.bytes, left.lines, left.rows
    );
    run_to_end(&pg, &config, &[]);
    assert_one_read_per_row(&dir.path().join("out.jsonl"), left.rows);
}

#[test]
fn kill_9_after_some_chunks_of_the_first_snapshot_resumes_at_the_last_one() {
    let pg = PgCluster::start();
    let dir = scratch();
    let (config, left) = interrupt_first_snapshot(
        &pg,
        dir.path(),
        30,
        |out, rows| line_count(out) as i64 >= rows / 3,
        |_| true,
    );
    println!(
        "killed after {} of {} rows, {} of {} chunks checkpointed",
        left.lines, left.rows, left.done_chunks, left.total_chunks
    );
    // A third of the rows were written, and the interval never came: only checkpoints that
    // follow chunks can have recorded them.
    assert!(
        left.done_chunks > 0 && left.done_chunks < left.total_chunks,
        "a checkpoint follows every chunk: {} of {} chunks recorded after {} of {} rows",
        left.done_chunks,
        left.total_chunks,
        left.lines,
        left.rows
    );
    let log = run_to_end(&pg, &config, &[]);
    let log = String::from_utf8_lossy(&log.stderr);
    assert!(
        log.contains(&format!("chunks={}", left.total_chunks - left.done_chunks)),
        "the restart reads only the chunks left:\n{log}"
    );
    assert_one_read_per_row(&dir.path().join("out.jsonl"), left.rows);
}

/// Whether the offsets file records as done the first key chunk (`first`, no lower bound) or
/// the last one (no upper bound).
fn end_chunk_done(offsets: &std::path::Path, first: bool) -> bool {
    let Ok(text) = std::fs::read_to_string(offsets) else {
        return false;
    };
    let cp: serde_json::Value = serde_json::from_str(&text).unwrap();
    let open_end = if first { "lower" } else { "upper" };
    cp["position"]["source_state"]["snapshot"]["tables"][0]["chunks"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["range"][open_end].is_null() && c["done_at"].is_string())
}

#[test]
fn a_key_change_between_the_chunks_of_a_resumed_snapshot_keeps_its_unchanged_toast_value() {
    let pg = PgCluster::start();
    let dir = scratch();
    let offsets = dir.path().join("offsets.json");
    // The first chunk (the lowest keys) is read, the last one (the highest) is not.
    let (config, left) = interrupt_first_snapshot(
        &pg,
        dir.path(),
        30,
        |out, rows| line_count(out) as i64 >= rows / 3,
        |_| end_chunk_done(&offsets, true) && !end_chunk_done(&offsets, false),
    );
    // While it is down, the highest row gets an out-of-line value, then moves into the first
    // chunk's range with that value unchanged (so the WAL does not carry it). The resumed
    // snapshot reads the last chunk after the move: neither read has the row.
    pg.psql_script(&format!(
        "ALTER TABLE public.big ALTER note SET STORAGE EXTERNAL;
         UPDATE public.big SET note = repeat(md5('moved'), 190) WHERE id = {rows};
         UPDATE public.big SET id = -1, v = -1 WHERE id = {rows};",
        rows = left.rows
    ));
    run_to_end(&pg, &config, &[]);
    let expected = pg.psql("SELECT note FROM public.big WHERE id = -1");
    let created: Vec<serde_json::Value> = read_jsonl(&dir.path().join("out.jsonl"))
        .into_iter()
        .filter(|r| r["key"]["id"] == -1)
        .collect();
    assert_eq!(created.len(), 1, "one event for the moved row: {created:?}");
    assert_eq!(created[0]["value"]["op"], "c");
    let note = created[0]["value"]["after"]["note"].as_str().unwrap_or_default();
    assert!(
        note == expected,
        "the moved row's unchanged value is read back from the table, got {:?}",
        &note[..note.len().min(40)]
    );
}
