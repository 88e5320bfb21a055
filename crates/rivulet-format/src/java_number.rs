//! Doubles and floats spelled the way Java's `Double.toString` / `Float.toString` spell them,
//! which is what Jackson writes for Kafka Connect `FLOAT64` / `FLOAT32` values.
//!
//! The digits are the ones Java 17 picks (`jdk17_digits`): Debezium 3.6.3 on Java 17 is the
//! conformance oracle. They are usually the shortest decimal that rounds back to the value, but
//! not always (`Float.MIN_NORMAL` is `1.17549435E-38`; JDK 19+ prints `1.1754944E-38`); both
//! spellings parse to the same value. Layout: plain notation with at least one fractional digit
//! for 10^-3 <= |x| < 10^7 (`100.0`, `0.001`), otherwise `d.dddE±n` (`1.0E7`, `9.999E-4`).
//! Non-finite values are not JSON numbers: Jackson writes them as the strings `"NaN"`,
//! `"Infinity"`, `"-Infinity"`.

mod jdk17_digits;

/// Java's `Double.toString(v)`.
pub fn double_to_string(v: f64) -> String {
    let mut out = Vec::new();
    write_double_text(&mut out, v);
    String::from_utf8(out).unwrap_or_default()
}

/// Java's `Float.toString(v)`.
pub fn float_to_string(v: f32) -> String {
    let mut out = Vec::new();
    write_float_text(&mut out, v);
    String::from_utf8(out).unwrap_or_default()
}

/// A JSON value for a Kafka Connect `FLOAT64` as Jackson writes it.
#[inline]
pub fn write_json_double(out: &mut Vec<u8>, v: f64) {
    if v.is_finite() {
        write_double_text(out, v);
    } else {
        write_non_finite(out, v.is_nan(), v > 0.0);
    }
}

/// A JSON value for a Kafka Connect `FLOAT32` as Jackson writes it.
#[inline]
pub fn write_json_float(out: &mut Vec<u8>, v: f32) {
    if v.is_finite() {
        write_float_text(out, v);
    } else {
        write_non_finite(out, v.is_nan(), v > 0.0);
    }
}

fn write_non_finite(out: &mut Vec<u8>, nan: bool, positive: bool) {
    out.extend_from_slice(match (nan, positive) {
        (true, _) => b"\"NaN\"",
        (false, true) => b"\"Infinity\"",
        (false, false) => b"\"-Infinity\"",
    });
}

/// Java spelling without quotes; non-finite values as Java prints them (`NaN`, `Infinity`).
fn write_double_text(out: &mut Vec<u8>, v: f64) {
    if !v.is_finite() {
        out.extend_from_slice(non_finite_text(v.is_nan(), v > 0.0));
        return;
    }
    if v == 0.0 {
        out.extend_from_slice(if v.is_sign_negative() { b"-0.0" } else { b"0.0" });
        return;
    }
    Digits::from_java(&jdk17_digits::double_digits(v.abs().to_bits())).write_java(out, v < 0.0);
}

fn write_float_text(out: &mut Vec<u8>, v: f32) {
    if !v.is_finite() {
        out.extend_from_slice(non_finite_text(v.is_nan(), v > 0.0));
        return;
    }
    if v == 0.0 {
        out.extend_from_slice(if v.is_sign_negative() { b"-0.0" } else { b"0.0" });
        return;
    }
    Digits::from_java(&jdk17_digits::float_digits(v.abs().to_bits())).write_java(out, v < 0.0);
}

fn non_finite_text(nan: bool, positive: bool) -> &'static [u8] {
    match (nan, positive) {
        (true, _) => b"NaN",
        (false, true) => b"Infinity",
        (false, false) => b"-Infinity",
    }
}

/// Significant decimal digits and the exponent of the first one: value = d.ddd × 10^exponent.
struct Digits {
    digits: [u8; 40],
    len: usize,
    exponent: i32,
}

impl Digits {
    fn from_java(decimal: &jdk17_digits::JavaDecimal) -> Self {
        let mut digits = [0u8; 40];
        digits[..decimal.len].copy_from_slice(&decimal.digits[..decimal.len]);
        Digits {
            digits,
            len: decimal.len,
            exponent: decimal.dec_exponent - 1,
        }
    }

    fn write_java(&self, out: &mut Vec<u8>, negative: bool) {
        if negative {
            out.push(b'-');
        }
        let digits = &self.digits[..self.len];
        let e = self.exponent;
        if (-3..7).contains(&e) {
            if e >= 0 {
                let int_digits = e as usize + 1;
                if digits.len() > int_digits {
                    out.extend_from_slice(&digits[..int_digits]);
                    out.push(b'.');
                    out.extend_from_slice(&digits[int_digits..]);
                } else {
                    out.extend_from_slice(digits);
                    out.resize(out.len() + (int_digits - digits.len()), b'0');
                    out.extend_from_slice(b".0");
                }
            } else {
                out.extend_from_slice(b"0.");
                out.resize(out.len() + (-e - 1) as usize, b'0');
                out.extend_from_slice(digits);
            }
        } else {
            out.push(digits[0]);
            out.push(b'.');
            if digits.len() > 1 {
                out.extend_from_slice(&digits[1..]);
            } else {
                out.push(b'0');
            }
            out.push(b'E');
            out.extend_from_slice(itoa::Buffer::new().format(e).as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_in_plain_range() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (-1.0, "-1.0"),
            (2.5, "2.5"),
            (3.25, "3.25"),
            (100.0, "100.0"),
            (0.1, "0.1"),
            (0.001, "0.001"),
            (0.0015, "0.0015"),
            (123.456, "123.456"),
            (9_999_999.0, "9999999.0"),
            (9_999_999.999, "9999999.999"),
            (9_999_999.999999, "9999999.999999"),
            (1234.56, "1234.56"),
            (0.30000000000000004, "0.30000000000000004"),
            (1.375e-5, "1.375E-5"),
            (-0.01, "-0.01"),
            (255.0, "255.0"),
        ];
        for &(v, s) in cases {
            assert_eq!(double_to_string(v), s, "{v:e}");
        }
    }

    #[test]
    fn doubles_in_scientific_range() {
        let cases: &[(f64, &str)] = &[
            (1e7, "1.0E7"),
            (-1e7, "-1.0E7"),
            (12_345_678.0, "1.2345678E7"),
            (1.5e300, "1.5E300"),
            (0.000_999_99, "9.9999E-4"),
            (0.00099999999, "9.9999999E-4"),
            (1e-4, "1.0E-4"),
            (1e-5, "1.0E-5"),
            (2e-7, "2.0E-7"),
            (-1.7976931348623157e308, "-1.7976931348623157E308"),
            (f64::MAX, "1.7976931348623157E308"),
            (1.2345678901234568e17, "1.2345678901234568E17"),
            (1.2345678901234567e19, "1.2345678901234567E19"),
            (1e20, "1.0E20"),
            (1.2345678901234568e29, "1.2345678901234568E29"),
            (9.223372036854776e16, "9.223372036854776E16"),
            (1e23, "9.999999999999999E22"), // Java 17: JDK-4511638
            (2.2250738585072014e-308, "2.2250738585072014E-308"),
            (-1e-21, "-1.0E-21"),
        ];
        for &(v, s) in cases {
            assert_eq!(double_to_string(v), s, "{v:e}");
        }
    }

    #[test]
    fn subnormal_doubles_use_two_digits() {
        assert_eq!(double_to_string(f64::from_bits(1)), "4.9E-324");
        assert_eq!(double_to_string(-f64::from_bits(1)), "-4.9E-324");
        assert_eq!(double_to_string(f64::from_bits(2)), "1.0E-323"); // Java 17: not the shortest
        assert_eq!(double_to_string(1e-320), "1.0E-320");
        assert_eq!(double_to_string(1e-310), "1.0E-310");
        assert_eq!(double_to_string(1.5e-310), "1.5E-310");
    }

    #[test]
    fn floats() {
        let cases: &[(f32, &str)] = &[
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (3.25, "3.25"),
            (-1.5, "-1.5"),
            (0.1, "0.1"),
            (0.3, "0.3"),
            (0.001, "0.001"),
            (0.0009999, "9.999E-4"),
            (100.0, "100.0"),
            (9_999_999.0, "9999999.0"),
            (1e7, "1.0E7"),
            (16_777_216.0, "1.6777216E7"),
            (-1.5e-7, "-1.5E-7"),
            (3.4028235e38, "3.4028235E38"),
            (f32::MIN_POSITIVE, "1.17549435E-38"),
            (f32::from_bits(1), "1.4E-45"),
            (f32::from_bits(2), "2.8E-45"),
            (f32::from_bits(3), "4.2E-45"),
        ];
        for &(v, s) in cases {
            assert_eq!(float_to_string(v), s, "{v:e}");
        }
    }

    #[test]
    fn json_non_finite_values_are_quoted() {
        let render = |v: f64| {
            let mut out = Vec::new();
            write_json_double(&mut out, v);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(render(f64::NAN), "\"NaN\"");
        assert_eq!(render(f64::INFINITY), "\"Infinity\"");
        assert_eq!(render(f64::NEG_INFINITY), "\"-Infinity\"");
        assert_eq!(render(1.5), "1.5");
        let mut out = Vec::new();
        write_json_float(&mut out, f32::NEG_INFINITY);
        assert_eq!(out, b"\"-Infinity\"");
        assert_eq!(double_to_string(f64::NAN), "NaN");
        assert_eq!(float_to_string(f32::INFINITY), "Infinity");
    }

    #[test]
    fn round_trips() {
        // A deterministic sweep over bit patterns: Java's spelling must parse back to the value.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = f64::from_bits(x);
            if !v.is_finite() {
                continue;
            }
            let s = double_to_string(v);
            assert_eq!(s.parse::<f64>().unwrap().to_bits(), v.to_bits(), "{s}");
            let f = f32::from_bits((x >> 32) as u32);
            if f.is_finite() {
                let s = float_to_string(f);
                assert_eq!(s.parse::<f32>().unwrap().to_bits(), f.to_bits(), "{s}");
            }
        }
    }
}
