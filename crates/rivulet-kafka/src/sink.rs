//! The Kafka sink: each event becomes the record Debezium would have written (topic, key,
//! value; a tombstone after a delete), produced by an idempotent librdkafka producer, and a
//! checkpoint waits until Kafka acknowledged every record written before it.
//!
//! ```text
//!  write(events) ─▶ encode key/value into reused buffers ─▶ producer queue (bounded: a full
//!                   │                                        queue makes write() wait)
//!                   └ first record for a topic: create it (AdminClient)
//!  delivery reports (librdkafka's thread) ─▶ outstanding -= 1; the first failure is kept
//!  flush(pos) ─▶ wait until outstanding == 0 (through any outage) or a failure ─▶ Ok / Err
//!
//!  exactly_once:  write() begins a transaction;  flush(pos) adds {"sink:<pipeline>": pos} to
//!                 offsets_topic in it and commits;  open() fences the previous instance and
//!                 reads that position back, so the runtime resumes exactly there
//! ```
//!
//! Delivery guarantee without transactions: at least once. Records written after the last
//! checkpoint may be written again after a crash; the idempotent producer never duplicates
//! or reorders records within one run, even across broker restarts, and a broker outage only
//! pauses the pipeline (`message.timeout.ms = 0`: records wait in the bounded queue until the
//! brokers are back).

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use rdkafka::client::ClientContext;
use rdkafka::config::{FromClientConfigAndContext, RDKafkaLogLevel};
use rdkafka::error::{KafkaError as RdError, RDKafkaErrorCode};
use rdkafka::message::{Header, Message, OwnedHeaders};
use rdkafka::producer::{
    BaseRecord, DeliveryResult, Producer, ProducerContext, PurgeConfig, ThreadedProducer,
};
use rdkafka::util::Timeout;
use rivulet_core::{Change, ChangeEvent, Position, Sink, SinkError};
use rivulet_format::{EncodedRecords, RecordEncoder};
use tokio::sync::Notify;
use tracing::{info, warn};

use crate::admin::{Admin, TopicSpec};
use crate::client::{Link, await_brokers, log};
use crate::compacted::read_last_value;
use crate::config::{KafkaSinkConfig, Properties};

/// Bounded memory: what the producer may hold before write() waits. 32 MB / 100k records
/// absorb bursts and a short outage without holding up the pipeline.
const DEFAULTS: &[(&str, &str)] = &[
    // The Java client's partitioning, so a key lands where Debezium would put it.
    ("partitioner", "murmur2_random"),
    ("queue.buffering.max.kbytes", "32768"),
    ("queue.buffering.max.messages", "100000"),
    ("linger.ms", "5"),
    // Rivulet creates topics itself, with the configured partitions; librdkafka must not
    // have the broker create them with its defaults.
    ("allow.auto.create.topics", "false"),
];

/// How long init_transactions may take (it waits for the previous instance's transaction to
/// be aborted).
const INIT_TRANSACTIONS_TIMEOUT: Duration = Duration::from_secs(60);
/// Aborting at shutdown: best effort, the coordinator aborts by itself after
/// `transaction.timeout.ms` and a new instance aborts it at init.
const ABORT_TIMEOUT: Duration = Duration::from_secs(30);

/// Records handed to librdkafka and not yet reported, and the first failure.
struct Deliveries {
    outstanding: AtomicI64,
    failure: Mutex<Option<SinkError>>,
    settled: Notify,
}

impl Deliveries {
    fn fail(&self, error: SinkError) {
        if let Ok(mut slot) = self.failure.lock()
            && slot.is_none()
        {
            *slot = Some(error);
        }
        self.settled.notify_waiters();
    }

    fn take_failure(&self) -> Option<SinkError> {
        self.failure.lock().ok().and_then(|mut f| f.take())
    }

    fn has_failure(&self) -> bool {
        self.failure.lock().map(|f| f.is_some()).unwrap_or(true)
    }
}

/// The producer's context: shared link state plus delivery accounting.
struct SinkContext {
    link: Link,
    deliveries: Deliveries,
    /// The producer's `message.max.bytes`, for "too large" messages.
    message_max_bytes: String,
    transactional_id: Option<String>,
}

impl ClientContext for SinkContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        log(level, fac, log_message);
    }

    fn error(&self, error: RdError, reason: &str) {
        self.link.on_error(&error, reason);
        if self.link.definite().is_some() {
            // Wake a waiting flush: it reports the problem instead of waiting forever.
            self.deliveries.settled.notify_waiters();
        }
    }
}

impl ProducerContext for SinkContext {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => self.link.up(),
            Err((err, message)) => {
                let code = err.rdkafka_error_code();
                // Purged records belong to a transaction that is being dropped on purpose.
                if !matches!(
                    code,
                    Some(RDKafkaErrorCode::PurgeQueue | RDKafkaErrorCode::PurgeInflight)
                ) {
                    let size =
                        message.key().map_or(0, <[u8]>::len) + message.payload().map_or(0, <[u8]>::len);
                    self.deliveries
                        .fail(self.record_error(err, message.topic(), size));
                }
            }
        }
        if self.deliveries.outstanding.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.deliveries.settled.notify_waiters();
        }
    }
}

impl SinkContext {
    /// One line per kind of refusal, naming the topic and what to change.
    fn record_error(&self, err: &RdError, topic: &str, size: usize) -> SinkError {
        let Some(code) = err.rdkafka_error_code() else {
            return SinkError::definite(format!("cannot produce to topic {topic}: {err}"));
        };
        match code {
            RDKafkaErrorCode::MessageSizeTooLarge
            | RDKafkaErrorCode::InvalidMessageSize
            | RDKafkaErrorCode::MessageBatchTooLarge => SinkError::definite(format!(
                "a record for topic {topic} is {size} bytes, more than Kafka accepts ({code}): raise message.max.bytes \
                 in [sink.kafka.properties] (the producer's limit, now {}) and max.message.bytes on the topic (or \
                 the broker's message.max.bytes)",
                self.message_max_bytes
            )),
            RDKafkaErrorCode::TopicAuthorizationFailed => SinkError::definite(format!(
                "not authorized to write to topic {topic} ({code}): grant the principal WRITE on it"
            )),
            RDKafkaErrorCode::UnknownTopicOrPartition
            | RDKafkaErrorCode::UnknownTopic
            | RDKafkaErrorCode::UnknownPartition => SinkError::definite(format!(
                "topic {topic} does not exist ({code}): create it, or set create_topics = true"
            )),
            code if is_fenced(code) => SinkError::definite(self.fenced_message()),
            RDKafkaErrorCode::MessageTimedOut => SinkError::transient(format!(
                "Kafka did not acknowledge a record for topic {topic} within message.timeout.ms ({code}); nothing \
                 after the last checkpoint is confirmed, a restart delivers it again"
            )),
            code if lost_producer_state(code) => SinkError::transient(format!(
                "Kafka lost this producer's sequence state for topic {topic} ({code}), as after a broker restart; \
                 records after the last checkpoint may be delivered twice"
            )),
            code => SinkError::definite(format!("Kafka refused a record for topic {topic}: {code}")),
        }
    }

    /// The producer's fatal error, if it raised one. librdkafka raises one when the broker's
    /// idempotence state and the producer's disagree (a broker restarted without its producer
    /// state, an unclean leader election): this producer instance is finished, but the pipeline
    /// is not — a restart from the last checkpoint with a new producer re-sends what was not
    /// confirmed, the documented at-least-once window (a transactional producer aborts it).
    fn fatal(&self, producer: &KafkaProducer) -> Option<SinkError> {
        let (code, reason) = producer.client().fatal_error()?;
        Some(match code {
            code if is_fenced(code) => SinkError::definite(self.fenced_message()),
            // librdkafka's own "inconsistent state" is the fatal form of the same loss.
            code if lost_producer_state(code) || code == RDKafkaErrorCode::Inconsistent => {
                SinkError::transient(format!(
                    "Kafka and this producer lost step ({reason}); a new producer re-sends what was not \
                 confirmed (records after the last checkpoint may be delivered twice)"
                ))
            }
            _ => SinkError::definite(format!("fatal Kafka producer error: {reason}")),
        })
    }

    fn fenced_message(&self) -> String {
        format!(
            "another producer with transactional.id {} took over (this instance is fenced): only one Rivulet may run \
             a pipeline; this one stops without confirming anything more",
            self.transactional_id.as_deref().unwrap_or("?")
        )
    }
}

/// Another instance with the same transactional.id took over.
fn is_fenced(code: RDKafkaErrorCode) -> bool {
    matches!(
        code,
        RDKafkaErrorCode::Fenced | RDKafkaErrorCode::ProducerFenced | RDKafkaErrorCode::InvalidProducerEpoch
    )
}

/// The broker lost the idempotent producer's sequence state (a broker restarted without it):
/// this producer cannot go on, but a restart from the last checkpoint with a new one re-sends
/// what was not confirmed — the at-least-once window.
fn lost_producer_state(code: RDKafkaErrorCode) -> bool {
    matches!(
        code,
        RDKafkaErrorCode::OutOfOrderSequenceNumber
            | RDKafkaErrorCode::UnknownProducerId
            | RDKafkaErrorCode::InvalidProducerIdMapping
    )
}

type KafkaProducer = ThreadedProducer<SinkContext>;

/// Delivers events to Kafka topics as Debezium records.
pub struct KafkaSink {
    config: KafkaSinkConfig,
    encoder: Box<dyn RecordEncoder>,
    records: EncodedRecords,
    properties: Properties,
    producer: Option<KafkaProducer>,
    admin: Option<Admin>,
    /// Topics known to exist (created or checked).
    topics: HashSet<String>,
    /// `sink:<pipeline>`: the exactly-once position's key in `offsets_topic`.
    position_key: String,
    in_transaction: bool,
    opened: bool,
}

impl KafkaSink {
    async fn write_events(
        &mut self,
        events: &[ChangeEvent],
        records: &mut EncodedRecords,
    ) -> Result<(), SinkError> {
        for event in events {
            self.encoder.encode(event, records);
            let headers = if self.config.headers {
                headers_for(event)
            } else {
                None
            };
            for (i, record) in records.iter().enumerate() {
                if !self.topics.contains(record.topic.as_str()) {
                    self.prepare_topic(&record.topic).await?;
                }
                let producer = self
                    .producer
                    .as_ref()
                    .ok_or_else(|| SinkError::definite("kafka sink used after close"))?;
                // Headers describe the change; the tombstone that follows a delete gets none.
                let headers = if i == 0 && record.value.is_some() {
                    headers.clone()
                } else {
                    None
                };
                produce(
                    producer,
                    &record.topic,
                    record.key.as_deref(),
                    record.value.as_deref(),
                    headers,
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Checks the settings and creates the producer; nothing is contacted until `open`.
    pub fn new(
        config: &KafkaSinkConfig,
        encoder: Box<dyn RecordEncoder>,
        pipeline: &str,
    ) -> Result<Self, SinkError> {
        let properties = producer_properties(config, pipeline).map_err(SinkError::definite)?;
        let context = SinkContext {
            link: Link::new("sink", &config.brokers),
            deliveries: Deliveries {
                outstanding: AtomicI64::new(0),
                failure: Mutex::new(None),
                settled: Notify::new(),
            },
            message_max_bytes: properties
                .get("message.max.bytes")
                .unwrap_or("1000000")
                .to_string(),
            transactional_id: properties.get("transactional.id").map(str::to_string),
        };
        let producer = KafkaProducer::from_config_and_context(&properties.client_config(), context)
            .map_err(|e| SinkError::definite(properties.creation_error(&e)))?;
        Ok(KafkaSink {
            config: config.clone(),
            encoder,
            records: EncodedRecords::default(),
            properties,
            producer: Some(producer),
            admin: None,
            topics: HashSet::new(),
            position_key: format!("sink:{pipeline}"),
            in_transaction: false,
            opened: false,
        })
    }

    fn producer(&self) -> Result<&KafkaProducer, SinkError> {
        self.producer
            .as_ref()
            .ok_or_else(|| SinkError::definite("kafka sink used after close"))
    }

    /// The first delivery failure or definite connection problem, if any.
    fn check(&self) -> Result<(), SinkError> {
        let producer = self.producer()?;
        let context = producer.context();
        if let Some(failure) = context.deliveries.take_failure() {
            return Err(failure);
        }
        if let Some(fatal) = context.fatal(producer) {
            return Err(fatal);
        }
        if let Some(definite) = context.link.definite() {
            return Err(SinkError::definite(definite));
        }
        Ok(())
    }

    /// Waits until every record handed to the producer was acknowledged, through any outage.
    async fn settle(&self) -> Result<(), SinkError> {
        let producer = self.producer()?;
        let deliveries = &producer.context().deliveries;
        loop {
            let settled = deliveries.settled.notified();
            tokio::pin!(settled);
            settled.as_mut().enable();
            self.check()?;
            if deliveries.outstanding.load(Ordering::Acquire) <= 0 {
                return Ok(());
            }
            // The timeout only guards against a missed wake-up; delivery reports wake us.
            let _ = tokio::time::timeout(Duration::from_millis(500), settled).await;
        }
    }

    /// Makes sure `topic` exists before its first record: creates it, or checks for it.
    async fn prepare_topic(&mut self, topic: &str) -> Result<(), SinkError> {
        let admin = self.admin()?;
        if self.config.create_topics {
            let spec = TopicSpec {
                partitions: self.config.topic_partitions,
                replication: self.config.topic_replication_factor,
                configs: &[],
            };
            admin
                .ensure_topic(topic, &spec)
                .await
                .map_err(|e| SinkError::definite(e.0))?;
        } else if !admin
            .topic_exists(topic)
            .await
            .map_err(|e| SinkError::definite(e.0))?
        {
            return Err(SinkError::definite(format!(
                "topic {topic} does not exist and create_topics = false: create it (e.g. with {} partitions), or set \
                 create_topics = true",
                self.config.topic_partitions
            )));
        }
        self.topics.insert(topic.to_string());
        Ok(())
    }

    fn admin(&mut self) -> Result<Admin, SinkError> {
        if let Some(admin) = &self.admin {
            return Ok(admin.clone());
        }
        let admin =
            Admin::new(&self.properties, "sink", &self.config.brokers).map_err(SinkError::definite)?;
        self.admin = Some(admin.clone());
        Ok(admin)
    }

    fn begin_transaction(&mut self) -> Result<(), SinkError> {
        if self.config.exactly_once && !self.in_transaction {
            if !self.opened {
                return Err(SinkError::definite("kafka sink used before open"));
            }
            self.producer()?
                .begin_transaction()
                .map_err(|e| self.transaction_error("begin a transaction", &e))?;
            self.in_transaction = true;
        }
        Ok(())
    }

    fn transaction_error(&self, what: &str, err: &RdError) -> SinkError {
        if let Err(failure) = self.check() {
            return failure;
        }
        let fenced = err.rdkafka_error_code().is_some_and(is_fenced);
        match (fenced, self.producer.as_ref()) {
            (true, Some(p)) => SinkError::definite(p.context().fenced_message()),
            _ => match err {
                RdError::Transaction(e) if e.is_fatal() => SinkError::definite(format!(
                    "cannot {what}: {err} (fatal; this instance cannot go on)"
                )),
                _ => SinkError::transient(format!(
                    "cannot {what}: {err}; the open transaction is aborted and a restart delivers it again"
                )),
            },
        }
    }

    /// Runs a blocking producer call off the async workers.
    async fn blocking<T: Send + 'static>(
        &self,
        call: impl FnOnce(&KafkaProducer) -> T + Send + 'static,
    ) -> Result<T, SinkError> {
        let producer = self.producer()?.clone();
        tokio::task::spawn_blocking(move || call(&producer))
            .await
            .map_err(|e| SinkError::definite(format!("kafka producer task failed: {e}")))
    }

    async fn abort(&mut self) {
        if !self.in_transaction {
            return;
        }
        self.in_transaction = false;
        match self.blocking(|p| p.abort_transaction(ABORT_TIMEOUT)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => warn!(
                "cannot abort the open Kafka transaction ({e}); the coordinator aborts it after transaction.timeout.ms"
            ),
            Err(e) => warn!("{e}"),
        }
    }

    /// Commits the open transaction with the position record in it.
    async fn commit(&mut self, position: &Position) -> Result<(), SinkError> {
        self.begin_transaction()?;
        let value = serde_json::to_vec(position)
            .map_err(|e| SinkError::definite(format!("cannot encode the position: {e}")))?;
        let producer = self.producer()?;
        produce(
            producer,
            &self.config.offsets_topic,
            Some(self.position_key.as_bytes()),
            Some(&value),
            None,
        )
        .await?;
        // Wait here, not inside commit_transaction: an outage then holds no blocking thread,
        // and a failed record is reported as itself.
        if let Err(e) = self.settle().await {
            self.abort().await;
            return Err(e);
        }
        loop {
            match self.blocking(|p| p.commit_transaction(Timeout::Never)).await? {
                Ok(()) => break,
                Err(RdError::Transaction(e)) if e.is_retriable() => {
                    warn!("committing the Kafka transaction: {e}; retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(err) => {
                    let error = self.transaction_error("commit the Kafka transaction", &err);
                    if matches!(&err, RdError::Transaction(e) if e.txn_requires_abort()) {
                        self.abort().await;
                    }
                    self.in_transaction = false;
                    return Err(error);
                }
            }
        }
        self.in_transaction = false;
        self.check()
    }

    /// Exactly-once start: fence the previous instance and read the committed position.
    async fn open_transactional(&mut self) -> Result<Option<Position>, SinkError> {
        let offsets_topic = self.config.offsets_topic.clone();
        if self.config.create_topics {
            let replication = self.config.topic_replication_factor;
            let spec = TopicSpec {
                partitions: 1,
                replication,
                configs: &[("cleanup.policy", "compact")],
            };
            self.admin()?
                .ensure_topic(&offsets_topic, &spec)
                .await
                .map_err(|e| SinkError::definite(e.0))?;
            self.topics.insert(offsets_topic.clone());
        } else if self
            .admin()?
            .topic_exists(&offsets_topic)
            .await
            .map_err(|e| SinkError::definite(e.0))?
        {
            self.topics.insert(offsets_topic.clone());
        } else {
            return Err(SinkError::definite(format!(
                "the offsets topic {offsets_topic} does not exist and create_topics = false: create it with one \
                 partition and cleanup.policy=compact, or set create_topics = true"
            )));
        }
        match self
            .blocking(|p| p.init_transactions(INIT_TRANSACTIONS_TIMEOUT))
            .await?
        {
            Ok(()) => {}
            Err(err) => return Err(self.transaction_error("initialise Kafka transactions", &err)),
        }
        let properties = self.properties.without(&[]);
        let brokers = self.config.brokers.clone();
        let key = self.position_key.clone().into_bytes();
        let stored = tokio::task::spawn_blocking(move || {
            read_last_value(&properties, "sink", &brokers, &offsets_topic, &key, true)
        })
        .await
        .map_err(|e| SinkError::definite(format!("kafka reader task failed: {e}")))?
        .map_err(SinkError::transient)?;
        let Some(bytes) = stored else {
            info!(topic = %self.config.offsets_topic, key = %self.position_key, "exactly-once: no committed position yet");
            return Ok(None);
        };
        let position: Position = serde_json::from_slice(&bytes).map_err(|e| {
            SinkError::definite(format!(
                "the position stored under key {} in topic {} is unreadable ({e}); delete that key (a tombstone) to \
                 start over",
                self.position_key, self.config.offsets_topic
            ))
        })?;
        info!(position = %position.lsn, topic = %self.config.offsets_topic, "exactly-once: resuming at the position committed with the records");
        Ok(Some(position))
    }
}

/// The producer's librdkafka properties: Rivulet's defaults, the user's, the required ones.
fn producer_properties(config: &KafkaSinkConfig, pipeline: &str) -> Result<Properties, String> {
    if config.topic_partitions < 1 {
        return Err(format!(
            "[sink] topic_partitions = {} must be at least 1",
            config.topic_partitions
        ));
    }
    if config.topic_replication_factor < 1 && config.topic_replication_factor != -1 {
        return Err(format!(
            "[sink] topic_replication_factor = {} must be at least 1 (or -1 for the broker's default)",
            config.topic_replication_factor
        ));
    }
    if config.offsets_topic.trim().is_empty() {
        return Err("[sink] offsets_topic is empty".into());
    }
    let mut p = Properties::new("sink", &config.brokers, DEFAULTS, &config.kafka)?;
    p.set_default("client.id", format!("rivulet-{pipeline}"));
    p.require(
        &["enable.idempotence"],
        "true",
        &["true"],
        "records must not be duplicated or reordered when the producer retries",
    )?;
    p.require(
        &["acks", "request.required.acks"],
        "all",
        &["all", "-1"],
        "a checkpoint may only confirm what every in-sync replica has",
    )?;
    if config.exactly_once {
        p.set_default("transactional.id", format!("rivulet-{pipeline}"));
        // librdkafka caps message.timeout.ms at transaction.timeout.ms for transactional
        // producers (it sets it so itself when unset): an outage longer than that aborts the
        // transaction, and the restart resumes from the committed position.
    } else {
        if p.user_set("transactional.id") {
            return Err(
                "[sink.kafka.properties] sets transactional.id: set exactly_once = true instead".into(),
            );
        }
        // An outage pauses the pipeline instead of failing records.
        p.set_default("message.timeout.ms", "0");
    }
    Ok(p)
}

/// Hands one record to librdkafka, waiting while its queue is full (back-pressure).
async fn produce(
    producer: &KafkaProducer,
    topic: &str,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    mut headers: Option<OwnedHeaders>,
) -> Result<(), SinkError> {
    let context = producer.context();
    let deliveries = &context.deliveries;
    let mut backoff = Duration::from_millis(1);
    loop {
        let mut record: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(topic);
        record.key = key;
        record.payload = value;
        record.headers = headers.take();
        // Counted before the send: the report may arrive before send() returns.
        deliveries.outstanding.fetch_add(1, Ordering::AcqRel);
        let Err((err, record)) = producer.send(record) else {
            return Ok(());
        };
        deliveries.outstanding.fetch_sub(1, Ordering::AcqRel);
        headers = record.headers;
        let size = key.map_or(0, <[u8]>::len) + value.map_or(0, <[u8]>::len);
        match err.rdkafka_error_code() {
            Some(RDKafkaErrorCode::QueueFull) => {
                if let Some(fatal) = context.fatal(producer) {
                    return Err(fatal);
                }
                if let Some(definite) = context.link.definite() {
                    return Err(SinkError::definite(definite));
                }
                if deliveries.has_failure() {
                    return Err(deliveries
                        .take_failure()
                        .unwrap_or_else(|| SinkError::definite("a Kafka delivery failed")));
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_millis(100));
            }
            _ => return Err(context.record_error(&err, topic, size)),
        }
    }
}

/// `__op`, `__table`, `__lsn`, as Debezium's `add.headers = op,table,lsn` names them.
fn headers_for(event: &ChangeEvent) -> Option<OwnedHeaders> {
    if matches!(event.change, Change::Tombstone) {
        return None;
    }
    let lsn = event.source.lsn.0.to_string();
    let mut headers = OwnedHeaders::new_with_capacity(3).insert(Header {
        key: "__op",
        value: Some(event.op().code()),
    });
    if let Some(table) = event.table() {
        headers = headers.insert(Header {
            key: "__table",
            value: Some(table.id.name.as_str()),
        });
    }
    headers = headers.insert(Header {
        key: "__lsn",
        value: Some(lsn.as_str()),
    });
    Some(headers)
}

#[async_trait]
impl Sink for KafkaSink {
    fn name(&self) -> &'static str {
        "kafka"
    }

    async fn open(&mut self, _state: Option<serde_json::Value>) -> Result<Option<Position>, SinkError> {
        let producer = self.producer()?.clone();
        let probe = producer.clone();
        await_brokers(&producer.context().link, move |timeout| {
            probe.client().fetch_metadata(None, timeout).map(|_| ())
        })
        .await
        .map_err(|e| SinkError::definite(e.message()))?;
        self.check()?;
        self.opened = true;
        info!(brokers = %self.config.brokers, exactly_once = self.config.exactly_once, "connected to Kafka");
        if self.config.exactly_once {
            return self.open_transactional().await;
        }
        Ok(None)
    }

    async fn write(&mut self, events: &[ChangeEvent]) -> Result<(), SinkError> {
        self.check()?;
        self.begin_transaction()?;
        // The reusable record buffers leave `self` while they are read, so topic preparation
        // (which needs `&mut self`) can run in between.
        let mut records = std::mem::take(&mut self.records);
        let result = self.write_events(events, &mut records).await;
        self.records = records;
        result
    }

    async fn flush(&mut self, position: &Position) -> Result<serde_json::Value, SinkError> {
        if self.config.exactly_once {
            self.commit(position).await?;
        } else {
            self.settle().await?;
        }
        Ok(serde_json::Value::Null)
    }

    async fn close(&mut self) -> Result<(), SinkError> {
        if self.config.exactly_once {
            self.abort().await;
        } else if let Some(producer) = &self.producer {
            // Records written since the last flush belong to an unfinished source
            // transaction, delivered again by the next run: send no more of them.
            producer.purge(PurgeConfig::default().queue());
        }
        if let Some(producer) = self.producer.take() {
            // Dropping joins librdkafka's threads: keep that off the async workers.
            let _ = tokio::task::spawn_blocking(move || drop(producer)).await;
        }
        Ok(())
    }
}
