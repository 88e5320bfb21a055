//! Text formats of the date/time types with `DateStyle=ISO` and `IntervalStyle=postgres`.
//!
//! Calendar arithmetic is the proleptic Gregorian calendar with astronomical year numbering,
//! as PostgreSQL uses it: `1 BC` is year 0 (a leap year), `4713 BC` is year -4712.
//!
//! ```text
//! date         2024-02-29 | 4713-01-01 BC | infinity | -infinity
//! time         13:45:10.5 | 24:00:00
//! timetz       13:45:10.5+02 | 00:00:00-05:30 | 12:00:00+05:30:15
//! timestamp    2024-06-30 23:59:59.123456 | 0044-03-15 12:00:00 BC
//! timestamptz  2024-06-30 21:59:59.123456+00 | 1900-01-01 00:00:00+00:19:32 | ... BC
//! interval     1 year 2 mons 3 days 04:05:06 | -1 days +02:03:00 | -00:00:01.5
//! ```

use rivulet_core::value::{DATE_INFINITY, DATE_NEG_INFINITY, TIMESTAMP_INFINITY, TIMESTAMP_NEG_INFINITY};

const USECS_PER_SEC: i64 = 1_000_000;
const USECS_PER_MINUTE: i64 = 60 * USECS_PER_SEC;
const USECS_PER_HOUR: i64 = 60 * USECS_PER_MINUTE;
const USECS_PER_DAY: i64 = 24 * USECS_PER_HOUR;

const OUT_OF_RANGE: &str = "out of range";

type Parsed<T> = Result<T, &'static str>;

pub(super) fn parse_date(text: &[u8]) -> Parsed<i32> {
    match text {
        b"infinity" => return Ok(DATE_INFINITY),
        b"-infinity" => return Ok(DATE_NEG_INFINITY),
        _ => {}
    }
    let mut c = Cursor::new(text);
    let date = c.date()?;
    let bc = c.bc();
    c.end()?;
    finite_date(date.resolve(bc)?)
}

pub(super) fn parse_time(text: &[u8]) -> Parsed<i64> {
    let mut c = Cursor::new(text);
    let micros = c.time_of_day(true)?;
    c.end()?;
    Ok(micros)
}

/// Local time of day and the zone's offset in seconds east of UTC.
pub(super) fn parse_timetz(text: &[u8]) -> Parsed<(i64, i32)> {
    let mut c = Cursor::new(text);
    let micros = c.time_of_day(true)?;
    let offset = c.offset()?;
    c.end()?;
    Ok((micros, offset))
}

pub(super) fn parse_timestamp(text: &[u8]) -> Parsed<i64> {
    match text {
        b"infinity" => return Ok(TIMESTAMP_INFINITY),
        b"-infinity" => return Ok(TIMESTAMP_NEG_INFINITY),
        _ => {}
    }
    let mut c = Cursor::new(text);
    let date = c.date()?;
    c.expect(b' ', "expected ' ' between date and time")?;
    let time = c.time_of_day(false)?;
    let bc = c.bc();
    c.end()?;
    finite_timestamp(date.resolve(bc)?, time, 0)
}

pub(super) fn parse_timestamptz(text: &[u8]) -> Parsed<i64> {
    match text {
        b"infinity" => return Ok(TIMESTAMP_INFINITY),
        b"-infinity" => return Ok(TIMESTAMP_NEG_INFINITY),
        _ => {}
    }
    let mut c = Cursor::new(text);
    let date = c.date()?;
    c.expect(b' ', "expected ' ' between date and time")?;
    let time = c.time_of_day(false)?;
    let offset = c.offset()?;
    let bc = c.bc();
    c.end()?;
    finite_timestamp(date.resolve(bc)?, time, offset)
}

/// An interval in `IntervalStyle=postgres`: up to three `N unit` parts (years, months, days, in
/// that order) and a `[+-]H:MM:SS[.f]` part, separated by single spaces. Returns
/// (months, days, microseconds), the fields PostgreSQL stores.
pub(super) fn parse_interval(text: &[u8]) -> Parsed<(i32, i32, i64)> {
    let mut c = Cursor::new(text);
    let (mut months, mut days, mut micros) = (0i64, 0i64, 0i64);
    // Parts come in a fixed order, each at most once; `next` is the earliest allowed next part.
    let mut next = 0;
    loop {
        // interval_out writes '+' on a part that follows a negative one.
        let negative = c.eat(b'-');
        if !negative {
            c.eat(b'+');
        }
        let n = c.digits(1, 18)?;
        if c.eat(b':') {
            if next > 3 {
                return Err("time part given twice");
            }
            let minutes = c.digits(2, 2)?;
            c.expect(b':', "expected ':' before seconds")?;
            let seconds = c.digits(2, 2)?;
            let fraction = c.fraction()?;
            if minutes > 59 || seconds > 59 {
                return Err("minutes and seconds must be below 60");
            }
            let magnitude = i128::from(n) * i128::from(USECS_PER_HOUR)
                + i128::from(minutes * USECS_PER_MINUTE + seconds * USECS_PER_SEC + fraction);
            micros =
                i64::try_from(if negative { -magnitude } else { magnitude }).map_err(|_| OUT_OF_RANGE)?;
            next = 4;
        } else {
            let n = if negative { -n } else { n };
            c.expect(b' ', "expected ' ' before a unit")?;
            let unit = c.word();
            match unit {
                b"year" | b"years" if next == 0 => {
                    months = n.checked_mul(12).ok_or(OUT_OF_RANGE)?;
                    next = 1;
                }
                b"mon" | b"mons" if next <= 1 => {
                    months = months.checked_add(n).ok_or(OUT_OF_RANGE)?;
                    next = 2;
                }
                b"day" | b"days" if next <= 2 => {
                    days = n;
                    next = 3;
                }
                b"year" | b"years" | b"mon" | b"mons" | b"day" | b"days" => {
                    return Err("units out of order (expected years, mons, days, time)");
                }
                _ => return Err("unknown unit (expected year, mon, day; IntervalStyle must be postgres)"),
            }
        }
        if c.at_end() {
            break;
        }
        c.expect(b' ', "expected ' ' between parts")?;
    }
    let months = i32::try_from(months).map_err(|_| OUT_OF_RANGE)?;
    let days = i32::try_from(days).map_err(|_| OUT_OF_RANGE)?;
    Ok((months, days, micros))
}

/// Days since 1970-01-01 as a date value, refusing the infinity sentinels.
fn finite_date(days: i64) -> Parsed<i32> {
    i32::try_from(days)
        .ok()
        .filter(|d| *d != DATE_INFINITY && *d != DATE_NEG_INFINITY)
        .ok_or(OUT_OF_RANGE)
}

/// Microseconds since 1970-01-01 00:00:00 UTC of a local date and time with its UTC offset.
/// PostgreSQL's own range (to 294276 AD) reaches past what fits in i64 microseconds since 1970
/// (294247 AD); such values are an error rather than a wrapped number.
fn finite_timestamp(days: i64, time: i64, offset_seconds: i32) -> Parsed<i64> {
    days.checked_mul(USECS_PER_DAY)
        .and_then(|v| v.checked_add(time))
        .and_then(|v| v.checked_sub(i64::from(offset_seconds) * USECS_PER_SEC))
        .filter(|v| *v != TIMESTAMP_INFINITY && *v != TIMESTAMP_NEG_INFINITY)
        .ok_or(OUT_OF_RANGE)
}

/// Days from 1970-01-01 to a proleptic Gregorian date (astronomical year). Counting in 400-year
/// eras starting on March 1st puts the leap day at the end of each year, so a month's first day
/// follows from a linear formula.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    // 719_468 days separate 0000-03-01 from 1970-01-01.
    era * 146_097 + day_of_era - 719_468
}

fn is_leap(year: i64) -> bool {
    year.rem_euclid(4) == 0 && (year.rem_euclid(100) != 0 || year.rem_euclid(400) == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(s: &'a [u8]) -> Self {
        Cursor { s, pos: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    fn eat(&mut self, b: u8) -> bool {
        let hit = self.peek() == Some(b);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn expect(&mut self, b: u8, problem: &'static str) -> Parsed<()> {
        if self.eat(b) { Ok(()) } else { Err(problem) }
    }

    fn end(&self) -> Parsed<()> {
        if self.at_end() {
            Ok(())
        } else {
            Err("unexpected characters at the end")
        }
    }

    /// Between `min` and `max` (at most 18) decimal digits.
    fn digits(&mut self, min: usize, max: usize) -> Parsed<i64> {
        let start = self.pos;
        let mut value: i64 = 0;
        while let Some(b @ b'0'..=b'9') = self.peek() {
            if self.pos - start == max {
                return Err("too many digits in a field");
            }
            value = value * 10 + i64::from(b - b'0');
            self.pos += 1;
        }
        if self.pos - start < min {
            return Err(if self.pos == start {
                "expected a digit"
            } else {
                "too few digits in a field"
            });
        }
        Ok(value)
    }

    /// Lower-case letters, e.g. an interval unit.
    fn word(&mut self) -> &'a [u8] {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_lowercase()) {
            self.pos += 1;
        }
        &self.s[start..self.pos]
    }

    /// `YYYY-MM-DD` (the year has four or more digits), validated; the days since 1970 are
    /// computed once [`Cursor::bc`] has said which era the year is in.
    fn date(&mut self) -> Parsed<PendingDays> {
        let year = self.digits(4, 9)?;
        self.expect(b'-', "expected '-' after the year")?;
        let month = self.digits(2, 2)?;
        self.expect(b'-', "expected '-' after the month")?;
        let day = self.digits(2, 2)?;
        if year == 0 {
            return Err("year 0 does not exist (1 BC precedes 1 AD)");
        }
        if !(1..=12).contains(&month) {
            return Err("month out of range");
        }
        Ok(PendingDays { year, month, day })
    }

    /// Whether a ` BC` suffix follows (consuming it).
    fn bc(&mut self) -> bool {
        let hit = self.s.get(self.pos..self.pos + 3) == Some(b" BC");
        if hit {
            self.pos += 3;
        }
        hit
    }

    /// `HH:MM:SS[.ffffff]` in microseconds; `time` (unlike timestamps) allows `24:00:00`.
    fn time_of_day(&mut self, allow_24: bool) -> Parsed<i64> {
        let hour = self.digits(2, 2)?;
        self.expect(b':', "expected ':' after the hour")?;
        let minute = self.digits(2, 2)?;
        self.expect(b':', "expected ':' after the minutes")?;
        let second = self.digits(2, 2)?;
        let fraction = self.fraction()?;
        if minute > 59 || second > 59 {
            return Err("minutes and seconds must be below 60");
        }
        let micros = hour * USECS_PER_HOUR + minute * USECS_PER_MINUTE + second * USECS_PER_SEC + fraction;
        let limit = if allow_24 {
            USECS_PER_DAY
        } else {
            USECS_PER_DAY - 1
        };
        if micros > limit {
            return Err("time of day out of range");
        }
        Ok(micros)
    }

    /// `.f` to `.ffffff` as microseconds, or 0 when there is no fraction.
    fn fraction(&mut self) -> Parsed<i64> {
        if !self.eat(b'.') {
            return Ok(0);
        }
        let mut micros = 0;
        let mut scale = USECS_PER_SEC;
        while let Some(b @ b'0'..=b'9') = self.peek() {
            if scale == 1 {
                return Err("more than 6 fractional digits");
            }
            scale /= 10;
            micros += i64::from(b - b'0') * scale;
            self.pos += 1;
        }
        if scale == USECS_PER_SEC {
            return Err("expected digits after '.'");
        }
        Ok(micros)
    }

    /// A UTC offset `+HH`, `-HH:MM` or `+HH:MM:SS`, as seconds east of UTC.
    fn offset(&mut self) -> Parsed<i32> {
        let negative = match self.peek() {
            Some(b'+') => false,
            Some(b'-') => true,
            _ => return Err("expected a UTC offset (+HH[:MM[:SS]])"),
        };
        self.pos += 1;
        let hours = self.digits(2, 2)?;
        let (mut minutes, mut seconds) = (0, 0);
        if self.eat(b':') {
            minutes = self.digits(2, 2)?;
            if self.eat(b':') {
                seconds = self.digits(2, 2)?;
            }
        }
        if minutes > 59 || seconds > 59 {
            return Err("UTC offset minutes and seconds must be below 60");
        }
        // Both operands are below 100 * 3600, far inside i32.
        let total = (hours * 3600 + minutes * 60 + seconds) as i32;
        Ok(if negative { -total } else { total })
    }
}

/// A validated calendar date waiting for its era.
#[derive(Clone, Copy)]
struct PendingDays {
    year: i64,
    month: i64,
    day: i64,
}

impl PendingDays {
    /// Days since 1970-01-01, `bc` meaning the printed year counts backwards from 1 BC.
    fn resolve(self, bc: bool) -> Parsed<i64> {
        let year = if bc { 1 - self.year } else { self.year };
        if self.day < 1 || self.day > days_in_month(year, self.month) {
            return Err("day out of range for the month");
        }
        Ok(days_from_civil(year, self.month, self.day))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_days_match_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 1, 1), 10_957);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(2024, 2, 29), 19_782);
        // PostgreSQL's first Julian day: 4714-11-24 BC is day 0 of the Julian day count (JD 0),
        // 2_440_588 days before the Unix epoch.
        assert_eq!(days_from_civil(-4713, 11, 24), -2_440_588);
    }

    #[test]
    fn leap_years_follow_astronomical_numbering() {
        assert!(is_leap(0));
        assert!(is_leap(-4));
        assert!(!is_leap(-100));
        assert!(is_leap(2000));
        assert!(!is_leap(1900));
    }
}
