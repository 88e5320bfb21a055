//! The JSON the decoder reads: one parse per record into a tree that borrows from the record's
//! bytes and keeps object fields in their order.
//!
//! `serde_json::Value` would do neither without its `preserve_order` feature (which would
//! change the map type for every crate in the build): rows need the producer's column order,
//! and strings without escapes (most of them) should not be copied twice. The top level of a
//! record gets special treatment: Kafka Connect's `{"schema": …, "payload": …}` keeps its schema
//! as the raw text, so the decoder can recognise a schema it has seen by comparing bytes.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::java_number::write_json_double;
use crate::json_text::{write_i64, write_str, write_u64};

/// An object's fields, in order.
pub type Fields<'a> = [(Cow<'a, str>, Json<'a>)];

/// A JSON value borrowed from the record's bytes.
#[derive(Clone, Debug, PartialEq)]
pub enum Json<'a> {
    Null,
    Bool(bool),
    Int(i64),
    /// An integer above `i64::MAX` (unsigned 64-bit values of other databases).
    UInt(u64),
    Float(f64),
    Str(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    /// Fields in the order the producer wrote them.
    Object(Vec<(Cow<'a, str>, Json<'a>)>),
}

impl<'a> Json<'a> {
    /// The field `key` of an object (the last one if the object repeats it, as serde_json does).
    pub fn get(&self, key: &str) -> Option<&Json<'a>> {
        match self {
            Json::Object(fields) => fields.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The field `key`, treating JSON `null` like an absent field.
    pub fn get_present(&self, key: &str) -> Option<&Json<'a>> {
        self.get(key).filter(|v| !matches!(v, Json::Null))
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Json::Int(v) => Some(v),
            _ => None,
        }
    }

    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Json::Int(v) => u64::try_from(v).ok(),
            Json::UInt(v) => Some(v),
            _ => None,
        }
    }

    /// What kind of value this is, for error messages ("found a string").
    pub fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Int(_) | Json::UInt(_) => "an integer",
            Json::Float(_) => "a number",
            Json::Str(_) => "a string",
            Json::Array(_) => "an array",
            Json::Object(_) => "an object",
        }
    }

    /// Compact JSON text, as Jackson would write this tree (its string escaping, Java's spelling
    /// of doubles). The producer's exact spelling is not kept; only JSON-valued columns and
    /// values that do not fit their column are carried this way.
    pub fn to_compact_string(&self) -> String {
        let mut out = Vec::new();
        self.write_compact(&mut out);
        // Only valid UTF-8 is ever written: string parts come from `&str`s.
        String::from_utf8(out).unwrap_or_default()
    }

    fn write_compact(&self, out: &mut Vec<u8>) {
        match self {
            Json::Null => out.extend_from_slice(b"null"),
            Json::Bool(true) => out.extend_from_slice(b"true"),
            Json::Bool(false) => out.extend_from_slice(b"false"),
            Json::Int(v) => write_i64(out, *v),
            Json::UInt(v) => write_u64(out, *v),
            Json::Float(v) => write_json_double(out, *v),
            Json::Str(s) => write_str(out, s),
            Json::Array(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    item.write_compact(out);
                }
                out.push(b']');
            }
            Json::Object(fields) => {
                out.push(b'{');
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_str(out, key);
                    out.push(b':');
                    value.write_compact(out);
                }
                out.push(b'}');
            }
        }
    }
}

impl<'de> Deserialize<'de> for Json<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Json::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(i64::try_from(v).map_or(Json::UInt(v), Json::Int))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Json::Float(v))
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Json::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Json::Str(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Json::Str(Cow::Owned(v)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Json::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Json::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        Json::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = Vec::new();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            fields.push((key, map.next_value()?));
        }
        Ok(Json::Object(fields))
    }
}

/// Reads an object key, borrowing it when it has no escapes (serde's `Cow<str>` always copies).
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// A record's key or value: the body (the envelope or the key's fields) and, for Kafka Connect's
/// `{"schema": …, "payload": …}` form, the schema's raw JSON text.
#[derive(Debug)]
pub struct Document<'a> {
    pub schema: Option<&'a RawValue>,
    pub body: Json<'a>,
}

impl<'a> Document<'a> {
    /// Parses one record key or value.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

impl<'de> Deserialize<'de> for Document<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DocumentVisitor)
    }
}

struct DocumentVisitor;

impl<'de> DocumentVisitor {
    fn plain(body: Json<'de>) -> Document<'de> {
        Document { schema: None, body }
    }
}

impl<'de> Visitor<'de> for DocumentVisitor {
    type Value = Document<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON document")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        JsonVisitor.visit_bool(v).map(Self::plain)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        JsonVisitor.visit_i64(v).map(Self::plain)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        JsonVisitor.visit_u64(v).map(Self::plain)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        JsonVisitor.visit_f64(v).map(Self::plain)
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        JsonVisitor.visit_borrowed_str(v).map(Self::plain)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        JsonVisitor.visit_str(v).map(Self::plain)
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        JsonVisitor.visit_string(v).map(Self::plain)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Self::plain(Json::Null))
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Self::plain(Json::Null))
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        Document::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        JsonVisitor.visit_seq(seq).map(Self::plain)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = Vec::new();
        // Where a field named "schema" was, in case this turns out not to be the wrapped form.
        let mut schema: Option<(usize, &'de RawValue)> = None;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            if key == "schema" && schema.is_none() {
                schema = Some((fields.len(), map.next_value()?));
            } else {
                fields.push((key, map.next_value::<Json<'de>>()?));
            }
        }
        let payload = fields.iter().position(|(k, _)| k == "payload");
        match (schema, payload) {
            (Some((_, raw)), Some(at)) => {
                let (_, body) = fields.swap_remove(at);
                // `"schema": null` is what JsonConverter writes for a schemaless value.
                let schema = (raw.get().trim() != "null").then_some(raw);
                Ok(Document { schema, body })
            }
            (Some((at, raw)), None) => {
                // An ordinary field that happens to be called "schema": keep it in place.
                let value: Json<'de> = serde_json::from_str(raw.get()).map_err(de::Error::custom)?;
                fields.insert(at, (Cow::Borrowed("schema"), value));
                Ok(Self::plain(Json::Object(fields)))
            }
            (None, _) => Ok(Self::plain(Json::Object(fields))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_field_order_and_borrows_plain_strings() {
        let text = br#"{"z":1,"a":"plain","m":"esc\"aped","n":null,"big":18446744073709551615,"f":2.5}"#;
        let doc = Document::parse(text).unwrap();
        assert!(doc.schema.is_none());
        let Json::Object(fields) = &doc.body else {
            panic!("object")
        };
        let keys: Vec<&str> = fields.iter().map(|(k, _)| k.as_ref()).collect();
        assert_eq!(keys, ["z", "a", "m", "n", "big", "f"]);
        assert!(matches!(
            doc.body.get("a"),
            Some(Json::Str(Cow::Borrowed("plain")))
        ));
        assert_eq!(doc.body.get("m").and_then(Json::as_str), Some("esc\"aped"));
        assert_eq!(doc.body.get("big"), Some(&Json::UInt(u64::MAX)));
        assert_eq!(doc.body.get("f"), Some(&Json::Float(2.5)));
        assert!(doc.body.get_present("n").is_none());
    }

    #[test]
    fn unwraps_schema_and_payload() {
        let text = br#"{"schema":{"type":"struct","fields":[]},"payload":{"op":"c"}}"#;
        let doc = Document::parse(text).unwrap();
        assert_eq!(
            doc.schema.map(RawValue::get),
            Some(r#"{"type":"struct","fields":[]}"#)
        );
        assert_eq!(doc.body.get("op").and_then(Json::as_str), Some("c"));

        let schemaless = Document::parse(br#"{"schema":null,"payload":{"id":1}}"#).unwrap();
        assert!(schemaless.schema.is_none());
        assert_eq!(schemaless.body.get("id"), Some(&Json::Int(1)));

        // A field called "schema" without a payload is just a field.
        let plain = Document::parse(br#"{"a":1,"schema":"shop","b":2}"#).unwrap();
        assert!(plain.schema.is_none());
        assert_eq!(plain.body.to_compact_string(), r#"{"a":1,"schema":"shop","b":2}"#);
    }

    #[test]
    fn compact_text_is_jacksons() {
        let doc =
            Document::parse("{\"a\": [1, 2.5, 1e300, \"x\\u0001😀\"], \"b\": {\"c\": true}}".as_bytes())
                .unwrap();
        assert_eq!(
            doc.body.to_compact_string(),
            r#"{"a":[1,2.5,1.0E300,"x\u0001\uD83D\uDE00"],"b":{"c":true}}"#
        );
    }

    #[test]
    fn scalars_at_the_top() {
        assert_eq!(Document::parse(b"null").unwrap().body, Json::Null);
        assert_eq!(Document::parse(b" 7 ").unwrap().body, Json::Int(7));
        assert!(Document::parse(b"{").is_err());
        assert!(Document::parse(b"").is_err());
        assert!(Document::parse(b"\xff").is_err());
    }
}
