//! The Kafka source: consumes Debezium-format topics in a consumer group and hands their
//! records to the runtime as change events, committing offsets to the group only for what the
//! runtime acknowledged as durable.
//!
//! ```text
//!  topics ──▶ StreamConsumer ──▶ DebeziumDecoder ──▶ batch of events + Commit({"kafka": {topic: {partition: next}}})
//!   (group,       ▲ rebalance: start each assigned             │ bounded channel (back-pressure)
//!    no auto-     │ partition at max(group's committed,        ▼
//!    commit)      │ what this process already handed over)   runtime ─▶ sink.flush ─▶ offsets store
//!                 └── commit(ack's offsets, assigned partitions only) ◀── acks (watch) ◀──┘
//! ```
//!
//! Every record is a complete unit, so a batch ends with a `Commit` whose position holds the
//! next offset of every partition this process consumed. The position also lets a single
//! consumer be exactly-once into a sink that stores its position with its data (the JSONL
//! file, truncated back to its checkpoint on restart): the group's offsets can lag the
//! checkpoint (a crash between the two), so on assignment a partition starts at the larger
//! of the two. With several consumers in a group, a rebalance hands a partition to another
//! member at the group's committed offset, so records delivered but not yet acknowledged are
//! delivered again: at-least-once.
//!
//! * Records are read with `isolation.level = read_committed` (unless set otherwise), so
//!   topics written in transactions (Rivulet's `exactly_once`) are read without aborted records.
//! * A subscribed topic that does not exist yet is reported once and picked up when it appears
//!   (Debezium creates topics lazily); `^`-prefixed entries are regular expressions.
//! * While the runtime cannot keep up (the channel is full) the consumer is not polled; past
//!   `max.poll.interval.ms` (5 min) the group rebalances and the consumer rejoins when it polls
//!   again, which for a single consumer repeats nothing (the start rule above).
//! * A record that does not decode stops the source with its topic, partition and offset; the
//!   records before it are still handed over and committed once durable, so a restart stops at
//!   the same record.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::client::ClientContext;
use rdkafka::config::{FromClientConfigAndContext, RDKafkaLogLevel};
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, RebalanceProtocol, StreamConsumer,
};
use rdkafka::error::{KafkaError as RdError, KafkaResult, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::types::RDKafkaRespErr;
use rivulet_core::{OriginalRecord, Partition, Position, SourceEnd, SourceItem};
use rivulet_format::{DebeziumDecoder, DecodeError};
use rivulet_metrics::{Health, Phase};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::admin::is_transient;
use crate::client::{ConnectError, Link, await_brokers, log};
use crate::config::{KafkaSourceConfig, Properties};

/// Records per batch: big enough to amortise the channel, small enough for flat memory.
const MAX_BATCH: usize = 2048;
/// How long to wait for the runtime's final acknowledgement at shutdown.
const FINAL_ACK_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a rebalance may wait for the group's committed offsets.
const COMMITTED_TIMEOUT: Duration = Duration::from_secs(30);

/// A failure of the Kafka source, in one line.
#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    /// The settings are wrong before anything is contacted.
    #[error("{0}")]
    Config(String),
    /// The brokers could not be reached (at start).
    #[error("{0}")]
    Unreachable(String),
    /// A record is not a Debezium change event.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// Kafka refused something waiting cannot fix (authentication, authorization).
    #[error("{0}")]
    Refused(String),
    /// Anything else the client reported.
    #[error("Kafka source: {0}")]
    Client(String),
}

impl KafkaError {
    /// Whether a retry (a restart) may help.
    pub fn is_transient(&self) -> bool {
        matches!(self, KafkaError::Unreachable(_) | KafkaError::Client(_))
    }
}

/// What the rebalance callback and the consuming loop share. The callback runs inside the
/// consumer's poll, on the loop's own task, so the lock is never contended.
#[derive(Default)]
struct Progress {
    /// The next offset to hand over, per partition this process consumed (or resumed).
    next: HashMap<Partition, i64>,
    /// Assigned partitions and the offset each (re)started at: acknowledged offsets below it
    /// are stale (another member moved the partition on meanwhile) and are not committed.
    assigned: HashMap<Partition, i64>,
    /// A rebalance problem the loop reports.
    failure: Option<String>,
}

struct SourceContext {
    link: Link,
    progress: Mutex<Progress>,
}

impl ClientContext for SourceContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        log(level, fac, log_message);
    }

    fn error(&self, error: RdError, reason: &str) {
        self.link.on_error(&error, reason);
    }
}

impl ConsumerContext for SourceContext {
    fn rebalance(&self, consumer: &BaseConsumer<Self>, err: RDKafkaRespErr, tpl: &mut TopicPartitionList) {
        let cooperative = matches!(consumer.rebalance_protocol(), RebalanceProtocol::Cooperative);
        let result = match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                self.start_offsets(consumer, tpl);
                if cooperative {
                    consumer.incremental_assign(tpl)
                } else {
                    consumer.assign(tpl)
                }
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                self.forget(tpl);
                if cooperative {
                    consumer.incremental_unassign(tpl)
                } else {
                    consumer.unassign()
                }
            }
            other => {
                warn!("Kafka source: rebalance error {}", RDKafkaErrorCode::from(other));
                self.forget(tpl);
                consumer.unassign()
            }
        };
        if let Err(e) = result {
            self.fail(format!("cannot take the partitions the group assigned: {e}"));
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, _offsets: &TopicPartitionList) {
        if let Err(e) = result {
            // The next acknowledgement commits again; only the last one matters.
            debug!("Kafka source: offset commit failed: {e}");
        }
    }
}

impl SourceContext {
    /// Sets where each newly assigned partition starts: after whatever was already handed
    /// over (by this process, or before a crash according to the resume position), unless
    /// the group has committed further.
    fn start_offsets(&self, consumer: &BaseConsumer<Self>, tpl: &mut TopicPartitionList) {
        // This callback runs inside the consumer's poll, on an async worker thread, and the
        // lookup blocks until the group coordinator answers: let the runtime move its other
        // tasks (and its timers) to another worker meanwhile, or a slow coordinator stalls
        // the whole process.
        let lookup = || consumer.committed_offsets(tpl.clone(), COMMITTED_TIMEOUT);
        let in_multi_thread_runtime = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        let looked_up = if in_multi_thread_runtime {
            tokio::task::block_in_place(lookup)
        } else {
            lookup()
        };
        let committed = match looked_up {
            Ok(committed) => committed,
            Err(e) => {
                self.fail(format!("cannot read the group's committed offsets: {e}"));
                return;
            }
        };
        let Ok(mut progress) = self.progress.lock() else {
            return;
        };
        let mut shown = Vec::new();
        for elem in committed.elements() {
            let key = (elem.topic().to_string(), elem.partition());
            let group = match elem.offset() {
                Offset::Offset(n) => Some(n),
                _ => None,
            };
            let start = match (group, progress.next.get(&key).copied()) {
                (Some(g), Some(mine)) => Some(g.max(mine)),
                (g, mine) => g.or(mine),
            };
            if let Some(start) = start {
                if group != Some(start) {
                    // Ahead of the group: those records were delivered already.
                    let _ = tpl.set_partition_offset(&key.0, key.1, Offset::Offset(start));
                }
                progress.next.insert(key.clone(), start);
            }
            shown.push(format!(
                "{}[{}]@{}",
                key.0,
                key.1,
                start.map_or("start".to_string(), |s| s.to_string())
            ));
            progress.assigned.insert(key, start.unwrap_or(-1));
        }
        info!(partitions = %shown.join(" "), "Kafka source: partitions assigned");
    }

    fn forget(&self, tpl: &TopicPartitionList) {
        if let Ok(mut progress) = self.progress.lock() {
            for elem in tpl.elements() {
                progress
                    .assigned
                    .remove(&(elem.topic().to_string(), elem.partition()));
            }
        }
        if tpl.count() > 0 {
            info!(partitions = tpl.count(), "Kafka source: partitions revoked");
        }
    }

    fn fail(&self, message: String) {
        if let Ok(mut progress) = self.progress.lock()
            && progress.failure.is_none()
        {
            progress.failure = Some(message);
        }
    }
}

/// A Debezium-topic consumer, before it runs.
pub struct KafkaSource {
    consumer: Arc<StreamConsumer<SourceContext>>,
    topics: Vec<String>,
    source_id: String,
    detail: String,
    health: Health,
}

impl KafkaSource {
    /// Checks the settings, creates the consumer and checks that the brokers answer.
    pub async fn connect(config: &KafkaSourceConfig, pipeline: &str) -> Result<Self, KafkaError> {
        let group = config
            .group_id
            .clone()
            .unwrap_or_else(|| format!("rivulet-{pipeline}"));
        let properties = consumer_properties(config, pipeline, &group).map_err(KafkaError::Config)?;
        let context = SourceContext {
            link: Link::new("source", &config.brokers),
            progress: Mutex::new(Progress::default()),
        };
        let consumer = StreamConsumer::from_config_and_context(&properties.client_config(), context)
            .map_err(|e| KafkaError::Config(properties.creation_error(&e)))?;
        let consumer = Arc::new(consumer);
        let probe = Arc::clone(&consumer);
        await_brokers(&consumer.context().link, move |timeout| {
            probe.fetch_metadata(None, timeout).map(|_| ())
        })
        .await
        .map_err(|e| match e {
            ConnectError::Refused(m) => KafkaError::Refused(m),
            ConnectError::Unreachable(m) => KafkaError::Unreachable(m),
        })?;
        Ok(KafkaSource {
            consumer,
            topics: config.topics.clone(),
            source_id: format!("kafka:{group}"),
            detail: config.topics.join(","),
            health: Health::default(),
        })
    }

    /// Publishes the phase to `health`: streaming from the start (there is no snapshot).
    pub fn with_health(mut self, health: Health) -> Self {
        self.health = health;
        self
    }

    /// `kafka:<group id>`: what positions are relative to.
    pub fn source_id(&self) -> &str {
        &self.source_id
    }

    /// The topics, for humans.
    pub fn source_detail(&self) -> &str {
        &self.detail
    }

    /// Consumes until shutdown (or until the runtime stops listening), handing over batches
    /// and committing acknowledged offsets.
    pub async fn run(
        self,
        resume: Option<Position>,
        out: mpsc::Sender<Vec<SourceItem>>,
        acks: watch::Receiver<Position>,
        shutdown: watch::Receiver<bool>,
    ) -> Result<SourceEnd, KafkaError> {
        if let Some(resume) = &resume
            && let Ok(mut progress) = self.consumer.context().progress.lock()
        {
            progress.next = resume.partition_offsets().unwrap_or_default();
        }
        let topics: Vec<&str> = self.topics.iter().map(String::as_str).collect();
        self.consumer
            .subscribe(&topics)
            .map_err(|e| KafkaError::Config(format!("cannot subscribe to {}: {e}", self.detail)))?;
        info!(topics = %self.detail, group = %self.source_id, "Kafka source: subscribed");
        self.health.set_phase(Phase::Streaming);
        let consuming = Consuming {
            consumer: self.consumer,
            decoder: DebeziumDecoder::new(),
            out,
            acks,
            shutdown,
            acked: None,
            group: self.source_id.trim_start_matches("kafka:").to_string(),
        };
        consuming.run().await
    }
}

fn consumer_properties(
    config: &KafkaSourceConfig,
    pipeline: &str,
    group: &str,
) -> Result<Properties, String> {
    if config.topics.is_empty() || config.topics.iter().any(|t| t.trim().is_empty()) {
        return Err(
            "[source] topics must name at least one topic (a name, or a regex starting with ^)".into(),
        );
    }
    if group.trim().is_empty() {
        return Err("[source] group_id is empty".into());
    }
    let reset = match config.start.as_str() {
        "earliest" | "latest" => config.start.as_str(),
        other => {
            return Err(format!(
                "[source] start = \"{other}\" is not one of \"earliest\", \"latest\""
            ));
        }
    };
    let mut p = Properties::new(
        "source",
        &config.brokers,
        &[
            // Debezium topics written in transactions (Rivulet's exactly_once): committed
            // records only.
            ("isolation.level", "read_committed"),
            ("allow.auto.create.topics", "false"),
        ],
        &config.kafka,
    )?;
    p.refuse("group.id", "use [source] group_id instead")?;
    p.refuse(
        "auto.offset.reset",
        "use [source] start = \"earliest\" | \"latest\" instead",
    )?;
    p.set("group.id", group);
    p.set("auto.offset.reset", reset);
    p.set_default("client.id", format!("rivulet-{pipeline}"));
    p.require(
        &["enable.auto.commit"],
        "false",
        &["false"],
        "offsets are committed only once the sink made the records durable",
    )?;
    p.set("enable.auto.offset.store", "false");
    Ok(p)
}

enum Wake {
    Record(KafkaResult<Arc<OriginalRecord>>),
    Ack,
    AcksClosed,
    Shutdown,
    /// Nothing is ready right now: a good moment to hand over the batch.
    Idle,
}

/// The running consumer loop.
struct Consuming {
    consumer: Arc<StreamConsumer<SourceContext>>,
    decoder: DebeziumDecoder,
    out: mpsc::Sender<Vec<SourceItem>>,
    acks: watch::Receiver<Position>,
    shutdown: watch::Receiver<bool>,
    /// The last acknowledged position (committed to the group).
    acked: Option<Position>,
    group: String,
}

impl Consuming {
    async fn run(mut self) -> Result<SourceEnd, KafkaError> {
        let mut batch: Vec<SourceItem> = Vec::with_capacity(MAX_BATCH + 1);
        let mut failed = None;
        let end = loop {
            let wake = self.next_wake(batch.is_empty()).await;
            match wake {
                Wake::Shutdown => break SourceEnd::Shutdown,
                Wake::AcksClosed => break SourceEnd::ConsumerGone,
                Wake::Ack => self.commit_ack(CommitMode::Async),
                Wake::Idle => {
                    if let Some(end) = self.hand_over(&mut batch).await {
                        break end;
                    }
                }
                Wake::Record(Ok(record)) => {
                    let (topic, partition, offset) = (record.topic.clone(), record.partition, record.offset);
                    match self.decoder.decode(record) {
                        Ok(event) => {
                            batch.push(SourceItem::Event(event));
                            if let Ok(mut progress) = self.consumer.context().progress.lock() {
                                progress.next.insert((topic, partition), offset + 1);
                            }
                        }
                        Err(e) => {
                            failed = Some(KafkaError::Decode(e));
                            break SourceEnd::Shutdown;
                        }
                    }
                    if batch.len() >= MAX_BATCH
                        && let Some(end) = self.hand_over(&mut batch).await
                    {
                        break end;
                    }
                }
                Wake::Record(Err(e)) => {
                    if let Err(e) = self.consumer_error(&e) {
                        failed = Some(e);
                        break SourceEnd::Shutdown;
                    }
                }
            }
            if let Some(failure) = self.rebalance_failure() {
                failed = Some(failure);
                break SourceEnd::Shutdown;
            }
        };
        debug!(?end, "Kafka source: consuming stopped");
        // What was consumed before a failure is still handed over and committed once durable:
        // a restart then stops at the same record, not before it.
        let finished = self.finish(batch, end).await;
        match failed {
            Some(e) => Err(e),
            None => finished,
        }
    }

    async fn next_wake(&mut self, batch_empty: bool) -> Wake {
        let consumer = &self.consumer;
        let recv = async {
            let message = consumer.recv().await;
            Wake::Record(match message {
                Ok(m) => {
                    consumer.context().link.up();
                    Ok(Arc::new(OriginalRecord {
                        topic: m.topic().to_string(),
                        partition: m.partition(),
                        offset: m.offset(),
                        key: m.key().map(<[u8]>::to_vec),
                        value: m.payload().map(<[u8]>::to_vec),
                    }))
                }
                Err(e) => Err(e),
            })
        };
        if batch_empty {
            tokio::select! {
                biased;
                _ = self.shutdown.changed() => Wake::Shutdown,
                r = self.acks.changed() => if r.is_ok() { Wake::Ack } else { Wake::AcksClosed },
                wake = recv => wake,
            }
        } else {
            tokio::select! {
                biased;
                _ = self.shutdown.changed() => Wake::Shutdown,
                r = self.acks.changed() => if r.is_ok() { Wake::Ack } else { Wake::AcksClosed },
                wake = recv => wake,
                () = std::future::ready(()) => Wake::Idle,
            }
        }
    }

    /// Consumer errors: most are reported and retried by librdkafka itself.
    fn consumer_error(&self, err: &RdError) -> Result<(), KafkaError> {
        if let Some(definite) = self.consumer.context().link.definite() {
            return Err(KafkaError::Refused(definite));
        }
        match err.rdkafka_error_code() {
            Some(
                code @ (RDKafkaErrorCode::TopicAuthorizationFailed
                | RDKafkaErrorCode::GroupAuthorizationFailed
                | RDKafkaErrorCode::ClusterAuthorizationFailed),
            ) => Err(KafkaError::Refused(format!(
                "not authorized to consume ({code}): grant the principal READ on the topics and on group {}",
                self.group
            ))),
            // A subscribed topic that does not exist yet (Debezium creates them lazily) is
            // picked up once it appears; the error callback said so once.
            Some(RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownTopic) => Ok(()),
            Some(code) if is_transient(code) => Ok(()),
            _ => {
                debug!("Kafka source: {err}");
                Ok(())
            }
        }
    }

    fn rebalance_failure(&self) -> Option<KafkaError> {
        let failure = self.consumer.context().progress.lock().ok()?.failure.take();
        failure.map(KafkaError::Client)
    }

    /// Sends the batch, ended by its position, waiting for room while still committing acks.
    async fn hand_over(&mut self, batch: &mut Vec<SourceItem>) -> Option<SourceEnd> {
        if batch.is_empty() {
            return None;
        }
        self.close_batch(batch);
        loop {
            let acked = tokio::select! {
                biased;
                permit = self.out.reserve() => return match permit {
                    Ok(permit) => {
                        permit.send(std::mem::replace(batch, Vec::with_capacity(MAX_BATCH + 1)));
                        None
                    }
                    Err(_) => Some(SourceEnd::ConsumerGone),
                },
                _ = self.shutdown.changed() => return Some(SourceEnd::Shutdown),
                r = self.acks.changed() => r,
            };
            // Waiting for room must not hold back the commits.
            match acked {
                Ok(()) => self.commit_ack(CommitMode::Async),
                Err(_) => return Some(SourceEnd::ConsumerGone),
            }
        }
    }

    /// Appends the `Commit` that makes the batch checkpointable.
    fn close_batch(&self, batch: &mut Vec<SourceItem>) {
        if matches!(batch.last(), Some(SourceItem::Commit(_)) | None) {
            return;
        }
        if let Ok(progress) = self.consumer.context().progress.lock() {
            batch.push(SourceItem::Commit(Position::of_partitions(&progress.next)));
        }
    }

    /// Commits the latest acknowledged offsets.
    fn commit_ack(&mut self, mode: CommitMode) {
        let position = self.acks.borrow_and_update().clone();
        commit(&self.consumer, &position, mode);
        self.acked = Some(position);
    }

    /// Hands over what is complete, lets the runtime make it durable, commits its last
    /// acknowledgement and leaves the group.
    async fn finish(self, mut batch: Vec<SourceItem>, end: SourceEnd) -> Result<SourceEnd, KafkaError> {
        if end != SourceEnd::ConsumerGone && !batch.is_empty() {
            self.close_batch(&mut batch);
            let _ = self.out.send(batch).await;
        }
        // Closing the channel tells the runtime to flush and checkpoint one last time; its
        // last acknowledgement arrives before it drops the ack sender.
        let Consuming {
            consumer,
            out,
            mut acks,
            acked,
            ..
        } = self;
        drop(out);
        let mut last = acked;
        let deadline = Instant::now() + FINAL_ACK_TIMEOUT;
        while let Ok(Ok(())) = tokio::time::timeout_at(deadline, acks.changed()).await {
            last = Some(acks.borrow_and_update().clone());
        }
        // Committed synchronously, then the group is left and the consumer closed: both block
        // until the coordinator answers, so off the async workers.
        let _ = tokio::task::spawn_blocking(move || {
            if let Some(position) = last {
                commit(&consumer, &position, CommitMode::Sync);
            }
            consumer.unsubscribe();
            drop(consumer);
        })
        .await;
        info!("Kafka source: stopped");
        Ok(end)
    }
}

/// Commits a position's offsets for the partitions this member still owns, unless another
/// member has moved a partition past it meanwhile.
fn commit(consumer: &StreamConsumer<SourceContext>, position: &Position, mode: CommitMode) {
    let mut tpl = TopicPartitionList::new();
    if let Ok(progress) = consumer.context().progress.lock() {
        for ((topic, partition), next) in position.partition_offsets().unwrap_or_default() {
            if progress
                .assigned
                .get(&(topic.clone(), partition))
                .is_some_and(|start| next >= *start)
            {
                let _ = tpl.add_partition_offset(&topic, partition, Offset::Offset(next));
            }
        }
    }
    if tpl.count() == 0 {
        return;
    }
    if let Err(e) = consumer.commit(&tpl, mode) {
        match mode {
            CommitMode::Async => debug!("Kafka source: cannot commit offsets yet: {e}"),
            CommitMode::Sync => {
                warn!(
                    "Kafka source: cannot commit the final offsets ({e}); the next run starts from the last commit"
                );
            }
        }
    }
}

#[async_trait::async_trait]
impl rivulet_core::Source for KafkaSource {
    fn source_id(&self) -> &str {
        &self.source_id
    }

    fn source_detail(&self) -> &str {
        &self.detail
    }

    async fn run(
        self: Box<Self>,
        resume: Option<Position>,
        out: mpsc::Sender<Vec<SourceItem>>,
        acks: watch::Receiver<Position>,
        shutdown: watch::Receiver<bool>,
    ) -> Result<SourceEnd, rivulet_core::SourceError> {
        Ok(KafkaSource::run(*self, resume, out, acks, shutdown).await?)
    }
}

impl From<KafkaError> for rivulet_core::SourceError {
    fn from(e: KafkaError) -> Self {
        rivulet_core::SourceError::from_cause(rivulet_core::ErrorKind::transient_if(e.is_transient()), e)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    #[test]
    fn consumer_settings_are_checked() {
        let config = |extra: Value| -> KafkaSourceConfig {
            let mut c = serde_json::json!({"brokers": "b:1", "topics": ["t"]});
            for (k, v) in extra.as_object().into_iter().flatten() {
                c[k] = v.clone();
            }
            serde_json::from_value(c).unwrap_or_else(|e| panic!("{e}"))
        };
        let p = consumer_properties(&config(Value::Null), "shop", "rivulet-shop")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.get("group.id"), Some("rivulet-shop"));
        assert_eq!(p.get("auto.offset.reset"), Some("earliest"));
        assert_eq!(p.get("enable.auto.commit"), Some("false"));
        let err = |extra| {
            consumer_properties(&config(extra), "shop", "g")
                .err()
                .unwrap_or_default()
        };
        assert!(err(serde_json::json!({"start": "beginning"})).contains("earliest"));
        assert!(
            err(serde_json::json!({"kafka": {"properties": {"enable.auto.commit": true}}}))
                .contains("enable.auto.commit")
        );
        assert!(err(serde_json::json!({"kafka": {"properties": {"group.id": "x"}}})).contains("group_id"));
        assert!(err(serde_json::json!({"topics": []})).contains("topics"));
    }
}
