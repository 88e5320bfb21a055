//! Reads back what a sink wrote as rows per table: replayed events for JSONL, Kafka and the
//! files sink; the table itself for Delta (plus its change data feed's consistency).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use rivulet_testkit::kafka::tools_dir;
use serde_json::{Map, Value};

use crate::replay::{self, Event, Replay};
use crate::tables::Table;

/// Rows per table and what the read-back noticed on the way.
#[derive(Default)]
pub struct Readback {
    pub rows: HashMap<String, Vec<Map<String, Value>>>,
    pub events: u64,
    /// Changes delivered twice (exactly-once sinks must have none).
    pub duplicates: u64,
    pub duplicate_examples: Vec<String>,
    /// Unchanged-TOAST placeholders no earlier value could fill.
    pub unresolved: u64,
}

fn keys(tables: &[Table]) -> HashMap<String, Vec<String>> {
    tables
        .iter()
        .map(|t| (t.name.to_string(), t.key.iter().map(|k| k.to_string()).collect()))
        .collect()
}

fn finish(replay: Replay) -> Readback {
    let mut out = Readback {
        events: replay.events,
        duplicates: replay.duplicates,
        duplicate_examples: replay.duplicate_examples,
        ..Readback::default()
    };
    for (table, state) in replay.tables {
        out.unresolved += state.unresolved;
        out.rows.insert(table, state.into_rows());
    }
    out
}

/// Debezium records, one JSON object per line (the JSONL sink's file, or what the Kafka tool
/// consumed), in delivery order.
pub fn debezium_lines(path: &Path, tables: &[Table]) -> Result<Readback> {
    let lake = script("scripts/chaos_lake.py");
    let out = run_python(
        &[
            lake.to_str().unwrap_or_default(),
            "records",
            path.to_str().unwrap_or_default(),
        ],
        &[],
    )
    .with_context(|| format!("read {}", path.display()))?;
    let text = String::from_utf8_lossy(&out);
    let mut replay = Replay::new(keys(tables));
    for (i, line) in text.lines().enumerate() {
        let record: Value =
            serde_json::from_str(line).with_context(|| format!("{}:{}: not JSON", path.display(), i + 1))?;
        if let Some(e) = replay::from_debezium(&record) {
            replay.apply(e);
        }
    }
    Ok(finish(replay))
}

fn python() -> PathBuf {
    tools_dir().join("venv/bin/python")
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(name)
}

fn run_python(args: &[&str], env: &[(String, String)]) -> Result<Vec<u8>> {
    let mut c = Command::new(python());
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c
        .output()
        .context("run the tools venv's python (./test installs it)")?;
    if !out.status.success() {
        bail!("{args:?} failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(out.stdout)
}

/// Every record of the trial's topics, read committed (the sink is transactional).
pub fn kafka(bootstrap: &str, tables: &[Table], out: &Path) -> Result<Readback> {
    let topics: Vec<String> = tables
        .iter()
        .map(|t| format!("chaos.public.{}", t.name))
        .collect();
    let tool = script("../../scripts/kafka_tool.py");
    run_python(
        &[
            tool.to_str().unwrap_or_default(),
            "--bootstrap",
            bootstrap,
            "consume",
            "--topics",
            &topics.join(","),
            "--out",
            out.to_str().unwrap_or_default(),
            "--read-committed",
            "--idle",
            "3",
        ],
        &[],
    )?;
    debezium_lines(out, tables)
}

/// The files sink's Parquet files: snapshot files first, then changes in LSN order.
pub fn files(root: &str, tables: &[Table], env: &[(String, String)]) -> Result<Readback> {
    let lake = script("scripts/chaos_lake.py");
    let out = run_python(&[lake.to_str().unwrap_or_default(), "files", root], env)?;
    let mut events: Vec<(bool, u64, String, u64, Event)> = Vec::new();
    for line in String::from_utf8_lossy(&out).lines() {
        let v: Value = serde_json::from_str(line)?;
        let file = v["file"].as_str().unwrap_or_default().to_string();
        let table = file
            .split('/')
            .nth(1)
            .and_then(|t| t.strip_prefix("public."))
            .unwrap_or_default()
            .to_string();
        let row = v["row"].as_object().cloned().unwrap_or_default();
        if let Some(e) = replay::from_files_row(&table, row) {
            events.push((
                file.starts_with("inc/"),
                e.lsn,
                file,
                v["idx"].as_u64().unwrap_or(0),
                e,
            ));
        }
    }
    events.sort_by(|a, b| (a.0, a.1, &a.2, a.3).cmp(&(b.0, b.1, &b.2, b.3)));
    let mut replay = Replay::new(keys(tables));
    for (.., e) in events {
        replay.apply(e);
    }
    Ok(finish(replay))
}

/// Creates a bucket with the independent client.
pub fn create_bucket(name: &str, env: &[(String, String)]) -> Result<()> {
    let lake = script("scripts/chaos_lake.py");
    run_python(&[lake.to_str().unwrap_or_default(), "bucket", name], env).map(drop)
}

/// The Delta tables under `lake` (a directory or an s3:// URL) as they are, and the change
/// data feed's inconsistencies as duplicates.
pub fn delta(lake: &str, tables: &[Table], env: &[(String, String)]) -> Result<Readback> {
    let script = script("scripts/chaos_lake.py");
    let mut out = Readback::default();
    for t in tables {
        let uri = format!("{lake}/public.{}", t.name);
        let text = run_python(
            &[
                script.to_str().unwrap_or_default(),
                "delta",
                &uri,
                &t.key.join(","),
            ],
            env,
        )?;
        let v: Value = serde_json::from_slice(&text)?;
        let rows: Vec<Map<String, Value>> = v["rows"]
            .as_array()
            .map(|a| a.iter().filter_map(|r| r.as_object().cloned()).collect())
            .unwrap_or_default();
        out.events += v["cdf_changes"].as_u64().unwrap_or(0);
        out.duplicates += v["cdf_error_count"].as_u64().unwrap_or(0);
        for e in v["cdf_errors"].as_array().into_iter().flatten().take(3) {
            out.duplicate_examples
                .push(format!("{}: {}", t.name, e.as_str().unwrap_or_default()));
        }
        out.unresolved += rows
            .iter()
            .flat_map(|r| r.values())
            .filter(|x| replay::is_placeholder(x))
            .count() as u64;
        out.rows.insert(t.name.to_string(), rows);
    }
    Ok(out)
}
