//! Shared helpers for the end-to-end tests: a pipeline file for a throwaway cluster, running
//! the real `rivulet` binary, and reading what it wrote.

#![allow(clippy::unwrap_used)]
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use rivulet_testkit::PgCluster;
use serde_json::Value;

pub fn rivulet_bin() -> &'static str {
    env!("CARGO_BIN_EXE_rivulet")
}

/// A scratch directory for one test's files (pipeline, output, offsets).
pub fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("rivulet-e2e-")
        .tempdir()
        .expect("tempdir")
}

/// Writes a pipeline file streaming `tables` from `pg` to `dir/out.jsonl`, with offsets in
/// `dir/offsets.json`. `extra` is appended verbatim (more sections or keys).
pub fn write_pipeline(
    pg: &PgCluster,
    dir: &Path,
    tables: &[&str],
    source_extra: &str,
    extra: &str,
) -> PathBuf {
    let tables: Vec<String> = tables.iter().map(|t| format!("\"{t}\"")).collect();
    let text = format!(
        r#"name = "test"

[source]
type = "postgres"
url = "{url}"
tables = [{tables}]
slot = "rivulet_test"
publication = "rivulet_test"
topic_prefix = "dbz"
{source_extra}

[sink]
type = "jsonl"
path = "{out}"

[offsets]
path = "{offsets}"
{extra}
"#,
        url = pg.url(),
        tables = tables.join(", "),
        out = dir.join("out.jsonl").display(),
        offsets = dir.join("offsets.json").display(),
    );
    let path = dir.join("pipeline.toml");
    std::fs::write(&path, text).expect("write pipeline");
    path
}

pub fn command(args: &[&str]) -> Command {
    let mut c = Command::new(rivulet_bin());
    c.args(args)
        .env("RIVULET_LOG", "info")
        .env_remove("RUST_LOG")
        .env_remove("PGPASSWORD");
    c
}

/// Runs `rivulet run` until `--endpos` (the server's current WAL position, unless given).
pub fn run_to_end(pg: &PgCluster, config: &Path, extra: &[&str]) -> Output {
    let endpos = pg.current_lsn();
    let mut args = vec![
        "run",
        "--config",
        config.to_str().expect("utf-8 path"),
        "--endpos",
        &endpos,
    ];
    args.extend_from_slice(extra);
    let out = command(&args).output().expect("run rivulet");
    assert!(
        out.status.success(),
        "rivulet run failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn spawn_run(config: &Path, extra: &[&str]) -> Child {
    let mut args = vec!["run", "--config", config.to_str().expect("utf-8 path")];
    args.extend_from_slice(extra);
    command(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rivulet")
}

/// The complete lines of a JSONL file (a line still being written, without its newline, is
/// left out: tests poll files that Rivulet is writing).
pub fn read_jsonl(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let complete = text.rfind('\n').map_or("", |end| &text[..=end]);
    complete
        .lines()
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{}:{}: not JSON ({e}): {l}", path.display(), i + 1))
        })
        .collect()
}

/// Polls until `f` holds or the deadline passes (generous: CI machines are slow and busy).
pub fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn line_count(path: &Path) -> usize {
    std::fs::read(path)
        .map(|b| b.iter().filter(|c| **c == b'\n').count())
        .unwrap_or(0)
}

/// Sends a signal with kill(1): the tests stay free of unsafe code.
pub fn signal(child: &Child, sig: &str) {
    let status = Command::new("kill")
        .args([&format!("-{sig}"), &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill -{sig} failed");
}

/// (topic, op, key) of each record, tombstones as op "tombstone".
pub fn summary(records: &[Value]) -> Vec<(String, String, Value)> {
    records
        .iter()
        .map(|r| {
            let op = match &r["value"] {
                Value::Null => "tombstone".to_string(),
                v => v["op"].as_str().unwrap_or("?").to_string(),
            };
            (
                r["topic"].as_str().unwrap_or("?").to_string(),
                op,
                r["key"].clone(),
            )
        })
        .collect()
}

/// Runs `rivulet run --config CONFIG --endpos <now>` under strace and returns the paths it
/// fsynced successfully (a power cut cannot be staged in a test; the syscalls can be watched).
pub fn fsynced_paths(pg: &PgCluster, config: &Path) -> std::collections::HashSet<String> {
    if !Command::new("strace")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        panic!("strace is needed for this test: ./test installs it (apt-get install strace)");
    }
    let trace = config.with_file_name("fsync.trace");
    let endpos = pg.current_lsn();
    let run = Command::new("strace")
        .args(["-f", "-y", "-e", "trace=fsync,fdatasync", "-o"])
        .arg(&trace)
        .arg(rivulet_bin())
        .args([
            "run",
            "--config",
            config.to_str().expect("utf-8 path"),
            "--endpos",
            &endpos,
        ])
        .env("RIVULET_LOG", "info")
        .output()
        .expect("run strace");
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    std::fs::read_to_string(&trace)
        .expect("strace output")
        .lines()
        // A call another thread interrupted shows its path on an "<unfinished ...>" line and
        // its result on a later "resumed" one; a failed fsync fails the run, checked above.
        .filter(|l| l.contains("fsync(") && !l.contains("= -1"))
        .filter_map(|l| {
            Some(
                l.split_once("fsync(")?
                    .1
                    .split_once('<')?
                    .1
                    .split_once('>')?
                    .0
                    .to_string(),
            )
        })
        .collect()
}

/// Key changes of rows whose out-of-line (TOAST) value the update did not send: one table of
/// cases that every mirroring sink's tests run (issue 12). Tables `public.tk` (single key) and
/// `public.tc` (composite key), `big` stored out of line. Each step is applied and delivered on
/// its own (a batch of its own), so the unchanged values must come from the batch or from the
/// target.
pub const TOAST_KEY_SETUP: &str = "
    CREATE TABLE public.tk (id int PRIMARY KEY, n int NOT NULL, big text NOT NULL);
    ALTER TABLE public.tk ALTER big SET STORAGE EXTERNAL;
    CREATE TABLE public.tc (a int, b int, n int NOT NULL, big text NOT NULL, PRIMARY KEY (a, b));
    ALTER TABLE public.tc ALTER big SET STORAGE EXTERNAL;
    INSERT INTO tk SELECT g, 0, repeat(md5(g::text), 190) FROM generate_series(1, 8) g;
    INSERT INTO tc SELECT g, g, 0, repeat(md5('c' || g), 190) FROM generate_series(1, 4) g;";

/// (what the step does, its SQL).
pub const TOAST_KEY_STEPS: &[(&str, &str)] = &[
    (
        "a key change of a row applied in an earlier batch",
        "UPDATE tk SET id = 101, n = 1 WHERE id = 1;",
    ),
    (
        "an insert and its key change in one batch",
        "INSERT INTO tk VALUES (9, 0, repeat(md5('nine'), 190)); UPDATE tk SET id = 109, n = 1 WHERE id = 9;",
    ),
    (
        "two key changes of one row in one transaction",
        "BEGIN; UPDATE tk SET id = 102 WHERE id = 2; UPDATE tk SET id = 202, n = 2 WHERE id = 102; COMMIT;",
    ),
    (
        "a key change, then an update of the moved row in the same transaction",
        "BEGIN; UPDATE tk SET id = 103 WHERE id = 3; UPDATE tk SET n = 3 WHERE id = 103; COMMIT;",
    ),
    (
        "a key change, then the old key inserted again",
        "BEGIN; UPDATE tk SET id = 104 WHERE id = 4; INSERT INTO tk VALUES (4, 4, repeat('new', 700)); COMMIT;",
    ),
    (
        "keys swapped through a free key",
        "BEGIN; UPDATE tk SET id = 0 WHERE id = 5; UPDATE tk SET id = 5 WHERE id = 6; \
         UPDATE tk SET id = 6 WHERE id = 0; COMMIT;",
    ),
    (
        "a composite key with one column changed",
        "UPDATE tc SET b = 10, n = 1 WHERE a = 1; UPDATE tc SET a = 20 WHERE a = 2;",
    ),
];
