//! Positions: how far a pipeline has durably delivered, the unit of every checkpoint, and
//! [`Reach`]: what a position covers in its source's order (one sequence, or per partition).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::{Lsn, SourceMeta};

/// A point in the source's change stream that a checkpoint can name. Positions only ever sit at
/// transaction boundaries (or, during a snapshot, at chunk boundaries): everything up to it has
/// been delivered, nothing after it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Position {
    /// The end of the last delivered transaction (its commit record's end). Replication resumes
    /// after it; a transaction whose commit LSN is below it is never delivered again. During a
    /// snapshot: the point the snapshot saw (changes committed before it are in the snapshot).
    pub lsn: Lsn,
    /// The last delivered transaction's id, for humans reading the offsets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub txid: Option<u32>,
    /// Its commit time, microseconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_time_us: Option<i64>,
    /// What else the source needs to resume exactly here (snapshot progress, the tables it has
    /// snapshotted…). Opaque to the runtime and the sinks; shared, because every transaction's
    /// position carries it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_state: Option<Arc<serde_json::Value>>,
}

impl Position {
    pub fn at(lsn: Lsn) -> Self {
        Position {
            lsn,
            txid: None,
            commit_time_us: None,
            source_state: None,
        }
    }
}

/// A partition of a partitioned log (Kafka): topic and partition number.
pub type Partition = (String, i32);

/// How far a position reaches in its source's order: what a sink that keeps its own position
/// compares an event with to tell whether it already holds it (after a flush that reached only
/// some of its tables, say).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reach {
    /// One total order (PostgreSQL's WAL): every transaction that ended before this LSN.
    Sequence(Lsn),
    /// Independent partitions (Kafka): per topic and partition, every record below the next
    /// offset. Keyed by topic first, so checking an event needs no allocation.
    Partitions(HashMap<String, HashMap<i32, i64>>),
}

impl Reach {
    /// Whether this reach covers everything `other` does and more: a later LSN, or every
    /// partition at least as far and one further. Reaches of different kinds are not ordered.
    pub fn is_beyond(&self, other: &Reach) -> bool {
        match (self, other) {
            (Reach::Sequence(a), Reach::Sequence(b)) => a > b,
            (Reach::Partitions(a), Reach::Partitions(b)) => {
                let next = |map: &HashMap<String, HashMap<i32, i64>>, t: &str, p: &i32| {
                    map.get(t).and_then(|ps| ps.get(p)).copied()
                };
                let covers = b
                    .iter()
                    .all(|(t, ps)| ps.iter().all(|(p, n)| next(a, t, p).is_some_and(|m| m >= *n)));
                let further = a
                    .iter()
                    .any(|(t, ps)| ps.iter().any(|(p, m)| next(b, t, p).is_none_or(|n| *m > n)));
                covers && further
            }
            _ => false,
        }
    }

    /// Whether `event` is among what this reach covers. An event without a place in the
    /// order (a snapshot row) is never covered: sinks take those as idempotent upserts.
    pub fn covers(&self, event: &SourceMeta) -> bool {
        match (self, &event.original) {
            (Reach::Partitions(next), Some(record)) => next
                .get(record.topic.as_str())
                .and_then(|ps| ps.get(&record.partition))
                .is_some_and(|n| record.offset < *n),
            (Reach::Partitions(_), None) => false,
            // `last_commit_lsn` is the end of the transaction before the event's own, so the
            // event's transaction ended before `end` exactly when that is below it.
            (Reach::Sequence(end), _) => event.last_commit_lsn.is_some_and(|prev| prev < *end),
        }
    }
}

/// The key of [`Position::source_state`] under which a partitioned source keeps its offsets:
/// `{"kafka": {topic: {partition: next offset}}}` (the Kafka source's layout since its first
/// release, so positions it wrote keep their meaning).
const PARTITIONS_KEY: &str = "kafka";

impl Position {
    /// A partitioned source's position: the next offset of every partition.
    pub fn of_partitions(next: &HashMap<Partition, i64>) -> Position {
        let mut topics: BTreeMap<&str, serde_json::Map<String, serde_json::Value>> = BTreeMap::new();
        for ((topic, partition), offset) in next {
            topics
                .entry(topic.as_str())
                .or_default()
                .insert(partition.to_string(), serde_json::Value::from(*offset));
        }
        let topics: serde_json::Map<String, serde_json::Value> = topics
            .into_iter()
            .map(|(t, p)| (t.to_string(), serde_json::Value::Object(p)))
            .collect();
        Position {
            source_state: Some(Arc::new(serde_json::json!({ PARTITIONS_KEY: topics }))),
            ..Position::default()
        }
    }

    /// The partitions' next offsets, when this is a partitioned source's position.
    pub fn partition_offsets(&self) -> Option<HashMap<Partition, i64>> {
        let topics = self.source_state.as_deref()?.get(PARTITIONS_KEY)?.as_object()?;
        let mut offsets = HashMap::new();
        for (topic, partitions) in topics {
            for (partition, next) in partitions.as_object().into_iter().flatten() {
                if let (Ok(p), Some(n)) = (partition.parse::<i32>(), next.as_i64()) {
                    offsets.insert((topic.clone(), p), n);
                }
            }
        }
        Some(offsets)
    }

    /// How far this position reaches, in its source's order.
    pub fn reach(&self) -> Reach {
        match self.partition_offsets() {
            Some(offsets) => {
                let mut by_topic: HashMap<String, HashMap<i32, i64>> = HashMap::new();
                for ((topic, partition), next) in offsets {
                    by_topic.entry(topic).or_default().insert(partition, next);
                }
                Reach::Partitions(by_topic)
            }
            None => Reach::Sequence(self.lsn),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OriginalRecord;

    fn from_record(topic: &str, partition: i32, offset: i64) -> SourceMeta {
        SourceMeta {
            original: Some(Arc::new(OriginalRecord {
                topic: topic.into(),
                partition,
                offset,
                key: None,
                value: None,
            })),
            ..SourceMeta::default()
        }
    }

    #[test]
    fn a_partitioned_position_covers_records_below_each_partitions_next_offset() {
        let next = HashMap::from([(("t".to_string(), 0), 5), (("t".to_string(), 1), 0)]);
        let position = Position::of_partitions(&next);
        assert_eq!(
            position.source_state.as_deref(),
            Some(&serde_json::json!({"kafka": {"t": {"0": 5, "1": 0}}})),
            "the layout the Kafka source has always written"
        );
        assert_eq!(position.partition_offsets(), Some(next));
        assert_eq!(Position::default().partition_offsets(), None);
        let reach = position.reach();
        assert!(reach.covers(&from_record("t", 0, 4)));
        assert!(!reach.covers(&from_record("t", 0, 5)));
        assert!(!reach.covers(&from_record("t", 1, 0)));
        assert!(
            !reach.covers(&from_record("u", 0, 0)),
            "a partition it never read"
        );
        assert!(!reach.covers(&SourceMeta::default()));
    }

    #[test]
    fn a_sequence_position_covers_transactions_that_ended_before_it() {
        let reach = Position::at(Lsn(100)).reach();
        let after = |prev: Option<u64>| SourceMeta {
            last_commit_lsn: prev.map(Lsn),
            ..SourceMeta::default()
        };
        assert!(reach.covers(&after(Some(99))));
        assert!(
            !reach.covers(&after(Some(100))),
            "the transaction after the one ending at 100"
        );
        assert!(!reach.covers(&after(None)), "snapshot rows");
    }

    #[test]
    fn a_reach_is_beyond_another_only_when_it_covers_all_of_it_and_more() {
        let parts = |v: &[(i32, i64)]| {
            Position::of_partitions(&v.iter().map(|&(p, n)| (("t".to_string(), p), n)).collect()).reach()
        };
        assert!(
            Position::at(Lsn(2))
                .reach()
                .is_beyond(&Position::at(Lsn(1)).reach())
        );
        assert!(
            !Position::at(Lsn(1))
                .reach()
                .is_beyond(&Position::at(Lsn(1)).reach())
        );
        assert!(parts(&[(0, 5), (1, 3)]).is_beyond(&parts(&[(0, 5), (1, 2)])));
        assert!(
            parts(&[(0, 5), (1, 3)]).is_beyond(&parts(&[(0, 5)])),
            "a partition more"
        );
        assert!(
            !parts(&[(0, 6), (1, 1)]).is_beyond(&parts(&[(0, 5), (1, 2)])),
            "not every partition"
        );
        assert!(!parts(&[(0, 5)]).is_beyond(&parts(&[(0, 5)])));
        assert!(!parts(&[(0, 9)]).is_beyond(&Position::at(Lsn(1)).reach()));
    }

    #[test]
    fn positions_written_by_the_released_kafka_source_read_back() {
        let text = r#"{"lsn":"0/0","source_state":{"kafka":{"dbz.public.t":{"0":42,"2":7}}}}"#;
        let position: Position = serde_json::from_str(text).unwrap();
        assert_eq!(
            position.partition_offsets(),
            Some(HashMap::from([
                (("dbz.public.t".to_string(), 0), 42),
                (("dbz.public.t".to_string(), 2), 7)
            ]))
        );
    }
}
