//! Binary values in Debezium's `binary.handling.mode`s: `bytea` (and its arrays) and the bytes
//! of values Debezium keeps without understanding them (`include.unknown.datatypes`).
//!
//! `bytes` (Kafka Connect `BYTES`, which JSON shows as base64) and `base64` look the same in JSON;
//! `base64-url-safe` uses `-` and `_` (padded); `hex` is lower-case hex. Bit strings are not
//! affected (they are always `io.debezium.data.Bits`).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE;

use crate::BinaryHandling;
use crate::json_text::{write_base64, write_str};

/// Writes `bytes` as a JSON string in `mode`.
pub fn write_binary(out: &mut Vec<u8>, bytes: &[u8], mode: BinaryHandling) {
    match mode {
        BinaryHandling::Bytes | BinaryHandling::Base64 => write_base64(out, bytes),
        BinaryHandling::Base64UrlSafe => {
            out.push(b'"');
            let start = out.len();
            match base64::encoded_len(bytes.len(), true) {
                Some(len) => {
                    out.resize(start + len, 0);
                    if URL_SAFE.encode_slice(bytes, &mut out[start..]).is_err() {
                        out.truncate(start);
                        out.extend_from_slice(URL_SAFE.encode(bytes).as_bytes());
                    }
                }
                None => out.extend_from_slice(URL_SAFE.encode(bytes).as_bytes()),
            }
            out.push(b'"');
        }
        BinaryHandling::Hex => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.reserve(bytes.len() * 2 + 2);
            out.push(b'"');
            for b in bytes {
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xF)]);
            }
            out.push(b'"');
        }
    }
}

/// An unchanged TOAST value of a binary column: the placeholder's bytes in `bytes` mode, the
/// placeholder itself in `hex` mode (Debezium special-cases it there), null in the base64 modes
/// (Debezium's base64 converters do not recognise the marker).
pub fn write_binary_placeholder(out: &mut Vec<u8>, placeholder: &str, mode: BinaryHandling) {
    match mode {
        BinaryHandling::Bytes => write_base64(out, placeholder.as_bytes()),
        BinaryHandling::Hex => write_str(out, placeholder),
        BinaryHandling::Base64 | BinaryHandling::Base64UrlSafe => out.extend_from_slice(b"null"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(bytes: &[u8], mode: BinaryHandling) -> String {
        let mut out = Vec::new();
        write_binary(&mut out, bytes, mode);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn modes() {
        let b = [0xde, 0xad, 0xbe, 0xef, 0x00, 0xff];
        assert_eq!(render(&b, BinaryHandling::Bytes), r#""3q2+7wD/""#);
        assert_eq!(render(&b, BinaryHandling::Base64), r#""3q2+7wD/""#);
        assert_eq!(render(&b, BinaryHandling::Base64UrlSafe), r#""3q2-7wD_""#);
        assert_eq!(render(&b, BinaryHandling::Hex), r#""deadbeef00ff""#);
        assert_eq!(render(&[0xfb, 0xff], BinaryHandling::Base64UrlSafe), r#""-_8=""#);
        assert_eq!(render(&[], BinaryHandling::Hex), r#""""#);
    }
}
