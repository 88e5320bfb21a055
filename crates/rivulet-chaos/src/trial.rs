//! One trial: fresh servers, seeded tables, Rivulet started on an initial snapshot, the
//! workload and the fault schedule at the same time, a catch-up to `--endpos`, and the
//! verification of every table.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rivulet_testkit::proxy::TcpProxy;
use rivulet_testkit::{KafkaBroker, PgCluster};

use crate::faults::{self, Fault, FaultKind};
use crate::readback::{self, Readback};
use crate::rivulet::Rivulet;
use crate::rng::Rng;
use crate::s3::S3;
use crate::sinks::{self, Sink, SinkTarget};
use crate::tables::{self, Table};
use crate::verify::{self, TableReport};
use crate::workload::{Caps, Session, Shared, Stats};

/// What a trial is asked to do.
#[derive(Clone, Debug)]
pub struct TrialSpec {
    pub sink: Sink,
    pub seed: u64,
    pub faults: usize,
    pub workload: Duration,
    pub rows: u64,
    pub sessions: u64,
    pub rivulet: PathBuf,
    pub keep: bool,
}

/// What a trial found.
#[derive(Default)]
pub struct TrialOutcome {
    pub faults: Vec<FaultKind>,
    pub tables: Vec<(String, TableReport)>,
    pub readback: Readback,
    pub stats: Stats,
    pub self_exits: Vec<String>,
    /// Kills that struck while Rivulet was reading the initial snapshot.
    pub snapshot_kills: usize,
    /// Kills that struck while the replica sink had its apply transaction open.
    pub flush_kills: usize,
    pub dir: PathBuf,
}

impl TrialOutcome {
    pub fn lost(&self) -> u64 {
        self.tables.iter().map(|(_, r)| r.missing).sum()
    }

    pub fn source_rows(&self) -> u64 {
        self.tables.iter().map(|(_, r)| r.source_rows).sum()
    }

    pub fn ok(&self) -> bool {
        self.tables.iter().all(|(_, r)| r.ok())
            && self.readback.duplicates == 0
            && self.readback.unresolved == 0
    }
}

/// The servers of one trial; each is removed on drop.
struct Servers {
    source: PgCluster,
    proxy: TcpProxy,
    target: Option<PgCluster>,
    broker: Option<KafkaBroker>,
    s3: Option<S3>,
}

impl Servers {
    fn start(sink: Sink, dir: &Path, on_s3: bool) -> Result<Servers> {
        let source = PgCluster::start();
        let proxy = TcpProxy::start(([127, 0, 0, 1], source.port()).into());
        let servers = Servers {
            proxy,
            target: (sink == Sink::Postgres).then(PgCluster::start),
            broker: (sink == Sink::Kafka).then(KafkaBroker::start),
            s3: if on_s3 {
                Some(S3::start(dir.join("s3"))?)
            } else {
                None
            },
            source,
        };
        if on_s3 && sink == Sink::Delta {
            readback::create_bucket("chaos", &servers.env())?;
        }
        Ok(servers)
    }

    /// Where the Delta tables are: S3 when the trial has an S3 server, else a directory.
    fn lake(&self, dir: &Path) -> String {
        match self.s3 {
            Some(_) => "s3://chaos/lake".to_string(),
            None => dir.join("lake").display().to_string(),
        }
    }

    fn sink_target(&self, sink: Sink, dir: &Path) -> SinkTarget {
        let location = match sink {
            Sink::Postgres => self.target.as_ref().map(PgCluster::url).unwrap_or_default(),
            Sink::Jsonl => dir.join("out.jsonl").display().to_string(),
            Sink::Delta => self.lake(dir),
            Sink::Files => "s3://chaos/RAW".to_string(),
            Sink::Kafka => self
                .broker
                .as_ref()
                .map(KafkaBroker::bootstrap)
                .unwrap_or_default(),
        };
        SinkTarget {
            sink,
            location,
            endpoint: self.s3.as_ref().map(S3::endpoint),
        }
    }

    fn env(&self) -> Vec<(String, String)> {
        self.s3.as_ref().map(S3::env).unwrap_or_default()
    }
}

pub fn run(spec: &TrialSpec) -> Result<TrialOutcome> {
    let dir = std::env::temp_dir().join(format!(
        "rivulet-chaos-{}-{}-{}",
        std::process::id(),
        spec.sink,
        spec.seed
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let result = run_in(spec, &dir).with_context(|| format!("files in {}", dir.display()));
    if !spec.keep && result.as_ref().is_ok_and(TrialOutcome::ok) {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result.map(|mut o| {
        o.dir = dir;
        o
    })
}

fn run_in(spec: &TrialSpec, dir: &Path) -> Result<TrialOutcome> {
    let tables = tables::tables_for(spec.sink);
    let on_s3 = spec.sink.on_s3(spec.seed);
    let mut servers = Servers::start(spec.sink, dir, on_s3)?;
    setup_source(&servers.source, &tables, spec.rows)?;
    let names: Vec<String> = tables.iter().map(Table::qualified).collect();
    let source_url = format!("postgres://postgres@127.0.0.1:{}/postgres", servers.proxy.port());
    let target = servers.sink_target(spec.sink, dir);
    let config = dir.join("pipeline.toml");
    let offsets = dir.join("offsets.json").display().to_string();
    std::fs::write(
        &config,
        sinks::pipeline_toml(&source_url, &names, &target, &offsets, spec.seed),
    )?;

    let mut rng = Rng::new(spec.seed);
    let schedule = faults::schedule(
        &mut rng.fork(1),
        &spec.sink.faults(on_s3),
        spec.faults,
        spec.workload,
    );
    let mut rivulet = Rivulet::new(&spec.rivulet, &config, dir, servers.env());
    let mut outcome = TrialOutcome::default();
    outcome.stats = run_workload(
        spec,
        &mut servers,
        &mut rivulet,
        &schedule,
        &mut rng,
        &mut outcome,
    )?;

    let endpos = servers.source.current_lsn();
    rivulet.catch_up(&endpos, Duration::from_secs(300))?;
    outcome.self_exits = rivulet.self_exits.clone();
    drop(rivulet);
    outcome.readback = read_sink(spec.sink, &servers, dir, &tables)?;
    outcome.tables = compare_all(&servers, spec.sink, &tables, &outcome.readback)?;
    Ok(outcome)
}

/// Tables, seed rows, and the publication: created here with `publish_via_partition_root`,
/// so the partitioned table's changes arrive under its own name (Rivulet uses an existing
/// publication as it is; without the option they would come from the partitions).
fn setup_source(pg: &PgCluster, tables: &[Table], rows: u64) -> Result<()> {
    let list: Vec<String> = tables.iter().map(Table::qualified).collect();
    let sql = format!(
        "{}\nCREATE PUBLICATION chaos FOR TABLE {} WITH (publish_via_partition_root = true);",
        tables::seed_sql(tables, rows),
        list.join(", ")
    );
    let mut child = pg
        .psql_command("postgres")
        .args(["-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    use std::io::Write;
    child.stdin.take().context("stdin")?.write_all(sql.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "seeding the source failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// Sessions run while the main thread walks the fault schedule and keeps Rivulet alive.
fn run_workload(
    spec: &TrialSpec,
    servers: &mut Servers,
    rivulet: &mut Rivulet,
    schedule: &[Fault],
    rng: &mut Rng,
    outcome: &mut TrialOutcome,
) -> Result<Stats> {
    let shared = Shared {
        stop: AtomicBool::new(false),
        added: Mutex::new(Vec::new()),
    };
    let caps = Caps {
        truncate: spec.sink.allows_truncate(),
        keyless_updates: spec.sink.replays_keyless_updates(),
        keyless: spec.sink.allows_keyless(),
    };
    let Servers {
        source,
        proxy,
        target,
        s3,
        ..
    } = servers;
    let source: &PgCluster = source;
    rivulet.start()?;
    let t0 = Instant::now();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..spec.sessions)
            .map(|i| {
                let session = Session::new(i, rng.fork(100 + i), spec.rows, caps, &shared);
                scope.spawn(move || session.run(source))
            })
            .collect();
        let mut result = Ok(());
        for fault in schedule {
            let injected = wait_until(t0 + fault.at, rivulet)
                .and_then(|()| inject(*fault, rivulet, source, target.as_ref(), proxy, s3.as_mut()));
            match injected {
                Ok(landed) => {
                    outcome.faults.push(fault.kind);
                    outcome.snapshot_kills += usize::from(landed.snapshot);
                    outcome.flush_kills += usize::from(landed.flush);
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        if result.is_ok() {
            result = wait_until(t0 + spec.workload, rivulet);
        }
        shared.stop.store(true, Ordering::SeqCst);
        let mut stats = Stats::default();
        for h in handles {
            stats.add(h.join().unwrap_or_default());
        }
        result.map(|()| stats)
    })
}

fn wait_until(when: Instant, rivulet: &mut Rivulet) -> Result<()> {
    while Instant::now() < when {
        rivulet.keep_alive()?;
        std::thread::sleep(Duration::from_millis(50).min(when.saturating_duration_since(Instant::now())));
    }
    Ok(())
}

/// Where a kill -9 struck.
#[derive(Default)]
struct Landed {
    snapshot: bool,
    flush: bool,
}

fn inject(
    fault: Fault,
    rivulet: &mut Rivulet,
    source: &PgCluster,
    target: Option<&PgCluster>,
    proxy: &TcpProxy,
    s3: Option<&mut S3>,
) -> Result<Landed> {
    match fault.kind {
        FaultKind::Kill9 => return kill9(fault, rivulet, target),
        FaultKind::SourceRestart => faults::crash_restart(source, fault.down)?,
        FaultKind::TargetRestart => faults::crash_restart(target.context("no target server")?, fault.down)?,
        FaultKind::Cut => proxy.cut(),
        FaultKind::S3Restart => {
            let s3 = s3.context("no S3 server")?;
            s3.kill();
            std::thread::sleep(fault.down);
            s3.start_again()?;
        }
    }
    Ok(Landed::default())
}

fn kill9(fault: Fault, rivulet: &mut Rivulet, target: Option<&PgCluster>) -> Result<Landed> {
    if fault.in_snapshot {
        rivulet.wait_for_log("reading the snapshot", Duration::from_secs(20));
        std::thread::sleep(fault.down);
    }
    let flush = match target {
        Some(t) if fault.in_flush => wait_for_apply(t, Duration::from_secs(3)),
        _ => false,
    };
    let landed = Landed {
        snapshot: rivulet.in_snapshot(),
        flush,
    };
    rivulet.kill9();
    std::thread::sleep(fault.down);
    rivulet.start()?;
    Ok(landed)
}

/// Polls the target until the replica sink has a transaction open (it is applying a batch).
fn wait_for_apply(target: &PgCluster, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    let sql = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'rivulet-sink' \
               AND state IN ('active', 'idle in transaction') AND xact_start IS NOT NULL";
    while Instant::now() < deadline {
        if target.try_psql(sql).is_ok_and(|n| n != "0") {
            return true;
        }
    }
    false
}

fn read_sink(sink: Sink, servers: &Servers, dir: &Path, tables: &[Table]) -> Result<Readback> {
    match sink {
        Sink::Postgres => Ok(Readback::default()),
        Sink::Jsonl => readback::debezium_lines(&dir.join("out.jsonl"), tables),
        Sink::Kafka => {
            let broker = servers.broker.as_ref().context("no broker")?;
            readback::kafka(&broker.bootstrap(), tables, &dir.join("consumed.jsonl"))
        }
        Sink::Files => readback::files("s3://chaos/RAW", tables, &servers.env()),
        Sink::Delta => readback::delta(&servers.lake(dir), tables, &servers.env()),
    }
}

fn compare_all(
    servers: &Servers,
    sink: Sink,
    tables: &[Table],
    back: &Readback,
) -> Result<Vec<(String, TableReport)>> {
    let src = &servers.source;
    let mut reports = Vec::new();
    for t in tables {
        let cols = verify::columns(src, t)?;
        verify::prepare(src, t)?;
        match (&servers.target, back.rows.get(t.name)) {
            (Some(target), _) => verify::load_from_replica(src, target, t, &cols)?,
            (None, Some(rows)) => verify::load_rows(src, t, &cols, rows, sink.writes_records())?,
            (None, None) => {}
        }
        reports.push((t.name.to_string(), verify::compare(src, t, &cols)?));
    }
    Ok(reports)
}
