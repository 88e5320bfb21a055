//! The record half: a [`RecordEncoder`] that wraps another (the Debezium encoder) and transforms
//! what it produces, so sinks use it unchanged.
//!
//! ```text
//!  ChangeEvent ─▶ inner.encode ─▶ EncodedRecords ─▶ per record:
//!                                   column stage (row events of tables with column rules)
//!                                   ─▶ SMT chain (predicates, in order) ─▶ 0..n records ─▶ out
//!                                   a failure: errors.tolerance=none → reported via TransformFailures,
//!                                              record dropped; all → logged, record dropped
//! ```
//!
//! JSON is only parsed when a stage needs it: the column stage only for tables with rules, a
//! topic router or a topic/tombstone predicate never.

use std::sync::{Arc, Mutex};

use rivulet_core::{Change, ChangeEvent};
use rivulet_format::{EncodedRecords, RecordEncoder, records_to_jsonl};

use crate::column_values::ColumnStage;
use crate::config::ErrorTolerance;
use crate::error::TransformError;
use crate::json::Json;
use crate::smt::{Record, Stage};

/// Record failures reported from inside the encoder (whose trait cannot return errors). The
/// pipeline checks it after each `sink.write` and stops before the next checkpoint when it
/// holds an error, so nothing after the last checkpoint is confirmed: the Kafka Connect
/// behaviour for `errors.tolerance=none` (the task fails).
#[derive(Clone, Debug, Default)]
pub struct TransformFailures {
    inner: Arc<Mutex<FailureState>>,
}

#[derive(Debug, Default)]
struct FailureState {
    first: Option<TransformError>,
    failed: u64,
    skipped: u64,
}

impl TransformFailures {
    /// The first failure since the last call, if any (later ones are counted, not kept).
    pub fn take(&self) -> Option<TransformError> {
        self.inner.lock().ok().and_then(|mut s| s.first.take())
    }

    /// Records that failed so far (with `errors.tolerance=none`).
    pub fn failed(&self) -> u64 {
        self.inner.lock().map_or(0, |s| s.failed)
    }

    /// Records dropped because a transform failed on them (with `errors.tolerance=all`).
    pub fn skipped(&self) -> u64 {
        self.inner.lock().map_or(0, |s| s.skipped)
    }

    fn fail(&self, error: TransformError) {
        if let Ok(mut s) = self.inner.lock() {
            s.failed += 1;
            if s.first.is_none() {
                s.first = Some(error);
            }
        }
    }

    fn skip(&self, error: &TransformError) {
        let n = self.inner.lock().map_or(0, |mut s| {
            s.skipped += 1;
            s.skipped
        });
        // Every failure at first, then a reminder every 1000, so a bad transform cannot flood
        // the log.
        if n <= 10 || n.is_multiple_of(1000) {
            tracing::warn!(
                skipped = n,
                "{error}; the record is dropped (errors.tolerance=all)"
            );
        }
    }
}

/// The record transforms of a configuration, ready to wrap an encoder.
pub struct RecordTransforms {
    pub(crate) columns: ColumnStage,
    pub(crate) chain: Vec<Stage>,
    pub(crate) errors: ErrorTolerance,
    pub(crate) failures: TransformFailures,
}

impl RecordTransforms {
    /// True if records pass unchanged ([`Self::wrap`] then returns the encoder as it is).
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty() && self.chain.is_empty()
    }

    /// `inner` with the transforms applied to everything it encodes.
    pub fn wrap(self, inner: Box<dyn RecordEncoder>) -> Box<dyn RecordEncoder> {
        if self.is_empty() {
            return inner;
        }
        Box::new(TransformingEncoder {
            inner,
            transforms: self,
            scratch: EncodedRecords::default(),
            records: Vec::new(),
        })
    }
}

/// A [`RecordEncoder`] applying record transforms to another encoder's records.
pub struct TransformingEncoder {
    inner: Box<dyn RecordEncoder>,
    transforms: RecordTransforms,
    scratch: EncodedRecords,
    records: Vec<Record>,
}

impl RecordEncoder for TransformingEncoder {
    fn encode(&mut self, event: &ChangeEvent, out: &mut EncodedRecords) {
        self.inner.encode(event, out);
        let plan = match (&event.change, event.table()) {
            (Change::Row(_), Some(table)) if !self.transforms.columns.is_empty() => {
                self.transforms.columns.plan_for(table)
            }
            _ => None,
        };
        let mut records = std::mem::take(&mut self.records);
        for encoded in out.iter_mut() {
            let topic = std::mem::take(&mut encoded.topic);
            let record = match (
                encoded.key.take().map(Json::from_bytes).transpose(),
                encoded.value.take().map(Json::from_bytes).transpose(),
            ) {
                (Ok(key), Ok(value)) => Record { topic, key, value },
                (Err(e), _) | (_, Err(e)) => {
                    self.failed(TransformError::Record {
                        transform: "(input)".into(),
                        topic,
                        reason: e.to_string(),
                    });
                    continue;
                }
            };
            match self.process(plan.as_deref(), record) {
                Ok(Some(record)) => records.push(record),
                Ok(None) => {}
                Err(e) => self.failed(e),
            }
        }
        out.clear();
        for record in records.drain(..) {
            let slot = out.push();
            slot.topic.push_str(&record.topic);
            slot.key = record.key.filter(|k| !k.is_null()).map(Json::into_bytes);
            slot.value = record.value.filter(|v| !v.is_null()).map(Json::into_bytes);
        }
        self.records = records;
    }

    fn write_jsonl(&mut self, event: &ChangeEvent, out: &mut Vec<u8>) {
        let mut scratch = std::mem::take(&mut self.scratch);
        self.encode(event, &mut scratch);
        records_to_jsonl(&scratch, out);
        self.scratch = scratch;
    }
}

impl TransformingEncoder {
    fn process(
        &self,
        plan: Option<&crate::column_values::Plan>,
        mut record: Record,
    ) -> Result<Option<Record>, TransformError> {
        if let (Some(plan), Some(value)) = (plan, &mut record.value) {
            self.transforms
                .columns
                .apply(plan, value)
                .map_err(|e| TransformError::Record {
                    transform: "column rules".into(),
                    topic: record.topic.clone(),
                    reason: e.to_string(),
                })?;
        }
        let mut current = Some(record);
        for stage in &self.transforms.chain {
            let Some(record) = current else { break };
            current = stage.apply(record)?;
        }
        Ok(current)
    }

    fn failed(&self, error: TransformError) {
        match self.transforms.errors {
            ErrorTolerance::None => self.transforms.failures.fail(error),
            ErrorTolerance::All => self.transforms.failures.skip(&error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{RouteSpec, TransformConfig, TransformSpec, UnwrapSpec};
    use rivulet_core::{Change, OriginalRecord, SourceMeta};
    use rivulet_format::DebeziumSettings;

    /// An event forwarded from a Debezium topic: the Debezium encoder writes its bytes back.
    fn forwarded(topic: &str, key: Option<&str>, value: Option<&str>) -> ChangeEvent {
        ChangeEvent {
            change: Change::Tombstone,
            source: SourceMeta {
                original: Some(Arc::new(OriginalRecord {
                    topic: topic.into(),
                    partition: 0,
                    offset: 0,
                    key: key.map(|k| k.as_bytes().to_vec()),
                    value: value.map(|v| v.as_bytes().to_vec()),
                })),
                ..SourceMeta::default()
            },
        }
    }

    fn encoder(config: &TransformConfig) -> (Box<dyn RecordEncoder>, TransformFailures) {
        let transforms = crate::build(config, &DebeziumSettings::default()).unwrap();
        let inner = Box::new(rivulet_format::DebeziumEncoder::new(DebeziumSettings::default()));
        (transforms.records.wrap(inner), transforms.failures)
    }

    fn unwrap_by(field: &str) -> TransformSpec {
        TransformSpec::Unwrap(UnwrapSpec {
            route_by_field: Some(field.into()),
            ..UnwrapSpec::default()
        })
    }

    const INSERT: &str =
        r#"{"before":null,"after":{"id":1},"source":{},"transaction":null,"op":"c","ts_ms":1}"#;

    #[test]
    fn failures_stop_or_skip() {
        let mut config = TransformConfig::new(vec![unwrap_by("missing")]);
        let (mut enc, failures) = encoder(&config);
        let mut out = EncodedRecords::default();
        enc.encode(&forwarded("t", Some(r#"{"id":1}"#), Some(INSERT)), &mut out);
        assert!(out.is_empty());
        let err = failures.take().unwrap().to_string();
        assert!(
            err.contains("transform[1] (unwrap)") && err.contains("'t'"),
            "{err}"
        );
        assert_eq!(failures.take(), None);
        config.errors = ErrorTolerance::All;
        let (mut enc, failures) = encoder(&config);
        let mut jsonl = Vec::new();
        enc.write_jsonl(&forwarded("t", None, Some(INSERT)), &mut jsonl);
        enc.write_jsonl(
            &forwarded("t", None, Some(r#"{"before":null,"after":"#)),
            &mut jsonl,
        );
        assert!(jsonl.is_empty());
        assert_eq!((failures.take(), failures.skipped()), (None, 2));
    }

    #[test]
    fn chains_in_order_and_write_jsonl_matches() {
        let config = TransformConfig::new(vec![
            unwrap_by("id2"),
            TransformSpec::Route(RouteSpec {
                regex: "(.*)".into(),
                replacement: "r.$1".into(),
                ..RouteSpec::default()
            }),
        ]);
        let (mut enc, failures) = encoder(&config);
        let value =
            r#"{"before":null,"after":{"id":1,"id2":"x"},"source":{},"transaction":null,"op":"c","ts_ms":1}"#;
        let mut jsonl = Vec::new();
        enc.write_jsonl(&forwarded("t", Some(r#"{"id":1}"#), Some(value)), &mut jsonl);
        enc.write_jsonl(&forwarded("t", Some(r#"{"id":1}"#), None), &mut jsonl);
        assert_eq!(
            String::from_utf8(jsonl).unwrap(),
            "{\"topic\":\"r.x\",\"key\":{\"id\":1},\"value\":{\"id\":1,\"id2\":\"x\"}}\n"
        );
        assert_eq!(failures.take(), None);
    }

    #[test]
    fn nothing_to_do_returns_the_encoder_itself() {
        let transforms = crate::build(&TransformConfig::default(), &DebeziumSettings::default()).unwrap();
        assert!(transforms.records.is_empty());
        assert!(transforms.events.is_empty());
    }
}
