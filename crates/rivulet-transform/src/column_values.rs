//! The record half of the column rules: what Debezium's column mappers and column filter do to
//! the `before`/`after` of an encoded row event.
//!
//! ```text
//!  encoded value {"before":{…},"after":{…},…}
//!     └─ per column of the event's table (plan cached per Arc<TableSchema>):
//!          excluded by column.include/exclude.list  → removed (key columns reach here; others
//!                                                     were already projected away)
//!          column.truncate.to.N.chars                → string cut to N UTF-16 units, bytea to N bytes
//!          column.mask.with.N.chars                  → N '*' (null too)
//!          column.mask.hash[.v2].ALG.with.salt.S     → hex digest, cut to the column's length
//! ```
//!
//! Debezium runs these after converting a value to its Kafka Connect form and only on the value
//! (never the key). Which columns a rule affects follows Debezium exactly (checked against
//! Debezium 3.6.3, `tests/oracle/column_rules.sql`):
//! * masking and hashing apply to columns whose JDBC type is CHAR/VARCHAR: `text`, `varchar`,
//!   `char(n)`, `"char"`, `name`, enums and domains over them (not `citext`, `uuid`, `json`…;
//!   Rivulet cannot tell `citext` from a domain over `text` and masks it);
//! * truncation applies to every value that is a Java `String` once converted (text types, but
//!   also `timestamptz`, `uuid`, `json`, decimals in string mode…) and to `bytea` bytes, when the
//!   column's declared length is unknown or longer than N (Debezium's `column.length()`, from
//!   the PostgreSQL JDBC driver's precision rules); bit strings and arrays are left alone;
//! * only the first rule whose columns match applies, in the order truncate, mask, hash, hash v2.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rivulet_core::{Column, PgType, TableSchema};
use rivulet_format::{
    BinaryHandling, DebeziumSettings, DecimalHandling, IntervalHandling, TimePrecisionMode,
};

use crate::cache::SchemaCache;
use crate::columns::{ColumnRules, ValueAction, full_name};
use crate::json::{Json, JsonError, Member, get_mut, string_text, write_string_body, write_unicode_escape};

/// The settings that decide what a column's encoded value is (a Java `String`, bytes, or else).
#[derive(Clone, Debug)]
pub(crate) struct EncodingFacts {
    decimal: DecimalHandling,
    binary: BinaryHandling,
    time: TimePrecisionMode,
    interval: IntervalHandling,
}

impl EncodingFacts {
    pub fn new(settings: &DebeziumSettings) -> Self {
        EncodingFacts {
            decimal: settings.decimal_handling,
            binary: settings.binary_handling,
            time: settings.time_precision_mode,
            interval: settings.interval_handling,
        }
    }
}

/// Applies the column rules to encoded row events.
pub(crate) struct ColumnStage {
    rules: Arc<ColumnRules>,
    facts: EncodingFacts,
    plans: SchemaCache<Option<Arc<Plan>>>,
}

/// What happens to each affected column of one table version (by field name).
#[derive(Debug, Default)]
pub(crate) struct Plan {
    actions: Vec<(String, Action)>,
}

#[derive(Debug, Clone)]
enum Action {
    Remove,
    TruncateChars(usize),
    TruncateBytes(usize),
    /// The mask as JSON text.
    Mask(String),
    /// Index of the hashing rule, and the length to cut the digest to.
    Hash(usize, Option<usize>),
}

impl ColumnStage {
    pub fn new(rules: Arc<ColumnRules>, facts: EncodingFacts) -> Self {
        ColumnStage {
            rules,
            facts,
            plans: SchemaCache::default(),
        }
    }

    pub fn is_empty(&self) -> bool {
        !self.rules.touches_records()
    }

    /// Whether records of `table` need [`Self::apply`].
    pub fn plan_for(&mut self, table: &Arc<TableSchema>) -> Option<Arc<Plan>> {
        let (rules, facts) = (&self.rules, &self.facts);
        self.plans
            .get_or_insert_with(table, |schema| plan(rules, facts, schema).map(Arc::new))
            .clone()
    }

    /// Applies `plan` to a row event's value (a Debezium envelope); other values pass.
    pub fn apply(&self, plan: &Plan, value: &mut Json) -> Result<(), JsonError> {
        let Some(envelope) = value.object()? else {
            return Ok(());
        };
        for image in ["before", "after"] {
            let Some(row) = get_mut(envelope, image) else {
                continue;
            };
            if let Some(fields) = row.object()? {
                self.apply_row(plan, fields);
            }
        }
        Ok(())
    }

    fn apply_row(&self, plan: &Plan, fields: &mut Vec<Member>) {
        fields.retain(|f| !matches!(plan.action(&f.name), Some(Action::Remove)));
        for field in fields.iter_mut() {
            let Some(action) = plan.action(&field.name) else {
                continue;
            };
            let replaced = match action {
                Action::Remove => None,
                Action::TruncateChars(n) => truncate_chars(&field.value, *n),
                Action::TruncateBytes(n) => truncate_bytes(&field.value, *n),
                Action::Mask(mask) => Some(Json::Text(mask.clone())),
                Action::Hash(rule, cut) => self.hash(*rule, *cut, &field.value),
            };
            if let Some(value) = replaced {
                field.value = value;
            }
        }
    }

    fn hash(&self, rule: usize, cut: Option<usize>, value: &Json) -> Option<Json> {
        let ValueAction::Hash(hasher) = &self.rules.values.get(rule)?.action else {
            return None;
        };
        // A null stays null (Debezium hashes only non-null values).
        let text = value.as_string().ok()??;
        let mut hex = hasher.hex(&text);
        if let Some(cut) = cut {
            hex.truncate(cut);
        }
        Some(Json::Str(hex))
    }
}

impl Plan {
    fn action(&self, name: &str) -> Option<&Action> {
        self.actions.iter().find(|(n, _)| n == name).map(|(_, a)| a)
    }
}

fn plan(rules: &ColumnRules, facts: &EncodingFacts, table: &TableSchema) -> Option<Plan> {
    let mut plan = Plan::default();
    for column in &table.columns {
        let name = full_name(table, &column.name);
        if !rules.filter.keeps(&name) {
            plan.actions.push((column.name.clone(), Action::Remove));
            continue;
        }
        // Debezium uses the first rule whose columns match, even if it then does nothing to the
        // column's type.
        let Some((index, rule)) = rules
            .values
            .iter()
            .enumerate()
            .find(|(_, rule)| rule.columns.iter().any(|r| r.matches(&name)))
        else {
            continue;
        };
        let action = match &rule.action {
            ValueAction::Truncate(n) => {
                let possible = debezium_length(column).is_none_or(|len| len > *n);
                match (possible, kind(column, facts)) {
                    (true, Kind::Chars) => Some(Action::TruncateChars(*n)),
                    (true, Kind::Bytes) => Some(Action::TruncateBytes(*n)),
                    _ => None,
                }
            }
            ValueAction::Mask(mask) => maskable(column).then(|| Action::Mask(string_text(mask))),
            ValueAction::Hash(_) => maskable(column).then(|| Action::Hash(index, debezium_length(column))),
        };
        if let Some(action) = action {
            plan.actions.push((column.name.clone(), action));
        }
    }
    (!plan.actions.is_empty()).then_some(plan)
}

/// What a column's converted value is in Java, as far as the mappers care.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Kind {
    /// A `String`.
    Chars,
    /// A `ByteBuffer`.
    Bytes,
    /// Anything else (numbers, booleans, lists, structs, `byte[]` of bit strings, BigDecimal).
    Other,
}

fn kind(column: &Column, facts: &EncodingFacts) -> Kind {
    match &column.pg_type {
        PgType::Bytea => match facts.binary {
            BinaryHandling::Bytes => Kind::Bytes,
            _ => Kind::Chars,
        },
        PgType::Numeric { .. } | PgType::Money => match facts.decimal {
            DecimalHandling::String => Kind::Chars,
            _ => Kind::Other,
        },
        PgType::Date | PgType::Time { .. } | PgType::Timestamp { .. } => match facts.time {
            TimePrecisionMode::IsoString => Kind::Chars,
            _ => Kind::Other,
        },
        PgType::Interval => match facts.interval {
            IntervalHandling::String => Kind::Chars,
            IntervalHandling::Numeric => Kind::Other,
        },
        // Numbers, booleans, lists, bit strings (`byte[]`, which the truncation leaves alone) and
        // `point` (a struct).
        PgType::Bool
        | PgType::Int2
        | PgType::Int4
        | PgType::Int8
        | PgType::Oid
        | PgType::Float4
        | PgType::Float8
        | PgType::Bit { .. }
        | PgType::VarBit { .. }
        | PgType::Array(_) => Kind::Other,
        PgType::Other { name } if name == "point" => Kind::Other,
        // Text types, `timestamptz`/`timetz` (ISO strings), uuid, json, xml, network addresses,
        // enums, and the types carried as their text form. A value that turns out not to be a
        // JSON string is left alone anyway.
        _ => Kind::Chars,
    }
}

/// Columns whose JDBC type is CHAR or VARCHAR (what `MaskStrings` masks); `name` (OID 19) is
/// one of them whatever variant the schema gives it.
fn maskable(column: &Column) -> bool {
    column.type_oid == 19
        || matches!(
            column.pg_type,
            PgType::Text | PgType::Char { .. } | PgType::Varchar { .. } | PgType::Enum { .. }
        )
}

/// Debezium's `column.length()` for a streamed PostgreSQL column: the JDBC driver's precision
/// (display size for temporal types); `None` where it is unknown (`Integer.MAX_VALUE`).
fn debezium_length(column: &Column) -> Option<usize> {
    // Fraction digits as the driver counts them: 7 (".123456") when undeclared.
    let fraction = |p: Option<u8>| match p {
        None => 7,
        Some(0) => 0,
        Some(1) => 3,
        Some(p) => usize::from(p) + 1,
    };
    let len = |n: u32| usize::try_from(n).ok();
    match &column.pg_type {
        PgType::Char { length: Some(n) } | PgType::Varchar { length: Some(n) } => len(*n),
        PgType::Bit { length: Some(n) } | PgType::VarBit { length: Some(n) } => len(*n),
        // `"char"` (OID 18): one character.
        PgType::Text if column.type_oid == 18 => Some(1),
        PgType::Numeric {
            precision: Some(p), ..
        } => Some(usize::from(*p)),
        PgType::Numeric { precision: None, .. } => Some(131_089),
        PgType::Bool => Some(1),
        PgType::Int2 => Some(5),
        PgType::Int4 | PgType::Oid => Some(10),
        PgType::Int8 => Some(19),
        PgType::Float4 => Some(8),
        PgType::Float8 => Some(17),
        PgType::Date => Some(13),
        PgType::Time { precision } => Some(8 + fraction(*precision)),
        PgType::TimeTz { precision } => Some(14 + fraction(*precision)),
        PgType::Timestamp { precision } => Some(22 + fraction(*precision)),
        PgType::TimestampTz { precision } => Some(28 + fraction(*precision)),
        PgType::Interval => Some(49),
        _ => None,
    }
}

/// Java's `s.substring(0, n)` when `s.length() > n`, as JSON text. A cut through a surrogate
/// pair leaves the high surrogate, which Jackson writes as `\uD83D`.
fn truncate_chars(value: &Json, n: usize) -> Option<Json> {
    let text = value.as_string().ok()??;
    if text.encode_utf16().count() <= n {
        return None;
    }
    let mut out = vec![b'"'];
    let mut units = 0;
    let mut kept = String::new();
    let mut lone_surrogate = None;
    for c in text.chars() {
        let width = c.len_utf16();
        if units + width > n {
            if units < n {
                let mut pair = [0u16; 2];
                lone_surrogate = c.encode_utf16(&mut pair).first().copied();
            }
            break;
        }
        units += width;
        kept.push(c);
    }
    write_string_body(&mut out, &kept);
    if let Some(high) = lone_surrogate {
        write_unicode_escape(&mut out, u32::from(high));
    }
    out.push(b'"');
    String::from_utf8(out).ok().map(Json::Text)
}

/// A `ByteBuffer` cut to `n` bytes: base64 in, base64 out.
fn truncate_bytes(value: &Json, n: usize) -> Option<Json> {
    let text = value.as_string().ok()??;
    let bytes = STANDARD.decode(text.as_bytes()).ok()?;
    (bytes.len() > n).then(|| Json::Str(STANDARD.encode(&bytes[..n])))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ColumnsSpec, HashSpec, MaskSpec, TransformSpec, TruncateSpec};
    use rivulet_core::{ReplicaIdentity, TableId};

    fn col(name: &str, pg_type: PgType) -> Column {
        Column {
            name: name.into(),
            type_oid: 0,
            type_modifier: -1,
            pg_type,
            nullable: true,
            default: None,
            missing: None,
        }
    }

    fn stage(specs: &[TransformSpec]) -> ColumnStage {
        let named: Vec<(String, &TransformSpec)> =
            specs.iter().map(|s| (s.type_name().to_string(), s)).collect();
        ColumnStage::new(
            Arc::new(ColumnRules::compile(&named).unwrap()),
            EncodingFacts::new(&DebeziumSettings {
                decimal_handling: DecimalHandling::String,
                ..DebeziumSettings::default()
            }),
        )
    }

    fn table(columns: Vec<Column>) -> Arc<TableSchema> {
        Arc::new(TableSchema {
            id: TableId::new("public", "t"),
            relation_oid: 1,
            columns,
            primary_key: vec![0],
            replica_identity: ReplicaIdentity::Default,
        })
    }

    fn run(stage: &mut ColumnStage, table: &Arc<TableSchema>, value: &str) -> String {
        let plan = stage.plan_for(table).expect("a plan");
        let mut json = Json::Raw(value.into());
        stage.apply(&plan, &mut json).unwrap();
        json.to_text()
    }

    #[test]
    fn truncation_follows_types_and_declared_lengths() {
        let mut s = stage(&[TransformSpec::Truncate(TruncateSpec {
            columns: vec![r"public\.t\..*".into()],
            chars: 2,
        })]);
        let t = table(vec![
            col("id", PgType::Int4),
            col("t", PgType::Text),
            col("c1", PgType::Char { length: Some(1) }),
            col("tz", PgType::TimestampTz { precision: None }),
            col("b", PgType::Bytea),
            col("vb", PgType::VarBit { length: None }),
            col(
                "n",
                PgType::Numeric {
                    precision: Some(2),
                    scale: Some(0),
                },
            ),
        ]);
        let out = run(
            &mut s,
            &t,
            r#"{"before":null,"after":{"id":1,"t":"a😀b","c1":"x","tz":"2024-01-01T00:00:00Z","b":"AQIDBA==","vb":"qqqqqqo=","n":"12"},"op":"c"}"#,
        );
        assert_eq!(
            out,
            r#"{"before":null,"after":{"id":1,"t":"a\uD83D","c1":"x","tz":"20","b":"AQI=","vb":"qqqqqqo=","n":"12"},"op":"c"}"#
        );
    }

    #[test]
    fn no_truncation_when_the_declared_length_fits() {
        // numeric(10,2) has length 10 for Debezium: a rule of 11 cannot apply, even to the
        // 12 characters of "-99999999.99"; a rule of 9 does.
        let t = table(vec![
            col("id", PgType::Int4),
            col(
                "n",
                PgType::Numeric {
                    precision: Some(10),
                    scale: Some(2),
                },
            ),
        ]);
        let value = r#"{"before":null,"after":{"id":1,"n":"-99999999.99"}}"#;
        for (chars, expected) in [(11, "-99999999.99"), (9, "-99999999")] {
            let mut s = stage(&[TransformSpec::Truncate(TruncateSpec {
                columns: vec![r"public\.t\.n".into()],
                chars,
            })]);
            match s.plan_for(&t) {
                Some(_) => assert_eq!(
                    run(&mut s, &t, value),
                    format!(r#"{{"before":null,"after":{{"id":1,"n":"{expected}"}}}}"#)
                ),
                None => assert_eq!(chars, 11),
            }
        }
    }

    #[test]
    fn masks_and_hashes_char_columns_only() {
        let mut s = stage(&[
            TransformSpec::Mask(MaskSpec {
                columns: vec![r"public\.t\.(m|u|id)".into()],
                chars: 3,
            }),
            TransformSpec::Hash(HashSpec {
                columns: vec![r"public\.t\.(h|v)".into()],
                algorithm: "SHA-256".into(),
                salt: "CzQMA0cB5K".into(),
                version: 1,
            }),
        ]);
        let t = table(vec![
            col("id", PgType::Text),
            col("m", PgType::Text),
            col("u", PgType::Uuid),
            col("h", PgType::Text),
            col("v", PgType::Varchar { length: Some(10) }),
        ]);
        let out = run(
            &mut s,
            &t,
            r#"{"before":{"id":"k","m":null,"u":"x","h":null,"v":"key-one"},"after":null}"#,
        );
        assert_eq!(
            out,
            r#"{"before":{"id":"***","m":"***","u":"x","h":null,"v":"7f28f7fc7b"},"after":null}"#
        );
    }

    #[test]
    fn excluded_columns_leave_the_images() {
        let mut s = stage(&[TransformSpec::Columns(ColumnsSpec {
            include: None,
            exclude: Some(vec![r"public\.t\.id".into()]),
        })]);
        let t = table(vec![col("id", PgType::Int4), col("v", PgType::Text)]);
        assert_eq!(
            run(
                &mut s,
                &t,
                r#"{"before":{"id":1,"v":"a"},"after":{"id":1,"v":"b"}}"#
            ),
            r#"{"before":{"v":"a"},"after":{"v":"b"}}"#
        );
        let untouched = table(vec![col("x", PgType::Int4)]);
        assert!(s.plan_for(&untouched).is_none());
    }
}
