//! The short form of the fault-injection suite, part of `./test`: per sink, two trials of a
//! small workload with a few faults (a kill -9 inside the initial snapshot first), run by the
//! real `rivulet-chaos` binary against the `rivulet` binary of the same target directory.
//! The long form is `bench/chaos.sh`. Each run draws a new seed (so repeated runs explore);
//! `RIVULET_CHAOS_SEED=N` fixes it, e.g. to repeat a failure the report names.

use std::path::PathBuf;
use std::process::Command;

/// `rivulet` next to `rivulet-chaos`: a workspace build (`./test`) builds both.
fn rivulet_bin() -> PathBuf {
    let chaos = PathBuf::from(env!("CARGO_BIN_EXE_rivulet-chaos"));
    let bin = chaos.with_file_name("rivulet");
    assert!(
        bin.exists(),
        "{} is missing: build it first (cargo build -p rivulet); ./test builds the whole workspace",
        bin.display()
    );
    bin
}

/// Runs two short trials against `sink` and fails with the tool's report (which names the
/// seed that reproduces a failure) unless every trial passed.
fn short_run(sink: &str) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rivulet-chaos"));
    if let Ok(seed) = std::env::var("RIVULET_CHAOS_SEED") {
        cmd.args(["--seed", &seed]);
    }
    let out = cmd
        .args(["--sink", sink, "--trials", "2", "--faults-per-trial", "4"])
        .args(["--workload", "6s", "--rows", "1000", "--sessions", "2"])
        .arg("--rivulet")
        .arg(rivulet_bin())
        .output()
        .expect("run rivulet-chaos");
    let report = String::from_utf8_lossy(&out.stdout);
    println!("{report}");
    assert!(
        out.status.success() && report.contains("2 passed, 0 failed"),
        "the fault-injection run against the {sink} sink failed ({}):\n{report}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn chaos_postgres() {
    short_run("postgres");
}

#[test]
fn chaos_jsonl() {
    short_run("jsonl");
}

#[test]
fn chaos_delta() {
    short_run("delta");
}

#[test]
fn chaos_files() {
    short_run("files");
}

#[test]
fn chaos_kafka() {
    short_run("kafka");
}
