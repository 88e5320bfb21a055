//! Out-of-line (TOAST) values that no one downstream can know, read back from the table.
//!
//! ```text
//!  interrupted snapshot: chunk A read at P1 ──────── chunk B read at P2 (resumed)
//!  WAL between them:          UPDATE SET id = a WHERE id = b   (big unchanged: not sent)
//!    delete(b): dropped, chunk B (read after it) never had b
//!    create(a): kept,    chunk A (read before it) had no a  ──▶ big is known nowhere downstream
//!                                                              ──▶ SELECT big … WHERE id = a
//! ```
//!
//! The row's value is taken from the table as it is now. A later change that sets the column
//! sends its new value anyway, so sinks end where the source is; only the event in between shows
//! the column's current value instead of the one it had at the change. When the row is no
//! longer under that key (deleted or moved again since), the value stays unknown: event sinks
//! get Debezium's placeholder and mirrors stop with the error that names `REPLICA IDENTITY FULL`.

use rivulet_core::{Row, TableSchema, Value};
use rivulet_pgoutput::{parse_text, render};
use tokio_postgres::{Client, SimpleQueryMessage};
use tracing::{info, warn};

use crate::SourceError;
use crate::setup::{quote_ident, quote_literal, quote_table};

/// Replaces the `Unchanged` values of `row` (a new row under its key) by the table's current
/// values under that key. Returns whether every one was filled.
pub async fn fill_unchanged(
    client: &Client,
    table: &TableSchema,
    row: &mut Row,
) -> Result<bool, SourceError> {
    let missing: Vec<usize> = (0..row.len())
        .filter(|&i| matches!(row[i], Value::Unchanged))
        .collect();
    let Some(sql) = lookup_sql(table, row, &missing) else {
        return Ok(false);
    };
    let messages = match client.simple_query(&sql).await {
        Ok(m) => m,
        // Renamed or dropped since the change: the row's value is gone with it.
        Err(e) if e.code().is_some_and(|c| c.code().starts_with("42")) => {
            warn!(table = %table.id, error = %e, "cannot read an unchanged TOAST value back from the table");
            return Ok(false);
        }
        Err(e) => return Err(e.into()),
    };
    let Some(found) = messages.iter().find_map(|m| match m {
        SimpleQueryMessage::Row(r) => Some(r),
        _ => None,
    }) else {
        warn!(table = %table.id, "a key change's unchanged TOAST value is unknown: the row has left its key since");
        return Ok(false);
    };
    for (n, &i) in missing.iter().enumerate() {
        row[i] = match found.get(n) {
            None => Value::Null,
            Some(text) => parse_text(&table.columns[i].pg_type, text.as_bytes())
                .map_err(|e| SourceError::setup(format!("reading {} back: {e}", table.id)))?,
        };
    }
    info!(table = %table.id, columns = missing.len(), "unchanged TOAST values of a key change read back from the table");
    Ok(true)
}

/// `SELECT <missing columns> FROM <table> WHERE <key = its values>`, or `None` when there is
/// nothing to read or the key cannot be written as literals.
fn lookup_sql(table: &TableSchema, row: &Row, missing: &[usize]) -> Option<String> {
    if missing.is_empty() || table.primary_key.is_empty() {
        return None;
    }
    let columns: Vec<String> = missing
        .iter()
        .map(|&i| quote_ident(&table.columns[i].name))
        .collect();
    let mut conditions = Vec::new();
    for &k in &table.primary_key {
        let mut text = String::new();
        if !render(row.get(k)?, &mut text) {
            return None;
        }
        conditions.push(format!(
            "{} = {}",
            quote_ident(&table.columns[k].name),
            quote_literal(&text)
        ));
    }
    Some(format!(
        "SELECT {} FROM {} WHERE {}",
        columns.join(", "),
        quote_table(&table.id),
        conditions.join(" AND ")
    ))
}

#[cfg(test)]
mod tests {
    use rivulet_core::{Column, PgType, ReplicaIdentity, TableId};

    use super::*;

    fn table() -> TableSchema {
        let column = |name: &str, pg_type| Column {
            name: name.into(),
            type_oid: 0,
            type_modifier: -1,
            pg_type,
            nullable: true,
            default: None,
            missing: None,
        };
        TableSchema {
            id: TableId::new("public", "it's"),
            relation_oid: 1,
            columns: vec![
                column("id", PgType::Int4),
                column("tag", PgType::Text),
                column("big", PgType::Text),
            ],
            primary_key: vec![1, 0],
            replica_identity: ReplicaIdentity::Default,
        }
    }

    #[test]
    fn selects_the_unchanged_columns_by_the_whole_key() {
        let row = vec![Value::Int32(2), Value::Text("o'k".into()), Value::Unchanged];
        assert_eq!(
            lookup_sql(&table(), &row, &[2]).as_deref(),
            Some(r#"SELECT "big" FROM "public"."it's" WHERE "tag" = 'o''k' AND "id" = '2'"#)
        );
    }

    #[test]
    fn nothing_to_read_without_a_key_or_a_missing_value() {
        let row = vec![Value::Int32(2), Value::Null, Value::Unchanged];
        assert_eq!(lookup_sql(&table(), &row, &[2]), None, "a NULL key part");
        assert_eq!(lookup_sql(&table(), &row, &[]), None);
        let keyless = TableSchema {
            primary_key: vec![],
            ..table()
        };
        assert_eq!(lookup_sql(&keyless, &row, &[2]), None);
    }
}
