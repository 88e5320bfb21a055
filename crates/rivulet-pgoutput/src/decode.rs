//! Decoding of pgoutput logical replication messages, protocol version 1.
//!
//! Each `XLogData` payload from the walsender (or each `data` row of
//! `pg_logical_slot_get_binary_changes`) is one message: a tag byte followed by big-endian
//! fields, as described in PostgreSQL's "Logical Replication Message Formats". Column values are
//! returned as slices of the input [`Bytes`], so decoding a row allocates only its `Vec` of
//! values; turning those bytes into typed values is [`crate::parse_text`]'s job.
//!
//! Decoding is strict: a message must be consumed exactly. Trailing bytes almost always mean
//! that the server speaks a different protocol version than the one requested (v2 inserts an
//! xid into several messages), and silently misreading rows would be far worse than stopping.

use std::fmt;

use bytes::Bytes;
use rivulet_core::Lsn;

/// Microseconds between the Unix epoch and PostgreSQL's epoch (2000-01-01 00:00:00 UTC).
pub const PG_EPOCH_OFFSET_US: i64 = 946_684_800_000_000;

/// One pgoutput message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PgOutputMessage {
    Begin {
        final_lsn: Lsn,
        /// Microseconds since the Unix epoch.
        commit_time_us: i64,
        xid: u32,
    },
    Commit {
        /// Currently always 0.
        flags: u8,
        commit_lsn: Lsn,
        end_lsn: Lsn,
        /// Microseconds since the Unix epoch.
        commit_time_us: i64,
    },
    Origin {
        origin_lsn: Lsn,
        name: String,
    },
    Relation(Relation),
    Type {
        type_oid: u32,
        /// Empty for `pg_catalog`.
        namespace: String,
        name: String,
    },
    Insert {
        relation_oid: u32,
        new: TupleData,
    },
    Update {
        relation_oid: u32,
        /// Present with `REPLICA IDENTITY FULL`, or when a key column changed.
        old: Option<OldTuple>,
        new: TupleData,
    },
    Delete {
        relation_oid: u32,
        old: OldTuple,
    },
    Truncate {
        cascade: bool,
        restart_identity: bool,
        relation_oids: Vec<u32>,
    },
    /// A logical decoding message (`pg_logical_emit_message`); sent only with `messages 'true'`.
    Message {
        transactional: bool,
        lsn: Lsn,
        prefix: String,
        content: Bytes,
    },
}

impl PgOutputMessage {
    /// The message's name in PostgreSQL's documentation, for logs and errors.
    pub fn name(&self) -> &'static str {
        match self {
            PgOutputMessage::Begin { .. } => "Begin",
            PgOutputMessage::Commit { .. } => "Commit",
            PgOutputMessage::Origin { .. } => "Origin",
            PgOutputMessage::Relation(_) => "Relation",
            PgOutputMessage::Type { .. } => "Type",
            PgOutputMessage::Insert { .. } => "Insert",
            PgOutputMessage::Update { .. } => "Update",
            PgOutputMessage::Delete { .. } => "Delete",
            PgOutputMessage::Truncate { .. } => "Truncate",
            PgOutputMessage::Message { .. } => "Message",
        }
    }
}

/// A table's description, sent before its first change in a session and again after it changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Relation {
    pub relation_oid: u32,
    /// Empty for `pg_catalog`, as the protocol documents.
    pub namespace: String,
    pub name: String,
    /// `relreplident`: `b'd'` default, `b'n'` nothing, `b'f'` full, `b'i'` index.
    pub replica_identity: u8,
    /// The published columns in table order (generated and dropped columns are never sent).
    pub columns: Vec<RelationColumn>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelationColumn {
    /// Part of the replica identity key.
    pub is_key: bool,
    pub name: String,
    pub type_oid: u32,
    /// `atttypmod`; -1 when the type has none.
    pub type_modifier: i32,
}

/// The old row of an update or delete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OldTuple {
    /// `K`: only the replica identity columns carry values; the others are [`TupleValue::Null`].
    Key(TupleData),
    /// `O`: the whole old row (`REPLICA IDENTITY FULL`).
    Full(TupleData),
}

impl OldTuple {
    pub fn tuple(&self) -> &TupleData {
        match self {
            OldTuple::Key(t) | OldTuple::Full(t) => t,
        }
    }
}

/// A row's values, one per column of the relation.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct TupleData(pub Vec<TupleValue>);

impl TupleData {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, TupleValue> {
        self.0.iter()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TupleValue {
    Null,
    /// `u`: an unchanged TOASTed value the server did not send.
    UnchangedToast,
    /// `t`: the type's text output, a slice of the message.
    Text(Bytes),
    /// `b`: the type's binary send format (only with the `binary` option, which Rivulet does not
    /// request).
    Binary(Bytes),
}

/// Why a message could not be decoded. Displayed as one line naming the message, the problem and
/// the byte offset within the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("pgoutput {message} message: {kind} (at byte {offset})")]
pub struct DecodeError {
    /// The message's name ("Insert", "Relation"…), or "unknown" when the tag itself is the problem.
    pub message: &'static str,
    /// Offset from the start of the message (the tag byte is offset 0).
    pub offset: usize,
    pub kind: DecodeErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeErrorKind {
    Empty,
    UnknownTag(u8),
    /// A streaming or two-phase message, which proto_version 1 never sends.
    NeedsNewerProtocol,
    Truncated {
        field: &'static str,
        needed: usize,
        available: usize,
    },
    UnterminatedString {
        field: &'static str,
    },
    InvalidUtf8 {
        field: &'static str,
    },
    NegativeLength {
        field: &'static str,
        length: i32,
    },
    UnexpectedByte {
        field: &'static str,
        found: u8,
        expected: &'static str,
    },
    TimestampOutOfRange {
        field: &'static str,
        value: i64,
    },
    TrailingBytes {
        count: usize,
    },
}

impl fmt::Display for DecodeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeErrorKind::Empty => write!(f, "empty message"),
            DecodeErrorKind::UnknownTag(tag) => write!(f, "unknown message type {}", show_byte(*tag)),
            DecodeErrorKind::NeedsNewerProtocol => write!(
                f,
                "streaming/two-phase messages are not expected: Rivulet requests proto_version 1, \
                 so the server is not speaking the protocol version it was asked for"
            ),
            DecodeErrorKind::Truncated {
                field,
                needed,
                available,
            } => {
                write!(f, "truncated {field}: needs {needed} bytes, {available} left")
            }
            DecodeErrorKind::UnterminatedString { field } => {
                write!(f, "{field} is not NUL-terminated")
            }
            DecodeErrorKind::InvalidUtf8 { field } => write!(f, "{field} is not valid UTF-8"),
            DecodeErrorKind::NegativeLength { field, length } => {
                write!(f, "negative length {length} for {field}")
            }
            DecodeErrorKind::UnexpectedByte {
                field,
                found,
                expected,
            } => {
                write!(f, "unexpected {field} {}, expected {expected}", show_byte(*found))
            }
            DecodeErrorKind::TimestampOutOfRange { field, value } => {
                write!(f, "{field} {value} is out of range for Unix-epoch microseconds")
            }
            DecodeErrorKind::TrailingBytes { count } => {
                write!(
                    f,
                    "{count} unexpected trailing bytes (protocol version mismatch?)"
                )
            }
        }
    }
}

/// `'X' (0x58)` for printable bytes, `0x05` otherwise.
fn show_byte(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("'{}' (0x{b:02x})", b as char)
    } else {
        format!("0x{b:02x}")
    }
}

/// The names of the messages of protocol versions 2 and later, which version 1 never sends.
fn newer_protocol_message(tag: u8) -> Option<&'static str> {
    Some(match tag {
        b'S' => "Stream Start",
        b'E' => "Stream Stop",
        b'c' => "Stream Commit",
        b'A' => "Stream Abort",
        b'b' => "Begin Prepare",
        b'P' => "Prepare",
        b'K' => "Commit Prepared",
        b'r' => "Rollback Prepared",
        b'p' => "Stream Prepare",
        _ => return None,
    })
}

/// Decodes one pgoutput (proto_version 1) message. Never panics, whatever the bytes.
pub fn decode(data: Bytes) -> Result<PgOutputMessage, DecodeError> {
    let Some(&tag) = data.first() else {
        return Err(DecodeError {
            message: "unknown",
            offset: 0,
            kind: DecodeErrorKind::Empty,
        });
    };
    let message = match tag {
        b'B' => "Begin",
        b'C' => "Commit",
        b'O' => "Origin",
        b'R' => "Relation",
        b'Y' => "Type",
        b'I' => "Insert",
        b'U' => "Update",
        b'D' => "Delete",
        b'T' => "Truncate",
        b'M' => "Message",
        other => {
            return Err(match newer_protocol_message(other) {
                Some(name) => DecodeError {
                    message: name,
                    offset: 0,
                    kind: DecodeErrorKind::NeedsNewerProtocol,
                },
                None => DecodeError {
                    message: "unknown",
                    offset: 0,
                    kind: DecodeErrorKind::UnknownTag(other),
                },
            });
        }
    };
    let mut r = Reader {
        data,
        pos: 1,
        message,
    };
    let msg = match tag {
        b'B' => PgOutputMessage::Begin {
            final_lsn: r.lsn("final LSN")?,
            commit_time_us: r.timestamp("commit timestamp")?,
            xid: r.u32("xid")?,
        },
        b'C' => PgOutputMessage::Commit {
            flags: r.u8("flags")?,
            commit_lsn: r.lsn("commit LSN")?,
            end_lsn: r.lsn("end LSN")?,
            commit_time_us: r.timestamp("commit timestamp")?,
        },
        b'O' => PgOutputMessage::Origin {
            origin_lsn: r.lsn("origin LSN")?,
            name: r.string("origin name")?,
        },
        b'R' => PgOutputMessage::Relation(r.relation()?),
        b'Y' => PgOutputMessage::Type {
            type_oid: r.u32("type OID")?,
            namespace: r.string("namespace")?,
            name: r.string("type name")?,
        },
        b'I' => {
            let relation_oid = r.u32("relation OID")?;
            r.expect_byte("tuple marker", b'N', "'N'")?;
            PgOutputMessage::Insert {
                relation_oid,
                new: r.tuple()?,
            }
        }
        b'U' => {
            let relation_oid = r.u32("relation OID")?;
            let old = match r.peek_u8("tuple marker")? {
                b'K' | b'O' => Some(r.old_tuple()?),
                _ => None,
            };
            r.expect_byte("tuple marker", b'N', "'N' (or 'K'/'O' before it)")?;
            PgOutputMessage::Update {
                relation_oid,
                old,
                new: r.tuple()?,
            }
        }
        b'D' => {
            let relation_oid = r.u32("relation OID")?;
            PgOutputMessage::Delete {
                relation_oid,
                old: r.old_tuple()?,
            }
        }
        b'T' => r.truncate()?,
        // b'M'; the tag was matched above, so nothing else reaches here.
        _ => {
            let flags = r.u8("flags")?;
            PgOutputMessage::Message {
                transactional: flags & 1 != 0,
                lsn: r.lsn("LSN")?,
                prefix: r.string("prefix")?,
                content: {
                    let len = r.length("content length")?;
                    r.take(len, "content")?
                },
            }
        }
    };
    r.finish()?;
    Ok(msg)
}

/// A cursor over one message that reports errors with the message name and offset.
struct Reader {
    data: Bytes,
    pos: usize,
    message: &'static str,
}

impl Reader {
    fn err(&self, kind: DecodeErrorKind) -> DecodeError {
        DecodeError {
            message: self.message,
            offset: self.pos,
            kind,
        }
    }

    fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let bytes = self
            .data
            .get(self.pos..)
            .and_then(|rest| rest.first_chunk::<N>())
            .ok_or_else(|| {
                self.err(DecodeErrorKind::Truncated {
                    field,
                    needed: N,
                    available: self.remaining(),
                })
            })?;
        self.pos += N;
        Ok(*bytes)
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(field)?[0])
    }

    fn peek_u8(&self, field: &'static str) -> Result<u8, DecodeError> {
        self.data.get(self.pos).copied().ok_or_else(|| {
            self.err(DecodeErrorKind::Truncated {
                field,
                needed: 1,
                available: 0,
            })
        })
    }

    fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array(field)?))
    }

    fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    fn i32(&mut self, field: &'static str) -> Result<i32, DecodeError> {
        Ok(i32::from_be_bytes(self.array(field)?))
    }

    fn lsn(&mut self, field: &'static str) -> Result<Lsn, DecodeError> {
        Ok(Lsn(u64::from_be_bytes(self.array(field)?)))
    }

    /// A `TimestampTz` (microseconds since 2000-01-01) as Unix-epoch microseconds.
    fn timestamp(&mut self, field: &'static str) -> Result<i64, DecodeError> {
        let start = self.pos;
        let value = i64::from_be_bytes(self.array(field)?);
        value.checked_add(PG_EPOCH_OFFSET_US).ok_or(DecodeError {
            message: self.message,
            offset: start,
            kind: DecodeErrorKind::TimestampOutOfRange { field, value },
        })
    }

    /// An `Int32` byte count that must not be negative.
    fn length(&mut self, field: &'static str) -> Result<usize, DecodeError> {
        let start = self.pos;
        let length = self.i32(field)?;
        usize::try_from(length).map_err(|_| DecodeError {
            message: self.message,
            offset: start,
            kind: DecodeErrorKind::NegativeLength { field, length },
        })
    }

    /// The next `len` bytes as a zero-copy slice of the message.
    fn take(&mut self, len: usize, field: &'static str) -> Result<Bytes, DecodeError> {
        if len > self.remaining() {
            return Err(self.err(DecodeErrorKind::Truncated {
                field,
                needed: len,
                available: self.remaining(),
            }));
        }
        let out = self.data.slice(self.pos..self.pos + len);
        self.pos += len;
        Ok(out)
    }

    /// A NUL-terminated UTF-8 string. The server converts identifiers to the client encoding,
    /// which the replication connection sets to UTF-8.
    fn string(&mut self, field: &'static str) -> Result<String, DecodeError> {
        let rest = self.data.get(self.pos..).unwrap_or_default();
        let len = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| self.err(DecodeErrorKind::UnterminatedString { field }))?;
        let s = std::str::from_utf8(&rest[..len])
            .map_err(|_| self.err(DecodeErrorKind::InvalidUtf8 { field }))?;
        let s = s.to_owned();
        self.pos += len + 1;
        Ok(s)
    }

    fn expect_byte(
        &mut self,
        field: &'static str,
        want: u8,
        expected: &'static str,
    ) -> Result<(), DecodeError> {
        let found = self.peek_u8(field)?;
        if found != want {
            return Err(self.err(DecodeErrorKind::UnexpectedByte {
                field,
                found,
                expected,
            }));
        }
        self.pos += 1;
        Ok(())
    }

    fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(self.err(DecodeErrorKind::TrailingBytes { count })),
        }
    }

    fn relation(&mut self) -> Result<Relation, DecodeError> {
        let relation_oid = self.u32("relation OID")?;
        let namespace = self.string("namespace")?;
        let name = self.string("relation name")?;
        let replica_identity = self.peek_u8("replica identity")?;
        if !matches!(replica_identity, b'd' | b'n' | b'f' | b'i') {
            return Err(self.err(DecodeErrorKind::UnexpectedByte {
                field: "replica identity",
                found: replica_identity,
                expected: "one of 'd', 'n', 'f', 'i'",
            }));
        }
        self.pos += 1;
        let ncols = self.u16("column count")?;
        // Each column takes at least 10 bytes; capping the reservation keeps a corrupt count
        // from allocating megabytes before the truncation is noticed.
        let mut columns = Vec::with_capacity(usize::from(ncols).min(self.remaining() / 10));
        for _ in 0..ncols {
            let flags = self.u8("column flags")?;
            columns.push(RelationColumn {
                is_key: flags & 1 != 0,
                name: self.string("column name")?,
                type_oid: self.u32("column type OID")?,
                type_modifier: self.i32("column type modifier")?,
            });
        }
        Ok(Relation {
            relation_oid,
            namespace,
            name,
            replica_identity,
            columns,
        })
    }

    fn old_tuple(&mut self) -> Result<OldTuple, DecodeError> {
        match self.peek_u8("old tuple marker")? {
            b'K' => {
                self.pos += 1;
                Ok(OldTuple::Key(self.tuple()?))
            }
            b'O' => {
                self.pos += 1;
                Ok(OldTuple::Full(self.tuple()?))
            }
            found => Err(self.err(DecodeErrorKind::UnexpectedByte {
                field: "old tuple marker",
                found,
                expected: "'K' or 'O'",
            })),
        }
    }

    fn tuple(&mut self) -> Result<TupleData, DecodeError> {
        let ncols = self.u16("tuple column count")?;
        // Each value takes at least one byte; see `relation` for why the reservation is capped.
        let mut values = Vec::with_capacity(usize::from(ncols).min(self.remaining()));
        for _ in 0..ncols {
            let value = match self.u8("tuple value kind")? {
                b'n' => TupleValue::Null,
                b'u' => TupleValue::UnchangedToast,
                b't' => {
                    let len = self.length("text value length")?;
                    TupleValue::Text(self.take(len, "text value")?)
                }
                b'b' => {
                    let len = self.length("binary value length")?;
                    TupleValue::Binary(self.take(len, "binary value")?)
                }
                found => {
                    self.pos -= 1;
                    return Err(self.err(DecodeErrorKind::UnexpectedByte {
                        field: "tuple value kind",
                        found,
                        expected: "one of 'n', 'u', 't', 'b'",
                    }));
                }
            };
            values.push(value);
        }
        Ok(TupleData(values))
    }

    fn truncate(&mut self) -> Result<PgOutputMessage, DecodeError> {
        let count = self.u32("relation count")?;
        let options = self.u8("options")?;
        let count = usize::try_from(count).unwrap_or(usize::MAX);
        let mut relation_oids = Vec::with_capacity(count.min(self.remaining() / 4));
        for _ in 0..count {
            relation_oids.push(self.u32("relation OID")?);
        }
        Ok(PgOutputMessage::Truncate {
            cascade: options & 1 != 0,
            restart_identity: options & 2 != 0,
            relation_oids,
        })
    }
}

#[cfg(test)]
mod tests;
