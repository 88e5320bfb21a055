//! PostgreSQL's built-in types and their text format: which [`PgType`] a type OID and modifier
//! mean, and how a value's text output (what pgoutput sends) becomes a [`Value`].
//!
//! The parsers read exactly what the server prints with the session settings Rivulet uses
//! (`DateStyle=ISO`, `IntervalStyle=postgres`, `TimeZone=UTC`, `extra_float_digits=3`,
//! `bytea_output=hex`, `lc_monetary=C`); other spellings that a type's input function would
//! accept are mostly rejected, because seeing one means the session is not set up as assumed and
//! guessing could silently change values. All arithmetic is checked: odd input is an error,
//! never a panic or a wrong number.

mod array;
mod bytea;
mod datetime;
mod number;
mod render;

use std::fmt;

use rivulet_core::{GeometricKind, PgType, Value};

pub use array::parse_array_text;
pub use render::{render, text_param};

/// Why a text value could not be parsed. One line: the type, the problem, and the start of the
/// input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {type_name} value: {problem} (input: {snippet})")]
pub struct ValueError {
    /// PostgreSQL's name for the type, e.g. `timestamptz` or `int4[]`.
    pub type_name: String,
    pub problem: String,
    /// The input's first bytes, quoted and escaped.
    pub snippet: String,
}

/// How much of a bad input an error message shows.
const SNIPPET_BYTES: usize = 40;

impl ValueError {
    pub(crate) fn new(ty: &PgType, problem: impl Into<String>, input: &[u8]) -> Self {
        ValueError {
            type_name: type_name(ty).to_string(),
            problem: problem.into(),
            snippet: snippet(input),
        }
    }
}

/// The input's start as a quoted, escaped string, marked when cut.
pub(crate) fn snippet(input: &[u8]) -> String {
    let cut = input.len() > SNIPPET_BYTES;
    let shown = String::from_utf8_lossy(&input[..input.len().min(SNIPPET_BYTES)]);
    if cut {
        format!("{shown:?}…")
    } else {
        format!("{shown:?}")
    }
}

/// PostgreSQL's name for a type (`int4`, `timestamptz`, `text[]`), for messages.
pub fn type_name(ty: &PgType) -> TypeName<'_> {
    TypeName(ty)
}

/// Displays a [`PgType`] the way PostgreSQL names it; see [`type_name`].
pub struct TypeName<'a>(&'a PgType);

impl fmt::Display for TypeName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.0 {
            PgType::Bool => "bool",
            PgType::Int2 => "int2",
            PgType::Int4 => "int4",
            PgType::Int8 => "int8",
            PgType::Oid => "oid",
            PgType::Float4 => "float4",
            PgType::Float8 => "float8",
            PgType::Numeric { .. } => "numeric",
            PgType::Money => "money",
            PgType::Text => "text",
            PgType::Char { .. } => "bpchar",
            PgType::Varchar { .. } => "varchar",
            PgType::Bytea => "bytea",
            PgType::Date => "date",
            PgType::Time { .. } => "time",
            PgType::TimeTz { .. } => "timetz",
            PgType::Timestamp { .. } => "timestamp",
            PgType::TimestampTz { .. } => "timestamptz",
            PgType::Interval => "interval",
            PgType::Uuid => "uuid",
            PgType::Json => "json",
            PgType::Jsonb => "jsonb",
            PgType::Xml => "xml",
            PgType::Inet => "inet",
            PgType::Cidr => "cidr",
            PgType::MacAddr => "macaddr",
            PgType::MacAddr8 => "macaddr8",
            PgType::Bit { .. } => "bit",
            PgType::VarBit { .. } => "varbit",
            PgType::Name => "name",
            PgType::Point => "point",
            PgType::Geometric(kind) => kind.name(),
            PgType::TsVector => "tsvector",
            PgType::Hstore => "hstore",
            PgType::Ltree => "ltree",
            PgType::Enum { name }
            | PgType::Other { name }
            | PgType::Range { name }
            | PgType::IntVector { name } => name,
            PgType::Array(elem) => return write!(f, "{}[]", TypeName(elem)),
        };
        f.write_str(name)
    }
}

/// Parses PostgreSQL's text output of a value of type `ty`.
///
/// Textual types (see [`PgType::is_textual`]) only need valid UTF-8 and cost one `String`; every
/// other type is parsed without allocating beyond its result.
pub fn parse_text(ty: &PgType, text: &[u8]) -> Result<Value, ValueError> {
    let parsed = match ty {
        PgType::Bool => number::parse_bool(text).map(Value::Bool),
        PgType::Int2 => number::parse_int(text).and_then(to::<i16>).map(Value::Int16),
        PgType::Int4 => number::parse_int(text).and_then(to::<i32>).map(Value::Int32),
        PgType::Int8 => number::parse_int(text).map(Value::Int64),
        PgType::Oid => number::parse_int(text)
            .and_then(to::<u32>)
            .map(|v| Value::Int64(i64::from(v))),
        PgType::Float4 => number::parse_float::<f32>(text).map(Value::Float32),
        PgType::Float8 => number::parse_float::<f64>(text).map(Value::Float64),
        PgType::Numeric { .. } => number::parse_numeric(text).map(Value::Numeric),
        PgType::Money => number::parse_money(text).map(Value::Numeric),
        PgType::Bytea => bytea::parse_bytea(text).map(Value::Bytes),
        PgType::Date => datetime::parse_date(text).map(Value::Date),
        PgType::Time { .. } => datetime::parse_time(text).map(Value::Time),
        PgType::TimeTz { .. } => datetime::parse_timetz(text).map(|(micros, offset_seconds)| Value::TimeTz {
            micros,
            offset_seconds,
        }),
        PgType::Timestamp { .. } => datetime::parse_timestamp(text).map(Value::Timestamp),
        PgType::TimestampTz { .. } => datetime::parse_timestamptz(text).map(Value::TimestampTz),
        PgType::Interval => datetime::parse_interval(text).map(|(months, days, micros)| Value::Interval {
            months,
            days,
            micros,
        }),
        PgType::Array(elem) => return parse_array_text(elem, text),
        PgType::Text
        | PgType::Char { .. }
        | PgType::Varchar { .. }
        | PgType::Uuid
        | PgType::Json
        | PgType::Jsonb
        | PgType::Xml
        | PgType::Inet
        | PgType::Cidr
        | PgType::MacAddr
        | PgType::MacAddr8
        | PgType::Bit { .. }
        | PgType::VarBit { .. }
        | PgType::Enum { .. }
        | PgType::Name
        | PgType::Point
        | PgType::Geometric(_)
        | PgType::Range { .. }
        | PgType::TsVector
        | PgType::IntVector { .. }
        | PgType::Hstore
        | PgType::Ltree
        | PgType::Other { .. } => match std::str::from_utf8(text) {
            Ok(s) => Ok(Value::Text(s.to_owned())),
            Err(_) => Err("not valid UTF-8"),
        },
    };
    parsed.map_err(|problem| ValueError::new(ty, problem, text))
}

fn to<T: TryFrom<i64>>(v: i64) -> Result<T, &'static str> {
    T::try_from(v).map_err(|_| "out of range for the type")
}

/// PostgreSQL's `VARHDRSZ`: varlena type modifiers count it in.
const VARHDRSZ: i32 = 4;

/// The [`PgType`] of a built-in type (or an array of one), with its type modifier decoded;
/// `None` for OIDs that are not built in (enums, domains, composites, extension types), which
/// the caller resolves from the catalog.
///
/// Choices beyond the obvious: `"char"`, `refcursor` and `unknown` are [`PgType::Text`];
/// `oid` (printed as an unsigned 32-bit number) is [`PgType::Oid`], while `xid` and `cid`, which
/// Debezium does not convert, are [`PgType::Other`]; the `reg*`
/// alias types print object *names*, so they are [`PgType::Other`], as is `xid8` (a 64-bit
/// unsigned counter that need not fit an `Int8`). A `numeric` with a negative scale (PostgreSQL
/// 15+, e.g. `numeric(3,-2)`) holds integers of up to `precision - scale` digits, so it is
/// reported as that precision with scale 0.
pub fn builtin_type(type_oid: u32, type_modifier: i32) -> Option<PgType> {
    match ARRAYS.iter().find(|(array, _)| *array == type_oid) {
        // An array column's modifier is its element's (`varchar(10)[]` has typmod 14).
        Some(&(_, elem)) => builtin_scalar(elem, type_modifier).map(|t| PgType::Array(Box::new(t))),
        None => builtin_scalar(type_oid, type_modifier),
    }
}

fn builtin_scalar(type_oid: u32, typmod: i32) -> Option<PgType> {
    let varchar_length = || u32::try_from(typmod.checked_sub(VARHDRSZ)?).ok();
    let precision = || u8::try_from(typmod).ok().filter(|p| *p <= 6);
    let bit_length = || u32::try_from(typmod).ok();
    Some(match type_oid {
        16 => PgType::Bool,
        17 => PgType::Bytea,
        18 | 25 | 705 | 1790 => PgType::Text,
        19 => PgType::Name,
        22 | 30 => PgType::IntVector {
            name: if type_oid == 22 { "int2vector" } else { "oidvector" }.to_string(),
        },
        600 => PgType::Point,
        601 => PgType::Geometric(GeometricKind::Lseg),
        602 => PgType::Geometric(GeometricKind::Path),
        603 => PgType::Geometric(GeometricKind::Box),
        604 => PgType::Geometric(GeometricKind::Polygon),
        628 => PgType::Geometric(GeometricKind::Line),
        718 => PgType::Geometric(GeometricKind::Circle),
        3614 => PgType::TsVector,
        3904 | 3906 | 3908 | 3910 | 3912 | 3926 => PgType::Range {
            name: OTHERS.iter().find(|(oid, _)| *oid == type_oid)?.1.to_string(),
        },
        20 => PgType::Int8,
        21 => PgType::Int2,
        23 => PgType::Int4,
        26 => PgType::Oid,
        114 => PgType::Json,
        142 => PgType::Xml,
        650 => PgType::Cidr,
        700 => PgType::Float4,
        701 => PgType::Float8,
        774 => PgType::MacAddr8,
        790 => PgType::Money,
        829 => PgType::MacAddr,
        869 => PgType::Inet,
        1042 => PgType::Char {
            length: varchar_length(),
        },
        1043 => PgType::Varchar {
            length: varchar_length(),
        },
        1082 => PgType::Date,
        1083 => PgType::Time {
            precision: precision(),
        },
        1114 => PgType::Timestamp {
            precision: precision(),
        },
        1184 => PgType::TimestampTz {
            precision: precision(),
        },
        1186 => PgType::Interval,
        1266 => PgType::TimeTz {
            precision: precision(),
        },
        1560 => PgType::Bit { length: bit_length() },
        1562 => PgType::VarBit { length: bit_length() },
        1700 => numeric_type(typmod),
        2950 => PgType::Uuid,
        3802 => PgType::Jsonb,
        _ => PgType::Other {
            name: OTHERS.iter().find(|(oid, _)| *oid == type_oid)?.1.to_string(),
        },
    })
}

/// `numeric(p, s)`: the modifier is `((p << 16) | (s & 0x7ff)) + VARHDRSZ`, where PostgreSQL 15+
/// stores the scale as an 11-bit two's complement number (-1000..=1000).
fn numeric_type(typmod: i32) -> PgType {
    let Some(t) = typmod.checked_sub(VARHDRSZ).filter(|t| *t >= 0) else {
        return PgType::Numeric {
            precision: None,
            scale: None,
        };
    };
    let precision = (t >> 16) & 0xffff;
    let scale = ((t & 0x7ff) ^ 0x400) - 0x400;
    let (precision, scale) = if scale < 0 {
        (precision - scale, 0)
    } else {
        (precision, scale)
    };
    PgType::Numeric {
        precision: u16::try_from(precision).ok(),
        scale: u16::try_from(scale).ok(),
    }
}

/// Built-in types carried as text, by OID, with their `typname`.
const OTHERS: &[(u32, &str)] = &[
    (22, "int2vector"),
    (24, "regproc"),
    (27, "tid"),
    (28, "xid"),
    (29, "cid"),
    (30, "oidvector"),
    (194, "pg_node_tree"),
    (600, "point"),
    (601, "lseg"),
    (602, "path"),
    (603, "box"),
    (604, "polygon"),
    (628, "line"),
    (718, "circle"),
    (1033, "aclitem"),
    (2202, "regprocedure"),
    (2203, "regoper"),
    (2204, "regoperator"),
    (2205, "regclass"),
    (2206, "regtype"),
    (2970, "txid_snapshot"),
    (3220, "pg_lsn"),
    (3361, "pg_ndistinct"),
    (3402, "pg_dependencies"),
    (3614, "tsvector"),
    (3615, "tsquery"),
    (3642, "gtsvector"),
    (3734, "regconfig"),
    (3769, "regdictionary"),
    (3904, "int4range"),
    (3906, "numrange"),
    (3908, "tsrange"),
    (3910, "tstzrange"),
    (3912, "daterange"),
    (3926, "int8range"),
    (4072, "jsonpath"),
    (4089, "regnamespace"),
    (4096, "regrole"),
    (4191, "regcollation"),
    (4451, "int4multirange"),
    (4532, "nummultirange"),
    (4533, "tsmultirange"),
    (4534, "tstzmultirange"),
    (4535, "datemultirange"),
    (4536, "int8multirange"),
    (4600, "pg_brin_bloom_summary"),
    (4601, "pg_brin_minmax_multi_summary"),
    (5017, "pg_mcv_list"),
    (5038, "pg_snapshot"),
    (5069, "xid8"),
];

/// Built-in array types: (array OID, element OID).
const ARRAYS: &[(u32, u32)] = &[
    (1000, 16),
    (1001, 17),
    (1002, 18),
    (1003, 19),
    (1016, 20),
    (1005, 21),
    (1006, 22),
    (1007, 23),
    (1008, 24),
    (1009, 25),
    (1028, 26),
    (1010, 27),
    (1011, 28),
    (1012, 29),
    (1013, 30),
    (199, 114),
    (143, 142),
    (1017, 600),
    (1018, 601),
    (1019, 602),
    (1020, 603),
    (1027, 604),
    (629, 628),
    (651, 650),
    (1021, 700),
    (1022, 701),
    (719, 718),
    (775, 774),
    (791, 790),
    (1040, 829),
    (1041, 869),
    (1034, 1033),
    (1014, 1042),
    (1015, 1043),
    (1182, 1082),
    (1183, 1083),
    (1115, 1114),
    (1185, 1184),
    (1187, 1186),
    (1270, 1266),
    (1561, 1560),
    (1563, 1562),
    (1231, 1700),
    (2201, 1790),
    (2207, 2202),
    (2208, 2203),
    (2209, 2204),
    (2210, 2205),
    (2211, 2206),
    (2951, 2950),
    (2949, 2970),
    (3221, 3220),
    (3643, 3614),
    (3645, 3615),
    (3644, 3642),
    (3735, 3734),
    (3770, 3769),
    (3807, 3802),
    (3905, 3904),
    (3907, 3906),
    (3909, 3908),
    (3911, 3910),
    (3913, 3912),
    (3927, 3926),
    (4073, 4072),
    (4090, 4089),
    (4097, 4096),
    (4192, 4191),
    (6150, 4451),
    (6151, 4532),
    (6152, 4533),
    (6153, 4534),
    (6155, 4535),
    (6157, 4536),
    (5039, 5038),
    (271, 5069),
];

#[cfg(test)]
mod tests;
