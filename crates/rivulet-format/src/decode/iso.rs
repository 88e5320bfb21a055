//! ISO-8601 text back to PostgreSQL's units: Debezium's `ZonedTimestamp`
//! (`2024-06-30T21:59:59.123456Z`, Java's `ISO_OFFSET_DATE_TIME`), `ZonedTime`
//! (`11:45:10.5Z`, `ISO_OFFSET_TIME`) and `Interval` (`P1Y2M3DT4H5M6.78S`).
//!
//! Java's forms: years have at least four digits, a `+` above 9999 and a `-` before year 1
//! (astronomical numbering, `-0043` is 44 BC); seconds and the fraction (up to nine digits) are
//! optional; the offset is `Z` or `±HH:MM[:SS]`. Nanoseconds are truncated to microseconds,
//! PostgreSQL's resolution.

const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;
/// The widest offset Java accepts (`ZoneOffset.MAX_SECONDS`).
const MAX_OFFSET_SECONDS: i32 = 18 * 3600;

/// A `ZonedTimestamp` as microseconds since the epoch, UTC.
pub fn parse_zoned_timestamp(text: &str) -> Option<i64> {
    let mut cursor = Cursor::new(text);
    let negative_year = cursor.eat(b'-');
    let positive_year = !negative_year && cursor.eat(b'+');
    let (year, year_digits) = cursor.number(1, 10)?;
    // Java requires a sign for years beyond four digits.
    if year_digits < 4 || (year_digits > 4 && !negative_year && !positive_year) {
        return None;
    }
    let year = if negative_year { -year } else { year };
    cursor.expect(b'-')?;
    let (month, _) = cursor.number(2, 2)?;
    cursor.expect(b'-')?;
    let (day, _) = cursor.number(2, 2)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if !(cursor.eat(b'T') || cursor.eat(b't')) {
        return None;
    }
    let time = time_of_day(&mut cursor)?;
    let offset = offset_seconds(&mut cursor)?;
    cursor.end()?;
    days_from_civil(year, month, day)
        .checked_mul(MICROS_PER_DAY)?
        .checked_add(time)?
        .checked_sub(i64::from(offset) * MICROS_PER_SECOND)
}

/// A `ZonedTime` as (microseconds since midnight, offset east of UTC in seconds).
pub fn parse_zoned_time(text: &str) -> Option<(i64, i32)> {
    let mut cursor = Cursor::new(text);
    let time = time_of_day(&mut cursor)?;
    let offset = offset_seconds(&mut cursor)?;
    cursor.end()?;
    Some((time, offset))
}

/// An ISO-8601 duration (Debezium's `Interval`, `interval.handling.mode=string`) as PostgreSQL's
/// (months, days, microseconds). Each component may carry its own sign, as Debezium writes
/// negative intervals (`P-1Y-2M0DT0H0M-3.5S`); a leading `-` negates the whole.
pub fn parse_iso_duration(text: &str) -> Option<(i32, i32, i64)> {
    let mut cursor = Cursor::new(text);
    let negate = cursor.eat(b'-');
    if !cursor.eat(b'P') {
        return None;
    }
    let (mut months, mut days, mut micros) = (0i64, 0i64, 0i64);
    let mut in_time = false;
    let mut any = false;
    while !cursor.at_end() {
        if !in_time && cursor.eat(b'T') {
            in_time = true;
            continue;
        }
        let negative = if cursor.eat(b'-') {
            true
        } else {
            cursor.eat(b'+');
            false
        };
        let (whole, _) = cursor.number(1, 18)?;
        let fraction_micros = if cursor.eat(b'.') || cursor.eat(b',') {
            fraction_micros(&mut cursor)?
        } else {
            0
        };
        let sign = if negative { -1 } else { 1 };
        let unit = cursor.next()?;
        if fraction_micros != 0 && !(in_time && unit == b'S') {
            return None;
        }
        let (total, factor) = match (in_time, unit) {
            (false, b'Y') => (&mut months, 12),
            (false, b'M') => (&mut months, 1),
            (false, b'W') => (&mut days, 7),
            (false, b'D') => (&mut days, 1),
            (true, b'H') => (&mut micros, 3_600 * MICROS_PER_SECOND),
            (true, b'M') => (&mut micros, 60 * MICROS_PER_SECOND),
            (true, b'S') => (&mut micros, MICROS_PER_SECOND),
            _ => return None,
        };
        // A fraction is only allowed on seconds (checked above), already in microseconds.
        let amount = whole.checked_mul(factor)?.checked_add(fraction_micros)?;
        *total = total.checked_add(amount * sign)?;
        any = true;
    }
    if !any {
        return None;
    }
    if negate {
        (months, days, micros) = (-months, -days, micros.checked_neg()?);
    }
    Some((i32::try_from(months).ok()?, i32::try_from(days).ok()?, micros))
}

/// `HH:MM[:SS[.fffffffff]]` as microseconds since midnight.
fn time_of_day(cursor: &mut Cursor<'_>) -> Option<i64> {
    let (hour, _) = cursor.number(2, 2)?;
    cursor.expect(b':')?;
    let (minute, _) = cursor.number(2, 2)?;
    let mut second = 0;
    let mut micros = 0;
    if cursor.eat(b':') {
        second = cursor.number(2, 2)?.0;
        if cursor.eat(b'.') {
            micros = fraction_micros(cursor)?;
        }
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    Some(((hour * 60 + minute) * 60 + second) * MICROS_PER_SECOND + micros)
}

/// One to nine fraction digits as microseconds (truncated).
fn fraction_micros(cursor: &mut Cursor<'_>) -> Option<i64> {
    let (value, digits) = cursor.number(1, 9)?;
    let scaled = match digits {
        d if d <= 6 => value * 10i64.pow(6 - d as u32),
        d => value / 10i64.pow(d as u32 - 6),
    };
    Some(scaled)
}

/// `Z` or `±HH[:MM[:SS]]` as seconds east of UTC.
fn offset_seconds(cursor: &mut Cursor<'_>) -> Option<i32> {
    if cursor.eat(b'Z') || cursor.eat(b'z') {
        return Some(0);
    }
    let negative = match cursor.next()? {
        b'+' => false,
        b'-' => true,
        _ => return None,
    };
    let (hours, _) = cursor.number(2, 2)?;
    let mut minutes = 0;
    let mut seconds = 0;
    if cursor.eat(b':') {
        minutes = cursor.number(2, 2)?.0;
        if cursor.eat(b':') {
            seconds = cursor.number(2, 2)?.0;
        }
    }
    if minutes > 59 || seconds > 59 {
        return None;
    }
    let total = i32::try_from((hours * 60 + minutes) * 60 + seconds).ok()?;
    if total > MAX_OFFSET_SECONDS {
        return None;
    }
    Some(if negative { -total } else { total })
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year.rem_euclid(4) == 0 && (year.rem_euclid(100) != 0 || year.rem_euclid(400) == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A byte position in ASCII text.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Cursor {
            bytes: text.as_bytes(),
            at: 0,
        }
    }

    fn at_end(&self) -> bool {
        self.at >= self.bytes.len()
    }

    fn end(&self) -> Option<()> {
        self.at_end().then_some(())
    }

    fn next(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    fn eat(&mut self, expected: u8) -> bool {
        if self.bytes.get(self.at) == Some(&expected) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, expected: u8) -> Option<()> {
        self.eat(expected).then_some(())
    }

    /// `min..=max` decimal digits (`max` ≤ 18, so the value fits an i64), and how many there were.
    fn number(&mut self, min: usize, max: usize) -> Option<(i64, usize)> {
        let mut value = 0i64;
        let mut count = 0;
        while count < max {
            match self.bytes.get(self.at) {
                Some(b) if b.is_ascii_digit() => {
                    value = value * 10 + i64::from(b - b'0');
                    self.at += 1;
                    count += 1;
                }
                _ => break,
            }
        }
        (count >= min).then_some((value, count))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_719_784_799_123_456; // 2024-06-30T21:59:59.123456Z

    #[test]
    fn zoned_timestamps() {
        let p = parse_zoned_timestamp;
        assert_eq!(p("2024-06-30T21:59:59.123456Z"), Some(T));
        assert_eq!(p("2024-06-30T21:59:59Z"), Some(T - 123_456));
        assert_eq!(p("2024-06-30T21:59:59.1Z"), Some(T - 23_456));
        assert_eq!(p("2024-06-30T21:59:59.123456789Z"), Some(T));
        assert_eq!(p("2024-06-30T23:59:59.123456+02:00"), Some(T));
        assert_eq!(p("2024-06-30T16:29:59.123456-05:30"), Some(T));
        assert_eq!(p("2024-06-30T21:59Z"), Some(T - 59_123_456));
        assert_eq!(p("1970-01-01T00:00:00.000000Z"), Some(0));
        assert_eq!(p("1969-12-31T23:59:59.999999Z"), Some(-1));
        assert_eq!(p("0001-01-01T00:00:00.000000Z"), Some(-62_135_596_800_000_000));
        assert_eq!(p("-0043-03-15T12:00:00.000000Z"), Some(-63_517_780_800_000_000));
        assert_eq!(p("+12345-06-07T01:02:03.000Z"), Some(327_416_950_923_000_000));
        assert_eq!(p("-4713-11-24T00:00:00.000000Z"), Some(-210_866_803_200_000_000));
        for bad in [
            "",
            "2024-06-30",
            "2024-06-30T21:59:59",
            "2024-02-30T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-06-30T24:00:00Z",
            "2024-06-30T21:59:59.Z",
            "2024-06-30T21:59:59.1234567890Z",
            "12345-06-07T01:02:03Z",
            "+9999999999-12-31T23:59:59Z",
            "2024-06-30T21:59:59+19:00",
            "2024-06-30T21:59:59Zjunk",
            "infinity",
        ] {
            assert_eq!(p(bad), None, "{bad}");
        }
        assert_eq!(
            p("2024-02-29T00:00:00Z").map(|v| v / MICROS_PER_DAY),
            Some(19_782)
        );
    }

    #[test]
    fn zoned_times() {
        let hms = |h: i64, m: i64, s: i64, us: i64| ((h * 60 + m) * 60 + s) * 1_000_000 + us;
        assert_eq!(
            parse_zoned_time("11:45:10.123456Z"),
            Some((hms(11, 45, 10, 123_456), 0))
        );
        assert_eq!(parse_zoned_time("06:15:00.5Z"), Some((hms(6, 15, 0, 500_000), 0)));
        assert_eq!(parse_zoned_time("00:00Z"), Some((0, 0)));
        assert_eq!(
            parse_zoned_time("13:45:10+02:00"),
            Some((hms(13, 45, 10, 0), 7200))
        );
        assert_eq!(
            parse_zoned_time("13:45:10-00:30:15"),
            Some((hms(13, 45, 10, 0), -1815))
        );
        assert_eq!(parse_zoned_time("13:45:10"), None);
        assert_eq!(parse_zoned_time("25:00:00Z"), None);
    }

    #[test]
    fn iso_durations() {
        let h = 3_600_000_000;
        assert_eq!(
            parse_iso_duration("P1Y2M3DT4H5M6.78S"),
            Some((14, 3, 4 * h + 5 * 60_000_000 + 6_780_000))
        );
        assert_eq!(
            parse_iso_duration("P-1Y-2M-3DT-4H-5M-6.78S"),
            Some((-14, -3, -(4 * h + 5 * 60_000_000 + 6_780_000)))
        );
        assert_eq!(parse_iso_duration("P0Y0M0DT0H0M0S"), Some((0, 0, 0)));
        assert_eq!(parse_iso_duration("PT0.000001S"), Some((0, 0, 1)));
        assert_eq!(parse_iso_duration("-P1W"), Some((0, -7, 0)));
        assert_eq!(parse_iso_duration("P"), None);
        assert_eq!(parse_iso_duration("P1H"), None);
        assert_eq!(parse_iso_duration("P1.5D"), None);
        assert_eq!(parse_iso_duration("P999999999999999999Y"), None);
        assert_eq!(parse_iso_duration("1D"), None);
    }

    #[test]
    fn civil_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2024, 2, 29), 19_782);
        assert_eq!(days_from_civil(1, 1, 1), -719_162);
        assert_eq!(days_from_civil(-43, 3, 15), -735_160);
        assert_eq!(days_from_civil(9999, 12, 31), 2_932_896);
    }
}
