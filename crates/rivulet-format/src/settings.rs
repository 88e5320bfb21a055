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
}

impl Default for DebeziumSettings {
    fn default() -> Self {
        DebeziumSettings {
            topic_prefix: "rivulet".to_string(),
            database: "postgres".to_string(),
            decimal_handling: DecimalHandling::Precise,
            tombstones_on_delete: true,
            unavailable_value_placeholder: "__debezium_unavailable_value".to_string(),
        }
    }
}
