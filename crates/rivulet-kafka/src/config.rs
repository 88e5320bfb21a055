//! The Kafka settings: `[sink]` (`type = "kafka"`), `[source]` (`type = "kafka"`) and
//! `[offsets]` (`type = "kafka"`), and how each becomes a librdkafka configuration.
//!
//! ```text
//!  Rivulet's defaults ─▶ [*.kafka.properties] (the user wins) ─▶ required properties (checked)
//! ```
//!
//! Any librdkafka property passes through from `[*.kafka.properties]` (values may be TOML
//! strings, numbers or booleans; librdkafka wants strings). A few properties carry Rivulet's
//! guarantees, so a contradicting value is a configuration error rather than silently
//! overridden: the producer's `enable.idempotence = true` and `acks = all`, the consumer's
//! `enable.auto.commit = false`.

use std::collections::BTreeMap;
use std::fmt;

use rdkafka::ClientConfig;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

/// `[sink]` settings for `type = "kafka"`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSinkConfig {
    /// `bootstrap.servers`: `host:port[,host:port…]`.
    pub brokers: String,
    /// Create a topic (AdminClient) the first time a record goes to it. With `false`, a
    /// missing topic stops the pipeline.
    #[serde(default = "default_true")]
    pub create_topics: bool,
    /// Partitions of created topics (1 is Kafka's auto-create default).
    #[serde(default = "default_one")]
    pub topic_partitions: i32,
    /// Replication factor of created topics: 1 suits a single test broker; use 3 in
    /// production. -1 takes the broker's `default.replication.factor`.
    #[serde(default = "default_one")]
    pub topic_replication_factor: i32,
    /// Kafka transactions: each checkpoint commits the records and the position together, and
    /// consumers with `isolation.level = read_committed` see every change exactly once.
    #[serde(default)]
    pub exactly_once: bool,
    /// Adds `__op`, `__table` and `__lsn` headers to each change record (as Debezium's
    /// `ExtractNewRecordState` with `add.headers = op,table,lsn` does).
    #[serde(default)]
    pub headers: bool,
    /// `[sink.kafka.properties]`: librdkafka producer properties.
    #[serde(default)]
    pub kafka: KafkaSection,
    /// Where the exactly-once sink keeps its position (compacted, created if missing).
    #[serde(default = "default_offsets_topic")]
    pub offsets_topic: String,
}

/// `[offsets]` settings for `type = "kafka"`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaOffsetsConfig {
    pub brokers: String,
    /// The compacted topic holding one checkpoint per pipeline (created if missing).
    #[serde(default = "default_offsets_topic")]
    pub topic: String,
    /// `[offsets.kafka.properties]`: properties for the store's producer and reader.
    #[serde(default)]
    pub kafka: KafkaSection,
}

/// `[source]` settings for `type = "kafka"`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSourceConfig {
    pub brokers: String,
    /// Topic names; an entry starting with `^` is a regular expression (librdkafka's
    /// convention), matched against the cluster's topics as they come and go.
    pub topics: Vec<String>,
    /// The consumer group; default `rivulet-<pipeline>`. Processes sharing it split the
    /// partitions.
    pub group_id: Option<String>,
    /// Where a group without committed offsets starts: `earliest` (default) or `latest`.
    #[serde(default = "default_start")]
    pub start: String,
    /// `[source.kafka.properties]`: librdkafka consumer properties.
    #[serde(default)]
    pub kafka: KafkaSection,
}

/// A `kafka` table holding librdkafka properties.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSection {
    /// librdkafka property → value, e.g. `"compression.type" = "zstd"`, `"linger.ms" = 20`.
    #[serde(default, deserialize_with = "scalar_map")]
    pub properties: BTreeMap<String, String>,
}

fn default_true() -> bool {
    true
}

fn default_one() -> i32 {
    1
}

fn default_offsets_topic() -> String {
    "rivulet-offsets".to_string()
}

fn default_start() -> String {
    "earliest".to_string()
}

/// Accepts strings, integers, floats and booleans as property values, so that
/// `"linger.ms" = 5` works as well as `"linger.ms" = "5"`.
fn scalar_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    struct Scalar(String);

    impl<'de> Deserialize<'de> for Scalar {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct ScalarVisitor;
            impl Visitor<'_> for ScalarVisitor {
                type Value = Scalar;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a string, number or boolean")
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                    Ok(Scalar(v.to_string()))
                }
                fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
                    Ok(Scalar(v))
                }
                fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                    Ok(Scalar(v.to_string()))
                }
                fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                    Ok(Scalar(v.to_string()))
                }
                fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                    Ok(Scalar(v.to_string()))
                }
                fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                    Ok(Scalar(v.to_string()))
                }
            }
            d.deserialize_any(ScalarVisitor)
        }
    }

    struct MapVisitor;
    impl<'de> Visitor<'de> for MapVisitor {
        type Value = BTreeMap<String, String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a table of librdkafka properties")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some((key, Scalar(value))) = map.next_entry::<String, Scalar>()? {
                out.insert(key, value);
            }
            Ok(out)
        }
    }
    d.deserialize_map(MapVisitor)
}

/// A librdkafka configuration under construction, remembering which keys the user set.
pub(crate) struct Properties {
    section: &'static str,
    values: BTreeMap<String, String>,
    user: BTreeMap<String, String>,
}

impl Properties {
    /// Starts from `bootstrap.servers` and Rivulet's `defaults`, then applies the user's
    /// properties of `[<section>.kafka.properties]`.
    pub(crate) fn new(
        section: &'static str,
        brokers: &str,
        defaults: &[(&str, &str)],
        user: &KafkaSection,
    ) -> Result<Self, String> {
        if brokers.trim().is_empty() {
            return Err(format!(
                "[{section}] brokers is empty: give the Kafka bootstrap servers, e.g. \"localhost:9092\""
            ));
        }
        for alias in ["bootstrap.servers", "metadata.broker.list"] {
            if user.properties.contains_key(alias) {
                return Err(format!(
                    "[{section}.kafka.properties] sets {alias}: use [{section}] brokers instead"
                ));
            }
        }
        let mut values: BTreeMap<String, String> = defaults
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        values.insert("bootstrap.servers".into(), brokers.to_string());
        for (k, v) in &user.properties {
            values.insert(k.clone(), v.clone());
        }
        Ok(Properties {
            section,
            values,
            user: user.properties.clone(),
        })
    }

    /// Sets a property the guarantees depend on. A user value meaning the same is fine;
    /// any other is refused with `why`.
    pub(crate) fn require(
        &mut self,
        keys: &[&str],
        value: &str,
        accepted: &[&str],
        why: &str,
    ) -> Result<(), String> {
        for key in keys {
            if let Some(v) = self.user.get(*key)
                && !accepted.iter().any(|a| a.eq_ignore_ascii_case(v.trim()))
            {
                return Err(format!(
                    "[{}.kafka.properties] {key} = \"{v}\" is not allowed: Rivulet sets {} = {value} because {why}",
                    self.section, keys[0]
                ));
            }
        }
        for key in &keys[1..] {
            self.values.remove(*key);
        }
        self.values.insert(keys[0].to_string(), value.to_string());
        Ok(())
    }

    /// Refuses a property that another setting already decides.
    pub(crate) fn refuse(&self, key: &str, instead: &str) -> Result<(), String> {
        if self.user.contains_key(key) {
            return Err(format!(
                "[{}.kafka.properties] sets {key}: {instead}",
                self.section
            ));
        }
        Ok(())
    }

    pub(crate) fn set(&mut self, key: &str, value: impl Into<String>) {
        self.values.insert(key.to_string(), value.into());
    }

    /// A default that depends on other settings: applied unless the user set the key.
    pub(crate) fn set_default(&mut self, key: &str, value: impl Into<String>) {
        if !self.user.contains_key(key) {
            self.values.insert(key.to_string(), value.into());
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    pub(crate) fn user_set(&self, key: &str) -> bool {
        self.user.contains_key(key)
    }

    /// A copy without the given keys (producer-only properties for an admin client, say).
    pub(crate) fn without(&self, keys: &[&str]) -> Properties {
        let mut copy = Properties {
            section: self.section,
            values: self.values.clone(),
            user: self.user.clone(),
        };
        for key in keys {
            copy.values.remove(*key);
        }
        copy
    }

    pub(crate) fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        for (k, v) in &self.values {
            config.set(k, v);
        }
        config
    }

    /// librdkafka's refusal of a property, as a configuration error naming the section.
    pub(crate) fn creation_error(&self, err: &rdkafka::error::KafkaError) -> String {
        format!("[{}.kafka.properties]: {err}", self.section)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn property_values_may_be_numbers_and_booleans() {
        let config: KafkaSinkConfig = serde_json::from_value(serde_json::json!({
            "brokers": "b:9092",
            "kafka": {"properties": {"linger.ms": 20, "enable.ssl.certificate.verification": false, "x": 1.5, "compression.type": "zstd"}}
        }))
        .unwrap();
        assert_eq!(config.kafka.properties["linger.ms"], "20");
        assert_eq!(
            config.kafka.properties["enable.ssl.certificate.verification"],
            "false"
        );
        assert_eq!(config.kafka.properties["x"], "1.5");
        assert_eq!(config.kafka.properties["compression.type"], "zstd");
        assert!(config.create_topics);
        assert_eq!(config.topic_partitions, 1);
        assert_eq!(config.topic_replication_factor, 1);
        assert_eq!(config.offsets_topic, "rivulet-offsets");
        assert!(!config.exactly_once && !config.headers);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err =
            serde_json::from_value::<KafkaSinkConfig>(serde_json::json!({"brokers": "b", "partitions": 3}))
                .unwrap_err();
        assert!(err.to_string().contains("unknown field `partitions`"), "{err}");
        let err = serde_json::from_value::<KafkaSinkConfig>(
            serde_json::json!({"brokers": "b", "kafka": {"properties": {"a": [1]}}}),
        )
        .unwrap_err();
        assert!(err.to_string().contains("a string, number or boolean"), "{err}");
    }

    #[test]
    fn user_properties_win_except_required_ones() {
        let section = KafkaSection {
            properties: [("linger.ms", "50"), ("acks", "-1")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        let mut p = Properties::new(
            "sink",
            "b:1",
            &[("linger.ms", "5"), ("partitioner", "murmur2_random")],
            &section,
        )
        .unwrap();
        p.require(&["acks", "request.required.acks"], "all", &["all", "-1"], "why")
            .unwrap();
        assert_eq!(p.get("linger.ms"), Some("50"));
        assert_eq!(p.get("partitioner"), Some("murmur2_random"));
        assert_eq!(p.get("acks"), Some("all"));

        let section = KafkaSection {
            properties: [("request.required.acks".to_string(), "1".to_string())]
                .into_iter()
                .collect(),
        };
        let mut p = Properties::new("sink", "b:1", &[], &section).unwrap();
        let err = p
            .require(
                &["acks", "request.required.acks"],
                "all",
                &["all", "-1"],
                "a checkpoint needs every replica",
            )
            .unwrap_err();
        assert_eq!(
            err,
            "[sink.kafka.properties] request.required.acks = \"1\" is not allowed: Rivulet sets acks = all because a \
             checkpoint needs every replica"
        );
    }
}
