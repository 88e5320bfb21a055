//! Column defaults as Debezium 3.6 understands them, for [`rivulet_core::Column::default`].
//!
//! Debezium reads each column's `DEFAULT` expression (`pg_get_expr(adbin, adrelid)`, as the JDBC
//! driver's `COLUMN_DEF`) and turns it into a Kafka Connect schema default, which Kafka Connect's
//! `JsonConverter` then writes in place of a null (`replace.null.with.default`) and Debezium's
//! converters use for a NOT NULL column missing from a delete's old row. It does not evaluate
//! expressions; it pattern-matches their text, and this module reproduces that matching:
//!
//! * Only columns whose declared type is one of `bool`, `int2/4/8`, `float4/8`, `numeric`,
//!   `bpchar`, `varchar`, `text`, `json(b)`, `xml`, `uuid`, `date`, `time`, `timestamp(tz)`,
//!   `interval`, `bit`, `varbit` or an enum get a default. Domains, arrays, `money`, `bytea`,
//!   `timetz`, `"char"`, `name`, `citext`, network types… never do.
//! * An expression that looks like a function call (`nextval('s'::regclass)`, `now()`,
//!   `gen_random_uuid()`, `(now() + '1 day'::interval)`) or is `CURRENT_TIMESTAMP`,
//!   `CURRENT_DATE`, `CURRENT_TIME`, `LOCALTIME`, `LOCALTIMESTAMP` becomes a fixed placeholder:
//!   `0`, `0.0`, `false`, `""`, `{}`, the nil UUID, the epoch (1970-01-01, 00:00). So a `serial`
//!   column's default is `0` and `DEFAULT now()` is `1970-01-01T00:00:00Z`.
//! * Otherwise the first quoted literal is the value (`'it''s'::text` → `it's`, and
//!   `'a'::text || 'b'::text` → `a`); an expression without quotes is taken as it is (`42`,
//!   `true`, `(1 + 2)`), and `NULL::…` means no default.
//! * The text is then parsed as the column's type; what does not parse (`(1 + 2)` for an integer,
//!   a numeric with more fraction digits than the column's scale) gives no default, while a
//!   boolean that is not `true` is `false` (Java's `Boolean.parseBoolean`).
//! * Values keep Debezium's quirks: a `char(n)` default is not blank-padded, a `bit(1)` default is
//!   a boolean, and an unconstrained `numeric` default is dropped by the encoder in precise mode
//!   (a `VariableScaleDecimal` struct cannot be a Connect default).

use rivulet_core::{Numeric, PgType, Value};
use rivulet_pgoutput::parse_text;

/// What the catalog knows about a column's declared type, besides its resolved [`PgType`].
pub struct DeclaredType<'a> {
    /// `pg_type.typname` of the column's type (the domain's name for a domain column).
    pub name: &'a str,
    /// `pg_type.typtype`: `b` base, `d` domain, `e` enum, `c` composite…
    pub kind: u8,
}

/// Debezium's schema default for a column of `pg_type` declared as `declared`, whose `DEFAULT` is
/// `expr` (`pg_get_expr` of it).
pub fn debezium_default(pg_type: &PgType, declared: &DeclaredType<'_>, expr: &str) -> Option<Value> {
    if declared.kind == b'd' {
        return None;
    }
    if let PgType::Enum { .. } = pg_type {
        return enum_default(declared.name, expr);
    }
    let mapper = Mapper::for_type(pg_type, declared.name)?;
    let expr = if mapper.trims() { java_trim(expr) } else { expr };
    let text = match extract(expr) {
        Extracted::Null => return None,
        Extracted::Placeholder => return Some(mapper.placeholder_value(pg_type)),
        Extracted::Text(text) => text,
    };
    mapper.parse(pg_type, &text)
}

/// The types Debezium has a default-value mapper for, by the type name it looks them up with.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Mapper {
    Bit,
    VarBit,
    Bool,
    Text,
    Numeric,
    Float,
    Integer,
    Json,
    Xml,
    Uuid,
    Date,
    Time,
    Timestamp,
    TimestampTz,
    Interval,
}

impl Mapper {
    fn for_type(pg_type: &PgType, type_name: &str) -> Option<Mapper> {
        Some(match (pg_type, type_name) {
            (PgType::Bit { .. }, "bit") => Mapper::Bit,
            (PgType::VarBit { .. }, "varbit") => Mapper::VarBit,
            (PgType::Bool, "bool") => Mapper::Bool,
            (PgType::Char { .. }, "bpchar")
            | (PgType::Varchar { .. }, "varchar")
            | (PgType::Text, "text") => Mapper::Text,
            (PgType::Numeric { .. }, "numeric") => Mapper::Numeric,
            (PgType::Float4, "float4") | (PgType::Float8, "float8") => Mapper::Float,
            (PgType::Int2, "int2") | (PgType::Int4, "int4") | (PgType::Int8, "int8") => Mapper::Integer,
            (PgType::Json, "json") | (PgType::Jsonb, "jsonb") => Mapper::Json,
            (PgType::Xml, "xml") => Mapper::Xml,
            (PgType::Uuid, "uuid") => Mapper::Uuid,
            (PgType::Date, "date") => Mapper::Date,
            (PgType::Time { .. }, "time") => Mapper::Time,
            (PgType::Timestamp { .. }, "timestamp") => Mapper::Timestamp,
            (PgType::TimestampTz { .. }, "timestamptz") => Mapper::TimestampTz,
            (PgType::Interval, "interval") => Mapper::Interval,
            _ => return None,
        })
    }

    /// Debezium trims the expression of these types first (`TRIM_DATA_TYPES`).
    fn trims(self) -> bool {
        !matches!(self, Mapper::Text | Mapper::Json | Mapper::Xml)
    }

    /// The text a function default is replaced with, as Debezium spells it.
    fn placeholder(self) -> &'static str {
        match self {
            Mapper::Bit => "00",
            Mapper::VarBit => "0",
            Mapper::Bool => "false",
            Mapper::Text | Mapper::Xml => "",
            Mapper::Numeric | Mapper::Float => "0.0",
            Mapper::Integer => "0",
            Mapper::Json => "{}",
            Mapper::Uuid => "00000000-0000-0000-0000-000000000000",
            Mapper::Date | Mapper::Timestamp | Mapper::TimestampTz => "1970-01-01",
            Mapper::Time => "00:00",
            Mapper::Interval => "epoch",
        }
    }

    /// The placeholder as a value (date/time placeholders are not in PostgreSQL's output format,
    /// so they are built here rather than parsed).
    fn placeholder_value(self, pg_type: &PgType) -> Value {
        match self {
            Mapper::Date => Value::Date(0),
            Mapper::Time => Value::Time(0),
            Mapper::Timestamp => Value::Timestamp(0),
            Mapper::TimestampTz => Value::TimestampTz(0),
            Mapper::Interval => Value::Interval {
                months: 0,
                days: 0,
                micros: 0,
            },
            // The other placeholders parse as their type.
            _ => self
                .parse(pg_type, self.placeholder())
                .unwrap_or_else(|| Value::Text(self.placeholder().to_string())),
        }
    }

    fn parse(self, pg_type: &PgType, text: &str) -> Option<Value> {
        match self {
            Mapper::Bit | Mapper::VarBit => text
                .bytes()
                .all(|b| b == b'0' || b == b'1')
                .then(|| Value::Text(text.to_string())),
            Mapper::Bool => Some(Value::Bool(text.eq_ignore_ascii_case("true"))),
            Mapper::Text | Mapper::Json | Mapper::Xml => Some(Value::Text(text.to_string())),
            Mapper::Numeric => numeric_default(pg_type, text),
            Mapper::Float => match pg_type {
                PgType::Float4 => text.parse::<f32>().ok().map(Value::Float32),
                _ => text.parse::<f64>().ok().map(Value::Float64),
            },
            Mapper::Integer => match pg_type {
                PgType::Int2 => text.parse::<i16>().ok().map(Value::Int16),
                PgType::Int4 => text.parse::<i32>().ok().map(Value::Int32),
                _ => text.parse::<i64>().ok().map(Value::Int64),
            },
            Mapper::Uuid => uuid_default(text),
            Mapper::Date | Mapper::Time | Mapper::Timestamp | Mapper::TimestampTz | Mapper::Interval => {
                parse_text(pg_type, text.as_bytes()).ok()
            }
        }
    }
}

/// What the expression's text stands for.
#[derive(Debug, PartialEq, Eq)]
enum Extracted {
    /// `NULL::type`: no default.
    Null,
    /// A function call or a current date/time keyword.
    Placeholder,
    Text(String),
}

/// Debezium's `extractDefault(value, placeholder)`.
fn extract(expr: &str) -> Extracted {
    const CURRENT_DATE_TIMES: [&str; 5] = [
        "current_timestamp",
        "current_time",
        "current_date",
        "localtime",
        "localtimestamp",
    ];
    if looks_like_function(expr) || CURRENT_DATE_TIMES.contains(&expr.to_lowercase().as_str()) {
        return Extracted::Placeholder;
    }
    if !expr.contains('\'') {
        return if expr.starts_with("NULL::") {
            Extracted::Null
        } else {
            Extracted::Text(expr.to_string())
        };
    }
    match first_literal(expr) {
        Some(text) => Extracted::Text(text),
        // Debezium's matcher throws, which it reports as an unparsable default.
        None => Extracted::Null,
    }
}

/// Java's `.`: any character but a line terminator.
fn is_line_terminator(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// `^[(]?[A-Za-z0-9_.]+\((?:.+(?:, ?.+)*)?\)` found at the start: an optional `(`, a name, `(`,
/// and a `)` later on the same line.
fn looks_like_function(expr: &str) -> bool {
    let rest = expr.strip_prefix('(').unwrap_or(expr);
    let name_len = rest
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'.')
        .count();
    if name_len == 0 {
        return false;
    }
    let Some(args) = rest[name_len..].strip_prefix('(') else {
        return false;
    };
    args.chars()
        .take_while(|c| !is_line_terminator(*c))
        .any(|c| c == ')')
}

/// The first single-quoted SQL literal, with `''` read as one quote. A literal must end on the
/// line it starts on (Java's `.` does not cross lines); if none does, there is none.
fn first_literal(expr: &str) -> Option<String> {
    let mut starts = expr.char_indices().filter(|(_, c)| *c == '\'').map(|(i, _)| i);
    starts.find_map(|start| {
        let mut out = String::new();
        let mut chars = expr[start + 1..].chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\'' if chars.peek() == Some(&'\'') => {
                    chars.next();
                    out.push('\'');
                }
                '\'' => return Some(out),
                c if is_line_terminator(c) => return None,
                c => out.push(c),
            }
        }
        None
    })
}

/// Java's `String.trim()`: strips characters up to U+0020 at both ends.
fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

/// An enum default is only the label of a literal cast to the enum itself: `'ok'::mood` or
/// `'ok'::schema.mood`.
fn enum_default(type_name: &str, expr: &str) -> Option<Value> {
    let cast = expr.rfind("::")?;
    let suffix = &expr[cast + 2..];
    let suffix_name = suffix.rsplit('.').next()?.trim_matches('"');
    if suffix_name != type_name {
        return None;
    }
    let literal = &expr[..cast];
    let label = literal.strip_prefix('\'')?.strip_suffix('\'')?;
    Some(Value::Text(label.to_string()))
}

/// A `numeric` default: Java's `BigDecimal` syntax (sign, digits, point, exponent), brought to
/// the column's scale when it has one (never rounding: Debezium's `setScale` would throw).
fn numeric_default(pg_type: &PgType, text: &str) -> Option<Value> {
    let PgType::Numeric { precision, scale } = pg_type else {
        return None;
    };
    let plain = big_decimal_plain(text)?;
    let plain = match (precision, scale) {
        (Some(_), scale) => rescale(&plain, usize::from(scale.unwrap_or(0)))?,
        (None, _) => plain,
    };
    Some(Value::Numeric(Numeric::Finite(plain)))
}

/// `new BigDecimal(text).toPlainString()`, or `None` when Java would reject the text.
fn big_decimal_plain(text: &str) -> Option<String> {
    let (negative, body) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], body[i + 1..].parse::<i32>().ok()?),
        None => (body, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if (int.is_empty() && frac.is_empty()) || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Unscaled digits and the scale (digits after the point) after applying the exponent.
    let digits: String = format!("{int}{frac}");
    let scale = i64::try_from(frac.len()).ok()? - i64::from(exponent);
    let digits = digits.trim_start_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    let mut out = String::new();
    if negative && digits != "0" {
        out.push('-');
    }
    if scale <= 0 {
        out.push_str(digits);
        if digits != "0" {
            out.extend(std::iter::repeat_n('0', usize::try_from(-scale).ok()?));
        }
    } else {
        let scale = usize::try_from(scale).ok()?;
        if digits.len() > scale {
            let (i, f) = digits.split_at(digits.len() - scale);
            out.push_str(i);
            out.push('.');
            out.push_str(f);
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', scale - digits.len()));
            out.push_str(digits);
        }
    }
    Some(out)
}

/// `plain` at exactly `scale` fraction digits, or `None` if that would drop a non-zero digit.
fn rescale(plain: &str, scale: usize) -> Option<String> {
    let (int, frac) = plain.split_once('.').unwrap_or((plain, ""));
    if frac.len() > scale && frac[scale..].bytes().any(|b| b != b'0') {
        return None;
    }
    let mut out = int.to_string();
    if scale > 0 {
        out.push('.');
        let kept = &frac[..frac.len().min(scale)];
        out.push_str(kept);
        out.extend(std::iter::repeat_n('0', scale - kept.len()));
    }
    Some(out)
}

/// `UUID.fromString(text).toString()`: canonical lower-case form.
fn uuid_default(text: &str) -> Option<Value> {
    let groups: Vec<&str> = text.split('-').collect();
    let well_formed = groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n)
        && groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()));
    well_formed.then(|| Value::Text(text.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(name: &str) -> DeclaredType<'_> {
        DeclaredType { name, kind: b'b' }
    }

    #[allow(clippy::needless_pass_by_value)]
    fn default(pg_type: PgType, name: &str, expr: &str) -> Option<Value> {
        debezium_default(&pg_type, &base(name), expr)
    }

    fn text(s: &str) -> Option<Value> {
        Some(Value::Text(s.into()))
    }

    fn numeric(precision: Option<u16>, scale: Option<u16>) -> PgType {
        PgType::Numeric { precision, scale }
    }

    #[test]
    fn literals() {
        assert_eq!(default(PgType::Text, "text", "'hello'::text"), text("hello"));
        assert_eq!(default(PgType::Text, "text", "'it''s'::text"), text("it's"));
        assert_eq!(default(PgType::Text, "text", "''::text"), text(""));
        assert_eq!(
            default(PgType::Text, "text", "('a'::text || 'b'::text)"),
            text("a")
        );
        assert_eq!(
            default(
                PgType::Varchar { length: Some(10) },
                "varchar",
                "'vc'::character varying"
            ),
            text("vc")
        );
        assert_eq!(
            default(PgType::Char { length: Some(5) }, "bpchar", "'ab'::bpchar"),
            text("ab")
        );
        assert_eq!(default(PgType::Text, "text", "NULL::text"), None);
        assert_eq!(default(PgType::Text, "text", "'line\nbreak'::text"), None);
        assert_eq!(default(PgType::Int4, "int4", "42"), Some(Value::Int32(42)));
        assert_eq!(
            default(PgType::Int4, "int4", "'-1'::integer"),
            Some(Value::Int32(-1))
        );
        assert_eq!(default(PgType::Int4, "int4", "(1 + 2)"), None);
        assert_eq!(
            default(PgType::Int2, "int2", "'-7'::smallint"),
            Some(Value::Int16(-7))
        );
        assert_eq!(
            default(PgType::Int8, "int8", "'9223372036854775807'::bigint"),
            Some(Value::Int64(i64::MAX))
        );
        assert_eq!(default(PgType::Int4, "int4", "NULL::integer"), None);
        assert_eq!(default(PgType::Bool, "bool", "true"), Some(Value::Bool(true)));
        assert_eq!(default(PgType::Bool, "bool", "(1 = 1)"), Some(Value::Bool(false)));
        assert_eq!(
            default(PgType::Float8, "float8", "'-22500000000'::double precision"),
            Some(Value::Float64(-2.25e10))
        );
        assert_eq!(
            default(PgType::Float4, "float4", "1.5"),
            Some(Value::Float32(1.5))
        );
        assert_eq!(
            default(
                PgType::Uuid,
                "uuid",
                "'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'::uuid"
            ),
            text("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
        );
        assert_eq!(
            default(PgType::Bit { length: Some(1) }, "bit", "B'1'::\"bit\""),
            text("1")
        );
        assert_eq!(
            default(PgType::Jsonb, "jsonb", "'{\"b\": [1, 2]}'::jsonb"),
            text("{\"b\": [1, 2]}")
        );
    }

    #[test]
    fn functions_become_placeholders() {
        assert_eq!(
            default(PgType::Int4, "int4", "nextval('df.seq'::regclass)"),
            Some(Value::Int32(0))
        );
        assert_eq!(
            default(PgType::TimestampTz { precision: None }, "timestamptz", "now()"),
            Some(Value::TimestampTz(0))
        );
        assert_eq!(
            default(
                PgType::TimestampTz { precision: Some(3) },
                "timestamptz",
                "CURRENT_TIMESTAMP(3)"
            ),
            Some(Value::TimestampTz(0))
        );
        assert_eq!(
            default(
                PgType::Timestamp { precision: None },
                "timestamp",
                "LOCALTIMESTAMP"
            ),
            Some(Value::Timestamp(0))
        );
        assert_eq!(
            default(PgType::Date, "date", "CURRENT_DATE"),
            Some(Value::Date(0))
        );
        assert_eq!(
            default(PgType::Time { precision: None }, "time", "CURRENT_TIME"),
            Some(Value::Time(0))
        );
        assert_eq!(
            default(PgType::Uuid, "uuid", "gen_random_uuid()"),
            text("00000000-0000-0000-0000-000000000000")
        );
        assert_eq!(default(PgType::Text, "text", "upper('x'::text)"), text(""));
        assert_eq!(default(PgType::Bool, "bool", "f()"), Some(Value::Bool(false)));
        assert_eq!(
            default(numeric(Some(6), Some(2)), "numeric", "random()"),
            Some(Value::Numeric(Numeric::Finite("0.00".into())))
        );
        // Not a call: a parenthesised expression starting with a keyword.
        assert_eq!(
            default(
                PgType::Timestamp { precision: None },
                "timestamp",
                "(LOCALTIMESTAMP + '1 day'::interval)"
            ),
            None
        );
        assert!(looks_like_function("(now() + '1 day'::interval)"));
        assert!(!looks_like_function("now("));
    }

    #[test]
    fn numerics_at_the_column_scale() {
        let n = |p, s, e| default(numeric(p, s), "numeric", e);
        let fin = |s: &str| Some(Value::Numeric(Numeric::Finite(s.into())));
        assert_eq!(n(Some(10), Some(3), "12.5"), fin("12.500"));
        assert_eq!(n(Some(6), Some(2), "'-1.5'::numeric"), fin("-1.50"));
        assert_eq!(n(Some(10), Some(3), "1.2345"), None);
        assert_eq!(n(Some(10), Some(0), "1.000"), fin("1"));
        assert_eq!(n(None, None, "3.14"), fin("3.14"));
        assert_eq!(n(None, None, "1e3"), fin("1000"));
        assert_eq!(n(None, None, "-1.5E-3"), fin("-0.0015"));
        assert_eq!(n(None, None, "x"), None);
    }

    #[test]
    fn temporal_literals() {
        assert_eq!(
            default(PgType::Date, "date", "'2024-02-29'::date"),
            Some(Value::Date(19_782))
        );
        assert_eq!(
            default(PgType::Interval, "interval", "'1 day 02:03:04'::interval"),
            Some(Value::Interval {
                months: 0,
                days: 1,
                micros: 7_384_000_000
            })
        );
        assert_eq!(
            default(
                PgType::TimestampTz { precision: None },
                "timestamptz",
                "'2024-02-29 10:34:56.789+00'::timestamp with time zone"
            ),
            Some(Value::TimestampTz(1_709_202_896_789_000))
        );
    }

    #[test]
    fn types_without_defaults() {
        assert_eq!(default(PgType::Money, "money", "5"), None);
        assert_eq!(default(PgType::Text, "char", "'c'::\"char\""), None);
        assert_eq!(default(PgType::Text, "citext", "'c'::citext"), None);
        assert_eq!(default(PgType::Name, "name", "'n'::name"), None);
        assert_eq!(
            default(
                PgType::Array(Box::new(PgType::Int4)),
                "_int4",
                "'{1,2}'::integer[]"
            ),
            None
        );
        let domain = DeclaredType {
            name: "posint",
            kind: b'd',
        };
        assert_eq!(debezium_default(&PgType::Int4, &domain, "3"), None);
    }

    #[test]
    fn enums() {
        let mood = PgType::Enum { name: "mood".into() };
        let declared = DeclaredType {
            name: "mood",
            kind: b'e',
        };
        assert_eq!(debezium_default(&mood, &declared, "'ok'::mood"), text("ok"));
        assert_eq!(debezium_default(&mood, &declared, "'ok'::df.mood"), text("ok"));
        assert_eq!(debezium_default(&mood, &declared, "'ok'::other"), None);
        assert_eq!(debezium_default(&mood, &declared, "f()"), None);
    }
}
