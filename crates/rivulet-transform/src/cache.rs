//! Per-table caches keyed by the `Arc<TableSchema>` events share.
//!
//! Sources publish one `Arc<TableSchema>` per table version and every event of that version
//! points at it, so the pointer identifies the version. Each entry holds a `Weak` to its
//! schema: that keeps the allocation, and so the address, from being reused while the entry
//! exists. Entries whose schema is gone are pruned as the map grows (as the encoder's plans are).

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use rivulet_core::TableSchema;

pub(crate) struct SchemaCache<T> {
    map: HashMap<usize, (Weak<TableSchema>, T)>,
    prune_at: usize,
}

impl<T> Default for SchemaCache<T> {
    fn default() -> Self {
        SchemaCache {
            map: HashMap::new(),
            prune_at: 64,
        }
    }
}

impl<T> SchemaCache<T> {
    /// The entry for `table`, made by `make` on first sight of this schema version.
    pub fn get_or_insert_with(
        &mut self,
        table: &Arc<TableSchema>,
        make: impl FnOnce(&TableSchema) -> T,
    ) -> &T {
        let key = Arc::as_ptr(table) as usize;
        if self.map.len() >= self.prune_at && !self.map.contains_key(&key) {
            self.map.retain(|_, (schema, _)| schema.strong_count() > 0);
            self.prune_at = (self.map.len() * 2).max(64);
        }
        &self
            .map
            .entry(key)
            .or_insert_with(|| (Arc::downgrade(table), make(table)))
            .1
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rivulet_core::{ReplicaIdentity, TableId};

    #[test]
    fn entries_follow_schema_versions_and_are_pruned() {
        let mut cache = SchemaCache::<String>::default();
        for round in 0..300 {
            let table = Arc::new(TableSchema {
                id: TableId::new("s", format!("t{round}")),
                relation_oid: 1,
                columns: vec![],
                primary_key: vec![],
                replica_identity: ReplicaIdentity::Default,
            });
            let made = cache.get_or_insert_with(&table, |t| t.id.name.clone());
            assert_eq!(made, &format!("t{round}"));
            assert_eq!(
                cache.get_or_insert_with(&table, |_| "again".into()),
                &format!("t{round}")
            );
        }
        assert!(cache.len() < 300);
    }
}
