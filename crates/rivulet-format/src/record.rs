//! Encoded records, and the interface sinks encode through.
//!
//! ```text
//!  ChangeEvent ─▶ RecordEncoder ─▶ EncodedRecords [ {topic, key, value}, (tombstone) ]  ─▶ Kafka sink
//!                     └─────────▶ write_jsonl: `{"topic":…,"key":…,"value":…}\n`…        ─▶ JSONL sink
//! ```
//!
//! [`DebeziumEncoder`](crate::DebeziumEncoder) is the encoder; record-level transforms
//! (Kafka Connect SMTs: routing, unwrapping…) wrap it behind the same trait, so a sink never
//! knows whether records were transformed.

use rivulet_core::ChangeEvent;

/// One record as a Kafka topic holds it. `None` key: no key; `None` value: a tombstone.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct EncodedRecord {
    pub topic: String,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
}

/// The records of one event (usually one, two after a delete with tombstones, none when a
/// transform drops it), in buffers that are reused from event to event.
#[derive(Debug, Default)]
pub struct EncodedRecords {
    records: Vec<EncodedRecord>,
    len: usize,
}

impl EncodedRecords {
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// A cleared record slot to fill (its buffers keep their capacity).
    pub fn push(&mut self) -> &mut EncodedRecord {
        if self.len == self.records.len() {
            self.records.push(EncodedRecord::default());
        }
        let r = &mut self.records[self.len];
        r.topic.clear();
        r.key = r.key.take().map(|mut k| {
            k.clear();
            k
        });
        r.value = r.value.take().map(|mut v| {
            v.clear();
            v
        });
        self.len += 1;
        r
    }

    /// Removes the last record (a transform that drops it).
    pub fn pop(&mut self) {
        self.len = self.len.saturating_sub(1);
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = &EncodedRecord> {
        self.records[..self.len].iter()
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut EncodedRecord> {
        self.records[..self.len].iter_mut()
    }

    /// Keeps the records for which `keep` is true, in order.
    pub fn retain(&mut self, mut keep: impl FnMut(&EncodedRecord) -> bool) {
        let mut write = 0;
        for read in 0..self.len {
            if keep(&self.records[read]) {
                self.records.swap(write, read);
                write += 1;
            }
        }
        self.len = write;
    }
}

/// Turns events into records. Implemented by the Debezium encoder and by transform chains
/// around it.
pub trait RecordEncoder: Send + Sync {
    /// Replaces `out`'s content with the records of `event`.
    fn encode(&mut self, event: &ChangeEvent, out: &mut EncodedRecords);

    /// Appends the records of `event` as JSON lines `{"topic":…,"key":…,"value":…}\n`.
    fn write_jsonl(&mut self, event: &ChangeEvent, out: &mut Vec<u8>);
}

/// `write_jsonl` for encoders that only produce records: one line per record, key and value
/// written as the JSON they are (`null` when absent).
pub fn records_to_jsonl(records: &EncodedRecords, out: &mut Vec<u8>) {
    for r in records.iter() {
        out.extend_from_slice(b"{\"topic\":");
        crate::json_text::write_str(out, &r.topic);
        out.extend_from_slice(b",\"key\":");
        out.extend_from_slice(r.key.as_deref().unwrap_or(b"null"));
        out.extend_from_slice(b",\"value\":");
        out.extend_from_slice(r.value.as_deref().unwrap_or(b"null"));
        out.extend_from_slice(b"}\n");
    }
}
