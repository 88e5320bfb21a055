//! Text formats of `bool`, the integer types, `float4`/`float8`, `numeric` and `money`.

use std::str::FromStr;

use rivulet_core::Numeric;

pub(super) fn parse_bool(text: &[u8]) -> Result<bool, &'static str> {
    // boolout prints only `t`/`f`; the long forms cost nothing and appear in hand-written arrays.
    match text {
        b"t" | b"true" => Ok(true),
        b"f" | b"false" => Ok(false),
        _ => Err("expected 't' or 'f'"),
    }
}

/// An optionally negative decimal integer, as int2out/int4out/int8out/oidout print it.
pub(super) fn parse_int(text: &[u8]) -> Result<i64, &'static str> {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    if digits.is_empty() {
        return Err("expected digits");
    }
    // Accumulating towards the sign lets i64::MIN through without a special case.
    let mut value: i64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return Err("expected only digits");
        }
        let d = i64::from(b - b'0');
        value = value
            .checked_mul(10)
            .and_then(|v| {
                if negative {
                    v.checked_sub(d)
                } else {
                    v.checked_add(d)
                }
            })
            .ok_or("out of range for the type")?;
    }
    Ok(value)
}

/// `float4`/`float8`. With `extra_float_digits > 0` the server prints the shortest text that
/// reads back to the same bits, and Rust's `FromStr` rounds correctly, so this is exact.
pub(super) fn parse_float<F: FromStr + SpecialFloat>(text: &[u8]) -> Result<F, &'static str> {
    match text {
        b"NaN" => return Ok(F::NAN),
        b"Infinity" => return Ok(F::INFINITY),
        b"-Infinity" => return Ok(F::NEG_INFINITY),
        _ => {}
    }
    // Rust also accepts `inf`/`nan` spellings that PostgreSQL never prints; refusing anything
    // but digits, signs, points and exponents keeps the two parsers in agreement.
    if text.is_empty()
        || !text
            .iter()
            .all(|b| matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
    {
        return Err("not a number");
    }
    std::str::from_utf8(text)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or("not a number")
}

pub(super) trait SpecialFloat {
    const NAN: Self;
    const INFINITY: Self;
    const NEG_INFINITY: Self;
}

impl SpecialFloat for f32 {
    const NAN: Self = f32::NAN;
    const INFINITY: Self = f32::INFINITY;
    const NEG_INFINITY: Self = f32::NEG_INFINITY;
}

impl SpecialFloat for f64 {
    const NAN: Self = f64::NAN;
    const INFINITY: Self = f64::INFINITY;
    const NEG_INFINITY: Self = f64::NEG_INFINITY;
}

/// `numeric`: numeric_out prints `-?digits(.digits)?` with the value's scale, which is already
/// the canonical form [`Numeric::Finite`] wants, so a valid input is kept as it is.
pub(super) fn parse_numeric(text: &[u8]) -> Result<Numeric, &'static str> {
    match text {
        b"NaN" => return Ok(Numeric::NaN),
        b"Infinity" => return Ok(Numeric::Infinity),
        b"-Infinity" => return Ok(Numeric::NegInfinity),
        _ => {}
    }
    let body = text.strip_prefix(b"-").unwrap_or(text);
    let (int, frac) = match body.iter().position(|&b| b == b'.') {
        Some(dot) => (&body[..dot], Some(&body[dot + 1..])),
        None => (body, None),
    };
    let all_digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    if !all_digits(int) || !frac.is_none_or(all_digits) {
        return Err("expected [-]digits[.digits], NaN or [-]Infinity");
    }
    // Only ASCII was accepted above, so this cannot fail.
    std::str::from_utf8(text)
        .map(|s| Numeric::Finite(s.to_owned()))
        .map_err(|_| "not valid UTF-8")
}

/// `money` as cash_out prints it with `lc_monetary=C`: `$1,234.56`, `-$1,234.56`. A locale that
/// puts negative amounts in parentheses (`($1.00)`) is accepted too. The result keeps the
/// printed decimals: money's scale is fixed by the locale (2 for C).
pub(super) fn parse_money(text: &[u8]) -> Result<Numeric, &'static str> {
    const BAD: &str = "expected an amount like $1,234.56 (lc_monetary=C)";
    let (negative, body) = if let Some(rest) = text.strip_prefix(b"-") {
        (true, rest)
    } else if let Some(rest) = text.strip_prefix(b"(").and_then(|r| r.strip_suffix(b")")) {
        (true, rest)
    } else {
        (false, text)
    };
    let body = body.strip_prefix(b"$").unwrap_or(body);
    let (int, frac) = match body.iter().position(|&b| b == b'.') {
        Some(dot) => (&body[..dot], Some(&body[dot + 1..])),
        None => (body, None),
    };
    // Separators only between digits: `1,234` but not `,1` or `1,,2`.
    if int.is_empty() || !int[0].is_ascii_digit() || !int[int.len() - 1].is_ascii_digit() {
        return Err(BAD);
    }
    let mut out = String::with_capacity(text.len());
    if negative {
        out.push('-');
    }
    let mut previous_was_separator = false;
    for &b in int {
        match b {
            b'0'..=b'9' => {
                out.push(char::from(b));
                previous_was_separator = false;
            }
            b',' if !previous_was_separator => previous_was_separator = true,
            _ => return Err(BAD),
        }
    }
    if let Some(frac) = frac {
        if frac.is_empty() || !frac.iter().all(u8::is_ascii_digit) {
            return Err(BAD);
        }
        out.push('.');
        out.extend(frac.iter().map(|&b| char::from(b)));
    }
    // cash_out never prints leading zeros; trimming keeps the text canonical if a locale does.
    let first_digit = usize::from(negative);
    let int_len = out[first_digit..].find('.').unwrap_or(out.len() - first_digit);
    let zeros = out[first_digit..first_digit + int_len]
        .bytes()
        .take_while(|&b| b == b'0')
        .count();
    out.replace_range(first_digit..first_digit + zeros.min(int_len - 1), "");
    if negative && out[1..].bytes().all(|b| b == b'0' || b == b'.') {
        out.remove(0);
    }
    Ok(Numeric::Finite(out))
}
