//! Kafka for Rivulet: a sink writing Debezium's topics, an offsets store in a compacted topic,
//! and a source reading Debezium-format topics.
//!
//! ```text
//!                 ┌──────────────── KafkaSink (sink.rs) ────────────────┐
//!  ChangeEvent ──▶│ DebeziumEncoder → topic / key / value → producer    │──▶ <prefix>.<schema>.<table>
//!                 │ flush(pos): every record acknowledged               │    (idempotent producer)
//!                 │ exactly_once: + {"sink:<pipeline>": pos}, commit    │──▶ offsets_topic, same transaction
//!                 └─────────────────────────────────────────────────────┘
//!
//!  Checkpoint ──▶ KafkaOffsetStore (offsets.rs) ──▶ compacted topic, key = pipeline
//!
//!  Debezium topics ──▶ KafkaSource (source.rs): consumer group → DebeziumDecoder → batches
//!                      + Commit({"kafka": offsets}) ──▶ runtime ──acks──▶ offsets committed to the group
//! ```
//!
//! Shared pieces: `config` (settings, librdkafka properties), `client` (log routing,
//! connection state, the start-up check), `admin` (topic creation), `compacted` (reading a
//! position back from a compacted topic).
//!
//! # What the sink guarantees
//!
//! * **Debezium's records.** Topic, key and value exactly as the encoder renders them (the
//!   JSON Kafka Connect's `JsonConverter` writes with schemas disabled); a null key (tables
//!   without a primary key, truncates) is no key; a tombstone (same key, null value) follows
//!   each delete when `tombstones_on_delete` is set; records read from another Debezium topic
//!   are forwarded byte for byte to their original topic. Partitioning is the Java client's
//!   (`partitioner = murmur2_random`), so a key lands in the same partition as with Debezium
//!   and its records stay in order. With `headers = true`, change records carry `__op` (the op
//!   code), `__table` (the table name) and `__lsn` (the change's LSN, decimal), as Debezium's
//!   `ExtractNewRecordState` with `add.headers = op,table,lsn` writes them; tombstones carry none.
//! * **Delivery before checkpoint.** `flush` returns only when Kafka acknowledged every record
//!   written before it, with `acks = all` and `enable.idempotence = true` (both forced: a
//!   contradicting value in `[sink.kafka.properties]` is a configuration error). Without
//!   transactions delivery is at least once: after a crash, the records written since the last
//!   checkpoint are written again.
//! * **Outages pause.** `message.timeout.ms = 0` (unless set): records wait in the producer's
//!   bounded queue (`queue.buffering.max.kbytes = 32768`, `queue.buffering.max.messages =
//!   100000` by default) until the brokers are back; a full queue makes `write` wait (the
//!   pipeline pauses), `flush` waits for the acknowledgements. The log says "unreachable" once
//!   and "reachable again" once. The idempotent producer neither duplicates nor reorders records
//!   across the outage. A SIGTERM during an outage waits for the brokers too (a second signal
//!   exits at once; nothing unacknowledged is confirmed).
//! * **Definite errors stop the pipeline**, with one line each and nothing confirmed beyond
//!   what was acknowledged: brokers unreachable at start (checked in `open`, 10 s), failed
//!   authentication, missing authorization, a record over `message.max.bytes` (naming the
//!   topic, the size and the settings to raise), a missing topic with `create_topics = false`.
//! * **`exactly_once = true`**: a transactional producer (`transactional.id =
//!   rivulet-<pipeline>` unless set). Each checkpoint is one transaction holding the records
//!   and the position (`offsets_topic`, key `sink:<pipeline>`); `open` fences any previous
//!   instance (aborting its open transaction) and returns the committed position, so the
//!   runtime resumes exactly after it. Consumers must read with `isolation.level =
//!   read_committed` (librdkafka's default; the Java client's default is `read_uncommitted`)
//!   to see every change exactly once, across `kill -9`. A transaction must commit within
//!   `transaction.timeout.ms` (60 s by default): an outage longer than that, or one source
//!   transaction larger than that takes to stream, aborts it and stops the pipeline, and the
//!   restart resumes from the committed position. Raise it (up to the broker's
//!   `transaction.max.timeout.ms`) for very large transactions.
//! * Created topics get `topic_partitions` partitions and `topic_replication_factor` replicas
//!   (default 1, for a single test broker: use 3 in production).
//!
//! # What the source guarantees
//!
//! See `source.rs`: exactly once into a sink that stores its position with its data when one
//! process consumes the group; at least once across rebalances of a group shared by several
//! processes.

mod admin;
mod client;
mod compacted;
mod config;
mod offsets;
mod sink;
mod source;

pub use config::{KafkaOffsetsConfig, KafkaSection, KafkaSinkConfig, KafkaSourceConfig};
pub use offsets::KafkaOffsetStore;
pub use sink::KafkaSink;
pub use source::{KafkaError, KafkaSource};
