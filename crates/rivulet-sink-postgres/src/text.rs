//! COPY text-format fields: a value's PostgreSQL text form (rendered by
//! [`rivulet_pgoutput::render`]) with COPY's backslash escapes, `\N` for NULL.

use rivulet_core::Value;
use rivulet_pgoutput::render;

/// Appends one COPY text-format field: `\N` for NULL, else the text with backslash escapes.
/// `scratch` is reused between calls to avoid an allocation per value.
pub fn copy_field(value: &Value, scratch: &mut String, out: &mut Vec<u8>) {
    scratch.clear();
    if render(value, scratch) {
        copy_escape(scratch, out);
    } else {
        out.extend_from_slice(b"\\N");
    }
}

/// Escapes text for a COPY text field.
pub fn copy_escape(s: &str, out: &mut Vec<u8>) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, b) in bytes.iter().enumerate() {
        let escaped: &[u8] = match b {
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(escaped);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_fields_escape_and_mark_null() {
        let mut scratch = String::new();
        let mut out = Vec::new();
        copy_field(&Value::Text("a\tb\\c\nd".into()), &mut scratch, &mut out);
        out.push(b'\t');
        copy_field(&Value::Null, &mut scratch, &mut out);
        out.push(b'\t');
        copy_field(&Value::Bytes(vec![0, 255]), &mut scratch, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap_or_default(),
            "a\\tb\\\\c\\nd\t\\N\t\\\\x00ff"
        );
    }
}
