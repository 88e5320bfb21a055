//! Topic routers: Kafka's `RegexRouter` and Debezium's `ByLogicalTableRouter`.
//!
//! Both route a record whose topic matches `regex` as a whole to `regex.replaceFirst(topic,
//! replacement)` (Java semantics, see `pattern`). `ByLogicalTableRouter` also adds a field to
//! the key naming the physical table (`__dbz__physicalTableIdentifier`: the old topic, or
//! `key.field.regex` → `key.field.replacement` of it), so keys of shards sharing a topic stay
//! distinct. Records without a key keep none; the value is left as it is (only its Connect
//! schema name would change, which JSON without schemas does not carry).

use crate::json::Json;
use crate::pattern::{JavaRegex, Replacement};

use super::{Record, Smt, append_field, require_object};

pub(crate) struct RegexRouter {
    pub regex: JavaRegex,
    pub replacement: Replacement,
}

impl Smt for RegexRouter {
    fn apply(&self, mut record: Record) -> Result<Option<Record>, String> {
        if self.regex.matches(&record.topic) {
            record.topic = self.regex.replace_first(&record.topic, &self.replacement);
        }
        Ok(Some(record))
    }
}

pub(crate) struct LogicalTableRouter {
    pub topic_regex: JavaRegex,
    pub topic_replacement: Replacement,
    /// `key.enforce.uniqueness` with `key.field.name`: the field added to keys.
    pub key_field: Option<String>,
    /// `key.field.regex` / `key.field.replacement`.
    pub key_field_rewrite: Option<(JavaRegex, Replacement)>,
}

impl Smt for LogicalTableRouter {
    fn apply(&self, mut record: Record) -> Result<Option<Record>, String> {
        if !self.topic_regex.matches(&record.topic) {
            return Ok(Some(record));
        }
        let new_topic = self
            .topic_regex
            .replace_first(&record.topic, &self.topic_replacement);
        if new_topic.is_empty() {
            // Debezium logs a warning and keeps the record as it is.
            tracing::warn!(topic = %record.topic, "ByLogicalTableRouter: the routing regex gave an empty topic name; the record keeps its topic");
            return Ok(Some(record));
        }
        if let (Some(key), Some(field)) = (&mut record.key, &self.key_field) {
            let identifier = match &self.key_field_rewrite {
                Some((regex, replacement)) if regex.matches(&record.topic) => {
                    regex.replace_first(&record.topic, replacement)
                }
                _ => record.topic.clone(),
            };
            let members = require_object(key, "the key of a logical table")?;
            append_field(members, field, Json::Str(identifier))?;
        }
        record.topic = new_topic;
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smt::tests::{record, text};

    fn regex(p: &str, r: &str) -> (JavaRegex, Replacement) {
        let regex = JavaRegex::new(p).unwrap();
        let replacement = Replacement::parse(r, &regex).unwrap();
        (regex, replacement)
    }

    #[test]
    fn regex_router_needs_a_whole_match() {
        let (regex, replacement) = regex(r"dbz\.public\.(.*)", "cdc.$1");
        let router = RegexRouter { regex, replacement };
        let out = router
            .apply(record("dbz.public.orders", None, None))
            .unwrap()
            .unwrap();
        assert_eq!(out.topic, "cdc.orders");
        let out = router.apply(record("other", None, None)).unwrap().unwrap();
        assert_eq!(out.topic, "other");
    }

    #[test]
    fn logical_table_router_extends_keys() {
        let (topic_regex, topic_replacement) = regex(r"cdc\.(shard)_([0-9]+)", "cdc.$1_all");
        let router = LogicalTableRouter {
            topic_regex,
            topic_replacement,
            key_field: Some("__dbz__physicalTableIdentifier".into()),
            key_field_rewrite: Some(regex(r"cdc\.shard_([0-9]+)", "s$1")),
        };
        let out = router
            .apply(record("cdc.shard_2", Some(r#"{"id":1}"#), None))
            .unwrap()
            .unwrap();
        assert_eq!(
            text(&out),
            (
                "cdc.shard_all".into(),
                Some(r#"{"id":1,"__dbz__physicalTableIdentifier":"s2"}"#.into()),
                None
            )
        );
        let out = router
            .apply(record("cdc.shard_2", None, Some("{}")))
            .unwrap()
            .unwrap();
        assert_eq!(text(&out), ("cdc.shard_all".into(), None, Some("{}".into())));
        assert!(router.apply(record("cdc.shard_2", Some("7"), None)).is_err());
    }
}
