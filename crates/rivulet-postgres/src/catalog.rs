//! Catalog lookups: turning a pgoutput `Relation` message into a [`TableSchema`].
//!
//! The Relation message gives the tuple layout (column names, type OIDs and modifiers) as of
//! the WAL position being decoded; that stays authoritative for decoding. What it lacks comes
//! from the catalog: which columns are NOT NULL, the primary key and its column order (the
//! Debezium key), what user-defined types are (enum, domain, array of…), and each column's
//! default as Debezium reads it (`defaults`). Lookups are cached per type; relations are looked
//! up again on every Relation message because that message is exactly how PostgreSQL announces a
//! schema change.
//!
//! Extension types are recognised by name, as Debezium does: `hstore`, `ltree`, and `citext` /
//! `isbn` (plain text); any other extension or composite type is [`PgType::Other`]. An array of a
//! domain is an array of [`PgType::Other`] (Debezium has no converter for its elements), while a
//! domain column is its base type.

mod defaults;

use std::collections::HashMap;

use rivulet_core::{Column, PgType, ReplicaIdentity, TableId, TableSchema, Value};
use rivulet_pgoutput::{Relation, RelationColumn, builtin_type, parse_text};
use tokio_postgres::Client;

use crate::SourceError;
use defaults::{DeclaredType, debezium_default};

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
    Domain {
        name: String,
        base: u32,
        base_modifier: i32,
    },
    Array {
        element: u32,
    },
    Named {
        name: String,
    },
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
                ResolvedType::Domain { name, .. } if arrays > 0 => {
                    return Ok(wrap_arrays(PgType::Other { name }, arrays));
                }
                ResolvedType::Domain {
                    base, base_modifier, ..
                } => {
                    oid = base;
                    if base_modifier >= 0 {
                        modifier = base_modifier;
                    }
                }
                ResolvedType::Array { element } => {
                    arrays += 1;
                    oid = element;
                }
                ResolvedType::Named { name, .. } => {
                    let t = match name.as_str() {
                        "hstore" => PgType::Hstore,
                        "ltree" => PgType::Ltree,
                        "citext" | "isbn" => PgType::Text,
                        _ => PgType::Other { name },
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
                    "d" => ResolvedType::Domain {
                        name,
                        base,
                        base_modifier,
                    },
                    // A true array type has typlen -1 and an element; fixed-length types such as
                    // `point` also have typelem set but are not arrays.
                    _ if category == b'A' && element != 0 && typlen == -1 => ResolvedType::Array { element },
                    _ => ResolvedType::Named { name },
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
                          WHERE i.indrelid = a.attrelid AND i.indisprimary AND k.attnum = a.attnum), \
                        CASE WHEN a.attgenerated = '' THEN pg_catalog.pg_get_expr(d.adbin, d.adrelid) END, \
                        t.typname::text, t.typtype::text, \
                        CASE WHEN a.atthasmissing THEN (a.attmissingval::text::text[])[1] END \
                 FROM pg_catalog.pg_attribute a \
                 JOIN pg_catalog.pg_type t ON t.oid = a.atttypid \
                 LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
                 WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped",
                &[&rel.relation_oid],
            )
            .await?;
        let mut not_null: HashMap<String, bool> = HashMap::new();
        let mut key_order: Vec<(i32, String)> = Vec::new();
        // Column name → (DEFAULT expression, declared type name, typtype).
        let mut default_exprs: HashMap<String, (String, String, u8)> = HashMap::new();
        // Column name → the text of the value rows older than the column hold (attmissingval).
        let mut missing_texts: HashMap<String, String> = HashMap::new();
        for row in &facts {
            let name: String = row.get(0);
            let notnull: bool = row.get(1);
            let pk: Option<i32> = row.get(2);
            let default_expr: Option<String> = row.get(3);
            if let Some(ord) = pk {
                key_order.push((ord, name.clone()));
            }
            if let Some(expr) = default_expr {
                let type_name: String = row.get(4);
                let type_kind: String = row.get(5);
                let kind = type_kind.bytes().next().unwrap_or(b'b');
                default_exprs.insert(name.clone(), (expr, type_name, kind));
            }
            if let Some(text) = row.get::<_, Option<String>>(6) {
                missing_texts.insert(name.clone(), text);
            }
            not_null.insert(name, notnull);
        }
        key_order.sort();
        if key_order.is_empty() && !facts.is_empty() {
            key_order = self.unique_index_key(rel.relation_oid).await?;
        }

        let mut columns = Vec::with_capacity(rel.columns.len());
        for c in &rel.columns {
            let pg_type = self.resolve_type(c.type_oid, c.type_modifier).await?;
            let default = default_exprs.get(&c.name).and_then(|(expr, name, kind)| {
                debezium_default(&pg_type, &DeclaredType { name, kind: *kind }, expr)
            });
            let missing = missing_texts
                .get(&c.name)
                .and_then(|text| missing_value(&rel.name, &c.name, &pg_type, text));
            columns.push(Column {
                name: c.name.clone(),
                type_oid: c.type_oid,
                type_modifier: c.type_modifier,
                pg_type,
                nullable: !not_null.get(&c.name).copied().unwrap_or(false),
                default,
                missing,
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

impl Catalog {
    /// The key Debezium uses for a table without a primary key: the columns of its first unique
    /// index by name (pgjdbc's `getIndexInfo` order), in index order; indexes on expressions are
    /// skipped. Empty when there is none.
    async fn unique_index_key(&self, relation_oid: u32) -> Result<Vec<(i32, String)>, SourceError> {
        let rows = self
            .client
            .query(
                "SELECT c.relname::text, k.ord::int4, a.attname::text \
                 FROM pg_catalog.pg_index i \
                 JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid \
                 CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
                 LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
                 WHERE i.indrelid = $1 AND i.indisunique \
                 ORDER BY c.relname, k.ord",
                &[&relation_oid],
            )
            .await?;
        let mut key: Vec<(i32, String)> = Vec::new();
        let mut current: Option<String> = None;
        let mut skip = false;
        for row in &rows {
            let index: String = row.get(0);
            let ord: i32 = row.get(1);
            let column: Option<String> = row.get(2);
            if current.as_deref() != Some(index.as_str()) {
                if current.is_some() && !skip && !key.is_empty() {
                    break;
                }
                current = Some(index);
                key.clear();
                skip = false;
            }
            match column {
                Some(name) if !skip => key.push((ord, name)),
                // An expression: Debezium does not use this index.
                _ => {
                    skip = true;
                    key.clear();
                }
            }
        }
        Ok(if skip { Vec::new() } else { key })
    }
}

fn wrap_arrays(mut t: PgType, arrays: usize) -> PgType {
    for _ in 0..arrays {
        t = PgType::Array(Box::new(t));
    }
    t
}

/// The value of `attmissingval` (its text) as the column's type; a value this source cannot
/// read is left out with a warning (mirrors then show NULL for the rows older than the column).
fn missing_value(table: &str, column: &str, pg_type: &PgType, text: &str) -> Option<Value> {
    match parse_text(pg_type, text.as_bytes()) {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::warn!(table, column, error = %e, "cannot read the value rows older than this column hold; mirrors show NULL for them");
            None
        }
    }
}
