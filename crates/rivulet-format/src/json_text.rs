//! JSON text primitives: strings escaped exactly as Jackson (Kafka's `JsonConverter`) escapes them,
//! base64 strings, and integers.
//!
//! Jackson's defaults, which consumers comparing bytes (dedup by hash, golden files) can observe:
//! `"` and `\` are backslash-escaped; control characters use the short forms `\b \t \n \f \r`
//! or `\u00XX` with upper-case hex; DEL (0x7F) and `/` are left alone; non-ASCII characters are
//! written as UTF-8, except characters outside the Basic Multilingual Plane, which Jackson writes
//! as an escaped UTF-16 surrogate pair (`😀` becomes `\uD83D\uDE00`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Marks the lead byte of a 4-byte UTF-8 sequence in [`ESCAPES`].
const SURROGATE_PAIR: u8 = 1;
/// Marks a control character without a short escape in [`ESCAPES`].
const UNICODE_ESCAPE: u8 = b'u';

/// For each byte: 0 if it is copied as is, otherwise how to escape it.
static ESCAPES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = UNICODE_ESCAPE;
        b += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0A] = b'n';
    table[0x0C] = b'f';
    table[0x0D] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    let mut lead = 0xF0;
    while lead < 0xF8 {
        table[lead] = SURROGATE_PAIR;
        lead += 1;
    }
    table
};

/// Writes `s` as a quoted JSON string.
#[inline]
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    write_str_body(out, s);
    out.push(b'"');
}

/// Writes `s` escaped, without the surrounding quotes (for strings built from several parts).
pub fn write_str_body(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let escape = ESCAPES[usize::from(bytes[i])];
        if escape == 0 {
            i += 1;
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        match escape {
            SURROGATE_PAIR => {
                // `s` is valid UTF-8, so a lead byte 0xF0..=0xF4 is followed by three
                // continuation bytes.
                let tail = &bytes[i + 1..i + 4];
                let code_point = (u32::from(bytes[i] & 0x07) << 18)
                    | (u32::from(tail[0] & 0x3F) << 12)
                    | (u32::from(tail[1] & 0x3F) << 6)
                    | u32::from(tail[2] & 0x3F);
                let v = code_point - 0x1_0000;
                write_unicode_escape(out, 0xD800 + (v >> 10));
                write_unicode_escape(out, 0xDC00 + (v & 0x3FF));
                i += 4;
            }
            UNICODE_ESCAPE => {
                write_unicode_escape(out, u32::from(bytes[i]));
                i += 1;
            }
            short => {
                out.push(b'\\');
                out.push(short);
                i += 1;
            }
        }
        start = i;
    }
    out.extend_from_slice(&bytes[start..]);
}

fn write_unicode_escape(out: &mut Vec<u8>, unit: u32) {
    out.extend_from_slice(&[
        b'\\',
        b'u',
        HEX_UPPER[((unit >> 12) & 0xF) as usize],
        HEX_UPPER[((unit >> 8) & 0xF) as usize],
        HEX_UPPER[((unit >> 4) & 0xF) as usize],
        HEX_UPPER[(unit & 0xF) as usize],
    ]);
}

/// Writes `bytes` as a quoted base64 string (standard alphabet, padded), as Kafka Connect writes
/// `BYTES` values.
#[inline]
pub fn write_base64(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    write_base64_body(out, bytes);
    out.push(b'"');
}

/// Base64 of `bytes` appended to `out`, without quotes.
pub fn write_base64_body(out: &mut Vec<u8>, bytes: &[u8]) {
    let start = out.len();
    let Some(len) = base64::encoded_len(bytes.len(), true) else {
        // Only for inputs near usize::MAX; the allocating path reports nothing either way.
        out.extend_from_slice(STANDARD.encode(bytes).as_bytes());
        return;
    };
    out.resize(start + len, 0);
    if STANDARD.encode_slice(bytes, &mut out[start..]).is_err() {
        out.truncate(start);
        out.extend_from_slice(STANDARD.encode(bytes).as_bytes());
    }
}

#[inline]
pub fn write_i64(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

#[inline]
pub fn write_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

#[inline]
pub fn write_i128(out: &mut Vec<u8>, v: i128) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

#[inline]
pub fn write_bool(out: &mut Vec<u8>, v: bool) {
    out.extend_from_slice(if v { b"true" } else { b"false" });
}

/// The JSON object key `"name":`, pre-rendered once per column.
pub fn object_key(name: &str) -> Box<[u8]> {
    let mut out = Vec::with_capacity(name.len() + 3);
    write_str(&mut out, name);
    out.push(b':');
    out.into_boxed_slice()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(s: &str) -> String {
        let mut out = Vec::new();
        write_str(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn escapes_like_jackson() {
        assert_eq!(escaped("plain"), r#""plain""#);
        assert_eq!(escaped(r#"a"b\c/d"#), r#""a\"b\\c/d""#);
        assert_eq!(escaped("\u{8}\t\n\u{c}\r"), r#""\b\t\n\f\r""#);
        assert_eq!(escaped("\u{0}\u{7}\u{1b}\u{1f}"), r#""\u0000\u0007\u001B\u001F""#);
        assert_eq!(escaped("del \u{7f} stays"), "\"del \u{7f} stays\"");
        assert_eq!(escaped("é ✓ ünï"), "\"é ✓ ünï\"");
        assert_eq!(escaped("x😀y"), r#""x\uD83D\uDE00y""#);
        assert_eq!(escaped("\u{10FFFF}"), r#""\uDBFF\uDFFF""#);
        assert_eq!(escaped("\u{10000}"), r#""\uD800\uDC00""#);
        assert_eq!(escaped(""), r#""""#);
    }

    #[test]
    fn escaped_output_parses_back() {
        let s = "quote \" backslash \\ tab \t nl \n bell \u{7} del \u{7f} ✓ 😀 end";
        let parsed: String = serde_json::from_str(&escaped(s)).unwrap();
        assert_eq!(parsed, s);
    }

    #[test]
    fn base64_standard_padded() {
        let mut out = Vec::new();
        write_base64(&mut out, &[0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(out, br#""3q2+7w==""#);
        out.clear();
        write_base64(&mut out, &[]);
        assert_eq!(out, br#""""#);
    }

    #[test]
    fn object_keys_are_escaped() {
        assert_eq!(&*object_key("Value Col"), br#""Value Col":"#);
        assert_eq!(&*object_key("a\"b"), br#""a\"b":"#);
    }
}
