//! PostgreSQL's geometric types as Debezium writes them.
//!
//! `point` is `io.debezium.data.geometry.Point`: `{"x":…,"y":…,"wkb":…,"srid":null}` where `wkb`
//! is the point's little-endian Well-Known Binary (byte order 1, type 1, x, y), base64, and
//! x/y are doubles in Java's spelling (`"NaN"`/`"Infinity"` quoted, `-0.0` kept). Its NOT NULL
//! fallback is the point (0, 0).
//!
//! The other geometric types have no Debezium converter. With `include.unknown.datatypes` they
//! are kept as the bytes of pgjdbc's rendering of the value (`PGbox#getValue()` …), which
//! re-spells every coordinate with Java's `Double.toString`: `(3,4),(1,2)` becomes
//! `(3.0,4.0),(1.0,2.0)`, `1e+20` becomes `1.0E20`.

use rivulet_core::GeometricKind;

use crate::java_number::{double_to_string, write_json_double};
use crate::json_text::write_base64;

/// Parses PostgreSQL's `point` text `(x,y)`.
pub fn parse_point(text: &str) -> Option<(f64, f64)> {
    let inner = text.trim().strip_prefix('(')?.strip_suffix(')')?;
    let (x, y) = inner.split_once(',')?;
    Some((parse_coordinate(x)?, parse_coordinate(y)?))
}

/// A coordinate as PostgreSQL prints it (`1.5`, `-2`, `1e+20`, `NaN`, `Infinity`, `-Infinity`).
fn parse_coordinate(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok()
}

/// Writes a `point` as Debezium's Point struct.
pub fn write_point(out: &mut Vec<u8>, x: f64, y: f64) {
    let mut wkb = [0u8; 21];
    wkb[0] = 1;
    wkb[1] = 1;
    wkb[5..13].copy_from_slice(&x.to_le_bytes());
    wkb[13..21].copy_from_slice(&y.to_le_bytes());
    out.extend_from_slice(b"{\"x\":");
    write_json_double(out, x);
    out.extend_from_slice(b",\"y\":");
    write_json_double(out, y);
    out.extend_from_slice(b",\"wkb\":");
    write_base64(out, &wkb);
    out.extend_from_slice(b",\"srid\":null}");
}

/// pgjdbc's rendering of a geometric value (`PGbox`, `PGcircle`, `PGline`, `PGlseg`, `PGpath`,
/// `PGpolygon`), or `None` if `text` is not PostgreSQL's output for `kind`.
pub fn pgjdbc_text(kind: GeometricKind, text: &str) -> Option<String> {
    let numbers = coordinates(text)?;
    let point = |out: &mut String, pair: &[f64]| {
        out.push('(');
        out.push_str(&double_to_string(pair[0]));
        out.push(',');
        out.push_str(&double_to_string(pair[1]));
        out.push(')');
    };
    let points = |out: &mut String, numbers: &[f64]| {
        for (i, pair) in numbers.chunks_exact(2).enumerate() {
            if i > 0 {
                out.push(',');
            }
            point(out, pair);
        }
    };
    let mut out = String::new();
    match kind {
        GeometricKind::Box if numbers.len() == 4 => points(&mut out, &numbers),
        GeometricKind::Lseg if numbers.len() == 4 => {
            out.push('[');
            points(&mut out, &numbers);
            out.push(']');
        }
        GeometricKind::Circle if numbers.len() == 3 => {
            out.push('<');
            point(&mut out, &numbers[..2]);
            out.push(',');
            out.push_str(&double_to_string(numbers[2]));
            out.push('>');
        }
        GeometricKind::Line if numbers.len() == 3 => {
            out.push('{');
            for (i, n) in numbers.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&double_to_string(*n));
            }
            out.push('}');
        }
        GeometricKind::Path if numbers.len() % 2 == 0 => {
            let open = text.trim_start().starts_with('[');
            out.push(if open { '[' } else { '(' });
            points(&mut out, &numbers);
            out.push(if open { ']' } else { ')' });
        }
        GeometricKind::Polygon if numbers.len() % 2 == 0 => {
            out.push('(');
            points(&mut out, &numbers);
            out.push(')');
        }
        _ => return None,
    }
    Some(out)
}

/// The numbers of a geometric value's text, in order (`NaN`/`Infinity` included).
fn coordinates(text: &str) -> Option<Vec<f64>> {
    text.split(['(', ')', '[', ']', '<', '>', '{', '}', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<f64>().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(text: &str) -> String {
        let (x, y) = parse_point(text).unwrap();
        let mut out = Vec::new();
        write_point(&mut out, x, y);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn points_as_debezium_structs() {
        assert_eq!(
            point("(1.5,-2)"),
            r#"{"x":1.5,"y":-2.0,"wkb":"AQEAAAAAAAAAAAD4PwAAAAAAAADA","srid":null}"#
        );
        assert_eq!(
            point("(0,-0)"),
            r#"{"x":0.0,"y":-0.0,"wkb":"AQEAAAAAAAAAAAAAAAAAAAAAAACA","srid":null}"#
        );
        assert_eq!(
            point("(NaN,Infinity)"),
            r#"{"x":"NaN","y":"Infinity","wkb":"AQEAAAAAAAAAAAD4fwAAAAAAAPB/","srid":null}"#
        );
        assert_eq!(parse_point("(1,2"), None);
    }

    #[test]
    fn pgjdbc_renderings() {
        let r = |k, t| pgjdbc_text(k, t).unwrap();
        assert_eq!(r(GeometricKind::Box, "(3,4),(1,2)"), "(3.0,4.0),(1.0,2.0)");
        assert_eq!(
            r(GeometricKind::Box, "(0.1,1e+20),(-0.5,1e-05)"),
            "(0.1,1.0E20),(-0.5,1.0E-5)"
        );
        assert_eq!(r(GeometricKind::Circle, "<(1,2),3>"), "<(1.0,2.0),3.0>");
        assert_eq!(r(GeometricKind::Line, "{-1,0,2.5}"), "{-1.0,0.0,2.5}");
        assert_eq!(r(GeometricKind::Lseg, "[(1,2),(3,4)]"), "[(1.0,2.0),(3.0,4.0)]");
        assert_eq!(
            r(GeometricKind::Path, "[(0,0),(1.5,-2)]"),
            "[(0.0,0.0),(1.5,-2.0)]"
        );
        assert_eq!(
            r(GeometricKind::Path, "((1,2),(3,4),(5,6))"),
            "((1.0,2.0),(3.0,4.0),(5.0,6.0))"
        );
        assert_eq!(
            r(GeometricKind::Polygon, "((0,0),(1,1),(1,0))"),
            "((0.0,0.0),(1.0,1.0),(1.0,0.0))"
        );
        assert_eq!(pgjdbc_text(GeometricKind::Box, "(1,2)"), None);
    }
}
