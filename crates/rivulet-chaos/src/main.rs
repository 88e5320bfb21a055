//! `rivulet-chaos`: the fault-injection suite. For each sink and trial it starts throwaway
//! servers, runs a seeded random workload against seeded tables while injecting random faults
//! (kill -9 of Rivulet, immediate restarts of the source and the target, cut connections, S3
//! restarts), catches up to `--endpos`, and compares every table with the source. One line per
//! trial, a summary, exit 1 on any mismatch, duplicate or error; every failure prints the seed
//! that reproduces its workload and fault schedule.
//!
//! ```text
//!  seed ─▶ schedule ─────────────▶ faults ──┐
//!     └──▶ sessions (psql) ─▶ source ◀──proxy── rivulet ─▶ sink
//!                               │                           │ read back / replay
//!                               └──── chaos_verify.<t> ◀────┘  count, md5, EXCEPT ALL
//! ```

#![allow(clippy::print_stderr)]

mod faults;
mod readback;
mod replay;
mod rivulet;
mod rng;
mod s3;
mod sinks;
mod tables;
mod trial;
mod verify;
mod workload;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;

use crate::faults::describe;
use crate::sinks::Sink;
use crate::trial::{TrialOutcome, TrialSpec};

#[derive(Parser, Debug)]
#[command(about = "Seeded fault injection against Rivulet's sinks, verified against the source")]
struct Args {
    /// Sinks to test (repeat, or `all`).
    #[arg(long = "sink", value_parser = parse_sinks, default_value = "all")]
    sinks: Vec<Vec<Sink>>,
    /// Trials per sink.
    #[arg(long, default_value_t = 3)]
    trials: u64,
    /// Trial i (from 0) of each sink uses seed S+i: `--seed S+i --trials 1` repeats it.
    #[arg(long)]
    seed: Option<u64>,
    /// Faults per trial (the first is a kill -9 during the initial snapshot).
    #[arg(long, default_value_t = 8)]
    faults_per_trial: usize,
    /// How long the workload (and the faults) run per trial.
    #[arg(long, default_value = "15s", value_parser = humantime_secs)]
    workload: Duration,
    /// Rows of the main table before the snapshot (the other tables get fewer).
    #[arg(long, default_value_t = 3000)]
    rows: u64,
    /// Concurrent workload sessions.
    #[arg(long, default_value_t = 3)]
    sessions: u64,
    /// The rivulet binary; default: `rivulet` next to this binary (the same target dir).
    #[arg(long)]
    rivulet: Option<PathBuf>,
    /// Keep each trial's directory (pipeline, logs, sink output) even when it passes.
    #[arg(long)]
    keep: bool,
}

fn parse_sinks(s: &str) -> Result<Vec<Sink>, String> {
    if s == "all" {
        return Ok(Sink::ALL.to_vec());
    }
    s.split(',')
        .map(|n| <Sink as clap::ValueEnum>::from_str(n.trim(), true))
        .collect()
}

/// `15s`, `2m` or plain seconds.
fn humantime_secs(s: &str) -> Result<Duration, String> {
    let (n, unit) = s
        .find(|c: char| !c.is_ascii_digit())
        .map_or((s, "s"), |i| s.split_at(i));
    let n: u64 = n.parse().map_err(|_| format!("not a duration: {s}"))?;
    match unit {
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        "ms" => Ok(Duration::from_millis(n)),
        _ => Err(format!("not a duration: {s} (use 15s, 2m or 500ms)")),
    }
}

fn default_rivulet() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("rivulet")))
        .unwrap_or_else(|| PathBuf::from("rivulet"))
}

#[derive(Default)]
struct Totals {
    trials: u64,
    passed: u64,
    faults: usize,
    lost: u64,
    duplicated: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let seed = args.seed.unwrap_or_else(random_seed);
    let rivulet = args.rivulet.clone().unwrap_or_else(default_rivulet);
    if !rivulet.exists() {
        eprintln!(
            "error: {} is missing: build it (cargo build -p rivulet) or pass --rivulet",
            rivulet.display()
        );
        return ExitCode::from(2);
    }
    let mut sinks: Vec<Sink> = args.sinks.iter().flatten().copied().collect();
    sinks.dedup();
    println!(
        "chaos: seed {seed}, sinks {}, {} trials each, rivulet {}",
        names(&sinks),
        args.trials,
        rivulet.display()
    );
    let mut totals = Totals::default();
    for sink in sinks {
        for i in 0..args.trials {
            let spec = TrialSpec {
                sink,
                seed: seed.wrapping_add(i),
                faults: args.faults_per_trial,
                workload: args.workload,
                rows: args.rows,
                sessions: args.sessions,
                rivulet: rivulet.clone(),
                keep: args.keep,
            };
            one_trial(i, &spec, &mut totals);
        }
    }
    println!(
        "chaos: {} trials, {} faults, {} lost, {} duplicated",
        totals.trials, totals.faults, totals.lost, totals.duplicated
    );
    println!(
        "{} passed, {} failed",
        totals.passed,
        totals.trials - totals.passed
    );
    if totals.passed == totals.trials {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn names(sinks: &[Sink]) -> String {
    sinks.iter().map(|s| s.name()).collect::<Vec<_>>().join(",")
}

fn random_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64 % 1_000_000_000)
}

fn one_trial(i: u64, spec: &TrialSpec, totals: &mut Totals) {
    let started = Instant::now();
    let head = format!("trial {i} sink={} seed={}", spec.sink, spec.seed);
    let repro = format!(
        "reproduce: rivulet-chaos --sink {} --seed {} --trials 1",
        spec.sink, spec.seed
    );
    totals.trials += 1;
    match trial::run(spec) {
        Ok(o) => {
            totals.faults += o.faults.len();
            totals.lost += o.lost();
            totals.duplicated += o.readback.duplicates;
            let line = summary(&head, &o, started.elapsed(), spec.sink);
            if o.ok() {
                totals.passed += 1;
                println!("{line} ok");
            } else {
                println!("{line} FAILED ({repro}; files in {})", o.dir.display());
                for detail in failures(&o) {
                    println!("  {detail}");
                }
            }
            if let Some(e) = o.self_exits.last() {
                println!(
                    "  note: rivulet exited by itself {} times, last: {e}",
                    o.self_exits.len()
                );
            }
        }
        Err(e) => println!("{head} ERROR: {e:#} ({repro})"),
    }
}

fn summary(head: &str, o: &TrialOutcome, took: Duration, sink: Sink) -> String {
    // Only the replica sink's flush can be seen from outside (its open target transaction).
    let flush = if sink == Sink::Postgres {
        format!(", {} in a replica flush", o.flush_kills)
    } else {
        String::new()
    };
    // The replica is read as a table, not as events.
    let events = if sink == Sink::Postgres {
        String::new()
    } else {
        format!(" events={}", o.readback.events)
    };
    format!(
        "{head} faults={} ({}; {} in snapshot{flush}) tables={} rows={}{events} \
         txs={} ({} rolled back, {} failed, {} ddl) in {:.0}s",
        o.faults.len(),
        describe(&o.faults),
        o.snapshot_kills,
        o.tables.len(),
        o.source_rows(),
        o.stats.committed,
        o.stats.rolled_back,
        o.stats.failed,
        o.stats.ddl,
        took.as_secs_f64()
    )
}

fn failures(o: &TrialOutcome) -> Vec<String> {
    let mut out = Vec::new();
    for (t, r) in &o.tables {
        if !r.ok() {
            out.push(format!(
                "MISMATCH table {t}: expected {} rows, got {} ({} lost or wrong, {} extra, checksum {})",
                r.source_rows,
                r.sink_rows,
                r.missing,
                r.extra,
                if r.checksum_equal { "equal" } else { "differs" }
            ));
            out.extend(r.examples.iter().map(|e| format!("  {t} {e}")));
        }
    }
    if o.readback.duplicates > 0 {
        out.push(format!(
            "DUPLICATED: {} changes delivered twice, e.g. {:?}",
            o.readback.duplicates, o.readback.duplicate_examples
        ));
    }
    if o.readback.unresolved > 0 {
        out.push(format!(
            "{} unchanged-TOAST placeholders with no earlier value in the sink",
            o.readback.unresolved
        ));
    }
    out
}
