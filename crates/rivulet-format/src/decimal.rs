//! Exact decimals (`numeric`, `money`) in Debezium's three `decimal.handling.mode`s.
//!
//! - precise, declared scale (`numeric(p,s)`, `numeric(p)`, `money` with scale 2): Kafka Connect
//!   `Decimal`, i.e. base64 of `BigInteger.toByteArray()` of the unscaled value at the column's
//!   scale: big-endian two's complement in the fewest bytes that keep the sign (`127` → `7f`,
//!   `128` → `00 80`, `-128` → `80`, `-129` → `ff 7f`), at any size (beyond 64 and 128 bits).
//! - precise, unconstrained `numeric`: `VariableScaleDecimal` `{"scale":s,"value":base64}` after
//!   `stripTrailingZeros()`, clamped at scale 0 (`12.500` → 125 scale 1, `100` → 100 scale 0).
//! - string: `BigDecimal.toPlainString()` at the column's scale; special values as Debezium's
//!   enum names `NAN`, `POSITIVE_INFINITY`, `NEGATIVE_INFINITY`.
//! - double: `BigDecimal.doubleValue()` (correctly rounded), special values as doubles.
//!
//! In precise mode NaN and ±Infinity cannot be represented and Debezium writes null.

use rivulet_core::Numeric;

use crate::java_number::write_json_double;
use crate::json_text::{write_base64_body, write_i64};

/// A finite decimal's text split into parts: sign, integer digits, fraction digits.
#[derive(Debug, Clone, Copy)]
struct DecimalParts<'a> {
    negative: bool,
    int: &'a [u8],
    frac: &'a [u8],
}

impl<'a> DecimalParts<'a> {
    /// Accepts `[-+]digits[.digits]`; `None` for anything else (the caller then writes null).
    fn parse(text: &'a str) -> Option<Self> {
        let bytes = text.as_bytes();
        let (negative, body) = match bytes.first() {
            Some(b'-') => (true, &bytes[1..]),
            Some(b'+') => (false, &bytes[1..]),
            _ => (false, bytes),
        };
        let (int, frac) = match body.iter().position(|&b| b == b'.') {
            Some(p) => (&body[..p], &body[p + 1..]),
            None => (body, &body[..0]),
        };
        if (int.is_empty() && frac.is_empty())
            || !int.iter().all(u8::is_ascii_digit)
            || !frac.iter().all(u8::is_ascii_digit)
        {
            return None;
        }
        let int = strip_leading_zeros(int);
        let is_zero = int.is_empty() && frac.iter().all(|&b| b == b'0');
        Some(DecimalParts {
            negative: negative && !is_zero,
            int,
            frac,
        })
    }

    /// The fraction without trailing zeros: `stripTrailingZeros()` clamped at scale 0.
    fn stripped(self) -> Self {
        let mut frac = self.frac;
        while let [rest @ .., b'0'] = frac {
            frac = rest;
        }
        DecimalParts { frac, ..self }
    }
}

fn strip_leading_zeros(digits: &[u8]) -> &[u8] {
    let first = digits.iter().position(|&b| b != b'0').unwrap_or(digits.len());
    &digits[first..]
}

/// The unscaled value's digits at `scale`: integer digits, the fraction cut or zero-padded to
/// `scale` digits (PostgreSQL always sends a column's own scale, so nothing is cut in practice).
struct Unscaled<'a> {
    parts: DecimalParts<'a>,
    scale: usize,
}

impl Unscaled<'_> {
    fn digits(&self) -> impl Iterator<Item = u8> + '_ {
        let frac_len = self.parts.frac.len().min(self.scale);
        self.parts
            .int
            .iter()
            .chain(&self.parts.frac[..frac_len])
            .copied()
            .chain(std::iter::repeat_n(b'0', self.scale - frac_len))
            .map(|d| d - b'0')
    }

    fn digit_count(&self) -> usize {
        self.parts.int.len() + self.scale
    }
}

/// Writes `BigInteger.toByteArray()` of the (signed) unscaled value, base64-encoded and quoted.
fn write_unscaled_base64(out: &mut Vec<u8>, unscaled: &Unscaled<'_>) {
    out.push(b'"');
    if unscaled.digit_count() <= 38 {
        // Fits u128 with room for the sign (10^38 < 2^127): no allocation on the common path.
        let magnitude = unscaled.digits().fold(0u128, |acc, d| acc * 10 + u128::from(d));
        let value = if unscaled.parts.negative {
            -(magnitude as i128)
        } else {
            magnitude as i128
        };
        let bytes = value.to_be_bytes();
        write_base64_body(out, minimal_twos_complement(&bytes));
    } else {
        let bytes = big_twos_complement(unscaled);
        write_base64_body(out, minimal_twos_complement(&bytes));
    }
    out.push(b'"');
}

/// Drops leading bytes that only repeat the sign, as `BigInteger.toByteArray()` does.
pub(crate) fn minimal_twos_complement(bytes: &[u8]) -> &[u8] {
    let mut start = 0;
    while start + 1 < bytes.len() {
        let (b, next) = (bytes[start], bytes[start + 1]);
        if (b == 0x00 && next & 0x80 == 0) || (b == 0xFF && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    &bytes[start..]
}

/// Big-endian two's complement of an unscaled value of any size, with one spare sign byte.
fn big_twos_complement(unscaled: &Unscaled<'_>) -> Vec<u8> {
    // Little-endian base-2^32 limbs, built 9 decimal digits at a time.
    let mut limbs: Vec<u32> = Vec::with_capacity(unscaled.digit_count() / 9 + 2);
    let mut chunk: u64 = 0;
    let mut chunk_len = 0;
    let push_chunk = |limbs: &mut Vec<u32>, chunk: u64, chunk_len: u32| {
        let mut carry = chunk;
        let factor = 10u64.pow(chunk_len);
        for limb in limbs.iter_mut() {
            let v = u64::from(*limb) * factor + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        while carry != 0 {
            limbs.push(carry as u32);
            carry >>= 32;
        }
    };
    for d in unscaled.digits() {
        chunk = chunk * 10 + u64::from(d);
        chunk_len += 1;
        if chunk_len == 9 {
            push_chunk(&mut limbs, chunk, 9);
            chunk = 0;
            chunk_len = 0;
        }
    }
    if chunk_len > 0 {
        push_chunk(&mut limbs, chunk, chunk_len);
    }
    let mut bytes = Vec::with_capacity(limbs.len() * 4 + 1);
    bytes.push(0);
    for limb in limbs.iter().rev() {
        bytes.extend_from_slice(&limb.to_be_bytes());
    }
    if unscaled.parts.negative {
        // Two's complement: invert and add one, from the least significant byte.
        let mut carry = true;
        for b in bytes.iter_mut().rev() {
            let (v, c) = (!*b).overflowing_add(u8::from(carry));
            *b = v;
            carry = c;
        }
    }
    bytes
}

/// Writes a `numeric`/`money` value for a column with a declared scale.
pub fn write_fixed(out: &mut Vec<u8>, value: &Numeric, scale: u32, mode: crate::DecimalHandling) {
    use crate::DecimalHandling::*;
    let text = match value {
        Numeric::Finite(text) => text,
        special => return write_special(out, special, mode),
    };
    let Some(parts) = DecimalParts::parse(text) else {
        out.extend_from_slice(b"null");
        return;
    };
    let scale = scale as usize;
    match mode {
        Precise => write_unscaled_base64(out, &Unscaled { parts, scale }),
        String => {
            out.push(b'"');
            write_plain(out, parts, scale);
            out.push(b'"');
        }
        Double => write_json_double(out, parse_f64(text)),
    }
}

/// Writes an unconstrained `numeric` value.
pub fn write_variable(out: &mut Vec<u8>, value: &Numeric, mode: crate::DecimalHandling) {
    use crate::DecimalHandling::*;
    let text = match value {
        Numeric::Finite(text) => text,
        special => return write_special(out, special, mode),
    };
    let Some(parts) = DecimalParts::parse(text) else {
        out.extend_from_slice(b"null");
        return;
    };
    match mode {
        Precise => {
            let parts = parts.stripped();
            let scale = parts.frac.len();
            out.extend_from_slice(b"{\"scale\":");
            write_i64(out, scale as i64);
            out.extend_from_slice(b",\"value\":");
            write_unscaled_base64(out, &Unscaled { parts, scale });
            out.push(b'}');
        }
        String => {
            out.push(b'"');
            write_plain(out, parts, parts.frac.len());
            out.push(b'"');
        }
        Double => write_json_double(out, parse_f64(text)),
    }
}

/// The value Debezium substitutes for a NULL in a NOT NULL column: zero at the column's scale.
pub fn write_zero(out: &mut Vec<u8>, scale: Option<u32>, mode: crate::DecimalHandling) {
    let zero = Numeric::Finite("0".to_string());
    match scale {
        Some(scale) => write_fixed(out, &zero, scale, mode),
        None => write_variable(out, &zero, mode),
    }
}

fn write_special(out: &mut Vec<u8>, value: &Numeric, mode: crate::DecimalHandling) {
    use crate::DecimalHandling::*;
    let (string, double) = match value {
        Numeric::NaN => ("\"NAN\"", f64::NAN),
        Numeric::Infinity => ("\"POSITIVE_INFINITY\"", f64::INFINITY),
        Numeric::NegInfinity => ("\"NEGATIVE_INFINITY\"", f64::NEG_INFINITY),
        Numeric::Finite(_) => ("null", f64::NAN),
    };
    match mode {
        Precise => out.extend_from_slice(b"null"),
        String => out.extend_from_slice(string.as_bytes()),
        Double => write_json_double(out, double),
    }
}

/// `toPlainString()` at `scale`: at least one integer digit, no sign on zero.
fn write_plain(out: &mut Vec<u8>, parts: DecimalParts<'_>, scale: usize) {
    if parts.negative {
        out.push(b'-');
    }
    if parts.int.is_empty() {
        out.push(b'0');
    } else {
        out.extend_from_slice(parts.int);
    }
    if scale > 0 {
        out.push(b'.');
        let take = parts.frac.len().min(scale);
        out.extend_from_slice(&parts.frac[..take]);
        out.resize(out.len() + (scale - take), b'0');
    }
}

fn parse_f64(text: &str) -> f64 {
    // Rust's parser is correctly rounded, like BigDecimal.doubleValue().
    text.parse::<f64>().unwrap_or(f64::NAN)
}

/// Base64 of the minimal two's-complement bytes of an integer given as decimal text, for tests
/// and for callers that need Kafka Connect `Decimal` bytes of a plain integer.
#[cfg(test)]
fn unscaled_bytes(text: &str) -> Vec<u8> {
    let parts = DecimalParts::parse(text).unwrap();
    let unscaled = Unscaled { parts, scale: 0 };
    let mut fast = Vec::new();
    write_unscaled_base64(&mut fast, &unscaled);
    let big = big_twos_complement(&unscaled);
    let big_minimal = minimal_twos_complement(&big).to_vec();
    // Both paths must agree wherever the fast one applies.
    let mut slow = Vec::new();
    crate::json_text::write_base64(&mut slow, &big_minimal);
    assert_eq!(fast, slow, "fast and big paths disagree for {text}");
    big_minimal
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DecimalHandling;

    fn fixed(text: &str, scale: u32, mode: DecimalHandling) -> String {
        let mut out = Vec::new();
        write_fixed(&mut out, &Numeric::Finite(text.into()), scale, mode);
        std::string::String::from_utf8(out).unwrap()
    }

    fn variable(value: &Numeric, mode: DecimalHandling) -> String {
        let mut out = Vec::new();
        write_variable(&mut out, value, mode);
        std::string::String::from_utf8(out).unwrap()
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn biginteger_to_byte_array() {
        let cases = [
            ("0", "00"),
            ("1", "01"),
            ("127", "7f"),
            ("128", "0080"),
            ("255", "00ff"),
            ("256", "0100"),
            ("32767", "7fff"),
            ("32768", "008000"),
            ("-1", "ff"),
            ("-128", "80"),
            ("-129", "ff7f"),
            ("-256", "ff00"),
            ("-32768", "8000"),
            ("-32769", "ff7fff"),
            ("9223372036854775807", "7fffffffffffffff"),
            ("-9223372036854775808", "8000000000000000"),
            ("18446744073709551616", "010000000000000000"),
            // 2^127 - 1 and -2^127: the edge of i128.
            (
                "170141183460469231731687303715884105727",
                "7fffffffffffffffffffffffffffffff",
            ),
            (
                "-170141183460469231731687303715884105728",
                "80000000000000000000000000000000",
            ),
            // 2^128 and -(2^128 + 1): beyond 128 bits.
            (
                "340282366920938463463374607431768211456",
                "0100000000000000000000000000000000",
            ),
            (
                "-340282366920938463463374607431768211457",
                "feffffffffffffffffffffffffffffffff",
            ),
            (
                "99999999999999999999999999999999999999",
                "4b3b4ca85a86c47a098a223fffffffff",
            ),
            (
                "-99999999999999999999999999999999999999",
                "b4c4b357a5793b85f675ddc000000001",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(hex(&unscaled_bytes(text)), expected, "{text}");
        }
    }

    #[test]
    fn huge_values() {
        // 10^100 = 0x1249AD2594C37CEB0B2784C4CE0BF38ACE408E211A7CAAB24308A82E8F10000000000000000000000000
        let ten_pow_100 = format!("1{}", "0".repeat(100));
        let bytes = unscaled_bytes(&ten_pow_100);
        assert_eq!(
            hex(&bytes),
            "1249ad2594c37ceb0b2784c4ce0bf38ace408e211a7caab24308a82e8f10000000000000000000000000"
        );
        let negative = unscaled_bytes(&format!("-{ten_pow_100}"));
        assert_eq!(negative.len(), bytes.len());
        // -x = !x + 1: adding both must give zero with a carry out.
        let mut carry = 0u16;
        for (a, b) in bytes.iter().rev().zip(negative.iter().rev()) {
            let s = u16::from(*a) + u16::from(*b) + carry;
            assert_eq!(s & 0xff, 0);
            carry = s >> 8;
        }
        // 131072 digits, PostgreSQL's maximum before the point, takes the slow path quickly.
        let long = "7".repeat(131_072);
        assert!(unscaled_bytes(&long).len() > 50_000);
    }

    #[test]
    fn precise_fixed_scale() {
        use DecimalHandling::Precise;
        assert_eq!(fixed("1234567890.12", 2, Precise), r#""HL6ZGhQ=""#);
        assert_eq!(fixed("-0.01", 2, Precise), r#""/w==""#);
        assert_eq!(fixed("0.00", 2, Precise), r#""AA==""#);
        assert_eq!(fixed("1.28", 2, Precise), r#""AIA=""#);
        assert_eq!(fixed("-1.29", 2, Precise), r#""/38=""#);
        assert_eq!(fixed("12345678901234567890", 0, Precise), r#""AKtUqYzrHwrS""#);
        assert_eq!(fixed("-99999999999999999999", 0, Precise), r#""+pQ4odKc8AAB""#);
        assert_eq!(fixed("1.5", 2, Precise), fixed("1.50", 2, Precise));
        assert_eq!(fixed("-92233720368547758.08", 2, Precise), r#""gAAAAAAAAAA=""#);
        assert_eq!(
            fixed(
                "12345678901234567890123456789012345678901234567890.0123456789",
                10,
                Precise
            ),
            r#""E6r1BOS8HmIXP4ekN4w3tJyMz/GWjATVFQ==""#
        );
        assert_eq!(
            fixed(
                "-99999999999999999999999999999999999999999999999999.9999999999",
                10,
                Precise
            ),
            r#""/2Cw2NnoZd26/iidvdNrmm8m8AAAAAAAAAE=""#
        );
    }

    #[test]
    fn precise_variable_scale() {
        use DecimalHandling::Precise;
        let f = |s: &str| variable(&Numeric::Finite(s.into()), Precise);
        assert_eq!(
            f("3.14159265358979323846"),
            r#"{"scale":20,"value":"EQfV61tbpNfG"}"#
        );
        assert_eq!(f("-12.500"), r#"{"scale":1,"value":"gw=="}"#);
        assert_eq!(f("0"), r#"{"scale":0,"value":"AA=="}"#);
        assert_eq!(f("0.000"), r#"{"scale":0,"value":"AA=="}"#);
        assert_eq!(f("1.000"), r#"{"scale":0,"value":"AQ=="}"#);
        assert_eq!(f("0.000100"), r#"{"scale":4,"value":"AQ=="}"#);
        assert_eq!(
            f("100000000000000000000"),
            r#"{"scale":0,"value":"BWvHXi1jEAAA"}"#
        );
        assert_eq!(f("-256"), r#"{"scale":0,"value":"/wA="}"#);
        assert_eq!(
            f("-340282366920938463463374607431768211457"),
            r#"{"scale":0,"value":"/v////////////////////8="}"#
        );
        assert_eq!(variable(&Numeric::NaN, Precise), "null");
        assert_eq!(variable(&Numeric::Infinity, Precise), "null");
    }

    #[test]
    fn string_mode() {
        use DecimalHandling::String;
        assert_eq!(fixed("1234567890.12", 2, String), r#""1234567890.12""#);
        assert_eq!(fixed("0", 2, String), r#""0.00""#);
        assert_eq!(fixed("-0.00", 2, String), r#""0.00""#);
        assert_eq!(fixed("007.5", 2, String), r#""7.50""#);
        assert_eq!(fixed(".5", 1, String), r#""0.5""#);
        let v = |s: &str| variable(&Numeric::Finite(s.into()), String);
        assert_eq!(
            v("0.0000000000000000000000000000010"),
            r#""0.0000000000000000000000000000010""#
        );
        assert_eq!(v("12.500"), r#""12.500""#);
        assert_eq!(v("100000000000000000000"), r#""100000000000000000000""#);
        assert_eq!(variable(&Numeric::NaN, String), r#""NAN""#);
        assert_eq!(variable(&Numeric::Infinity, String), r#""POSITIVE_INFINITY""#);
        assert_eq!(variable(&Numeric::NegInfinity, String), r#""NEGATIVE_INFINITY""#);
    }

    #[test]
    fn double_mode() {
        use DecimalHandling::Double;
        assert_eq!(fixed("1234567890.12", 2, Double), "1.23456789012E9");
        assert_eq!(fixed("12345678901234567890", 0, Double), "1.2345678901234567E19");
        assert_eq!(fixed("-1", 0, Double), "-1.0");
        assert_eq!(fixed("92233720368547758.07", 2, Double), "9.223372036854776E16");
        let v = |s: &str| variable(&Numeric::Finite(s.into()), Double);
        assert_eq!(v("-0.000000000000000000001"), "-1.0E-21");
        assert_eq!(v("0.0001"), "1.0E-4");
        assert_eq!(v("3.14159265358979323846"), "3.141592653589793");
        assert_eq!(variable(&Numeric::NaN, Double), r#""NaN""#);
        assert_eq!(variable(&Numeric::NegInfinity, Double), r#""-Infinity""#);
    }

    #[test]
    fn zero_fallbacks() {
        let z = |scale, mode| {
            let mut out = Vec::new();
            write_zero(&mut out, scale, mode);
            std::string::String::from_utf8(out).unwrap()
        };
        assert_eq!(z(Some(2), DecimalHandling::String), r#""0.00""#);
        assert_eq!(z(None, DecimalHandling::String), r#""0""#);
        assert_eq!(z(Some(2), DecimalHandling::Precise), r#""AA==""#);
        assert_eq!(z(None, DecimalHandling::Precise), r#"{"scale":0,"value":"AA=="}"#);
        assert_eq!(z(Some(2), DecimalHandling::Double), "0.0");
    }

    #[test]
    fn malformed_text_is_null() {
        assert_eq!(fixed("1e5", 0, DecimalHandling::String), "null");
        assert_eq!(fixed("", 0, DecimalHandling::Precise), "null");
        assert_eq!(fixed("$1.00", 2, DecimalHandling::Precise), "null");
    }
}
