//! The `[source]` section for `type = "postgres"`.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use rivulet_core::TableId;

/// Settings of a PostgreSQL source, as written in the pipeline file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresSourceConfig {
    /// `postgres://user[:password]@host[:port]/database[?sslmode=…]`.
    pub url: String,
    /// Tables to capture: `schema.table`, `schema.*` for every table of a schema, or `*` for
    /// every table. May be left out when the regex lists below say what to capture.
    #[serde(default, deserialize_with = "string_or_list")]
    pub tables: Vec<String>,
    /// Debezium's `table.include.list`: regexes matched (whole, case-insensitively) against
    /// `schema.table`; a table matching any is captured.
    #[serde(default, deserialize_with = "string_or_list")]
    pub table_include_list: Vec<String>,
    /// Debezium's `table.exclude.list`: tables matching any are not captured.
    #[serde(default, deserialize_with = "string_or_list")]
    pub table_exclude_list: Vec<String>,
    /// Debezium's `schema.include.list`: every table of a matching schema is captured.
    #[serde(default, deserialize_with = "string_or_list")]
    pub schema_include_list: Vec<String>,
    /// Debezium's `schema.exclude.list`.
    #[serde(default, deserialize_with = "string_or_list")]
    pub schema_exclude_list: Vec<String>,
    /// Debezium's `publication.autocreate.mode` when the publication does not exist:
    /// `filtered` (default: for the captured tables), `all_tables`, `no_tables`, `disabled`
    /// (never create it: an error says how).
    #[serde(default)]
    pub publication_autocreate: PublicationAutocreate,
    /// Debezium's `provide.transaction.metadata`: BEGIN/END records on `<prefix>.transaction`
    /// and a `transaction` block in every event.
    #[serde(default)]
    pub provide_transaction_metadata: bool,
    /// How often an idle stream's position moves on (so the slot's WAL can be recycled while
    /// nothing captured changes), `heartbeat_query` runs, and heartbeat records go out when
    /// `heartbeat_records` is on. `0s` turns heartbeats off. Debezium's `heartbeat.interval.ms`.
    #[serde(default = "default_heartbeat_interval", with = "humantime_serde")]
    pub heartbeat_interval: Duration,
    /// Emit a Debezium heartbeat record at every heartbeat (off by default; on when a Debezium
    /// configuration sets `heartbeat.interval.ms`).
    #[serde(default)]
    pub heartbeat_records: bool,
    /// SQL run on the source at every heartbeat (Debezium's `heartbeat.action.query`), e.g.
    /// `SELECT pg_logical_emit_message(false, 'heartbeat', now()::text)` when the only traffic
    /// is in other databases of a busy server.
    pub heartbeat_query: Option<String>,
    /// Warn (log and `rivulet_slot_retained_wal_warning`) while the slot retains more WAL than
    /// this: `1GB` by default; bytes or a size with kB, MB, GB, TB.
    #[serde(default = "default_warn_retained_wal", deserialize_with = "byte_size")]
    pub warn_retained_wal: u64,
    /// How often the slot is checked (retained WAL, invalidation).
    #[serde(default = "default_slot_check_interval", with = "humantime_serde")]
    pub slot_check_interval: Duration,
    /// Replication slot; default `rivulet_<pipeline name>`. Created (pgoutput) if missing.
    pub slot: Option<String>,
    /// Publication; default `rivulet_<pipeline name>`. Created for `tables` if missing; an
    /// existing one is used as it is.
    pub publication: Option<String>,
    #[serde(default)]
    pub snapshot: SnapshotMode,
    /// Debezium's `topic.prefix`; default: the pipeline name.
    pub topic_prefix: Option<String>,
    /// Connections reading a snapshot in parallel; default: the number of CPU cores.
    pub snapshot_parallelism: Option<usize>,
    /// Rows per snapshot chunk (the unit of parallel reading and of resuming).
    #[serde(default = "default_chunk_rows")]
    pub snapshot_chunk_rows: u64,
    /// Operations not to emit, as Debezium's `skipped.operations`: any of "c", "u", "d", "t"
    /// (or "none"). Rivulet emits everything by default; Debezium skips truncates ("t").
    #[serde(default, deserialize_with = "string_or_list")]
    pub skipped_operations: Vec<String>,
    /// How often to report progress to the server even when nothing changes (at most 10 s, so
    /// the server never times the connection out with default settings).
    #[serde(default = "default_status_interval", with = "humantime_serde")]
    pub status_interval: Duration,
}

fn default_chunk_rows() -> u64 {
    100_000
}

fn default_status_interval() -> Duration {
    Duration::from_secs(10)
}

fn default_heartbeat_interval() -> Duration {
    Duration::from_secs(10)
}

fn default_slot_check_interval() -> Duration {
    Duration::from_secs(10)
}

fn default_warn_retained_wal() -> u64 {
    1 << 30
}

/// `1073741824`, `"1GB"`, `"512 MB"`, `"64kB"`: PostgreSQL's units (powers of 1024).
fn byte_size<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Size {
        Bytes(u64),
        Text(String),
    }
    match Size::deserialize(d)? {
        Size::Bytes(n) => Ok(n),
        Size::Text(t) => parse_byte_size(&t).map_err(serde::de::Error::custom),
    }
}

pub fn parse_byte_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("'{text}' is not a size: write bytes, or a number with kB, MB, GB or TB"))?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "kb" | "kib" => 10,
        "mb" | "mib" => 20,
        "gb" | "gib" => 30,
        "tb" | "tib" => 40,
        _ => {
            return Err(format!(
                "'{text}': unknown unit '{}': use kB, MB, GB or TB",
                unit.trim()
            ));
        }
    };
    n.checked_mul(1 << shift)
        .ok_or_else(|| format!("'{text}' is too large"))
}

/// Debezium's `publication.autocreate.mode`.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PublicationAutocreate {
    #[default]
    Filtered,
    AllTables,
    NoTables,
    Disabled,
}

/// Debezium's `snapshot.mode`: whether existing rows are read before streaming.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotMode {
    /// Stream changes from the slot; rows that existed before are not read.
    #[default]
    NoData,
    /// Snapshot every table when the pipeline has no offsets yet, then stream from the exact
    /// point the snapshot saw.
    Initial,
    /// Snapshot, then stop.
    InitialOnly,
    /// As `initial`, and snapshot again when the slot no longer covers the offsets (dropped,
    /// invalidated, or moved past them).
    WhenNeeded,
}

impl fmt::Display for SnapshotMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SnapshotMode::NoData => "no_data",
            SnapshotMode::Initial => "initial",
            SnapshotMode::InitialOnly => "initial_only",
            SnapshotMode::WhenNeeded => "when_needed",
        })
    }
}

/// Accepts `tables = ["a.b", "c.*"]` and, for `--set source.tables=a.b,c.d`, a comma-separated string.
fn string_or_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => s
            .split(',')
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect(),
        OneOrMany::Many(v) => v,
    })
}

/// One entry of `tables`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TablePattern {
    Table(TableId),
    /// `schema.*`
    Schema(String),
    /// `*`: every table outside PostgreSQL's own schemas (Debezium's default without include
    /// lists).
    All,
}

impl TablePattern {
    /// Parses `schema.table`, `schema.*`, or `"Quoted Schema"."Quoted Table"`. An unqualified
    /// name means schema `public`, as in PostgreSQL's default search path.
    pub fn parse(s: &str) -> Result<Self, String> {
        let parts = split_qualified(s)?;
        match parts.as_slice() {
            [table] if table == "*" => Ok(TablePattern::All),
            [table] => Ok(TablePattern::Table(TableId::new("public", table.clone()))),
            [schema, table] if table == "*" => Ok(TablePattern::Schema(schema.clone())),
            [schema, table] => Ok(TablePattern::Table(TableId::new(schema.clone(), table.clone()))),
            _ => Err(format!(
                "'{s}' is not a table name: expected 'schema.table' or 'schema.*'"
            )),
        }
    }

    pub fn matches(&self, id: &TableId) -> bool {
        match self {
            TablePattern::Table(t) => t == id,
            TablePattern::Schema(s) => &id.schema == s,
            TablePattern::All => true,
        }
    }
}

impl fmt::Display for TablePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TablePattern::Table(t) => write!(f, "{t}"),
            TablePattern::Schema(s) => write!(f, "{s}.*"),
            TablePattern::All => f.write_str("*"),
        }
    }
}

/// Splits a dotted name into parts, honouring double quotes (`"a.b".c` is two parts).
fn split_qualified(s: &str) -> Result<Vec<String>, String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut chars = s.trim().chars().peekable();
    let mut quoted_part = false;
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quoted_part = true;
                loop {
                    match chars.next() {
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            cur.push('"');
                        }
                        Some('"') => break,
                        Some(c) => cur.push(c),
                        None => return Err(format!("'{s}': unterminated double quote")),
                    }
                }
            }
            '.' => {
                if cur.is_empty() && !quoted_part {
                    return Err(format!("'{s}': empty name part"));
                }
                parts.push(std::mem::take(&mut cur));
                quoted_part = false;
            }
            c => cur.push(c),
        }
    }
    if cur.is_empty() && !quoted_part {
        return Err(format!("'{s}': empty name part"));
    }
    parts.push(cur);
    Ok(parts)
}

/// The table filter: which tables of the stream become events. Exact names and `schema.*`
/// from `tables`, and Debezium's include/exclude regex lists.
#[derive(Clone, Debug)]
pub struct TableFilter {
    patterns: Vec<TablePattern>,
    table_include: Vec<regex::Regex>,
    table_exclude: Vec<regex::Regex>,
    schema_include: Vec<regex::Regex>,
    schema_exclude: Vec<regex::Regex>,
}

/// A Debezium list regex: matched whole and case-insensitively, as Debezium does.
fn list_regex(key: &str, pattern: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(&format!("(?i)^(?:{pattern})$"))
        .map_err(|e| format!("source.{key}: '{pattern}' is not a valid regex: {e}"))
}

impl TableFilter {
    pub fn parse(tables: &[String]) -> Result<Self, String> {
        Self::new(tables, &[], &[], &[], &[])
    }

    pub fn from_config(c: &PostgresSourceConfig) -> Result<Self, String> {
        Self::new(
            &c.tables,
            &c.table_include_list,
            &c.table_exclude_list,
            &c.schema_include_list,
            &c.schema_exclude_list,
        )
    }

    fn new(
        tables: &[String],
        table_include: &[String],
        table_exclude: &[String],
        schema_include: &[String],
        schema_exclude: &[String],
    ) -> Result<Self, String> {
        if tables.is_empty() && table_include.is_empty() && schema_include.is_empty() {
            return Err(
                "source.tables is empty: list the tables to capture, e.g. [\"public.orders\"] or \
                 [\"public.*\"] (or use table_include_list / schema_include_list)"
                    .into(),
            );
        }
        if !table_include.is_empty() && !table_exclude.is_empty() {
            return Err(
                "source.table_include_list and table_exclude_list cannot both be set (as in Debezium)".into(),
            );
        }
        if !schema_include.is_empty() && !schema_exclude.is_empty() {
            return Err(
                "source.schema_include_list and schema_exclude_list cannot both be set (as in Debezium)"
                    .into(),
            );
        }
        let patterns = tables
            .iter()
            .map(|t| TablePattern::parse(t))
            .collect::<Result<Vec<_>, _>>()?;
        let compile = |key: &str, list: &[String]| {
            list.iter()
                .map(|p| list_regex(key, p))
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(TableFilter {
            patterns,
            table_include: compile("table_include_list", table_include)?,
            table_exclude: compile("table_exclude_list", table_exclude)?,
            schema_include: compile("schema_include_list", schema_include)?,
            schema_exclude: compile("schema_exclude_list", schema_exclude)?,
        })
    }

    /// The exact names and `schema.*` entries of `tables`.
    pub fn patterns(&self) -> &[TablePattern] {
        &self.patterns
    }

    /// Whether a table is captured. Called once per table schema, not per event.
    ///
    /// An exact entry of `tables` always captures. The regex lists combine as in Debezium: a
    /// table must pass both the schema lists and the table lists (an include list that is not
    /// set passes everything); the exclude lists apply to `tables` entries too.
    pub fn matches(&self, id: &TableId) -> bool {
        let qualified = format!("{}.{}", id.schema, id.name);
        let any = |list: &[regex::Regex], s: &str| list.iter().any(|r| r.is_match(s));
        let by_lists = (!self.table_include.is_empty() || !self.schema_include.is_empty())
            && (self.schema_include.is_empty() || any(&self.schema_include, &id.schema))
            && (self.table_include.is_empty() || any(&self.table_include, &qualified));
        let included = self.patterns.iter().any(|p| p.matches(id)) || by_lists;
        included && !any(&self.table_exclude, &qualified) && !any(&self.schema_exclude, &id.schema)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_sizes_in_postgres_units() {
        assert_eq!(parse_byte_size("1GB"), Ok(1 << 30));
        assert_eq!(parse_byte_size("512 MB"), Ok(512 << 20));
        assert_eq!(parse_byte_size("64kB"), Ok(64 << 10));
        assert_eq!(parse_byte_size("100"), Ok(100));
        assert!(parse_byte_size("1 GiGa").unwrap_err().contains("unknown unit"));
        assert!(parse_byte_size("lots").is_err());
    }

    #[test]
    fn table_patterns() {
        assert_eq!(
            TablePattern::parse("public.orders").unwrap(),
            TablePattern::Table(TableId::new("public", "orders"))
        );
        assert_eq!(
            TablePattern::parse("orders").unwrap(),
            TablePattern::Table(TableId::new("public", "orders"))
        );
        assert_eq!(
            TablePattern::parse("shop.*").unwrap(),
            TablePattern::Schema("shop".into())
        );
        assert_eq!(
            TablePattern::parse("\"My.Schema\".\"Shop \"\"Mixed\"\"\"").unwrap(),
            TablePattern::Table(TableId::new("My.Schema", "Shop \"Mixed\""))
        );
        assert!(TablePattern::parse("a.b.c").is_err());
        assert!(TablePattern::parse("a.").is_err());
        assert_eq!(TablePattern::parse("*").unwrap(), TablePattern::All);
        assert!(TablePattern::parse("\"open").is_err());
        let f = TableFilter::parse(&["shop.*".into(), "public.orders".into()]).unwrap();
        assert!(f.matches(&TableId::new("shop", "anything")));
        assert!(f.matches(&TableId::new("public", "orders")));
        assert!(!f.matches(&TableId::new("public", "other")));
        assert!(TableFilter::parse(&[]).is_err());
        let f = TableFilter::new(&[], &["shop\\.ord.*".into()], &[], &[], &[]).unwrap();
        assert!(f.matches(&TableId::new("shop", "orders")) && f.matches(&TableId::new("SHOP", "Orders")));
        assert!(
            !f.matches(&TableId::new("shop", "customers")) && !f.matches(&TableId::new("xshop", "orders"))
        );
        let f = TableFilter::new(&[], &[], &["public\\.secret.*".into()], &["public".into()], &[]).unwrap();
        assert!(
            f.matches(&TableId::new("public", "orders")) && !f.matches(&TableId::new("public", "secrets"))
        );
        assert!(TableFilter::new(&[], &["a".into()], &["b".into()], &[], &[]).is_err());
        assert!(
            TableFilter::new(&[], &["(".into()], &[], &[], &[])
                .unwrap_err()
                .contains("not a valid regex")
        );
    }
}
