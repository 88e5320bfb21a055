//! Verification against the source. Whatever the sink, its rows for a table are loaded into
//! `chaos_verify.<table>` (same column types as the source, `CREATE TABLE … (LIKE …)`) in the
//! source database, where PostgreSQL's own input functions normalise every value; then the two
//! are compared by count, md5 over every column in row order, and `EXCEPT ALL` both ways
//! (rows lost or wrong, rows extra), with the first differing keys spelled out.

use std::io::Write;
use std::process::Stdio;

use anyhow::{Context, Result, bail};
use base64::Engine;
use rivulet_testkit::PgCluster;
use serde_json::{Map, Value};

use crate::tables::Table;

/// A column of the source table: name and `format_type`.
#[derive(Clone, Debug)]
pub struct Column {
    pub name: String,
    pub ty: String,
}

pub fn columns(pg: &PgCluster, table: &Table) -> Result<Vec<Column>> {
    let out = pg
        .try_psql(&format!(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute \
             WHERE attrelid = '{}'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            table.qualified()
        ))
        .map_err(anyhow::Error::msg)?;
    Ok(out
        .lines()
        .filter_map(|l| l.split_once('|'))
        .map(|(n, t)| Column {
            name: n.into(),
            ty: t.into(),
        })
        .collect())
}

fn col_list(cols: &[Column]) -> String {
    cols.iter()
        .map(|c| format!("\"{}\"", c.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// An empty `chaos_verify.<table>` shaped like the source table.
pub fn prepare(pg: &PgCluster, table: &Table) -> Result<()> {
    pg.try_psql(&format!(
        "CREATE SCHEMA IF NOT EXISTS chaos_verify; DROP TABLE IF EXISTS chaos_verify.{t}; \
         CREATE TABLE chaos_verify.{t} (LIKE public.{t})",
        t = table.name
    ))
    .map_err(anyhow::Error::msg)?;
    Ok(())
}

/// Runs `sql` in database `db` of the server on `port` with `input` on stdin; returns stdout.
pub fn psql_io(port: u16, db: &str, sql: &str, input: &[u8]) -> Result<Vec<u8>> {
    let mut child = rivulet_testkit::psql_command_at(port, db)
        .args(["-c", sql])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("spawn psql")?;
    let mut stdin = child.stdin.take().context("psql stdin")?;
    let data = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output()?;
    let _ = writer.join();
    if !out.status.success() {
        bail!(
            "psql failed: {}\nSQL: {sql}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(out.stdout)
}

/// Copies the replica's rows (the columns the source has, by name; NULL for a column the
/// target lacks, which then shows up as a difference) into `chaos_verify`.
pub fn load_from_replica(src: &PgCluster, target: &PgCluster, table: &Table, cols: &[Column]) -> Result<()> {
    let present = columns(target, table).unwrap_or_default();
    if present.is_empty() {
        return Ok(());
    }
    let select: Vec<String> = cols
        .iter()
        .map(|c| {
            if present.iter().any(|p| p.name == c.name) {
                format!("\"{}\"", c.name)
            } else {
                "NULL".to_string()
            }
        })
        .collect();
    let data = psql_io(
        target.port(),
        "postgres",
        &format!(
            "COPY (SELECT {} FROM public.{}) TO STDOUT",
            select.join(", "),
            table.name
        ),
        b"",
    )?;
    copy_in(src, table, cols, &data)
}

fn copy_in(src: &PgCluster, table: &Table, cols: &[Column], data: &[u8]) -> Result<()> {
    psql_io(
        src.port(),
        "postgres",
        &format!("COPY chaos_verify.{} ({}) FROM STDIN", table.name, col_list(cols)),
        data,
    )?;
    Ok(())
}

/// Loads replayed rows (JSON values as the sink wrote them) into `chaos_verify`. `records`:
/// Debezium JSON (bytea in base64) rather than rows read back with pyarrow (bytea as hex).
pub fn load_rows(
    src: &PgCluster,
    table: &Table,
    cols: &[Column],
    rows: &[Map<String, Value>],
    records: bool,
) -> Result<()> {
    let mut data = String::new();
    for row in rows {
        let fields: Vec<String> = cols
            .iter()
            .map(|c| {
                match row
                    .get(&c.name)
                    .and_then(|v| loadable(v, &c.ty))
                    .and_then(|v| pg_text(v, &c.ty, records))
                {
                    Some(t) => copy_escape(&t),
                    None => "\\N".to_string(),
                }
            })
            .collect();
        data.push_str(&fields.join("\t"));
        data.push('\n');
    }
    copy_in(src, table, cols, data.as_bytes())
}

/// A placeholder left in a column that is not text cannot be loaded; it is already counted
/// (unresolved placeholders fail the trial), so it loads as NULL.
fn loadable<'v>(v: &'v Value, ty: &str) -> Option<&'v Value> {
    let text = ty == "text" || ty.starts_with("character");
    (text || !crate::replay::is_placeholder(v)).then_some(v)
}

/// A JSON value as PostgreSQL text input for a column of type `ty` (None: NULL).
fn pg_text(v: &Value, ty: &str, records: bool) -> Option<String> {
    Some(match v {
        Value::Null => return None,
        Value::String(s) if records && ty == "bytea" => {
            match base64::engine::general_purpose::STANDARD.decode(s) {
                Ok(bytes) => format!("\\x{}", hex(&bytes)),
                Err(_) => s.clone(),
            }
        }
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "t" } else { "f" }.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(a) => array_literal(a),
        Value::Object(_) => v.to_string(),
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A JSON array as a PostgreSQL array literal: `{1,NULL,"a \"b\""}`.
fn array_literal(items: &[Value]) -> String {
    let elems: Vec<String> = items
        .iter()
        .map(|v| match v {
            Value::Null => "NULL".to_string(),
            Value::Array(a) => array_literal(a),
            Value::String(s) => quote_elem(s),
            Value::Object(_) => quote_elem(&v.to_string()),
            other => other.to_string(),
        })
        .collect();
    format!("{{{}}}", elems.join(","))
}

fn quote_elem(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn copy_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
        .replace('\t', "\\t")
}

/// How one table compares.
#[derive(Debug, Default)]
pub struct TableReport {
    pub source_rows: u64,
    pub sink_rows: u64,
    /// Source rows the sink lacks or holds differently.
    pub missing: u64,
    /// Sink rows the source does not have.
    pub extra: u64,
    pub checksum_equal: bool,
    pub examples: Vec<String>,
}

impl TableReport {
    pub fn ok(&self) -> bool {
        self.missing == 0 && self.extra == 0 && self.checksum_equal && self.source_rows == self.sink_rows
    }
}

pub fn compare(pg: &PgCluster, table: &Table, cols: &[Column]) -> Result<TableReport> {
    let list = col_list(cols);
    let (s, v) = (
        format!("public.{}", table.name),
        format!("chaos_verify.{}", table.name),
    );
    let sum = |t: &str| {
        format!(
            "(SELECT coalesce(md5(string_agg(x::text, '' ORDER BY x::text)), '-') FROM (SELECT {list} FROM {t}) x)"
        )
    };
    let except = |a: &str, b: &str| {
        format!("(SELECT count(*) FROM (SELECT {list} FROM {a} EXCEPT ALL SELECT {list} FROM {b}) x)")
    };
    let sql = format!(
        "SELECT (SELECT count(*) FROM {s}), (SELECT count(*) FROM {v}), {}, {}, {} = {}",
        except(&s, &v),
        except(&v, &s),
        sum(&s),
        sum(&v)
    );
    let out = pg.try_psql(&sql).map_err(anyhow::Error::msg)?;
    let f: Vec<&str> = out.split('|').collect();
    let num = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
    let mut report = TableReport {
        source_rows: num(0),
        sink_rows: num(1),
        missing: num(2),
        extra: num(3),
        checksum_equal: f.get(4) == Some(&"t"),
        examples: Vec::new(),
    };
    if !report.ok() && !table.key.is_empty() {
        report.examples = examples(pg, table, cols)?;
    }
    Ok(report)
}

/// Up to three differing source rows by key: absent from the sink, or which columns differ.
fn examples(pg: &PgCluster, table: &Table, cols: &[Column]) -> Result<Vec<String>> {
    let list = col_list(cols);
    let t = table.name;
    let join = table
        .key
        .iter()
        .map(|k| format!("s.\"{k}\" = v.\"{k}\""))
        .collect::<Vec<_>>()
        .join(" AND ");
    let diffs = cols
        .iter()
        .map(|c| {
            format!(
                "CASE WHEN s.\"{n}\" IS DISTINCT FROM v.\"{n}\" THEN '{n}: ' || coalesce(left(s.\"{n}\"::text, 40), 'NULL') \
                 || ' vs ' || coalesce(left(v.\"{n}\"::text, 40), 'NULL') END",
                n = c.name
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "WITH bad AS (SELECT {list} FROM public.{t} EXCEPT ALL SELECT {list} FROM chaos_verify.{t}), \
              gone AS (SELECT {list} FROM chaos_verify.{t} EXCEPT ALL SELECT {list} FROM public.{t}) \
         (SELECT 'key (' || concat_ws(', ', {skey}) || '): ' || CASE WHEN v.\"{k0}\" IS NULL THEN 'not in the sink' \
                 ELSE concat_ws('; ', {diffs}) END \
          FROM bad s LEFT JOIN chaos_verify.{t} v ON {join} ORDER BY {skey} LIMIT 3) \
         UNION ALL \
         (SELECT 'key (' || concat_ws(', ', {vkey}) || '): in the sink only' FROM gone v \
          WHERE NOT EXISTS (SELECT 1 FROM public.{t} s WHERE {join}) LIMIT 3)",
        skey = table
            .key
            .iter()
            .map(|k| format!("s.\"{k}\""))
            .collect::<Vec<_>>()
            .join(", "),
        vkey = table
            .key
            .iter()
            .map(|k| format!("v.\"{k}\""))
            .collect::<Vec<_>>()
            .join(", "),
        k0 = table.key[0],
    );
    let out = pg.try_psql(&sql).map_err(anyhow::Error::msg)?;
    Ok(out.lines().map(str::to_string).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_values_become_postgres_text() {
        assert_eq!(
            pg_text(&json!([1, null, -1]), "integer[]", true).unwrap(),
            "{1,NULL,-1}"
        );
        assert_eq!(
            pg_text(&json!(["a,b", "q\"u", null]), "text[]", true).unwrap(),
            r#"{"a,b","q\"u",NULL}"#
        );
        assert_eq!(pg_text(&json!("AP8="), "bytea", true).unwrap(), "\\x00ff");
        assert_eq!(pg_text(&json!("\\x00ff"), "bytea", false).unwrap(), "\\x00ff");
        assert_eq!(copy_escape("a\\b\tc\n"), "a\\\\b\\tc\\n");
    }
}
