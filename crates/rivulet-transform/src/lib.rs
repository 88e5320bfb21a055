//! Transforms for users migrating from Debezium: the connector's column rules and the Kafka
//! Connect single message transforms (SMTs) they configure, applied exactly as Debezium 3.6
//! applies them.
//!
//! ```text
//!  source ──▶ EventTransforms ──▶ sink ──▶ TransformingEncoder (wraps the DebeziumEncoder) ──▶ bytes
//!             (before encoding)            │ inner.encode(event) ─▶ records
//!             column.include/exclude.list  │ column stage: excluded key columns out of before/after,
//!             message.key.columns          │   column.mask / hash / truncate on converted values
//!             message.prefix.*.list        │ SMT chain: unwrap, routers, ReplaceField, InsertField,
//!                                          │   Filter + predicates, outbox EventRouter
//!                                          └ failures ─▶ TransformFailures (the pipeline stops)
//! ```
//!
//! Configuration comes from a pipeline file's `[[transform]]` list ([`TransformConfig`]) or
//! from a Debezium connector configuration ([`from_debezium_properties`]); [`build`] compiles it
//! (every regex, class and option is checked there, never at run time).
//!
//! ```no_run
//! # use rivulet_format::{DebeziumEncoder, DebeziumSettings, RecordEncoder};
//! # fn demo(config: &rivulet_transform::TransformConfig, settings: DebeziumSettings) -> Result<(), rivulet_transform::TransformError> {
//! let transforms = rivulet_transform::build(config, &settings)?;
//! let mut events = transforms.events; // apply before sink.write: events.apply_in_place(&mut batch)
//! let encoder: Box<dyn RecordEncoder> = transforms.records.wrap(Box::new(DebeziumEncoder::new(settings)));
//! let failures = transforms.failures; // after sink.write: if let Some(e) = failures.take() { stop }
//! # let _ = (&mut events, encoder, failures); Ok(()) }
//! ```
//!
//! Why the column rules are split across two stages: Debezium builds the record key before its
//! column filter and mappers run, and masks/truncates the value *after* converting it (a
//! `timestamptz` is truncated as its ISO string). So excluding or masking a key column never
//! changes the key, and only the encoded record holds the converted values; see `columns` and
//! `column_values`.

mod cache;
mod column_values;
mod columns;
mod config;
mod digest;
mod encoder;
mod error;
mod json;
mod pattern;
mod properties;
mod smt;

use std::collections::BTreeSet;
use std::sync::Arc;

use rivulet_format::DebeziumSettings;

pub use columns::EventTransforms;
pub use config::{
    AdditionalFieldMissing, ColumnsSpec, DeleteTombstoneHandling, ErrorTolerance, FilterSpec, HashSpec,
    InsertFieldSpec, InvalidOperationBehavior, JsonPayloadNullBehavior, KeyColumnsSpec, KeyColumnsTable,
    LegacyDeleteHandling, LogicalTableRouterSpec, MaskSpec, MessageFilterSpec, OutboxSpec, PredicateSpec,
    ReplaceFieldSpec, RouteSpec, Target, TransformConfig, TransformSpec, TruncateSpec, UnwrapSpec,
};
pub use encoder::{RecordTransforms, TransformFailures, TransformingEncoder};
pub use error::TransformError;
pub use properties::from_debezium_properties;

use crate::column_values::{ColumnStage, EncodingFacts};
use crate::columns::ColumnRules;
use crate::pattern::{JavaRegex, Replacement};
use crate::smt::{
    Filter, InsertField, LogicalTableRouter, Outbox, Predicate, RegexRouter, ReplaceField, Stage, Unwrap,
};

/// Everything [`build`] makes from a configuration.
pub struct Transforms {
    /// Apply to events before they reach the sink.
    pub events: EventTransforms,
    /// Wrap the sink's encoder with [`RecordTransforms::wrap`].
    pub records: RecordTransforms,
    /// Check after each `sink.write`; an error means stop without checkpointing.
    pub failures: TransformFailures,
}

/// Compiles `config`. `settings` are the Debezium encoder's settings (the column rules depend
/// on how values are encoded: decimal, binary, time and interval modes).
pub fn build(config: &TransformConfig, settings: &DebeziumSettings) -> Result<Transforms, TransformError> {
    let named: Vec<(String, &TransformSpec)> = config
        .transforms
        .iter()
        .enumerate()
        .map(|(i, spec)| (spec_name(i, spec), spec))
        .collect();
    let rules = Arc::new(ColumnRules::compile(&named)?);
    let mut chain = Vec::new();
    for (name, spec) in &named {
        if let Some(stage) = record_stage(name, spec)? {
            chain.push(stage);
        }
    }
    let failures = TransformFailures::default();
    Ok(Transforms {
        events: EventTransforms::new(rules.clone()),
        records: RecordTransforms {
            columns: ColumnStage::new(rules, EncodingFacts::new(settings)),
            chain,
            errors: config.errors,
            failures: failures.clone(),
        },
        failures,
    })
}

/// The name a transform goes by in messages: its `name` (the Kafka Connect alias), else
/// `transform[N] (type)`.
fn spec_name(index: usize, spec: &TransformSpec) -> String {
    let name = match spec {
        TransformSpec::Unwrap(s) => &s.name,
        TransformSpec::Route(s) => &s.name,
        TransformSpec::LogicalTableRouter(s) => &s.name,
        TransformSpec::ReplaceField(s) => &s.name,
        TransformSpec::InsertField(s) => &s.name,
        TransformSpec::Filter(s) => &s.name,
        TransformSpec::Outbox(s) => &s.name,
        _ => &None,
    };
    name.clone()
        .unwrap_or_else(|| format!("transform[{}] ({})", index + 1, spec.type_name()))
}

fn java_regex(property: String, pattern: &str) -> Result<JavaRegex, TransformError> {
    JavaRegex::new(pattern).map_err(|e| TransformError::invalid(property, format!("'{pattern}': {e}")))
}

fn replacement(
    property: String,
    replacement: &str,
    regex: &JavaRegex,
) -> Result<Replacement, TransformError> {
    Replacement::parse(replacement, regex)
        .map_err(|e| TransformError::invalid(property, format!("'{replacement}': {e}")))
}

fn predicate(
    name: &str,
    spec: Option<&PredicateSpec>,
    negate: bool,
) -> Result<Option<Predicate>, TransformError> {
    match spec {
        None if negate => Err(TransformError::invalid(
            format!("{name}.negate"),
            "negate is set but there is no predicate to negate",
        )),
        None => Ok(None),
        Some(PredicateSpec::TopicNameMatches { pattern }) => {
            if pattern.is_empty() {
                return Err(TransformError::invalid(
                    format!("{name}.predicate.pattern"),
                    "must not be empty",
                ));
            }
            Ok(Some(Predicate::TopicNameMatches(java_regex(
                format!("{name}.predicate.pattern"),
                pattern,
            )?)))
        }
        Some(PredicateSpec::RecordIsTombstone) => Ok(Some(Predicate::RecordIsTombstone)),
    }
}

/// The SMT stage of a record transform (`None` for column rules).
fn record_stage(name: &str, spec: &TransformSpec) -> Result<Option<Stage>, TransformError> {
    let stage = |smt: Box<dyn smt::Smt>,
                 p: &Option<PredicateSpec>,
                 negate: bool|
     -> Result<Option<Stage>, TransformError> {
        Ok(Some(Stage {
            name: name.to_string(),
            smt,
            predicate: predicate(name, p.as_ref(), negate)?,
            negate,
        }))
    };
    match spec {
        TransformSpec::Unwrap(s) => stage(Box::new(unwrap(name, s)?), &s.predicate, s.negate),
        TransformSpec::Route(s) => {
            let regex = java_regex(format!("{name}.regex"), &s.regex)?;
            let replacement = replacement(format!("{name}.replacement"), &s.replacement, &regex)?;
            stage(
                Box::new(RegexRouter { regex, replacement }),
                &s.predicate,
                s.negate,
            )
        }
        TransformSpec::LogicalTableRouter(s) => {
            stage(Box::new(logical_table_router(name, s)?), &s.predicate, s.negate)
        }
        TransformSpec::ReplaceField(s) => stage(
            Box::new(ReplaceField {
                target: s.target,
                include: s.include.iter().cloned().collect::<BTreeSet<_>>(),
                exclude: s.exclude.iter().cloned().collect::<BTreeSet<_>>(),
                renames: s.renames.clone(),
            }),
            &s.predicate,
            s.negate,
        ),
        TransformSpec::InsertField(s) => stage(Box::new(insert_field(name, s)?), &s.predicate, s.negate),
        TransformSpec::Filter(s) => stage(Box::new(Filter), &s.predicate, s.negate),
        TransformSpec::Outbox(s) => stage(Box::new(outbox(name, s)?), &s.predicate, s.negate),
        TransformSpec::Columns(_)
        | TransformSpec::KeyColumns(_)
        | TransformSpec::Mask(_)
        | TransformSpec::Hash(_)
        | TransformSpec::Truncate(_)
        | TransformSpec::MessageFilter(_) => Ok(None),
    }
}

fn unwrap(name: &str, s: &UnwrapSpec) -> Result<Unwrap, TransformError> {
    use smt::{DeleteStrategy, FieldReference};
    let strategy = match (
        s.delete_tombstone_handling_mode,
        s.drop_tombstones,
        s.delete_handling_mode,
    ) {
        (Some(mode), _, _) => DeleteStrategy::Mode(mode),
        (None, None, None) => DeleteStrategy::Mode(DeleteTombstoneHandling::Tombstone),
        (None, drop_tombstones, deletes) => DeleteStrategy::Legacy {
            drop_tombstones: drop_tombstones.unwrap_or(true),
            deletes: deletes.unwrap_or(LegacyDeleteHandling::Drop),
        },
    };
    let prefix = s.add_fields_prefix.as_deref().unwrap_or("__");
    let add_fields = s
        .add_fields
        .iter()
        .map(|f| f.trim())
        .filter(|f| !f.is_empty())
        .map(|f| {
            FieldReference::parse(prefix, f)
                .map_err(|e| TransformError::invalid(format!("{name}.add_fields"), e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Unwrap {
        strategy,
        add_fields,
        route_by_field: s.route_by_field.clone().filter(|f| !f.is_empty()),
    })
}

fn logical_table_router(
    name: &str,
    s: &LogicalTableRouterSpec,
) -> Result<LogicalTableRouter, TransformError> {
    let topic_regex = java_regex(format!("{name}.topic_regex"), &s.topic_regex)?;
    let topic_replacement = replacement(
        format!("{name}.topic_replacement"),
        &s.topic_replacement,
        &topic_regex,
    )?;
    let key_field_rewrite = match s
        .key_field_regex
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
    {
        None => None,
        Some(pattern) => {
            let regex = java_regex(format!("{name}.key_field_regex"), pattern)?;
            let Some(r) = s
                .key_field_replacement
                .as_deref()
                .filter(|r| !r.trim().is_empty())
            else {
                return Err(TransformError::missing(
                    format!("{name}.key_field_replacement"),
                    "it must be non-empty when key_field_regex is set",
                ));
            };
            let r = replacement(format!("{name}.key_field_replacement"), r, &regex)?;
            Some((regex, r))
        }
    };
    let key_field = s.key_enforce_uniqueness.unwrap_or(true).then(|| {
        s.key_field_name
            .clone()
            .unwrap_or_else(|| "__dbz__physicalTableIdentifier".to_string())
    });
    Ok(LogicalTableRouter {
        topic_regex,
        topic_replacement,
        key_field,
        key_field_rewrite,
    })
}

fn insert_field(name: &str, s: &InsertFieldSpec) -> Result<InsertField, TransformError> {
    use smt::FieldSpec;
    if s.offset_field.is_some() {
        return Err(TransformError::unsupported(
            format!("{name}.offset_field"),
            "Kafka's InsertField offset.field only applies to sink connectors (a source record has no offset; Kafka Connect fails the task)",
        ));
    }
    let static_field = match (&s.static_field, &s.static_value) {
        (Some(field), Some(value)) => Some((FieldSpec::parse(field), value.clone())),
        (Some(field), None) => {
            return Err(TransformError::missing(
                format!("{name}.static_value"),
                format!("no value specified for static field '{field}'"),
            ));
        }
        (None, _) => None,
    };
    let spec = |f: &Option<String>| f.as_deref().map(FieldSpec::parse);
    let insert = InsertField {
        target: s.target,
        topic_field: spec(&s.topic_field),
        partition_field: spec(&s.partition_field),
        timestamp_field: spec(&s.timestamp_field),
        static_field,
    };
    if insert.topic_field.is_none()
        && insert.partition_field.is_none()
        && insert.timestamp_field.is_none()
        && insert.static_field.is_none()
    {
        return Err(TransformError::invalid(name, "no field insertion configured"));
    }
    Ok(insert)
}

fn outbox(name: &str, s: &OutboxSpec) -> Result<Outbox, TransformError> {
    use smt::EnvelopeField;
    let route_regex_text = s.route_topic_regex.as_deref().unwrap_or("(?<routedByValue>.*)");
    let route_regex = java_regex(format!("{name}.route_topic_regex"), route_regex_text)?;
    let route_replacement = replacement(
        format!("{name}.route_topic_replacement"),
        s.route_topic_replacement
            .as_deref()
            .unwrap_or("outbox.event.${routedByValue}"),
        &route_regex,
    )?;
    let mut envelope_fields = Vec::new();
    for entry in &s.table_fields_additional_placement {
        let property = format!("{name}.table_fields_additional_placement");
        let parts: Vec<&str> = entry.split(':').map(str::trim).collect();
        let (field, placement) = match parts.as_slice() {
            [field, placement] | [field, placement, _] => (*field, placement.to_ascii_lowercase()),
            _ => {
                return Err(TransformError::invalid(
                    property,
                    format!("'{entry}' is not field:placement[:alias]"),
                ));
            }
        };
        match placement.as_str() {
            "envelope" => envelope_fields.push(EnvelopeField {
                field: field.to_string(),
                alias: parts.get(2).unwrap_or(&field).to_string(),
            }),
            "header" => {
                return Err(TransformError::unsupported(
                    property,
                    format!("'{entry}': placement header (Rivulet's records have no headers; use envelope)"),
                ));
            }
            "partition" => {
                return Err(TransformError::unsupported(
                    property,
                    format!("'{entry}': placement partition (Rivulet partitions by key)"),
                ));
            }
            other => {
                return Err(TransformError::invalid(
                    property,
                    format!("'{entry}': unknown placement '{other}' (envelope, header or partition)"),
                ));
            }
        }
    }
    let or = |v: &Option<String>, default: &str| v.clone().unwrap_or_else(|| default.to_string());
    Ok(Outbox {
        event_id: or(&s.table_field_event_id, "id"),
        event_key: or(&s.table_field_event_key, "aggregateid"),
        payload: or(&s.table_field_event_payload, "payload"),
        event_timestamp: s.table_field_event_timestamp.clone(),
        route_by_field: or(&s.route_by_field, "aggregatetype"),
        route_regex,
        route_replacement,
        tombstone_on_empty_payload: s.route_tombstone_on_empty_payload,
        expand_json_payload: s.table_expand_json_payload,
        null_behavior: s.table_json_payload_null_behavior,
        envelope_fields,
        missing: s.table_field_additional_missing,
        invalid_operation: s.table_op_invalid_behavior,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toml_error(text: &str) -> String {
        let config: TransformConfig = toml::from_str(text).unwrap();
        match build(&config, &DebeziumSettings::default()) {
            Ok(_) => panic!("{text} built"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn toml_mistakes_name_the_entry_and_key() {
        let err = toml_error("[[transform]]\ntype = \"route\"\nregex = \"(a\"\nreplacement = \"b\"\n");
        assert!(err.starts_with("transform[1] (route).regex"), "{err}");
        let err = toml_error("[[transform]]\ntype = \"filter\"\nname = \"f\"\nnegate = true\n");
        assert!(err.starts_with("f.negate"), "{err}");
        let err = toml_error("[[transform]]\ntype = \"insert_field\"\n");
        assert!(err.contains("no field insertion configured"), "{err}");
        let err = toml_error(
            "[[transform]]\ntype = \"hash\"\ncolumns = [\"a\"]\nalgorithm = \"MD2\"\nsalt = \"s\"\n",
        );
        assert!(err.contains("MD2"), "{err}");
        let err = toml_error(
            "[[transform]]\ntype = \"columns\"\ninclude = [\"a\"]\n[[transform]]\ntype = \"columns\"\nexclude = [\"b\"]\n",
        );
        assert!(err.contains("only one"), "{err}");
    }
}
