//! Dates, times, timestamps and intervals in each of Debezium's `time.precision.mode`s and
//! `interval.handling.mode`s.
//!
//! | PostgreSQL | adaptive (default) | adaptive_time_microseconds | connect | microseconds | nanoseconds | isostring |
//! |---|---|---|---|---|---|---|
//! | `date` | epoch days | epoch days | epoch days | epoch days | epoch days | `"2024-02-29Z"` |
//! | `time(0..3)` | ms of day | µs | ms | µs | ns | `"13:45:10.123Z"` |
//! | `time`, `time(4..6)` | µs of day | µs | ms | µs | ns | `"13:45:10.123456Z"` |
//! | `timestamp(0..3)` | epoch ms | epoch ms | epoch ms | epoch µs | epoch ns | `"2024-06-30T23:59:59.123Z"` |
//! | `timestamp`, `timestamp(4..6)` | epoch µs | epoch µs | epoch ms | epoch µs | epoch ns | ISO |
//! | `timestamptz` | `ZonedTimestamp` ISO in UTC, fraction width = column precision (every mode) |
//! | `timetz` | `ZonedTime` ISO time in UTC, shortest fraction (every mode) |
//! | `interval` | `MicroDuration` µs, a month = 30.4375 days; or ISO-8601 `P1Y2M3DT4H5M6.789S` (`interval.handling.mode=string`) |
//!
//! Milliseconds are floored (`-1 µs` is `-1 ms`); ISO strings have the shortest fraction
//! (`"00:00:00.1Z"`), `24:00:00` is `"00:00:00Z"`, dates are `LocalDate` + `Z`. Timestamps in
//! nanoseconds beyond Java's `long` (before 1677-09-21, after 2262-04-11) are null. `±infinity`
//! dates, timestamps and timestamptz values become Debezium's sentinels ([`DATE_POS_INFINITY_DAYS`],
//! ..., `Long.MAX_VALUE` in nanoseconds, `"+294247-01-10T04:00:25.2Z"` in ISO) or the strings
//! `"infinity"`/`"-infinity"`.
//!
//! Inside arrays Debezium reads elements through pgjdbc's `java.sql` types: `time[]` elements
//! have millisecond precision and wrap at 24:00 (`24:00:00` is 0), `timetz[]` elements whole
//! seconds, `timestamp[]` elements before 1582-10-15 are read in the Julian calendar (so
//! `0001-01-01` becomes `0000-12-30` proleptic Gregorian, `1582-10-04` becomes `1582-10-14`),
//! while `date[]` and `timestamptz[]` elements keep their value.

use rivulet_core::value::{DATE_INFINITY, DATE_NEG_INFINITY, TIMESTAMP_INFINITY, TIMESTAMP_NEG_INFINITY};

use crate::TimePrecisionMode;
use crate::java_number::double_to_string;
use crate::json_text::write_i64;

const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;

/// Debezium's `date` for `infinity`: the epoch day of `-5877611-06-21` (sic).
pub const DATE_POS_INFINITY_DAYS: i64 = -2_147_472_692;
/// Debezium's `date` for `-infinity`: the epoch day of `-5877611-06-22`.
pub const DATE_NEG_INFINITY_DAYS: i64 = -2_147_472_691;
/// Debezium's `timestamp` for `infinity`, in microseconds (pgjdbc's `DATE_POSITIVE_INFINITY`).
pub const TIMESTAMP_POS_INFINITY_MICROS: i64 = 9_223_372_036_825_200_000;
/// Debezium's `timestamp` for `-infinity`, in microseconds (pgjdbc's `DATE_NEGATIVE_INFINITY`).
pub const TIMESTAMP_NEG_INFINITY_MICROS: i64 = -9_223_372_036_832_400_000;
/// What Debezium writes for `infinity` inside a `date[]`: pgjdbc's far-future `java.sql.Date`
/// is +292278994-08-16, whose epoch day Debezium narrows to an `int`.
const DATE_IN_ARRAY_POS_INFINITY: (i64, &[u8]) = (-622_191_234, b"\"+292278994-08-16Z\"");
/// What Debezium writes for `-infinity` inside a `date[]` (+292269055-12-02, sic).
const DATE_IN_ARRAY_NEG_INFINITY: (i64, &[u8]) = (-625_821_272, b"\"+292269055-12-02Z\"");
/// What Debezium writes for `-infinity` inside a `timestamptz[]`, before the fraction.
const ZONED_IN_ARRAY_NEG_INFINITY: &[u8] = b"\"+292269055-12-02T23:00:00";

/// `timetz`: the time converted to UTC, as `ZonedTime` (`"11:45:10.123456Z"`).
pub fn write_zoned_time(out: &mut Vec<u8>, micros: i64, offset_seconds: i32) {
    let utc = (micros - i64::from(offset_seconds) * MICROS_PER_SECOND).rem_euclid(MICROS_PER_DAY);
    out.push(b'"');
    write_time_of_day(out, utc, None);
    out.extend_from_slice(b"Z\"");
}

/// A `timetz[]` element: `java.sql.Time#toLocalTime()` drops the fraction.
pub fn write_zoned_time_in_array(out: &mut Vec<u8>, micros: i64, offset_seconds: i32) {
    let utc = (micros - i64::from(offset_seconds) * MICROS_PER_SECOND).rem_euclid(MICROS_PER_DAY);
    write_zoned_time(out, utc - utc % MICROS_PER_SECOND, 0);
}

/// The fraction width Debezium uses for a `timestamptz(precision)` column: `None` means "as
/// many digits as needed" (Java's `ISO_OFFSET_DATE_TIME`), used for precision 0.
pub fn zoned_timestamp_width(precision: Option<u8>) -> Option<u8> {
    match precision {
        None => Some(6),
        Some(0) => None,
        Some(p) => Some(p.min(9)),
    }
}

/// `timestamptz`: `ZonedTimestamp`, e.g. `"2024-06-30T21:59:59.123456Z"`.
pub fn write_zoned_timestamp(out: &mut Vec<u8>, micros: i64, width: Option<u8>) {
    match micros {
        TIMESTAMP_INFINITY => out.extend_from_slice(b"\"infinity\""),
        TIMESTAMP_NEG_INFINITY => out.extend_from_slice(b"\"-infinity\""),
        _ => {
            let days = micros.div_euclid(MICROS_PER_DAY);
            let time = micros.rem_euclid(MICROS_PER_DAY);
            out.push(b'"');
            write_iso_date(out, days);
            out.push(b'T');
            write_time_of_day(out, time, width);
            out.extend_from_slice(b"Z\"");
        }
    }
}

/// Debezium's fallback for a NULL in a NOT NULL `timestamptz` column (no fraction, whatever the
/// column's precision).
pub const ZONED_TIMESTAMP_EPOCH: &[u8] = b"\"1970-01-01T00:00:00Z\"";
/// Debezium's fallback for a NULL in a NOT NULL `timetz` column.
pub const ZONED_TIME_MIDNIGHT: &[u8] = b"\"00:00:00Z\"";

/// `HH:mm:ss` plus a fraction: exactly `width` digits, or the shortest (none for whole seconds).
fn write_time_of_day(out: &mut Vec<u8>, micros: i64, width: Option<u8>) {
    let secs = micros / MICROS_PER_SECOND;
    let frac = micros % MICROS_PER_SECOND;
    write_2(out, secs / 3600);
    out.push(b':');
    write_2(out, secs / 60 % 60);
    out.push(b':');
    write_2(out, secs % 60);
    let mut digits = [b'0'; 9];
    let mut f = frac;
    for d in digits[..6].iter_mut().rev() {
        *d = b'0' + (f % 10) as u8;
        f /= 10;
    }
    match width {
        Some(w) => {
            out.push(b'.');
            out.extend_from_slice(&digits[..usize::from(w)]);
        }
        None if frac != 0 => {
            let len = 6 - digits[..6].iter().rev().take_while(|&&d| d == b'0').count();
            out.push(b'.');
            out.extend_from_slice(&digits[..len]);
        }
        None => {}
    }
}

fn write_2(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(&[b'0' + (v / 10 % 10) as u8, b'0' + (v % 10) as u8]);
}

/// `yyyy-MM-dd` in the proleptic Gregorian calendar with Java's year style: four digits at
/// least, `+` above 9999, `-` for years before 1 (astronomical numbering).
fn write_iso_date(out: &mut Vec<u8>, days: i64) {
    let (year, month, day) = civil_from_days(days);
    if year > 9999 {
        out.push(b'+');
    } else if year < 0 {
        out.push(b'-');
    }
    let abs = year.unsigned_abs();
    if abs < 10_000 {
        let y = abs as i64;
        write_2(out, y / 100);
        write_2(out, y % 100);
    } else {
        out.extend_from_slice(itoa::Buffer::new().format(abs).as_bytes());
    }
    out.push(b'-');
    write_2(out, i64::from(month));
    out.push(b'-');
    write_2(out, i64::from(day));
}

/// Howard Hinnant's `civil_from_days`: (year, month, day) of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `interval` as `MicroDuration`, replicating Debezium's arithmetic bit for bit: pgjdbc's
/// `PGInterval` splits PostgreSQL's text into years/months/days/hours/minutes and seconds (a
/// double rebuilt as `whole + micros / 1e6`), then Debezium computes in doubles
/// `((months * 30.4375 + days) * 24 + hours) * 60 + minutes) * 60 + seconds` and truncates
/// `seconds * 1e6` to a long (saturating, as Java's cast does).
pub fn micro_duration(months: i32, days: i32, micros: i64) -> i64 {
    const DAYS_PER_MONTH_AVG: f64 = 365.25 / 12.0;
    let hours = micros / 3_600_000_000;
    let minutes = micros % 3_600_000_000 / 60_000_000;
    let second_micros = micros % 60_000_000;
    let seconds =
        (second_micros / MICROS_PER_SECOND) as f64 + (second_micros % MICROS_PER_SECOND) as f64 / 1e6;
    let number_of_days = f64::from(months) * DAYS_PER_MONTH_AVG + f64::from(days);
    let number_of_seconds = ((number_of_days * 24.0 + hours as f64) * 60.0 + minutes as f64) * 60.0 + seconds;
    (number_of_seconds * 1e6) as i64
}

/// How a `time`/`timestamp` column is written (see the module table).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TimeUnit {
    Millis,
    Micros,
    Nanos,
    /// An ISO-8601 string in UTC (`isostring`).
    Iso,
}

impl TimeUnit {
    /// The unit of a `time(precision)` column in `mode`.
    pub fn for_time(mode: TimePrecisionMode, precision: Option<u8>) -> TimeUnit {
        match mode {
            TimePrecisionMode::Adaptive if is_millis(precision) => TimeUnit::Millis,
            TimePrecisionMode::Adaptive
            | TimePrecisionMode::AdaptiveTimeMicroseconds
            | TimePrecisionMode::Microseconds => TimeUnit::Micros,
            TimePrecisionMode::Connect => TimeUnit::Millis,
            TimePrecisionMode::Nanoseconds => TimeUnit::Nanos,
            TimePrecisionMode::IsoString => TimeUnit::Iso,
        }
    }

    /// The unit of a `timestamp(precision)` column in `mode`.
    pub fn for_timestamp(mode: TimePrecisionMode, precision: Option<u8>) -> TimeUnit {
        match mode {
            TimePrecisionMode::Adaptive | TimePrecisionMode::AdaptiveTimeMicroseconds
                if is_millis(precision) =>
            {
                TimeUnit::Millis
            }
            TimePrecisionMode::Adaptive
            | TimePrecisionMode::AdaptiveTimeMicroseconds
            | TimePrecisionMode::Microseconds => TimeUnit::Micros,
            TimePrecisionMode::Connect => TimeUnit::Millis,
            TimePrecisionMode::Nanoseconds => TimeUnit::Nanos,
            TimePrecisionMode::IsoString => TimeUnit::Iso,
        }
    }
}

/// Declared precisions 0..=3 are millisecond columns in the adaptive modes.
fn is_millis(precision: Option<u8>) -> bool {
    precision.is_some_and(|p| p <= 3)
}

/// `date`: epoch days, or `"yyyy-MM-ddZ"` in ISO mode.
pub fn write_date_as(out: &mut Vec<u8>, days: i32, iso: bool) {
    let days = debezium_days(days);
    if iso {
        out.push(b'"');
        write_iso_date(out, days);
        out.extend_from_slice(b"Z\"");
    } else {
        write_i64(out, days);
    }
}

fn debezium_days(days: i32) -> i64 {
    match days {
        DATE_INFINITY => DATE_POS_INFINITY_DAYS,
        DATE_NEG_INFINITY => DATE_NEG_INFINITY_DAYS,
        d => i64::from(d),
    }
}

/// A `date[]` element: the calendar fields of pgjdbc's `java.sql.Date` ([`java_sql_fields`]);
/// `±infinity` become dates far beyond `LocalDate`'s range, which Debezium writes as odd values.
pub fn write_date_in_array(out: &mut Vec<u8>, days: i32, iso: bool) {
    let special = match days {
        DATE_INFINITY => DATE_IN_ARRAY_POS_INFINITY,
        DATE_NEG_INFINITY => DATE_IN_ARRAY_NEG_INFINITY,
        _ => {
            let days = java_sql_fields(i64::from(days));
            if iso {
                out.push(b'"');
                write_iso_date(out, days);
                out.extend_from_slice(b"Z\"");
            } else {
                write_i64(out, days);
            }
            return;
        }
    };
    if iso {
        out.extend_from_slice(special.1);
    } else {
        write_i64(out, special.0);
    }
}

/// A `timestamptz[]` element: the calendar fields of pgjdbc's `java.sql.Timestamp` in UTC
/// ([`java_sql_fields`]); `-infinity` becomes a date in the year 292269055.
pub fn write_zoned_timestamp_in_array(out: &mut Vec<u8>, micros: i64, width: Option<u8>) {
    if micros == TIMESTAMP_INFINITY {
        return write_zoned_timestamp(out, micros, width);
    }
    if micros != TIMESTAMP_NEG_INFINITY {
        let days = java_sql_fields(micros.div_euclid(MICROS_PER_DAY));
        let time = micros.rem_euclid(MICROS_PER_DAY);
        return write_zoned_timestamp(out, days * MICROS_PER_DAY + time, width);
    }
    out.extend_from_slice(ZONED_IN_ARRAY_NEG_INFINITY);
    if let Some(w) = width {
        out.push(b'.');
        out.extend(std::iter::repeat_n(b'0', usize::from(w)));
    }
    out.extend_from_slice(b"Z\"");
}

/// `time`: in the column's unit (`24:00:00` is 86 400 000 000 µs, but `"00:00:00Z"` in ISO).
pub fn write_time_as(out: &mut Vec<u8>, micros: i64, unit: TimeUnit) {
    match unit {
        TimeUnit::Millis => write_i64(out, micros.div_euclid(1000)),
        TimeUnit::Micros => write_i64(out, micros),
        TimeUnit::Nanos => write_i64(out, micros.saturating_mul(1000)),
        TimeUnit::Iso => {
            out.push(b'"');
            write_time_of_day(out, micros.rem_euclid(MICROS_PER_DAY), None);
            out.extend_from_slice(b"Z\"");
        }
    }
}

/// A `time[]` element: `java.sql.Time` keeps milliseconds and wraps at midnight.
pub fn write_time_in_array_as(out: &mut Vec<u8>, micros: i64, unit: TimeUnit) {
    let millis = micros.div_euclid(1000).rem_euclid(86_400_000);
    write_time_as(out, millis * 1000, unit);
}

/// `timestamp`: in the column's unit; `±infinity` as Debezium's sentinels.
pub fn write_timestamp_as(out: &mut Vec<u8>, micros: i64, unit: TimeUnit) {
    let sentinel = match micros {
        TIMESTAMP_INFINITY => Some((TIMESTAMP_POS_INFINITY_MICROS, i64::MAX)),
        TIMESTAMP_NEG_INFINITY => Some((TIMESTAMP_NEG_INFINITY_MICROS, i64::MIN)),
        _ => None,
    };
    let (micros, nanos) = match sentinel {
        Some((micros, nanos)) => (micros, Some(nanos)),
        None => (micros, epoch_nanos(micros)),
    };
    match unit {
        TimeUnit::Millis => write_i64(out, micros.div_euclid(1000)),
        TimeUnit::Micros => write_i64(out, micros),
        // Java's multiplyExact overflows: Debezium writes null.
        TimeUnit::Nanos => match nanos {
            Some(n) => write_i64(out, n),
            None => out.extend_from_slice(b"null"),
        },
        TimeUnit::Iso => write_iso_timestamp(out, micros),
    }
}

/// Debezium's nanoseconds: the day's nanoseconds, then the time of day, each step checked (so
/// the day 1677-09-21 already overflows, though some of its instants would fit).
fn epoch_nanos(micros: i64) -> Option<i64> {
    let days = micros.div_euclid(MICROS_PER_DAY);
    let time = micros.rem_euclid(MICROS_PER_DAY);
    days.checked_mul(MICROS_PER_DAY * 1000)?.checked_add(time * 1000)
}

/// A `timestamp[]` element: `java.sql.Timestamp` reads dates before the Gregorian cutover
/// (1582-10-15) in the Julian calendar.
pub fn write_timestamp_in_array_as(out: &mut Vec<u8>, micros: i64, unit: TimeUnit) {
    match micros {
        TIMESTAMP_INFINITY | TIMESTAMP_NEG_INFINITY => write_timestamp_as(out, micros, unit),
        _ => {
            let days = micros.div_euclid(MICROS_PER_DAY);
            let time = micros.rem_euclid(MICROS_PER_DAY);
            let days = julian_reading(days);
            let shifted = days.checked_mul(MICROS_PER_DAY).and_then(|m| m.checked_add(time));
            match shifted {
                Some(m) => write_timestamp_as(out, m, unit),
                None => out.extend_from_slice(b"null"),
            }
        }
    }
}

/// The day a `java.sql.Date`/`Timestamp` built from PostgreSQL's text of day `days` gives back
/// through `toLocalDate()`/`toLocalDateTime()`: the same year, month and day, except that the
/// era is lost (44 BC becomes AD 44) and the days 1582-10-05..14, which Java's calendar skips,
/// move 10 days on.
fn java_sql_fields(days: i64) -> i64 {
    let (year, month, day) = civil_from_days(days);
    if year <= 0 {
        return days_from_civil(1 - year, month, day);
    }
    if (1582, 10, 5) <= (year, month, day) && (year, month, day) <= (1582, 10, 14) {
        return days + 10;
    }
    days
}

/// The epoch day of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The epoch day that the calendar fields of proleptic Gregorian day `days` denote when read by
/// Java's hybrid calendar: the same day from 1582-10-15 on, the Julian date with those fields
/// before.
fn julian_reading(days: i64) -> i64 {
    let (year, month, day) = civil_from_days(days);
    if (year, month, day) >= (1582, 10, 15) {
        return days;
    }
    // Julian day number of a Julian-calendar date (astronomical years), then days since
    // 1970-01-01 (JDN 2 440 588).
    let a = (14 - i64::from(month)) / 12;
    let y = year + 4800 - a;
    let m = i64::from(month) + 12 * a - 3;
    let jdn = i64::from(day) + (153 * m + 2) / 5 + 365 * y + y.div_euclid(4) - 32_083;
    jdn - 2_440_588
}

/// `"yyyy-MM-ddTHH:mm:ss[.fraction]Z"` with the shortest fraction (Java's `Instant`).
fn write_iso_timestamp(out: &mut Vec<u8>, micros: i64) {
    let days = micros.div_euclid(MICROS_PER_DAY);
    let time = micros.rem_euclid(MICROS_PER_DAY);
    out.push(b'"');
    write_iso_date(out, days);
    out.push(b'T');
    write_time_of_day(out, time, None);
    out.extend_from_slice(b"Z\"");
}

/// Debezium's NOT NULL fallback of a `date` column.
pub fn write_date_fallback(out: &mut Vec<u8>, iso: bool) {
    out.extend_from_slice(if iso { b"\"1970-01-01Z\"" } else { b"0" });
}

/// Debezium's NOT NULL fallback of a `time`/`timestamp` column.
pub fn write_time_fallback(out: &mut Vec<u8>, unit: TimeUnit, timestamp: bool) {
    out.extend_from_slice(match (unit, timestamp) {
        (TimeUnit::Iso, false) => b"\"00:00:00Z\"",
        (TimeUnit::Iso, true) => b"\"1970-01-01T00:00:00Z\"",
        _ => b"0",
    });
}

/// `interval` as `io.debezium.time.Interval`: `P<y>Y<m>M<d>DT<h>H<m>M<s>S` from pgjdbc's
/// `PGInterval` fields (years and months split from the month count, hours/minutes/seconds each
/// carrying the time's sign), seconds as `BigDecimal.valueOf(double)` cut to 9 digits with
/// trailing zeros stripped (`6.789`, `0.000001`, `0`).
pub fn write_iso_interval(out: &mut Vec<u8>, months: i32, days: i32, micros: i64) {
    out.extend_from_slice(b"\"P");
    write_i64(out, i64::from(months / 12));
    out.push(b'Y');
    write_i64(out, i64::from(months % 12));
    out.push(b'M');
    write_i64(out, i64::from(days));
    out.extend_from_slice(b"DT");
    write_i64(out, micros / 3_600_000_000);
    out.push(b'H');
    write_i64(out, micros % 3_600_000_000 / 60_000_000);
    out.push(b'M');
    let second_micros = micros % 60_000_000;
    let seconds =
        (second_micros / MICROS_PER_SECOND) as f64 + (second_micros % MICROS_PER_SECOND) as f64 / 1e6;
    write_plain_seconds(out, seconds);
    out.extend_from_slice(b"S\"");
}

/// `BigDecimal.valueOf(v)` (Java's `Double.toString`) at most 9 fraction digits (rounded toward
/// zero), trailing zeros stripped, as `toPlainString()`.
fn write_plain_seconds(out: &mut Vec<u8>, v: f64) {
    let text = double_to_string(v);
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.as_str()),
    };
    let (mantissa, exponent) = match body.split_once('E') {
        Some((m, e)) => (m, e.parse::<i64>().unwrap_or(0)),
        None => (body, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{int}{frac}");
    // Where the decimal point falls in `digits`, then the plain integer and fraction parts.
    let point = i64::try_from(int.len()).unwrap_or(0).saturating_add(exponent);
    let len = i64::try_from(digits.len()).unwrap_or(0);
    let (int_part, frac_part) = if point <= 0 {
        let zeros = "0".repeat(usize::try_from(-point).unwrap_or(0));
        ("0".to_string(), format!("{zeros}{digits}"))
    } else if point >= len {
        let zeros = "0".repeat(usize::try_from(point - len).unwrap_or(0));
        (format!("{digits}{zeros}"), String::new())
    } else {
        let (i, f) = digits.split_at(usize::try_from(point).unwrap_or(0));
        (i.to_string(), f.to_string())
    };
    let frac_part = frac_part[..frac_part.len().min(9)].trim_end_matches('0');
    let int_part = match int_part.trim_start_matches('0') {
        "" => "0",
        trimmed => trimmed,
    };
    if negative && !(int_part == "0" && frac_part.is_empty()) {
        out.push(b'-');
    }
    out.extend_from_slice(int_part.as_bytes());
    if !frac_part.is_empty() {
        out.push(b'.');
        out.extend_from_slice(frac_part.as_bytes());
    }
}

/// Debezium's NOT NULL fallback of an `interval` column in string mode.
pub const ISO_INTERVAL_ZERO: &[u8] = b"\"P0Y0M0DT0H0M0S\"";

#[cfg(test)]
mod tests {
    use super::*;

    fn zoned(micros: i64, precision: Option<u8>) -> String {
        let mut out = Vec::new();
        write_zoned_timestamp(&mut out, micros, zoned_timestamp_width(precision));
        String::from_utf8(out).unwrap()
    }

    fn zoned_time(micros: i64, offset: i32) -> String {
        let mut out = Vec::new();
        write_zoned_time(&mut out, micros, offset);
        String::from_utf8(out).unwrap()
    }

    const T: i64 = 1_719_784_799_123_456; // 2024-06-30T21:59:59.123456Z

    #[test]
    fn zoned_timestamp_widths() {
        assert_eq!(zoned(T, None), r#""2024-06-30T21:59:59.123456Z""#);
        assert_eq!(zoned(T - 123_456, Some(0)), r#""2024-06-30T21:59:59Z""#);
        assert_eq!(zoned(T - 23_456, Some(1)), r#""2024-06-30T21:59:59.1Z""#);
        assert_eq!(zoned(T - 456, Some(3)), r#""2024-06-30T21:59:59.123Z""#);
        assert_eq!(zoned(T - 56, Some(4)), r#""2024-06-30T21:59:59.1234Z""#);
        assert_eq!(zoned(0, None), r#""1970-01-01T00:00:00.000000Z""#);
        assert_eq!(zoned(0, Some(1)), r#""1970-01-01T00:00:00.0Z""#);
        assert_eq!(zoned(100_000, Some(3)), r#""1970-01-01T00:00:00.100Z""#);
        assert_eq!(zoned(-1, None), r#""1969-12-31T23:59:59.999999Z""#);
        assert_eq!(zoned(-1_000_000, Some(0)), r#""1969-12-31T23:59:59Z""#);
    }

    #[test]
    fn zoned_timestamp_years() {
        assert_eq!(
            zoned(-62_135_596_800_000_000, None),
            r#""0001-01-01T00:00:00.000000Z""#
        );
        assert_eq!(
            zoned(-63_517_780_800_000_000, None),
            r#""-0043-03-15T12:00:00.000000Z""#
        );
        assert_eq!(
            zoned(253_402_300_799_999_999, None),
            r#""9999-12-31T23:59:59.999999Z""#
        );
        assert_eq!(
            zoned(327_416_950_923_000_000, Some(3)),
            r#""+12345-06-07T01:02:03.000Z""#
        );
        assert_eq!(zoned(TIMESTAMP_INFINITY, None), r#""infinity""#);
        assert_eq!(zoned(TIMESTAMP_NEG_INFINITY, Some(3)), r#""-infinity""#);
        // PostgreSQL's lower extreme: 4713-11-24 BC.
        assert_eq!(
            zoned(-210_866_803_200_000_000, None),
            r#""-4713-11-24T00:00:00.000000Z""#
        );
    }

    #[test]
    fn zoned_times() {
        let hms = |h: i64, m: i64, s: i64, us: i64| ((h * 60 + m) * 60 + s) * 1_000_000 + us;
        assert_eq!(
            zoned_time(hms(13, 45, 10, 123_456), 7200),
            r#""11:45:10.123456Z""#
        );
        assert_eq!(zoned_time(hms(13, 45, 10, 0), 7200), r#""11:45:10Z""#);
        assert_eq!(
            zoned_time(hms(12, 0, 0, 500_000), 5 * 3600 + 45 * 60),
            r#""06:15:00.5Z""#
        );
        assert_eq!(
            zoned_time(hms(12, 0, 0, 0), -(5 * 3600 + 30 * 60)),
            r#""17:30:00Z""#
        );
        assert_eq!(
            zoned_time(hms(23, 59, 59, 999_999), -(14 * 3600 + 59 * 60)),
            r#""14:58:59.999999Z""#
        );
        assert_eq!(zoned_time(hms(0, 0, 0, 0), 14 * 3600), r#""10:00:00Z""#);
        assert_eq!(zoned_time(hms(24, 0, 0, 0), 0), r#""00:00:00Z""#);
        assert_eq!(zoned_time(hms(24, 0, 0, 0), -3600), r#""01:00:00Z""#);
        let mut out = Vec::new();
        write_zoned_time_in_array(&mut out, hms(13, 45, 10, 999_000), 7200);
        assert_eq!(out, br#""11:45:10Z""#);
    }

    fn render(f: &dyn Fn(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn dates_and_timestamps() {
        use TimeUnit::*;
        assert_eq!(render(&|o| write_date_as(o, 19_782, false)), "19782");
        assert_eq!(render(&|o| write_date_as(o, 19_782, true)), r#""2024-02-29Z""#);
        assert_eq!(render(&|o| write_date_as(o, DATE_INFINITY, false)), "-2147472692");
        assert_eq!(
            render(&|o| write_date_as(o, DATE_INFINITY, true)),
            r#""-5877611-06-21Z""#
        );
        assert_eq!(
            render(&|o| write_date_as(o, DATE_NEG_INFINITY, false)),
            "-2147472691"
        );
        assert_eq!(render(&|o| write_timestamp_as(o, -1_000, Millis)), "-1");
        assert_eq!(render(&|o| write_timestamp_as(o, -1, Millis)), "-1");
        assert_eq!(render(&|o| write_timestamp_as(o, -1, Micros)), "-1");
        assert_eq!(render(&|o| write_timestamp_as(o, -1, Nanos)), "-1000");
        assert_eq!(
            render(&|o| write_timestamp_as(o, -62_135_596_800_000_000, Nanos)),
            "null"
        );
        assert_eq!(
            render(&|o| write_timestamp_as(o, TIMESTAMP_INFINITY, Micros)),
            "9223372036825200000"
        );
        assert_eq!(
            render(&|o| write_timestamp_as(o, TIMESTAMP_INFINITY, Millis)),
            "9223372036825200"
        );
        assert_eq!(
            render(&|o| write_timestamp_as(o, TIMESTAMP_INFINITY, Nanos)),
            "9223372036854775807"
        );
        assert_eq!(
            render(&|o| write_timestamp_as(o, TIMESTAMP_NEG_INFINITY, Millis)),
            "-9223372036832400"
        );
        assert_eq!(
            render(&|o| write_timestamp_as(o, TIMESTAMP_INFINITY, Iso)),
            r#""+294247-01-10T04:00:25.2Z""#
        );
        assert_eq!(
            render(&|o| write_timestamp_as(o, TIMESTAMP_NEG_INFINITY, Iso)),
            r#""-290308-12-21T19:59:27.6Z""#
        );
        assert_eq!(
            render(&|o| write_timestamp_as(o, 1_719_791_999_123_456, Iso)),
            r#""2024-06-30T23:59:59.123456Z""#
        );
        assert_eq!(
            render(&|o| write_timestamp_as(o, 0, Iso)),
            r#""1970-01-01T00:00:00Z""#
        );
    }

    #[test]
    fn times() {
        use TimeUnit::*;
        assert_eq!(render(&|o| write_time_as(o, 49_510_123_456, Millis)), "49510123");
        assert_eq!(
            render(&|o| write_time_as(o, 49_510_123_456, Nanos)),
            "49510123456000"
        );
        assert_eq!(
            render(&|o| write_time_as(o, 49_510_123_500, Iso)),
            r#""13:45:10.1235Z""#
        );
        assert_eq!(render(&|o| write_time_as(o, 100_000, Iso)), r#""00:00:00.1Z""#);
        assert_eq!(
            render(&|o| write_time_as(o, MICROS_PER_DAY, Iso)),
            r#""00:00:00Z""#
        );
        assert_eq!(
            render(&|o| write_time_as(o, MICROS_PER_DAY, Micros)),
            "86400000000"
        );
        assert_eq!(render(&|o| write_time_in_array_as(o, 999_999, Micros)), "999000");
        assert_eq!(
            render(&|o| write_time_in_array_as(o, 86_399_999_900, Millis)),
            "86399999"
        );
        assert_eq!(
            render(&|o| write_time_in_array_as(o, MICROS_PER_DAY, Micros)),
            "0"
        );
        assert_eq!(
            render(&|o| write_time_in_array_as(o, 49_510_123_456, Iso)),
            r#""13:45:10.123Z""#
        );
    }

    #[test]
    fn timestamps_in_arrays_are_julian_before_the_cutover() {
        use TimeUnit::*;
        // 0001-01-01 00:00 → 0000-12-30 (time_adaptive.debezium.jsonl).
        assert_eq!(
            render(&|o| write_timestamp_in_array_as(o, -62_135_596_800_000_000, Micros)),
            "-62135769600000000"
        );
        // 1582-10-04 12:00 → 1582-10-14 12:00.
        let oct4 = -12_220_243_200_000_000 + 43_200_000_000;
        assert_eq!(
            render(&|o| write_timestamp_in_array_as(o, oct4, Micros)),
            "-12219336000000000"
        );
        // From the cutover on, unchanged.
        let oct15 = -12_219_292_800_000_000 + 43_200_500_000;
        assert_eq!(
            render(&|o| write_timestamp_in_array_as(o, oct15, Millis)),
            "-12219249599500"
        );
        assert_eq!(
            render(&|o| write_timestamp_in_array_as(o, -62_135_596_800_000_000, Iso)),
            r#""0000-12-30T00:00:00Z""#
        );
    }

    #[test]
    fn iso_intervals() {
        let iv = |months, days, micros| render(&|o| write_iso_interval(o, months, days, micros));
        let h = 3_600_000_000;
        assert_eq!(
            iv(14, 3, 4 * h + 5 * 60_000_000 + 6_789_000),
            r#""P1Y2M3DT4H5M6.789S""#
        );
        assert_eq!(iv(0, 0, 0), r#""P0Y0M0DT0H0M0S""#);
        assert_eq!(
            iv(-14, -3, -(4 * h + 5 * 60_000_000 + 6_789_000)),
            r#""P-1Y-2M-3DT-4H-5M-6.789S""#
        );
        assert_eq!(
            iv(1, -1, 2 * h + 3 * 60_000_000 + 4_000_000),
            r#""P0Y1M-1DT2H3M4S""#
        );
        assert_eq!(iv(0, 0, 1), r#""P0Y0M0DT0H0M0.000001S""#);
        assert_eq!(iv(0, 0, -1_500_000), r#""P0Y0M0DT0H0M-1.5S""#);
        assert_eq!(iv(0, 0, 12_346_000), r#""P0Y0M0DT0H0M12.346S""#);
        assert_eq!(iv(0, 0, 60_001_000), r#""P0Y0M0DT0H1M0.001S""#);
        assert_eq!(
            iv(0, i32::MAX, 596_523 * h + 14 * 60_000_000 + 7_999_999),
            r#""P0Y0M2147483647DT596523H14M7.999999S""#
        );
        assert_eq!(iv(178_000_000 * 12, 0, 0), r#""P178000000Y0M0DT0H0M0S""#);
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(-719_162), (1, 1, 1));
        assert_eq!(civil_from_days(-735_160), (-43, 3, 15));
        assert_eq!(civil_from_days(2_932_896), (9999, 12, 31));
    }

    #[test]
    fn micro_durations_match_debezium() {
        let h = 3_600_000_000;
        // Values from temporal.debezium.jsonl.
        assert_eq!(
            micro_duration(14, 3, 4 * h + 5 * 60_000_000 + 6_789_000),
            37_091_106_789_000
        );
        assert_eq!(
            micro_duration(-14, -3, -(4 * h + 5 * 60_000_000 + 6_789_000)),
            -37_091_106_789_000
        );
        assert_eq!(micro_duration(14, 0, 0), 36_817_200_000_000);
        assert_eq!(micro_duration(-1, 0, 0), -2_629_800_000_000);
        assert_eq!(micro_duration(0, 0, 12_346_000), 12_346_000);
        assert_eq!(
            micro_duration(1, -1, 2 * h + 3 * 60_000_000 + 4_000_000),
            2_550_784_000_000
        );
        assert_eq!(micro_duration(1, 15, 0), 3_925_800_000_000);
        assert_eq!(micro_duration(-1, -13, 12 * h), -3_709_800_000_000);
        assert_eq!(micro_duration(0, 100, 100 * h), 9_000_000_000_000);
        assert_eq!(micro_duration(0, -3, 0), -259_200_000_000);
        assert_eq!(micro_duration(0, 0, -1), -1);
        assert_eq!(micro_duration(178_000_000 * 12, 0, 0), i64::MAX);
        assert_eq!(micro_duration(-178_000_000 * 12, 0, 0), i64::MIN);
        assert_eq!(
            micro_duration(0, i32::MAX, 596_523 * h + 14 * 60_000_000 + 7_999_999),
            i64::MAX
        );
    }
}
