//! Topics: creating them the first time Rivulet writes to them (with the configured
//! partitions and replication, or compacted for positions), and checking that they exist when
//! Rivulet may not create them.
//!
//! A broker that cannot be reached while a topic is being created pauses the caller (the
//! request is retried with a back-off), as a produce would; a refusal (no permission, an
//! invalid replication factor) is definite.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::error::RDKafkaErrorCode;
use tracing::{info, warn};

use crate::client::{Link, LinkContext};
use crate::config::Properties;

/// How long one CreateTopics request may take before it is retried.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest pause between two attempts while the brokers cannot be reached.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// How a topic Rivulet creates looks.
pub(crate) struct TopicSpec<'a> {
    pub partitions: i32,
    /// -1: the broker's `default.replication.factor`.
    pub replication: i32,
    /// Topic configuration, e.g. `cleanup.policy = compact`.
    pub configs: &'a [(&'a str, &'a str)],
}

/// Why a topic could not be prepared.
#[derive(Debug)]
pub(crate) struct TopicError(pub String);

/// An admin client for one part of Rivulet (its properties are that part's, minus the
/// producer-only ones).
#[derive(Clone)]
pub(crate) struct Admin {
    client: Arc<AdminClient<LinkContext>>,
    brokers: String,
}

impl Admin {
    pub(crate) fn new(properties: &Properties, role: &'static str, brokers: &str) -> Result<Self, String> {
        // An admin client is a producer inside librdkafka: without these it would start an
        // idempotent or transactional producer of its own, and a metadata request for a
        // missing topic could create it with the broker's defaults.
        let mut props = properties.without(&[
            "enable.idempotence",
            "transactional.id",
            "acks",
            "request.required.acks",
        ]);
        props.set("allow.auto.create.topics", "false");
        let client = props
            .client_config()
            .create_with_context(LinkContext(Arc::new(Link::new(role, brokers))))
            .map_err(|e| props.creation_error(&e))?;
        Ok(Admin {
            client: Arc::new(client),
            brokers: brokers.to_string(),
        })
    }

    /// Creates `name` unless it exists. Retries while the cluster is unreachable.
    pub(crate) async fn ensure_topic(&self, name: &str, spec: &TopicSpec<'_>) -> Result<(), TopicError> {
        let mut topic = NewTopic::new(name, spec.partitions, TopicReplication::Fixed(spec.replication));
        for (k, v) in spec.configs {
            topic = topic.set(k, v);
        }
        let options = AdminOptions::new()
            .request_timeout(Some(REQUEST_TIMEOUT))
            .operation_timeout(Some(REQUEST_TIMEOUT));
        let mut backoff = Duration::from_millis(200);
        let mut waiting = false;
        loop {
            let code = match self.client.create_topics([&topic], &options).await {
                Ok(results) => match results.into_iter().next() {
                    Some(Ok(_)) => {
                        info!(
                            topic = name,
                            partitions = spec.partitions,
                            replication = spec.replication,
                            "created topic"
                        );
                        return Ok(());
                    }
                    Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) | None => return Ok(()),
                    Some(Err((_, code))) => code,
                },
                Err(err) => match err.rdkafka_error_code() {
                    Some(code) => code,
                    None => return Err(TopicError(format!("cannot create topic {name}: {err}"))),
                },
            };
            if !is_transient(code) {
                return Err(TopicError(refusal(name, spec, code)));
            }
            if !waiting {
                warn!(topic = name, brokers = %self.brokers, "cannot create the topic yet ({code}); retrying until Kafka answers");
                waiting = true;
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// Whether `name` exists (without creating it). Retries while the cluster is unreachable.
    pub(crate) async fn topic_exists(&self, name: &str) -> Result<bool, TopicError> {
        let mut backoff = Duration::from_millis(200);
        loop {
            let client = Arc::clone(&self.client);
            let topic = name.to_string();
            let fetched = tokio::task::spawn_blocking(move || {
                client
                    .inner()
                    .fetch_metadata(Some(&topic), REQUEST_TIMEOUT)
                    .map(|md| md.topics().first().map(|t| t.error()))
            })
            .await
            .map_err(|e| TopicError(format!("metadata task failed: {e}")))?;
            match fetched {
                Ok(Some(None)) => return Ok(true),
                Ok(Some(Some(err))) => {
                    let code = RDKafkaErrorCode::from(err);
                    match code {
                        RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownTopic => {
                            return Ok(false);
                        }
                        code if is_transient(code) || code == RDKafkaErrorCode::LeaderNotAvailable => {}
                        code => return Err(TopicError(format!("cannot look up topic {name}: {code}"))),
                    }
                }
                Ok(None) => return Ok(false),
                Err(err) if err.rdkafka_error_code().is_some_and(is_transient) => {}
                Err(err) => return Err(TopicError(format!("cannot look up topic {name}: {err}"))),
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }
}

/// Codes that mean "not now" rather than "no".
pub(crate) fn is_transient(code: RDKafkaErrorCode) -> bool {
    matches!(
        code,
        RDKafkaErrorCode::RequestTimedOut
            | RDKafkaErrorCode::OperationTimedOut
            | RDKafkaErrorCode::MessageTimedOut
            | RDKafkaErrorCode::BrokerTransportFailure
            | RDKafkaErrorCode::AllBrokersDown
            | RDKafkaErrorCode::Resolve
            | RDKafkaErrorCode::NetworkException
            | RDKafkaErrorCode::BrokerNotAvailable
            | RDKafkaErrorCode::NotController
            | RDKafkaErrorCode::NotCoordinator
            | RDKafkaErrorCode::CoordinatorNotAvailable
            | RDKafkaErrorCode::CoordinatorLoadInProgress
            | RDKafkaErrorCode::NotEnoughReplicas
            | RDKafkaErrorCode::NotEnoughReplicasAfterAppend
            | RDKafkaErrorCode::NotLeaderForPartition
            | RDKafkaErrorCode::LeaderNotAvailable
            | RDKafkaErrorCode::ThrottlingQuotaExceeded
            | RDKafkaErrorCode::TimedOutQueue
            | RDKafkaErrorCode::WaitingForCoordinator
            | RDKafkaErrorCode::ConcurrentTransactions
            | RDKafkaErrorCode::KafkaStorageError
    )
}

fn refusal(name: &str, spec: &TopicSpec<'_>, code: RDKafkaErrorCode) -> String {
    match code {
        RDKafkaErrorCode::TopicAuthorizationFailed | RDKafkaErrorCode::ClusterAuthorizationFailed => format!(
            "not authorized to create topic {name} ({code}): grant the principal CREATE on it, or create the topic \
             yourself and set create_topics = false"
        ),
        RDKafkaErrorCode::InvalidReplicationFactor => format!(
            "cannot create topic {name} with replication factor {}: the cluster has fewer brokers ({code}); lower \
             topic_replication_factor",
            spec.replication
        ),
        RDKafkaErrorCode::InvalidPartitions => {
            format!(
                "cannot create topic {name} with {} partitions ({code})",
                spec.partitions
            )
        }
        RDKafkaErrorCode::PolicyViolation | RDKafkaErrorCode::InvalidConfig => {
            format!(
                "the cluster refused topic {name} as configured ({code}); create it yourself and set create_topics = false"
            )
        }
        RDKafkaErrorCode::InvalidTopic => format!("{name} is not a valid Kafka topic name ({code})"),
        code => format!("cannot create topic {name}: {code}"),
    }
}
