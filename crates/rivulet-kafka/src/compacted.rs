//! Reading a position back from a compacted topic: the last value of one key, reading every
//! partition from its beginning to its end, as Kafka Connect reads its offsets topic.
//!
//! ```text
//!  assign(all partitions @ beginning) ─▶ poll … keep the last value whose key matches
//!                                      └▶ until every partition reported its end (PARTITION_EOF)
//! ```
//!
//! With `read_committed` the end is the last stable offset: records of a transaction that is
//! still open or was aborted are never seen. Blocking: call it from `spawn_blocking`.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError as RdError;
use rdkafka::message::Message;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use crate::admin::is_transient;
use crate::client::{CONNECT_TIMEOUT, Link, LinkContext, unreachable_message};
use crate::config::Properties;

/// Reading the whole topic may take a while on a large, not yet compacted topic; a stuck
/// read must still end.
const READ_TIMEOUT: Duration = Duration::from_secs(120);

/// The last value written for `key` in `topic`: `None` when the topic or the key does not
/// exist, or the key's last record is a tombstone.
pub(crate) fn read_last_value(
    properties: &Properties,
    role: &'static str,
    brokers: &str,
    topic: &str,
    key: &[u8],
    read_committed: bool,
) -> Result<Option<Vec<u8>>, String> {
    let mut props = properties.without(&[
        "enable.idempotence",
        "transactional.id",
        "acks",
        "request.required.acks",
        "group.id",
        "group.instance.id",
    ]);
    // librdkafka wants a group id, but partitions are assigned, not subscribed: no group is
    // joined and nothing is committed.
    props.set("group.id", format!("rivulet-reader-{}", std::process::id()));
    props.set("enable.auto.commit", "false");
    props.set("enable.auto.offset.store", "false");
    props.set("enable.partition.eof", "true");
    props.set("allow.auto.create.topics", "false");
    props.set(
        "isolation.level",
        if read_committed {
            "read_committed"
        } else {
            "read_uncommitted"
        },
    );
    let consumer: BaseConsumer<LinkContext> = props
        .client_config()
        .create_with_context(LinkContext(Arc::new(Link::new(role, brokers))))
        .map_err(|e| props.creation_error(&e))?;
    let link = &consumer.context().0;
    let metadata = consumer
        .fetch_metadata(Some(topic), CONNECT_TIMEOUT)
        .map_err(|e| unreachable_message(link, &e))?;
    let Some(meta) = metadata.topics().first() else {
        return Ok(None);
    };
    if meta.error().is_some() || meta.partitions().is_empty() {
        // Missing (we never create topics here): nothing was ever stored.
        return Ok(None);
    }
    let mut assignment = TopicPartitionList::new();
    for p in meta.partitions() {
        assignment
            .add_partition_offset(topic, p.id(), Offset::Beginning)
            .map_err(|e| format!("cannot read topic {topic}: {e}"))?;
    }
    consumer
        .assign(&assignment)
        .map_err(|e| format!("cannot read topic {topic}: {e}"))?;
    let mut pending: HashSet<i32> = meta.partitions().iter().map(|p| p.id()).collect();
    let mut last = None;
    let deadline = Instant::now() + READ_TIMEOUT;
    while !pending.is_empty() {
        if Instant::now() > deadline {
            return Err(format!(
                "reading topic {topic} at {brokers} took longer than {}s; is the cluster healthy?",
                READ_TIMEOUT.as_secs()
            ));
        }
        if let Some(definite) = link.definite() {
            return Err(definite);
        }
        match consumer.poll(Duration::from_millis(200)) {
            None => {}
            Some(Ok(message)) => {
                link.up();
                if message.key() == Some(key) {
                    last = message.payload().map(<[u8]>::to_vec);
                }
            }
            Some(Err(RdError::PartitionEOF(partition))) => {
                pending.remove(&partition);
            }
            Some(Err(e)) if e.rdkafka_error_code().is_some_and(is_transient) => {}
            Some(Err(e)) => return Err(format!("cannot read topic {topic} at {brokers}: {e}")),
        }
    }
    Ok(last)
}
