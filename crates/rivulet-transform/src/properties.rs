//! A Debezium connector configuration's transform properties → [`TransformConfig`].
//!
//! ```text
//!  transforms=a,b  transforms.a.type=<class>  transforms.a.<option>=…  transforms.a.predicate=p  .negate=…
//!  predicates=p    predicates.p.type=<class>  predicates.p.<option>=…
//!  column.include.list / column.exclude.list / column.truncate.to.N.chars / column.mask.with.N.chars /
//!  column.mask.hash[.v2].ALG.with.salt.SALT / message.key.columns / message.prefix.include|exclude.list /
//!  errors.tolerance
//!        └──▶ TransformConfig { transforms: [column rules…, SMTs in `transforms` order], errors, warnings }
//! ```
//!
//! Every property in these namespaces must be understood: an unknown class or option is an
//! error naming it (Kafka Connect would silently ignore an unknown option; a migration should
//! not). Properties outside them belong to other parts of the configuration and are ignored.
//! Values are read as Kafka's `ConfigDef` reads them (lists split on commas with surrounding
//! whitespace, booleans `true`/`false` in any case, enums case-insensitively).

use std::collections::{BTreeMap, BTreeSet};

use regex::Regex;

use crate::config::{
    AdditionalFieldMissing, ColumnsSpec, DeleteTombstoneHandling, ErrorTolerance, FilterSpec, HashSpec,
    InsertFieldSpec, InvalidOperationBehavior, JsonPayloadNullBehavior, KeyColumnsSpec, KeyColumnsTable,
    LegacyDeleteHandling, LogicalTableRouterSpec, MaskSpec, MessageFilterSpec, OutboxSpec, PredicateSpec,
    ReplaceFieldSpec, RouteSpec, Target, TransformConfig, TransformSpec, TruncateSpec, UnwrapSpec,
};
use crate::error::TransformError;
use crate::pattern::{JavaRegex, Replacement, split_regex_list};

const UNWRAP: &str = "io.debezium.transforms.ExtractNewRecordState";
const REGEX_ROUTER: &str = "org.apache.kafka.connect.transforms.RegexRouter";
const LOGICAL_ROUTER: &str = "io.debezium.transforms.ByLogicalTableRouter";
const REPLACE_VALUE: &str = "org.apache.kafka.connect.transforms.ReplaceField$Value";
const REPLACE_KEY: &str = "org.apache.kafka.connect.transforms.ReplaceField$Key";
const INSERT_VALUE: &str = "org.apache.kafka.connect.transforms.InsertField$Value";
const INSERT_KEY: &str = "org.apache.kafka.connect.transforms.InsertField$Key";
const FILTER: &str = "org.apache.kafka.connect.transforms.Filter";
const OUTBOX: &str = "io.debezium.transforms.outbox.EventRouter";
const SUPPORTED: [&str; 9] = [
    UNWRAP,
    REGEX_ROUTER,
    LOGICAL_ROUTER,
    REPLACE_VALUE,
    REPLACE_KEY,
    INSERT_VALUE,
    INSERT_KEY,
    FILTER,
    OUTBOX,
];

const TOPIC_NAME_MATCHES: &str = "org.apache.kafka.connect.transforms.predicates.TopicNameMatches";
const RECORD_IS_TOMBSTONE: &str = "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone";
const HAS_HEADER_KEY: &str = "org.apache.kafka.connect.transforms.predicates.HasHeaderKey";

/// Reads the transform-related properties of a Debezium (Kafka Connect) connector
/// configuration. Everything it returns is valid for [`crate::build`].
pub fn from_debezium_properties(props: &BTreeMap<String, String>) -> Result<TransformConfig, TransformError> {
    let mut config = TransformConfig::default();
    column_rules(props, &mut config)?;
    if let Some(tolerance) = props.get("errors.tolerance") {
        config.errors = match tolerance.trim().to_ascii_lowercase().as_str() {
            "none" => ErrorTolerance::None,
            "all" => ErrorTolerance::All,
            _ => {
                return Err(TransformError::invalid(
                    "errors.tolerance",
                    format!("'{tolerance}' is not none or all"),
                ));
            }
        };
    }
    let predicates = predicates(props)?;
    let aliases = kafka_list(props.get("transforms").map_or("", String::as_str));
    let mut seen = BTreeSet::new();
    for alias in &aliases {
        if alias.is_empty() {
            return Err(TransformError::invalid("transforms", "an alias is empty"));
        }
        if !seen.insert(alias.as_str()) {
            return Err(TransformError::invalid(
                "transforms",
                format!("duplicate alias '{alias}'"),
            ));
        }
        let spec = transform(props, alias, &predicates, &mut config.warnings)?;
        config.transforms.push(spec);
    }
    for key in props.keys() {
        if let Some(rest) = key.strip_prefix("transforms.")
            && !aliases.iter().any(|a| rest.starts_with(&format!("{a}.")))
        {
            config.warnings.push(format!(
                "{key} is ignored: its alias is not listed in `transforms`"
            ));
        }
    }
    // What build() alone can check (replacement groups, option combinations).
    crate::build(&config, &rivulet_format::DebeziumSettings::default())?;
    Ok(config)
}

/// Kafka's `ConfigDef.Type.LIST`: split on commas with any whitespace around them.
fn kafka_list(value: &str) -> Vec<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Vec::new();
    }
    trimmed.split(',').map(|s| s.trim().to_string()).collect()
}

fn boolean(property: &str, value: &str) -> Result<bool, TransformError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(TransformError::invalid(
            property,
            format!("'{value}' is not true or false"),
        )),
    }
}

fn check_regex(property: &str, pattern: &str) -> Result<JavaRegex, TransformError> {
    JavaRegex::new(pattern).map_err(|e| TransformError::invalid(property, format!("'{pattern}': {e}")))
}

fn check_replacement(property: &str, replacement: &str, regex: &JavaRegex) -> Result<(), TransformError> {
    Replacement::parse(replacement, regex)
        .map(|_| ())
        .map_err(|e| TransformError::invalid(property, format!("'{replacement}': {e}")))
}

fn check_regex_list(property: &str, value: &str) -> Result<Vec<String>, TransformError> {
    let list = split_regex_list(value);
    for pattern in &list {
        JavaRegex::case_insensitive(pattern)
            .map_err(|e| TransformError::invalid(property, format!("'{pattern}': {e}")))?;
    }
    Ok(list)
}

/// `column.*`, `message.key.columns`, `message.prefix.*`.
fn column_rules(
    props: &BTreeMap<String, String>,
    config: &mut TransformConfig,
) -> Result<(), TransformError> {
    // Anchored like Java's matches(); the groups are Debezium's.
    let truncate = regex(r"\Acolumn\.truncate\.to\.(\d+)\.chars\z")?;
    let mask = regex(r"\Acolumn\.mask\.with\.(\d+)\.chars\z")?;
    let hash_v2 = regex(r"\Acolumn\.mask\.hash\.v2\.([^.]+)\.with\.salt\.(.+)\z")?;
    let hash = regex(r"\Acolumn\.mask\.hash\.([^.]+)\.with\.salt\.(.+)\z")?;
    let non_blank = |key: &str| props.get(key).filter(|v| !v.trim().is_empty());

    let include = non_blank("column.include.list");
    let exclude = non_blank("column.exclude.list");
    if include.is_some() && exclude.is_some() {
        return Err(TransformError::invalid(
            "column.exclude.list",
            "\"column.include.list\" is already specified (set only one of them)",
        ));
    }
    if include.is_some() || exclude.is_some() {
        config.transforms.push(TransformSpec::Columns(ColumnsSpec {
            include: include
                .map(|v| check_regex_list("column.include.list", v))
                .transpose()?,
            exclude: exclude
                .map(|v| check_regex_list("column.exclude.list", v))
                .transpose()?,
        }));
    }

    for (key, value) in props {
        if !key.starts_with("column.") || key == "column.include.list" || key == "column.exclude.list" {
            continue;
        }
        let chars = |caps: &regex::Captures<'_>| {
            caps[1]
                .parse::<usize>()
                .map_err(|_| TransformError::invalid(key.as_str(), "the length is not a number"))
        };
        if let Some(caps) = truncate.captures(key) {
            config.transforms.push(TransformSpec::Truncate(TruncateSpec {
                columns: check_regex_list(key, value)?,
                chars: chars(&caps)?,
            }));
        } else if let Some(caps) = mask.captures(key) {
            config.transforms.push(TransformSpec::Mask(MaskSpec {
                columns: check_regex_list(key, value)?,
                chars: chars(&caps)?,
            }));
        } else if let Some((caps, version)) = hash_v2
            .captures(key)
            .map(|c| (c, 2))
            .or_else(|| hash.captures(key).map(|c| (c, 1)))
        {
            config.transforms.push(TransformSpec::Hash(HashSpec {
                columns: check_regex_list(key, value)?,
                algorithm: caps[1].to_string(),
                salt: caps[2].to_string(),
                version,
            }));
        } else if key == "column.propagate.source.type" {
            config
                .warnings
                .push(format!("{key} has no effect: it only adds Connect schema parameters, and Rivulet writes JSON without schemas"));
        } else if key == "column.blacklist" || key == "column.whitelist" {
            config.warnings.push(format!(
                "{key} is ignored, as Debezium 2.0+ ignores it: use column.exclude.list / column.include.list"
            ));
        } else {
            return Err(TransformError::unsupported(
                key.as_str(),
                "not a column rule Rivulet implements (see docs/TRANSFORMS.md)",
            ));
        }
    }
    if props.contains_key("datatype.propagate.source.type") {
        config.warnings.push(
            "datatype.propagate.source.type has no effect: it only adds Connect schema parameters, and Rivulet writes JSON without schemas"
                .into(),
        );
    }

    if let Some(value) = props.get("message.key.columns") {
        config
            .transforms
            .push(TransformSpec::KeyColumns(key_columns(value)?));
    }

    let include = non_blank("message.prefix.include.list");
    let exclude = non_blank("message.prefix.exclude.list");
    if include.is_some() && exclude.is_some() {
        return Err(TransformError::invalid(
            "message.prefix.exclude.list",
            "\"message.prefix.include.list\" is already specified (set only one of them)",
        ));
    }
    if include.is_some() || exclude.is_some() {
        config
            .transforms
            .push(TransformSpec::MessageFilter(MessageFilterSpec {
                include: include
                    .map(|v| check_regex_list("message.prefix.include.list", v))
                    .transpose()?,
                exclude: exclude
                    .map(|v| check_regex_list("message.prefix.exclude.list", v))
                    .transpose()?,
            }));
    }
    Ok(())
}

fn regex(pattern: &str) -> Result<Regex, TransformError> {
    Regex::new(pattern).map_err(|e| TransformError::invalid("(internal pattern)", e.to_string()))
}

/// `message.key.columns=<table regex>:<col>,<col>;<table regex>:<col>`.
fn key_columns(value: &str) -> Result<KeyColumnsSpec, TransformError> {
    const PROPERTY: &str = "message.key.columns";
    if value.is_empty() {
        return Err(TransformError::invalid(PROPERTY, "must not be empty"));
    }
    // Debezium's MSG_KEY_COLUMNS_PATTERN.
    let entry = regex(r"\A\s*([^:]+):([^:,]+(,[^:,]+)*)\s*\z")?;
    let mut tables = Vec::new();
    for part in value.split(';').filter(|p| !p.is_empty()) {
        if !entry.is_match(part) {
            return Err(TransformError::invalid(
                PROPERTY,
                format!("'{part}' has an invalid format (expecting '<table regex>:<column>[,<column>…]')"),
            ));
        }
        let (table, columns) = part.split_once(':').unwrap_or((part, ""));
        let table = table.trim().to_string();
        let columns: Vec<String> = columns.split(',').map(|c| c.trim().to_string()).collect();
        for column in &columns {
            let pattern = format!("{table}.{column}");
            JavaRegex::case_insensitive(&pattern)
                .map_err(|e| TransformError::invalid(PROPERTY, format!("'{pattern}': {e}")))?;
        }
        tables.push(KeyColumnsTable { table, columns });
    }
    Ok(KeyColumnsSpec { tables })
}

/// The `predicates` list, each compiled to its spec.
fn predicates(props: &BTreeMap<String, String>) -> Result<BTreeMap<String, PredicateSpec>, TransformError> {
    let mut out = BTreeMap::new();
    for alias in kafka_list(props.get("predicates").map_or("", String::as_str)) {
        if out.contains_key(&alias) {
            return Err(TransformError::invalid(
                "predicates",
                format!("duplicate alias '{alias}'"),
            ));
        }
        let prefix = format!("predicates.{alias}.");
        let type_key = format!("{prefix}type");
        let Some(class) = props.get(&type_key).map(|c| c.trim().to_string()) else {
            return Err(TransformError::missing(type_key, "the predicate's class"));
        };
        let options = options(props, &prefix, &["type"]);
        let spec = match class.as_str() {
            TOPIC_NAME_MATCHES => {
                only(&options, &["pattern"])?;
                let key = format!("{prefix}pattern");
                let Some(pattern) = props.get(&key).filter(|p| !p.is_empty()) else {
                    return Err(TransformError::missing(key, "a regex for the topic names"));
                };
                check_regex(&key, pattern)?;
                PredicateSpec::TopicNameMatches {
                    pattern: pattern.clone(),
                }
            }
            RECORD_IS_TOMBSTONE => {
                only(&options, &[])?;
                PredicateSpec::RecordIsTombstone
            }
            HAS_HEADER_KEY => {
                return Err(TransformError::UnsupportedPredicate {
                    alias,
                    class,
                    reason: "Rivulet's records have no headers".into(),
                });
            }
            _ => {
                return Err(TransformError::UnsupportedPredicate {
                    alias,
                    class,
                    reason: format!("supported: {TOPIC_NAME_MATCHES}, {RECORD_IS_TOMBSTONE}"),
                });
            }
        };
        out.insert(alias, spec);
    }
    Ok(out)
}

/// The options under `prefix` (full property names), without `skip`.
fn options<'a>(
    props: &'a BTreeMap<String, String>,
    prefix: &str,
    skip: &[&str],
) -> BTreeMap<&'a str, &'a str> {
    props
        .iter()
        .filter_map(|(k, v)| {
            let option = k.strip_prefix(prefix)?;
            (!skip.contains(&option)).then_some((k.as_str(), v.as_str()))
        })
        .collect()
}

/// Errors on the first option outside `known` (option names, without the prefix).
fn only(options: &BTreeMap<&str, &str>, known: &[&str]) -> Result<(), TransformError> {
    for key in options.keys() {
        let option = key.splitn(3, '.').nth(2).unwrap_or(key);
        if !known.contains(&option) {
            return Err(TransformError::unsupported(
                *key,
                format!(
                    "unknown option '{option}' (supported: {})",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        }
    }
    Ok(())
}

/// One `transforms.<alias>`.
fn transform(
    props: &BTreeMap<String, String>,
    alias: &str,
    predicates: &BTreeMap<String, PredicateSpec>,
    warnings: &mut Vec<String>,
) -> Result<TransformSpec, TransformError> {
    let prefix = format!("transforms.{alias}.");
    let type_key = format!("{prefix}type");
    let Some(class) = props.get(&type_key).map(|c| c.trim().to_string()) else {
        return Err(TransformError::missing(type_key, "the transformation's class"));
    };
    let get = |option: &str| props.get(&format!("{prefix}{option}")).map(String::as_str);
    let key = |option: &str| format!("{prefix}{option}");
    let options = options(props, &prefix, &["type", "predicate", "negate"]);

    let predicate = match get("predicate") {
        None => None,
        Some(p) => match predicates.get(p.trim()) {
            Some(spec) => Some(spec.clone()),
            None => {
                return Err(TransformError::invalid(
                    key("predicate"),
                    format!(
                        "predicate '{p}' is not defined (list it in `predicates` with predicates.{p}.type)"
                    ),
                ));
            }
        },
    };
    let negate = match get("negate") {
        None => false,
        Some(_) if predicate.is_none() => {
            return Err(TransformError::invalid(
                key("negate"),
                format!(
                    "is set but there is no {} defining a predicate to be negated",
                    key("predicate")
                ),
            ));
        }
        Some(v) => boolean(&key("negate"), v)?,
    };
    let name = Some(alias.to_string());
    let string = |option: &str| get(option).map(str::to_string);
    let bool_opt = |option: &str| get(option).map(|v| boolean(&key(option), v)).transpose();
    let required = |option: &str, why: &str| {
        get(option)
            .map(str::to_string)
            .ok_or_else(|| TransformError::missing(key(option), why.to_string()))
    };

    Ok(match class.as_str() {
        UNWRAP => {
            only(
                &options,
                &[
                    "delete.tombstone.handling.mode",
                    "drop.tombstones",
                    "delete.handling.mode",
                    "add.fields",
                    "add.fields.prefix",
                    "add.headers",
                    "add.headers.prefix",
                    "route.by.field",
                    "replace.null.with.default",
                    "drop.fields.header.name",
                    "drop.fields.from.key",
                    "drop.fields.keep.schema.compatible",
                ],
            )?;
            if get("add.headers").is_some_and(|v| !v.trim().is_empty()) {
                return Err(TransformError::unsupported(
                    key("add.headers"),
                    "Rivulet's records have no headers; use add.fields",
                ));
            }
            if get("drop.fields.header.name").is_some_and(|v| !v.trim().is_empty()) {
                return Err(TransformError::unsupported(
                    key("drop.fields.header.name"),
                    "Rivulet's records have no headers (drop.fields.from.key and drop.fields.keep.schema.compatible only act with it)",
                ));
            }
            for option in ["drop.fields.from.key", "drop.fields.keep.schema.compatible"] {
                bool_opt(option)?;
            }
            let mode = get("delete.tombstone.handling.mode")
                .map(|v| parse_mode(&key("delete.tombstone.handling.mode"), v))
                .transpose()?;
            // Removed in Debezium 3.2: 3.6 ignores them (checked against 3.6.3, tests/oracle/
            // legacy_ignored.sql), and so does Rivulet, saying so.
            bool_opt("drop.tombstones")?;
            get("delete.handling.mode")
                .map(|v| parse_legacy(&key("delete.handling.mode"), v))
                .transpose()?;
            for option in ["drop.tombstones", "delete.handling.mode"] {
                if get(option).is_some() {
                    warnings.push(format!(
                        "{} is ignored, as Debezium 3.2+ ignores it (a removed option): deletes follow \
                         {prefix}delete.tombstone.handling.mode (default tombstone). Its Debezium 2.x meaning is that \
                         mode's drop / rewrite / rewrite-with-tombstone, or drop_tombstones / delete_handling_mode \
                         in a Rivulet [[transform]]",
                        key(option)
                    ));
                }
            }
            UnwrapSpec {
                name,
                predicate,
                negate,
                delete_tombstone_handling_mode: mode,
                drop_tombstones: None,
                delete_handling_mode: None,
                add_fields: kafka_list(get("add.fields").unwrap_or("")),
                add_fields_prefix: string("add.fields.prefix"),
                route_by_field: string("route.by.field"),
                replace_null_with_default: bool_opt("replace.null.with.default")?,
            }
            .into()
        }
        REGEX_ROUTER => {
            only(&options, &["regex", "replacement"])?;
            let regex = required("regex", "the regex the topic must match")?;
            let replacement = required("replacement", "the new topic, with $1… for the regex's groups")?;
            let compiled = check_regex(&key("regex"), &regex)?;
            check_replacement(&key("replacement"), &replacement, &compiled)?;
            TransformSpec::Route(RouteSpec {
                name,
                predicate,
                negate,
                regex,
                replacement,
            })
        }
        LOGICAL_ROUTER => {
            only(
                &options,
                &[
                    "topic.regex",
                    "topic.replacement",
                    "key.enforce.uniqueness",
                    "key.field.name",
                    "key.field.regex",
                    "key.field.replacement",
                    "schema.name.adjustment.mode",
                    "logical.table.cache.size",
                ],
            )?;
            let topic_regex = required("topic.regex", "the regex of the physical tables' topics")?;
            let topic_replacement = required("topic.replacement", "the logical table's topic")?;
            let compiled = check_regex(&key("topic.regex"), &topic_regex)?;
            check_replacement(&key("topic.replacement"), &topic_replacement, &compiled)?;
            if let Some(r) = get("key.field.regex").filter(|r| !r.trim().is_empty()) {
                let compiled = check_regex(&key("key.field.regex"), r)?;
                if let Some(replacement) = get("key.field.replacement") {
                    check_replacement(&key("key.field.replacement"), replacement, &compiled)?;
                }
            }
            if let Some(mode) = get("schema.name.adjustment.mode")
                && !["none", "avro", "avro_unicode"].contains(&mode.trim().to_ascii_lowercase().as_str())
            {
                return Err(TransformError::invalid(
                    key("schema.name.adjustment.mode"),
                    format!("'{mode}' is not none, avro or avro_unicode"),
                ));
            }
            if let Some(size) = get("logical.table.cache.size") {
                size.trim().parse::<i32>().map_err(|_| {
                    TransformError::invalid(
                        key("logical.table.cache.size"),
                        format!("'{size}' is not an integer"),
                    )
                })?;
            }
            TransformSpec::LogicalTableRouter(LogicalTableRouterSpec {
                name,
                predicate,
                negate,
                topic_regex,
                topic_replacement,
                key_enforce_uniqueness: bool_opt("key.enforce.uniqueness")?,
                key_field_name: string("key.field.name"),
                key_field_regex: string("key.field.regex"),
                key_field_replacement: string("key.field.replacement"),
            })
        }
        REPLACE_VALUE | REPLACE_KEY => {
            only(
                &options,
                &[
                    "exclude",
                    "include",
                    "renames",
                    "blacklist",
                    "whitelist",
                    "replace.null.with.default",
                ],
            )?;
            // Kafka 4.0 (Debezium 3.6's Kafka Connect) removed the old names and ignores them.
            for (old, new) in [("blacklist", "exclude"), ("whitelist", "include")] {
                if get(old).is_some() {
                    warnings.push(format!(
                        "{} is ignored, as Kafka Connect 4 ignores it (removed in Kafka 4.0): use {}",
                        key(old),
                        key(new)
                    ));
                }
            }
            let exclude = get("exclude").map(kafka_list).unwrap_or_default();
            let include = get("include").map(kafka_list).unwrap_or_default();
            let mut renames = BTreeMap::new();
            for mapping in kafka_list(get("renames").unwrap_or("")) {
                let parts: Vec<&str> = mapping.split(':').collect();
                let [old, new] = parts.as_slice() else {
                    return Err(TransformError::invalid(
                        key("renames"),
                        format!("invalid rename mapping '{mapping}' (expected old:new)"),
                    ));
                };
                renames.insert(old.to_string(), new.to_string());
            }
            TransformSpec::ReplaceField(ReplaceFieldSpec {
                name,
                predicate,
                negate,
                target: if class == REPLACE_KEY {
                    Target::Key
                } else {
                    Target::Value
                },
                include,
                exclude,
                renames,
                replace_null_with_default: bool_opt("replace.null.with.default")?,
            })
        }
        INSERT_VALUE | INSERT_KEY => {
            only(
                &options,
                &[
                    "topic.field",
                    "partition.field",
                    "offset.field",
                    "timestamp.field",
                    "static.field",
                    "static.value",
                    "replace.null.with.default",
                ],
            )?;
            if get("offset.field").is_some() {
                return Err(TransformError::unsupported(
                    key("offset.field"),
                    "only applies to sink connectors (a source record has no offset; Kafka Connect fails the task)",
                ));
            }
            TransformSpec::InsertField(InsertFieldSpec {
                name,
                predicate,
                negate,
                target: if class == INSERT_KEY {
                    Target::Key
                } else {
                    Target::Value
                },
                static_field: string("static.field"),
                static_value: string("static.value"),
                topic_field: string("topic.field"),
                timestamp_field: string("timestamp.field"),
                partition_field: string("partition.field"),
                offset_field: None,
                replace_null_with_default: bool_opt("replace.null.with.default")?,
            })
        }
        FILTER => {
            only(&options, &[])?;
            TransformSpec::Filter(FilterSpec {
                name,
                predicate,
                negate,
            })
        }
        OUTBOX => outbox(props, &prefix, &options, name, predicate, negate)?,
        _ => {
            return Err(TransformError::UnsupportedTransform {
                alias: alias.to_string(),
                class,
                supported: SUPPORTED.join(", "),
            });
        }
    })
}

impl From<UnwrapSpec> for TransformSpec {
    fn from(spec: UnwrapSpec) -> Self {
        TransformSpec::Unwrap(spec)
    }
}

fn parse_mode(property: &str, value: &str) -> Result<DeleteTombstoneHandling, TransformError> {
    Ok(match value.trim().to_ascii_lowercase().as_str() {
        "drop" => DeleteTombstoneHandling::Drop,
        "tombstone" => DeleteTombstoneHandling::Tombstone,
        "rewrite" => DeleteTombstoneHandling::Rewrite,
        "rewrite-with-tombstone" => DeleteTombstoneHandling::RewriteWithTombstone,
        "delete-to-tombstone" => DeleteTombstoneHandling::DeleteToTombstone,
        _ => {
            return Err(TransformError::invalid(
                property,
                format!(
                    "'{value}' is not drop, tombstone, rewrite, rewrite-with-tombstone or delete-to-tombstone"
                ),
            ));
        }
    })
}

fn parse_legacy(property: &str, value: &str) -> Result<LegacyDeleteHandling, TransformError> {
    Ok(match value.trim().to_ascii_lowercase().as_str() {
        "drop" => LegacyDeleteHandling::Drop,
        "rewrite" => LegacyDeleteHandling::Rewrite,
        "none" => LegacyDeleteHandling::None,
        _ => {
            return Err(TransformError::invalid(
                property,
                format!("'{value}' is not drop, rewrite or none"),
            ));
        }
    })
}

fn outbox(
    props: &BTreeMap<String, String>,
    prefix: &str,
    options: &BTreeMap<&str, &str>,
    name: Option<String>,
    predicate: Option<PredicateSpec>,
    negate: bool,
) -> Result<TransformSpec, TransformError> {
    only(
        options,
        &[
            "table.field.event.id",
            "table.field.event.key",
            "table.field.event.type",
            "table.field.event.timestamp",
            "table.field.event.payload",
            "table.field.event.schema.version",
            "table.fields.additional.placement",
            "table.field.additional.missing",
            "route.by.field",
            "route.topic.regex",
            "route.topic.replacement",
            "route.tombstone.on.empty.payload",
            "table.expand.json.payload",
            "table.json.payload.null.behavior",
            "table.op.invalid.behavior",
            "tracing.span.context.field",
            "tracing.operation.name",
            "tracing.with.context.field.only",
        ],
    )?;
    let key = |option: &str| format!("{prefix}{option}");
    let get = |option: &str| props.get(&key(option)).map(String::as_str);
    let string = |option: &str| get(option).map(str::to_string);
    let bool_opt = |option: &str| get(option).map(|v| boolean(&key(option), v)).transpose();
    let choice = |option: &str, choices: &[&str]| -> Result<Option<String>, TransformError> {
        get(option)
            .map(|v| {
                let v = v.trim().to_ascii_lowercase();
                if choices.contains(&v.as_str()) {
                    Ok(v)
                } else {
                    Err(TransformError::invalid(
                        key(option),
                        format!("'{v}' is not one of {}", choices.join(", ")),
                    ))
                }
            })
            .transpose()
    };
    let regex = get("route.topic.regex").unwrap_or("(?<routedByValue>.*)");
    let compiled = check_regex(&key("route.topic.regex"), regex)?;
    if let Some(r) = get("route.topic.replacement") {
        check_replacement(&key("route.topic.replacement"), r, &compiled)?;
    }
    Ok(TransformSpec::Outbox(OutboxSpec {
        name,
        predicate,
        negate,
        table_field_event_id: string("table.field.event.id"),
        table_field_event_key: string("table.field.event.key"),
        table_field_event_payload: string("table.field.event.payload"),
        table_field_event_type: string("table.field.event.type"),
        table_field_event_timestamp: string("table.field.event.timestamp"),
        table_field_event_schema_version: string("table.field.event.schema.version"),
        table_fields_additional_placement: get("table.fields.additional.placement")
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
        table_field_additional_missing: match choice("table.field.additional.missing", &["error", "ignore"])?
            .as_deref()
        {
            Some("ignore") => AdditionalFieldMissing::Ignore,
            _ => AdditionalFieldMissing::Error,
        },
        route_by_field: string("route.by.field"),
        route_topic_regex: string("route.topic.regex"),
        route_topic_replacement: string("route.topic.replacement"),
        route_tombstone_on_empty_payload: bool_opt("route.tombstone.on.empty.payload")?.unwrap_or(false),
        table_expand_json_payload: bool_opt("table.expand.json.payload")?.unwrap_or(false),
        table_json_payload_null_behavior: match choice(
            "table.json.payload.null.behavior",
            &["ignore", "optional_bytes"],
        )?
        .as_deref()
        {
            Some("optional_bytes") => JsonPayloadNullBehavior::OptionalBytes,
            _ => JsonPayloadNullBehavior::Ignore,
        },
        table_op_invalid_behavior: match choice("table.op.invalid.behavior", &["warn", "error", "fatal"])?
            .as_deref()
        {
            Some("error") => InvalidOperationBehavior::Error,
            Some("fatal") => InvalidOperationBehavior::Fatal,
            _ => InvalidOperationBehavior::Warn,
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn error(pairs: &[(&str, &str)]) -> String {
        from_debezium_properties(&props(pairs)).unwrap_err().to_string()
    }

    #[test]
    fn a_full_configuration() {
        let config = from_debezium_properties(&props(&[
            (
                "connector.class",
                "io.debezium.connector.postgresql.PostgresConnector",
            ),
            ("database.hostname", "db"),
            ("column.exclude.list", r"public\.t\.a, public\.t\.b\,c"),
            ("column.mask.hash.v2.SHA-256.with.salt.s.a.l.t", r"public\.t\.x"),
            ("column.mask.hash.MD5.with.salt.pepper", r"public\.t\.y"),
            ("column.truncate.to.20.chars", r"public\.t\.z"),
            ("message.key.columns", "public.t:a, b;other:c"),
            ("message.prefix.include.list", "keep.*"),
            ("errors.tolerance", "all"),
            ("transforms", "unwrap, route"),
            ("transforms.unwrap.type", UNWRAP),
            ("transforms.unwrap.add.fields", "op, source.ts_ms"),
            ("transforms.route.type", REGEX_ROUTER),
            ("transforms.route.regex", "(.*)"),
            ("transforms.route.replacement", "x.$1"),
            ("transforms.route.predicate", "tomb"),
            ("transforms.route.negate", "TRUE"),
            ("predicates", "tomb"),
            ("predicates.tomb.type", RECORD_IS_TOMBSTONE),
        ]))
        .unwrap();
        assert_eq!(config.errors, ErrorTolerance::All);
        assert!(config.warnings.is_empty(), "{:?}", config.warnings);
        let types: Vec<&str> = config.transforms.iter().map(TransformSpec::type_name).collect();
        assert_eq!(
            types,
            [
                "columns",
                "hash",
                "hash",
                "truncate",
                "key_columns",
                "message_filter",
                "unwrap",
                "route"
            ]
        );
        let TransformSpec::Columns(columns) = &config.transforms[0] else {
            panic!()
        };
        assert_eq!(
            columns.exclude.as_deref(),
            Some(&[r"public\.t\.a".to_string(), r"public\.t\.b,c".to_string()][..])
        );
        assert!(config.transforms.iter().any(|t| matches!(t,
            TransformSpec::Hash(h) if h.version == 2 && h.algorithm == "SHA-256" && h.salt == "s.a.l.t")));
        let TransformSpec::KeyColumns(keys) = &config.transforms[4] else {
            panic!()
        };
        assert_eq!(keys.tables[0].columns, ["a", "b"]);
        let TransformSpec::Route(route) = &config.transforms[7] else {
            panic!()
        };
        assert_eq!((route.name.as_deref(), route.negate), (Some("route"), true));
        assert_eq!(route.predicate, Some(PredicateSpec::RecordIsTombstone));
    }

    #[test]
    fn unsupported_classes_and_options_are_named() {
        let err = error(&[
            ("transforms", "f"),
            (
                "transforms.f.type",
                "org.apache.kafka.connect.transforms.Flatten$Value",
            ),
        ]);
        assert!(
            err.contains("transforms.f.type") && err.contains("Flatten$Value"),
            "{err}"
        );
        let err = error(&[
            ("transforms", "u"),
            ("transforms.u.type", UNWRAP),
            ("transforms.u.add.headers", "op"),
        ]);
        assert!(err.contains("transforms.u.add.headers"), "{err}");
        let err = error(&[
            ("transforms", "u"),
            ("transforms.u.type", UNWRAP),
            ("transforms.u.drop.fields.header.name", "h"),
        ]);
        assert!(err.contains("drop.fields.header.name"), "{err}");
        let err = error(&[
            ("transforms", "u"),
            ("transforms.u.type", UNWRAP),
            ("transforms.u.add.feilds", "op"),
        ]);
        assert!(err.contains("transforms.u.add.feilds"), "{err}");
        let err = error(&[
            ("transforms", "i"),
            ("transforms.i.type", INSERT_VALUE),
            ("transforms.i.offset.field", "o"),
        ]);
        assert!(err.contains("transforms.i.offset.field"), "{err}");
        let err = error(&[
            ("predicates", "h"),
            ("predicates.h.type", HAS_HEADER_KEY),
            ("predicates.h.name", "x"),
        ]);
        assert!(
            err.contains("predicates.h.type") && err.contains("HasHeaderKey"),
            "{err}"
        );
        let err = error(&[("column.mask.hash.SHA3-256.with.salt.x", "a")]);
        assert!(err.contains("SHA3-256"), "{err}");
        let err = error(&[("column.frobnicate", "a")]);
        assert!(err.contains("column.frobnicate"), "{err}");
        let err = error(&[
            ("transforms", "o"),
            ("transforms.o.type", OUTBOX),
            (
                "transforms.o.table.fields.additional.placement",
                "type:header:eventType",
            ),
        ]);
        assert!(err.contains("header"), "{err}");
    }

    #[test]
    fn invalid_values_are_named() {
        let err = error(&[
            ("transforms", "r"),
            ("transforms.r.type", REGEX_ROUTER),
            ("transforms.r.regex", "a(?=b)"),
            ("transforms.r.replacement", "x"),
        ]);
        assert!(err.starts_with("transforms.r.regex"), "{err}");
        let err = error(&[
            ("transforms", "r"),
            ("transforms.r.type", REGEX_ROUTER),
            ("transforms.r.regex", "(a)"),
            ("transforms.r.replacement", "$2"),
        ]);
        assert!(err.starts_with("transforms.r.replacement"), "{err}");
        let err = error(&[
            ("transforms", "r"),
            ("transforms.r.type", REGEX_ROUTER),
            ("transforms.r.regex", "a"),
        ]);
        assert!(err.contains("transforms.r.replacement is required"), "{err}");
        let err = error(&[
            ("transforms", "f"),
            ("transforms.f.type", FILTER),
            ("transforms.f.negate", "true"),
        ]);
        assert!(err.starts_with("transforms.f.negate"), "{err}");
        let err = error(&[
            ("transforms", "f"),
            ("transforms.f.type", FILTER),
            ("transforms.f.predicate", "nope"),
        ]);
        assert!(err.contains("'nope' is not defined"), "{err}");
        let err = error(&[("transforms", "a,a"), ("transforms.a.type", FILTER)]);
        assert!(err.contains("duplicate"), "{err}");
        let err = error(&[
            ("transforms", "u"),
            ("transforms.u.type", UNWRAP),
            ("transforms.u.delete.tombstone.handling.mode", "keep"),
        ]);
        assert!(
            err.starts_with("transforms.u.delete.tombstone.handling.mode"),
            "{err}"
        );
        let err = error(&[("column.include.list", "a"), ("column.exclude.list", "b")]);
        assert!(err.contains("already specified"), "{err}");
        let err = error(&[("message.key.columns", "no-colon")]);
        assert!(err.starts_with("message.key.columns"), "{err}");
        let err = error(&[
            ("transforms", "t"),
            ("transforms.t.type", LOGICAL_ROUTER),
            ("transforms.t.topic.regex", "a"),
            ("transforms.t.topic.replacement", "b"),
            ("transforms.t.key.field.regex", "(a)"),
        ]);
        assert!(err.contains("key_field_replacement"), "{err}");
        let err = error(&[("errors.tolerance", "some")]);
        assert!(err.starts_with("errors.tolerance"), "{err}");
    }

    #[test]
    fn removed_options_are_ignored_with_a_warning() {
        let config = from_debezium_properties(&props(&[
            ("transforms", "u,r"),
            ("transforms.u.type", UNWRAP),
            ("transforms.u.drop.tombstones", "false"),
            ("transforms.u.delete.handling.mode", "rewrite"),
            ("transforms.r.type", REPLACE_VALUE),
            ("transforms.r.whitelist", "id, name"),
            ("transforms.stray.type", FILTER),
            ("column.blacklist", "x"),
        ]))
        .unwrap();
        assert_eq!(config.warnings.len(), 5, "{:?}", config.warnings);
        assert!(
            config
                .warnings
                .iter()
                .any(|w| w.starts_with("transforms.u.drop.tombstones is ignored"))
        );
        assert!(
            config
                .warnings
                .iter()
                .any(|w| w.starts_with("transforms.r.whitelist is ignored"))
        );
        assert!(
            config
                .warnings
                .iter()
                .any(|w| w.starts_with("transforms.stray.type is ignored"))
        );
        let TransformSpec::Unwrap(u) = &config.transforms[0] else {
            panic!()
        };
        assert_eq!((u.drop_tombstones, u.delete_handling_mode), (None, None));
        let TransformSpec::ReplaceField(r) = &config.transforms[1] else {
            panic!()
        };
        assert!(r.include.is_empty());
    }

    #[test]
    fn kafka_lists() {
        assert_eq!(kafka_list(" a , b,c "), ["a", "b", "c"]);
        assert!(kafka_list("  ").is_empty());
        assert_eq!(kafka_list("a,,b"), ["a", "", "b"]);
    }
}
