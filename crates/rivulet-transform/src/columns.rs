//! Debezium's connector-level column rules, and the event transforms that apply them.
//!
//! ```text
//!  ChangeEvent ──▶ EventTransforms::apply ──▶ ChangeEvent (or dropped)
//!                   ├─ Message: message.prefix.include/exclude.list ──▶ kept or dropped
//!                   └─ Row / Truncate: per Arc<TableSchema> (cached), a derived schema:
//!                        columns = included columns + the key's columns,
//!                        primary_key = message.key.columns (or the primary key);
//!                        rows projected onto it
//! ```
//!
//! Debezium builds a record's key from the table's key columns *before* its column filter and
//! its column mappers run, so an excluded or masked key column still appears, unchanged, in the
//! key. `TableSchema` cannot express "in the key but not in the value", so the derived schema
//! keeps such columns and the record stage (`column_values`) removes them from `before`/`after`.
//! Masking, hashing and truncation also live there: Debezium applies them to the *converted*
//! value (a `timestamptz` is truncated as its ISO string, a `bytea` as its bytes), which is what
//! the encoded record holds.

use std::sync::Arc;

use rivulet_core::{Change, ChangeEvent, Row, TableSchema};

use crate::cache::SchemaCache;
use crate::config::{
    ColumnsSpec, HashSpec, KeyColumnsSpec, MaskSpec, MessageFilterSpec, TransformSpec, TruncateSpec,
};
use crate::digest::{Algorithm, Hasher};
use crate::error::TransformError;
use crate::pattern::{JavaRegex, any_matches, compile_list};

/// The compiled column rules of a configuration, shared by the event and record stages.
#[derive(Debug, Default)]
pub(crate) struct ColumnRules {
    pub filter: ColumnFilter,
    /// `message.key.columns`: one regex per `table.column` entry, in configuration order.
    pub key_columns: Vec<JavaRegex>,
    pub messages: PrefixFilter,
    /// Value rules in Debezium's precedence (the first whose columns match wins): truncate, mask,
    /// hash, hash v2; within a kind, in configuration order.
    pub values: Vec<ValueRule>,
}

#[derive(Debug, Default)]
pub(crate) enum ColumnFilter {
    #[default]
    All,
    Include(Vec<JavaRegex>),
    Exclude(Vec<JavaRegex>),
}

impl ColumnFilter {
    /// Whether `schema.table.column` stays in `before`/`after`.
    pub fn keeps(&self, full_name: &str) -> bool {
        match self {
            ColumnFilter::All => true,
            ColumnFilter::Include(list) => any_matches(list, full_name),
            ColumnFilter::Exclude(list) => !any_matches(list, full_name),
        }
    }
}

#[derive(Debug, Default)]
pub(crate) enum PrefixFilter {
    #[default]
    All,
    Include(Vec<JavaRegex>),
    Exclude(Vec<JavaRegex>),
}

impl PrefixFilter {
    pub fn keeps(&self, prefix: &str) -> bool {
        match self {
            PrefixFilter::All => true,
            PrefixFilter::Include(list) => any_matches(list, prefix),
            PrefixFilter::Exclude(list) => !any_matches(list, prefix),
        }
    }
}

/// A column mapper (Debezium's `ColumnMapper`) and the columns it applies to.
#[derive(Debug)]
pub(crate) struct ValueRule {
    pub columns: Vec<JavaRegex>,
    pub action: ValueAction,
}

#[derive(Debug)]
pub(crate) enum ValueAction {
    Truncate(usize),
    Mask(String),
    Hash(Hasher),
}

impl ColumnRules {
    /// Whether anything needs the record stage (value rules, or filtered columns that may be
    /// key columns).
    pub fn touches_records(&self) -> bool {
        !self.values.is_empty() || !matches!(self.filter, ColumnFilter::All)
    }

    /// Compiles the column-rule entries of `specs` (record transforms are skipped).
    pub fn compile(specs: &[(String, &TransformSpec)]) -> Result<ColumnRules, TransformError> {
        let mut rules = ColumnRules::default();
        let mut truncates = Vec::new();
        let mut masks = Vec::new();
        let mut hashes = Vec::new();
        let mut hashes_v2 = Vec::new();
        for (name, spec) in specs {
            match spec {
                TransformSpec::Columns(c) => rules.set_filter(name, c)?,
                TransformSpec::KeyColumns(k) => rules.add_key_columns(name, k)?,
                TransformSpec::MessageFilter(m) => rules.set_messages(name, m)?,
                TransformSpec::Truncate(TruncateSpec { columns, chars }) => truncates.push(ValueRule {
                    columns: regexes(name, "columns", columns)?,
                    action: ValueAction::Truncate(*chars),
                }),
                TransformSpec::Mask(MaskSpec { columns, chars }) => masks.push(ValueRule {
                    columns: regexes(name, "columns", columns)?,
                    action: ValueAction::Mask("*".repeat(*chars)),
                }),
                TransformSpec::Hash(h) => {
                    let rule = hash_rule(name, h)?;
                    if h.version == 2 {
                        hashes_v2.push(rule);
                    } else {
                        hashes.push(rule);
                    }
                }
                _ => {}
            }
        }
        rules.values = truncates
            .into_iter()
            .chain(masks)
            .chain(hashes)
            .chain(hashes_v2)
            .collect();
        Ok(rules)
    }

    fn set_filter(&mut self, name: &str, spec: &ColumnsSpec) -> Result<(), TransformError> {
        if !matches!(self.filter, ColumnFilter::All) {
            return Err(TransformError::invalid(
                name,
                "only one `columns` transform (column.include.list or column.exclude.list) may be given",
            ));
        }
        self.filter = match (&spec.include, &spec.exclude) {
            (Some(_), Some(_)) => {
                return Err(TransformError::invalid(
                    name,
                    "include and exclude cannot both be set (as Debezium's column.include.list and column.exclude.list)",
                ));
            }
            (Some(include), None) => ColumnFilter::Include(regexes(name, "include", include)?),
            (None, Some(exclude)) => ColumnFilter::Exclude(regexes(name, "exclude", exclude)?),
            (None, None) => ColumnFilter::All,
        };
        Ok(())
    }

    fn set_messages(&mut self, name: &str, spec: &MessageFilterSpec) -> Result<(), TransformError> {
        if !matches!(self.messages, PrefixFilter::All) {
            return Err(TransformError::invalid(
                name,
                "only one `message_filter` transform may be given",
            ));
        }
        self.messages = match (&spec.include, &spec.exclude) {
            (Some(_), Some(_)) => {
                return Err(TransformError::invalid(
                    name,
                    "include and exclude cannot both be set (as message.prefix.include.list and message.prefix.exclude.list)",
                ));
            }
            (Some(include), None) => PrefixFilter::Include(regexes(name, "include", include)?),
            (None, Some(exclude)) => PrefixFilter::Exclude(regexes(name, "exclude", exclude)?),
            (None, None) => PrefixFilter::All,
        };
        Ok(())
    }

    fn add_key_columns(&mut self, name: &str, spec: &KeyColumnsSpec) -> Result<(), TransformError> {
        for table in &spec.tables {
            if table.columns.is_empty() {
                return Err(TransformError::invalid(
                    format!("{name}.tables"),
                    format!("table '{}' lists no columns", table.table),
                ));
            }
            // As Debezium: `<table regex>.<column>`, the dot being a regex dot too.
            for column in &table.columns {
                let pattern = format!("{}.{}", table.table, column.trim());
                let regex = JavaRegex::case_insensitive(&pattern).map_err(|e| {
                    TransformError::invalid(format!("{name}.tables"), format!("'{pattern}': {e}"))
                })?;
                self.key_columns.push(regex);
            }
        }
        Ok(())
    }

    /// The key columns of `table` (indexes into its columns, in key order): the columns
    /// `message.key.columns` selects, else the primary key.
    pub fn key_of(&self, table: &TableSchema) -> Vec<usize> {
        let mut key = Vec::new();
        for regex in &self.key_columns {
            for (i, column) in table.columns.iter().enumerate() {
                if !key.contains(&i) && regex.matches(&full_name(table, &column.name)) {
                    key.push(i);
                }
            }
        }
        if key.is_empty() {
            table.primary_key.clone()
        } else {
            key
        }
    }
}

fn regexes(name: &str, field: &str, patterns: &[String]) -> Result<Vec<JavaRegex>, TransformError> {
    compile_list(patterns).map_err(|(pattern, e)| {
        TransformError::invalid(format!("{name}.{field}"), format!("'{pattern}': {e}"))
    })
}

fn hash_rule(name: &str, spec: &HashSpec) -> Result<ValueRule, TransformError> {
    let algorithm = Algorithm::parse(&spec.algorithm).ok_or_else(|| {
        TransformError::unsupported(
            format!("{name}.algorithm"),
            format!(
                "hash algorithm '{}' (supported: MD5, SHA-1, SHA-224, SHA-256, SHA-384, SHA-512, SHA-512/224, SHA-512/256)",
                spec.algorithm
            ),
        )
    })?;
    if spec.version != 1 && spec.version != 2 {
        return Err(TransformError::invalid(
            format!("{name}.version"),
            "must be 1 or 2",
        ));
    }
    Ok(ValueRule {
        columns: regexes(name, "columns", &spec.columns)?,
        action: ValueAction::Hash(Hasher {
            algorithm,
            salt: spec.salt.as_bytes().to_vec(),
            v2: spec.version == 2,
        }),
    })
}

/// `schema.table.column`, what Debezium's column rules match (its `ColumnId` for PostgreSQL).
pub(crate) fn full_name(table: &TableSchema, column: &str) -> String {
    format!("{}.{}.{}", table.id.schema, table.id.name, column)
}

/// Applies the column rules to events before they are encoded. Cheap: a table's derived schema
/// is computed once per schema version; tables the rules do not touch pass unchanged.
pub struct EventTransforms {
    rules: Arc<ColumnRules>,
    projections: SchemaCache<Option<Arc<Projection>>>,
}

/// How one table version's events change.
#[derive(Debug)]
struct Projection {
    table: Arc<TableSchema>,
    /// Indexes of the original columns kept, in order (`None`: all).
    keep: Option<Vec<usize>>,
}

impl EventTransforms {
    pub(crate) fn new(rules: Arc<ColumnRules>) -> Self {
        EventTransforms {
            rules,
            projections: SchemaCache::default(),
        }
    }

    /// True if no rule changes events (then `apply` returns every event as it is).
    pub fn is_empty(&self) -> bool {
        self.rules.key_columns.is_empty()
            && matches!(self.rules.filter, ColumnFilter::All)
            && matches!(self.rules.messages, PrefixFilter::All)
    }

    /// The event as the column rules shape it, or `None` when it is not emitted (a logical
    /// message whose prefix the message filter leaves out).
    pub fn apply(&mut self, mut event: ChangeEvent) -> Option<ChangeEvent> {
        if self.is_empty() {
            return Some(event);
        }
        // A record forwarded from a Debezium topic is written from its own bytes: projecting
        // its event would only hide from the record stage which columns to remove.
        let forwarded = event.source.original.is_some();
        match &mut event.change {
            Change::Message(message) => {
                if !self.rules.messages.keeps(&message.prefix) {
                    return None;
                }
            }
            Change::Row(row) if !forwarded => {
                if let Some(projection) = self.projection(&row.table) {
                    row.table = projection.table.clone();
                    if let Some(keep) = &projection.keep {
                        project(&mut row.before, keep);
                        project(&mut row.after, keep);
                    }
                }
            }
            Change::Truncate(truncate) if !forwarded => {
                if let Some(projection) = self.projection(&truncate.table) {
                    truncate.table = projection.table.clone();
                }
            }
            Change::Row(_)
            | Change::Truncate(_)
            | Change::Tombstone
            | Change::TransactionBegin(_)
            | Change::TransactionEnd(_)
            | Change::Heartbeat => {}
        }
        Some(event)
    }

    /// Applies [`Self::apply`] to a batch in place, keeping the order.
    pub fn apply_in_place(&mut self, events: &mut Vec<ChangeEvent>) {
        if self.is_empty() {
            return;
        }
        let taken = std::mem::take(events);
        events.extend(taken.into_iter().filter_map(|e| self.apply(e)));
    }

    fn projection(&mut self, table: &Arc<TableSchema>) -> Option<Arc<Projection>> {
        let rules = &self.rules;
        self.projections
            .get_or_insert_with(table, |schema| derive(rules, schema).map(Arc::new))
            .clone()
    }
}

/// The derived schema of `table`, or `None` when the rules leave it as it is.
fn derive(rules: &ColumnRules, table: &TableSchema) -> Option<Projection> {
    let key = rules.key_of(table);
    let keep: Vec<usize> = (0..table.columns.len())
        .filter(|&i| key.contains(&i) || rules.filter.keeps(&full_name(table, &table.columns[i].name)))
        .collect();
    let all = keep.len() == table.columns.len();
    if all && key == table.primary_key {
        return None;
    }
    let mut derived = table.clone();
    derived.columns = keep.iter().map(|&i| table.columns[i].clone()).collect();
    derived.primary_key = key
        .iter()
        .filter_map(|k| keep.iter().position(|i| i == k))
        .collect();
    Some(Projection {
        table: Arc::new(derived),
        keep: (!all).then_some(keep),
    })
}

fn project(row: &mut Option<Row>, keep: &[usize]) {
    if let Some(values) = row {
        let mut old = std::mem::take(values).into_iter().map(Some).collect::<Vec<_>>();
        *values = keep
            .iter()
            .map(|&i| {
                old.get_mut(i)
                    .and_then(Option::take)
                    .unwrap_or(rivulet_core::Value::Null)
            })
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{KeyColumnsTable, TransformSpec};
    use rivulet_core::{
        Column, LogicalMessage, Op, PgType, ReplicaIdentity, RowChange, SourceMeta, TableId, Value,
    };

    pub(crate) fn column(name: &str, pg_type: PgType) -> Column {
        Column {
            name: name.into(),
            type_oid: 25,
            type_modifier: -1,
            pg_type,
            nullable: true,
            default: None,
            missing: None,
        }
    }

    fn people() -> Arc<TableSchema> {
        Arc::new(TableSchema {
            id: TableId::new("public", "people"),
            relation_oid: 7,
            columns: vec![
                column("id", PgType::Int4),
                column("email", PgType::Text),
                column("secret", PgType::Text),
                column("name", PgType::Text),
            ],
            primary_key: vec![0],
            replica_identity: ReplicaIdentity::Default,
        })
    }

    fn insert(table: &Arc<TableSchema>, values: Vec<Value>) -> ChangeEvent {
        ChangeEvent {
            change: Change::Row(RowChange {
                table: table.clone(),
                op: Op::Create,
                before: None,
                after: Some(values),
            }),
            source: SourceMeta::default(),
        }
    }

    fn transforms(specs: &[TransformSpec]) -> EventTransforms {
        let named: Vec<(String, &TransformSpec)> =
            specs.iter().map(|s| (s.type_name().to_string(), s)).collect();
        EventTransforms::new(Arc::new(ColumnRules::compile(&named).unwrap()))
    }

    fn row(event: &ChangeEvent) -> (&TableSchema, &Row) {
        match &event.change {
            Change::Row(r) => (&r.table, r.after.as_ref().unwrap()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn excluded_columns_leave_but_key_columns_stay() {
        let mut t = transforms(&[TransformSpec::Columns(ColumnsSpec {
            include: None,
            exclude: Some(vec![r"public\.people\.(SECRET|id)".into()]),
        })]);
        let table = people();
        let values = vec![
            Value::Int32(1),
            Value::Text("a@x".into()),
            Value::Text("s".into()),
            Value::Text("Ann".into()),
        ];
        let out = t.apply(insert(&table, values.clone())).unwrap();
        let (schema, after) = row(&out);
        let names: Vec<&str> = schema.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            ["id", "email", "name"],
            "id is the key: kept for the record stage"
        );
        assert_eq!(schema.primary_key, vec![0]);
        assert_eq!(
            after,
            &vec![
                Value::Int32(1),
                Value::Text("a@x".into()),
                Value::Text("Ann".into())
            ]
        );
        // The derived schema is shared by later events of the same version.
        let again = t.apply(insert(&table, values)).unwrap();
        assert!(Arc::ptr_eq(out.table().unwrap(), again.table().unwrap()));
    }

    #[test]
    fn forwarded_events_keep_their_table_for_the_record_stage() {
        let mut t = transforms(&[TransformSpec::Columns(ColumnsSpec {
            include: None,
            exclude: Some(vec![r"public\.people\.secret".into()]),
        })]);
        let table = people();
        let mut event = insert(&table, vec![Value::Null; 4]);
        event.source.original = Some(Arc::new(rivulet_core::OriginalRecord {
            topic: "t".into(),
            partition: 0,
            offset: 0,
            key: None,
            value: None,
        }));
        let out = t.apply(event).unwrap();
        assert!(Arc::ptr_eq(out.table().unwrap(), &table));
    }

    #[test]
    fn key_columns_replace_the_primary_key_in_configuration_order() {
        let mut t = transforms(&[TransformSpec::KeyColumns(KeyColumnsSpec {
            tables: vec![KeyColumnsTable {
                table: r"public\.peo.*".into(),
                columns: vec!["name".into(), " email".into()],
            }],
        })]);
        let out = t.apply(insert(&people(), vec![Value::Null; 4])).unwrap();
        assert_eq!(out.table().unwrap().primary_key, vec![3, 1]);
        // No match: the primary key stays, and the event is untouched.
        let mut other = (*people()).clone();
        other.id = TableId::new("sales", "people");
        let other = Arc::new(other);
        let out = t.apply(insert(&other, vec![Value::Null; 4])).unwrap();
        assert!(Arc::ptr_eq(out.table().unwrap(), &other));
    }

    #[test]
    fn message_prefixes_filter_case_insensitively() {
        let mut t = transforms(&[TransformSpec::MessageFilter(MessageFilterSpec {
            include: None,
            exclude: Some(vec!["skip.*".into()]),
        })]);
        let message = |prefix: &str| ChangeEvent {
            change: Change::Message(LogicalMessage {
                transactional: true,
                prefix: prefix.into(),
                content: vec![],
            }),
            source: SourceMeta::default(),
        };
        assert!(t.apply(message("SKIP.upper")).is_none());
        assert!(t.apply(message("keep")).is_some());
        let mut batch = vec![message("a"), message("skip.me"), message("b")];
        t.apply_in_place(&mut batch);
        assert_eq!(batch.len(), 2);
    }

    #[test]
    fn both_lists_are_an_error() {
        let spec = TransformSpec::Columns(ColumnsSpec {
            include: Some(vec!["a".into()]),
            exclude: Some(vec!["b".into()]),
        });
        let err = ColumnRules::compile(&[("c".into(), &spec)]).unwrap_err();
        assert!(err.to_string().contains("cannot both"), "{err}");
    }
}
