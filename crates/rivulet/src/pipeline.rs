//! The pipeline runtime: wires a source to a sink and owns checkpointing.
//!
//! ```text
//!  source task ──Vec<SourceItem>──▶ delivery loop ──write──▶ sink
//!       ▲            (bounded)          │ at a Commit, every flush_interval or snapshot chunk:
//!       │                               │   sink.flush ─▶ offsets store (atomic) ─▶ ack
//!       └──────────── acks (watch: the durable Position) ◀─────────────────────────┘
//! ```
//!
//! The one rule: the source only confirms (the slot's flush position, a consumer group's
//! offsets) what an ack told it, and an ack is only sent after the sink made everything up to it
//! durable and the offsets store recorded it. Checkpoints happen only at transaction
//! boundaries, and never while events of an unfinished transaction have been written.
//!
//! A sink restored from the offsets alone (the JSONL file) gets a start record before its first
//! event ([`record_start`]), so a crash before the first checkpoint is undone like any other.
//!
//! [`run`] supervises: a transient failure (the source's server restarted, a TCP connection
//! cut, a sink's broker away) ends the attempt after checkpointing what is complete, and a new
//! attempt starts from the offsets after an exponential backoff with jitter — the same path as
//! a restart after a crash, so nothing is lost or duplicated. Only the first connection fails
//! fast: a pipeline that never ran reports a bad URL at once instead of retrying it forever.

use std::collections::HashMap;
use std::time::Duration;

use rivulet_metrics::metrics::{Counter, Histogram, counter, gauge, histogram};
use rivulet_metrics::{Health, Phase, names};

use rivulet_core::{
    ChangeEvent, Lsn, OffsetStore, OffsetsError, Op, Position, Sink, SinkError, Source, SourceEnd,
    SourceError, SourceItem, TableId,
};
use rivulet_format::{DebeziumEncoder, RecordEncoder};
use rivulet_postgres::{PostgresSource, ResolvedSource};
use rivulet_sink_jsonl::JsonlSink;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::config::{OffsetsBackend, PipelineConfig, SinkConfig, SourceConfig};
use crate::offsets::{FileOffsetStore, checkpoint, resume_position, start_checkpoint};

/// Batches in flight between source and sink: with up to 2048 items each, a few MB at most.
const CHANNEL_BATCHES: usize = 8;
/// Events handed to the sink per call.
const WRITE_BATCH: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The settings are wrong before anything is contacted (exit code 2).
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("{0} sink: {1}")]
    Sink(&'static str, SinkError),
    #[error(transparent)]
    Offsets(#[from] OffsetsError),
    #[cfg(feature = "kafka")]
    #[error(transparent)]
    Kafka(#[from] rivulet_kafka::KafkaError),
    #[error("{0}")]
    Setup(String),
    /// The source's server ended the stream without being asked: it is shutting down or
    /// restarting (PostgreSQL's walsender ends a fast shutdown cleanly).
    #[error("the source server ended replication (shutting down or restarting?)")]
    ServerEnded,
}

impl From<rivulet_postgres::SourceError> for PipelineError {
    fn from(e: rivulet_postgres::SourceError) -> Self {
        PipelineError::Source(e.into())
    }
}

#[derive(Debug, Default, Clone)]
pub struct RunOptions {
    /// Stop once every transaction committed before this position is delivered.
    pub endpos: Option<Lsn>,
    /// Where the pipeline's phase is published for `/health/ready`.
    pub health: Health,
}

/// Backoff between restarts after a transient error: doubling from the first delay up to the
/// cap, each delay drawn at random from its upper half so restarted pipelines do not stampede a
/// recovering server together.
const RESTART_FIRST_DELAY: Duration = Duration::from_millis(500);
const RESTART_MAX_DELAY: Duration = Duration::from_secs(30);

impl PipelineError {
    /// Whether a new attempt may succeed without anyone changing anything.
    pub fn is_transient(&self) -> bool {
        match self {
            PipelineError::Source(e) => e.is_transient(),
            PipelineError::Sink(_, e) => e.kind == rivulet_core::ErrorKind::Transient,
            PipelineError::ServerEnded => true,
            #[cfg(feature = "kafka")]
            PipelineError::Kafka(e) => e.is_transient(),
            PipelineError::Config(_) | PipelineError::Offsets(_) | PipelineError::Setup(_) => false,
        }
    }

    /// The `kind` label of `rivulet_errors_total`.
    fn metric_kind(&self) -> &'static str {
        let transient = self.is_transient();
        match (self, transient) {
            (PipelineError::Source(_) | PipelineError::ServerEnded, true) => "source_transient",
            (PipelineError::Source(_) | PipelineError::ServerEnded, false) => "source",
            (PipelineError::Sink(..), true) => "sink_transient",
            (PipelineError::Sink(..), false) => "sink",
            #[cfg(feature = "kafka")]
            (PipelineError::Kafka(_), true) => "source_transient",
            #[cfg(feature = "kafka")]
            (PipelineError::Kafka(_), false) => "source",
            (PipelineError::Offsets(_), _) => "offsets",
            (PipelineError::Config(_), _) => "config",
            (PipelineError::Setup(_), _) => "setup",
        }
    }
}

/// What a run delivered.
#[derive(Debug)]
pub struct RunSummary {
    pub end: SourceEnd,
    pub events: u64,
    pub transactions: u64,
    /// (table or "message", op) → events, sorted.
    pub by_table: Vec<(String, Op, u64)>,
    pub position: Option<Position>,
}

/// Connects the configured source: the one place that names the source crates. A new source
/// is its crate plus one arm here (and its `[source]` type in `config.rs`).
async fn connect_source(
    config: &PipelineConfig,
    resolved: Option<ResolvedSource>,
    resume: Option<&Position>,
    options: &RunOptions,
) -> Result<Box<dyn Source>, PipelineError> {
    let health = options.health.clone();
    Ok(match (&config.source, resolved) {
        (SourceConfig::Postgres(_), Some(resolved)) => Box::new(
            PostgresSource::connect(resolved, resume)
                .await?
                .with_health(health)
                .with_endpos(options.endpos),
        ),
        #[cfg(feature = "kafka")]
        (SourceConfig::Kafka(c), _) => Box::new(
            rivulet_kafka::KafkaSource::connect(c, &config.name)
                .await
                .map_err(SourceError::from)?
                .with_health(health),
        ),
        (SourceConfig::Postgres(_), None) => {
            return Err(PipelineError::Setup("internal: unresolved source".into()));
        }
    })
}

pub(crate) async fn offset_store(config: &PipelineConfig) -> Result<Box<dyn OffsetStore>, PipelineError> {
    Ok(match &config.offsets.store {
        OffsetsBackend::File(_) => Box::new(FileOffsetStore::new(
            config.offsets_path().unwrap_or_else(|| ".rivulet/offsets".into()),
        )),
        #[cfg(feature = "kafka")]
        OffsetsBackend::Kafka(c) => Box::new(rivulet_kafka::KafkaOffsetStore::new(c, &config.name).await?),
    })
}

fn sink(config: &PipelineConfig, encoder: Box<dyn RecordEncoder>) -> Result<Box<dyn Sink>, PipelineError> {
    Ok(match &config.sink {
        SinkConfig::Jsonl(c) => Box::new(JsonlSink::new(c, encoder)),
        // Row sinks (`SinkConfig::row_sink_type`): the encoder does not apply.
        SinkConfig::Postgres(c) => Box::new(
            rivulet_sink_postgres::PostgresSink::new(c, &config.name)
                .map_err(|e| PipelineError::Sink("postgres", e))?,
        ),
        #[cfg(feature = "kafka")]
        SinkConfig::Kafka(c) => Box::new(
            rivulet_kafka::KafkaSink::new(c, encoder, &config.name)
                .map_err(|e| PipelineError::Sink("kafka", e))?,
        ),
        #[cfg(feature = "delta")]
        SinkConfig::Delta(c) => Box::new(
            rivulet_sink_delta::DeltaSink::new(c, &config.name)
                .map_err(|e| PipelineError::Sink("delta", e))?,
        ),
        #[cfg(feature = "files")]
        SinkConfig::Files(c) => {
            Box::new(rivulet_sink_files::FilesSink::new(c).map_err(|e| PipelineError::Sink("files", e))?)
        }
    })
}

/// Runs the pipeline until it ends (shutdown, `--endpos`, a definite error), restarting it
/// after transient errors once it has connected.
pub async fn run(
    config: &PipelineConfig,
    options: RunOptions,
    mut shutdown: watch::Receiver<bool>,
) -> Result<RunSummary, PipelineError> {
    let health = options.health.clone();
    let mut attempt = Attempt::default();
    let mut delay = RESTART_FIRST_DELAY;
    loop {
        let result = match run_once(config, &options, shutdown.clone(), &mut attempt).await {
            Ok(SourceEnd::ServerEnded) => Err(PipelineError::ServerEnded),
            other => other,
        };
        let e = match result {
            Ok(end) => {
                health.set_phase(Phase::Stopping);
                return Ok(RunSummary {
                    end,
                    events: attempt.stats.events,
                    transactions: attempt.stats.transactions,
                    by_table: attempt.stats.sorted(),
                    position: attempt.last_commit,
                });
            }
            Err(e) => e,
        };
        counter!(names::ERRORS, "kind" => e.metric_kind()).increment(1);
        if !attempt.ever_connected || !e.is_transient() || *shutdown.borrow() {
            health.set_phase(Phase::Stopping);
            return Err(e);
        }
        if attempt.connected {
            // It ran since the last failure: a new outage, logged once.
            delay = RESTART_FIRST_DELAY;
            warn!("{e}: restarting from the last checkpoint, retrying with backoff until it works");
        } else {
            debug!("still failing: {e}");
        }
        attempt.restarting = true;
        health.set_phase(Phase::Reconnecting(e.to_string()));
        counter!(names::RESTARTS).increment(1);
        let wait = jittered(delay);
        delay = (delay * 2).min(RESTART_MAX_DELAY);
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => {
                health.set_phase(Phase::Stopping);
                info!("shutdown requested while reconnecting");
                return Ok(RunSummary {
                    end: SourceEnd::Shutdown,
                    events: attempt.stats.events,
                    transactions: attempt.stats.transactions,
                    by_table: attempt.stats.sorted(),
                    position: attempt.last_commit,
                });
            }
        }
    }
}

/// A delay drawn uniformly from [delay/2, delay].
fn jittered(delay: Duration) -> Duration {
    delay / 2 + delay.mul_f64(fastrand::f64() / 2.0)
}

/// What survives from one attempt to the next.
#[derive(Default)]
struct Attempt {
    stats: Stats,
    last_commit: Option<Position>,
    /// The source connected in some attempt: from then on transient errors are retried.
    ever_connected: bool,
    /// The source connected in the latest attempt.
    connected: bool,
    /// The latest attempt is a restart after a failure.
    restarting: bool,
}

async fn run_once(
    config: &PipelineConfig,
    options: &RunOptions,
    shutdown: watch::Receiver<bool>,
    attempt: &mut Attempt,
) -> Result<SourceEnd, PipelineError> {
    attempt.connected = false;
    let health = options.health.clone();
    health.set_phase(Phase::Starting);
    // Settings that can be checked without a server, before anything is touched.
    let (resolved, topic_prefix, database, transaction_metadata) = match &config.source {
        SourceConfig::Postgres(source_config) => {
            let resolved = ResolvedSource::new(source_config, &config.name)
                .map_err(|e| PipelineError::Config(e.to_string()))?;
            let prefix = source_config
                .topic_prefix
                .clone()
                .unwrap_or_else(|| config.name.clone());
            let db = resolved.connection.dbname.clone();
            (
                Some(resolved),
                prefix,
                db,
                source_config.provide_transaction_metadata,
            )
        }
        #[cfg(feature = "kafka")]
        SourceConfig::Kafka(_) => {
            if options.endpos.is_some() {
                return Err(PipelineError::Config(
                    "--endpos applies to PostgreSQL sources only".into(),
                ));
            }
            // Records from Kafka are forwarded as they are; the encoder only renders events
            // of its own, which a Kafka source never produces.
            (None, config.name.clone(), String::new(), false)
        }
    };
    let store = offset_store(config).await?;
    // Read the offsets before connecting: a corrupt store should stop us early.
    let checkpoint_found = store.load().await?;
    let settings = config
        .format
        .debezium(&topic_prefix, &database, transaction_metadata);
    let transforms = rivulet_transform::build(&config.transforms, &settings)
        .map_err(|e| PipelineError::Config(e.to_string()))?;
    for w in &config.transforms.warnings {
        warn!("{w}");
    }
    if let Some(row_sink) = config.sink.row_sink_type()
        && !transforms.records.is_empty()
    {
        return Err(PipelineError::Config(format!(
            "the {row_sink} sink writes rows, not Debezium records, so record transforms (SMTs, column rules on \
             encoded records) cannot apply: remove the [[transform]] entries, or use another sink"
        )));
    }
    let encoder: Box<dyn RecordEncoder> = transforms.records.wrap(Box::new(DebeziumEncoder::new(settings)));
    let mut sink = sink(config, encoder)?;
    let sink_name = sink.name();
    // The sink first: an exactly-once sink's own position decides where the source resumes.
    let sink_position = sink
        .open(checkpoint_found.as_ref().map(|c| c.sink.clone()))
        .await
        .map_err(|e| PipelineError::Sink(sink_name, e))?;
    let resume = choose_resume(
        sink_position,
        checkpoint_found.as_ref().and_then(resume_position).cloned(),
    );
    let source = connect_source(config, resolved, resume.as_ref(), options).await?;
    if let Some(cp) = &checkpoint_found {
        if cp.source_id != source.source_id() {
            return Err(PipelineError::Setup(format!(
                "the offsets in {} belong to source {}, but this source is {}: positions cannot carry over. Use other \
                 [offsets] for this source, or move the old ones away to start over",
                store.describe(),
                cp.source_id,
                source.source_id()
            )));
        }
        if cp.source_detail != source.source_detail() {
            info!(old = %cp.source_detail, new = %source.source_detail(), "the source changed since the last checkpoint; resuming by position");
        }
    }
    if checkpoint_found.is_none() && restored_from_offsets(&config.sink) {
        record_start(sink.as_mut(), store.as_ref(), &config.name, source.as_ref())
            .await
            .map_err(|e| PipelineError::Sink(sink_name, e))?;
    }
    attempt.connected = true;
    attempt.ever_connected = true;
    if std::mem::take(&mut attempt.restarting) {
        info!("reconnected: resuming from the last checkpoint");
    }
    match &resume {
        Some(p) => {
            info!(position = %p.lsn, offsets = %store.describe(), "resuming after the last checkpoint");
        }
        None => info!(offsets = %store.describe(), "no checkpoint yet"),
    }

    let (tx, rx) = mpsc::channel(CHANNEL_BATCHES);
    let (ack_tx, ack_rx) = watch::channel(resume.clone().unwrap_or_default());
    let source_id = source.source_id().to_string();
    let source_detail = source.source_detail().to_string();
    let mid_snapshot = source.in_snapshot();
    let source_task = tokio::spawn(source.run(resume.clone(), tx, ack_rx, shutdown));

    let mut delivery = Delivery {
        sink,
        store,
        acks: ack_tx,
        pipeline: config.name.clone(),
        source_id,
        source_detail,
        flush_interval: config.offsets.flush_interval,
        mid_snapshot,
        pending: Vec::with_capacity(WRITE_BATCH),
        events: transforms.events,
        failures: transforms.failures,
        last_commit: resume.clone(),
        unflushed: false,
        in_transaction: false,
        events_since_commit: 0,
        last_flush: Instant::now(),
        stats: std::mem::take(&mut attempt.stats),
        health,
        meters: Meters::new(),
    };
    let delivered = delivery.run(rx).await;
    let close = delivery.sink.close().await;
    let Delivery {
        acks,
        mut stats,
        last_commit,
        ..
    } = delivery;
    stats.publish();
    attempt.stats = stats;
    if last_commit.is_some() {
        attempt.last_commit = last_commit;
    }
    // Dropping the ack sender tells the source that the last ack has been sent.
    drop(acks);
    let streamed = source_task
        .await
        .map_err(|e| PipelineError::Setup(format!("the source task failed unexpectedly: {e}")))?;
    // The first failure is the cause; later ones are consequences.
    delivered.map_err(|e| PipelineError::Sink(sink_name, e))?;
    let end = streamed?;
    close.map_err(|e| PipelineError::Sink(sink_name, e))?;
    Ok(end)
}

/// Where to resume: the sink's own position (an exactly-once sink's, stored with its data)
/// wins over the offsets store's.
fn choose_resume(own: Option<Position>, checkpoint: Option<Position>) -> Option<Position> {
    match (own, checkpoint) {
        // The offsets store only records a position after the sink acknowledged flushing up to
        // it, so a later checkpoint than the sink's own record means the flushes in between had
        // nothing to write (heartbeats moving an idle slot): resuming from the sink's older
        // position would find the slot past it.
        (Some(own), Some(checkpoint)) if checkpoint.reach().is_beyond(&own.reach()) => Some(checkpoint),
        (Some(own), _) => Some(own),
        (None, checkpoint) => checkpoint,
    }
}

/// Whether the sink's only record of what it holds is its state in the offsets: the JSONL
/// file. Exactly-once sinks store their position with their data, the Kafka producer cannot
/// take messages back (at-least-once), and neither can stdout.
fn restored_from_offsets(sink: &SinkConfig) -> bool {
    matches!(sink, SinkConfig::Jsonl(c) if !c.is_stdout())
}

/// Records the sink's state at a pipeline's first start, before any event reaches it: without
/// it a crash before the first checkpoint leaves no offsets, nothing is cut back, and the
/// restart delivers everything again after what the crashed run wrote. A flush with nothing
/// written only makes what the sink already holds durable and reports it.
async fn record_start(
    sink: &mut dyn Sink,
    store: &dyn OffsetStore,
    pipeline: &str,
    source: &dyn Source,
) -> Result<(), SinkError> {
    let state = sink.flush(&Position::default()).await?;
    let start = start_checkpoint(pipeline, source.source_id(), source.source_detail(), state);
    store
        .store(&start)
        .await
        .map_err(|e| SinkError::definite(e.to_string()))
}

struct Delivery {
    sink: Box<dyn Sink>,
    store: Box<dyn OffsetStore>,
    acks: watch::Sender<Position>,
    pipeline: String,
    source_id: String,
    source_detail: String,
    flush_interval: Duration,
    /// Positions of a snapshot still being read: checkpointed when they arrive, so a crash
    /// repeats at most the chunk it interrupted, however short the snapshot.
    mid_snapshot: fn(&Position) -> bool,
    pending: Vec<ChangeEvent>,
    /// Column rules applied to events before the sink sees them.
    events: rivulet_transform::EventTransforms,
    /// Records the transform chain could not process; checked after every write, before any
    /// checkpoint can cover them.
    failures: rivulet_transform::TransformFailures,
    last_commit: Option<Position>,
    /// A commit was delivered since the last checkpoint.
    unflushed: bool,
    /// Events after the last commit were handed to the sink: no checkpoint until the next commit.
    in_transaction: bool,
    /// Events since the last commit; none means the commit only moves the position (an idle
    /// stream's heartbeat), which is no transaction.
    events_since_commit: u64,
    last_flush: Instant,
    stats: Stats,
    health: Health,
    meters: Meters,
}

/// Metric handles, looked up once: recording is then an atomic add (a no-op without
/// `[metrics]`).
struct Meters {
    batches: Counter,
    batch_size: Histogram,
    write_seconds: Histogram,
    flush_seconds: Histogram,
    checkpoints: Counter,
    commit_to_delivery: Histogram,
    last_event: rivulet_metrics::metrics::Gauge,
    confirmed: rivulet_metrics::metrics::Gauge,
}

impl Meters {
    fn new() -> Self {
        Meters {
            batches: counter!(names::BATCHES),
            batch_size: histogram!(names::BATCH_SIZE),
            write_seconds: histogram!(names::SINK_WRITE_SECONDS),
            flush_seconds: histogram!(names::SINK_FLUSH_SECONDS),
            checkpoints: counter!(names::CHECKPOINTS),
            commit_to_delivery: histogram!(names::COMMIT_TO_DELIVERY_SECONDS),
            last_event: gauge!(names::LAST_EVENT_TIMESTAMP),
            confirmed: gauge!(names::CONFIRMED_FLUSH_LSN),
        }
    }
}

impl Delivery {
    async fn run(&mut self, mut rx: mpsc::Receiver<Vec<SourceItem>>) -> Result<(), SinkError> {
        loop {
            let batch = if self.unflushed && !self.in_transaction {
                // Idle with undelivered acks: checkpoint when the interval is up, even if
                // nothing else arrives.
                let deadline = self.last_flush + self.flush_interval;
                tokio::select! {
                    b = rx.recv() => b,
                    () = tokio::time::sleep_until(deadline) => {
                        self.checkpoint().await?;
                        continue;
                    }
                }
            } else {
                rx.recv().await
            };
            let Some(batch) = batch else { break };
            self.deliver(batch).await?;
        }
        // The source is done: make the last complete transaction durable.
        if self.unflushed && !self.in_transaction {
            self.checkpoint().await?;
        } else if self.unflushed {
            // Part of a large transaction was already handed to the sink, so a flush now would
            // make it look complete. The last commits since the previous checkpoint are
            // delivered again on restart (the sink drops the tail, so nothing is duplicated).
            warn!(
                "stopped inside a large transaction: the last second of changes is delivered again on restart"
            );
        }
        Ok(())
    }

    async fn deliver(&mut self, batch: Vec<SourceItem>) -> Result<(), SinkError> {
        for item in batch {
            match item {
                SourceItem::Event(event) => {
                    let Some(event) = self.events.apply(event) else {
                        continue;
                    };
                    self.stats.count(&event);
                    self.pending.push(event);
                    self.in_transaction = true;
                    self.events_since_commit += 1;
                    if self.pending.len() >= WRITE_BATCH {
                        self.write_pending().await?;
                    }
                }
                SourceItem::Commit(position) => {
                    self.write_pending().await?;
                    self.in_transaction = false;
                    if let Some(t) = position.commit_time_us {
                        self.health.delivered(t);
                        self.meters.last_event.set(t as f64 / 1e6);
                        if self.events_since_commit > 0 {
                            let now = rivulet_metrics::health::now_us();
                            self.meters
                                .commit_to_delivery
                                .record(now.saturating_sub(t).max(0) as f64 / 1e6);
                        }
                    }
                    if std::mem::take(&mut self.events_since_commit) > 0 {
                        self.stats.transactions += 1;
                    } else if self
                        .last_commit
                        .as_ref()
                        .is_some_and(|c| c.lsn == position.lsn && c.source_state == position.source_state)
                    {
                        // A heartbeat of a stream with nothing new: it only refreshed the lag
                        // (an empty snapshot chunk still moves the source state, so it stays).
                        continue;
                    }
                    let due = self.checkpoint_due(&position);
                    self.last_commit = Some(position);
                    self.unflushed = true;
                    if due {
                        self.checkpoint().await?;
                    }
                }
            }
        }
        // Hand over the start of an unfinished transaction too, so memory stays bounded
        // however large the transaction.
        self.write_pending().await?;
        self.stats.publish_now_and_then();
        Ok(())
    }

    /// Streamed transactions are checkpointed every `flush_interval`; snapshot chunks at once,
    /// and so is the commit that ends the snapshot (its predecessor was mid-snapshot).
    fn checkpoint_due(&self, position: &Position) -> bool {
        self.last_flush.elapsed() >= self.flush_interval
            || (self.mid_snapshot)(position)
            || self.last_commit.as_ref().is_some_and(self.mid_snapshot)
    }

    async fn write_pending(&mut self) -> Result<(), SinkError> {
        if !self.pending.is_empty() {
            let started = Instant::now();
            self.sink.write(&self.pending).await?;
            self.meters.write_seconds.record(started.elapsed().as_secs_f64());
            self.meters.batches.increment(1);
            self.meters.batch_size.record(self.pending.len() as f64);
            self.pending.clear();
            if let Some(e) = self.failures.take() {
                return Err(SinkError::definite(format!("a transform failed: {e}")));
            }
        }
        Ok(())
    }

    async fn checkpoint(&mut self) -> Result<(), SinkError> {
        let Some(position) = self.last_commit.clone() else {
            return Ok(());
        };
        let started = Instant::now();
        let state = self.sink.flush(&position).await?;
        rivulet_core::fault::point(rivulet_core::fault::SINK_FLUSHED);
        self.meters.flush_seconds.record(started.elapsed().as_secs_f64());
        let cp = checkpoint(
            &self.pipeline,
            &self.source_id,
            &self.source_detail,
            position.clone(),
            state,
        );
        self.store
            .store(&cp)
            .await
            .map_err(|e| SinkError::definite(e.to_string()))?;
        // Only now may the source confirm it.
        self.meters.checkpoints.increment(1);
        self.meters.confirmed.set(names::lsn_value(position.lsn.0));
        let _ = self.acks.send(position);
        self.unflushed = false;
        self.last_flush = Instant::now();
        Ok(())
    }
}

#[derive(Default)]
struct Stats {
    events: u64,
    transactions: u64,
    /// Events per table and op, keyed by the table's id (looked up without cloning, so no
    /// allocation per event).
    by_table: HashMap<TableId, HashMap<Op, u64>>,
    /// Messages and forwarded tombstones, which belong to no table.
    untabled: HashMap<Op, u64>,
    /// `rivulet_events_total` per (table, op) and the count it has been told, so publishing
    /// (a few times a second, not per event) adds only the difference.
    published: HashMap<(Option<TableId>, Op), (Counter, u64)>,
    transactions_counter: Option<(Counter, u64)>,
    last_publish: Option<Instant>,
}

/// How often event counts reach the metrics: per-event overhead stays a hash-map increment.
const PUBLISH_EVERY: Duration = Duration::from_millis(200);

impl Stats {
    fn publish_now_and_then(&mut self) {
        if self.last_publish.is_none_or(|t| t.elapsed() >= PUBLISH_EVERY) {
            self.publish();
        }
    }

    /// Adds what was counted since the last call to the event counters.
    fn publish(&mut self) {
        self.last_publish = Some(Instant::now());
        let tabled = self
            .by_table
            .iter()
            .flat_map(|(id, ops)| ops.iter().map(move |(op, n)| (Some(id), *op, *n)));
        let untabled = self.untabled.iter().map(|(op, n)| (None, *op, *n));
        for (table, op, n) in tabled.chain(untabled) {
            let key = (table.cloned(), op);
            let (counter, told) = match self.published.get_mut(&key) {
                Some(entry) => entry,
                None => {
                    let label = table.map_or_else(|| "(none)".to_string(), ToString::to_string);
                    let c = counter!(names::EVENTS, "table" => label, "op" => op.code());
                    self.published.entry(key).or_insert((c, 0))
                }
            };
            if n > *told {
                counter.increment(n - *told);
                *told = n;
            }
        }
        let (counter, told) = self
            .transactions_counter
            .get_or_insert_with(|| (counter!(names::TRANSACTIONS), 0));
        if self.transactions > *told {
            counter.increment(self.transactions - *told);
            *told = self.transactions;
        }
    }

    fn count(&mut self, event: &ChangeEvent) {
        self.events += 1;
        let counts = match event.table() {
            Some(t) => match self.by_table.get_mut(&t.id) {
                Some(c) => c,
                None => self.by_table.entry(t.id.clone()).or_default(),
            },
            None => &mut self.untabled,
        };
        *counts.entry(event.op()).or_default() += 1;
    }

    fn sorted(&self) -> Vec<(String, Op, u64)> {
        let mut rows: Vec<(String, Op, u64)> = self
            .by_table
            .iter()
            .flat_map(|(id, ops)| ops.iter().map(move |(op, n)| (id.to_string(), *op, *n)))
            .chain(
                self.untabled
                    .iter()
                    .map(|(op, n)| ("(no table)".to_string(), *op, *n)),
            )
            .collect();
        rows.sort_by(|a, b| (&a.0, a.1.code()).cmp(&(&b.0, b.1.code())));
        rows
    }
}

/// The delivery loop's rules, with in-memory doubles (no database, broker or disk).
#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rivulet_core::{Change, ErrorKind, InSnapshot, LogicalMessage, SourceMeta};
    use rivulet_testkit::doubles::{Fault, FaultySink, MemoryOffsets, MemorySink, MemorySource};

    use super::*;

    fn event(n: u64) -> SourceItem {
        SourceItem::Event(ChangeEvent {
            change: Change::Message(LogicalMessage {
                transactional: true,
                prefix: format!("m{n}"),
                content: Vec::new(),
            }),
            source: SourceMeta {
                lsn: Lsn(n),
                ..SourceMeta::default()
            },
        })
    }

    fn commit(lsn: u64) -> SourceItem {
        SourceItem::Commit(Position::at(Lsn(lsn)))
    }

    /// A delivery loop into `sink` and `store`; the source side comes from [`run`].
    fn delivery(
        sink: Box<dyn Sink>,
        store: MemoryOffsets,
        flush_interval: Duration,
        in_snapshot: InSnapshot,
    ) -> Delivery {
        let transforms = rivulet_transform::build(&Default::default(), &Default::default()).unwrap();
        Delivery {
            sink,
            store: Box::new(store),
            acks: watch::channel(Position::default()).0,
            pipeline: "test".into(),
            source_id: "memory".into(),
            source_detail: String::new(),
            flush_interval,
            mid_snapshot: in_snapshot,
            pending: Vec::new(),
            events: transforms.events,
            failures: transforms.failures,
            last_commit: None,
            unflushed: false,
            in_transaction: false,
            events_since_commit: 0,
            last_flush: Instant::now(),
            stats: Stats::default(),
            health: Health::default(),
            meters: Meters::new(),
        }
    }

    /// Runs the loop over `batches` of a scripted source, as `run_once` does; returns the
    /// loop's result and the positions the source was acknowledged.
    async fn run(
        mut delivery: Delivery,
        batches: Vec<Vec<SourceItem>>,
    ) -> (Result<(), SinkError>, Vec<Position>) {
        let source = MemorySource::new(batches);
        let acked = Arc::clone(&source.acks);
        let (tx, rx) = mpsc::channel(CHANNEL_BATCHES);
        let (acks, ack_rx) = watch::channel(Position::default());
        delivery.acks = acks;
        let (_stop, shutdown) = watch::channel(false);
        let task = tokio::spawn(Box::new(source).run(None, tx, ack_rx, shutdown));
        let result = delivery.run(rx).await;
        // Dropping the ack sender ends the source.
        drop(delivery);
        task.await.unwrap().unwrap();
        let acked = acked.lock().unwrap().clone();
        (result, acked)
    }

    #[tokio::test]
    async fn a_complete_transaction_is_flushed_recorded_then_acknowledged() {
        let sink = MemorySink::default();
        let store = MemoryOffsets::default();
        let d = delivery(
            Box::new(sink.clone()),
            store.clone(),
            Duration::from_secs(3600),
            |_| false,
        );
        let (result, acked) = run(d, vec![vec![event(1), event(2), commit(10)]]).await;
        result.unwrap();
        let log = sink.log();
        assert_eq!(
            log.flushes,
            vec![Position::at(Lsn(10))],
            "one flush, at the commit"
        );
        assert_eq!(log.durable.len(), 2);
        assert_eq!(store.stored().last().map(|c| c.position.lsn), Some(Lsn(10)));
        assert_eq!(acked, vec![Position::at(Lsn(10))]);
    }

    #[tokio::test]
    async fn nothing_is_flushed_while_an_unfinished_transaction_was_written() {
        let sink = MemorySink::default();
        let store = MemoryOffsets::default();
        let d = delivery(
            Box::new(sink.clone()),
            store.clone(),
            Duration::from_secs(3600),
            |_| false,
        );
        // A complete transaction, then the start of one that never commits: a flush would make
        // that start durable too, so the run ends without one (the commit is delivered again).
        let (result, acked) = run(d, vec![vec![event(1), commit(10)], vec![event(11)]]).await;
        result.unwrap();
        let log = sink.log();
        assert!(
            log.flushes.is_empty() && log.durable.is_empty(),
            "{:?}",
            log.flushes
        );
        assert_eq!(log.pending.len(), 2, "written, never durable");
        assert!(store.stored().is_empty());
        assert!(acked.is_empty());
    }

    #[tokio::test]
    async fn a_failed_flush_acknowledges_nothing_and_records_nothing() {
        let sink = MemorySink::default();
        let store = MemoryOffsets::default();
        let faulty = FaultySink::new(sink.clone()).at_flush(1, Fault::Fail(ErrorKind::Transient));
        let d = delivery(Box::new(faulty), store.clone(), Duration::from_secs(3600), |_| {
            false
        });
        let (result, acked) = run(d, vec![vec![event(1), commit(10)]]).await;
        assert_eq!(result.unwrap_err().kind, ErrorKind::Transient);
        assert!(sink.log().durable.is_empty());
        assert!(store.stored().is_empty(), "no checkpoint for what is not durable");
        assert!(acked.is_empty(), "the source confirms nothing");
    }

    #[tokio::test]
    async fn snapshot_chunks_are_checkpointed_as_they_arrive() {
        let sink = MemorySink::default();
        // Positions below 100 are inside the snapshot; the interval never comes.
        let d = delivery(
            Box::new(sink.clone()),
            MemoryOffsets::default(),
            Duration::from_secs(3600),
            |p| p.lsn < Lsn(100),
        );
        let (result, _) = run(
            d,
            vec![vec![
                event(1),
                commit(10),
                event(11),
                commit(20),
                event(21),
                commit(200),
                event(201),
                commit(300),
            ]],
        )
        .await;
        result.unwrap();
        let lsns: Vec<u64> = sink.log().flushes.iter().map(|p| p.lsn.0).collect();
        // Each chunk, the commit that ends the snapshot, then the last one at the end of the run.
        assert_eq!(lsns, vec![10, 20, 200, 300]);
    }

    #[test]
    fn the_sinks_own_position_wins_unless_the_offsets_are_later() {
        let at = |n| Some(Position::at(Lsn(n)));
        assert_eq!(
            choose_resume(at(50), at(40)),
            at(50),
            "an exactly-once sink's record wins"
        );
        assert_eq!(choose_resume(at(50), at(60)), at(60), "idle heartbeats moved on");
        assert_eq!(choose_resume(None, at(40)), at(40));
        assert_eq!(choose_resume(None, None), None);
        // Kafka positions: by partition offsets (their LSN is always 0).
        let offsets = |n| {
            Some(Position::of_partitions(
                &[(("t".to_string(), 0), n)].into_iter().collect(),
            ))
        };
        assert_eq!(choose_resume(offsets(5), offsets(7)), offsets(7));
        assert_eq!(choose_resume(offsets(7), offsets(5)), offsets(7));
    }
}
