//! Record transforms: Kafka Connect single message transforms (SMTs) on encoded records.
//!
//! ```text
//!  Record { topic, key: Option<Json>, value: Option<Json> }      (None key: no key; None value: tombstone)
//!     └─▶ Stage 1 ─▶ Stage 2 ─▶ …        each: predicate (negate) ? smt.apply : pass unchanged
//!                                         an SMT returns the record, a changed record, or None (dropped)
//! ```
//!
//! Records are JSON without Connect schemas (what Rivulet and `JsonConverter` with
//! `schemas.enable=false` write). Where a Java SMT consults the Connect schema (is this a
//! Debezium envelope, does this field exist), the JSON object's members stand in for it: the
//! converter writes every schema field, null ones included.

mod fields;
mod outbox;
mod router;
mod unwrap;

pub(crate) use fields::{FieldSpec, InsertField, ReplaceField};
pub(crate) use outbox::{EnvelopeField, Outbox};
pub(crate) use router::{LogicalTableRouter, RegexRouter};
pub(crate) use unwrap::{DeleteStrategy, FieldReference, Unwrap};

use crate::error::TransformError;
use crate::json::{Json, Member};
use crate::pattern::JavaRegex;

/// A record between transforms.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Record {
    pub topic: String,
    pub key: Option<Json>,
    pub value: Option<Json>,
}

/// One SMT. `Err` is a message for a record the transform cannot process (Kafka Connect would
/// fail the task).
pub(crate) trait Smt: Send + Sync {
    fn apply(&self, record: Record) -> Result<Option<Record>, String>;
}

/// `org.apache.kafka.connect.transforms.Filter`.
pub(crate) struct Filter;

impl Smt for Filter {
    fn apply(&self, _record: Record) -> Result<Option<Record>, String> {
        Ok(None)
    }
}

/// A Kafka Connect predicate.
#[derive(Debug)]
pub(crate) enum Predicate {
    TopicNameMatches(JavaRegex),
    RecordIsTombstone,
}

impl Predicate {
    fn test(&self, record: &Record) -> bool {
        match self {
            Predicate::TopicNameMatches(regex) => regex.matches(&record.topic),
            Predicate::RecordIsTombstone => record.value.is_none(),
        }
    }
}

/// An SMT with its alias and optional predicate (`transforms.<alias>.predicate` / `.negate`).
pub(crate) struct Stage {
    pub name: String,
    pub smt: Box<dyn Smt>,
    pub predicate: Option<Predicate>,
    pub negate: bool,
}

impl Stage {
    pub fn apply(&self, record: Record) -> Result<Option<Record>, TransformError> {
        if let Some(predicate) = &self.predicate {
            // Kafka Connect applies the transform when `negate XOR predicate(record)`.
            if !(self.negate ^ predicate.test(&record)) {
                return Ok(Some(record));
            }
        }
        let topic = record.topic.clone();
        self.smt.apply(record).map_err(|reason| TransformError::Record {
            transform: self.name.clone(),
            topic,
            reason,
        })
    }
}

/// The members of a Debezium change event envelope, or `None` when the value is something
/// else (a logical message, a transaction or heartbeat record, a value of another SMT): Java
/// SMTs check the value schema's name ends in `.Envelope`; a JSON envelope has `before`,
/// `after`, `source` and `op`.
pub(crate) fn envelope(value: &mut Json) -> Result<Option<&mut Vec<Member>>, String> {
    if !value.is_object() {
        return Ok(None);
    }
    let members = value.object().map_err(|e| e.to_string())?;
    Ok(members.filter(|m| {
        ["before", "after", "source", "op"]
            .iter()
            .all(|f| m.iter().any(|x| x.name == *f))
    }))
}

/// A Kafka Connect `Struct` requirement: the value must be a JSON object.
pub(crate) fn require_object<'a>(value: &'a mut Json, purpose: &str) -> Result<&'a mut Vec<Member>, String> {
    let kind = value.kind();
    match value.object().map_err(|e| e.to_string())? {
        Some(members) => Ok(members),
        None => Err(format!(
            "only objects (Connect structs) are supported for {purpose}, found {kind}"
        )),
    }
}

/// Appends a field, failing as Kafka's `SchemaBuilder` does when the name is taken.
pub(crate) fn append_field(members: &mut Vec<Member>, name: &str, value: Json) -> Result<(), String> {
    if members.iter().any(|m| m.name == name) {
        return Err(format!(
            "cannot add field '{name}': the record already has a field of that name"
        ));
    }
    members.push(Member::new(name, value));
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn record(topic: &str, key: Option<&str>, value: Option<&str>) -> Record {
        Record {
            topic: topic.into(),
            key: key.map(|k| Json::Raw(k.into())),
            value: value.map(|v| Json::Raw(v.into())),
        }
    }

    /// (topic, key text, value text) of a record, for assertions.
    pub(crate) fn text(record: &Record) -> (String, Option<String>, Option<String>) {
        (
            record.topic.clone(),
            record.key.as_ref().map(Json::to_text),
            record.value.as_ref().map(Json::to_text),
        )
    }

    #[test]
    fn predicates_select_records_and_negate_flips() {
        let stage = |negate| Stage {
            name: "f".into(),
            smt: Box::new(Filter),
            predicate: Some(Predicate::TopicNameMatches(JavaRegex::new(r"a\..*").unwrap())),
            negate,
        };
        let a = record("a.x", None, Some("{}"));
        let b = record("b.x", None, Some("{}"));
        assert_eq!(stage(false).apply(a.clone()).unwrap(), None);
        assert_eq!(stage(false).apply(b.clone()).unwrap(), Some(b.clone()));
        assert_eq!(stage(true).apply(a.clone()).unwrap(), Some(a));
        assert_eq!(stage(true).apply(b).unwrap(), None);
        let tombstones = Stage {
            name: "t".into(),
            smt: Box::new(Filter),
            predicate: Some(Predicate::RecordIsTombstone),
            negate: false,
        };
        assert_eq!(tombstones.apply(record("a", Some("1"), None)).unwrap(), None);
    }
}
