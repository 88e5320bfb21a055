//! Target tables: created from the source schema when missing, checked and evolved when the
//! source schema changes.
//!
//! ```text
//!  source TableSchema ──▶ desired columns (type names as format_type prints them)
//!  target catalog     ──▶ existing columns ──┐
//!                                            ├─▶ CREATE TABLE / ADD COLUMN / widen type /
//!                                            │   DROP NOT NULL on columns the source dropped
//!                                            └─▶ or an error naming table, column and both types
//! ```
//!
//! Everything runs inside the batch's transaction, so a column is added exactly when the first
//! rows that use it are applied, and a batch that fails leaves no half-done DDL behind.

use rivulet_core::{PgType, TableSchema};
use tokio_postgres::Client;

use crate::error::{SinkResult, query_error};
use crate::{Mode, quote_ident};

/// The bookkeeping columns of `history` mode, with their types.
pub const HISTORY_COLUMNS: [(&str, &str); 4] = [
    ("_cdc_op", "text"),
    ("_cdc_lsn", "pg_lsn"),
    ("_cdc_commit_ts", "timestamp with time zone"),
    ("_cdc_txid", "bigint"),
];

/// A target table as the sink writes it.
#[derive(Clone, Debug)]
pub struct TargetTable {
    /// `"schema"."table"`, quoted.
    pub qualified: String,
    /// For messages: schema.table unquoted.
    pub display: String,
    /// The source's columns in source order, with the target column's type (the staging
    /// tables use the same types, so inserting from them needs no casts).
    pub columns: Vec<(String, String)>,
    /// Indexes into `columns` of the key the sink matches rows by (mirror mode with a key).
    pub key: Vec<usize>,
}

/// The type name `format_type` would print for a column of this type, used when creating
/// columns. Types whose definition may not exist at the target (enums, extension types) become
/// `text`, which accepts their text form.
pub fn type_name(t: &PgType) -> String {
    fn precision(base: &str, p: Option<u8>, zone: &str) -> String {
        match p {
            Some(p) => format!("{base}({p}) {zone}"),
            None => format!("{base} {zone}"),
        }
    }
    match t {
        PgType::Bool => "boolean".into(),
        PgType::Int2 => "smallint".into(),
        PgType::Int4 => "integer".into(),
        PgType::Int8 => "bigint".into(),
        PgType::Oid => "oid".into(),
        PgType::Float4 => "real".into(),
        PgType::Float8 => "double precision".into(),
        PgType::Numeric {
            precision: Some(p),
            scale,
        } => format!("numeric({p},{})", scale.unwrap_or(0)),
        PgType::Numeric { precision: None, .. } => "numeric".into(),
        PgType::Money => "money".into(),
        PgType::Text => "text".into(),
        PgType::Char { length: Some(n) } => format!("character({n})"),
        PgType::Char { length: None } => "bpchar".into(),
        PgType::Varchar { length: Some(n) } => format!("character varying({n})"),
        PgType::Varchar { length: None } => "character varying".into(),
        PgType::Bytea => "bytea".into(),
        PgType::Date => "date".into(),
        PgType::Time { precision: p } => precision("time", *p, "without time zone"),
        PgType::TimeTz { precision: p } => precision("time", *p, "with time zone"),
        PgType::Timestamp { precision: p } => precision("timestamp", *p, "without time zone"),
        PgType::TimestampTz { precision: p } => precision("timestamp", *p, "with time zone"),
        PgType::Interval => "interval".into(),
        PgType::Uuid => "uuid".into(),
        PgType::Json => "json".into(),
        PgType::Jsonb => "jsonb".into(),
        PgType::Xml => "xml".into(),
        PgType::Inet => "inet".into(),
        PgType::Cidr => "cidr".into(),
        PgType::MacAddr => "macaddr".into(),
        PgType::MacAddr8 => "macaddr8".into(),
        PgType::Bit { length: Some(n) } => format!("bit({n})"),
        PgType::Bit { length: None } => "bit".into(),
        PgType::VarBit { length: Some(n) } => format!("bit varying({n})"),
        PgType::VarBit { length: None } => "bit varying".into(),
        PgType::Name => "name".into(),
        PgType::Point => "point".into(),
        PgType::Geometric(k) => k.name().into(),
        PgType::Range { name } | PgType::IntVector { name } => name.clone(),
        PgType::TsVector => "tsvector".into(),
        PgType::Enum { .. } | PgType::Hstore | PgType::Ltree | PgType::Other { .. } => "text".into(),
        PgType::Array(inner) => format!("{}[]", type_name(inner)),
    }
}

/// Types carried as opaque text whose target column may be of any type that reads that text
/// (the enum itself, `hstore`, or `text`).
fn is_opaque(t: &PgType) -> bool {
    match t {
        PgType::Enum { .. } | PgType::Hstore | PgType::Ltree | PgType::Other { .. } => true,
        PgType::Array(inner) => is_opaque(inner),
        _ => false,
    }
}

/// A type name split into its base and its modifiers: `numeric(10,2)` → (`numeric`, [10, 2]),
/// `timestamp(3) without time zone` → (`timestamp without time zone`, [3]).
fn split_type(name: &str) -> (String, Vec<u32>) {
    match (name.find('('), name.find(')')) {
        (Some(open), Some(close)) if open < close => {
            let mods = name[open + 1..close]
                .split(',')
                .filter_map(|m| m.trim().parse().ok())
                .collect();
            let base = format!("{}{}", &name[..open], &name[close + 1..]);
            (base, mods)
        }
        _ => (name.to_string(), Vec::new()),
    }
}

/// Whether every value of type `from` is stored exactly by a column of type `to`.
pub fn holds(from: &str, to: &str) -> bool {
    if from == to {
        return true;
    }
    if let (Some(f), Some(t)) = (from.strip_suffix("[]"), to.strip_suffix("[]")) {
        return holds(f, t);
    }
    let (fb, fm) = split_type(from);
    let (tb, tm) = split_type(to);
    let integer_rank = |b: &str| match b {
        "smallint" => Some(1),
        "integer" => Some(2),
        "bigint" => Some(3),
        _ => None,
    };
    if let (Some(f), Some(t)) = (integer_rank(&fb), integer_rank(&tb)) {
        return f <= t;
    }
    if integer_rank(&fb).is_some() && tb == "numeric" {
        return tm.is_empty();
    }
    match (fb.as_str(), tb.as_str()) {
        ("real", "double precision") => true,
        ("character varying" | "character" | "bpchar" | "text", "text") => true,
        ("character varying", "character varying") | ("bit varying", "bit varying") => {
            tm.is_empty() || (!fm.is_empty() && fm[0] <= tm[0])
        }
        ("numeric", "numeric") => match (fm.as_slice(), tm.as_slice()) {
            (_, []) => true,
            ([fp, fs], [tp, ts]) => fs <= ts && fp - fs <= tp - ts,
            ([fp], [tp, ts]) => *fp <= tp - ts,
            _ => false,
        },
        (f, t) if f == t && f.starts_with("time") => {
            // No precision means 6 digits, the most there is.
            tm.is_empty() || (!fm.is_empty() && fm[0] <= tm[0])
        }
        _ => false,
    }
}

/// A column as the target catalog has it.
struct ExistingColumn {
    name: String,
    type_name: String,
    not_null: bool,
}

async fn existing_columns(client: &Client, qualified: &str) -> SinkResult<Option<Vec<ExistingColumn>>> {
    let exists = client
        .query_one("SELECT to_regclass($1)::oid", &[&qualified])
        .await
        .map_err(|e| query_error(&format!("cannot look up target table {qualified}"), e))?;
    let oid: Option<u32> = exists.get(0);
    let Some(oid) = oid else { return Ok(None) };
    let rows = client
        .query(
            "SELECT attname::text, format_type(atttypid, atttypmod), attnotnull FROM pg_attribute \
             WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            &[&oid],
        )
        .await
        .map_err(|e| query_error(&format!("cannot read the columns of target table {qualified}"), e))?;
    Ok(Some(
        rows.iter()
            .map(|r| ExistingColumn {
                name: r.get(0),
                type_name: r.get(1),
                not_null: r.get(2),
            })
            .collect(),
    ))
}

/// Makes the target table fit `schema` (creating or altering it) and describes it.
pub async fn prepare(
    client: &Client,
    target_schema: &str,
    target_name: &str,
    schema: &TableSchema,
    mode: Mode,
    key: &[usize],
) -> SinkResult<TargetTable> {
    let qualified = format!("{}.{}", quote_ident(target_schema), quote_ident(target_name));
    let display = format!("{target_schema}.{target_name}");
    let desired: Vec<(String, String)> = schema
        .columns
        .iter()
        .map(|c| (c.name.clone(), type_name(&c.pg_type)))
        .collect();
    let Some(existing) = existing_columns(client, &qualified).await? else {
        create(
            client,
            target_schema,
            &qualified,
            &display,
            schema,
            mode,
            key,
            &desired,
        )
        .await?;
        return Ok(TargetTable {
            qualified,
            display,
            columns: desired,
            key: key.to_vec(),
        });
    };
    let mut columns = Vec::with_capacity(desired.len());
    let mut ddl = Vec::new();
    for (i, (name, want)) in desired.iter().enumerate() {
        let source = &schema.columns[i];
        let Some(have) = existing.iter().find(|c| &c.name == name) else {
            ddl.extend(add_column(&qualified, name, want, source, mode));
            columns.push((name.clone(), want.clone()));
            continue;
        };
        let target_type = if is_opaque(&source.pg_type) || holds(want, &have.type_name) {
            have.type_name.clone()
        } else if holds(&have.type_name, want) {
            ddl.push(format!(
                "ALTER TABLE {qualified} ALTER COLUMN {} TYPE {want}",
                quote_ident(name)
            ));
            want.clone()
        } else {
            return Err(crate::error::definite(format!(
                "column {name} of {} changed type incompatibly: the source has {want}, the target table {display} \
                 has {}, and neither holds every value of the other. Change the target column by hand (or drop \
                 the target table to have it created again), then restart",
                schema.id, have.type_name
            )));
        };
        let in_key = key.contains(&i) && mode == Mode::Mirror;
        if have.not_null && source.nullable && !in_key {
            ddl.push(format!(
                "ALTER TABLE {qualified} ALTER COLUMN {} DROP NOT NULL",
                quote_ident(name)
            ));
        }
        columns.push((name.clone(), target_type));
    }
    // Columns the source no longer has: kept with their data, but they will get no values.
    for old in &existing {
        let ours = desired.iter().any(|(n, _)| n == &old.name)
            || (mode == Mode::History && HISTORY_COLUMNS.iter().any(|(n, _)| *n == old.name));
        if !ours && old.not_null {
            ddl.push(format!(
                "ALTER TABLE {qualified} ALTER COLUMN {} DROP NOT NULL",
                quote_ident(&old.name)
            ));
        }
    }
    if mode == Mode::History {
        for (name, ty) in HISTORY_COLUMNS {
            if !existing.iter().any(|c| c.name == name) {
                ddl.push(format!("ALTER TABLE {qualified} ADD COLUMN {name} {ty}"));
            }
        }
    }
    for sql in ddl {
        let shown = &display;
        tracing::info!(table = %shown, %sql, "evolving the target table");
        client
            .batch_execute(&sql)
            .await
            .map_err(|e| query_error(&format!("cannot change target table {display}"), e))?;
    }
    if mode == Mode::Mirror && !key.is_empty() {
        let key_names: Vec<String> = key.iter().map(|&k| columns[k].0.clone()).collect();
        check_unique_key(client, &qualified, &display, &key_names).await?;
    }
    Ok(TargetTable {
        qualified,
        display,
        columns,
        key: key.to_vec(),
    })
}

#[allow(clippy::too_many_arguments)]
async fn create(
    client: &Client,
    target_schema: &str,
    qualified: &str,
    display: &str,
    schema: &TableSchema,
    mode: Mode,
    key: &[usize],
    desired: &[(String, String)],
) -> SinkResult<()> {
    let context = format!("cannot create target table {display}");
    let schema_exists = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
            &[&target_schema],
        )
        .await
        .map_err(|e| query_error(&context, e))?;
    if !schema_exists.get::<_, bool>(0) {
        client
            .batch_execute(&format!(
                "CREATE SCHEMA IF NOT EXISTS {}",
                quote_ident(target_schema)
            ))
            .await
            .map_err(|e| query_error(&context, e))?;
    }
    let mut defs: Vec<String> = desired
        .iter()
        .zip(&schema.columns)
        .map(|((name, ty), c)| {
            let not_null = mode == Mode::Mirror && !c.nullable;
            format!(
                "{} {ty}{}",
                quote_ident(name),
                if not_null { " NOT NULL" } else { "" }
            )
        })
        .collect();
    match mode {
        Mode::Mirror if !key.is_empty() => {
            let cols: Vec<String> = key.iter().map(|&k| quote_ident(&desired[k].0)).collect();
            defs.push(format!("PRIMARY KEY ({})", cols.join(", ")));
        }
        Mode::Mirror => {}
        Mode::History => {
            for (name, ty) in HISTORY_COLUMNS {
                let not_null = if name == "_cdc_txid" { "" } else { " NOT NULL" };
                defs.push(format!("{name} {ty}{not_null}"));
            }
        }
    }
    let sql = format!("CREATE TABLE {qualified} ({})", defs.join(", "));
    let shown = display;
    tracing::info!(table = %shown, source = %schema.id, "creating the target table");
    client
        .batch_execute(&sql)
        .await
        .map_err(|e| query_error(&context, e))
}

/// `INSERT … ON CONFLICT (key)` needs a unique index on exactly the key columns.
async fn check_unique_key(client: &Client, qualified: &str, display: &str, key: &[String]) -> SinkResult<()> {
    let mut sorted = key.to_vec();
    sorted.sort();
    let row = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = $1::text::regclass AND i.indisunique \
               AND i.indpred IS NULL AND i.indexprs IS NULL AND (SELECT array_agg(a.attname::text ORDER BY a.attname::text) \
               FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)) = $2::text[])",
            &[&qualified, &sorted],
        )
        .await
        .map_err(|e| query_error(&format!("cannot read the indexes of target table {display}"), e))?;
    if row.get::<_, bool>(0) {
        Ok(())
    } else {
        Err(crate::error::definite(format!(
            "target table {display} has no primary key or unique index on ({}), the source table's key: add one \
             (ALTER TABLE {qualified} ADD PRIMARY KEY ({})), or drop the table to have it created",
            key.join(", "),
            key.iter().map(|k| quote_ident(k)).collect::<Vec<_>>().join(", ")
        )))
    }
}

/// `ADD COLUMN` for a column new at the source: nullable, since the target's rows have no
/// value for it — except in a mirror, when the source's older rows hold a constant
/// (`ADD COLUMN … DEFAULT`, which writes no WAL for them): the target's rows get it too, and
/// the default is dropped again (values come from the source, not from the target).
fn add_column(
    qualified: &str,
    name: &str,
    want: &str,
    source: &rivulet_core::Column,
    mode: Mode,
) -> Vec<String> {
    let column = quote_ident(name);
    let missing = source
        .missing
        .as_ref()
        .filter(|_| mode == Mode::Mirror)
        .and_then(rivulet_pgoutput::text_param);
    match missing {
        Some(text) => vec![
            format!(
                "ALTER TABLE {qualified} ADD COLUMN {column} {want} DEFAULT E'{}'::{want}",
                text.replace('\\', "\\\\").replace('\'', "''")
            ),
            format!("ALTER TABLE {qualified} ALTER COLUMN {column} DROP DEFAULT"),
        ],
        None => vec![format!("ALTER TABLE {qualified} ADD COLUMN {column} {want}")],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widening_is_recognised_and_narrowing_is_not() {
        assert!(holds("integer", "bigint"));
        assert!(!holds("bigint", "integer"));
        assert!(holds("character varying(10)", "text"));
        assert!(holds("character varying(10)", "character varying(20)"));
        assert!(!holds("character varying(20)", "character varying(10)"));
        assert!(holds("character varying(20)", "character varying"));
        assert!(holds("numeric(10,2)", "numeric(12,2)"));
        assert!(!holds("numeric(10,2)", "numeric(10,3)"));
        assert!(holds("numeric(10,2)", "numeric"));
        assert!(holds(
            "timestamp(3) without time zone",
            "timestamp without time zone"
        ));
        assert!(!holds("timestamp without time zone", "timestamp with time zone"));
        assert!(holds("integer[]", "bigint[]"));
        assert!(!holds("text", "integer"));
        assert!(!holds("integer", "text"));
    }

    #[test]
    fn type_names_match_format_type() {
        assert_eq!(
            type_name(&PgType::Numeric {
                precision: Some(10),
                scale: Some(2)
            }),
            "numeric(10,2)"
        );
        assert_eq!(
            type_name(&PgType::TimestampTz { precision: Some(3) }),
            "timestamp(3) with time zone"
        );
        assert_eq!(
            type_name(&PgType::Array(Box::new(PgType::Varchar { length: Some(5) }))),
            "character varying(5)[]"
        );
    }
}
