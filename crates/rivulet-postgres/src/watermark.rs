//! The stream filter after a snapshot: each row's changes are delivered only from the LSN its
//! snapshot chunk was read at.
//!
//! ```text
//!   WAL ─────────[P1]──────────[P2]──────────▶
//!   chunk read at P1:  skip < P1 │ deliver ≥ P1
//!   chunk read at P2:  skip < P2            │ deliver ≥ P2
//! ```
//!
//! An uninterrupted initial snapshot reads every chunk at one LSN and streams from it, and the
//! plain "skip transactions that committed before the position" rule is all it takes. This
//! filter exists only up to the highest chunk LSN, when chunks were read later than the stream
//! resumes: after an interrupted snapshot, or for tables added to a running pipeline.

use std::cmp::Ordering;
use std::collections::HashMap;

use rivulet_core::{Lsn, TableId, TableSchema, Value};
use rivulet_pgoutput::parse_text;
use tracing::warn;

use crate::key_order::compare_keys;
use crate::state::{ChunkRange, SnapshotState, TablePlan};

pub struct SnapshotFilter {
    /// No filtering at or after this LSN.
    until: Lsn,
    tables: HashMap<TableId, TableWatermarks>,
}

struct TableWatermarks {
    plan: TablePlan,
    /// Chunk bounds parsed with the key's types, once a change for the table shows them.
    parsed: Option<Vec<ChunkBounds>>,
}

/// A done chunk's key range (`lower < key <= upper`, `None` unbounded) and its LSN.
struct ChunkBounds {
    lower: Option<Vec<Value>>,
    upper: Option<Vec<Value>>,
    at: Lsn,
}

impl SnapshotFilter {
    /// A filter for a completed snapshot whose stream starts at `skip_below` (everything that
    /// committed before it is skipped anyway), or `None` when no chunk was read after it.
    pub fn new(state: &SnapshotState, skip_below: Lsn) -> Option<Self> {
        let (_, high) = state.lsn_bounds()?;
        if high <= skip_below {
            return None;
        }
        let tables = state
            .tables
            .iter()
            .map(|t| {
                (
                    t.id(),
                    TableWatermarks {
                        plan: t.clone(),
                        parsed: None,
                    },
                )
            })
            .collect();
        Some(SnapshotFilter { until: high, tables })
    }

    pub fn until(&self) -> Lsn {
        self.until
    }

    /// Whether a change to `table` committed at `commit_lsn`, whose key is `key` (the key
    /// columns' values, in key order), is newer than the snapshot of its row.
    pub fn keep_row(&mut self, table: &TableSchema, key: &[Value], commit_lsn: Lsn) -> bool {
        if commit_lsn >= self.until {
            return true;
        }
        let Some(w) = self.tables.get_mut(&table.id) else {
            return true;
        };
        let lsns: Vec<Lsn> = w.plan.chunks.iter().filter_map(|c| c.done_at).collect();
        if lsns.iter().all(|l| *l == lsns[0]) {
            return lsns.first().is_none_or(|l| commit_lsn >= *l);
        }
        let chunks = w.parsed.get_or_insert_with(|| parse_bounds(&w.plan, table));
        for c in chunks.iter() {
            let above = c
                .lower
                .as_ref()
                .is_none_or(|l| compare_keys(key, l) == Some(Ordering::Greater));
            let within = c
                .upper
                .as_ref()
                .is_none_or(|u| compare_keys(key, u) != Some(Ordering::Greater));
            if above && within {
                return commit_lsn >= c.at;
            }
        }
        // Not placeable (a value the comparison does not know): keep it. A duplicate beats a loss.
        true
    }

    /// A truncate is delivered only if it is newer than every chunk of its table; one that
    /// falls between a resumed snapshot's chunk LSNs leaves the table's snapshot inconsistent,
    /// which is said loudly.
    pub fn keep_truncate(&self, table: &TableId, commit_lsn: Lsn) -> bool {
        if commit_lsn >= self.until {
            return true;
        }
        let Some(w) = self.tables.get(table) else {
            return true;
        };
        let lsns: Vec<Lsn> = w.plan.chunks.iter().filter_map(|c| c.done_at).collect();
        let oldest = lsns.iter().min().copied().unwrap_or(Lsn::ZERO);
        let newest = lsns.iter().max().copied().unwrap_or(Lsn::ZERO);
        if commit_lsn >= newest {
            return true;
        }
        if commit_lsn >= oldest {
            warn!(%table, lsn = %commit_lsn, "TRUNCATE while this table's snapshot was interrupted: rows read before \
                  it may survive downstream; take a new snapshot of the table to be sure");
        }
        false
    }
}

fn parse_bounds(plan: &TablePlan, table: &TableSchema) -> Vec<ChunkBounds> {
    let types: Vec<_> = plan
        .key
        .iter()
        .map(|name| table.column_index(name).map(|i| table.columns[i].pg_type.clone()))
        .collect();
    let parse = |texts: &Option<Vec<String>>| -> Option<Vec<Value>> {
        texts.as_ref().map(|texts| {
            texts
                .iter()
                .zip(&types)
                .map(|(t, ty)| match ty {
                    Some(ty) => parse_text(ty, t.as_bytes()).unwrap_or(Value::Text(t.clone())),
                    None => Value::Text(t.clone()),
                })
                .collect()
        })
    };
    plan.chunks
        .iter()
        .filter_map(|c| {
            let at = c.done_at?;
            match &c.range {
                ChunkRange::Key { lower, upper } => Some(ChunkBounds {
                    lower: parse(lower),
                    upper: parse(upper),
                    at,
                }),
                ChunkRange::All | ChunkRange::Pages { .. } => Some(ChunkBounds {
                    lower: None,
                    upper: None,
                    at,
                }),
            }
        })
        .collect()
}
