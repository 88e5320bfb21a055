//! Dates, times, timestamps and intervals in Debezium's `time.precision.mode=adaptive` encoding.
//!
//! | PostgreSQL | Debezium logical type | JSON |
//! |---|---|---|
//! | `date` | `io.debezium.time.Date` | days since 1970-01-01 |
//! | `time(0..3)` | `Time` | milliseconds since midnight |
//! | `time`, `time(4..6)` | `MicroTime` | microseconds since midnight (`24:00:00` = 86 400 000 000) |
//! | `timestamp(0..3)` | `Timestamp` | epoch milliseconds |
//! | `timestamp`, `timestamp(4..6)` | `MicroTimestamp` | epoch microseconds |
//! | `timestamptz` | `ZonedTimestamp` | ISO-8601 in UTC, fraction width = column precision |
//! | `timetz` | `ZonedTime` | ISO-8601 time in UTC, shortest fraction |
//! | `interval` | `MicroDuration` | microseconds, a month counted as 30.4375 days |
//!
//! Details Debezium users can see: `timestamptz` without a precision always has six fraction
//! digits (`.000000`), `timestamptz(0)` none, `timestamptz(p)` exactly `p`; years beyond 9999 get
//! a `+`, years before 1 are astronomical (`-0043` is 44 BC); `±infinity` dates, timestamps and
//! timestamptz values become fixed sentinels ([`DATE_POS_INFINITY_DAYS`], ...) or the strings
//! `"infinity"`/`"-infinity"`. Inside arrays Debezium goes through `java.sql.Time`, so `time[]`
//! elements keep millisecond precision and `timetz[]` elements whole seconds.

use rivulet_core::value::{DATE_INFINITY, DATE_NEG_INFINITY, TIMESTAMP_INFINITY, TIMESTAMP_NEG_INFINITY};

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

/// `date`: days since the epoch.
pub fn write_date(out: &mut Vec<u8>, days: i32) {
    let v = match days {
        DATE_INFINITY => DATE_POS_INFINITY_DAYS,
        DATE_NEG_INFINITY => DATE_NEG_INFINITY_DAYS,
        d => i64::from(d),
    };
    write_i64(out, v);
}

/// `timestamp`: epoch milliseconds or microseconds.
pub fn write_timestamp(out: &mut Vec<u8>, micros: i64, millis: bool) {
    let micros = match micros {
        TIMESTAMP_INFINITY => TIMESTAMP_POS_INFINITY_MICROS,
        TIMESTAMP_NEG_INFINITY => TIMESTAMP_NEG_INFINITY_MICROS,
        m => m,
    };
    write_i64(out, if millis { micros.div_euclid(1000) } else { micros });
}

/// `time`: milliseconds or microseconds since midnight.
pub fn write_time(out: &mut Vec<u8>, micros: i64, millis: bool) {
    write_i64(out, if millis { micros.div_euclid(1000) } else { micros });
}

/// A `time[]` element, which Debezium reads through `java.sql.Time` (millisecond precision).
pub fn write_time_in_array(out: &mut Vec<u8>, micros: i64, millis: bool) {
    let ms = micros.div_euclid(1000);
    write_i64(out, if millis { ms } else { ms * 1000 });
}

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

    #[test]
    fn dates_and_timestamps() {
        let render = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut out = Vec::new();
            f(&mut out);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(render(&|o| write_date(o, 19_782)), "19782");
        assert_eq!(render(&|o| write_date(o, DATE_INFINITY)), "-2147472692");
        assert_eq!(render(&|o| write_date(o, DATE_NEG_INFINITY)), "-2147472691");
        assert_eq!(render(&|o| write_timestamp(o, -1_000, true)), "-1");
        assert_eq!(render(&|o| write_timestamp(o, -1, false)), "-1");
        assert_eq!(
            render(&|o| write_timestamp(o, TIMESTAMP_INFINITY, false)),
            "9223372036825200000"
        );
        assert_eq!(
            render(&|o| write_timestamp(o, TIMESTAMP_INFINITY, true)),
            "9223372036825200"
        );
        assert_eq!(
            render(&|o| write_timestamp(o, TIMESTAMP_NEG_INFINITY, true)),
            "-9223372036832400"
        );
        assert_eq!(render(&|o| write_time(o, 49_510_123_456, true)), "49510123");
        assert_eq!(render(&|o| write_time_in_array(o, 999_999, false)), "999000");
        assert_eq!(
            render(&|o| write_time_in_array(o, 86_399_999_900, true)),
            "86399999"
        );
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
