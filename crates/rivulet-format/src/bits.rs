//! `bit(n)` / `bit varying(n)` values as Debezium writes them.
//!
//! Length 1 (`bit`, `bit(1)`, `varbit(1)`) is a boolean: true if the bit is set. Longer types are
//! `io.debezium.data.Bits`: the bit string read as a number (last character = bit 0), stored
//! little-endian in `java.util.BitSet#toByteArray()` form, i.e. only up to the highest set bit
//! (`'000000000001'` is one byte `01`, all zeros is no bytes at all), then base64.

use crate::json_text::write_base64;

/// Writes a `Bits` value from PostgreSQL's text form (`'1'`/`'0'` characters).
pub fn write_bits(out: &mut Vec<u8>, text: &str) {
    let bits = text.as_bytes();
    let Some(highest) = bits.iter().rev().rposition(|&b| b == b'1') else {
        write_base64(out, &[]);
        return;
    };
    let mut bytes = [0u8; 64];
    let mut heap;
    let buf: &mut [u8] = if highest / 8 < bytes.len() {
        &mut bytes[..highest / 8 + 1]
    } else {
        heap = vec![0u8; highest / 8 + 1];
        &mut heap
    };
    for (i, &b) in bits.iter().rev().enumerate().take(highest + 1) {
        if b == b'1' {
            buf[i / 8] |= 1 << (i % 8);
        }
    }
    write_base64(out, buf);
}

/// A `bit(1)`/`varbit(1)` value: Debezium parses the string as a binary number.
pub fn bit_is_set(text: &str) -> bool {
    text.bytes().any(|b| b == b'1')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(text: &str) -> String {
        let mut out = Vec::new();
        write_bits(&mut out, text);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn little_endian_up_to_the_highest_set_bit() {
        assert_eq!(bits("10100101"), r#""pQ==""#);
        assert_eq!(bits("00000000"), r#""""#);
        assert_eq!(bits(""), r#""""#);
        assert_eq!(bits("000000000001"), r#""AQ==""#);
        assert_eq!(bits("111111111111"), r#""/w8=""#);
        assert_eq!(bits("1101"), r#""DQ==""#);
        assert_eq!(bits("00000000000000000001"), r#""AQ==""#);
        assert_eq!(bits("10"), r#""Ag==""#);
        assert_eq!(bits("01"), r#""AQ==""#);
        assert_eq!(bits("1"), r#""AQ==""#);
        // 24 000 bits "1010…10": 0xAA repeated, beyond the stack buffer.
        let long = "10".repeat(12_000);
        let mut out = Vec::new();
        write_bits(&mut out, &long);
        assert_eq!(out.len(), 2 + 4000);
        assert!(out.starts_with(b"\"qqqq"));
    }

    #[test]
    fn single_bits() {
        assert!(bit_is_set("1"));
        assert!(!bit_is_set("0"));
    }
}
