//! `io.debezium.transforms.outbox.EventRouter`: the outbox pattern.
//!
//! ```text
//!  outbox row insert (op c / r) ──▶ topic = route.topic.regex → route.topic.replacement applied to
//!                                           the row's route.by.field (aggregatetype)
//!                                   key   = table.field.event.key (aggregateid), as its JSON value
//!                                   value = table.field.event.payload (payload), or
//!                                           {"payload":…, <additional envelope fields>…}
//!  update ──▶ dropped (table.op.invalid.behavior: warn / error logs it, fatal fails)
//!  delete, tombstone ──▶ dropped          not an envelope ──▶ unchanged
//! ```
//!
//! `table.expand.json.payload` turns a payload string holding a JSON object into the object the
//! way Debezium's `JsonSchemaData` does: a Connect schema is inferred (fields whose value is
//! null or an empty array are left out, unless `table.json.payload.null.behavior` is
//! `optional_bytes`; arrays must be homogeneous; arrays of objects get the union of their
//! fields, missing ones null) and the converter writes the struct back (integers stay
//! integers, other numbers are Java doubles). If the schema cannot be inferred the payload stays
//! a string (Debezium logs a warning); if the data then does not fit it (a top-level array, an
//! integer beyond 64 bits, objects in one array with conflicting field types) the record fails,
//! as it does in Debezium. Debezium's headers (`id`, and placement `header`) are not written:
//! Rivulet's records have no headers.

use crate::config::{AdditionalFieldMissing, InvalidOperationBehavior, JsonPayloadNullBehavior};
use crate::json::{Json, Member, Tree, get, parse_tree, write_string};
use crate::pattern::{JavaRegex, Replacement};

use super::{Record, Smt, envelope, require_object};

/// An additional field placed in the value (`field:envelope:alias`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EnvelopeField {
    pub field: String,
    pub alias: String,
}

pub(crate) struct Outbox {
    pub event_id: String,
    pub event_key: String,
    pub payload: String,
    pub event_timestamp: Option<String>,
    pub route_by_field: String,
    pub route_regex: JavaRegex,
    pub route_replacement: Replacement,
    pub tombstone_on_empty_payload: bool,
    pub expand_json_payload: bool,
    pub null_behavior: JsonPayloadNullBehavior,
    pub envelope_fields: Vec<EnvelopeField>,
    pub missing: AdditionalFieldMissing,
    pub invalid_operation: InvalidOperationBehavior,
}

impl Smt for Outbox {
    fn apply(&self, mut record: Record) -> Result<Option<Record>, String> {
        let Some(value) = &mut record.value else {
            return Ok(None);
        };
        let Some(env) = envelope(value)? else {
            return Ok(Some(record));
        };
        let op = get(env, "op")
            .map(Json::as_string)
            .transpose()
            .map_err(|e| e.to_string())?
            .flatten();
        match op.as_deref() {
            Some("d") => return Ok(None),
            Some("u") => {
                match self.invalid_operation {
                    InvalidOperationBehavior::Warn => {
                        tracing::warn!(topic = %record.topic, "outbox EventRouter: an update of the outbox table was ignored");
                    }
                    InvalidOperationBehavior::Error => {
                        tracing::error!(topic = %record.topic, "outbox EventRouter: an update of the outbox table was ignored");
                    }
                    InvalidOperationBehavior::Fatal => {
                        return Err(
                            "unexpected update of the outbox table (table.op.invalid.behavior=fatal)".into(),
                        );
                    }
                }
                return Ok(None);
            }
            _ => {}
        }
        let mut after = get(env, "after").cloned().unwrap_or(Json::Null);
        let row = require_object(&mut after, "reading an outbox event")?;
        if let Some(field) = &self.event_timestamp
            && get(row, field).is_none()
        {
            return Err(format!("unable to find timestamp field {field} in event"));
        }
        let Some(payload) = get(row, &self.payload).cloned() else {
            return Err(format!("unable to find payload field {} in event", self.payload));
        };
        if get(row, &self.event_id).is_none() {
            return Err(format!(
                "unable to find event-id field {} in event",
                self.event_id
            ));
        }
        let payload = if self.expand_json_payload {
            self.expand(payload, &record.topic)?
        } else {
            payload
        };
        let mut fields = Vec::new();
        for extra in &self.envelope_fields {
            match get(row, &extra.field) {
                Some(v) => fields.push(Member::new(extra.alias.clone(), v.clone())),
                None if self.missing == AdditionalFieldMissing::Ignore => {}
                None => return Err(format!("unable to find field {} in event", extra.field)),
            }
        }
        let is_delete = payload.is_null()
            || payload
                .as_string()
                .ok()
                .flatten()
                .is_some_and(|s| s.trim_matches(|c: char| c <= ' ').is_empty());
        let new_value = if is_delete && self.tombstone_on_empty_payload {
            None
        } else if self.envelope_fields.is_empty() {
            (!payload.is_null()).then_some(payload)
        } else {
            let mut members = vec![Member::new("payload", payload)];
            members.extend(fields);
            Some(Json::Object(members))
        };
        let Some(key) = get(row, &self.event_key).cloned() else {
            return Err(format!("{} is not a valid field name", self.event_key));
        };
        let topic = match get(row, &self.route_by_field) {
            Some(v) => match v.as_string().map_err(|e| e.to_string())? {
                Some(s) => s,
                None if v.is_null() => {
                    return Err(format!("route.by.field '{}' is null", self.route_by_field));
                }
                None => {
                    return Err(format!(
                        "route.by.field '{}' is {}, not a string",
                        self.route_by_field,
                        v.kind()
                    ));
                }
            },
            None => return Err(format!("{} is not a valid field name", self.route_by_field)),
        };
        let topic = if self.route_regex.matches(&topic) {
            self.route_regex.replace_first(&topic, &self.route_replacement)
        } else {
            topic
        };
        Ok(Some(Record {
            topic,
            key: (!key.is_null()).then_some(key),
            value: new_value,
        }))
    }
}

impl Outbox {
    fn expand(&self, payload: Json, topic: &str) -> Result<Json, String> {
        let Some(text) = payload.as_string().ok().flatten() else {
            if !payload.is_null() {
                tracing::warn!(%topic, "outbox EventRouter: table.expand.json.payload is on but the payload is not a string");
            }
            return Ok(payload);
        };
        let tree = if text.starts_with('{') || text.starts_with('[') {
            parse_tree(&text).map_err(|e| e.to_string())
        } else {
            Err(format!(
                "unable to parse payload starting with '{}'",
                text.chars().next().unwrap_or(' ')
            ))
        };
        let schema = tree.and_then(|tree| {
            let schema = to_schema(&tree, self.null_behavior)?;
            Ok((tree, schema))
        });
        match schema {
            Err(e) => {
                tracing::warn!(%topic, error = %e, "outbox EventRouter: JSON expansion failed; the payload stays a string");
                Ok(payload)
            }
            Ok((tree, schema)) => {
                // Debezium has already swapped in the inferred schema here: data that does not
                // fit it fails the record.
                let mut out = Vec::new();
                let Some(schema) = schema else {
                    return Err("the payload's inferred schema is empty".into());
                };
                if !matches!(schema, Schema::Struct(_)) {
                    return Err(format!(
                        "invalid Java object for schema with type {}: the payload is not a JSON object",
                        schema.type_name()
                    ));
                }
                write_data(&tree, &schema, &mut out)?;
                String::from_utf8(out).map(Json::Text).map_err(|e| e.to_string())
            }
        }
    }
}

/// A Kafka Connect schema as `JsonSchemaData` infers it (every one optional).
#[derive(Clone, Debug, PartialEq)]
enum Schema {
    String,
    Boolean,
    Int32,
    Int64,
    Float64,
    Bytes,
    Array(Box<Schema>),
    Struct(Vec<(String, Schema)>),
}

impl Schema {
    fn type_name(&self) -> &'static str {
        match self {
            Schema::String => "STRING",
            Schema::Boolean => "BOOLEAN",
            Schema::Int32 => "INT32",
            Schema::Int64 => "INT64",
            Schema::Float64 => "FLOAT64",
            Schema::Bytes => "BYTES",
            Schema::Array(_) => "ARRAY",
            Schema::Struct(_) => "STRUCT",
        }
    }
}

/// `JsonSchemaData.toConnectSchema`: `Ok(None)` for values that get no field; `Err` where
/// Debezium throws (expansion then fails softly).
fn to_schema(node: &Tree, nulls: JsonPayloadNullBehavior) -> Result<Option<Schema>, String> {
    Ok(match node {
        Tree::Str(_) => Some(Schema::String),
        Tree::Bool(_) => Some(Schema::Boolean),
        Tree::Int(_) => Some(Schema::Int32),
        Tree::Long(_) => Some(Schema::Int64),
        Tree::BigInt(_) | Tree::Double(_) => Some(Schema::Float64),
        Tree::Null => (nulls == JsonPayloadNullBehavior::OptionalBytes).then_some(Schema::Bytes),
        Tree::Array(items) if items.is_empty() => None,
        Tree::Array(items) => Some(Schema::Array(Box::new(array_element_schema(items, nulls)?))),
        Tree::Object(members) => {
            let mut fields: Vec<(String, Schema)> = Vec::new();
            for (name, value) in members {
                if let Some(schema) = to_schema(value, nulls)?
                    && !fields.iter().any(|(n, _)| n == name)
                {
                    fields.push((name.clone(), schema));
                }
            }
            Some(Schema::Struct(fields))
        }
    })
}

fn array_element_schema(items: &[Tree], nulls: JsonPayloadNullBehavior) -> Result<Schema, String> {
    let sample = first_array_element(items)?;
    if let Tree::Object(_) = sample {
        // The union of the objects' schemas, fields in first-seen order (a BYTES field gives way
        // to a typed one).
        let mut merged: Vec<(String, Schema)> = Vec::new();
        for item in items {
            if let Tree::Object(_) = item
                && let Some(Schema::Struct(fields)) = to_schema(item, nulls)?
            {
                for (name, schema) in fields {
                    match merged.iter_mut().find(|(n, _)| *n == name) {
                        None => merged.push((name, schema)),
                        Some((_, old)) if *old == Schema::Bytes && schema != Schema::Bytes => *old = schema,
                        Some(_) => {}
                    }
                }
            }
        }
        return Ok(Schema::Struct(merged));
    }
    to_schema(sample, nulls)?.ok_or_else(|| "array has unrecognized member schema".to_string())
}

/// `getFirstArrayElement`: the first non-null element, all non-null elements of one JSON type
/// (and numbers of one Connect type).
fn first_array_element(items: &[Tree]) -> Result<&Tree, String> {
    let kind = |t: &Tree| match t {
        Tree::Null => 0,
        Tree::Bool(_) => 1,
        Tree::Int(_) | Tree::Long(_) | Tree::BigInt(_) | Tree::Double(_) => 2,
        Tree::Str(_) => 3,
        Tree::Array(_) => 4,
        Tree::Object(_) => 5,
    };
    let number_schema = |t: &Tree| match t {
        Tree::Int(_) => 0,
        Tree::Long(_) => 1,
        _ => 2,
    };
    let mut sample: Option<&Tree> = None;
    for item in items {
        if matches!(item, Tree::Null) {
            continue;
        }
        let first = *sample.get_or_insert(item);
        if kind(item) != kind(first) {
            return Err("field is not a homogenous array".into());
        }
        if kind(item) == 2 && number_schema(item) != number_schema(first) {
            return Err("field is not a homogenous array (different number types)".into());
        }
    }
    Ok(sample.unwrap_or(&Tree::Null))
}

/// Writes `node` as `JsonConverter` writes the Connect data built from it with `schema`;
/// `Err` where Kafka's `Struct.put` validation fails.
fn write_data(node: &Tree, schema: &Schema, out: &mut Vec<u8>) -> Result<(), String> {
    let mismatch = || format!("invalid Java object for schema with type {}", schema.type_name());
    match (node, schema) {
        (Tree::Null, _) => out.extend_from_slice(b"null"),
        (Tree::Str(s), Schema::String) => write_string(out, s),
        (Tree::Bool(b), Schema::Boolean) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        (Tree::Int(v), Schema::Int32) => out.extend_from_slice(v.to_string().as_bytes()),
        (Tree::Long(v), Schema::Int64) => out.extend_from_slice(v.to_string().as_bytes()),
        (Tree::Double(v), Schema::Float64) => {
            out.extend_from_slice(rivulet_format::java::double_to_string(*v).as_bytes());
        }
        (Tree::Array(items), Schema::Array(element)) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_data(item, element, out)?;
            }
            out.push(b']');
        }
        (Tree::Object(members), Schema::Struct(fields)) => {
            out.push(b'{');
            for (i, (name, field_schema)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(out, name);
                out.push(b':');
                // The last member of a name wins, as in Jackson's tree.
                match members.iter().rev().find(|(n, _)| n == name) {
                    Some((_, value)) => write_data(value, field_schema, out)?,
                    None => out.extend_from_slice(b"null"),
                }
            }
            out.push(b'}');
        }
        _ => return Err(mismatch()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smt::tests::{record, text};

    fn outbox(expand: bool, envelope_fields: Vec<EnvelopeField>) -> Outbox {
        let route_regex = JavaRegex::new("(?<routedByValue>.*)").unwrap();
        let route_replacement = Replacement::parse("outbox.event.${routedByValue}", &route_regex).unwrap();
        Outbox {
            event_id: "id".into(),
            event_key: "aggregateid".into(),
            payload: "payload".into(),
            event_timestamp: None,
            route_by_field: "aggregatetype".into(),
            route_regex,
            route_replacement,
            tombstone_on_empty_payload: false,
            expand_json_payload: expand,
            null_behavior: JsonPayloadNullBehavior::Ignore,
            envelope_fields,
            missing: AdditionalFieldMissing::Error,
            invalid_operation: InvalidOperationBehavior::Warn,
        }
    }

    fn event(op: &str, payload: &str) -> String {
        format!(
            r#"{{"before":null,"after":{{"id":"e1","aggregatetype":"Order","aggregateid":"o-1","type":"Created","payload":{payload}}},"source":{{}},"transaction":null,"op":"{op}","ts_ms":1}}"#
        )
    }

    type Out = (String, Option<String>, Option<String>);

    fn run(o: &Outbox, value: &str) -> Result<Option<Out>, String> {
        Ok(
            o.apply(record("dbz.public.outbox", Some(r#"{"id":"e1"}"#), Some(value)))?
                .as_ref()
                .map(text),
        )
    }

    #[test]
    fn defaults_route_key_and_payload() {
        let o = outbox(false, vec![]);
        let (topic, key, value) = run(&o, &event("c", r#""{\"a\": 1}""#)).unwrap().unwrap();
        assert_eq!(topic, "outbox.event.Order");
        assert_eq!(key.as_deref(), Some(r#""o-1""#));
        assert_eq!(value.as_deref(), Some(r#""{\"a\": 1}""#));
        assert_eq!(run(&o, &event("u", "null")).unwrap(), None);
        assert_eq!(run(&o, &event("d", "null")).unwrap(), None);
        assert_eq!(run(&o, &event("c", "null")).unwrap().unwrap().2, None);
    }

    #[test]
    fn expansion_as_json_schema_data() {
        let o = outbox(
            true,
            vec![EnvelopeField {
                field: "type".into(),
                alias: "eventType".into(),
            }],
        );
        let payload = r#""{\"n\": null, \"e\": [], \"d\": 1.0, \"l\": [{\"a\": 1}, {\"b\": \"x\"}]}""#;
        let (_, _, value) = run(&o, &event("c", payload)).unwrap().unwrap();
        assert_eq!(
            value.as_deref(),
            Some(r#"{"payload":{"d":1.0,"l":[{"a":1,"b":null},{"a":null,"b":"x"}]},"eventType":"Created"}"#)
        );
        // Not homogeneous: the payload stays a string.
        let mixed = r#""{\"m\": [1, \"a\"]}""#;
        assert_eq!(
            run(&o, &event("c", mixed)).unwrap().unwrap().2.unwrap(),
            format!(r#"{{"payload":{mixed},"eventType":"Created"}}"#)
        );
        // A top-level array fails the record, as in Debezium.
        assert!(run(&o, &event("c", r#""[1, 2]""#)).is_err());
        assert!(run(&o, &event("c", r#""{\"big\": 123456789012345678901}""#)).is_err());
    }

    #[test]
    fn missing_fields_fail() {
        let o = outbox(false, vec![]);
        let value =
            r#"{"before":null,"after":{"id":"e1"},"source":{},"transaction":null,"op":"c","ts_ms":1}"#;
        let err = run(&o, value).unwrap_err();
        assert!(err.contains("payload"), "{err}");
    }
}
