//! The pipeline runtime: wires a source to a sink and owns checkpointing.
//!
//! ```text
//!  source task ──Vec<SourceItem>──▶ delivery loop ──write──▶ sink
//!       ▲            (bounded)          │ at a Commit, every flush_interval:
//!       │                               │   sink.flush ─▶ offsets store (atomic) ─▶ ack
//!       └──────────── acks (watch: the durable Position) ◀─────────────────────────┘
//! ```
//!
//! The one rule: the source only confirms (the slot's flush position, a consumer group's
//! offsets) what an ack told it, and an ack is only sent after the sink made everything up to it
//! durable and the offsets store recorded it. Checkpoints happen only at transaction
//! boundaries, and never while events of an unfinished transaction have been written.

use std::collections::HashMap;
use std::time::Duration;

use rivulet_core::{
    ChangeEvent, Lsn, OffsetStore, OffsetsError, Op, Position, Sink, SinkError, SourceEnd, SourceItem,
    TableId,
};
use rivulet_format::{DebeziumEncoder, RecordEncoder};
use rivulet_postgres::{PostgresSource, ResolvedSource, SourceError};
use rivulet_sink_jsonl::JsonlSink;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tracing::{info, warn};

use crate::config::{OffsetsBackend, PipelineConfig, SinkConfig, SourceConfig};
use crate::offsets::{FileOffsetStore, checkpoint};

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
}

#[derive(Debug, Default, Clone)]
pub struct RunOptions {
    /// Stop once every transaction committed before this position is delivered.
    pub endpos: Option<Lsn>,
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

/// A configured source, before it runs.
enum SourceRunner {
    // Boxed: the PostgreSQL source carries its connections and caches, and lives once per run.
    Postgres(Box<PostgresSource>),
    #[cfg(feature = "kafka")]
    Kafka(rivulet_kafka::KafkaSource),
}

impl SourceRunner {
    fn source_id(&self) -> &str {
        match self {
            SourceRunner::Postgres(s) => s.system_id(),
            #[cfg(feature = "kafka")]
            SourceRunner::Kafka(s) => s.source_id(),
        }
    }

    fn source_detail(&self) -> &str {
        match self {
            SourceRunner::Postgres(s) => s.slot(),
            #[cfg(feature = "kafka")]
            SourceRunner::Kafka(s) => s.source_detail(),
        }
    }

    async fn run(
        self,
        resume: Option<Position>,
        endpos: Option<Lsn>,
        out: mpsc::Sender<Vec<SourceItem>>,
        acks: watch::Receiver<Position>,
        shutdown: watch::Receiver<bool>,
    ) -> Result<SourceEnd, PipelineError> {
        match self {
            SourceRunner::Postgres(s) => Ok(s.run(resume, endpos, out, acks, shutdown).await?),
            #[cfg(feature = "kafka")]
            SourceRunner::Kafka(s) => Ok(s.run(resume, out, acks, shutdown).await?),
        }
    }
}

async fn offset_store(config: &PipelineConfig) -> Result<Box<dyn OffsetStore>, PipelineError> {
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
        #[cfg(feature = "kafka")]
        SinkConfig::Kafka(c) => Box::new(
            rivulet_kafka::KafkaSink::new(c, encoder, &config.name)
                .map_err(|e| PipelineError::Sink("kafka", e))?,
        ),
    })
}

pub async fn run(
    config: &PipelineConfig,
    options: RunOptions,
    shutdown: watch::Receiver<bool>,
) -> Result<RunSummary, PipelineError> {
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
    let encoder: Box<dyn RecordEncoder> = transforms.records.wrap(Box::new(DebeziumEncoder::new(settings)));
    let mut sink = sink(config, encoder)?;
    let sink_name = sink.name();
    // The sink first: an exactly-once sink's own position decides where the source resumes.
    let sink_position = sink
        .open(checkpoint_found.as_ref().map(|c| c.sink.clone()))
        .await
        .map_err(|e| PipelineError::Sink(sink_name, e))?;
    let resume = sink_position.or_else(|| checkpoint_found.as_ref().map(|c| c.position.clone()));
    let source = match (&config.source, resolved) {
        (SourceConfig::Postgres(_), Some(resolved)) => SourceRunner::Postgres(Box::new(
            PostgresSource::connect(resolved, resume.as_ref()).await?,
        )),
        #[cfg(feature = "kafka")]
        (SourceConfig::Kafka(c), _) => {
            SourceRunner::Kafka(rivulet_kafka::KafkaSource::connect(c, &config.name).await?)
        }
        (SourceConfig::Postgres(_), None) => {
            return Err(PipelineError::Setup("internal: unresolved source".into()));
        }
    };
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
    let source_task = tokio::spawn(source.run(resume.clone(), options.endpos, tx, ack_rx, shutdown));

    let mut delivery = Delivery {
        sink,
        store,
        acks: ack_tx,
        pipeline: config.name.clone(),
        source_id,
        source_detail,
        flush_interval: config.offsets.flush_interval,
        pending: Vec::with_capacity(WRITE_BATCH),
        events: transforms.events,
        failures: transforms.failures,
        last_commit: resume.clone(),
        unflushed: false,
        in_transaction: false,
        last_flush: Instant::now(),
        stats: Stats::default(),
    };
    let delivered = delivery.run(rx).await;
    let close = delivery.sink.close().await;
    let Delivery {
        acks,
        stats,
        last_commit,
        ..
    } = delivery;
    // Dropping the ack sender tells the source that the last ack has been sent.
    drop(acks);
    let streamed = source_task
        .await
        .map_err(|e| PipelineError::Setup(format!("the source task failed unexpectedly: {e}")))?;
    // The first failure is the cause; later ones are consequences.
    delivered.map_err(|e| PipelineError::Sink(sink_name, e))?;
    let end = streamed?;
    close.map_err(|e| PipelineError::Sink(sink_name, e))?;
    Ok(RunSummary {
        end,
        events: stats.events,
        transactions: stats.transactions,
        by_table: stats.sorted(),
        position: last_commit,
    })
}

struct Delivery {
    sink: Box<dyn Sink>,
    store: Box<dyn OffsetStore>,
    acks: watch::Sender<Position>,
    pipeline: String,
    source_id: String,
    source_detail: String,
    flush_interval: Duration,
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
    last_flush: Instant,
    stats: Stats,
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
                    if self.pending.len() >= WRITE_BATCH {
                        self.write_pending().await?;
                    }
                }
                SourceItem::Commit(position) => {
                    self.write_pending().await?;
                    self.in_transaction = false;
                    self.stats.transactions += 1;
                    self.last_commit = Some(position);
                    self.unflushed = true;
                    if self.last_flush.elapsed() >= self.flush_interval {
                        self.checkpoint().await?;
                    }
                }
            }
        }
        // Hand over the start of an unfinished transaction too, so memory stays bounded
        // however large the transaction.
        self.write_pending().await
    }

    async fn write_pending(&mut self) -> Result<(), SinkError> {
        if !self.pending.is_empty() {
            self.sink.write(&self.pending).await?;
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
        let state = self.sink.flush(&position).await?;
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
}

impl Stats {
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
