//! The Debezium connector properties that change what the encoder writes.

/// Debezium's `decimal.handling.mode`: how `numeric` and `money` values are written.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum DecimalHandling {
    /// Kafka Connect `Decimal` (base64 of the unscaled two's-complement value) for columns with a
    /// declared scale, Debezium's `VariableScaleDecimal` `{"scale","value"}` for unconstrained
    /// `numeric`. NaN and ±Infinity cannot be expressed and become null. Debezium's default.
    #[default]
    Precise,
    /// Plain decimal text (`"1234.50"`); NaN/±Infinity as `"NAN"`, `"POSITIVE_INFINITY"`,
    /// `"NEGATIVE_INFINITY"`.
    String,
    /// JSON doubles; NaN/±Infinity as the quoted strings Jackson writes (`"NaN"`, `"Infinity"`).
    Double,
}

/// Debezium's `time.precision.mode`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum TimePrecisionMode {
    /// Milliseconds for precision ≤ 3, microseconds above (Debezium's default).
    #[default]
    Adaptive,
    /// As adaptive, but `time` always in microseconds.
    AdaptiveTimeMicroseconds,
    /// Kafka Connect's own logical types (milliseconds).
    Connect,
    /// ISO-8601 strings.
    IsoString,
    Microseconds,
    Nanoseconds,
}

/// Debezium's `binary.handling.mode` (bytea and bit strings).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum BinaryHandling {
    /// Bytes, which JSON renders as base64 (Debezium's default).
    #[default]
    Bytes,
    Base64,
    Base64UrlSafe,
    Hex,
}

/// Debezium's `interval.handling.mode`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum IntervalHandling {
    /// Microseconds, a month counted as 30.4375 days (Debezium's default).
    #[default]
    Numeric,
    /// ISO-8601 duration strings (`P1Y2M3DT4H5M6.78S`).
    String,
}

/// Debezium's `hstore.handling.mode`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum HstoreHandling {
    /// A JSON document as a string (Debezium's default).
    #[default]
    Json,
    /// A JSON object (a Connect map).
    Map,
}

/// What an unchanged out-of-line (TOAST) value that PostgreSQL did not send becomes.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum UnchangedToast {
    /// Debezium's placeholder (`unavailable_value_placeholder`), per type as Debezium writes it.
    #[default]
    Placeholder,
    /// The column is left out of `after`: consumers cannot mistake a placeholder for data.
    Omit,
}

/// The subset of Debezium's PostgreSQL connector configuration the encoder needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DebeziumSettings {
    /// `topic.prefix`: first part of every topic name, and `source.name`.
    pub topic_prefix: String,
    /// The database name, `source.db`.
    pub database: String,
    /// `decimal.handling.mode`.
    pub decimal_handling: DecimalHandling,
    /// `tombstones.on.delete`: follow every delete with a record whose value is null.
    pub tombstones_on_delete: bool,
    /// `unavailable.value.placeholder`: what replaces an unchanged TOAST value.
    pub unavailable_value_placeholder: String,
    /// `time.precision.mode`.
    pub time_precision_mode: TimePrecisionMode,
    /// `binary.handling.mode`.
    pub binary_handling: BinaryHandling,
    /// `interval.handling.mode`.
    pub interval_handling: IntervalHandling,
    /// `hstore.handling.mode`.
    pub hstore_handling: HstoreHandling,
    /// `include.unknown.datatypes`: keep columns of types Debezium has no converter for (as
    /// their text). Debezium's default drops them; Rivulet's keeps them.
    pub include_unknown_datatypes: bool,
    /// `provide.transaction.metadata`: the `transaction` block in every event, and BEGIN/END
    /// records on `<prefix>.transaction`.
    pub provide_transaction_metadata: bool,
    /// `heartbeat.topics.prefix`: heartbeat records go to `<this>.<topic prefix>`.
    pub heartbeat_topics_prefix: String,
    /// Kafka Connect's `replace.null.with.default`: a null in a column with a `DEFAULT` is written
    /// as that default (Debezium on Kafka Connect does; true by default).
    pub null_as_default: bool,
    /// Debezium fills NOT NULL columns that a delete's old row did not carry with a zero value
    /// (`""`, `0`, `false`); false writes `null` there instead.
    pub not_null_fallback: bool,
    /// What unchanged TOAST values become.
    pub unchanged_toast: UnchangedToast,
}

impl Default for DebeziumSettings {
    fn default() -> Self {
        DebeziumSettings {
            topic_prefix: "rivulet".to_string(),
            database: "postgres".to_string(),
            decimal_handling: DecimalHandling::Precise,
            tombstones_on_delete: true,
            unavailable_value_placeholder: "__debezium_unavailable_value".to_string(),
            time_precision_mode: TimePrecisionMode::default(),
            binary_handling: BinaryHandling::default(),
            interval_handling: IntervalHandling::default(),
            hstore_handling: HstoreHandling::default(),
            include_unknown_datatypes: true,
            provide_transaction_metadata: false,
            heartbeat_topics_prefix: "__debezium-heartbeat".to_string(),
            null_as_default: true,
            not_null_fallback: true,
            unchanged_toast: UnchangedToast::default(),
        }
    }
}
