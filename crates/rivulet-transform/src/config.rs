//! The `[[transform]]` list of a pipeline file, as serde structs.
//!
//! Each entry has a `type`; the other keys are the Debezium / Kafka Connect property names with
//! `.` written as `_` (`delete.tombstone.handling.mode` → `delete_tombstone_handling_mode`), so a
//! connector configuration translates mechanically ([`crate::from_debezium_properties`] does it).
//! Unknown keys are errors. `docs/TRANSFORMS.md` lists every type and key.
//!
//! ```toml
//! [[transform]]
//! type = "columns"
//! exclude = ["public\\.customers\\.ssn"]
//!
//! [[transform]]
//! type = "unwrap"
//! delete_tombstone_handling_mode = "rewrite"
//! add_fields = ["op", "source.ts_ms"]
//!
//! [[transform]]
//! type = "route"
//! regex = "shop\\.public\\.(.*)"
//! replacement = "cdc.$1"
//! predicate = { type = "topic_name_matches", pattern = "shop\\..*" }
//! ```
//!
//! Column rules (`columns`, `key_columns`, `mask`, `hash`, `truncate`, `message_filter`) are
//! connector settings in Debezium: they shape events before any SMT runs, wherever they appear
//! in the list. Record transforms run in list order.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The transforms of a pipeline.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransformConfig {
    /// `[[transform]]` entries, in order.
    #[serde(default, rename = "transform")]
    pub transforms: Vec<TransformSpec>,
    /// Kafka Connect's `errors.tolerance`: what a record a transform cannot process does.
    #[serde(default)]
    pub errors: ErrorTolerance,
    /// Notes about the configuration that are not errors (deprecated options and how they were
    /// read), for the caller to log. Filled by [`crate::from_debezium_properties`].
    #[serde(skip)]
    pub warnings: Vec<String>,
}

impl TransformConfig {
    pub fn new(transforms: Vec<TransformSpec>) -> Self {
        TransformConfig {
            transforms,
            ..TransformConfig::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.transforms.is_empty()
    }
}

/// Kafka Connect's `errors.tolerance`.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorTolerance {
    /// `none`: a failing record stops the pipeline (it is reported through
    /// [`crate::TransformFailures`]; nothing after the last checkpoint is confirmed).
    #[default]
    None,
    /// `all`: a failing record is dropped with a warning in the log.
    All,
}

/// One transform.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TransformSpec {
    /// `column.include.list` / `column.exclude.list`.
    Columns(ColumnsSpec),
    /// `message.key.columns`.
    KeyColumns(KeyColumnsSpec),
    /// `column.mask.with.N.chars`.
    Mask(MaskSpec),
    /// `column.mask.hash.ALGORITHM.with.salt.SALT` and `column.mask.hash.v2.…`.
    Hash(HashSpec),
    /// `column.truncate.to.N.chars`.
    Truncate(TruncateSpec),
    /// `message.prefix.include.list` / `message.prefix.exclude.list`.
    MessageFilter(MessageFilterSpec),
    /// `io.debezium.transforms.ExtractNewRecordState`.
    Unwrap(UnwrapSpec),
    /// `org.apache.kafka.connect.transforms.RegexRouter`.
    Route(RouteSpec),
    /// `io.debezium.transforms.ByLogicalTableRouter`.
    LogicalTableRouter(LogicalTableRouterSpec),
    /// `org.apache.kafka.connect.transforms.ReplaceField$Value` / `$Key`.
    ReplaceField(ReplaceFieldSpec),
    /// `org.apache.kafka.connect.transforms.InsertField$Value` / `$Key`.
    InsertField(InsertFieldSpec),
    /// `org.apache.kafka.connect.transforms.Filter`.
    Filter(FilterSpec),
    /// `io.debezium.transforms.outbox.EventRouter`.
    Outbox(OutboxSpec),
}

impl TransformSpec {
    /// The `type` name.
    pub fn type_name(&self) -> &'static str {
        match self {
            TransformSpec::Columns(_) => "columns",
            TransformSpec::KeyColumns(_) => "key_columns",
            TransformSpec::Mask(_) => "mask",
            TransformSpec::Hash(_) => "hash",
            TransformSpec::Truncate(_) => "truncate",
            TransformSpec::MessageFilter(_) => "message_filter",
            TransformSpec::Unwrap(_) => "unwrap",
            TransformSpec::Route(_) => "route",
            TransformSpec::LogicalTableRouter(_) => "logical_table_router",
            TransformSpec::ReplaceField(_) => "replace_field",
            TransformSpec::InsertField(_) => "insert_field",
            TransformSpec::Filter(_) => "filter",
            TransformSpec::Outbox(_) => "outbox",
        }
    }
}

/// A Kafka Connect predicate (`predicates.<alias>.type`), inline.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum PredicateSpec {
    /// `org.apache.kafka.connect.transforms.predicates.TopicNameMatches`: the topic matches
    /// `pattern` (a Java regex, whole topic).
    TopicNameMatches { pattern: String },
    /// `org.apache.kafka.connect.transforms.predicates.RecordIsTombstone`: the value is null.
    RecordIsTombstone,
}

/// Which part of a record a field transform works on (Kafka's `$Value` / `$Key` classes).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    #[default]
    Value,
    Key,
}

/// `column.include.list` / `column.exclude.list`: regexes matched (whole, case-insensitively)
/// against `schema.table.column`. Excluded columns leave `before`/`after`; keys keep theirs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnsSpec {
    pub include: Option<Vec<String>>,
    pub exclude: Option<Vec<String>>,
}

/// `message.key.columns`: for tables whose `schema.table` matches `table` (a regex), the record
/// key is made of `columns` instead of the primary key.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyColumnsSpec {
    pub tables: Vec<KeyColumnsTable>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyColumnsTable {
    /// A regex for `schema.table`.
    pub table: String,
    /// Column names (each may be a regex too, as in Debezium).
    pub columns: Vec<String>,
}

/// `column.mask.with.N.chars`: values of string columns become `chars` asterisks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaskSpec {
    /// Regexes for `schema.table.column`.
    pub columns: Vec<String>,
    pub chars: usize,
}

/// `column.mask.hash.ALGORITHM.with.salt.SALT` (`version = 1`, the default) and
/// `column.mask.hash.v2.ALGORITHM.with.salt.SALT` (`version = 2`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HashSpec {
    pub columns: Vec<String>,
    /// A Java `MessageDigest` name: `MD5`, `SHA-1`, `SHA-224`, `SHA-256`, `SHA-384`, `SHA-512`,
    /// `SHA-512/224`, `SHA-512/256`.
    pub algorithm: String,
    pub salt: String,
    #[serde(default = "one")]
    pub version: u8,
}

fn one() -> u8 {
    1
}

/// `column.truncate.to.N.chars`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TruncateSpec {
    pub columns: Vec<String>,
    pub chars: usize,
}

/// `message.prefix.include.list` / `message.prefix.exclude.list`: regexes for the prefixes of
/// logical decoding messages; messages left out are not emitted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageFilterSpec {
    pub include: Option<Vec<String>>,
    pub exclude: Option<Vec<String>>,
}

/// Debezium's `delete.tombstone.handling.mode`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeleteTombstoneHandling {
    Drop,
    Tombstone,
    Rewrite,
    RewriteWithTombstone,
    DeleteToTombstone,
}

/// The deprecated `delete.handling.mode` (Debezium ≤ 3.1).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegacyDeleteHandling {
    Drop,
    Rewrite,
    None,
}

/// `io.debezium.transforms.ExtractNewRecordState`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnwrapSpec {
    pub name: Option<String>,
    pub predicate: Option<PredicateSpec>,
    #[serde(default)]
    pub negate: bool,
    /// Default `tombstone`.
    pub delete_tombstone_handling_mode: Option<DeleteTombstoneHandling>,
    /// Debezium 2.x's `drop.tombstones` (default true), applied as 2.x applied it when
    /// `delete_tombstone_handling_mode` is not set. Debezium 3.2 removed the option (3.6 ignores
    /// it), so [`crate::from_debezium_properties`] never sets it: here it is an explicit choice.
    pub drop_tombstones: Option<bool>,
    /// Debezium 2.x's `delete.handling.mode` (default drop), like `drop_tombstones`.
    pub delete_handling_mode: Option<LegacyDeleteHandling>,
    /// `op`, `table`, `source.ts_ms`, `field:new_name`…
    #[serde(default)]
    pub add_fields: Vec<String>,
    /// Default `__`.
    pub add_fields_prefix: Option<String>,
    pub route_by_field: Option<String>,
    /// Accepted; it cannot change JSON without schemas.
    pub replace_null_with_default: Option<bool>,
}

/// `org.apache.kafka.connect.transforms.RegexRouter`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    pub name: Option<String>,
    pub predicate: Option<PredicateSpec>,
    #[serde(default)]
    pub negate: bool,
    pub regex: String,
    pub replacement: String,
}

/// `io.debezium.transforms.ByLogicalTableRouter`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogicalTableRouterSpec {
    pub name: Option<String>,
    pub predicate: Option<PredicateSpec>,
    #[serde(default)]
    pub negate: bool,
    pub topic_regex: String,
    pub topic_replacement: String,
    /// Default true.
    pub key_enforce_uniqueness: Option<bool>,
    /// Default `__dbz__physicalTableIdentifier`.
    pub key_field_name: Option<String>,
    pub key_field_regex: Option<String>,
    pub key_field_replacement: Option<String>,
}

/// `org.apache.kafka.connect.transforms.ReplaceField$Value` / `$Key`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplaceFieldSpec {
    pub name: Option<String>,
    pub predicate: Option<PredicateSpec>,
    #[serde(default)]
    pub negate: bool,
    #[serde(default)]
    pub target: Target,
    #[serde(default)]
    pub include: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Old name → new name.
    #[serde(default)]
    pub renames: BTreeMap<String, String>,
    /// Accepted; it cannot change JSON without schemas.
    pub replace_null_with_default: Option<bool>,
}

/// `org.apache.kafka.connect.transforms.InsertField$Value` / `$Key`. Field names may end in `!`
/// (required) or `?` (optional, the default), as in Kafka.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InsertFieldSpec {
    pub name: Option<String>,
    pub predicate: Option<PredicateSpec>,
    #[serde(default)]
    pub negate: bool,
    #[serde(default)]
    pub target: Target,
    pub static_field: Option<String>,
    pub static_value: Option<String>,
    pub topic_field: Option<String>,
    /// The record's timestamp, which a source record does not have yet when SMTs run: `null`
    /// (as Debezium writes it).
    pub timestamp_field: Option<String>,
    /// The record's partition, likewise unknown when SMTs run: `null`.
    pub partition_field: Option<String>,
    /// Only for sink connectors: an error, as in Kafka Connect.
    pub offset_field: Option<String>,
    /// Accepted; it cannot change JSON without schemas.
    pub replace_null_with_default: Option<bool>,
}

/// `org.apache.kafka.connect.transforms.Filter`: drops the records its predicate selects (all
/// records without a predicate).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterSpec {
    pub name: Option<String>,
    pub predicate: Option<PredicateSpec>,
    #[serde(default)]
    pub negate: bool,
}

/// What the outbox router does with an update of the outbox table (`table.op.invalid.behavior`).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvalidOperationBehavior {
    #[default]
    Warn,
    Error,
    Fatal,
}

/// `table.json.payload.null.behavior`.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JsonPayloadNullBehavior {
    #[default]
    Ignore,
    OptionalBytes,
}

/// `table.field.additional.missing`.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdditionalFieldMissing {
    #[default]
    Error,
    Ignore,
}

/// `io.debezium.transforms.outbox.EventRouter`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxSpec {
    pub name: Option<String>,
    pub predicate: Option<PredicateSpec>,
    #[serde(default)]
    pub negate: bool,
    /// Default `id`.
    pub table_field_event_id: Option<String>,
    /// Default `aggregateid`: the record key.
    pub table_field_event_key: Option<String>,
    /// Default `payload`: the record value.
    pub table_field_event_payload: Option<String>,
    /// Accepted; only Debezium's headers use it.
    pub table_field_event_type: Option<String>,
    /// Accepted; it only sets the Kafka record timestamp.
    pub table_field_event_timestamp: Option<String>,
    /// Accepted; it only versions the Connect schema.
    pub table_field_event_schema_version: Option<String>,
    /// `field:placement[:alias]` entries; placement `envelope` (header and partition cannot be
    /// expressed by Rivulet's records).
    #[serde(default)]
    pub table_fields_additional_placement: Vec<String>,
    #[serde(default)]
    pub table_field_additional_missing: AdditionalFieldMissing,
    /// Default `aggregatetype`.
    pub route_by_field: Option<String>,
    /// Default `(?<routedByValue>.*)`.
    pub route_topic_regex: Option<String>,
    /// Default `outbox.event.${routedByValue}`.
    pub route_topic_replacement: Option<String>,
    #[serde(default)]
    pub route_tombstone_on_empty_payload: bool,
    #[serde(default)]
    pub table_expand_json_payload: bool,
    #[serde(default)]
    pub table_json_payload_null_behavior: JsonPayloadNullBehavior,
    #[serde(default)]
    pub table_op_invalid_behavior: InvalidOperationBehavior,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_list_with_unknown_keys_rejected() {
        let config: TransformConfig = toml::from_str(
            r#"
            [[transform]]
            type = "unwrap"
            delete_tombstone_handling_mode = "rewrite-with-tombstone"
            add_fields = ["op", "source.ts_ms"]

            [[transform]]
            type = "route"
            regex = "a(.*)"
            replacement = "b$1"
            predicate = { type = "record_is_tombstone" }
            negate = true

            [[transform]]
            type = "replace_field"
            target = "key"
            renames = { id = "ident" }
            "#,
        )
        .unwrap();
        assert_eq!(config.transforms.len(), 3);
        assert_eq!(config.errors, ErrorTolerance::None);
        match &config.transforms[0] {
            TransformSpec::Unwrap(u) => {
                assert_eq!(
                    u.delete_tombstone_handling_mode,
                    Some(DeleteTombstoneHandling::RewriteWithTombstone)
                );
            }
            other => panic!("{other:?}"),
        }
        let err = toml::from_str::<TransformConfig>(
            "[[transform]]\ntype = \"route\"\nregex = \"a\"\nreplacement = \"b\"\nregx = 1\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("regx"), "{err}");
        let err = toml::from_str::<TransformConfig>("[[transform]]\ntype = \"flatten\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("flatten"), "{err}");
    }
}
