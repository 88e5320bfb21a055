//! `rivulet run --debezium connector.json`: runs the pipeline a Debezium PostgreSQL connector
//! configuration describes, unchanged.
//!
//! ```text
//!  connector.json / .properties ─▶ properties ─▶ ${env:…}/${file:…} ─▶ --set overrides
//!        │                                                                  │
//!        │         each property: mapped │ operational (warning) │ unsupported (error)
//!        ▼                                                                  ▼
//!  --jsonl / --sink-config / bootstrap.servers ─▶ pipeline document (TOML) ─▶ config::from_table
//! ```
//!
//! Defaults are Debezium 3.6's (slot `debezium`, publication `dbz_publication` created for all
//! tables, `snapshot.mode = initial`, truncates skipped, unknown types dropped…), so the events
//! are the ones the connector would have produced. A property Rivulet does not implement is an
//! error naming it; purely operational ones (Kafka Connect's task and queue tuning) are logged
//! as warnings and ignored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::{self, ConfigError, PipelineConfig};

/// What `--debezium` was given on the command line.
pub struct DebeziumArgs<'a> {
    pub path: &'a Path,
    /// `--set property=value`.
    pub overrides: &'a [String],
    /// `--jsonl PATH`: write the JSONL line format instead of producing to Kafka.
    pub jsonl: Option<&'a Path>,
    /// `--sink-config FILE`: a TOML file with a `[sink]` section.
    pub sink_config: Option<&'a Path>,
}

/// A translated connector configuration.
#[derive(Debug)]
pub struct Translated {
    pub config: PipelineConfig,
    /// Properties that were ignored (operational tuning) or approximated, for the log.
    pub warnings: Vec<String>,
}

const CONNECTOR_CLASS: &str = "io.debezium.connector.postgresql.PostgresConnector";

/// Loads and translates a connector configuration.
pub fn load(args: &DebeziumArgs<'_>) -> Result<Translated, ConfigError> {
    let file = args.path.display().to_string();
    let text = std::fs::read_to_string(args.path)
        .map_err(|e| ConfigError::new(&file, format!("cannot read the connector configuration: {e}")))?;
    let (name, mut props) = parse_connector(&text, args.path).map_err(|m| ConfigError::new(&file, m))?;
    for spec in args.overrides {
        let (k, v) = spec
            .split_once('=')
            .ok_or_else(|| ConfigError::new(&file, format!("--set {spec}: expected property=value")))?;
        props.insert(k.trim().to_string(), v.to_string());
    }
    // Debezium Server's application.properties spell connector properties with a prefix.
    let props: BTreeMap<String, String> = props
        .into_iter()
        .map(|(k, v)| match k.strip_prefix("debezium.source.") {
            Some(rest) => (rest.to_string(), v),
            None => (k, v),
        })
        .collect();
    let mut props = props;
    for (key, value) in props.iter_mut() {
        *value = resolve_providers(value)
            .map_err(|m| ConfigError::new(&file, format!("property `{key}`: {m}")))?;
    }
    let name = name
        .or_else(|| props.get("name").cloned())
        .or_else(|| args.path.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "debezium".to_string());
    let sink = match (args.jsonl, args.sink_config) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::new(
                &file,
                "give either --jsonl or --sink-config, not both".to_string(),
            ));
        }
        (Some(path), None) => Some(SinkChoice::Jsonl(path.to_path_buf())),
        (None, Some(path)) => Some(SinkChoice::File(config::load_sink_section(path)?)),
        (None, None) => None,
    };
    let t = translate(&name, props, sink).map_err(|m| ConfigError::new(&file, m))?;
    let mut config = config::from_table(&file, t.document)?;
    let mut warnings = t.warnings;
    config.transforms = rivulet_transform::from_debezium_properties(&t.transform_properties)
        .map_err(|e| ConfigError::new(&file, e.to_string()))?;
    warnings.append(&mut config.transforms.warnings);
    Ok(Translated { config, warnings })
}

/// Where events go, from the command line.
enum SinkChoice {
    Jsonl(PathBuf),
    /// A `[sink]` table, already checked.
    File(toml::Table),
}

/// Reads the Kafka Connect JSON form (`{"name": …, "config": {…}}`), a bare config object, or
/// a Java `.properties` file. Returns the connector name when the file gives one.
fn parse_connector(text: &str, path: &Path) -> Result<(Option<String>, BTreeMap<String, String>), String> {
    let json = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"))
        || text.trim_start().starts_with('{');
    if !json {
        return Ok((None, parse_properties(text)?));
    }
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| format!("not valid JSON: {e} (expected {{\"name\": …, \"config\": {{…}}}})"))?;
    let serde_json::Value::Object(mut object) = value else {
        return Err(
            "expected a JSON object: {\"name\": …, \"config\": {…}} or the config object itself".into(),
        );
    };
    let (name, config) = match object.remove("config") {
        Some(serde_json::Value::Object(config)) => {
            let name = match object.remove("name") {
                Some(serde_json::Value::String(n)) => Some(n),
                Some(_) => return Err("`name` must be a string".into()),
                None => None,
            };
            if let Some(other) = object.keys().next() {
                return Err(format!(
                    "unexpected top-level key `{other}`: the Kafka Connect form has only `name` and `config`"
                ));
            }
            (name, config)
        }
        Some(_) => return Err("`config` must be an object of connector properties".into()),
        None => (None, object),
    };
    let mut props = BTreeMap::new();
    for (key, value) in config {
        let text = match value {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            serde_json::Value::Null => continue,
            _ => return Err(format!("property `{key}` must be a string, number or boolean")),
        };
        props.insert(key, text);
    }
    Ok((name, props))
}

/// Java `.properties`: `key=value`, `key: value` or `key value`; `#`/`!` comments; a trailing
/// backslash continues a line; `\t`, `\n`, `\uXXXX` escapes.
fn parse_properties(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut props = BTreeMap::new();
    let mut lines = text.lines().enumerate();
    while let Some((number, line)) = lines.next() {
        let mut logical = line.trim_start().to_string();
        if logical.is_empty() || logical.starts_with('#') || logical.starts_with('!') {
            continue;
        }
        while ends_with_odd_backslashes(&logical) {
            logical.pop();
            match lines.next() {
                Some((_, next)) => logical.push_str(next.trim_start()),
                None => break,
            }
        }
        let (key, value) = split_property(&logical);
        let key = unescape(key).map_err(|m| format!("line {}: {m}", number + 1))?;
        let value = unescape(value).map_err(|m| format!("line {}: {m}", number + 1))?;
        props.insert(key, value);
    }
    Ok(props)
}

fn ends_with_odd_backslashes(s: &str) -> bool {
    s.bytes().rev().take_while(|b| *b == b'\\').count() % 2 == 1
}

/// Splits at the first unescaped `=`, `:` or whitespace (the Java rules).
fn split_property(line: &str) -> (&str, &str) {
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'=' | b':' | b' ' | b'\t' => break,
            _ => i += 1,
        }
    }
    let i = i.min(line.len());
    let key = &line[..i];
    let mut rest = line[i..].trim_start_matches([' ', '\t']);
    if let Some(r) = rest.strip_prefix(['=', ':']) {
        rest = r.trim_start_matches([' ', '\t']);
    }
    (key, rest)
}

fn unescape(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let code = u32::from_str_radix(&hex, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| format!("`\\u{hex}` is not a valid unicode escape"))?;
                out.push(code);
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    Ok(out)
}

/// Kafka Connect's config providers as they are usually configured: `${env:VAR}` (the
/// `EnvVarConfigProvider`) and `${file:/path/to.properties:key}` (the `FileConfigProvider`).
fn resolve_providers(value: &str) -> Result<String, String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let tail = &rest[start + 2..];
        let end = tail.find('}').ok_or("unterminated ${…}")?;
        let reference = &tail[..end];
        match reference.split_once(':') {
            Some(("env", var)) => {
                let v = std::env::var(var)
                    .map_err(|_| format!("environment variable {var} (from ${{env:{var}}}) is not set"))?;
                out.push_str(&v);
            }
            Some(("file", spec)) => {
                let (path, key) = spec
                    .rsplit_once(':')
                    .ok_or_else(|| format!("${{file:{spec}}}: expected ${{file:PATH:KEY}}"))?;
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("${{file:{spec}}}: cannot read {path}: {e}"))?;
                let props = parse_properties(&text).map_err(|m| format!("${{file:{spec}}}: {path}: {m}"))?;
                let v = props
                    .get(key)
                    .ok_or_else(|| format!("${{file:{spec}}}: {path} has no key `{key}`"))?;
                out.push_str(v);
            }
            _ => {
                return Err(format!(
                    "`${{{reference}}}` is not a config provider reference Rivulet resolves: use ${{env:VAR}} or \
                     ${{file:PATH:KEY}}"
                ));
            }
        }
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Properties handed to Kafka Connect's machinery rather than the connector; they change
/// nothing in the events. Ignored with a warning.
const OPERATIONAL: &[&str] = &[
    "tasks.max",
    "max.batch.size",
    "max.queue.size",
    "max.queue.size.in.bytes",
    "poll.interval.ms",
    "retriable.restart.connector.wait.ms",
    "snapshot.fetch.size",
    "snapshot.lock.timeout.ms",
    "snapshot.locking.mode",
    "snapshot.delay.ms",
    "streaming.delay.ms",
    "slot.max.retries",
    "slot.retry.delay.ms",
    "custom.metric.tags",
    "database.tcpKeepAlive",
    "database.query.timeout.ms",
    "connection.validation.timeout.ms",
    "schema.refresh.mode",
    "offset.flush.timeout.ms",
    "topic.cache.size",
    "config.action.reload",
    "header.converter",
    "incremental.snapshot.chunk.size",
    "errors.retry.delay.initial.ms",
    "errors.retry.delay.max.ms",
    "errors.max.retries",
    "errors.retry.timeout",
    "errors.log.enable",
    "errors.log.include.messages",
    "database.connectionTimeZone",
    "lsn.flush.timeout.ms",
    "lsn.flush.timeout.action",
];

/// Properties with a known meaning that Rivulet does not implement, and what to do instead.
const UNSUPPORTED: &[(&str, &str)] = &[
    (
        "database.server.name",
        "Debezium 2.0 replaced it with `topic.prefix`",
    ),
    (
        "database.initial.statements",
        "run the statements in the database (e.g. ALTER ROLE … SET) instead",
    ),
    (
        "database.sslcert",
        "client-certificate authentication is not supported: use a password",
    ),
    (
        "database.sslkey",
        "client-certificate authentication is not supported: use a password",
    ),
    (
        "database.sslpassword",
        "client-certificate authentication is not supported: use a password",
    ),
    (
        "database.sslfactory",
        "Rivulet verifies TLS itself: use database.sslmode and database.sslrootcert",
    ),
    ("slot.stream.params", "pgoutput's parameters are fixed by Rivulet"),
    (
        "snapshot.include.collection.list",
        "capture fewer tables with table.include.list",
    ),
    (
        "snapshot.select.statement.overrides",
        "filter rows downstream (transforms.*.type = Filter)",
    ),
    (
        "snapshot.query.mode",
        "Rivulet reads each table whole in key order",
    ),
    ("snapshot.mode.class", "custom snapshotters are Java classes"),
    (
        "signal.data.collection",
        "signals and incremental snapshots are not supported: use snapshot.mode=when_needed or a new slot",
    ),
    (
        "signal.enabled.channels",
        "signals and incremental snapshots are not supported",
    ),
    (
        "notification.enabled.channels",
        "notifications are not supported: watch the log and /metrics",
    ),
    (
        "replica.identity.autoset.values",
        "set REPLICA IDENTITY with ALTER TABLE before starting",
    ),
    ("converters", "custom converters are Java classes"),
    (
        "topic.creation.groups",
        "topic groups are not supported: set topic.creation.default.*",
    ),
    ("post.processors", "post processors are Java classes"),
];

/// Prefixes of properties that configure event transforms (rivulet-transform reads them).
const TRANSFORM_PREFIXES: &[&str] = &[
    "column.include.list",
    "column.exclude.list",
    "column.mask.",
    "column.truncate.",
    "column.propagate.source.type",
    "datatype.propagate.source.type",
    "message.key.columns",
    "message.prefix.include.list",
    "message.prefix.exclude.list",
    "transforms",
    "predicates",
];

/// A property map being consumed: every key must be taken by some rule.
struct Props {
    map: BTreeMap<String, String>,
    warnings: Vec<String>,
}

impl Props {
    fn take(&mut self, key: &str) -> Option<String> {
        self.map.remove(key)
    }

    fn take_or(&mut self, key: &str, default: &str) -> String {
        self.take(key).unwrap_or_else(|| default.to_string())
    }

    fn take_bool(&mut self, key: &str, default: bool) -> Result<bool, String> {
        match self.take(key) {
            None => Ok(default),
            Some(v) => match v.trim().to_ascii_lowercase().as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(format!("property `{key}` must be true or false, not \"{v}\"")),
            },
        }
    }

    fn take_u64(&mut self, key: &str) -> Result<Option<u64>, String> {
        self.take(key)
            .map(|v| {
                v.trim()
                    .parse::<u64>()
                    .map_err(|_| format!("property `{key}` must be a whole number, not \"{v}\""))
            })
            .transpose()
    }

    /// One of `allowed` (case-insensitive, as Debezium's enum properties are).
    fn take_choice(&mut self, key: &str, default: &str, allowed: &[&str]) -> Result<String, String> {
        let v = self.take_or(key, default).trim().to_ascii_lowercase();
        if allowed.contains(&v.as_str()) {
            Ok(v)
        } else {
            Err(format!(
                "property `{key}` = \"{v}\" is not supported: use one of {}",
                allowed.join(", ")
            ))
        }
    }

    fn take_list(&mut self, key: &str) -> Vec<String> {
        self.take(key).map(|v| split_list(&v)).unwrap_or_default()
    }

    /// Removes every key starting with `prefix`, returning (rest of key, value).
    fn take_prefixed(&mut self, prefix: &str) -> Vec<(String, String)> {
        let keys: Vec<String> = self
            .map
            .keys()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect();
        keys.into_iter()
            .filter_map(|k| self.map.remove(&k).map(|v| (k[prefix.len()..].to_string(), v)))
            .collect()
    }
}

/// Debezium's list properties: comma-separated regexes (a comma inside `{m,n}` is part of the
/// regex).
fn split_list(v: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    for c in v.chars() {
        match c {
            '{' => {
                depth += 1;
                current.push(c);
            }
            '}' => {
                depth = depth.saturating_sub(1);
                current.push(c);
            }
            ',' if depth == 0 => items.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    items.push(current);
    items
        .into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn tstr(s: impl Into<String>) -> toml::Value {
    toml::Value::String(s.into())
}

fn tlist(items: Vec<String>) -> toml::Value {
    toml::Value::Array(items.into_iter().map(toml::Value::String).collect())
}

/// Percent-encodes a URL component (everything outside RFC 3986's unreserved set).
fn url_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What the properties became.
struct Translation {
    /// The pipeline document, as a pipeline file would hold it.
    document: toml::Table,
    /// The column, key, message-prefix and `transforms.*` properties, for rivulet-transform.
    transform_properties: BTreeMap<String, String>,
    warnings: Vec<String>,
}

/// The translation proper: properties in, pipeline document out.
fn translate(
    name: &str,
    map: BTreeMap<String, String>,
    sink: Option<SinkChoice>,
) -> Result<Translation, String> {
    let mut p = Props {
        map,
        warnings: Vec::new(),
    };
    p.take("name");
    match p.take("connector.class") {
        Some(c) if c == CONNECTOR_CLASS || c == "PostgresConnector" => {}
        Some(c) => {
            return Err(format!(
                "connector.class \"{c}\" is not Debezium's PostgreSQL connector ({CONNECTOR_CLASS}): Rivulet reads PostgreSQL only"
            ));
        }
        None => {}
    }

    // The connection.
    let host = p
        .take("database.hostname")
        .ok_or("missing required property `database.hostname`")?;
    let port = p.take_u64("database.port")?.unwrap_or(5432);
    let user = p
        .take("database.user")
        .ok_or("missing required property `database.user`")?;
    let password = p.take("database.password").filter(|s| !s.is_empty());
    let dbname = p
        .take("database.dbname")
        .ok_or("missing required property `database.dbname`")?;
    let mut sslmode = p.take_choice(
        "database.sslmode",
        "prefer",
        &[
            "disable",
            "allow",
            "prefer",
            "require",
            "verify-ca",
            "verify-full",
        ],
    )?;
    if sslmode == "allow" {
        p.warnings.push(
            "database.sslmode=allow is treated as prefer: Rivulet tries TLS first and never falls back silently \
             after a TLS failure"
                .into(),
        );
        sslmode = "prefer".into();
    }
    let mut params = vec![format!("sslmode={sslmode}")];
    if let Some(root) = p.take("database.sslrootcert") {
        params.push(format!("sslrootcert={}", url_component(&root)));
    }
    if let Some(ms) = p.take_u64("connect.timeout.ms")? {
        params.push(format!("connect_timeout={}", ms.div_ceil(1000)));
    }
    params.push("application_name=rivulet".into());
    let host_part = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host
    };
    let auth = match &password {
        Some(pw) => format!("{}:{}", url_component(&user), url_component(pw)),
        None => url_component(&user),
    };
    let url = format!(
        "postgres://{auth}@{host_part}:{port}/{}?{}",
        url_component(&dbname),
        params.join("&")
    );

    // What is captured, and where from.
    let topic_prefix = p.take("topic.prefix").ok_or(
        "missing required property `topic.prefix` (the first part of every topic name; Debezium requires it too)",
    )?;
    match p.take("plugin.name").as_deref().map(str::trim) {
        None => p.warnings.push(
            "plugin.name is not set: Debezium's default is decoderbufs, Rivulet reads pgoutput (set plugin.name=pgoutput)"
                .into(),
        ),
        Some("pgoutput") => {}
        Some(other) => {
            return Err(format!(
                "plugin.name \"{other}\" is not supported: Rivulet decodes pgoutput (built into PostgreSQL); set \
                 plugin.name=pgoutput and a new slot.name, since a slot keeps the plugin it was created with"
            ));
        }
    }
    let mut source = toml::Table::new();
    source.insert("type".into(), tstr("postgres"));
    source.insert("url".into(), tstr(url));
    source.insert("topic_prefix".into(), tstr(topic_prefix));
    source.insert("slot".into(), tstr(p.take_or("slot.name", "debezium")));
    source.insert(
        "publication".into(),
        tstr(p.take_or("publication.name", "dbz_publication")),
    );
    let autocreate = p.take_choice(
        "publication.autocreate.mode",
        "all_tables",
        &["all_tables", "filtered", "no_tables", "disabled"],
    )?;
    source.insert("publication_autocreate".into(), tstr(autocreate));
    let table_include = p.take_list("table.include.list");
    let schema_include = p.take_list("schema.include.list");
    // Debezium captures every table when no include list is given.
    if table_include.is_empty() && schema_include.is_empty() {
        source.insert("tables".into(), tlist(vec!["*".to_string()]));
    }
    source.insert("table_include_list".into(), tlist(table_include));
    source.insert(
        "table_exclude_list".into(),
        tlist(p.take_list("table.exclude.list")),
    );
    source.insert("schema_include_list".into(), tlist(schema_include));
    source.insert(
        "schema_exclude_list".into(),
        tlist(p.take_list("schema.exclude.list")),
    );
    let snapshot = match p
        .take_or("snapshot.mode", "initial")
        .trim()
        .to_ascii_lowercase()
        .as_str()
    {
        "initial" => "initial",
        "initial_only" => "initial_only",
        "no_data" | "never" | "schema_only" => "no_data",
        "when_needed" => "when_needed",
        other => {
            return Err(format!(
                "snapshot.mode \"{other}\" is not supported: use initial, initial_only, no_data (never, schema_only) or \
                 when_needed"
            ));
        }
    };
    source.insert("snapshot".into(), tstr(snapshot));
    let threads = p.take_u64("snapshot.max.threads")?.unwrap_or(1).max(1);
    source.insert(
        "snapshot_parallelism".into(),
        toml::Value::Integer(threads.min(i64::MAX as u64) as i64),
    );
    let skipped = p.take_or("skipped.operations", "t");
    let skipped: Vec<String> = split_list(&skipped)
        .into_iter()
        .filter(|s| s != "none")
        .map(|s| s.to_ascii_lowercase())
        .collect();
    if let Some(bad) = skipped
        .iter()
        .find(|s| !matches!(s.as_str(), "c" | "u" | "d" | "t"))
    {
        return Err(format!(
            "skipped.operations: \"{bad}\" is not an operation: use c, u, d, t or none"
        ));
    }
    source.insert("skipped_operations".into(), tlist(skipped));
    let transaction_metadata = p.take_bool("provide.transaction.metadata", false)?;
    source.insert(
        "provide_transaction_metadata".into(),
        toml::Value::Boolean(transaction_metadata),
    );
    if let Some(ms) = p.take_u64("heartbeat.interval.ms")?.filter(|ms| *ms > 0) {
        source.insert("heartbeat_interval".into(), tstr(format!("{ms}ms")));
        source.insert("heartbeat_records".into(), toml::Value::Boolean(true));
    }
    if let Some(query) = p.take("heartbeat.action.query") {
        source.insert("heartbeat_query".into(), tstr(query));
    }
    if let Some(ms) = p.take_u64("status.update.interval.ms")? {
        source.insert("status_interval".into(), tstr(format!("{}ms", ms.max(1))));
    }
    for (key, must_be, why) in [
        (
            "slot.drop.on.stop",
            "false",
            "drop the slot with pg_drop_replication_slot() after the last run",
        ),
        ("slot.failover", "false", "failover slots are not supported"),
        (
            "flush.lsn.source",
            "true",
            "Rivulet always confirms what its sink made durable",
        ),
        (
            "read.only",
            "false",
            "Rivulet needs a writable primary to create its slot",
        ),
    ] {
        if let Some(v) = p.take(key)
            && !v.trim().eq_ignore_ascii_case(must_be)
        {
            return Err(format!("{key}={v} is not supported: {why}"));
        }
    }
    if let Some(ms) = p.take_u64("xmin.fetch.interval.ms")?
        && ms > 0
    {
        return Err(
            "xmin.fetch.interval.ms is not supported (source.xmin stays null): remove it or set it to 0"
                .into(),
        );
    }

    // The event format.
    let mut format = toml::Table::new();
    let decimal = p.take_choice(
        "decimal.handling.mode",
        "precise",
        &["precise", "string", "double"],
    )?;
    format.insert("decimal_handling".into(), tstr(decimal));
    let time = p.take_choice(
        "time.precision.mode",
        "adaptive",
        &[
            "adaptive",
            "adaptive_time_microseconds",
            "connect",
            "isostring",
            "microseconds",
            "nanoseconds",
        ],
    )?;
    format.insert("time_precision_mode".into(), tstr(time));
    let binary = p.take_choice(
        "binary.handling.mode",
        "bytes",
        &["bytes", "base64", "base64-url-safe", "hex"],
    )?;
    format.insert("binary_handling".into(), tstr(binary));
    let interval = p.take_choice("interval.handling.mode", "numeric", &["numeric", "string"])?;
    format.insert("interval_handling".into(), tstr(interval));
    let hstore = p.take_choice("hstore.handling.mode", "json", &["json", "map"])?;
    format.insert("hstore_handling".into(), tstr(hstore));
    format.insert(
        "tombstones_on_delete".into(),
        toml::Value::Boolean(p.take_bool("tombstones.on.delete", true)?),
    );
    format.insert(
        "unavailable_value_placeholder".into(),
        tstr(p.take_or("unavailable.value.placeholder", "__debezium_unavailable_value")),
    );
    format.insert(
        "include_unknown_datatypes".into(),
        toml::Value::Boolean(p.take_bool("include.unknown.datatypes", false)?),
    );
    let heartbeat_prefix = p
        .take("topic.heartbeat.prefix")
        .or_else(|| p.take("heartbeat.topics.prefix"))
        .unwrap_or_else(|| "__debezium-heartbeat".into());
    format.insert("heartbeat_topics_prefix".into(), tstr(heartbeat_prefix));
    for (key, default, why) in [
        (
            "money.fraction.digits",
            "2",
            "money values are written with 2 fraction digits",
        ),
        ("topic.delimiter", ".", "topic names are joined with '.'"),
        (
            "topic.transaction",
            "transaction",
            "transaction records go to <topic.prefix>.transaction",
        ),
        (
            "topic.naming.strategy",
            "io.debezium.schema.SchemaTopicNamingStrategy",
            "topics are named <prefix>.<schema>.<table>",
        ),
        (
            "schema.name.adjustment.mode",
            "none",
            "names are written as they are",
        ),
        (
            "field.name.adjustment.mode",
            "none",
            "field names are the column names as they are",
        ),
        (
            "event.processing.failure.handling.mode",
            "fail",
            "Rivulet stops on an event it cannot process rather than skip it",
        ),
    ] {
        if let Some(v) = p.take(key)
            && v.trim() != default
        {
            return Err(format!(
                "{key}={v} is not supported: {why} (Debezium's default, {default})"
            ));
        }
    }

    // Converters: Rivulet writes JsonConverter's output without schemas.
    for side in ["key", "value"] {
        if let Some(class) = p.take(&format!("{side}.converter"))
            && class.trim() != "org.apache.kafka.connect.json.JsonConverter"
        {
            return Err(format!(
                "{side}.converter={class} is not supported: Rivulet writes JSON as org.apache.kafka.connect.json.JsonConverter does"
            ));
        }
        if p.take_bool(&format!("{side}.converter.schemas.enable"), false)? {
            return Err(format!(
                "{side}.converter.schemas.enable=true is not supported: Rivulet writes JSON without the schema envelope \
                 (schemas.enable=false)"
            ));
        }
        if let Some(v) = p.take(&format!("{side}.converter.replace.null.with.default")) {
            let yes = v.trim().eq_ignore_ascii_case("true");
            if side == "value" {
                format.insert("null_as_default".into(), toml::Value::Boolean(yes));
            }
        }
        for (rest, _) in p.take_prefixed(&format!("{side}.converter.")) {
            p.warnings.push(format!("{side}.converter.{rest} is ignored"));
        }
    }

    // Transforms: column filters, masks, key columns, message prefixes and SMTs.
    let mut transforms = BTreeMap::new();
    for prefix in TRANSFORM_PREFIXES {
        for (rest, value) in p.take_prefixed(prefix) {
            transforms.insert(format!("{prefix}{rest}"), value);
        }
    }

    // Kafka: producer settings make the sink Kafka (unless --jsonl / --sink-config say otherwise).
    let mut producer = toml::Table::new();
    for prefix in ["producer.override.", "producer.", "debezium.sink.kafka.producer."] {
        for (rest, value) in p.take_prefixed(prefix) {
            producer.entry(rest).or_insert(tstr(value));
        }
    }
    let bootstrap = p.take("bootstrap.servers").or_else(|| {
        producer
            .remove("bootstrap.servers")
            .and_then(|v| v.as_str().map(str::to_string))
    });
    for java_only in ["key.serializer", "value.serializer"] {
        if producer.remove(java_only).is_some() {
            p.warnings
                .push(format!("producer {java_only} is ignored: Rivulet writes JSON"));
        }
    }
    let exactly_once = match p.take("exactly.once.support") {
        None => false,
        Some(v) => matches!(v.trim().to_ascii_lowercase().as_str(), "required" | "requested"),
    };
    let topic_creation = p.take_bool("topic.creation.enable", true)?;
    let partitions = p.take_u64("topic.creation.default.partitions")?;
    let replication = p.take("topic.creation.default.replication.factor");
    for (rest, _) in p.take_prefixed("topic.creation.default.") {
        p.warnings.push(format!(
            "topic.creation.default.{rest} is ignored: created topics get the broker's defaults except partitions and replication factor"
        ));
    }
    for (rest, _) in p.take_prefixed("consumer.override.") {
        p.warnings.push(format!(
            "consumer.override.{rest} is ignored: the connector has no consumer"
        ));
    }
    for (rest, _) in p.take_prefixed("errors.deadletterqueue.") {
        p.warnings.push(format!(
            "errors.deadletterqueue.{rest} is ignored: source connectors have no dead letter queue"
        ));
    }
    // Kafka Connect applies errors.tolerance to the transform chain (rivulet-transform does).
    if let Some(t) = p.take("errors.tolerance") {
        transforms.insert("errors.tolerance".to_string(), t);
    }

    let sink = match sink {
        Some(SinkChoice::Jsonl(path)) => {
            let mut t = toml::Table::new();
            t.insert("type".into(), tstr("jsonl"));
            t.insert("path".into(), tstr(path.display().to_string()));
            t
        }
        Some(SinkChoice::File(t)) => t,
        None => {
            let Some(brokers) = bootstrap.clone() else {
                return Err(
                    "no sink: the configuration has no Kafka producer settings (bootstrap.servers or \
                     producer.override.bootstrap.servers); add them, or run with --jsonl PATH or --sink-config FILE"
                        .into(),
                );
            };
            let mut t = toml::Table::new();
            t.insert("type".into(), tstr("kafka"));
            t.insert("brokers".into(), tstr(brokers));
            t.insert("create_topics".into(), toml::Value::Boolean(topic_creation));
            if let Some(n) = partitions {
                t.insert(
                    "topic_partitions".into(),
                    toml::Value::Integer(n.min(i32::MAX as u64) as i64),
                );
            }
            if let Some(r) = replication {
                let r: i64 = r.trim().parse().map_err(|_| {
                    format!("topic.creation.default.replication.factor must be a number, not \"{r}\"")
                })?;
                t.insert("topic_replication_factor".into(), toml::Value::Integer(r));
            }
            t.insert("exactly_once".into(), toml::Value::Boolean(exactly_once));
            if !producer.is_empty() {
                let mut kafka = toml::Table::new();
                kafka.insert("properties".into(), toml::Value::Table(producer.clone()));
                t.insert("kafka".into(), toml::Value::Table(kafka));
            }
            t
        }
    };

    // Offsets.
    let mut offsets = toml::Table::new();
    let storage = p.take("offset.storage");
    match storage.as_deref().map(str::trim) {
        None | Some("org.apache.kafka.connect.storage.FileOffsetBackingStore") => {
            offsets.insert("type".into(), tstr("file"));
            if let Some(path) = p.take("offset.storage.file.filename") {
                offsets.insert("path".into(), tstr(path));
            }
        }
        Some("org.apache.kafka.connect.storage.KafkaOffsetBackingStore") => {
            let brokers = bootstrap.ok_or("offset.storage is Kafka but bootstrap.servers is not set")?;
            offsets.insert("type".into(), tstr("kafka"));
            offsets.insert("brokers".into(), tstr(brokers));
            if let Some(topic) = p.take("offset.storage.topic") {
                offsets.insert("topic".into(), tstr(topic));
            }
        }
        Some(other) => {
            return Err(format!(
                "offset.storage={other} is not supported: use FileOffsetBackingStore (offset.storage.file.filename) or \
                 KafkaOffsetBackingStore (offset.storage.topic)"
            ));
        }
    }
    for (rest, _) in p.take_prefixed("offset.storage.") {
        p.warnings.push(format!("offset.storage.{rest} is ignored"));
    }
    if let Some(ms) = p.take_u64("offset.flush.interval.ms")? {
        offsets.insert("flush_interval".into(), tstr(format!("{}ms", ms.max(1))));
    }

    // Debezium Server's own settings, for users coming from it.
    if let Some(t) = p.take("debezium.sink.type")
        && t.trim() != "kafka"
    {
        return Err(format!(
            "debezium.sink.type={t} is not supported here: use --jsonl PATH or --sink-config FILE with a [sink] section"
        ));
    }
    for side in ["key", "value"] {
        if let Some(f) = p.take(&format!("debezium.format.{side}"))
            && f.trim() != "json"
        {
            return Err(format!(
                "debezium.format.{side}={f} is not supported: Rivulet writes json"
            ));
        }
    }
    for (rest, _) in p.take_prefixed("quarkus.") {
        p.warnings.push(format!(
            "quarkus.{rest} is ignored (Debezium Server runtime setting)"
        ));
    }

    for key in OPERATIONAL {
        if p.take(key).is_some() {
            p.warnings
                .push(format!("{key} is ignored (operational tuning for Kafka Connect)"));
        }
    }
    for (key, why) in UNSUPPORTED {
        if p.map.contains_key(*key) {
            return Err(format!("property `{key}` is not supported by Rivulet: {why}"));
        }
    }
    if let Some(key) = p.map.keys().next() {
        return Err(format!(
            "property `{key}` is not a Debezium PostgreSQL connector property Rivulet knows: remove it, or see \
             docs/DEBEZIUM.md for the supported ones"
        ));
    }

    let mut doc = toml::Table::new();
    doc.insert("name".into(), tstr(name));
    doc.insert("source".into(), toml::Value::Table(source));
    doc.insert("sink".into(), toml::Value::Table(sink));
    doc.insert("format".into(), toml::Value::Table(format));
    doc.insert("offsets".into(), toml::Value::Table(offsets));
    Ok(Translation {
        document: doc,
        transform_properties: transforms,
        warnings: p.warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn base() -> BTreeMap<String, String> {
        props(&[
            ("connector.class", CONNECTOR_CLASS),
            ("database.hostname", "db.example.com"),
            ("database.port", "6432"),
            ("database.user", "debezium"),
            ("database.password", "p@ss:w/rd"),
            ("database.dbname", "inventory"),
            ("topic.prefix", "dbserver1"),
            ("plugin.name", "pgoutput"),
        ])
    }

    fn jsonl() -> Option<SinkChoice> {
        Some(SinkChoice::Jsonl(PathBuf::from("out.jsonl")))
    }

    fn get<'a>(doc: &'a toml::Table, path: &str) -> Option<&'a toml::Value> {
        let mut parts = path.split('.');
        let mut v = doc.get(parts.next()?)?;
        for part in parts {
            v = v.as_table()?.get(part)?;
        }
        Some(v)
    }

    #[test]
    fn debezium_defaults() {
        let t = translate("inv", base(), jsonl()).unwrap();
        assert!(t.warnings.is_empty(), "{:?}", t.warnings);
        let doc = t.document;
        let url = get(&doc, "source.url").unwrap().as_str().unwrap();
        assert_eq!(
            url,
            "postgres://debezium:p%40ss%3Aw%2Frd@db.example.com:6432/inventory?sslmode=prefer&application_name=rivulet"
        );
        let pg = rivulet_pgwire::ConnectionConfig::from_url(url).unwrap();
        assert_eq!(pg.password.as_deref(), Some("p@ss:w/rd"));
        assert_eq!(get(&doc, "source.slot").unwrap().as_str(), Some("debezium"));
        assert_eq!(
            get(&doc, "source.tables").unwrap().as_array().unwrap()[0].as_str(),
            Some("*")
        );
        assert_eq!(
            get(&doc, "source.publication").unwrap().as_str(),
            Some("dbz_publication")
        );
        assert_eq!(
            get(&doc, "source.publication_autocreate").unwrap().as_str(),
            Some("all_tables")
        );
        assert_eq!(get(&doc, "source.snapshot").unwrap().as_str(), Some("initial"));
        assert_eq!(
            get(&doc, "source.skipped_operations")
                .unwrap()
                .as_array()
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            get(&doc, "format.include_unknown_datatypes").unwrap().as_bool(),
            Some(false)
        );
        assert_eq!(
            get(&doc, "format.decimal_handling").unwrap().as_str(),
            Some("precise")
        );
        let c = config::from_table("c.json", doc).unwrap();
        assert_eq!(c.name, "inv");
    }

    #[test]
    fn modes_and_lists_map() {
        let mut m = base();
        for (k, v) in [
            ("decimal.handling.mode", "string"),
            ("time.precision.mode", "connect"),
            ("binary.handling.mode", "hex"),
            ("table.include.list", "public.orders,shop\\.line_.{1,3}"),
            ("skipped.operations", "none"),
            ("snapshot.mode", "never"),
            ("heartbeat.interval.ms", "5000"),
            ("tasks.max", "1"),
            ("column.exclude.list", "public.orders.secret"),
        ] {
            m.insert(k.into(), v.into());
        }
        let t = translate("inv", m, jsonl()).unwrap();
        assert_eq!(t.warnings.len(), 1, "{:?}", t.warnings);
        let doc = &t.document;
        assert_eq!(
            get(doc, "format.decimal_handling").unwrap().as_str(),
            Some("string")
        );
        assert_eq!(get(doc, "source.snapshot").unwrap().as_str(), Some("no_data"));
        assert_eq!(
            get(doc, "source.heartbeat_interval").unwrap().as_str(),
            Some("5000ms")
        );
        let include = get(doc, "source.table_include_list").unwrap().as_array().unwrap();
        assert_eq!(include.len(), 2);
        assert_eq!(include[1].as_str(), Some("shop\\.line_.{1,3}"));
        assert!(
            get(doc, "source.skipped_operations")
                .unwrap()
                .as_array()
                .unwrap()
                .is_empty()
        );
        assert!(
            get(doc, "source.tables").is_none(),
            "an include list replaces the capture-all default"
        );
        assert_eq!(
            t.transform_properties["column.exclude.list"],
            "public.orders.secret"
        );
    }

    #[test]
    fn unknown_and_unsupported_properties_are_errors() {
        let mut m = base();
        m.insert("snapshot.modee".into(), "initial".into());
        let e = translate("x", m, jsonl()).err().unwrap();
        assert!(e.contains("`snapshot.modee`"), "{e}");
        let mut m = base();
        m.insert("plugin.name".into(), "decoderbufs".into());
        let e = translate("x", m, jsonl()).err().unwrap();
        assert!(e.contains("decoderbufs") && e.contains("pgoutput"), "{e}");
        let mut m = base();
        m.insert("snapshot.mode".into(), "always".into());
        assert!(
            translate("x", m, jsonl())
                .err()
                .unwrap()
                .contains("snapshot.mode")
        );
        let mut m = base();
        m.insert("value.converter.schemas.enable".into(), "true".into());
        assert!(
            translate("x", m, jsonl())
                .err()
                .unwrap()
                .contains("schemas.enable")
        );
        let e = translate("x", base(), None).err().unwrap();
        assert!(e.starts_with("no sink"), "{e}");
        let mut m = base();
        m.remove("topic.prefix");
        assert!(translate("x", m, jsonl()).err().unwrap().contains("topic.prefix"));
    }

    #[test]
    fn kafka_sink_from_producer_settings() {
        let mut m = base();
        m.insert(
            "producer.override.bootstrap.servers".into(),
            "k1:9092,k2:9092".into(),
        );
        m.insert("producer.override.linger.ms".into(), "5".into());
        m.insert("topic.creation.default.partitions".into(), "3".into());
        m.insert("exactly.once.support".into(), "required".into());
        let doc = translate("x", m, None).unwrap().document;
        assert_eq!(get(&doc, "sink.type").unwrap().as_str(), Some("kafka"));
        assert_eq!(
            get(&doc, "sink.brokers").unwrap().as_str(),
            Some("k1:9092,k2:9092")
        );
        assert_eq!(get(&doc, "sink.topic_partitions").unwrap().as_integer(), Some(3));
        assert_eq!(get(&doc, "sink.exactly_once").unwrap().as_bool(), Some(true));
        assert_eq!(
            get(&doc, "sink.kafka.properties").unwrap().as_table().unwrap()["linger.ms"].as_str(),
            Some("5")
        );
    }

    #[test]
    fn connector_files_parse() {
        let (name, p) = parse_connector(
            r#"{"name": "inventory", "config": {"database.port": 5432, "tombstones.on.delete": false, "x": null}}"#,
            Path::new("c.json"),
        )
        .unwrap();
        assert_eq!(name.as_deref(), Some("inventory"));
        assert_eq!(p["database.port"], "5432");
        assert_eq!(p["tombstones.on.delete"], "false");
        assert!(!p.contains_key("x"));
        let (name, p) = parse_connector(r#"{"topic.prefix": "a"}"#, Path::new("c.json")).unwrap();
        assert!(name.is_none());
        assert_eq!(p["topic.prefix"], "a");
        let text = "# comment\n! also\nname=inv\ntable.include.list = public.a,\\\n   public.b\nkey: v\\u00e9\nspaced value here\n";
        let (_, p) = parse_connector(text, Path::new("c.properties")).unwrap();
        assert_eq!(p["name"], "inv");
        assert_eq!(p["table.include.list"], "public.a,public.b");
        assert_eq!(p["key"], "vé");
        assert_eq!(p["spaced"], "value here");
        assert!(
            parse_connector("{", Path::new("c.json"))
                .unwrap_err()
                .contains("not valid JSON")
        );
    }

    #[test]
    fn providers_resolve() {
        let home = std::env::var("HOME").unwrap();
        assert_eq!(resolve_providers("a${env:HOME}b").unwrap(), format!("a{home}b"));
        assert!(
            resolve_providers("${env:RIVULET_SURELY_UNSET}")
                .unwrap_err()
                .contains("RIVULET_SURELY_UNSET")
        );
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("secrets.properties");
        std::fs::write(&f, "db.password=s3cret\n").unwrap();
        assert_eq!(
            resolve_providers(&format!("${{file:{}:db.password}}", f.display())).unwrap(),
            "s3cret"
        );
        assert!(resolve_providers("${vault:x}").is_err());
    }
}
