//! Our logical-replication protocol client: a connection in `replication=database` mode that
//! runs replication commands (IDENTIFY_SYSTEM, CREATE_REPLICATION_SLOT, plain SQL) and then
//! turns into a [`ReplicationStream`] with START_REPLICATION.
//!
//! tokio-postgres has no replication mode, so this speaks the protocol itself on top of
//! postgres-protocol's message codecs.

mod stream;

use std::collections::HashMap;

use fallible_iterator::FallibleIterator;
use postgres_protocol::message::backend::{DataRowBody, Message};
use postgres_protocol::message::frontend;
use rivulet_core::Lsn;

pub use self::stream::{ReplicationMessage, ReplicationStream};
use crate::sql::quote_literal;
use crate::wire::{Backend, Wire, message_name};
use crate::{ConnectionConfig, PgError, ServerError, auth, transport};

/// Session settings that make the server's text output (pgoutput's tuple data and query
/// results) the same whatever the server's or the role's defaults are.
pub const SESSION_SETTINGS: &[(&str, &str)] = &[
    ("DateStyle", "ISO"),
    ("IntervalStyle", "postgres"),
    ("TimeZone", "UTC"),
    ("extra_float_digits", "3"),
    ("bytea_output", "hex"),
    ("lc_monetary", "C"),
];

/// The answer to IDENTIFY_SYSTEM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SystemInfo {
    /// The cluster's unique system identifier (a 64-bit number, as text).
    pub system_id: String,
    pub timeline: u32,
    /// The current WAL flush position.
    pub xlogpos: Lsn,
    /// The database we are connected to (`None` on a physical replication connection).
    pub dbname: Option<String>,
}

/// What CREATE_REPLICATION_SLOT does about a snapshot of the data at the slot's starting point.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SlotSnapshot {
    /// Export a snapshot that other sessions can import with `SET TRANSACTION SNAPSHOT` until
    /// this connection runs its next command (or closes).
    Export,
    /// No snapshot.
    NoExport,
    /// Use the snapshot in this connection's current transaction (which must have been opened
    /// with `BEGIN ISOLATION LEVEL REPEATABLE READ` and have run no query).
    Use,
}

/// The answer to CREATE_REPLICATION_SLOT.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedSlot {
    pub slot_name: String,
    /// Where the slot's change stream starts: the snapshot shows everything before it.
    pub consistent_point: Lsn,
    /// The exported snapshot's name, with [`SlotSnapshot::Export`].
    pub snapshot_name: Option<String>,
    pub output_plugin: String,
}

/// A logged-in replication connection, ready for replication commands.
pub struct ReplicationConnection {
    wire: Wire,
    process_id: i32,
    redacted: String,
}

impl ReplicationConnection {
    /// Connects in `replication=database` mode, with [`SESSION_SETTINGS`] in force.
    pub async fn connect(cfg: &ConnectionConfig) -> Result<Self, PgError> {
        transport::with_connect_timeout(cfg, async {
            let stream = transport::open(cfg).await?;
            let tls = stream.is_tls();
            let mut wire = Wire::new(stream);
            let mut params = vec![
                ("user", cfg.user.as_str()),
                ("database", cfg.dbname.as_str()),
                ("replication", "database"),
                ("application_name", cfg.application_name.as_str()),
                ("client_encoding", "UTF8"),
            ];
            params.extend_from_slice(SESSION_SETTINGS);
            let session = auth::login(&mut wire, cfg, &params).await?;
            tracing::debug!(server = %cfg.redacted(), tls, pid = session.process_id, "replication connection established");
            Ok(ReplicationConnection { wire, process_id: session.process_id, redacted: cfg.redacted() })
        })
        .await
    }

    /// Runs `sql` (one or more statements, or a replication command) with the simple query
    /// protocol and returns the text of every row of every statement.
    pub async fn simple_query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, PgError> {
        self.send_query(sql).await?;
        let mut rows = Vec::new();
        let mut error = None;
        loop {
            match self.wire.recv(QUERY_CONTEXT).await? {
                Backend::Message(msg) => match msg {
                    Message::RowDescription(_)
                    | Message::CommandComplete(_)
                    | Message::EmptyQueryResponse
                    | Message::CopyData(_)
                    | Message::CopyDone => {}
                    Message::DataRow(body) => rows.push(text_row(&body)?),
                    Message::ErrorResponse(body) => error = Some(ServerError::from_fields(body.fields())?),
                    Message::CopyInResponse(_) => {
                        // Fail the COPY so the server goes back to ready; it answers with an error.
                        frontend::copy_fail("COPY FROM STDIN is not supported here", &mut self.wire.wbuf)
                            .map_err(|e| PgError::Protocol(e.to_string()))?;
                        self.wire.flush(QUERY_CONTEXT).await?;
                    }
                    // COPY TO STDOUT: its CopyData is skipped above.
                    Message::CopyOutResponse(_) => {}
                    Message::ReadyForQuery(_) => {
                        return match error {
                            Some(e) => Err(PgError::Server(Box::new(e))),
                            None => Ok(rows),
                        };
                    }
                    other => {
                        return Err(PgError::Protocol(format!(
                            "unexpected {} in reply to a query",
                            message_name(&other)
                        )));
                    }
                },
                Backend::CopyBothResponse => {
                    return Err(PgError::Protocol(
                        "the query started streaming (COPY BOTH); use start_logical_replication for \
                         START_REPLICATION"
                            .to_string(),
                    ));
                }
            }
        }
    }

    /// IDENTIFY_SYSTEM: the cluster's identity and current WAL position.
    pub async fn identify_system(&mut self) -> Result<SystemInfo, PgError> {
        let rows = self.simple_query("IDENTIFY_SYSTEM").await?;
        let row = single_row(&rows, 4, "IDENTIFY_SYSTEM")?;
        Ok(SystemInfo {
            system_id: required(row, 0, "IDENTIFY_SYSTEM systemid")?.to_string(),
            timeline: required(row, 1, "IDENTIFY_SYSTEM timeline")?
                .parse()
                .map_err(|_| PgError::Protocol("IDENTIFY_SYSTEM returned a non-numeric timeline".into()))?,
            xlogpos: parse_lsn(required(row, 2, "IDENTIFY_SYSTEM xlogpos")?)?,
            dbname: row[3].clone(),
        })
    }

    /// CREATE_REPLICATION_SLOT `name` [TEMPORARY] LOGICAL `plugin`, with the snapshot behaviour
    /// asked for. A temporary slot lives as long as this connection.
    pub async fn create_logical_slot(
        &mut self,
        name: &str,
        plugin: &str,
        temporary: bool,
        snapshot: SlotSnapshot,
    ) -> Result<CreatedSlot, PgError> {
        // PostgreSQL 15 introduced the parenthesized options and deprecated the old keywords.
        validate_slot_name(name)?;
        let legacy = self.server_version_num().is_some_and(|v| v < 150_000);
        let command = create_slot_command(name, plugin, temporary, snapshot, legacy)?;
        let rows = self.simple_query(&command).await?;
        let row = single_row(&rows, 4, "CREATE_REPLICATION_SLOT")?;
        Ok(CreatedSlot {
            slot_name: required(row, 0, "CREATE_REPLICATION_SLOT slot_name")?.to_string(),
            consistent_point: parse_lsn(required(row, 1, "CREATE_REPLICATION_SLOT consistent_point")?)?,
            snapshot_name: row[2].clone(),
            output_plugin: required(row, 3, "CREATE_REPLICATION_SLOT output_plugin")?.to_string(),
        })
    }

    /// START_REPLICATION SLOT `slot` LOGICAL `start` (`options`): from here on the connection
    /// streams changes. Server errors (slot in use: 55006, no such slot: 42704, bad plugin
    /// option) come back as [`PgError::Server`].
    pub async fn start_logical_replication(
        mut self,
        slot: &str,
        start: Lsn,
        options: &[(&str, &str)],
    ) -> Result<ReplicationStream, PgError> {
        validate_slot_name(slot)?;
        let command = start_replication_command(slot, start, options)?;
        self.send_query(&command).await?;
        let mut error = None;
        loop {
            match self.wire.recv("starting replication").await? {
                Backend::CopyBothResponse => {
                    tracing::debug!(server = %self.redacted, %slot, %start, "replication started");
                    return Ok(ReplicationStream::new(self.wire, self.redacted));
                }
                Backend::Message(Message::ErrorResponse(body)) => {
                    error = Some(ServerError::from_fields(body.fields())?);
                }
                Backend::Message(Message::ReadyForQuery(_)) => {
                    return Err(match error {
                        Some(e) => PgError::Server(Box::new(e)),
                        None => PgError::Protocol("START_REPLICATION ended without streaming".to_string()),
                    });
                }
                Backend::Message(other) => {
                    return Err(PgError::Protocol(format!(
                        "unexpected {} in reply to START_REPLICATION",
                        message_name(&other)
                    )));
                }
            }
        }
    }

    /// The server's version as in `server_version_num` (150004 for 15.4).
    pub fn server_version_num(&self) -> Option<u32> {
        self.parameter("server_version").and_then(parse_server_version)
    }

    /// A setting the server reported with ParameterStatus (server_version, TimeZone, DateStyle,
    /// integer_datetimes, ...).
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.wire.params.get(name).map(String::as_str)
    }

    /// All settings the server reported with ParameterStatus.
    pub fn parameters(&self) -> &HashMap<String, String> {
        &self.wire.params
    }

    /// The server process serving this connection (`pg_stat_replication.pid`).
    pub fn backend_pid(&self) -> i32 {
        self.process_id
    }

    /// Ends the session politely (Terminate), so the server logs no "unexpected EOF".
    pub async fn close(mut self) -> Result<(), PgError> {
        frontend::terminate(&mut self.wire.wbuf);
        self.wire.flush("closing the connection").await
    }

    async fn send_query(&mut self, sql: &str) -> Result<(), PgError> {
        frontend::query(sql, &mut self.wire.wbuf)
            .map_err(|e| PgError::Config(format!("cannot send this query: {e}")))?;
        self.wire.flush(QUERY_CONTEXT).await
    }
}

impl std::fmt::Debug for ReplicationConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplicationConnection")
            .field("server", &self.redacted)
            .field("backend_pid", &self.process_id)
            .finish_non_exhaustive()
    }
}

const QUERY_CONTEXT: &str = "running a query";

/// The server's rule (ReplicationSlotValidateName), checked here for an early, clear error.
fn validate_slot_name(name: &str) -> Result<(), PgError> {
    let valid = (1..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(PgError::Config(format!(
            "invalid replication slot name \"{}\": use 1 to 63 lower-case letters, digits and underscores",
            name.escape_debug()
        )))
    }
}

/// `"name"`: a quoted identifier. The replication command scanner has no escape for a double
/// quote inside one, so such names are refused rather than mangled.
fn quote_ident(s: &str) -> Result<String, PgError> {
    if s.contains(['"', '\0']) || s.is_empty() {
        return Err(PgError::Config(format!(
            "\"{}\" cannot be used as a name in a replication command (empty, or contains '\"' or NUL)",
            s.escape_debug()
        )));
    }
    Ok(format!("\"{s}\""))
}

fn create_slot_command(
    name: &str,
    plugin: &str,
    temporary: bool,
    snapshot: SlotSnapshot,
    legacy: bool,
) -> Result<String, PgError> {
    let mut command = format!("CREATE_REPLICATION_SLOT {}", quote_ident(name)?);
    if temporary {
        command.push_str(" TEMPORARY");
    }
    command.push_str(" LOGICAL ");
    command.push_str(&quote_ident(plugin)?);
    command.push_str(match (legacy, snapshot) {
        (false, SlotSnapshot::Export) => " (SNAPSHOT 'export')",
        (false, SlotSnapshot::NoExport) => " (SNAPSHOT 'nothing')",
        (false, SlotSnapshot::Use) => " (SNAPSHOT 'use')",
        (true, SlotSnapshot::Export) => " EXPORT_SNAPSHOT",
        (true, SlotSnapshot::NoExport) => " NOEXPORT_SNAPSHOT",
        (true, SlotSnapshot::Use) => " USE_SNAPSHOT",
    });
    Ok(command)
}

fn start_replication_command(slot: &str, start: Lsn, options: &[(&str, &str)]) -> Result<String, PgError> {
    let mut command = format!("START_REPLICATION SLOT {} LOGICAL {start}", quote_ident(slot)?);
    if !options.is_empty() {
        let list = options
            .iter()
            .map(|(name, value)| Ok(format!("{} {}", quote_ident(name)?, quote_literal(value))))
            .collect::<Result<Vec<String>, PgError>>()?;
        command.push_str(" (");
        command.push_str(&list.join(", "));
        command.push(')');
    }
    Ok(command)
}

fn text_row(body: &DataRowBody) -> Result<Vec<Option<String>>, PgError> {
    let buf = body.buffer();
    let mut values = Vec::new();
    let mut ranges = body.ranges();
    while let Some(range) = ranges
        .next()
        .map_err(|e| PgError::Protocol(format!("malformed DataRow: {e}")))?
    {
        values.push(match range {
            None => None,
            Some(r) => Some(
                String::from_utf8(buf[r].to_vec())
                    .map_err(|_| PgError::Protocol("a text value is not valid UTF-8".to_string()))?,
            ),
        });
    }
    Ok(values)
}

fn single_row<'a>(
    rows: &'a [Vec<Option<String>>],
    columns: usize,
    what: &str,
) -> Result<&'a [Option<String>], PgError> {
    match rows {
        [row] if row.len() >= columns => Ok(row),
        _ => Err(PgError::Protocol(format!(
            "{what} returned {} rows instead of one with {columns} columns",
            rows.len()
        ))),
    }
}

fn required<'a>(row: &'a [Option<String>], i: usize, what: &str) -> Result<&'a str, PgError> {
    row[i]
        .as_deref()
        .ok_or_else(|| PgError::Protocol(format!("{what} is NULL")))
}

fn parse_lsn(s: &str) -> Result<Lsn, PgError> {
    s.parse()
        .map_err(|e| PgError::Protocol(format!("the server sent {e}")))
}

/// `15.4 (Debian 15.4-1.pgdg120+1)` → 150004; `9.6.24` → 90624; `16beta1` → 160000.
fn parse_server_version(v: &str) -> Option<u32> {
    let numeric: String = v
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let mut parts = numeric.split('.').map(|p| p.parse::<u32>().ok());
    let major = parts.next().flatten()?;
    let minor = parts.next().flatten().unwrap_or(0);
    if major >= 10 {
        Some(major * 10_000 + minor)
    } else {
        let patch = parts.next().flatten().unwrap_or(0);
        Some(major * 10_000 + minor * 100 + patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_names_and_values() {
        assert_eq!(
            start_replication_command(
                "my_slot",
                Lsn(0x1_0000_00FF),
                &[("proto_version", "1"), ("publication_names", "a','b\"")]
            )
            .unwrap(),
            "START_REPLICATION SLOT \"my_slot\" LOGICAL 1/FF (\"proto_version\" '1', \"publication_names\" 'a'',''b\"')"
        );
        assert_eq!(
            start_replication_command("s", Lsn::ZERO, &[]).unwrap(),
            "START_REPLICATION SLOT \"s\" LOGICAL 0/0"
        );
        let err = start_replication_command("s", Lsn::ZERO, &[("x\" y", "1")]).unwrap_err();
        assert!(matches!(err, PgError::Config(_)), "{err}");
        for bad in ["", "A", "a-b", "a\"b", &"x".repeat(64)] {
            assert!(validate_slot_name(bad).is_err(), "{bad}");
        }
        validate_slot_name(&"x".repeat(63)).unwrap();
        validate_slot_name("rivulet_0").unwrap();
    }

    #[test]
    fn builds_slot_commands_for_old_and_new_servers() {
        assert_eq!(
            create_slot_command("s", "pgoutput", true, SlotSnapshot::Export, false).unwrap(),
            "CREATE_REPLICATION_SLOT \"s\" TEMPORARY LOGICAL \"pgoutput\" (SNAPSHOT 'export')"
        );
        assert_eq!(
            create_slot_command("s", "pgoutput", false, SlotSnapshot::NoExport, false).unwrap(),
            "CREATE_REPLICATION_SLOT \"s\" LOGICAL \"pgoutput\" (SNAPSHOT 'nothing')"
        );
        assert_eq!(
            create_slot_command("s", "pgoutput", false, SlotSnapshot::Use, true).unwrap(),
            "CREATE_REPLICATION_SLOT \"s\" LOGICAL \"pgoutput\" USE_SNAPSHOT"
        );
    }

    #[test]
    fn parses_server_versions() {
        assert_eq!(
            parse_server_version("15.4 (Debian 15.4-1.pgdg120+1)"),
            Some(150004)
        );
        assert_eq!(parse_server_version("9.6.24"), Some(90624));
        assert_eq!(parse_server_version("16beta1"), Some(160000));
        assert_eq!(parse_server_version("10.1"), Some(100001));
        assert_eq!(parse_server_version("devel"), None);
    }
}
