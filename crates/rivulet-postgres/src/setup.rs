//! Getting the database ready to stream: the facts the source needs (wal_level, tables, their
//! keys), the publication, and the replication slot. `rivulet run` creates what is missing;
//! `rivulet check` reads the same facts and reports instead of changing anything.

use rivulet_core::{Lsn, TableId};
use tokio_postgres::Client;

use crate::SourceError;
use crate::config::{TableFilter, TablePattern};

pub use rivulet_pgwire::{quote_ident, quote_literal};

/// `"schema"."table"`.
pub fn quote_table(t: &TableId) -> String {
    format!("{}.{}", quote_ident(&t.schema), quote_ident(&t.name))
}

/// Server settings that decide whether logical replication can work at all.
#[derive(Debug, Clone)]
pub struct ServerFacts {
    pub version_num: i32,
    pub version: String,
    pub wal_level: String,
    pub max_replication_slots: i64,
    pub used_replication_slots: i64,
    pub max_wal_senders: i64,
    pub active_wal_senders: i64,
    pub user: String,
    pub database: String,
    pub is_superuser: bool,
    pub can_replicate: bool,
}

pub async fn server_facts(client: &Client) -> Result<ServerFacts, SourceError> {
    let row = client
        .query_one(
            "SELECT current_setting('server_version_num')::int4, current_setting('server_version'), \
                    current_setting('wal_level'), current_setting('max_replication_slots')::int8, \
                    (SELECT count(*) FROM pg_catalog.pg_replication_slots), \
                    current_setting('max_wal_senders')::int8, \
                    (SELECT count(*) FROM pg_catalog.pg_stat_replication), \
                    current_user::text, current_database()::text, r.rolsuper, r.rolreplication \
             FROM pg_catalog.pg_roles r WHERE r.rolname = current_user",
            &[],
        )
        .await?;
    Ok(ServerFacts {
        version_num: row.get(0),
        version: row.get(1),
        wal_level: row.get(2),
        max_replication_slots: row.get(3),
        used_replication_slots: row.get(4),
        max_wal_senders: row.get(5),
        active_wal_senders: row.get(6),
        user: row.get(7),
        database: row.get(8),
        is_superuser: row.get(9),
        can_replicate: row.get(10),
    })
}

pub fn wal_level_error(facts: &ServerFacts) -> Option<String> {
    (facts.wal_level != "logical").then(|| {
        format!(
            "wal_level is '{}' but logical replication needs 'logical': run ALTER SYSTEM SET wal_level = logical; \
             and restart PostgreSQL",
            facts.wal_level
        )
    })
}

pub fn replication_role_error(facts: &ServerFacts) -> Option<String> {
    (!facts.is_superuser && !facts.can_replicate).then(|| {
        format!(
            "role {} may not open a replication connection: run ALTER ROLE {} WITH REPLICATION;",
            quote_ident(&facts.user),
            quote_ident(&facts.user)
        )
    })
}

/// A captured table as the catalog describes it now.
#[derive(Debug, Clone)]
pub struct TableFacts {
    pub id: TableId,
    pub oid: u32,
    pub has_primary_key: bool,
    /// `d`, `n`, `f` or `i`, as in `pg_class.relreplident`.
    pub replica_identity: char,
    pub can_select: bool,
    pub estimated_rows: f64,
}

impl TableFacts {
    /// True when PostgreSQL would reject this table's UPDATEs and DELETEs once it is in a
    /// publication that publishes them (no replica identity to log).
    pub fn lacks_replica_identity(&self) -> bool {
        match self.replica_identity {
            'd' => !self.has_primary_key,
            'n' => true,
            _ => false,
        }
    }

    pub fn replica_identity_fix(&self) -> String {
        format!(
            "ALTER TABLE {} REPLICA IDENTITY FULL; (or add a primary key)",
            quote_table(&self.id)
        )
    }
}

/// Resolves the configured patterns to tables; patterns that match nothing come back separately.
pub async fn resolve_tables(
    client: &Client,
    filter: &TableFilter,
) -> Result<(Vec<TableFacts>, Vec<TablePattern>), SourceError> {
    let rows = client
        .query(
            "SELECT n.nspname::text, c.relname::text, c.oid, \
                    EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid AND i.indisprimary), \
                    c.relreplident::text, has_table_privilege(c.oid, 'SELECT'), c.reltuples::float8 \
             FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
               AND n.nspname NOT LIKE 'pg_toast%' AND NOT c.relispartition \
             ORDER BY 1, 2",
            &[],
        )
        .await?;
    let all: Vec<TableFacts> = rows
        .iter()
        .map(|r| TableFacts {
            id: TableId::new(r.get::<_, String>(0), r.get::<_, String>(1)),
            oid: r.get(2),
            has_primary_key: r.get(3),
            replica_identity: r.get::<_, String>(4).chars().next().unwrap_or('d'),
            can_select: r.get(5),
            estimated_rows: r.get(6),
        })
        .collect();
    let schemas: Vec<String> = client
        .query("SELECT nspname::text FROM pg_catalog.pg_namespace", &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    // Every table the filter captures; `tables` entries that name nothing are reported (regex
    // lists that match nothing are not an error, as in Debezium).
    let found: Vec<TableFacts> = all.iter().filter(|t| filter.matches(&t.id)).cloned().collect();
    let missing = filter
        .patterns()
        .iter()
        .filter(|pattern| match pattern {
            TablePattern::Table(_) => !all.iter().any(|t| pattern.matches(&t.id)),
            TablePattern::Schema(s) => !schemas.contains(s),
            TablePattern::All => false,
        })
        .cloned()
        .collect();
    Ok((found, missing))
}

pub fn missing_tables_error(missing: &[TablePattern]) -> Option<String> {
    if missing.is_empty() {
        return None;
    }
    let list: Vec<String> = missing.iter().map(ToString::to_string).collect();
    Some(format!(
        "source.tables lists {} that {} not exist in this database: {} (check the names, or create them first)",
        if missing.len() == 1 { "a table" } else { "tables" },
        if missing.len() == 1 { "does" } else { "do" },
        list.join(", ")
    ))
}

/// An existing publication.
#[derive(Debug, Clone)]
pub struct PublicationFacts {
    pub all_tables: bool,
    pub tables: Vec<TableId>,
    pub publishes: Vec<&'static str>,
}

pub async fn find_publication(client: &Client, name: &str) -> Result<Option<PublicationFacts>, SourceError> {
    let Some(row) = client
        .query_opt(
            "SELECT puballtables, pubinsert, pubupdate, pubdelete, pubtruncate \
             FROM pg_catalog.pg_publication WHERE pubname = $1",
            &[&name],
        )
        .await?
    else {
        return Ok(None);
    };
    let mut publishes = Vec::new();
    for (i, op) in [(1, "insert"), (2, "update"), (3, "delete"), (4, "truncate")] {
        if row.get::<_, bool>(i) {
            publishes.push(op);
        }
    }
    let tables = client
        .query(
            "SELECT schemaname::text, tablename::text FROM pg_catalog.pg_publication_tables WHERE pubname = $1",
            &[&name],
        )
        .await?
        .iter()
        .map(|r| TableId::new(r.get::<_, String>(0), r.get::<_, String>(1)))
        .collect();
    Ok(Some(PublicationFacts {
        all_tables: row.get(0),
        tables,
        publishes,
    }))
}

/// The captured tables an existing publication leaves out, with the SQL that adds them.
pub fn publication_gaps(name: &str, publication: &PublicationFacts, tables: &[TableFacts]) -> Option<String> {
    if publication.all_tables {
        return None;
    }
    let missing: Vec<String> = tables
        .iter()
        .filter(|t| !publication.tables.contains(&t.id))
        .map(|t| quote_table(&t.id))
        .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "publication {} does not include {}: their changes would never arrive. Run ALTER PUBLICATION {} ADD TABLE {};",
            quote_ident(name),
            missing.join(", "),
            quote_ident(name),
            missing.join(", ")
        )
    })
}

/// `CREATE PUBLICATION` for the configured tables (whole schemas with `TABLES IN SCHEMA`, so
/// tables created there later are captured too).
pub fn create_publication_sql(name: &str, filter: &TableFilter, tables: &[TableFacts]) -> String {
    let mut items = Vec::new();
    let mut in_schemas = Vec::new();
    for p in filter.patterns() {
        if let TablePattern::Schema(s) = p {
            items.push(format!("TABLES IN SCHEMA {}", quote_ident(s)));
            in_schemas.push(s.clone());
        }
    }
    // Everything else the filter captures (exact names, regex matches) is listed by name.
    let listed: Vec<TableId> = tables
        .iter()
        .filter(|t| !in_schemas.contains(&t.id.schema))
        .map(|t| t.id.clone())
        .collect();
    if !listed.is_empty() {
        let names: Vec<String> = listed.iter().map(quote_table).collect();
        items.insert(0, format!("TABLE {}", names.join(", ")));
    }
    if items.is_empty() {
        // Nothing matches yet: an empty publication, to which tables can be added.
        return format!("CREATE PUBLICATION {}", quote_ident(name));
    }
    format!(
        "CREATE PUBLICATION {} FOR {}",
        quote_ident(name),
        items.join(", ")
    )
}

/// An existing replication slot.
#[derive(Debug, Clone)]
pub struct SlotFacts {
    pub plugin: Option<String>,
    pub slot_type: String,
    pub database: Option<String>,
    pub active_pid: Option<i32>,
    pub confirmed_flush: Option<Lsn>,
    pub restart_lsn: Option<Lsn>,
    pub wal_status: Option<String>,
    pub retained_bytes: Option<i64>,
}

pub async fn find_slot(client: &Client, name: &str) -> Result<Option<SlotFacts>, SourceError> {
    let row = client
        .query_opt(
            "SELECT plugin::text, slot_type, database::text, active_pid, confirmed_flush_lsn::text, \
                    restart_lsn::text, wal_status, \
                    pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::int8 \
             FROM pg_catalog.pg_replication_slots WHERE slot_name = $1",
            &[&name],
        )
        .await?;
    Ok(row.map(|r| SlotFacts {
        plugin: r.get(0),
        slot_type: r.get(1),
        database: r.get(2),
        active_pid: r.get(3),
        confirmed_flush: r.get::<_, Option<String>>(4).and_then(|s| s.parse().ok()),
        restart_lsn: r.get::<_, Option<String>>(5).and_then(|s| s.parse().ok()),
        wal_status: r.get(6),
        retained_bytes: r.get(7),
    }))
}

/// Why an existing slot cannot be streamed from, if it cannot.
pub fn slot_problem(name: &str, slot: &SlotFacts, database: &str) -> Option<String> {
    let q = quote_literal(name);
    if slot.slot_type != "logical" {
        return Some(format!(
            "replication slot {q} is a {} slot, not a logical one: choose another source.slot, or drop it with SELECT pg_drop_replication_slot({q});",
            slot.slot_type
        ));
    }
    if slot.plugin.as_deref() != Some("pgoutput") {
        return Some(format!(
            "replication slot {q} was created with plugin '{}', but Rivulet reads pgoutput: choose another source.slot, \
             or drop it with SELECT pg_drop_replication_slot({q}); and let Rivulet create it",
            slot.plugin.as_deref().unwrap_or("?")
        ));
    }
    if slot.database.as_deref() != Some(database) {
        return Some(format!(
            "replication slot {q} belongs to database '{}', not '{database}': choose another source.slot",
            slot.database.as_deref().unwrap_or("?")
        ));
    }
    if slot.wal_status.as_deref() == Some("lost") {
        return Some(format!(
            "replication slot {q} is invalidated (the server removed WAL it still needed, see max_slot_wal_keep_size): \
             changes since its position are gone. Drop it with SELECT pg_drop_replication_slot({q}); and start over"
        ));
    }
    slot.active_pid.map(|pid| slot_in_use(name, pid))
}

/// What is wrong with the slot apart from another process using it (the one problem that may
/// go away by itself).
pub fn slot_mismatch(name: &str, slot: &SlotFacts, database: &str) -> Option<String> {
    let unused = SlotFacts {
        active_pid: None,
        ..slot.clone()
    };
    slot_problem(name, &unused, database)
}

pub fn slot_in_use(name: &str, pid: i32) -> String {
    let q = quote_literal(name);
    format!(
        "replication slot {q} is in use by another process (PID {pid}): stop that process (another Rivulet, \
         Debezium, pg_recvlogical?) or choose another source.slot"
    )
}
