//! Faults and their schedule. A schedule is drawn from the trial's seed before anything runs,
//! so `--seed` brings the same faults back at the same offsets (the system's timing still
//! varies; the seed reproduces what was done, not every interleaving).

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Result, bail};
use rivulet_testkit::{PgCluster, pg_bin_dir};

use crate::rng::Rng;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FaultKind {
    /// SIGKILL of Rivulet, then a new process.
    Kill9,
    /// `pg_ctl -m immediate` on the source, then a start: a crash of the source server.
    SourceRestart,
    /// The same for the replica's target server.
    TargetRestart,
    /// Every connection through the proxy between Rivulet and the source closed at once.
    Cut,
    /// SIGKILL of the S3 server, then a start with the same data.
    S3Restart,
}

impl FaultKind {
    pub fn label(self) -> &'static str {
        match self {
            FaultKind::Kill9 => "kill9",
            FaultKind::SourceRestart => "src-restart",
            FaultKind::TargetRestart => "tgt-restart",
            FaultKind::Cut => "cut",
            FaultKind::S3Restart => "s3-restart",
        }
    }
}

/// One fault, `at` after the pipeline's first start.
#[derive(Clone, Copy, Debug)]
pub struct Fault {
    pub at: Duration,
    pub kind: FaultKind,
    /// How long the faulty part stays down (restarts) or how long before Rivulet comes back.
    pub down: Duration,
    /// A kill -9 that waits for the snapshot to start (Rivulet's log says "reading the
    /// snapshot") and strikes `down` later, so it lands inside the snapshot.
    pub in_snapshot: bool,
    /// A kill -9 that first waits (briefly) for the replica sink's apply transaction to be
    /// open in the target, so it lands inside a flush. Only the replica sink shows its flush
    /// from outside; elsewhere the flag is ignored.
    pub in_flush: bool,
}

/// `count` faults of `kinds` over `span`. The first is always a kill -9 inside the initial
/// snapshot (before its first checkpoint, or between chunk checkpoints).
pub fn schedule(rng: &mut Rng, kinds: &[FaultKind], count: usize, span: Duration) -> Vec<Fault> {
    let mut faults = Vec::with_capacity(count);
    if count == 0 {
        return faults;
    }
    faults.push(Fault {
        at: Duration::ZERO,
        kind: FaultKind::Kill9,
        down: Duration::from_millis(rng.range(0, 250)),
        in_snapshot: true,
        in_flush: false,
    });
    let span_ms = span.as_millis().max(2000) as u64;
    for _ in 1..count {
        // Kill -9 half of the time: the cheapest fault, and the one that hits flushes.
        let kind = if rng.chance(50) {
            FaultKind::Kill9
        } else {
            *rng.pick(kinds)
        };
        faults.push(Fault {
            at: Duration::from_millis(rng.range(1000, span_ms)),
            kind,
            down: Duration::from_millis(rng.range(0, 1500)),
            in_snapshot: false,
            in_flush: kind == FaultKind::Kill9 && rng.chance(50),
        });
    }
    faults.sort_by_key(|f| f.at);
    faults
}

/// `kill9=3 src-restart=2 …` in a fixed order.
pub fn describe(done: &[FaultKind]) -> String {
    let mut counts: BTreeMap<FaultKind, usize> = BTreeMap::new();
    for k in done {
        *counts.entry(*k).or_default() += 1;
    }
    counts
        .iter()
        .map(|(k, n)| format!("{}={n}", k.label()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Crashes a cluster (`pg_ctl -m immediate`: no shutdown checkpoint, clients cut off), keeps it
/// down for `down`, and starts it again on its port. The testkit's `restart` is a fast
/// (clean) shutdown, which is not the fault wanted here.
pub fn crash_restart(pg: &PgCluster, down: Duration) -> Result<()> {
    let mut c = server_command("pg_ctl");
    c.arg("-D")
        .arg(pg.data_dir())
        .args(["-m", "immediate", "-w", "-t", "60", "stop"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if !c.status()?.success() {
        bail!("pg_ctl -m immediate stop failed for {}", pg.data_dir().display());
    }
    std::thread::sleep(down);
    pg.start_again();
    Ok(())
}

/// A server binary run as the `postgres` OS user when we are root (as the testkit does).
fn server_command(name: &str) -> Command {
    let program = pg_bin_dir().join(name);
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}
