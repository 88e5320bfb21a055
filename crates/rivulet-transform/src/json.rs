//! An ordered, lazily parsed JSON representation for record transforms.
//!
//! Records arrive as JSON text written by Jackson (Kafka Connect's `JsonConverter`) or by
//! Rivulet's encoder, which writes the same bytes. A transform touches a few fields; everything
//! else must leave byte for byte as it came (number spellings such as `1.5E300`, escapes, field
//! order). So a value stays [`Json::Raw`] text until a transform needs to look inside, and an
//! object is split into members whose keys and values are again raw slices:
//!
//! ```text
//!  "{\"before\":null,\"after\":{…},…}"  ──object()──▶  [("before", Raw "null"), ("after", Raw "{…}"), …]
//!                                                              │ object() again, only where needed
//!                                                              ▼
//!                                                     [("id", Raw "1"), ("name", Str "****"), …]
//! ```
//!
//! `serde_json`'s own `Value` would re-spell numbers and (without `preserve_order`, a feature
//! that would change every other crate's maps too) reorder fields, hence this small scanner.
//! Strings that transforms create are escaped as Jackson escapes them.

use std::fmt::Write as _;

/// A JSON value as a record transform sees it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Json {
    /// JSON text exactly as it was read (any kind of value), written back unchanged.
    Raw(String),
    /// An object split into members, in their original order.
    Object(Vec<Member>),
    /// A string made by a transform, escaped when written.
    Str(String),
    /// JSON text made by a transform (already valid JSON, e.g. a number or a masked string).
    Text(String),
    Null,
}

/// One member of an object. `raw_key` keeps the key's original quoted text, so a key leaves
/// exactly as it came; keys added by transforms have none and are escaped when written.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Member {
    pub name: String,
    raw_key: Option<String>,
    pub value: Json,
}

impl Member {
    pub fn new(name: impl Into<String>, value: Json) -> Self {
        Member {
            name: name.into(),
            raw_key: None,
            value,
        }
    }

    /// The same member under another name (the original key text no longer applies).
    pub fn renamed(self, name: &str) -> Self {
        if name == self.name {
            return self;
        }
        Member::new(name, self.value)
    }
}

/// Why text is not the JSON a transform expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JsonError(pub String);

impl std::fmt::Display for JsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Json {
    /// Wraps record bytes (JSON text). Bytes that are not UTF-8 cannot be JSON.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Json, JsonError> {
        let text =
            String::from_utf8(bytes).map_err(|_| JsonError("the record is not UTF-8 JSON text".into()))?;
        Ok(Json::Raw(text))
    }

    pub fn is_null(&self) -> bool {
        match self {
            Json::Null => true,
            Json::Raw(text) => text.trim() == "null",
            _ => false,
        }
    }

    /// True for an object, parsed or not (a cheap look at the first character).
    pub fn is_object(&self) -> bool {
        match self {
            Json::Object(_) => true,
            Json::Raw(text) => text.trim_start().starts_with('{'),
            _ => false,
        }
    }

    /// The object's members, parsing raw text on first use. `None` if this is not an object.
    pub fn object(&mut self) -> Result<Option<&mut Vec<Member>>, JsonError> {
        if let Json::Raw(text) = self {
            if !text.trim_start().starts_with('{') {
                return Ok(None);
            }
            let members = parse_object(text)?;
            *self = Json::Object(members);
        }
        match self {
            Json::Object(members) => Ok(Some(members)),
            _ => Ok(None),
        }
    }

    /// The value as a Rust string if it is a JSON string (`None` for other kinds and null).
    pub fn as_string(&self) -> Result<Option<String>, JsonError> {
        match self {
            Json::Str(s) => Ok(Some(s.clone())),
            Json::Raw(text) | Json::Text(text) => {
                let text = text.trim();
                if text.starts_with('"') {
                    unescape(text).map(Some)
                } else {
                    Ok(None)
                }
            }
            Json::Object(_) | Json::Null => Ok(None),
        }
    }

    /// The JSON text of the value.
    #[cfg(test)]
    pub fn to_text(&self) -> String {
        let mut out = Vec::new();
        self.write(&mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    /// A short name of the value's kind, for messages.
    pub fn kind(&self) -> &'static str {
        let text = match self {
            Json::Object(_) => return "an object",
            Json::Str(_) => return "a string",
            Json::Null => return "null",
            Json::Raw(text) | Json::Text(text) => text.trim_start(),
        };
        match text.as_bytes().first() {
            Some(b'{') => "an object",
            Some(b'[') => "an array",
            Some(b'"') => "a string",
            Some(b't' | b'f') => "a boolean",
            Some(b'n') => "null",
            _ => "a number",
        }
    }

    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            Json::Raw(text) => out.extend_from_slice(text.trim().as_bytes()),
            Json::Text(text) => out.extend_from_slice(text.as_bytes()),
            Json::Str(s) => write_string(out, s),
            Json::Null => out.extend_from_slice(b"null"),
            Json::Object(members) => {
                out.push(b'{');
                for (i, member) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    match &member.raw_key {
                        Some(raw) => out.extend_from_slice(raw.as_bytes()),
                        None => write_string(out, &member.name),
                    }
                    out.push(b':');
                    member.value.write(out);
                }
                out.push(b'}');
            }
        }
    }

    pub fn into_bytes(self) -> Vec<u8> {
        match self {
            Json::Raw(text) if text.len() == text.trim().len() => text.into_bytes(),
            other => {
                let mut out = Vec::new();
                other.write(&mut out);
                out
            }
        }
    }
}

/// Looks a member up by name.
pub(crate) fn get<'a>(members: &'a [Member], name: &str) -> Option<&'a Json> {
    members.iter().find(|m| m.name == name).map(|m| &m.value)
}

pub(crate) fn get_mut<'a>(members: &'a mut [Member], name: &str) -> Option<&'a mut Json> {
    members.iter_mut().find(|m| m.name == name).map(|m| &mut m.value)
}

/// Splits an object's text into members (keys unescaped, values left as raw text).
fn parse_object(text: &str) -> Result<Vec<Member>, JsonError> {
    let bytes = text.as_bytes();
    let mut scan = Scanner { bytes, pos: 0 };
    scan.skip_ws();
    scan.expect(b'{')?;
    let mut members = Vec::new();
    scan.skip_ws();
    if scan.peek() == Some(b'}') {
        scan.pos += 1;
        scan.end()?;
        return Ok(members);
    }
    loop {
        scan.skip_ws();
        let key_start = scan.pos;
        scan.skip_string()?;
        let raw_key = &text[key_start..scan.pos];
        scan.skip_ws();
        scan.expect(b':')?;
        scan.skip_ws();
        let value_start = scan.pos;
        scan.skip_value()?;
        let value = &text[value_start..scan.pos];
        members.push(Member {
            name: unescape(raw_key)?,
            raw_key: Some(raw_key.to_string()),
            value: Json::Raw(value.to_string()),
        });
        scan.skip_ws();
        match scan.next() {
            Some(b',') => continue,
            Some(b'}') => break,
            _ => return Err(scan.error("',' or '}'")),
        }
    }
    scan.end()?;
    Ok(members)
}

/// Unescapes a JSON string literal (with its quotes).
fn unescape(literal: &str) -> Result<String, JsonError> {
    let inner = literal
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .ok_or_else(|| JsonError(format!("expected a JSON string, found {}", preview(literal))))?;
    if !inner.contains('\\') {
        return Ok(inner.to_string());
    }
    serde_json::from_str::<String>(literal)
        .map_err(|e| JsonError(format!("invalid JSON string {}: {e}", preview(literal))))
}

fn preview(text: &str) -> String {
    let mut s: String = text.chars().take(40).collect();
    if text.chars().count() > 40 {
        s.push('…');
    }
    s
}

/// Just enough of a JSON parser to find where values end.
struct Scanner<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek();
        self.pos += 1;
        b
    }

    fn error(&self, expected: &str) -> JsonError {
        JsonError(format!(
            "malformed JSON at byte {}: expected {expected}",
            self.pos
        ))
    }

    fn expect(&mut self, b: u8) -> Result<(), JsonError> {
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(&format!("'{}'", b as char)))
        }
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn end(&mut self) -> Result<(), JsonError> {
        self.skip_ws();
        if self.pos == self.bytes.len() {
            Ok(())
        } else {
            Err(self.error("the end of the value"))
        }
    }

    fn skip_string(&mut self) -> Result<(), JsonError> {
        self.expect(b'"')?;
        loop {
            match self.next() {
                Some(b'"') => return Ok(()),
                Some(b'\\') => self.pos += 1,
                Some(_) => {}
                None => return Err(self.error("the end of a string")),
            }
        }
    }

    fn skip_value(&mut self) -> Result<(), JsonError> {
        match self.peek() {
            Some(b'"') => self.skip_string(),
            Some(b'{' | b'[') => {
                self.pos += 1;
                // The text was written by a JSON encoder, so counting brackets (strings skipped
                // whole: brackets inside them do not count) finds the end of the value.
                let mut depth = 1usize;
                while depth > 0 {
                    match self.peek() {
                        Some(b'"') => self.skip_string()?,
                        Some(b'{' | b'[') => {
                            depth += 1;
                            self.pos += 1;
                        }
                        Some(b'}' | b']') => {
                            depth -= 1;
                            self.pos += 1;
                        }
                        Some(_) => self.pos += 1,
                        None => return Err(self.error("the end of a nested value")),
                    }
                }
                Ok(())
            }
            Some(_) => {
                let start = self.pos;
                while let Some(b) = self.peek() {
                    if matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                        break;
                    }
                    self.pos += 1;
                }
                if self.pos == start {
                    Err(self.error("a value"))
                } else {
                    Ok(())
                }
            }
            None => Err(self.error("a value")),
        }
    }
}

/// A fully parsed JSON document, as Jackson's tree model reads it (for the outbox router's
/// payload expansion): member order kept, integers classified as Jackson does (int, long,
/// big integer), other numbers as doubles.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tree {
    Null,
    Bool(bool),
    Int(i32),
    Long(i64),
    /// An integer beyond 64 bits (its digits).
    BigInt(String),
    Double(f64),
    Str(String),
    Array(Vec<Tree>),
    Object(Vec<(String, Tree)>),
}

/// Parses a whole JSON document.
pub(crate) fn parse_tree(text: &str) -> Result<Tree, JsonError> {
    let mut scan = Scanner {
        bytes: text.as_bytes(),
        pos: 0,
    };
    scan.skip_ws();
    let tree = tree_value(&mut scan, text, 0)?;
    scan.end()?;
    Ok(tree)
}

fn tree_value(scan: &mut Scanner<'_>, text: &str, depth: usize) -> Result<Tree, JsonError> {
    // Deep nesting is refused rather than risking the stack (Jackson's default limit is 1000).
    if depth > 1000 {
        return Err(JsonError("JSON nested more than 1000 levels".into()));
    }
    match scan.peek() {
        Some(b'{') => {
            scan.pos += 1;
            let mut members = Vec::new();
            scan.skip_ws();
            if scan.peek() == Some(b'}') {
                scan.pos += 1;
                return Ok(Tree::Object(members));
            }
            loop {
                scan.skip_ws();
                let start = scan.pos;
                scan.skip_string()?;
                let name = unescape(&text[start..scan.pos])?;
                scan.skip_ws();
                scan.expect(b':')?;
                scan.skip_ws();
                members.push((name, tree_value(scan, text, depth + 1)?));
                scan.skip_ws();
                match scan.next() {
                    Some(b',') => continue,
                    Some(b'}') => return Ok(Tree::Object(members)),
                    _ => return Err(scan.error("',' or '}'")),
                }
            }
        }
        Some(b'[') => {
            scan.pos += 1;
            let mut items = Vec::new();
            scan.skip_ws();
            if scan.peek() == Some(b']') {
                scan.pos += 1;
                return Ok(Tree::Array(items));
            }
            loop {
                scan.skip_ws();
                items.push(tree_value(scan, text, depth + 1)?);
                scan.skip_ws();
                match scan.next() {
                    Some(b',') => continue,
                    Some(b']') => return Ok(Tree::Array(items)),
                    _ => return Err(scan.error("',' or ']'")),
                }
            }
        }
        Some(b'"') => {
            let start = scan.pos;
            scan.skip_string()?;
            Ok(Tree::Str(unescape(&text[start..scan.pos])?))
        }
        Some(_) => {
            let start = scan.pos;
            scan.skip_value()?;
            let token = &text[start..scan.pos];
            match token {
                "null" => Ok(Tree::Null),
                "true" => Ok(Tree::Bool(true)),
                "false" => Ok(Tree::Bool(false)),
                _ => number(token)
                    .ok_or_else(|| JsonError(format!("malformed JSON value '{}'", preview(token)))),
            }
        }
        None => Err(scan.error("a value")),
    }
}

fn number(token: &str) -> Option<Tree> {
    let digits = token.strip_prefix('-').unwrap_or(token);
    if digits.is_empty() || !digits.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    if digits.bytes().all(|b| b.is_ascii_digit()) {
        if digits.len() > 1 && digits.starts_with('0') {
            return None;
        }
        return Some(match token.parse::<i64>() {
            Ok(v) => i32::try_from(v).map_or(Tree::Long(v), Tree::Int),
            Err(_) => Tree::BigInt(token.to_string()),
        });
    }
    token
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .map(Tree::Double)
}

/// Writes `s` as a JSON string, escaped as Jackson escapes it: `"` and `\`, control characters
/// as `\b \t \n \f \r` or `\u00XX`, characters outside the Basic Multilingual Plane as an
/// escaped surrogate pair (`\uD83D\uDE00`); everything else as UTF-8.
pub(crate) fn write_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    write_string_body(out, s);
    out.push(b'"');
}

pub(crate) fn write_string_body(out: &mut Vec<u8>, s: &str) {
    let mut buf = [0u16; 2];
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            '\r' => out.extend_from_slice(b"\\r"),
            c if (c as u32) < 0x20 => write_unicode_escape(out, c as u32),
            c if (c as u32) > 0xFFFF => {
                for unit in c.encode_utf16(&mut buf) {
                    write_unicode_escape(out, u32::from(*unit));
                }
            }
            c => {
                let mut utf8 = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
            }
        }
    }
}

pub(crate) fn write_unicode_escape(out: &mut Vec<u8>, unit: u32) {
    let mut s = String::with_capacity(6);
    let _ = write!(s, "\\u{unit:04X}");
    out.extend_from_slice(s.as_bytes());
}

/// Renders a string as JSON text.
pub(crate) fn string_text(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len() + 2);
    write_string(&mut out, s);
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(s: &str) -> Json {
        Json::Raw(s.to_string())
    }

    #[test]
    fn untouched_text_is_written_back_byte_for_byte() {
        let text = r#"{"a":1.5E300,"b\"q":"x\u00e9","c":[1,{"d":"}"}],"e":null}"#;
        let mut json = raw(text);
        let members = json.object().unwrap().unwrap();
        assert_eq!(
            members.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(),
            ["a", "b\"q", "c", "e"]
        );
        assert_eq!(json.to_text(), text);
    }

    #[test]
    fn nested_objects_parse_on_demand() {
        let mut json = raw(r#"{"after":{"id":1,"name":"ann"},"op":"c"}"#);
        let members = json.object().unwrap().unwrap();
        let after = get_mut(members, "after").unwrap();
        let inner = after.object().unwrap().unwrap();
        inner.push(Member::new("__deleted", Json::Str("false".into())));
        assert_eq!(
            json.to_text(),
            r#"{"after":{"id":1,"name":"ann","__deleted":"false"},"op":"c"}"#
        );
    }

    #[test]
    fn scalars_and_malformed_text() {
        assert_eq!(raw("\"a\\nb\"").as_string().unwrap().as_deref(), Some("a\nb"));
        assert_eq!(raw("12").as_string().unwrap(), None);
        assert!(raw("null").is_null());
        assert!(raw(r#"{"a":1"#).object().is_err());
        assert!(raw(r#"{"a" 1}"#).object().is_err());
        assert!(raw(r#"{"a":1} x"#).object().is_err());
        assert_eq!(raw("[1]").object().unwrap(), None);
        assert_eq!(raw("{ }").object().unwrap().map(|m| m.len()), Some(0));
    }

    #[test]
    fn trees_classify_numbers_as_jackson() {
        let tree = parse_tree(
            r#"{"i":1,"l":12345678901,"b":123456789012345678901,"d":1.5,"e":1e2,"a":[true,null,"x"]}"#,
        )
        .unwrap();
        let Tree::Object(members) = tree else { panic!() };
        let values: Vec<&Tree> = members.iter().map(|(_, v)| v).collect();
        assert_eq!(values[0], &Tree::Int(1));
        assert_eq!(values[1], &Tree::Long(12_345_678_901));
        assert_eq!(values[2], &Tree::BigInt("123456789012345678901".into()));
        assert_eq!(values[3], &Tree::Double(1.5));
        assert_eq!(values[4], &Tree::Double(100.0));
        assert_eq!(
            values[5],
            &Tree::Array(vec![Tree::Bool(true), Tree::Null, Tree::Str("x".into())])
        );
        assert!(parse_tree("[1,]").is_err());
        assert!(parse_tree("01").is_err());
    }

    #[test]
    fn strings_escape_like_jackson() {
        assert_eq!(
            string_text("a\"b\\c/\u{1}\t😀é\u{7f}"),
            "\"a\\\"b\\\\c/\\u0001\\t\\uD83D\\uDE00é\u{7f}\""
        );
    }
}
