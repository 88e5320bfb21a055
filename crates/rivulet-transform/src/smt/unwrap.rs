//! `io.debezium.transforms.ExtractNewRecordState` (event flattening).
//!
//! ```text
//!  tombstone ─────────────▶ kept only in rewrite-with-tombstone (legacy: drop.tombstones=false)
//!  not an envelope ───────▶ unchanged (logical messages, transaction and heartbeat records)
//!  before and after null ─▶ dropped (truncate)
//!  after null (delete) ───▶ drop: dropped · tombstone, delete-to-tombstone: value null ·
//!                           rewrite(-with-tombstone): before + "__deleted":"true"
//!  otherwise ─────────────▶ after (+ "__deleted":"false" in the rewrite modes)
//!  then: route.by.field (topic from the row: `before` for deletes), add.fields appended
//! ```
//!
//! `add.fields` entries are `field`, `struct.field` or either with `:new_name`; unqualified
//! names are looked up in `source`, except `op`, `ts_ms`, `ts_us`, `ts_ns` (top level) and
//! `id`, `total_order`, `data_collection_order` (`transaction`). A field the event does not
//! have is not added, as in Debezium (where the Connect schema decides).

use crate::config::{DeleteTombstoneHandling, LegacyDeleteHandling};
use crate::json::{Json, Member, get};

use super::{Record, Smt, append_field, envelope, require_object};

/// How deletes and tombstones are handled.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum DeleteStrategy {
    /// `delete.tombstone.handling.mode` (Debezium ≥ 2.5; the only one 3.2+ reads).
    Mode(DeleteTombstoneHandling),
    /// `drop.tombstones` + `delete.handling.mode`, as Debezium ≤ 3.1 read them.
    Legacy {
        drop_tombstones: bool,
        deletes: LegacyDeleteHandling,
    },
}

impl DeleteStrategy {
    fn rewrites(self) -> bool {
        matches!(
            self,
            DeleteStrategy::Mode(
                DeleteTombstoneHandling::Rewrite | DeleteTombstoneHandling::RewriteWithTombstone
            ) | DeleteStrategy::Legacy {
                deletes: LegacyDeleteHandling::Rewrite,
                ..
            }
        )
    }
}

/// One `add.fields` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FieldReference {
    /// The struct holding the field (`source`, `transaction`…), `None` for the top level.
    parent: Option<String>,
    field: String,
    /// The name in the flattened record (`__source_ts_ms`).
    new_name: String,
}

impl FieldReference {
    /// Parses one entry as Debezium's `FieldReference` does.
    pub fn parse(prefix: &str, entry: &str) -> Result<Self, String> {
        let parts: Vec<&str> = entry.split(':').collect();
        if parts.len() > 2 {
            return Err(format!("unexpected field name '{entry}'"));
        }
        // Java's split drops trailing empty strings.
        let mut path: Vec<&str> = parts[0].split('.').collect();
        while path.len() > 1 && path.last() == Some(&"") {
            path.pop();
        }
        let (parent, field) = if path.len() == 1 {
            (default_parent(path[0]), path[0].to_string())
        } else {
            (Some(path[0].to_string()), path[1].to_string())
        };
        let new_name = match (parts.get(1), &parent, path.len()) {
            (Some(name), _, _) => format!("{prefix}{name}"),
            (None, Some(parent), n) if n > 1 => format!("{prefix}{parent}_{field}"),
            _ => format!("{prefix}{field}"),
        };
        Ok(FieldReference {
            parent,
            field,
            new_name,
        })
    }

    /// The field's value in the original envelope, or `None` if the event has no such field.
    fn value(&self, envelope: &[Member]) -> Result<Option<Json>, String> {
        let top_level = || get(envelope, &self.field).cloned();
        let Some(parent) = &self.parent else {
            return Ok(top_level());
        };
        let Some(parent_value) = get(envelope, parent) else {
            return Err(format!(
                "add.fields: the record has no struct '{parent}' for '{}'",
                self.field
            ));
        };
        if parent_value.is_null() {
            // A null struct: its schema still has the field if Debezium defines it there.
            let known = parent == "transaction" && TRANSACTION_FIELDS.contains(&self.field.as_str());
            return Ok(if known { Some(Json::Null) } else { top_level() });
        }
        let mut parent_value = parent_value.clone();
        match parent_value.object().map_err(|e| e.to_string())? {
            Some(members) => match get(members, &self.field) {
                Some(v) => Ok(Some(v.clone())),
                None => Ok(top_level()),
            },
            None => Ok(top_level()),
        }
    }
}

const TRANSACTION_FIELDS: [&str; 3] = ["id", "total_order", "data_collection_order"];

fn default_parent(field: &str) -> Option<String> {
    match field {
        "id" | "total_order" | "data_collection_order" => Some("transaction".into()),
        "op" | "ts_ms" | "ts_us" | "ts_ns" => None,
        "updateDescription" => Some("updateDescription".into()),
        _ => Some("source".into()),
    }
}

pub(crate) struct Unwrap {
    pub strategy: DeleteStrategy,
    pub add_fields: Vec<FieldReference>,
    pub route_by_field: Option<String>,
}

impl Smt for Unwrap {
    fn apply(&self, mut record: Record) -> Result<Option<Record>, String> {
        let Some(value) = &mut record.value else {
            return Ok(self.tombstone(record));
        };
        let Some(env) = envelope(value)? else {
            return Ok(Some(record));
        };
        let after = get(env, "after").cloned().unwrap_or(Json::Null);
        let before = get(env, "before").cloned().unwrap_or(Json::Null);
        if after.is_null() && before.is_null() {
            // A truncate: dropped.
            return Ok(None);
        }
        let original = env.clone();
        if after.is_null() {
            let Some(mut new_value) = self.delete(before.clone()) else {
                return Ok(None);
            };
            if let Some(field) = &self.route_by_field {
                let mut before = before;
                let row = require_object(&mut before, "topic routing of a delete")?;
                set_topic(&mut record.topic, row, field)?;
            }
            if let Some(v) = &mut new_value {
                self.add_fields(v, &original)?;
            }
            record.value = new_value;
        } else {
            let mut new_value = after;
            if self.strategy.rewrites() && new_value.is_object() {
                let row = require_object(&mut new_value, "the __deleted field")?;
                append_field(row, "__deleted", Json::Str("false".into()))?;
            }
            if let Some(field) = &self.route_by_field {
                let row = require_object(&mut new_value, "topic routing")?;
                set_topic(&mut record.topic, row, field)?;
            }
            self.add_fields(&mut new_value, &original)?;
            record.value = Some(new_value);
        }
        Ok(Some(record))
    }
}

impl Unwrap {
    fn tombstone(&self, record: Record) -> Option<Record> {
        let keep = match self.strategy {
            DeleteStrategy::Mode(mode) => mode == DeleteTombstoneHandling::RewriteWithTombstone,
            DeleteStrategy::Legacy { drop_tombstones, .. } => !drop_tombstones,
        };
        keep.then_some(record)
    }

    /// The value a delete becomes: `None` drops the record, `Some(None)` is a null value.
    fn delete(&self, before: Json) -> Option<Option<Json>> {
        let rewrite = |mut before: Json| {
            if let Ok(Some(row)) = before.object() {
                // A rewritten delete always gets the field (appending cannot collide: a row
                // column named __deleted would make Debezium fail the same way).
                let _ = append_field(row, "__deleted", Json::Str("true".into()));
            }
            Some(Some(before))
        };
        match self.strategy {
            DeleteStrategy::Mode(DeleteTombstoneHandling::Drop)
            | DeleteStrategy::Legacy {
                deletes: LegacyDeleteHandling::Drop,
                ..
            } => None,
            DeleteStrategy::Mode(
                DeleteTombstoneHandling::Tombstone | DeleteTombstoneHandling::DeleteToTombstone,
            )
            | DeleteStrategy::Legacy {
                deletes: LegacyDeleteHandling::None,
                ..
            } => Some(None),
            DeleteStrategy::Mode(
                DeleteTombstoneHandling::Rewrite | DeleteTombstoneHandling::RewriteWithTombstone,
            )
            | DeleteStrategy::Legacy {
                deletes: LegacyDeleteHandling::Rewrite,
                ..
            } => rewrite(before),
        }
    }

    fn add_fields(&self, value: &mut Json, original: &[Member]) -> Result<(), String> {
        if self.add_fields.is_empty() {
            return Ok(());
        }
        let row = require_object(value, "source field insertion")?;
        for reference in &self.add_fields {
            if let Some(v) = reference.value(original)? {
                append_field(row, &reference.new_name, v)?;
            }
        }
        Ok(())
    }
}

/// `route.by.field`: the row's field (a string) becomes the topic; null or blank keeps it.
fn set_topic(topic: &mut String, row: &[Member], field: &str) -> Result<(), String> {
    let Some(value) = get(row, field) else {
        return Err(format!("route.by.field: the row has no field '{field}'"));
    };
    if value.is_null() {
        return Ok(());
    }
    match value.as_string().map_err(|e| e.to_string())? {
        Some(s) if !s.trim().is_empty() => {
            *topic = s;
            Ok(())
        }
        Some(_) => Ok(()),
        None => Err(format!(
            "route.by.field: field '{field}' is {}, not a string",
            value.kind()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smt::tests::{record, text};

    fn unwrap(strategy: DeleteStrategy, add: &[&str], route: Option<&str>) -> Unwrap {
        Unwrap {
            strategy,
            add_fields: add
                .iter()
                .map(|f| FieldReference::parse("__", f).unwrap())
                .collect(),
            route_by_field: route.map(str::to_string),
        }
    }

    const INSERT: &str = r#"{"before":null,"after":{"id":1,"t":"x.y"},"source":{"db":"d","table":"t","ts_ms":5},"transaction":null,"op":"c","ts_ms":9}"#;
    const DELETE: &str = r#"{"before":{"id":1,"t":"x.z"},"after":null,"source":{"db":"d","table":"t","ts_ms":5},"transaction":null,"op":"d","ts_ms":9}"#;
    const TRUNCATE: &str =
        r#"{"before":null,"after":null,"source":{"db":"d"},"transaction":null,"op":"t","ts_ms":9}"#;

    fn run(u: &Unwrap, value: Option<&str>) -> Option<(String, Option<String>, Option<String>)> {
        u.apply(record("dbz.public.t", Some(r#"{"id":1}"#), value))
            .unwrap()
            .as_ref()
            .map(text)
    }

    #[test]
    fn field_references_as_debezium_names_them() {
        let r = FieldReference::parse("__", "source.ts_ms").unwrap();
        assert_eq!(
            (r.parent.as_deref(), r.field.as_str(), r.new_name.as_str()),
            (Some("source"), "ts_ms", "__source_ts_ms")
        );
        let r = FieldReference::parse("__", "op").unwrap();
        assert_eq!((r.parent, r.new_name.as_str()), (None, "__op"));
        let r = FieldReference::parse("x_", "table:T").unwrap();
        assert_eq!(
            (r.parent.as_deref(), r.new_name.as_str()),
            (Some("source"), "x_T")
        );
        assert_eq!(
            FieldReference::parse("__", "id").unwrap().parent.as_deref(),
            Some("transaction")
        );
        assert!(FieldReference::parse("__", "a:b:c").is_err());
    }

    #[test]
    fn default_mode_turns_deletes_into_tombstones_and_drops_the_rest() {
        let u = unwrap(
            DeleteStrategy::Mode(DeleteTombstoneHandling::Tombstone),
            &["op", "table", "transaction.id", "nosuch"],
            None,
        );
        let (_, key, value) = run(&u, Some(INSERT)).unwrap();
        assert_eq!(key.as_deref(), Some(r#"{"id":1}"#));
        assert_eq!(
            value.as_deref(),
            Some(r#"{"id":1,"t":"x.y","__op":"c","__table":"t","__transaction_id":null}"#)
        );
        assert_eq!(run(&u, Some(DELETE)).unwrap().2, None);
        assert_eq!(run(&u, None), None);
        assert_eq!(run(&u, Some(TRUNCATE)), None);
        let message = r#"{"op":"m","ts_ms":1,"source":{},"transaction":null,"message":{"prefix":"p"}}"#;
        assert_eq!(run(&u, Some(message)).unwrap().2.as_deref(), Some(message));
    }

    #[test]
    fn rewrite_modes() {
        let u = unwrap(
            DeleteStrategy::Mode(DeleteTombstoneHandling::RewriteWithTombstone),
            &["op"],
            Some("t"),
        );
        let (topic, _, value) = run(&u, Some(DELETE)).unwrap();
        assert_eq!(topic, "x.z");
        assert_eq!(
            value.as_deref(),
            Some(r#"{"id":1,"t":"x.z","__deleted":"true","__op":"d"}"#)
        );
        let (topic, _, value) = run(&u, Some(INSERT)).unwrap();
        assert_eq!(topic, "x.y");
        assert_eq!(
            value.as_deref(),
            Some(r#"{"id":1,"t":"x.y","__deleted":"false","__op":"c"}"#)
        );
        assert!(run(&u, None).is_some(), "rewrite-with-tombstone keeps tombstones");
        let drop = unwrap(DeleteStrategy::Mode(DeleteTombstoneHandling::Drop), &[], None);
        assert_eq!(run(&drop, Some(DELETE)), None);
    }

    #[test]
    fn legacy_options() {
        let u = unwrap(
            DeleteStrategy::Legacy {
                drop_tombstones: false,
                deletes: LegacyDeleteHandling::None,
            },
            &[],
            None,
        );
        assert_eq!(run(&u, Some(DELETE)).unwrap().2, None);
        assert!(run(&u, None).is_some());
        let d = unwrap(
            DeleteStrategy::Legacy {
                drop_tombstones: true,
                deletes: LegacyDeleteHandling::Drop,
            },
            &[],
            None,
        );
        assert_eq!(run(&d, Some(DELETE)), None);
    }

    #[test]
    fn route_by_field_errors() {
        let u = unwrap(
            DeleteStrategy::Mode(DeleteTombstoneHandling::Tombstone),
            &[],
            Some("nope"),
        );
        assert!(u.apply(record("t", None, Some(INSERT))).is_err());
        let u = unwrap(
            DeleteStrategy::Mode(DeleteTombstoneHandling::Tombstone),
            &[],
            Some("id"),
        );
        let err = u.apply(record("t", None, Some(INSERT))).unwrap_err();
        assert!(err.contains("not a string"), "{err}");
    }
}
