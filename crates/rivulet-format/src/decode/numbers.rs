//! Decimal numbers back from their Kafka Connect forms: the unscaled big-endian two's-complement
//! bytes of `Decimal` / `VariableScaleDecimal` (Java's `BigInteger.toByteArray()`), and JSON
//! numbers (`decimal.format=NUMERIC`, or a number in a BigInt column) as plain decimal text.
//!
//! The result is [`Numeric::Finite`]'s canonical text: optional `-`, digits, and exactly `scale`
//! fraction digits, as PostgreSQL prints a `numeric(p, scale)` value.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use rivulet_core::Numeric;

/// Base64 as Jackson writes it (standard alphabet, padded), read leniently: padding optional and
/// stray low bits in the last character ignored, so a hand-made record is not refused for that.
pub const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// The largest unscaled value accepted, in bytes. PostgreSQL's widest `numeric` (131 072 digits
/// before the point, 16 383 after) needs about 61 KiB; the limit keeps the quadratic
/// conversion below from being an attack surface.
const MAX_UNSCALED_BYTES: usize = 64 * 1024;

/// The largest scale accepted either way (PostgreSQL's maximum display scale is 16 383).
const MAX_SCALE: i64 = 32_767;

pub fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    BASE64
        .decode(text)
        .map_err(|e| format!("{} is not base64 ({e})", quoted(text)))
}

/// The decimal text of `unscaled × 10^-scale`.
pub fn decimal_from_unscaled(bytes: &[u8], scale: i64) -> Result<Numeric, String> {
    if bytes.is_empty() {
        return Err("the decimal's unscaled value has no bytes".to_string());
    }
    if bytes.len() > MAX_UNSCALED_BYTES {
        return Err(format!(
            "the decimal's unscaled value has {} bytes, more than the {MAX_UNSCALED_BYTES} any PostgreSQL numeric needs",
            bytes.len()
        ));
    }
    check_scale(scale)?;
    let negative = bytes[0] & 0x80 != 0;
    let digits = if bytes.len() <= 16 {
        let fill = if negative { 0xFF } else { 0x00 };
        let mut wide = [fill; 16];
        wide[16 - bytes.len()..].copy_from_slice(bytes);
        i128::from_be_bytes(wide).unsigned_abs().to_string()
    } else {
        big_magnitude_digits(bytes, negative)
    };
    Ok(Numeric::Finite(with_scale(negative, &digits, scale)))
}

/// A JSON number as an exact decimal with at least `scale` fraction digits. Doubles are written
/// with their shortest round-trip digits, which is what the producer had for any decimal of up
/// to 15 significant digits (beyond that the producer's JSON already lost precision).
pub fn decimal_from_json_number(number: JsonNumber, scale: Option<i64>) -> Result<Numeric, String> {
    let text = match number {
        JsonNumber::Int(v) => v.to_string(),
        JsonNumber::UInt(v) => v.to_string(),
        JsonNumber::Float(v) if v.is_finite() => {
            // Rust prints doubles in plain notation with the shortest round-trip digits.
            let text = format!("{v}");
            if text == "-0" { "0".to_string() } else { text }
        }
        JsonNumber::Float(v) => return Err(format!("{v} is not a finite decimal")),
    };
    let Some(scale) = scale else {
        return Ok(Numeric::Finite(text));
    };
    check_scale(scale)?;
    let fraction = text.split_once('.').map_or(0, |(_, f)| f.len());
    let missing = usize::try_from(scale).unwrap_or(0).saturating_sub(fraction);
    if missing == 0 {
        return Ok(Numeric::Finite(text));
    }
    let mut padded = text;
    if fraction == 0 {
        padded.push('.');
    }
    padded.extend(std::iter::repeat_n('0', missing));
    Ok(Numeric::Finite(padded))
}

/// The JSON number kinds [`decimal_from_json_number`] accepts.
#[derive(Copy, Clone, Debug)]
pub enum JsonNumber {
    Int(i64),
    UInt(u64),
    Float(f64),
}

fn check_scale(scale: i64) -> Result<(), String> {
    // `unsigned_abs`: `abs` of i64::MIN overflows.
    if scale.unsigned_abs() > MAX_SCALE.unsigned_abs() {
        Err(format!(
            "decimal scale {scale} is outside -{MAX_SCALE}..={MAX_SCALE}"
        ))
    } else {
        Ok(())
    }
}

/// Inserts the decimal point `scale` digits from the right (or appends zeros for a negative
/// scale); `digits` is the magnitude without leading zeros ("0" for zero).
fn with_scale(negative: bool, digits: &str, scale: i64) -> String {
    let zero = digits == "0";
    let mut out = String::with_capacity(digits.len() + scale.unsigned_abs() as usize + 3);
    if negative && !zero {
        out.push('-');
    }
    if scale <= 0 {
        out.push_str(digits);
        if !zero {
            out.extend(std::iter::repeat_n('0', scale.unsigned_abs() as usize));
        }
        return out;
    }
    let scale = scale as usize;
    if digits.len() <= scale {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', scale - digits.len()));
        out.push_str(digits);
    } else {
        let (int, fraction) = digits.split_at(digits.len() - scale);
        out.push_str(int);
        out.push('.');
        out.push_str(fraction);
    }
    out
}

/// Decimal digits of the magnitude of a two's-complement value wider than 128 bits.
fn big_magnitude_digits(bytes: &[u8], negative: bool) -> String {
    let mut magnitude = bytes.to_vec();
    if negative {
        // |x| = !x + 1, from the least significant byte.
        let mut carry = true;
        for b in magnitude.iter_mut().rev() {
            let (v, c) = (!*b).overflowing_add(u8::from(carry));
            *b = v;
            carry = c;
        }
    }
    // Big-endian base-2^32 limbs.
    let pad = (4 - magnitude.len() % 4) % 4;
    let mut padded = vec![0u8; pad];
    padded.extend_from_slice(&magnitude);
    let mut limbs: Vec<u32> = padded
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    // Repeated division by 10^9 yields base-10^9 chunks, least significant first.
    const CHUNK: u64 = 1_000_000_000;
    let mut chunks = Vec::new();
    let mut start = 0;
    while start < limbs.len() {
        let mut remainder = 0u64;
        for limb in &mut limbs[start..] {
            let current = (remainder << 32) | u64::from(*limb);
            *limb = (current / CHUNK) as u32;
            remainder = current % CHUNK;
        }
        chunks.push(remainder as u32);
        while start < limbs.len() && limbs[start] == 0 {
            start += 1;
        }
    }
    let mut out = String::with_capacity(chunks.len() * 9);
    for (i, chunk) in chunks.iter().rev().enumerate() {
        if i == 0 {
            out.push_str(&chunk.to_string());
        } else {
            out.push_str(&format!("{chunk:09}"));
        }
    }
    if out.is_empty() { "0".to_string() } else { out }
}

/// A value for an error message: quoted, at most 40 characters, control characters escaped so
/// the message stays on one line.
pub fn quoted(text: &str) -> String {
    const MAX: usize = 40;
    match text.char_indices().nth(MAX) {
        Some((at, _)) => {
            let mut out = format!("{:?}", &text[..at]);
            out.insert(out.len() - 1, '…');
            out
        }
        None => format!("{text:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DecimalHandling;
    use crate::decimal::{write_fixed, write_variable};

    fn finite(text: &str) -> Numeric {
        Numeric::Finite(text.to_string())
    }

    fn from_b64(text: &str, scale: i64) -> Numeric {
        decimal_from_unscaled(&decode_base64(text).unwrap(), scale).unwrap()
    }

    #[test]
    fn unscaled_bytes_back_to_text() {
        assert_eq!(from_b64("HL6ZGhQ=", 2), finite("1234567890.12"));
        assert_eq!(from_b64("/w==", 2), finite("-0.01"));
        assert_eq!(from_b64("AA==", 2), finite("0.00"));
        assert_eq!(from_b64("AIA=", 2), finite("1.28"));
        assert_eq!(from_b64("/38=", 2), finite("-1.29"));
        assert_eq!(from_b64("AKtUqYzrHwrS", 0), finite("12345678901234567890"));
        assert_eq!(from_b64("+pQ4odKc8AAB", 0), finite("-99999999999999999999"));
        assert_eq!(from_b64("gAAAAAAAAAA=", 2), finite("-92233720368547758.08"));
        assert_eq!(from_b64("EQfV61tbpNfG", 20), finite("3.14159265358979323846"));
        assert_eq!(from_b64("AQ==", 4), finite("0.0001"));
        assert_eq!(from_b64("AQ==", -3), finite("1000"));
        assert_eq!(from_b64("AA==", -3), finite("0"));
        assert_eq!(
            from_b64("E6r1BOS8HmIXP4ekN4w3tJyMz/GWjATVFQ==", 10),
            finite("12345678901234567890123456789012345678901234567890.0123456789")
        );
        assert_eq!(
            from_b64("/2Cw2NnoZd26/iidvdNrmm8m8AAAAAAAAAE=", 10),
            finite("-99999999999999999999999999999999999999999999999999.9999999999")
        );
        assert!(decimal_from_unscaled(&[], 0).is_err());
        assert!(decimal_from_unscaled(&[1], 1 << 40).is_err());
        assert!(decode_base64("not base64!").is_err());
    }

    #[test]
    fn round_trips_through_the_encoder() {
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        for round in 0..2000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = 1 + (seed % 60) as usize;
            let digits: String = (0..len)
                .map(|i| char::from(b'0' + ((seed >> (i % 60)) as u8 ^ i as u8) % 10))
                .collect();
            let digits = digits.trim_start_matches('0');
            let digits = if digits.is_empty() { "0" } else { digits };
            let scale = (seed >> 20) % 12;
            let negative = round % 3 == 0 && digits != "0";
            let text = with_scale(negative, digits, scale as i64);
            let mut json = Vec::new();
            write_fixed(&mut json, &finite(&text), scale as u32, DecimalHandling::Precise);
            let b64 = std::str::from_utf8(&json).unwrap().trim_matches('"');
            assert_eq!(from_b64(b64, scale as i64), finite(&text), "{text}");
            let mut variable = Vec::new();
            write_variable(&mut variable, &finite(&text), DecimalHandling::Precise);
            let parsed: serde_json::Value = serde_json::from_slice(&variable).unwrap();
            let back = from_b64(
                parsed["value"].as_str().unwrap(),
                parsed["scale"].as_i64().unwrap(),
            );
            // The variable form strips trailing fraction zeros; compare as numbers.
            assert_eq!(strip(&back), strip(&finite(&text)), "{text}");
        }
    }

    fn strip(n: &Numeric) -> String {
        let Numeric::Finite(t) = n else { panic!() };
        if t.contains('.') {
            t.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            t.clone()
        }
    }

    #[test]
    fn json_numbers() {
        let n = |v, s| decimal_from_json_number(v, s).unwrap();
        assert_eq!(n(JsonNumber::Float(1234.5), Some(2)), finite("1234.50"));
        assert_eq!(n(JsonNumber::Int(7), Some(2)), finite("7.00"));
        assert_eq!(n(JsonNumber::Int(-7), None), finite("-7"));
        assert_eq!(n(JsonNumber::Float(-0.0), Some(0)), finite("0"));
        assert_eq!(n(JsonNumber::Float(1e-7), None), finite("0.0000001"));
        assert_eq!(n(JsonNumber::Float(0.125), Some(1)), finite("0.125"));
        assert_eq!(
            n(JsonNumber::UInt(u64::MAX), None),
            finite("18446744073709551615")
        );
        assert!(decimal_from_json_number(JsonNumber::Float(f64::NAN), None).is_err());
    }
}
