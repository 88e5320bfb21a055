//! `hstore` values in Debezium's `hstore.handling.mode`s.
//!
//! pgjdbc parses PostgreSQL's text (`"k"=>"v", "n"=>NULL`) into a `java.util.HashMap`, so keys
//! come in `HashMap` iteration order ([`crate::java_hash`]) in both modes:
//! - `json` (default): a string holding a JSON object that Jackson wrote from that map, e.g.
//!   `"{\"a\":\"1\",\"b\":null}"`;
//! - `map`: a JSON object (a Kafka Connect map).
//!
//! The NOT NULL fallback is the empty map (`"{}"` / `{}`); an unchanged TOAST value is the map
//! `{placeholder: placeholder}`.

use crate::HstoreHandling;
use crate::java_hash::hash_map_order;
use crate::json_text::write_str;

/// One key and its value (`None` for `NULL`), in PostgreSQL's order.
pub type Pairs = Vec<(String, Option<String>)>;

/// Parses hstore's text output; `None` if it is not well formed.
pub fn parse_hstore(text: &str) -> Option<Pairs> {
    let mut pairs = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let (key, after) = quoted(rest)?;
        rest = after.trim_start().strip_prefix("=>")?.trim_start();
        let value = if let Some(after) = rest.strip_prefix("NULL") {
            rest = after;
            None
        } else {
            let (value, after) = quoted(rest)?;
            rest = after;
            Some(value)
        };
        pairs.push((key, value));
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix(',') {
            rest = after.trim_start();
        } else if !rest.is_empty() {
            return None;
        }
    }
    Some(pairs)
}

/// A double-quoted hstore string (`\"` and `\\` escapes) and what follows it.
fn quoted(text: &str) -> Option<(String, &str)> {
    let body = text.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?.1),
            '"' => return Some((out, &body[i + 1..])),
            c => out.push(c),
        }
    }
    None
}

/// Writes the pairs in `mode`.
pub fn write_hstore(out: &mut Vec<u8>, pairs: &Pairs, mode: HstoreHandling) {
    let keys: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    let order = hash_map_order(&keys);
    match mode {
        HstoreHandling::Json => {
            let mut doc = String::from("{");
            for (n, &i) in order.iter().enumerate() {
                if n > 0 {
                    doc.push(',');
                }
                let (key, value) = &pairs[i];
                push_jackson_string(&mut doc, key);
                doc.push(':');
                match value {
                    Some(v) => push_jackson_string(&mut doc, v),
                    None => doc.push_str("null"),
                }
            }
            doc.push('}');
            write_str(out, &doc);
        }
        HstoreHandling::Map => {
            out.push(b'{');
            for (n, &i) in order.iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                let (key, value) = &pairs[i];
                write_str(out, key);
                out.push(b':');
                match value {
                    Some(v) => write_str(out, v),
                    None => out.extend_from_slice(b"null"),
                }
            }
            out.push(b'}');
        }
    }
}

/// The empty map: Debezium's NOT NULL fallback.
pub fn write_empty(out: &mut Vec<u8>, mode: HstoreHandling) {
    out.extend_from_slice(match mode {
        HstoreHandling::Json => b"\"{}\"",
        HstoreHandling::Map => b"{}",
    });
}

/// A JSON string as Jackson's character-based generator writes it: `"` and `\` escaped, control
/// characters as `\n`-style or `\u00XX` escapes, everything else (any Unicode) as is.
fn push_jackson_string(doc: &mut String, s: &str) {
    doc.push('"');
    for c in s.chars() {
        match c {
            '"' => doc.push_str("\\\""),
            '\\' => doc.push_str("\\\\"),
            '\u{8}' => doc.push_str("\\b"),
            '\t' => doc.push_str("\\t"),
            '\n' => doc.push_str("\\n"),
            '\u{c}' => doc.push_str("\\f"),
            '\r' => doc.push_str("\\r"),
            c if u32::from(c) < 0x20 => doc.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => doc.push(c),
        }
    }
    doc.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(text: &str, mode: HstoreHandling) -> String {
        let mut out = Vec::new();
        write_hstore(&mut out, &parse_hstore(text).unwrap(), mode);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn parses_postgres_output() {
        assert_eq!(
            parse_hstore(r#""a"=>"1", "b"=>NULL, "c \"d\""=>"x\\y""#).unwrap(),
            vec![
                ("a".to_string(), Some("1".to_string())),
                ("b".to_string(), None),
                ("c \"d\"".to_string(), Some("x\\y".to_string())),
            ]
        );
        assert_eq!(parse_hstore("").unwrap(), vec![]);
        assert_eq!(parse_hstore(r#""a"=>"#), None);
        assert_eq!(parse_hstore(r#""a"=>"1" "b"=>"2""#), None);
    }

    #[test]
    fn both_modes() {
        let text = r#""2"=>"two", "10"=>"ten", "b"=>NULL"#;
        assert_eq!(
            render(text, HstoreHandling::Json),
            r#""{\"2\":\"two\",\"b\":null,\"10\":\"ten\"}""#
        );
        assert_eq!(
            render(text, HstoreHandling::Map),
            r#"{"2":"two","b":null,"10":"ten"}"#
        );
        assert_eq!(
            render("\"k\"=>\"line\nbreak ✓\"", HstoreHandling::Json),
            "\"{\\\"k\\\":\\\"line\\\\nbreak ✓\\\"}\""
        );
    }
}
