//! Catalog lookups: turning a pgoutput `Relation` message into a [`TableSchema`].
//!
//! The Relation message gives the tuple layout (column names, type OIDs and modifiers) as of
//! the WAL position being decoded; that stays authoritative for decoding. What it lacks comes
//! from the catalog: which columns are NOT NULL, the primary key and its column order (the
//! Debezium key), and what user-defined types are (enum, domain, array of…). Lookups are cached
//! per type; relations are looked up again on every Relation message because that message is
//! exactly how PostgreSQL announces a schema change.

use std::collections::HashMap;

use rivulet_core::{Column, PgType, ReplicaIdentity, TableId, TableSchema};
use rivulet_pgoutput::{Relation, RelationColumn, builtin_type};
use tokio_postgres::Client;

use crate::SourceError;

/// Domains of domains of arrays… are legal; this only guards against a catalog cycle.
const MAX_TYPE_DEPTH: usize = 16;

pub struct Catalog {
    client: Client,
    /// User-defined types by OID, resolved without a type modifier.
    types: HashMap<u32, ResolvedType>,
}

#[derive(Clone)]
enum ResolvedType {
    Enum(String),
    Domain { base: u32, base_modifier: i32 },
    Array { element: u32 },
    Named { category: u8, name: String },
}

impl Catalog {
    pub fn new(client: Client) -> Self {
        Catalog {
            client,
            types: HashMap::new(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The meaning of a column type: built-in OIDs are known statically, others are looked up.
    pub async fn resolve_type(&mut self, oid: u32, modifier: i32) -> Result<PgType, SourceError> {
        let mut oid = oid;
        let mut modifier = modifier;
        // Array wrappers collected on the way down, applied on the way back up.
        let mut arrays = 0usize;
        for _ in 0..MAX_TYPE_DEPTH {
            if let Some(t) = builtin_type(oid, modifier) {
                return Ok(wrap_arrays(t, arrays));
            }
            match self.lookup(oid).await? {
                ResolvedType::Enum(name) => return Ok(wrap_arrays(PgType::Enum { name }, arrays)),
                ResolvedType::Domain { base, base_modifier } => {
                    oid = base;
                    if base_modifier >= 0 {
                        modifier = base_modifier;
                    }
                }
                ResolvedType::Array { element } => {
                    arrays += 1;
                    oid = element;
                }
                ResolvedType::Named { category, name } => {
                    // String-category extension types (citext…) behave as text.
                    let t = if category == b'S' {
                        PgType::Text
                    } else {
                        PgType::Other { name }
                    };
                    return Ok(wrap_arrays(t, arrays));
                }
            }
        }
        Ok(PgType::Other {
            name: format!("oid {oid}"),
        })
    }

    async fn lookup(&mut self, oid: u32) -> Result<ResolvedType, SourceError> {
        if let Some(t) = self.types.get(&oid) {
            return Ok(t.clone());
        }
        let row = self
            .client
            .query_opt(
                "SELECT t.typname::text, t.typtype::text, t.typbasetype, t.typtypmod, t.typelem, \
                        t.typcategory::text, t.typlen \
                 FROM pg_catalog.pg_type t WHERE t.oid = $1",
                &[&oid],
            )
            .await?;
        let resolved = match row {
            None => ResolvedType::Named {
                category: b'X',
                name: format!("oid {oid}"),
            },
            Some(row) => {
                let name: String = row.get(0);
                let typtype: String = row.get(1);
                let base: u32 = row.get(2);
                let base_modifier: i32 = row.get(3);
                let element: u32 = row.get(4);
                let category: String = row.get(5);
                let typlen: i16 = row.get(6);
                let category = category.bytes().next().unwrap_or(b'X');
                match typtype.as_str() {
                    "e" => ResolvedType::Enum(name),
                    "d" => ResolvedType::Domain { base, base_modifier },
                    // A true array type has typlen -1 and an element; fixed-length types such as
                    // `point` also have typelem set but are not arrays.
                    _ if category == b'A' && element != 0 && typlen == -1 => ResolvedType::Array { element },
                    _ => ResolvedType::Named { category, name },
                }
            }
        };
        self.types.insert(oid, resolved.clone());
        Ok(resolved)
    }

    /// The schema of a table as the catalog describes it now, in the shape a Relation message
    /// would give (published columns only: pgoutput never sends generated ones), so snapshot
    /// rows and streamed rows of one table encode alike.
    pub async fn table_schema_by_oid(&mut self, oid: u32) -> Result<Option<TableSchema>, SourceError> {
        let Some(table) = self
            .client
            .query_opt(
                "SELECT n.nspname::text, c.relname::text, c.relreplident::text \
                 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1",
                &[&oid],
            )
            .await?
        else {
            return Ok(None);
        };
        let columns = self
            .client
            .query(
                "SELECT attname::text, atttypid, atttypmod FROM pg_catalog.pg_attribute \
                 WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum",
                &[&oid],
            )
            .await?;
        let replica_identity: String = table.get(2);
        let rel = Relation {
            relation_oid: oid,
            namespace: table.get(0),
            name: table.get(1),
            replica_identity: replica_identity.bytes().next().unwrap_or(b'd'),
            columns: columns
                .iter()
                .map(|c| RelationColumn {
                    is_key: false,
                    name: c.get(0),
                    type_oid: c.get(1),
                    type_modifier: c.get(2),
                })
                .collect(),
        };
        self.table_schema(&rel).await.map(Some)
    }

    /// Builds the schema of a relation from its Relation message plus catalog facts.
    pub async fn table_schema(&mut self, rel: &Relation) -> Result<TableSchema, SourceError> {
        let facts = self
            .client
            .query(
                "SELECT a.attname::text, a.attnotnull, \
                        (SELECT k.ord::int4 FROM pg_catalog.pg_index i, \
                                unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
                          WHERE i.indrelid = a.attrelid AND i.indisprimary AND k.attnum = a.attnum) \
                 FROM pg_catalog.pg_attribute a \
                 WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped",
                &[&rel.relation_oid],
            )
            .await?;
        let mut not_null: HashMap<String, bool> = HashMap::new();
        let mut key_order: Vec<(i32, String)> = Vec::new();
        for row in &facts {
            let name: String = row.get(0);
            let notnull: bool = row.get(1);
            let pk: Option<i32> = row.get(2);
            if let Some(ord) = pk {
                key_order.push((ord, name.clone()));
            }
            not_null.insert(name, notnull);
        }
        key_order.sort();

        let mut columns = Vec::with_capacity(rel.columns.len());
        for c in &rel.columns {
            let pg_type = self.resolve_type(c.type_oid, c.type_modifier).await?;
            columns.push(Column {
                name: c.name.clone(),
                type_oid: c.type_oid,
                type_modifier: c.type_modifier,
                pg_type,
                nullable: !not_null.get(&c.name).copied().unwrap_or(false),
                default: None,
            });
        }
        let mut primary_key: Vec<usize> = key_order
            .iter()
            .filter_map(|(_, name)| rel.columns.iter().position(|c| &c.name == name))
            .collect();
        if facts.is_empty() {
            // The table is gone from the catalog (dropped after this WAL was written): the
            // replica identity flags are the best key we have.
            primary_key = rel
                .columns
                .iter()
                .enumerate()
                .filter(|(_, c)| c.is_key)
                .map(|(i, _)| i)
                .collect();
            if rel.replica_identity == b'f' {
                primary_key.clear();
            }
        }
        let replica_identity = match rel.replica_identity {
            b'f' => ReplicaIdentity::Full,
            b'n' => ReplicaIdentity::Nothing,
            b'i' => ReplicaIdentity::Index,
            _ => ReplicaIdentity::Default,
        };
        let schema = if rel.namespace.is_empty() {
            "pg_catalog".to_string()
        } else {
            rel.namespace.clone()
        };
        Ok(TableSchema {
            id: TableId::new(schema, rel.name.clone()),
            relation_oid: rel.relation_oid,
            columns,
            primary_key,
            replica_identity,
        })
    }
}

fn wrap_arrays(mut t: PgType, arrays: usize) -> PgType {
    for _ in 0..arrays {
        t = PgType::Array(Box::new(t));
    }
    t
}
