//! The Kafka offsets store: checkpoints kept in a compacted topic, as Kafka Connect keeps its
//! offsets, so a pipeline can move to another machine and resume where it stopped.
//!
//! ```text
//!  store(checkpoint) ─▶ produce key = <pipeline>, value = checkpoint JSON (acks=all, idempotent)
//!                       └▶ returns once Kafka acknowledged it
//!  load()            ─▶ read the topic from the beginning to its end ─▶ last value for <pipeline>
//! ```
//!
//! The topic (default `rivulet-offsets`) is created if missing: one partition (so one key's
//! records stay in order), `cleanup.policy = compact` (only the last checkpoint of each
//! pipeline is kept), the broker's default replication factor. Several pipelines can share it;
//! their keys keep them apart.

use std::sync::Arc;

use async_trait::async_trait;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::util::Timeout;
use rivulet_core::{Checkpoint, OffsetStore, OffsetsError};

use crate::admin::{Admin, TopicSpec};
use crate::client::{Link, LinkContext, await_brokers};
use crate::compacted::read_last_value;
use crate::config::{KafkaOffsetsConfig, Properties};

/// Checkpoints in a compacted Kafka topic, one key per pipeline.
pub struct KafkaOffsetStore {
    producer: FutureProducer<LinkContext>,
    properties: Properties,
    brokers: String,
    topic: String,
    pipeline: String,
}

impl KafkaOffsetStore {
    /// Connects, and creates the topic if it is missing.
    pub async fn new(config: &KafkaOffsetsConfig, pipeline: &str) -> Result<Self, OffsetsError> {
        if config.topic.trim().is_empty() {
            return Err(OffsetsError("[offsets] topic is empty".into()));
        }
        let mut p = Properties::new(
            "offsets",
            &config.brokers,
            &[("allow.auto.create.topics", "false")],
            &config.kafka,
        )
        .map_err(OffsetsError)?;
        p.set_default("client.id", format!("rivulet-{pipeline}-offsets"));
        p.require(
            &["enable.idempotence"],
            "true",
            &["true"],
            "a retried checkpoint must not overtake a newer one",
        )
        .map_err(OffsetsError)?;
        p.require(
            &["acks", "request.required.acks"],
            "all",
            &["all", "-1"],
            "a checkpoint must survive the loss of a broker",
        )
        .map_err(OffsetsError)?;
        p.refuse(
            "transactional.id",
            "the offsets store writes one record at a time, without transactions",
        )
        .map_err(OffsetsError)?;
        // During an outage a checkpoint waits for the brokers (the pipeline pauses) instead
        // of failing.
        p.set_default("message.timeout.ms", "0");
        let link = Arc::new(Link::new("offsets store", &config.brokers));
        let producer: FutureProducer<LinkContext> = p
            .client_config()
            .create_with_context(LinkContext(Arc::clone(&link)))
            .map_err(|e| OffsetsError(p.creation_error(&e)))?;
        let probe = producer.clone();
        await_brokers(&link, move |timeout| {
            probe.client().fetch_metadata(None, timeout).map(|_| ())
        })
        .await
        .map_err(|e| OffsetsError(format!("offsets store: {}", e.message())))?;
        let admin = Admin::new(&p, "offsets store", &config.brokers).map_err(OffsetsError)?;
        admin
            .ensure_topic(
                &config.topic,
                &TopicSpec {
                    partitions: 1,
                    replication: -1,
                    configs: &[("cleanup.policy", "compact")],
                },
            )
            .await
            .map_err(|e| OffsetsError(format!("offsets store: {}", e.0)))?;
        Ok(KafkaOffsetStore {
            producer,
            properties: p,
            brokers: config.brokers.clone(),
            topic: config.topic.clone(),
            pipeline: pipeline.to_string(),
        })
    }
}

#[async_trait]
impl OffsetStore for KafkaOffsetStore {
    fn describe(&self) -> String {
        format!(
            "Kafka topic {} at {} (key {})",
            self.topic, self.brokers, self.pipeline
        )
    }

    async fn load(&self) -> Result<Option<Checkpoint>, OffsetsError> {
        let properties = self.properties.without(&[]);
        let (brokers, topic, key) = (self.brokers.clone(), self.topic.clone(), self.pipeline.clone());
        let stored = tokio::task::spawn_blocking(move || {
            read_last_value(
                &properties,
                "offsets store",
                &brokers,
                &topic,
                key.as_bytes(),
                false,
            )
        })
        .await
        .map_err(|e| OffsetsError(format!("kafka reader task failed: {e}")))?
        .map_err(|e| OffsetsError(format!("cannot load the checkpoint: {e}")))?;
        let Some(bytes) = stored else { return Ok(None) };
        serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            OffsetsError(format!(
                "the checkpoint of pipeline {} in Kafka topic {} is unreadable ({e}); write a tombstone for key {} to \
                 start over",
                self.pipeline, self.topic, self.pipeline
            ))
        })
    }

    async fn store(&self, checkpoint: &Checkpoint) -> Result<(), OffsetsError> {
        let value = serde_json::to_vec(checkpoint)
            .map_err(|e| OffsetsError(format!("cannot encode the checkpoint: {e}")))?;
        let record = FutureRecord::to(&self.topic)
            .key(self.pipeline.as_bytes())
            .payload(&value);
        match self.producer.send(record, Timeout::Never).await {
            Ok(_) => Ok(()),
            Err((err, _)) => Err(OffsetsError(format!(
                "cannot store the checkpoint in Kafka topic {} at {}: {err}",
                self.topic, self.brokers
            ))),
        }
    }
}
