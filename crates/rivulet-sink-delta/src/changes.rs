//! What one Delta commit applies to one mirrored table: the changes buffered between two
//! flushes, collapsed per primary key by `rivulet_core::net` (the rules the PostgreSQL replica
//! sink shares).
//!
//! ```text
//!  c/r/u/d events ─▶ NetChanges (newest schema adopted, older rows re-aligned by name)
//!                 ─▶ table.rs: unchanged values of moved keys read from the table, one MERGE
//! ```

use std::sync::Arc;

use rivulet_core::net::{NetChange, NetChanges};
use rivulet_core::{Lsn, Op, Row, TableSchema};

/// Changes to one table in mirror mode; empty until the first change names the table's schema.
#[derive(Default, Debug)]
pub struct MirrorChanges {
    net: Option<NetChanges>,
}

impl MirrorChanges {
    pub fn is_empty(&self) -> bool {
        self.net.as_ref().is_none_or(NetChanges::is_empty)
    }

    /// The newest schema seen; every entry is aligned with it.
    pub fn schema(&self) -> Option<&Arc<TableSchema>> {
        self.net.as_ref().map(NetChanges::schema)
    }

    /// A TRUNCATE came before the entries: empty the table first.
    pub fn truncate_first(&self) -> bool {
        self.net.as_ref().is_some_and(NetChanges::truncated)
    }

    /// The net changes in first-seen key order (deterministic MERGE source).
    pub fn entries(&self) -> &[NetChange] {
        self.net.as_ref().map_or(&[], NetChanges::entries)
    }

    /// Source changes folded in (before collapsing), for logs.
    pub fn source_changes(&self) -> u64 {
        self.net.as_ref().map_or(0, NetChanges::source_changes)
    }

    fn net(&mut self, table: &Arc<TableSchema>) -> &mut NetChanges {
        let net = self.net.get_or_insert_with(|| NetChanges::new(Arc::clone(table)));
        // Changes arrive in commit order, so the schema of the latest one is the newest.
        net.adopt(table);
        net
    }

    pub fn truncate(&mut self, table: &Arc<TableSchema>) {
        self.net(table).truncate();
    }

    /// Folds one row change in (at WAL position `at`). The caller has checked the table has a
    /// primary key.
    pub fn apply(
        &mut self,
        table: &Arc<TableSchema>,
        op: Op,
        before: Option<&Row>,
        after: Option<&Row>,
        at: Lsn,
    ) {
        self.net(table).apply(table, op, before, after, at);
    }
}
