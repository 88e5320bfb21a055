//! The pipeline file: TOML with `[source]`, `[sink]`, `[format]` and `[offsets]` sections.
//!
//! ```text
//!  file text ─▶ TOML document ─▶ --set overrides ─▶ ${VAR} substitution ─▶ typed sections
//!                    │                                                        │ error at a key path
//!                    └── spans of the original text ◀─────────────────────────┘ → "file:line: …"
//! ```
//!
//! Every error names the key and the line it is on: unknown keys, wrong types and missing
//! required keys alike. Each source and sink type owns its section's struct (in its crate);
//! this module only dispatches on `type`.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rivulet_format::{
    BinaryHandling, DebeziumSettings, DecimalHandling, HstoreHandling, IntervalHandling, TimePrecisionMode,
    UnchangedToast,
};
use rivulet_postgres::PostgresSourceConfig;
use rivulet_sink_jsonl::JsonlSinkConfig;
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// A configuration error, printed as `file:line: message`.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    file: String,
    line: Option<usize>,
    message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl ConfigError {
    /// An error about a whole file (no line to point at).
    pub fn new(file: &str, message: String) -> Self {
        ConfigError {
            file: file.to_string(),
            line: None,
            message,
        }
    }
}

#[derive(Debug, Clone)]
pub struct PipelineConfig {
    pub name: String,
    pub source: SourceConfig,
    pub sink: SinkConfig,
    pub format: FormatConfig,
    pub offsets: OffsetsConfig,
    /// `[[transform]]` entries and `transform_errors` (or a Debezium configuration's column
    /// rules and SMTs): see docs/TRANSFORMS.md.
    pub transforms: rivulet_transform::TransformConfig,
    /// `[metrics]`: the Prometheus and health endpoint (docs/OPERATIONS.md).
    pub metrics: MetricsConfig,
}

/// `[metrics]`: where to serve `/metrics`, `/health/live` and `/health/ready` (off without it).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// `host:port`, e.g. `127.0.0.1:9187` (`0.0.0.0:9187` for every interface).
    pub listen: Option<std::net::SocketAddr>,
}

// Built once per run: the size difference between the variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum SourceConfig {
    Postgres(PostgresSourceConfig),
    #[cfg(feature = "kafka")]
    Kafka(rivulet_kafka::KafkaSourceConfig),
}

#[derive(Debug, Clone)]
pub enum SinkConfig {
    Jsonl(JsonlSinkConfig),
    Postgres(rivulet_sink_postgres::PostgresSinkConfig),
    #[cfg(feature = "kafka")]
    Kafka(rivulet_kafka::KafkaSinkConfig),
    #[cfg(feature = "delta")]
    Delta(rivulet_sink_delta::DeltaSinkConfig),
    #[cfg(feature = "files")]
    Files(rivulet_sink_files::FilesSinkConfig),
}

impl SinkConfig {
    /// The `type` of a sink that writes rows (its own tables or files) rather than encoded
    /// Debezium records, so that record transforms cannot apply to it; `None` for record sinks.
    pub fn row_sink_type(&self) -> Option<&'static str> {
        match self {
            SinkConfig::Jsonl(_) => None,
            #[cfg(feature = "kafka")]
            SinkConfig::Kafka(_) => None,
            SinkConfig::Postgres(_) => Some("postgres"),
            #[cfg(feature = "delta")]
            SinkConfig::Delta(_) => Some("delta"),
            #[cfg(feature = "files")]
            SinkConfig::Files(_) => Some("files"),
        }
    }
}

/// The section types this build knows, for error messages.
const SOURCE_TYPES: &str = if cfg!(feature = "kafka") {
    "\"postgres\", \"kafka\""
} else {
    "\"postgres\""
};
/// The sink types this build knows, for error messages.
fn sink_types() -> String {
    let mut types = vec!["\"jsonl\"", "\"postgres\""];
    for (on, name) in [
        (cfg!(feature = "kafka"), "\"kafka\""),
        (cfg!(feature = "delta"), "\"delta\""),
        (cfg!(feature = "files"), "\"files\""),
    ] {
        if on {
            types.push(name);
        }
    }
    types.join(", ")
}
const OFFSETS_TYPES: &str = if cfg!(feature = "kafka") {
    "\"file\", \"kafka\""
} else {
    "\"file\""
};

/// `[format]`: how events are encoded (Debezium's converter settings). Defaults are Debezium's
/// where Rivulet and Debezium agree; `include_unknown_datatypes` keeps data Debezium drops.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormatConfig {
    /// `precise` (Debezium's default), `string` or `double`.
    #[serde(default)]
    pub decimal_handling: DecimalHandlingSetting,
    /// Follow each delete with a tombstone (a null value), as Debezium does by default.
    #[serde(default = "yes")]
    pub tombstones_on_delete: bool,
    /// What unchanged out-of-line (TOAST) values that PostgreSQL did not send become
    /// (Debezium's `unavailable.value.placeholder`).
    #[serde(default = "default_placeholder")]
    pub unavailable_value_placeholder: String,
    /// `adaptive` (default), `adaptive_time_microseconds`, `connect`, `isostring`,
    /// `microseconds`, `nanoseconds`.
    #[serde(default)]
    pub time_precision_mode: TimePrecisionSetting,
    /// `bytes` (default: base64 in JSON), `base64`, `base64-url-safe`, `hex`.
    #[serde(default)]
    pub binary_handling: BinaryHandlingSetting,
    /// `numeric` (default: microseconds) or `string` (ISO-8601).
    #[serde(default)]
    pub interval_handling: IntervalHandlingSetting,
    /// `json` (default: a JSON document as a string) or `map` (a JSON object).
    #[serde(default)]
    pub hstore_handling: HstoreHandlingSetting,
    /// Keep columns of types Debezium has no converter for, as their text (Rivulet's default);
    /// false drops them, as Debezium does by default.
    #[serde(default = "yes")]
    pub include_unknown_datatypes: bool,
    /// Heartbeat records go to `<this>.<topic prefix>`.
    #[serde(default = "default_heartbeat_prefix")]
    pub heartbeat_topics_prefix: String,
    /// Write a column's constant DEFAULT in place of a null, as Kafka Connect's JsonConverter
    /// does (`replace.null.with.default`, true by default).
    #[serde(default = "yes")]
    pub null_as_default: bool,
    /// Fill NOT NULL columns a delete's old row did not carry with `""`/`0`/`false`, as
    /// Debezium does (true); false writes `null` there.
    #[serde(default = "yes")]
    pub not_null_fallback: bool,
    /// `placeholder` (Debezium's) or `omit` (leave unchanged TOAST columns out of `after`).
    #[serde(default)]
    pub unchanged_toast: UnchangedToastSetting,
}

impl Default for FormatConfig {
    fn default() -> Self {
        FormatConfig {
            decimal_handling: DecimalHandlingSetting::default(),
            tombstones_on_delete: true,
            unavailable_value_placeholder: default_placeholder(),
            time_precision_mode: TimePrecisionSetting::default(),
            binary_handling: BinaryHandlingSetting::default(),
            interval_handling: IntervalHandlingSetting::default(),
            hstore_handling: HstoreHandlingSetting::default(),
            include_unknown_datatypes: true,
            heartbeat_topics_prefix: default_heartbeat_prefix(),
            null_as_default: true,
            not_null_fallback: true,
            unchanged_toast: UnchangedToastSetting::default(),
        }
    }
}

fn default_placeholder() -> String {
    "__debezium_unavailable_value".to_string()
}

fn default_heartbeat_prefix() -> String {
    "__debezium-heartbeat".to_string()
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecimalHandlingSetting {
    #[default]
    Precise,
    String,
    Double,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimePrecisionSetting {
    #[default]
    Adaptive,
    AdaptiveTimeMicroseconds,
    Connect,
    Isostring,
    Microseconds,
    Nanoseconds,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BinaryHandlingSetting {
    #[default]
    Bytes,
    Base64,
    Base64UrlSafe,
    Hex,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntervalHandlingSetting {
    #[default]
    Numeric,
    String,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HstoreHandlingSetting {
    #[default]
    Json,
    Map,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnchangedToastSetting {
    #[default]
    Placeholder,
    Omit,
}

impl FormatConfig {
    /// The encoder's settings; `transaction_metadata` comes from the source section.
    pub fn debezium(
        &self,
        topic_prefix: &str,
        database: &str,
        transaction_metadata: bool,
    ) -> DebeziumSettings {
        DebeziumSettings {
            topic_prefix: topic_prefix.to_string(),
            database: database.to_string(),
            decimal_handling: match self.decimal_handling {
                DecimalHandlingSetting::Precise => DecimalHandling::Precise,
                DecimalHandlingSetting::String => DecimalHandling::String,
                DecimalHandlingSetting::Double => DecimalHandling::Double,
            },
            tombstones_on_delete: self.tombstones_on_delete,
            unavailable_value_placeholder: self.unavailable_value_placeholder.clone(),
            time_precision_mode: match self.time_precision_mode {
                TimePrecisionSetting::Adaptive => TimePrecisionMode::Adaptive,
                TimePrecisionSetting::AdaptiveTimeMicroseconds => TimePrecisionMode::AdaptiveTimeMicroseconds,
                TimePrecisionSetting::Connect => TimePrecisionMode::Connect,
                TimePrecisionSetting::Isostring => TimePrecisionMode::IsoString,
                TimePrecisionSetting::Microseconds => TimePrecisionMode::Microseconds,
                TimePrecisionSetting::Nanoseconds => TimePrecisionMode::Nanoseconds,
            },
            binary_handling: match self.binary_handling {
                BinaryHandlingSetting::Bytes => BinaryHandling::Bytes,
                BinaryHandlingSetting::Base64 => BinaryHandling::Base64,
                BinaryHandlingSetting::Base64UrlSafe => BinaryHandling::Base64UrlSafe,
                BinaryHandlingSetting::Hex => BinaryHandling::Hex,
            },
            interval_handling: match self.interval_handling {
                IntervalHandlingSetting::Numeric => IntervalHandling::Numeric,
                IntervalHandlingSetting::String => IntervalHandling::String,
            },
            hstore_handling: match self.hstore_handling {
                HstoreHandlingSetting::Json => HstoreHandling::Json,
                HstoreHandlingSetting::Map => HstoreHandling::Map,
            },
            include_unknown_datatypes: self.include_unknown_datatypes,
            provide_transaction_metadata: transaction_metadata,
            heartbeat_topics_prefix: self.heartbeat_topics_prefix.clone(),
            null_as_default: self.null_as_default,
            not_null_fallback: self.not_null_fallback,
            unchanged_toast: match self.unchanged_toast {
                UnchangedToastSetting::Placeholder => UnchangedToast::Placeholder,
                UnchangedToastSetting::Omit => UnchangedToast::Omit,
            },
        }
    }
}

/// `[offsets]`: where and how often the pipeline records its position.
#[derive(Debug, Clone)]
pub struct OffsetsConfig {
    pub store: OffsetsBackend,
    /// How often to make delivered events durable and record the position (at transaction
    /// boundaries). Shorter: less to replay after a crash; longer: fewer fsyncs.
    pub flush_interval: Duration,
}

/// Where checkpoints live (`[offsets] type`).
#[derive(Debug, Clone)]
pub enum OffsetsBackend {
    /// `type = "file"` (the default): a local file.
    File(FileOffsetsConfig),
    /// `type = "kafka"`: a compacted Kafka topic, so a pipeline can move machines.
    #[cfg(feature = "kafka")]
    Kafka(rivulet_kafka::KafkaOffsetsConfig),
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileOffsetsConfig {
    /// The offsets file; default `.rivulet/<name>.offsets` (relative to the working directory).
    pub path: Option<PathBuf>,
}

impl Default for OffsetsConfig {
    fn default() -> Self {
        OffsetsConfig {
            store: OffsetsBackend::File(FileOffsetsConfig::default()),
            flush_interval: default_flush_interval(),
        }
    }
}

fn default_flush_interval() -> Duration {
    Duration::from_secs(1)
}

impl PipelineConfig {
    /// The offsets file of a file store (`.rivulet/<name>.offsets` by default).
    pub fn offsets_path(&self) -> Option<PathBuf> {
        match &self.offsets.store {
            OffsetsBackend::File(f) => Some(
                f.path
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(format!(".rivulet/{}.offsets", self.name))),
            ),
            #[cfg(feature = "kafka")]
            OffsetsBackend::Kafka(_) => None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPipeline {
    name: String,
    source: toml::Table,
    sink: toml::Table,
    #[serde(default)]
    format: FormatConfig,
    #[serde(default)]
    offsets: Option<toml::Table>,
    #[serde(default)]
    transform: Vec<rivulet_transform::TransformSpec>,
    /// Kafka Connect's `errors.tolerance` for the transforms: `none` (stop) or `all` (drop the
    /// record with a warning).
    #[serde(default)]
    transform_errors: rivulet_transform::ErrorTolerance,
    #[serde(default)]
    metrics: MetricsConfig,
}

/// Loads a pipeline file, applying `--set section.key=value` overrides and `${VAR}` substitution.
pub fn load(path: &Path, overrides: &[String]) -> Result<PipelineConfig, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: file.clone(),
        line: None,
        message: format!("cannot read the pipeline file: {e}"),
    })?;
    parse(&file, &text, overrides)
}

/// Parses pipeline text; `file` is only used in messages.
pub fn parse(file: &str, text: &str, overrides: &[String]) -> Result<PipelineConfig, ConfigError> {
    let ctx = Context::new(file, text)?;
    let mut doc: toml_edit::DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| ctx.syntax(&e))?;
    let mut overridden = BTreeSet::new();
    for o in overrides {
        let key = apply_override(&mut doc, o).map_err(|m| ctx.plain(m))?;
        overridden.insert(key);
    }
    let mut table: toml::Table =
        toml::from_str(&doc.to_string()).map_err(|e| ctx.plain(e.message().to_string()))?;
    substitute_env(&mut table, &mut Vec::new(), &ctx, &overridden)?;

    build(&ctx, table, &overridden)
}

/// A pipeline document made by a program (the `--debezium` translation) rather than read from
/// a file: errors name `origin` and the key, without a line.
pub fn from_table(origin: &str, table: toml::Table) -> Result<PipelineConfig, ConfigError> {
    let ctx = Context::new(origin, "")?;
    build(&ctx, table, &BTreeSet::new())
}

/// Reads a file holding only a `[sink]` section (`--sink-config`), checks it, and returns it.
pub fn load_sink_section(path: &Path) -> Result<toml::Table, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::new(&file, format!("cannot read the sink file: {e}")))?;
    let ctx = Context::new(&file, &text)?;
    let mut table: toml::Table = toml::from_str(&text).map_err(|e| ctx.plain(e.message().to_string()))?;
    let overridden = BTreeSet::new();
    substitute_env(&mut table, &mut Vec::new(), &ctx, &overridden)?;
    if let Some(other) = table.keys().find(|k| k.as_str() != "sink") {
        return Err(ctx.at(
            &[other],
            &overridden,
            format!("unknown key `{other}`: a sink file holds only a [sink] section"),
        ));
    }
    let Some(toml::Value::Table(sink)) = table.remove("sink") else {
        return Err(ctx.plain("missing the [sink] section".into()));
    };
    sink_section(sink.clone(), &ctx, &overridden)?;
    Ok(sink)
}

fn build(
    ctx: &Context<'_>,
    table: toml::Table,
    overridden: &BTreeSet<String>,
) -> Result<PipelineConfig, ConfigError> {
    let raw: RawPipeline = deserialize(toml::Value::Table(table), &[], ctx, overridden)?;
    if raw.name.trim().is_empty() {
        return Err(ctx.at(
            &["name"],
            overridden,
            "`name` must not be empty: it identifies the pipeline".into(),
        ));
    }
    let source = match section_type(&raw.source, "source", ctx, overridden)?.as_str() {
        "postgres" | "postgresql" => {
            SourceConfig::Postgres(typed_section(raw.source, "source", ctx, overridden)?)
        }
        #[cfg(feature = "kafka")]
        "kafka" => SourceConfig::Kafka(typed_section(raw.source, "source", ctx, overridden)?),
        other => {
            return Err(ctx.at(
                &["source", "type"],
                overridden,
                format!("unknown source type \"{other}\": this build supports {SOURCE_TYPES}"),
            ));
        }
    };
    let sink = sink_section(raw.sink, ctx, overridden)?;
    let flush_interval_set = raw
        .offsets
        .as_ref()
        .is_some_and(|o| o.contains_key("flush_interval"));
    #[cfg_attr(not(feature = "files"), allow(unused_mut))]
    let mut offsets = offsets_section(raw.offsets.unwrap_or_default(), ctx, overridden)?;
    // A files-sink checkpoint closes and uploads every open file, so checkpoints follow the
    // sink's max_interval unless the offsets say otherwise.
    #[cfg(feature = "files")]
    if let (SinkConfig::Files(f), false) = (&sink, flush_interval_set) {
        offsets.flush_interval = f.max_interval;
    }
    #[cfg(not(feature = "files"))]
    let _ = flush_interval_set;
    let mut transforms = rivulet_transform::TransformConfig::new(raw.transform);
    transforms.errors = raw.transform_errors;
    check_transforms(&transforms).map_err(|m| ctx.at(&["transform"], overridden, m))?;
    Ok(PipelineConfig {
        name: raw.name,
        source,
        sink,
        format: raw.format,
        offsets,
        transforms,
        metrics: raw.metrics,
    })
}

/// Compiles the transforms once (every regex, class and option), so mistakes stop the run
/// before anything is contacted.
pub fn check_transforms(transforms: &rivulet_transform::TransformConfig) -> Result<(), String> {
    rivulet_transform::build(transforms, &DebeziumSettings::default())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn sink_section(
    sink: toml::Table,
    ctx: &Context<'_>,
    overridden: &BTreeSet<String>,
) -> Result<SinkConfig, ConfigError> {
    Ok(match section_type(&sink, "sink", ctx, overridden)?.as_str() {
        "jsonl" => SinkConfig::Jsonl(typed_section(sink, "sink", ctx, overridden)?),
        "postgres" => SinkConfig::Postgres(typed_section(sink, "sink", ctx, overridden)?),
        #[cfg(feature = "kafka")]
        "kafka" => SinkConfig::Kafka(typed_section(sink, "sink", ctx, overridden)?),
        #[cfg(feature = "delta")]
        "delta" => {
            let c: rivulet_sink_delta::DeltaSinkConfig = typed_section(sink, "sink", ctx, overridden)?;
            c.validate().map_err(|m| {
                ctx.at(
                    &["sink", "type"],
                    overridden,
                    format!("[sink] type = \"delta\": {m}"),
                )
            })?;
            SinkConfig::Delta(c)
        }
        #[cfg(feature = "files")]
        "files" => {
            let c: rivulet_sink_files::FilesSinkConfig = typed_section(sink, "sink", ctx, overridden)?;
            c.validate().map_err(|m| {
                ctx.at(
                    &["sink", "type"],
                    overridden,
                    format!("[sink] type = \"files\": {m}"),
                )
            })?;
            SinkConfig::Files(c)
        }
        other => {
            return Err(ctx.at(
                &["sink", "type"],
                overridden,
                format!(
                    "unknown sink type \"{other}\": this build supports {}",
                    sink_types()
                ),
            ));
        }
    })
}

fn offsets_section(
    mut section: toml::Table,
    ctx: &Context<'_>,
    overridden: &BTreeSet<String>,
) -> Result<OffsetsConfig, ConfigError> {
    let flush_interval = match section.remove("flush_interval") {
        None => default_flush_interval(),
        Some(toml::Value::String(s)) => humantime::parse_duration(&s).map_err(|e| {
            ctx.at(
                &["offsets", "flush_interval"],
                overridden,
                format!("`offsets.flush_interval`: {e} (e.g. \"1s\", \"250ms\")"),
            )
        })?,
        Some(other) => {
            return Err(ctx.at(
                &["offsets", "flush_interval"],
                overridden,
                format!(
                    "`offsets.flush_interval` must be a duration string like \"1s\", not {}",
                    other.type_str()
                ),
            ));
        }
    };
    if flush_interval.is_zero() {
        return Err(ctx.at(
            &["offsets", "flush_interval"],
            overridden,
            "must be greater than zero, e.g. \"1s\"".into(),
        ));
    }
    let kind = match section.remove("type") {
        None => "file".to_string(),
        Some(toml::Value::String(s)) => s,
        Some(other) => {
            return Err(ctx.at(
                &["offsets", "type"],
                overridden,
                format!("`offsets.type` must be a string, not {}", other.type_str()),
            ));
        }
    };
    let store = match kind.as_str() {
        "file" => OffsetsBackend::File(deserialize(
            toml::Value::Table(section),
            &["offsets"],
            ctx,
            overridden,
        )?),
        #[cfg(feature = "kafka")]
        "kafka" => OffsetsBackend::Kafka(deserialize(
            toml::Value::Table(section),
            &["offsets"],
            ctx,
            overridden,
        )?),
        other => {
            return Err(ctx.at(
                &["offsets", "type"],
                overridden,
                format!("unknown offsets type \"{other}\": this build supports {OFFSETS_TYPES}"),
            ));
        }
    };
    Ok(OffsetsConfig {
        store,
        flush_interval,
    })
}

fn section_type(
    section: &toml::Table,
    name: &str,
    ctx: &Context<'_>,
    overridden: &BTreeSet<String>,
) -> Result<String, ConfigError> {
    match section.get("type") {
        Some(toml::Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(ctx.at(
            &[name, "type"],
            overridden,
            format!("`{name}.type` must be a string, not {}", other.type_str()),
        )),
        None => Err(ctx.at(&[name], overridden, format!("missing required key `{name}.type`"))),
    }
}

fn typed_section<T: DeserializeOwned>(
    mut section: toml::Table,
    name: &str,
    ctx: &Context<'_>,
    overridden: &BTreeSet<String>,
) -> Result<T, ConfigError> {
    section.remove("type");
    deserialize(toml::Value::Table(section), &[name], ctx, overridden)
}

fn deserialize<T: DeserializeOwned>(
    value: toml::Value,
    prefix: &[&str],
    ctx: &Context<'_>,
    overridden: &BTreeSet<String>,
) -> Result<T, ConfigError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let mut path: Vec<String> = prefix.iter().map(|s| s.to_string()).collect();
        path.extend(e.path().iter().filter_map(|seg| match seg {
            serde_path_to_error::Segment::Map { key } => Some(key.clone()),
            serde_path_to_error::Segment::Seq { index } => Some(index.to_string()),
            _ => None,
        }));
        let message = e.inner().message().to_string();
        let refs: Vec<&str> = path.iter().map(String::as_str).collect();
        let dotted = path.join(".");
        let message = if let Some(rest) = message.strip_prefix("unknown field ") {
            let expected = rest
                .split_once(", expected ")
                .map(|(_, e)| e.replace('`', ""))
                .unwrap_or_default();
            format!("unknown key `{dotted}` (expected one of: {expected})")
        } else if let Some(rest) = message.strip_prefix("missing field ") {
            let key = rest.trim_matches('`');
            let full = if dotted.is_empty() {
                key.to_string()
            } else {
                format!("{dotted}.{key}")
            };
            format!("missing required key `{full}`")
        } else if dotted.is_empty() {
            message
        } else {
            format!("`{dotted}`: {message}")
        };
        ctx.at(&refs, overridden, message)
    })
}

/// `--set a.b=v`: a value that parses as TOML (number, bool, array, quoted string) is taken as
/// such, except where the file already holds a string there; anything else is a string.
fn apply_override(doc: &mut toml_edit::DocumentMut, spec: &str) -> Result<String, String> {
    let (key, raw) = spec
        .split_once('=')
        .ok_or_else(|| format!("--set {spec}: expected section.key=value"))?;
    let parts =
        split_key(key.trim()).ok_or_else(|| format!("--set {spec}: unterminated quote in the key"))?;
    if parts.iter().any(|p| p.is_empty()) {
        return Err(format!("--set {spec}: empty key part"));
    }
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    let mut table = doc.as_table_mut();
    for part in &parts[..parts.len() - 1] {
        let item = table
            .entry(part)
            .or_insert_with(|| toml_edit::Item::Table(toml_edit::Table::new()));
        table = item
            .as_table_mut()
            .ok_or_else(|| format!("--set {spec}: `{part}` is not a section"))?;
    }
    let last = parts[parts.len() - 1];
    let existing_is_string = table.get(last).and_then(|i| i.as_str()).is_some();
    let value = if existing_is_string {
        toml_edit::Value::from(raw)
    } else {
        raw.parse::<toml_edit::Value>()
            .unwrap_or_else(|_| toml_edit::Value::from(raw))
    };
    table.insert(last, toml_edit::Item::Value(value));
    Ok(parts.join("."))
}

/// Splits a dotted key as TOML does: `sink.kafka.properties."linger.ms"` has four parts.
fn split_key(key: &str) -> Option<Vec<String>> {
    let mut parts = vec![String::new()];
    let mut quoted = false;
    for c in key.chars() {
        match c {
            '"' => quoted = !quoted,
            '.' if !quoted => parts.push(String::new()),
            c => parts.last_mut()?.push(c),
        }
    }
    (!quoted).then_some(parts)
}

/// Replaces `${VAR}` (and `${VAR:-default}`) in every string; `$${` is a literal `${`.
fn substitute_env(
    table: &mut toml::Table,
    path: &mut Vec<String>,
    ctx: &Context<'_>,
    overridden: &BTreeSet<String>,
) -> Result<(), ConfigError> {
    for (key, value) in table.iter_mut() {
        path.push(key.clone());
        substitute_value(value, path, ctx, overridden)?;
        path.pop();
    }
    Ok(())
}

fn substitute_value(
    value: &mut toml::Value,
    path: &mut Vec<String>,
    ctx: &Context<'_>,
    overridden: &BTreeSet<String>,
) -> Result<(), ConfigError> {
    match value {
        toml::Value::String(s) if s.contains('$') => {
            *s = expand(s).map_err(|m| {
                let refs: Vec<&str> = path.iter().map(String::as_str).collect();
                ctx.at(&refs, overridden, format!("`{}`: {m}", path.join(".")))
            })?;
        }
        toml::Value::Table(t) => substitute_env(t, path, ctx, overridden)?,
        toml::Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                path.push(i.to_string());
                substitute_value(item, path, ctx, overridden)?;
                path.pop();
            }
        }
        _ => {}
    }
    Ok(())
}

fn expand(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos..];
        if let Some(tail) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = tail;
        } else if let Some(tail) = after.strip_prefix("${") {
            let end = tail.find('}').ok_or_else(|| "unterminated ${…}".to_string())?;
            let expr = &tail[..end];
            let (name, default) = match expr.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (expr, None),
            };
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(format!(
                    "`${{{expr}}}` is not a valid environment variable reference"
                ));
            }
            match (std::env::var(name), default) {
                (Ok(v), _) => out.push_str(&v),
                (Err(_), Some(d)) => out.push_str(d),
                (Err(_), None) => {
                    return Err(format!(
                        "environment variable {name} is not set (write ${{{name}:-default}} for a fallback)"
                    ));
                }
            }
            rest = &tail[end + 1..];
        } else {
            out.push('$');
            rest = &after[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The original text with its spans, to turn key paths into line numbers.
struct Context<'a> {
    file: &'a str,
    text: &'a str,
    spanned: toml_edit::Document<&'a str>,
}

impl<'a> Context<'a> {
    fn new(file: &'a str, text: &'a str) -> Result<Self, ConfigError> {
        let spanned = toml_edit::Document::parse(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start));
            ConfigError {
                file: file.to_string(),
                line,
                message: first_line(e.message()),
            }
        })?;
        Ok(Context { file, text, spanned })
    }

    fn syntax(&self, e: &toml_edit::TomlError) -> ConfigError {
        ConfigError {
            file: self.file.to_string(),
            line: e.span().map(|s| line_of(self.text, s.start)),
            message: first_line(e.message()),
        }
    }

    fn plain(&self, message: String) -> ConfigError {
        ConfigError {
            file: self.file.to_string(),
            line: None,
            message,
        }
    }

    /// An error about the key at `path`; keys set with `--set` are named as such.
    fn at(&self, path: &[&str], overridden: &BTreeSet<String>, message: String) -> ConfigError {
        let dotted = path.join(".");
        if overridden
            .iter()
            .any(|o| dotted == *o || dotted.starts_with(&format!("{o}.")))
        {
            return ConfigError {
                file: self.file.to_string(),
                line: None,
                message: format!("{message} (set with --set)"),
            };
        }
        ConfigError {
            file: self.file.to_string(),
            line: self.line_of_path(path),
            message,
        }
    }

    /// The line of the deepest key of `path` present in the file (a missing key's section).
    fn line_of_path(&self, path: &[&str]) -> Option<usize> {
        let mut item: &toml_edit::Item = self.spanned.as_item();
        let mut line = None;
        for part in path {
            let next = match item {
                toml_edit::Item::Table(t) => {
                    if let Some(span) = t.span() {
                        line = Some(line_of(self.text, span.start));
                    }
                    t.get_key_value(part).map(|(k, v)| (k.span(), v))
                }
                toml_edit::Item::Value(toml_edit::Value::InlineTable(t)) => {
                    t.get_key_value(part).map(|(k, v)| (k.span(), v))
                }
                toml_edit::Item::Value(toml_edit::Value::Array(a)) => {
                    let Ok(i) = part.parse::<usize>() else { break };
                    match a.get(i) {
                        Some(v) => {
                            if let Some(span) = v.span() {
                                line = Some(line_of(self.text, span.start));
                            }
                            break;
                        }
                        None => break,
                    }
                }
                _ => break,
            };
            match next {
                Some((key_span, value)) => {
                    if let Some(span) = key_span.or_else(|| value.span()) {
                        line = Some(line_of(self.text, span.start));
                    }
                    item = value;
                }
                None => break,
            }
        }
        line
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .bytes()
        .filter(|b| *b == b'\n')
        .count()
        + 1
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or(s).trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "shop"

[source]
type = "postgres"
url = "postgres://postgres@127.0.0.1:5432/shop"
tables = ["public.orders", "public.customers"]
slot = "rivulet_shop"
snapshot = "no_data"
topic_prefix = "shop"

[format]
decimal_handling = "string"
tombstones_on_delete = false

[sink]
type = "jsonl"
path = "changes.jsonl"

[offsets]
path = ".rivulet/shop.offsets"
"#;

    fn postgres(c: &PipelineConfig) -> &PostgresSourceConfig {
        match &c.source {
            SourceConfig::Postgres(s) => s,
            #[allow(unreachable_patterns)]
            _ => panic!("not a postgres source"),
        }
    }

    fn jsonl(c: &PipelineConfig) -> &JsonlSinkConfig {
        match &c.sink {
            SinkConfig::Jsonl(j) => j,
            #[allow(unreachable_patterns)]
            _ => panic!("not a jsonl sink"),
        }
    }

    fn err(text: &str, overrides: &[&str]) -> String {
        let o: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        parse("p.toml", text, &o).unwrap_err().to_string()
    }

    #[test]
    fn parses_the_documented_example() {
        let c = parse("p.toml", GOOD, &[]).unwrap();
        assert_eq!(c.name, "shop");
        let s = postgres(&c);
        assert_eq!(s.tables, vec!["public.orders", "public.customers"]);
        assert_eq!(s.slot.as_deref(), Some("rivulet_shop"));
        assert!(s.publication.is_none());
        let j = jsonl(&c);
        assert_eq!(j.path, "changes.jsonl");
        assert!(!c.format.tombstones_on_delete);
        assert!(matches!(
            c.format.decimal_handling,
            DecimalHandlingSetting::String
        ));
        assert_eq!(c.offsets_path(), Some(PathBuf::from(".rivulet/shop.offsets")));
        assert_eq!(c.offsets.flush_interval, Duration::from_secs(1));
    }

    #[test]
    fn unknown_keys_name_the_key_and_line() {
        let text = GOOD.replace("slot = \"rivulet_shop\"", "slott = \"rivulet_shop\"");
        let e = err(&text, &[]);
        assert!(e.starts_with("p.toml:8: unknown key `source.slott`"), "{e}");
        assert!(e.contains("slot"), "{e}");
        let e = err(&format!("{GOOD}\n[monitoring]\nlisten = \"x\"\n"), &[]);
        assert!(e.starts_with("p.toml:23: unknown key `monitoring`"), "{e}");
        let e = err(&format!("{GOOD}\n[metrics]\nlisten = \"localhost\"\n"), &[]);
        assert!(e.starts_with("p.toml:24: `metrics.listen`"), "{e}");
        let c = parse(
            "p.toml",
            &format!("{GOOD}\n[metrics]\nlisten = \"127.0.0.1:9187\"\n"),
            &[],
        )
        .unwrap();
        assert_eq!(c.metrics.listen, Some("127.0.0.1:9187".parse().unwrap()));
        let e = err(&GOOD.replace("tombstones_on_delete", "tombstones"), &[]);
        assert!(e.starts_with("p.toml:14: unknown key `format.tombstones`"), "{e}");
    }

    #[test]
    fn wrong_types_and_missing_keys_name_the_key_and_line() {
        let e = err(
            &GOOD.replace("tombstones_on_delete = false", "tombstones_on_delete = \"no\""),
            &[],
        );
        assert!(
            e.starts_with(
                "p.toml:14: `format.tombstones_on_delete`: invalid type: string \"no\", expected a boolean"
            ),
            "{e}"
        );
        let e = err(
            &GOOD.replace("url = \"postgres://postgres@127.0.0.1:5432/shop\"\n", ""),
            &[],
        );
        assert!(
            e.starts_with("p.toml:4: missing required key `source.url`"),
            "{e}"
        );
        let e = err(&GOOD.replace("type = \"jsonl\"", "type = \"parquet\""), &[]);
        assert!(e.starts_with("p.toml:17: unknown sink type \"parquet\""), "{e}");
        let e = err(
            &GOOD.replace("decimal_handling = \"string\"", "decimal_handling = \"exact\""),
            &[],
        );
        assert!(
            e.starts_with("p.toml:13: `format.decimal_handling`: unknown variant `exact`"),
            "{e}"
        );
        let e = err("name = \"x\"\n[source]\ntype = \"postgres\"\n", &[]);
        assert!(e.starts_with("p.toml: missing required key `sink`"), "{e}");
        let e = err("name = \n", &[]);
        assert!(e.starts_with("p.toml:1: "), "{e}");
        assert!(!e.contains('\n'), "one line: {e}");
    }

    #[test]
    fn overrides_replace_and_add_keys() {
        let c = parse(
            "p.toml",
            GOOD,
            &[
                "source.slot=s1".into(),
                "sink.path=out.jsonl".into(),
                "format.tombstones_on_delete=true".into(),
                "source.tables=a.b,c.d".into(),
                "offsets.flush_interval=250ms".into(),
            ],
        )
        .unwrap();
        let s = postgres(&c);
        assert_eq!(s.slot.as_deref(), Some("s1"));
        assert_eq!(s.tables, vec!["a.b", "c.d"]);
        let j = jsonl(&c);
        assert_eq!(j.path, "out.jsonl");
        assert!(c.format.tombstones_on_delete);
        assert_eq!(c.offsets.flush_interval, Duration::from_millis(250));
        let e = err(GOOD, &["source.nope=1"]);
        assert!(
            e.contains("unknown key `source.nope`") && e.ends_with("(set with --set)"),
            "{e}"
        );
        let e = err(GOOD, &["source.slot"]);
        assert!(e.contains("expected section.key=value"), "{e}");
        assert_eq!(split_key("a.\"b.c\".d").unwrap(), vec!["a", "b.c", "d"]);
        assert!(split_key("a.\"b").is_none());
    }

    #[test]
    fn environment_variables_are_substituted() {
        // HOME is set for every test run; setting variables would need unsafe code.
        let home = std::env::var("HOME").expect("HOME is set");
        let text = GOOD.replace("postgres://postgres@", "postgres://postgres:${HOME}@");
        let c = parse("p.toml", &text, &[]).unwrap();
        let s = postgres(&c);
        assert_eq!(s.url, format!("postgres://postgres:{home}@127.0.0.1:5432/shop"));
        let text = GOOD.replace("changes.jsonl", "${RIVULET_TEST_UNSET_VAR}/x.jsonl");
        let e = err(&text, &[]);
        assert!(
            e.starts_with("p.toml:18: `sink.path`: environment variable RIVULET_TEST_UNSET_VAR is not set"),
            "{e}"
        );
        let text = GOOD.replace("changes.jsonl", "${RIVULET_TEST_UNSET_VAR:-out}/x.jsonl");
        let c = parse("p.toml", &text, &[]).unwrap();
        let j = jsonl(&c);
        assert_eq!(j.path, "out/x.jsonl");
        assert_eq!(expand("a$${B}c$d").unwrap(), "a${B}c$d");
    }

    #[cfg(feature = "files")]
    #[test]
    fn files_sink_checkpoints_follow_max_interval_unless_set() {
        let files = "type = \"files\"\nurl = \"s3://lake/RAW\"\nformat = \"csv\"\nmax_interval = \"30s\"";
        let text = GOOD.replace("type = \"jsonl\"\npath = \"changes.jsonl\"", files);
        let c = parse("p.toml", &text, &[]).unwrap();
        assert!(matches!(&c.sink, SinkConfig::Files(f) if f.url == "s3://lake/RAW"));
        assert_eq!(c.offsets.flush_interval, Duration::from_secs(30));
        let c = parse("p.toml", &text, &["offsets.flush_interval=\"5s\"".into()]).unwrap();
        assert_eq!(c.offsets.flush_interval, Duration::from_secs(5));
        let e = err(
            &text.replace("format = \"csv\"", "format = \"csv\"\ncompression = \"zstd\""),
            &[],
        );
        assert!(e.contains("Parquet only"), "{e}");
        let e = err(&text.replace("format = \"csv\"", "format = \"orc\""), &[]);
        assert!(e.contains("orc"), "{e}");
    }
}
