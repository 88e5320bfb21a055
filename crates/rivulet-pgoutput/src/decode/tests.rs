//! Decoder tests on messages built by hand from the protocol documentation.

use super::*;

/// Builds a message the way the server's `pq_send*` calls do.
#[derive(Default)]
pub(crate) struct Msg(pub(crate) Vec<u8>);

impl Msg {
    pub(crate) fn new(tag: u8) -> Self {
        Msg(vec![tag])
    }
    pub(crate) fn u8(mut self, v: u8) -> Self {
        self.0.push(v);
        self
    }
    pub(crate) fn u16(mut self, v: u16) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub(crate) fn i32(mut self, v: i32) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub(crate) fn u32(mut self, v: u32) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub(crate) fn u64(mut self, v: u64) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub(crate) fn i64(mut self, v: i64) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub(crate) fn str(mut self, s: &str) -> Self {
        self.0.extend_from_slice(s.as_bytes());
        self.0.push(0);
        self
    }
    pub(crate) fn raw(mut self, b: &[u8]) -> Self {
        self.0.extend_from_slice(b);
        self
    }
    pub(crate) fn text(self, v: &str) -> Self {
        self.u8(b't').i32(v.len() as i32).raw(v.as_bytes())
    }
    pub(crate) fn bytes(self) -> Bytes {
        Bytes::from(self.0)
    }
}

fn ok(m: Msg) -> PgOutputMessage {
    decode(m.bytes()).unwrap()
}

fn err(m: Msg) -> DecodeError {
    decode(m.bytes()).unwrap_err()
}

fn text(s: &str) -> TupleValue {
    TupleValue::Text(Bytes::copy_from_slice(s.as_bytes()))
}

#[test]
fn begin_converts_the_commit_time_to_the_unix_epoch() {
    let m = Msg::new(b'B').u64(0x16_B374_D848).i64(0).u32(735);
    assert_eq!(
        ok(m),
        PgOutputMessage::Begin {
            final_lsn: Lsn(0x16_B374_D848),
            commit_time_us: 946_684_800_000_000,
            xid: 735
        }
    );
    // 2024-06-30 21:59:59.123456 UTC.
    let m = Msg::new(b'B')
        .u64(1)
        .i64(1_719_784_799_123_456 - PG_EPOCH_OFFSET_US)
        .u32(1);
    let PgOutputMessage::Begin { commit_time_us, .. } = ok(m) else {
        panic!()
    };
    assert_eq!(commit_time_us, 1_719_784_799_123_456);
}

#[test]
fn commit() {
    let m = Msg::new(b'C').u8(0).u64(100).u64(200).i64(-PG_EPOCH_OFFSET_US);
    assert_eq!(
        ok(m),
        PgOutputMessage::Commit {
            flags: 0,
            commit_lsn: Lsn(100),
            end_lsn: Lsn(200),
            commit_time_us: 0
        }
    );
}

#[test]
fn commit_time_that_overflows_is_an_error() {
    let e = err(Msg::new(b'B').u64(1).i64(i64::MAX).u32(1));
    assert_eq!(e.offset, 9);
    assert!(
        matches!(e.kind, DecodeErrorKind::TimestampOutOfRange { .. }),
        "{e}"
    );
}

#[test]
fn origin() {
    assert_eq!(
        ok(Msg::new(b'O').u64(42).str("pg_17")),
        PgOutputMessage::Origin {
            origin_lsn: Lsn(42),
            name: "pg_17".into()
        }
    );
}

#[test]
fn relation_with_key_columns() {
    let m = Msg::new(b'R')
        .u32(16385)
        .str("public")
        .str("orders")
        .u8(b'd')
        .u16(3)
        .u8(1)
        .str("id")
        .u32(23)
        .i32(-1)
        .u8(0)
        .str("amount")
        .u32(1700)
        .i32((10 << 16 | 2) + 4)
        .u8(0)
        .str("note")
        .u32(1043)
        .i32(24);
    let PgOutputMessage::Relation(r) = ok(m) else {
        panic!()
    };
    assert_eq!(r.relation_oid, 16385);
    assert_eq!((r.namespace.as_str(), r.name.as_str()), ("public", "orders"));
    assert_eq!(r.replica_identity, b'd');
    assert_eq!(
        r.columns,
        vec![
            RelationColumn {
                is_key: true,
                name: "id".into(),
                type_oid: 23,
                type_modifier: -1
            },
            RelationColumn {
                is_key: false,
                name: "amount".into(),
                type_oid: 1700,
                type_modifier: 655_366
            },
            RelationColumn {
                is_key: false,
                name: "note".into(),
                type_oid: 1043,
                type_modifier: 24
            },
        ]
    );
}

#[test]
fn relation_in_pg_catalog_has_an_empty_namespace() {
    let m = Msg::new(b'R').u32(1).str("").str("t").u8(b'n').u16(0);
    let PgOutputMessage::Relation(r) = ok(m) else {
        panic!()
    };
    assert_eq!(r.namespace, "");
    assert!(r.columns.is_empty());
}

#[test]
fn relation_with_an_unknown_replica_identity_is_an_error() {
    let e = err(Msg::new(b'R').u32(1).str("s").str("t").u8(b'x').u16(0));
    assert_eq!(e.offset, 9);
    assert!(e.to_string().contains("replica identity"), "{e}");
}

#[test]
fn type_message() {
    assert_eq!(
        ok(Msg::new(b'Y').u32(16390).str("public").str("mood")),
        PgOutputMessage::Type {
            type_oid: 16390,
            namespace: "public".into(),
            name: "mood".into()
        }
    );
}

#[test]
fn insert_with_every_kind_of_value() {
    let m = Msg::new(b'I')
        .u32(16385)
        .u8(b'N')
        .u16(5)
        .text("42")
        .u8(b'n')
        .u8(b'u')
        .u8(b'b')
        .i32(2)
        .raw(&[0xde, 0xad])
        .text("");
    let data = m.bytes();
    let decoded = decode(data.clone()).unwrap();
    let PgOutputMessage::Insert { relation_oid, new } = &decoded else {
        panic!()
    };
    assert_eq!(*relation_oid, 16385);
    assert_eq!(
        new.0,
        vec![
            text("42"),
            TupleValue::Null,
            TupleValue::UnchangedToast,
            TupleValue::Binary(Bytes::from_static(&[0xde, 0xad])),
            text("")
        ]
    );
    // Zero-copy: the text value points into the message buffer.
    let TupleValue::Text(v) = &new.0[0] else { panic!() };
    assert_eq!(v.as_ptr(), data[13..].as_ptr());
}

#[test]
fn update_without_old_tuple() {
    let m = Msg::new(b'U').u32(7).u8(b'N').u16(1).text("x");
    assert_eq!(
        ok(m),
        PgOutputMessage::Update {
            relation_oid: 7,
            old: None,
            new: TupleData(vec![text("x")])
        }
    );
}

#[test]
fn update_with_key_and_with_full_old_tuple() {
    let m = Msg::new(b'U')
        .u32(7)
        .u8(b'K')
        .u16(2)
        .text("1")
        .u8(b'n')
        .u8(b'N')
        .u16(2)
        .text("2")
        .text("b");
    assert_eq!(
        ok(m),
        PgOutputMessage::Update {
            relation_oid: 7,
            old: Some(OldTuple::Key(TupleData(vec![text("1"), TupleValue::Null]))),
            new: TupleData(vec![text("2"), text("b")]),
        }
    );
    let m = Msg::new(b'U')
        .u32(7)
        .u8(b'O')
        .u16(1)
        .text("a")
        .u8(b'N')
        .u16(1)
        .u8(b'u');
    let PgOutputMessage::Update {
        old: Some(OldTuple::Full(old)),
        new,
        ..
    } = ok(m)
    else {
        panic!()
    };
    assert_eq!(old.0, vec![text("a")]);
    assert_eq!(new.0, vec![TupleValue::UnchangedToast]);
}

#[test]
fn delete_with_key_and_full() {
    let m = Msg::new(b'D').u32(9).u8(b'K').u16(1).text("5");
    assert_eq!(
        ok(m),
        PgOutputMessage::Delete {
            relation_oid: 9,
            old: OldTuple::Key(TupleData(vec![text("5")]))
        }
    );
    let m = Msg::new(b'D').u32(9).u8(b'O').u16(0);
    assert_eq!(
        ok(m),
        PgOutputMessage::Delete {
            relation_oid: 9,
            old: OldTuple::Full(TupleData::default())
        }
    );
    let e = err(Msg::new(b'D').u32(9).u8(b'N').u16(0));
    assert_eq!(e.offset, 5);
    assert!(e.to_string().contains("expected 'K' or 'O'"), "{e}");
}

#[test]
fn truncate_options() {
    let m = Msg::new(b'T').u32(2).u8(3).u32(10).u32(11);
    assert_eq!(
        ok(m),
        PgOutputMessage::Truncate {
            cascade: true,
            restart_identity: true,
            relation_oids: vec![10, 11]
        }
    );
    let m = Msg::new(b'T').u32(1).u8(0).u32(10);
    assert_eq!(
        ok(m),
        PgOutputMessage::Truncate {
            cascade: false,
            restart_identity: false,
            relation_oids: vec![10]
        }
    );
}

#[test]
fn logical_decoding_messages() {
    let m = Msg::new(b'M').u8(1).u64(77).str("audit").i32(3).raw(b"a\0b");
    assert_eq!(
        ok(m),
        PgOutputMessage::Message {
            transactional: true,
            lsn: Lsn(77),
            prefix: "audit".into(),
            content: Bytes::from_static(b"a\0b")
        }
    );
    let m = Msg::new(b'M').u8(0).u64(78).str("").i32(0);
    let PgOutputMessage::Message {
        transactional,
        content,
        ..
    } = ok(m)
    else {
        panic!()
    };
    assert!(!transactional);
    assert!(content.is_empty());
}

#[test]
fn streaming_messages_name_the_message_and_the_protocol_version() {
    for (tag, name) in [
        (b'S', "Stream Start"),
        (b'E', "Stream Stop"),
        (b'c', "Stream Commit"),
        (b'A', "Stream Abort"),
        (b'b', "Begin Prepare"),
        (b'P', "Prepare"),
        (b'K', "Commit Prepared"),
        (b'r', "Rollback Prepared"),
        (b'p', "Stream Prepare"),
    ] {
        let e = err(Msg::new(tag).u32(1));
        let s = e.to_string();
        assert!(s.contains(name) && s.contains("proto_version 1"), "{s}");
    }
}

#[test]
fn errors_say_what_where_and_which_message() {
    let e = err(Msg(Vec::new()));
    assert_eq!(e.kind, DecodeErrorKind::Empty);
    assert_eq!(
        e.to_string(),
        "pgoutput unknown message: empty message (at byte 0)"
    );

    let e = err(Msg::new(b'Z'));
    assert_eq!(
        e.to_string(),
        "pgoutput unknown message: unknown message type 'Z' (0x5a) (at byte 0)"
    );

    let e = err(Msg::new(b'B').u64(1).u32(0));
    assert_eq!(
        e.to_string(),
        "pgoutput Begin message: truncated commit timestamp: needs 8 bytes, 4 left (at byte 9)"
    );

    let e = err(Msg::new(b'I').u32(1).u8(b'N').u16(1).u8(b't').i32(10).raw(b"abc"));
    assert_eq!(
        e.to_string(),
        "pgoutput Insert message: truncated text value: needs 10 bytes, 3 left (at byte 13)"
    );

    let e = err(Msg::new(b'I').u32(1).u8(b'N').u16(1).u8(b't').i32(-2));
    assert_eq!(
        e.to_string(),
        "pgoutput Insert message: negative length -2 for text value length (at byte 9)"
    );

    let e = err(Msg::new(b'I').u32(1).u8(b'N').u16(1).u8(b'x'));
    assert_eq!(e.offset, 8);
    assert!(e.to_string().contains("tuple value kind 'x'"), "{e}");

    let e = err(Msg::new(b'O').u64(1).raw(b"abc"));
    assert_eq!(
        e.to_string(),
        "pgoutput Origin message: origin name is not NUL-terminated (at byte 9)"
    );

    let e = err(Msg::new(b'O').u64(1).raw(b"\xff\0"));
    assert_eq!(
        e.to_string(),
        "pgoutput Origin message: origin name is not valid UTF-8 (at byte 9)"
    );

    let e = err(Msg::new(b'C').u8(0).u64(1).u64(2).i64(3).u8(0));
    assert_eq!(
        e.to_string(),
        "pgoutput Commit message: 1 unexpected trailing bytes (protocol version mismatch?) (at byte 26)"
    );
}

#[test]
fn a_v2_style_insert_with_an_xid_is_refused_not_misread() {
    // proto_version 2 puts the xid before the relation OID in streamed transactions.
    let e = err(Msg::new(b'I').u32(999).u32(16385).u8(b'N').u16(0));
    assert!(matches!(e.kind, DecodeErrorKind::UnexpectedByte { .. }), "{e}");
}

#[test]
fn huge_counts_on_short_input_fail_without_allocating_much() {
    let e = err(Msg::new(b'T').u32(u32::MAX).u8(0).u32(1));
    assert!(matches!(e.kind, DecodeErrorKind::Truncated { .. }), "{e}");
    let e = err(Msg::new(b'I').u32(1).u8(b'N').u16(u16::MAX));
    assert!(matches!(e.kind, DecodeErrorKind::Truncated { .. }), "{e}");
    let e = err(Msg::new(b'R').u32(1).str("a").str("b").u8(b'f').u16(u16::MAX));
    assert!(matches!(e.kind, DecodeErrorKind::Truncated { .. }), "{e}");
}

#[test]
fn message_names() {
    assert_eq!(ok(Msg::new(b'T').u32(0).u8(0)).name(), "Truncate");
    assert_eq!(ok(Msg::new(b'Y').u32(1).str("").str("x")).name(), "Type");
}
