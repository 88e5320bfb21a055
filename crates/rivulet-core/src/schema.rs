//! Table schemas: what a source knows about a table's columns and key when it emits a row.
//!
//! Every row in a [`crate::ChangeEvent`] is a `Vec<Value>` aligned with
//! [`TableSchema::columns`]; the schema travels with the event as an `Arc`, so a schema change
//! mid-stream (ALTER TABLE) simply means later events point at a newer schema.

use std::fmt;

/// A table's qualified name, as PostgreSQL spells it (no quoting, case preserved).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableId {
    pub schema: String,
    pub name: String,
}

impl TableId {
    pub fn new(schema: impl Into<String>, name: impl Into<String>) -> Self {
        TableId {
            schema: schema.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for TableId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.schema, self.name)
    }
}

/// The meaning of a column's type, resolved from PostgreSQL's catalog: domains are replaced by
/// their base type, arrays carry their element type, and the type modifier is decoded into
/// precision/length. Sinks choose their encoding from this, never from raw OIDs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PgType {
    Bool,
    Int2,
    Int4,
    Int8,
    /// `oid` and the other unsigned 32-bit identifier types.
    Oid,
    Float4,
    Float8,
    /// `numeric(p, s)`; both `None` for an unconstrained `numeric`.
    Numeric {
        precision: Option<u16>,
        scale: Option<u16>,
    },
    Money,
    /// `text`, `"char"`, `citext`, `isbn` and other string types.
    Text,
    /// `char(n)` / `bpchar`: a blank-padded string.
    Char {
        length: Option<u32>,
    },
    Varchar {
        length: Option<u32>,
    },
    Bytea,
    Date,
    /// Fractional-second digits (0..=6) when declared, e.g. `time(3)`.
    Time {
        precision: Option<u8>,
    },
    TimeTz {
        precision: Option<u8>,
    },
    Timestamp {
        precision: Option<u8>,
    },
    TimestampTz {
        precision: Option<u8>,
    },
    Interval,
    Uuid,
    Json,
    Jsonb,
    Xml,
    Inet,
    Cidr,
    MacAddr,
    MacAddr8,
    /// `bit(n)`.
    Bit {
        length: Option<u32>,
    },
    /// `bit varying(n)`.
    VarBit {
        length: Option<u32>,
    },
    /// A user-defined enum; values are its labels.
    Enum {
        name: String,
    },
    /// `name` (PostgreSQL's identifier type): text, but a type Debezium has no value converter
    /// for, so encoders treat it apart from `text`.
    Name,
    /// `point`, carried as PostgreSQL's text form `(x,y)`.
    Point,
    /// The other built-in geometric types, carried as PostgreSQL's text form.
    Geometric(GeometricKind),
    /// A built-in range type (`int4range`, `int8range`, `numrange`, `tsrange`, `tstzrange`,
    /// `daterange`), carried as PostgreSQL's text form. Multiranges are [`PgType::Other`].
    Range {
        name: String,
    },
    /// `tsvector`, carried as PostgreSQL's normalised text form.
    TsVector,
    /// `int2vector` / `oidvector`: space-separated integers (catalog types rarely seen in tables).
    IntVector {
        name: String,
    },
    /// The `hstore` extension's type, carried as its text form (`"k"=>"v", …`).
    Hstore,
    /// The `ltree` extension's label path, carried as text.
    Ltree,
    Array(Box<PgType>),
    /// Anything else (geometric, range, tsvector, extension types…): carried as PostgreSQL's
    /// text form. `name` is the type's name, for messages and for sinks that want it.
    Other {
        name: String,
    },
}

/// The geometric types other than `point`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum GeometricKind {
    Box,
    Circle,
    Line,
    Lseg,
    Path,
    Polygon,
}

impl GeometricKind {
    /// PostgreSQL's name for the type.
    pub fn name(self) -> &'static str {
        match self {
            GeometricKind::Box => "box",
            GeometricKind::Circle => "circle",
            GeometricKind::Line => "line",
            GeometricKind::Lseg => "lseg",
            GeometricKind::Path => "path",
            GeometricKind::Polygon => "polygon",
        }
    }
}

impl PgType {
    /// True for types whose values are carried as [`crate::Value::Text`].
    pub fn is_textual(&self) -> bool {
        matches!(
            self,
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
                | PgType::Other { .. }
        )
    }
}

/// One column of a table, in table order.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    pub name: String,
    /// The column's declared type OID (a domain's OID for domain columns).
    pub type_oid: u32,
    /// The type modifier (`atttypmod`), -1 when none.
    pub type_modifier: i32,
    /// The resolved meaning of the type.
    pub pg_type: PgType,
    /// False for `NOT NULL` columns (and primary-key columns).
    pub nullable: bool,
    /// The column's `DEFAULT` as a value, when it is a constant the source could evaluate
    /// (Debezium's encoding substitutes it for a missing value).
    pub default: Option<crate::Value>,
    /// The value rows that existed when the column was added hold without storing it
    /// (`ALTER TABLE … ADD COLUMN … DEFAULT <constant>` writes no WAL for them; PostgreSQL's
    /// `pg_attribute.attmissingval`). Mirrors give those rows this value.
    pub missing: Option<crate::Value>,
}

/// PostgreSQL's `REPLICA IDENTITY`: what the old row of an update or delete carries.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ReplicaIdentity {
    /// Primary-key columns only (or nothing, without a primary key).
    Default,
    /// No old row at all.
    Nothing,
    /// Every column.
    Full,
    /// The columns of a chosen unique index.
    Index,
}

/// A table as a source emits it.
#[derive(Clone, Debug, PartialEq)]
pub struct TableSchema {
    pub id: TableId,
    /// PostgreSQL's relation OID.
    pub relation_oid: u32,
    pub columns: Vec<Column>,
    /// Indexes into `columns` of the primary key, in key order; empty without a primary key.
    pub primary_key: Vec<usize>,
    pub replica_identity: ReplicaIdentity,
}

impl TableSchema {
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    pub fn has_primary_key(&self) -> bool {
        !self.primary_key.is_empty()
    }
}
