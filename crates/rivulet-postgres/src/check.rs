//! `rivulet check`: everything streaming needs, verified without changing anything, each
//! problem with the exact SQL or setting that fixes it.

use rivulet_pgwire::{ReplicationConnection, connect_sql};

use crate::setup::{self, quote_ident, quote_literal, quote_table};
use crate::{ResolvedSource, SourceError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Ok,
    /// Works, but the user should know.
    Warn,
    /// Blocks running.
    Fail,
}

#[derive(Debug, Clone)]
pub struct Finding {
    pub level: Level,
    pub message: String,
}

impl Finding {
    fn ok(m: impl Into<String>) -> Self {
        Finding {
            level: Level::Ok,
            message: m.into(),
        }
    }
    fn warn(m: impl Into<String>) -> Self {
        Finding {
            level: Level::Warn,
            message: m.into(),
        }
    }
    fn fail(m: impl Into<String>) -> Self {
        Finding {
            level: Level::Fail,
            message: m.into(),
        }
    }
}

/// Runs every check it can; a failed connection ends the list early (nothing else can be known).
pub async fn check(resolved: &ResolvedSource) -> Vec<Finding> {
    let mut findings = Vec::new();
    if let Err(e) = run_checks(resolved, &mut findings).await {
        findings.push(Finding::fail(e.to_string()));
    }
    findings
}

async fn run_checks(resolved: &ResolvedSource, out: &mut Vec<Finding>) -> Result<(), SourceError> {
    let conn = &resolved.connection;
    let client = connect_sql(conn).await?;
    out.push(Finding::ok(format!("connected to {}", conn.redacted())));
    let facts = setup::server_facts(&client).await?;
    if facts.version_num < 100_000 {
        out.push(Finding::fail(format!(
            "PostgreSQL {} has no pgoutput logical replication: upgrade to version 10 or later (15 is tested)",
            facts.version
        )));
        return Ok(());
    }
    out.push(Finding::ok(format!("PostgreSQL {}", facts.version)));
    match setup::wal_level_error(&facts) {
        Some(e) => out.push(Finding::fail(e)),
        None => out.push(Finding::ok("wal_level = logical")),
    }
    match setup::replication_role_error(&facts) {
        Some(e) => out.push(Finding::fail(e)),
        None => out.push(Finding::ok(format!(
            "role {} may replicate ({})",
            quote_ident(&facts.user),
            if facts.is_superuser {
                "superuser"
            } else {
                "REPLICATION"
            }
        ))),
    }

    let slot = setup::find_slot(&client, &resolved.slot).await?;
    if slot.is_none() && facts.used_replication_slots >= facts.max_replication_slots {
        out.push(Finding::fail(format!(
            "no free replication slot: all {} are in use. Drop an unused one (SELECT pg_drop_replication_slot('name');) \
             or raise max_replication_slots (ALTER SYSTEM SET max_replication_slots = {}; then restart PostgreSQL)",
            facts.max_replication_slots,
            facts.max_replication_slots + 4
        )));
    } else {
        out.push(Finding::ok(format!(
            "replication slots: {} of {} in use",
            facts.used_replication_slots, facts.max_replication_slots
        )));
    }
    if facts.active_wal_senders >= facts.max_wal_senders {
        out.push(Finding::fail(format!(
            "no free WAL sender: all {} are busy. Raise max_wal_senders (ALTER SYSTEM SET max_wal_senders = {}; then restart \
             PostgreSQL) or stop an unused replication client",
            facts.max_wal_senders,
            facts.max_wal_senders + 4
        )));
    } else {
        out.push(Finding::ok(format!(
            "WAL senders: {} of {} busy",
            facts.active_wal_senders, facts.max_wal_senders
        )));
    }

    let (tables, missing) = setup::resolve_tables(&client, &resolved.filter).await?;
    if let Some(e) = setup::missing_tables_error(&missing) {
        out.push(Finding::fail(e));
    }
    for t in &tables {
        let name = quote_table(&t.id);
        if !t.can_select {
            out.push(Finding::fail(format!(
                "role {} cannot read {name}: run GRANT SELECT ON {name} TO {};",
                quote_ident(&facts.user),
                quote_ident(&facts.user)
            )));
        }
        if t.lacks_replica_identity() {
            out.push(Finding::fail(format!(
                "{name} has no primary key and REPLICA IDENTITY {}: updates and deletes would carry no `before` row, and \
                 once published PostgreSQL rejects them. Run {}",
                if t.replica_identity == 'n' { "NOTHING" } else { "DEFAULT" },
                t.replica_identity_fix()
            )));
        } else if !t.has_primary_key {
            out.push(Finding::warn(format!(
                "{name} has no primary key: its events have a null key (REPLICA IDENTITY FULL keeps the whole old row)"
            )));
        }
    }
    if !tables.is_empty() {
        out.push(Finding::ok(format!("{} table(s) to capture", tables.len())));
    }

    match setup::find_publication(&client, &resolved.publication).await? {
        None => out.push(Finding::ok(format!(
            "publication {} does not exist yet: `rivulet run` creates it ({})",
            quote_ident(&resolved.publication),
            setup::create_publication_sql(&resolved.publication, &resolved.filter, &tables)
        ))),
        Some(p) => {
            match setup::publication_gaps(&resolved.publication, &p, &tables) {
                Some(e) => out.push(Finding::fail(e)),
                None => out.push(Finding::ok(format!(
                    "publication {} covers the captured tables",
                    quote_ident(&resolved.publication)
                ))),
            }
            let skipped: Vec<&str> = ["insert", "update", "delete", "truncate"]
                .into_iter()
                .filter(|op| !p.publishes.contains(op))
                .collect();
            if !skipped.is_empty() {
                out.push(Finding::warn(format!(
                    "publication {} does not publish {}: those changes are not captured (ALTER PUBLICATION {} SET (publish = 'insert, update, delete, truncate');)",
                    quote_ident(&resolved.publication),
                    skipped.join(", "),
                    quote_ident(&resolved.publication)
                )));
            }
        }
    }

    match &slot {
        None => out.push(Finding::ok(format!(
            "replication slot {} does not exist yet: `rivulet run` creates it",
            quote_literal(&resolved.slot)
        ))),
        Some(s) => match setup::slot_problem(&resolved.slot, s, &facts.database) {
            Some(e) => out.push(Finding::fail(e)),
            None => out.push(Finding::ok(format!(
                "replication slot {} (pgoutput) at {}, retaining {} of WAL",
                quote_literal(&resolved.slot),
                s.confirmed_flush.map_or_else(|| "?".into(), |l| l.to_string()),
                human_bytes(s.retained_bytes.unwrap_or(0))
            ))),
        },
    }

    // pg_hba.conf may allow ordinary connections but not replication ones.
    match ReplicationConnection::connect(conn).await {
        Ok(mut repl) => match repl.identify_system().await {
            Ok(sys) => out.push(Finding::ok(format!(
                "replication connection works (system {})",
                sys.system_id
            ))),
            Err(e) => out.push(Finding::fail(format!("replication connection: {e}"))),
        },
        Err(e) => out.push(Finding::fail(format!("replication connection: {e}"))),
    }
    Ok(())
}

pub fn human_bytes(n: i64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v.abs() >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}
