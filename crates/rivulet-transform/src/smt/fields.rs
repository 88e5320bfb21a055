//! Kafka's field transforms: `ReplaceField$Value`/`$Key` and `InsertField$Value`/`$Key`.
//!
//! Both pass a null value (or key) through and require an object otherwise; the Connect-schema
//! path of the Java transforms is what Debezium records take, so a name collision is an error
//! (Kafka's `SchemaBuilder` rejects duplicate fields) and inserted fields that have no value
//! (`partition.field`, `timestamp.field`: a source record has neither when SMTs run) are written
//! as `null`, as Debezium writes them.

use std::collections::{BTreeMap, BTreeSet};

use crate::config::Target;
use crate::json::{Json, Member};

use super::{Record, Smt, append_field, require_object};

pub(crate) struct ReplaceField {
    pub target: Target,
    pub include: BTreeSet<String>,
    pub exclude: BTreeSet<String>,
    pub renames: BTreeMap<String, String>,
}

impl ReplaceField {
    fn keeps(&self, name: &str) -> bool {
        !self.exclude.contains(name) && (self.include.is_empty() || self.include.contains(name))
    }
}

impl Smt for ReplaceField {
    fn apply(&self, mut record: Record) -> Result<Option<Record>, String> {
        let operating = match self.target {
            Target::Value => &mut record.value,
            Target::Key => &mut record.key,
        };
        let Some(json) = operating else {
            return Ok(Some(record));
        };
        if json.is_null() {
            return Ok(Some(record));
        }
        let members = require_object(json, "field replacement")?;
        let mut replaced: Vec<Member> = Vec::with_capacity(members.len());
        for member in std::mem::take(members) {
            if !self.keeps(&member.name) {
                continue;
            }
            let member = match self.renames.get(&member.name) {
                Some(new_name) => member.renamed(new_name),
                None => member,
            };
            if replaced.iter().any(|m| m.name == member.name) {
                return Err(format!(
                    "field replacement would make two fields named '{}'",
                    member.name
                ));
            }
            replaced.push(member);
        }
        *members = replaced;
        Ok(Some(record))
    }
}

/// A field to insert; `required` is Kafka's `!` suffix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FieldSpec {
    pub name: String,
    pub required: bool,
}

impl FieldSpec {
    /// Kafka's `InsertionSpec.parse`: `name!` required, `name?` or `name` optional.
    pub fn parse(spec: &str) -> Self {
        if let Some(name) = spec.strip_suffix('?') {
            return FieldSpec {
                name: name.into(),
                required: false,
            };
        }
        if let Some(name) = spec.strip_suffix('!') {
            return FieldSpec {
                name: name.into(),
                required: true,
            };
        }
        FieldSpec {
            name: spec.into(),
            required: false,
        }
    }
}

pub(crate) struct InsertField {
    pub target: Target,
    pub topic_field: Option<FieldSpec>,
    pub partition_field: Option<FieldSpec>,
    pub timestamp_field: Option<FieldSpec>,
    pub static_field: Option<(FieldSpec, String)>,
}

impl Smt for InsertField {
    fn apply(&self, mut record: Record) -> Result<Option<Record>, String> {
        let topic = record.topic.clone();
        let operating = match self.target {
            Target::Value => &mut record.value,
            Target::Key => &mut record.key,
        };
        let Some(json) = operating else {
            return Ok(Some(record));
        };
        if json.is_null() {
            return Ok(Some(record));
        }
        let members = require_object(json, "field insertion")?;
        // The order Kafka adds them to the schema: topic, partition, (offset), timestamp, static.
        if let Some(field) = &self.topic_field {
            append_field(members, &field.name, Json::Str(topic))?;
        }
        for (field, what) in [
            (&self.partition_field, "partition"),
            (&self.timestamp_field, "timestamp"),
        ] {
            if let Some(field) = field {
                if field.required {
                    return Err(format!(
                        "field '{}!' is required but a source record has no {what} when transforms run",
                        field.name
                    ));
                }
                append_field(members, &field.name, Json::Null)?;
            }
        }
        if let Some((field, value)) = &self.static_field {
            append_field(members, &field.name, Json::Str(value.clone()))?;
        }
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smt::tests::{record, text};

    #[test]
    fn replace_field_filters_and_renames_in_place() {
        let t = ReplaceField {
            target: Target::Value,
            include: BTreeSet::new(),
            exclude: ["source".to_string(), "ts_us".to_string()].into(),
            renames: [("op".to_string(), "operation".to_string())].into(),
        };
        let out = t
            .apply(record(
                "t",
                None,
                Some(r#"{"before":null,"source":{},"op":"c","ts_us":1}"#),
            ))
            .unwrap()
            .unwrap();
        assert_eq!(
            text(&out).2.as_deref(),
            Some(r#"{"before":null,"operation":"c"}"#)
        );
        assert!(t.apply(record("t", None, None)).unwrap().is_some());
        assert!(t.apply(record("t", None, Some("\"s\""))).is_err());
        let include = ReplaceField {
            target: Target::Key,
            include: ["b".to_string()].into(),
            exclude: BTreeSet::new(),
            renames: [("b".to_string(), "a".to_string())].into(),
        };
        let out = include
            .apply(record("t", Some(r#"{"a":1,"b":2}"#), None))
            .unwrap()
            .unwrap();
        assert_eq!(text(&out).1.as_deref(), Some(r#"{"a":2}"#));
        let clash = ReplaceField {
            target: Target::Key,
            include: BTreeSet::new(),
            exclude: BTreeSet::new(),
            renames: [("b".to_string(), "a".to_string())].into(),
        };
        assert!(clash.apply(record("t", Some(r#"{"a":1,"b":2}"#), None)).is_err());
    }

    #[test]
    fn insert_field_adds_in_kafka_order() {
        let t = InsertField {
            target: Target::Value,
            topic_field: Some(FieldSpec::parse("topic")),
            partition_field: Some(FieldSpec::parse("part?")),
            timestamp_field: Some(FieldSpec::parse("ts")),
            static_field: Some((FieldSpec::parse("origin"), "rivulet".into())),
        };
        let out = t.apply(record("a.b", None, Some(r#"{"x":1}"#))).unwrap().unwrap();
        assert_eq!(
            text(&out).2.as_deref(),
            Some(r#"{"x":1,"topic":"a.b","part":null,"ts":null,"origin":"rivulet"}"#)
        );
        assert!(
            t.apply(record("a.b", None, None))
                .unwrap()
                .unwrap()
                .value
                .is_none()
        );
        assert!(t.apply(record("a.b", None, Some(r#"{"topic":1}"#))).is_err());
        let required = InsertField {
            target: Target::Value,
            topic_field: None,
            partition_field: None,
            timestamp_field: Some(FieldSpec::parse("ts!")),
            static_field: None,
        };
        assert!(required.apply(record("a", None, Some("{}"))).is_err());
    }
}
