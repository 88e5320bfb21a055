//! Planning a table's snapshot: how many rows to expect, and how to split it into chunks that
//! several connections can read at once.
//!
//! Tables with a primary key are split by key ranges, with bounds taken from a page sample
//! (`TABLESAMPLE SYSTEM`) sorted by the server, so ranges follow the server's own key order.
//! Tables without one are split by heap page ranges (`ctid`), which PostgreSQL 14+ reads with
//! a TID range scan. Planning runs inside the snapshot, so it sees what the readers will see.

use rivulet_core::TableId;
use tokio_postgres::Client;

use crate::SourceError;
use crate::catalog::Catalog;
use crate::key_order::orderable;
use crate::setup::{quote_ident, quote_literal, quote_table};
use crate::state::{ChunkPlan, ChunkRange, ResumeUnit, TablePlan};

/// Sizing of chunks.
#[derive(Clone, Copy, Debug)]
pub struct ChunkSizing {
    /// Aim for this many rows per chunk.
    pub rows_per_chunk: u64,
    /// Never more chunks per table than this (a plan is saved with every checkpoint).
    pub max_chunks: u64,
}

/// One primary-key column, as the plan and the chunk queries need it.
#[derive(Clone, Debug)]
pub struct KeyColumn {
    pub name: String,
    /// `format_type(atttypid, atttypmod)`: the cast for literal bounds.
    pub sql_type: String,
    pub orderable: bool,
}

pub async fn key_columns(
    client: &Client,
    catalog: &mut Catalog,
    table: u32,
) -> Result<Vec<KeyColumn>, SourceError> {
    let rows = client
        .query(
            "SELECT a.attname::text, a.atttypid, a.atttypmod, format_type(a.atttypid, a.atttypmod), \
                    coalesce(c.collname::text, ''), \
                    (SELECT datcollate FROM pg_catalog.pg_database WHERE datname = current_database())::text, \
                    (SELECT datlocprovider FROM pg_catalog.pg_database WHERE datname = current_database())::text \
             FROM pg_catalog.pg_index i \
             CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
             JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
             LEFT JOIN pg_catalog.pg_collation c ON c.oid = a.attcollation \
             WHERE i.indrelid = $1 AND i.indisprimary ORDER BY k.ord",
            &[&table],
        )
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let collation: String = r.get(4);
        let db_collate: String = r.get(5);
        let provider: String = r.get(6);
        let bytewise = matches!(collation.as_str(), "C" | "POSIX" | "ucs_basic")
            || (collation == "default" && provider == "c" && matches!(db_collate.as_str(), "C" | "POSIX"));
        let ty = catalog.resolve_type(r.get(1), r.get(2)).await?;
        out.push(KeyColumn {
            name: r.get(0),
            sql_type: r.get(3),
            orderable: orderable(&ty, bytewise),
        });
    }
    Ok(out)
}

/// Plans one table. `client` must be inside the snapshot's transaction.
pub async fn plan_table(
    client: &Client,
    catalog: &mut Catalog,
    id: &TableId,
    oid: u32,
    sizing: ChunkSizing,
) -> Result<TablePlan, SourceError> {
    let key = key_columns(client, catalog, oid).await?;
    let estimated = estimate_rows(client, id, oid).await?;
    let wanted = estimated
        .div_ceil(sizing.rows_per_chunk.max(1))
        .clamp(1, sizing.max_chunks.max(1));
    let unit = if !key.is_empty() && key.iter().all(|k| k.orderable) {
        ResumeUnit::Chunk
    } else {
        ResumeUnit::Table
    };
    let chunks = if wanted <= 1 {
        vec![ChunkRange::All]
    } else if key.is_empty() {
        page_chunks(client, oid, wanted).await?
    } else {
        key_chunks(client, id, oid, &key, wanted).await?
    };
    Ok(TablePlan {
        schema: id.schema.clone(),
        name: id.name.clone(),
        key: key.iter().map(|k| k.name.clone()).collect(),
        key_types: key.iter().map(|k| k.sql_type.clone()).collect(),
        unit,
        estimated_rows: estimated,
        rows_done: 0,
        chunks: chunks
            .into_iter()
            .map(|range| ChunkPlan { range, done_at: None })
            .collect(),
    })
}

/// `reltuples` when the table has been analyzed; otherwise a count (small tables) or a sampled
/// estimate (large ones).
async fn estimate_rows(client: &Client, id: &TableId, oid: u32) -> Result<u64, SourceError> {
    let row = client
        .query_one(
            "SELECT c.reltuples::float8, pg_relation_size(c.oid) / current_setting('block_size')::int8 \
             FROM pg_catalog.pg_class c WHERE c.oid = $1",
            &[&oid],
        )
        .await?;
    let reltuples: f64 = row.get(0);
    let pages: i64 = row.get(1);
    if reltuples >= 0.0 && !(reltuples == 0.0 && pages > 0) {
        return Ok(reltuples as u64);
    }
    let table = quote_table(id);
    if pages <= 10_000 {
        let n: i64 = client
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .await?
            .get(0);
        return Ok(n.max(0) as u64);
    }
    let n: i64 = client
        .query_one(
            &format!("SELECT count(*) FROM {table} TABLESAMPLE SYSTEM (1)"),
            &[],
        )
        .await?
        .get(0);
    Ok((n.max(0) as u64) * 100)
}

async fn page_chunks(client: &Client, oid: u32, wanted: u64) -> Result<Vec<ChunkRange>, SourceError> {
    let pages: i64 = client
        .query_one(
            "SELECT pg_relation_size($1::oid) / current_setting('block_size')::int8",
            &[&oid],
        )
        .await?
        .get(0);
    let pages = pages.max(1) as u64;
    let n = wanted.min(pages);
    let mut out = Vec::with_capacity(n as usize);
    for i in 0..n {
        let first = (pages * i / n) as u32;
        // The last range is open: rows may live in pages added after the size was read.
        let end = (i + 1 < n).then(|| (pages * (i + 1) / n) as u32);
        out.push(ChunkRange::Pages { first, end });
    }
    Ok(out)
}

async fn key_chunks(
    client: &Client,
    id: &TableId,
    oid: u32,
    key: &[KeyColumn],
    wanted: u64,
) -> Result<Vec<ChunkRange>, SourceError> {
    // SYSTEM sampling reads whole pages, and the keys of one page are often neighbours, so
    // what makes the bounds even is the number of pages sampled: about 50 per chunk.
    let pages: i64 = client
        .query_one(
            "SELECT pg_relation_size($1::oid) / current_setting('block_size')::int8",
            &[&oid],
        )
        .await?
        .get(0);
    let percent = (wanted as f64 * 50.0 / pages.max(1) as f64 * 100.0).clamp(0.0001, 100.0);
    let cols: Vec<String> = key
        .iter()
        .map(|k| format!("sampled.{}", quote_ident(&k.name)))
        .collect();
    // Aliased and ordered by the table's columns: ordering by the text casts would sort
    // numbers as strings.
    let texts: Vec<String> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{c}::text AS k{i}"))
        .collect();
    let sql = format!(
        "SELECT {} FROM {} AS sampled TABLESAMPLE SYSTEM ({percent}) ORDER BY {}",
        texts.join(", "),
        quote_table(id),
        cols.join(", ")
    );
    let sample: Vec<Vec<String>> = client
        .query(&sql, &[])
        .await?
        .iter()
        .map(|r| (0..key.len()).map(|i| r.get::<_, String>(i)).collect())
        .collect();
    let n = wanted.min(sample.len() as u64 + 1).max(1);
    let mut bounds: Vec<Vec<String>> = Vec::new();
    for i in 1..n {
        let b = &sample[(sample.len() as u64 * i / n) as usize];
        if bounds.last() != Some(b) {
            bounds.push(b.clone());
        }
    }
    let mut out = Vec::with_capacity(bounds.len() + 1);
    let mut lower: Option<Vec<String>> = None;
    for b in bounds {
        out.push(ChunkRange::Key {
            lower: lower.clone(),
            upper: Some(b.clone()),
        });
        lower = Some(b);
    }
    out.push(ChunkRange::Key { lower, upper: None });
    Ok(out)
}

/// The `WHERE` clause that selects a chunk's rows (empty for the whole table).
pub fn chunk_predicate(plan: &TablePlan, range: &ChunkRange) -> String {
    match range {
        ChunkRange::All => String::new(),
        ChunkRange::Pages { first, end } => {
            let lower = format!("ctid >= '({first},0)'::tid");
            match end {
                Some(end) => format!(" WHERE {lower} AND ctid < '({end},0)'::tid"),
                None => format!(" WHERE {lower}"),
            }
        }
        ChunkRange::Key { lower, upper } => {
            let cols: Vec<String> = plan.key.iter().map(|k| quote_ident(k)).collect();
            // A single column compares directly (the planner's favourite form); several
            // compare as a row, which the primary key's btree also serves.
            let lhs = if cols.len() == 1 {
                cols[0].clone()
            } else {
                format!("ROW({})", cols.join(", "))
            };
            let literal = |values: &[String]| {
                let items: Vec<String> = values
                    .iter()
                    .zip(&plan.key_types)
                    .map(|(v, t)| format!("{}::{t}", quote_literal(v)))
                    .collect();
                if items.len() == 1 {
                    items[0].clone()
                } else {
                    format!("ROW({})", items.join(", "))
                }
            };
            let mut conds = Vec::new();
            if let Some(l) = lower {
                conds.push(format!("{lhs} > {}", literal(l)));
            }
            if let Some(u) = upper {
                conds.push(format!("{lhs} <= {}", literal(u)));
            }
            if conds.is_empty() {
                String::new()
            } else {
                format!(" WHERE {}", conds.join(" AND "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicates() {
        let mut plan = TablePlan {
            schema: "s".into(),
            name: "t".into(),
            key: vec!["id".into()],
            key_types: vec!["bigint".into()],
            unit: ResumeUnit::Chunk,
            estimated_rows: 0,
            rows_done: 0,
            chunks: vec![],
        };
        let r = ChunkRange::Key {
            lower: Some(vec!["5".into()]),
            upper: Some(vec!["9".into()]),
        };
        assert_eq!(
            chunk_predicate(&plan, &r),
            " WHERE \"id\" > '5'::bigint AND \"id\" <= '9'::bigint"
        );
        plan.key = vec!["a".into(), "b b".into()];
        plan.key_types = vec!["integer".into(), "text".into()];
        let r = ChunkRange::Key {
            lower: None,
            upper: Some(vec!["1".into(), "it's".into()]),
        };
        assert_eq!(
            chunk_predicate(&plan, &r),
            " WHERE ROW(\"a\", \"b b\") <= ROW('1'::integer, 'it''s'::text)"
        );
        assert_eq!(chunk_predicate(&plan, &ChunkRange::All), "");
        assert_eq!(
            chunk_predicate(
                &plan,
                &ChunkRange::Pages {
                    first: 0,
                    end: Some(10)
                }
            ),
            " WHERE ctid >= '(0,0)'::tid AND ctid < '(10,0)'::tid"
        );
    }
}
