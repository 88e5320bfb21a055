//! No input makes `decode` or `parse_text` panic: a deterministic, dependency-free fuzz run for
//! CI. Real captured messages and valid value texts are mutated (bit flips, truncation, length
//! fields set to extremes, spliced bytes) and random bytes are thrown in; every result must be an
//! `Ok` of the right shape or an `Err`. The cargo-fuzz targets in `/fuzz` do the same, open-ended.

// Test helpers outside #[test] functions panic on purpose too.
#![allow(clippy::unwrap_used)]

mod fixture;

use bytes::Bytes;
use rivulet_core::{PgType, Value};
use rivulet_pgoutput::{PgOutputMessage, TupleValue, decode, parse_text};

/// xorshift64: enough randomness for mutation, reproducible from the seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const INTERESTING_I32: &[i32] = &[0, 1, -1, 2, 4, 255, 0x7fff, 0xffff, i32::MAX, i32::MIN, 100_000];
const INTERESTING_BYTES: &[u8] = &[
    0, 0xff, 0x7f, 0x80, b'n', b't', b'u', b'b', b'K', b'O', b'N', b'd', b'f',
];

fn mutate_binary(rng: &mut Rng, base: &[u8]) -> Vec<u8> {
    let mut v = base.to_vec();
    for _ in 0..=rng.below(4) {
        let len = v.len();
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                v[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                v[i] = *rng.pick(INTERESTING_BYTES);
            }
            2 => v.truncate(rng.below(len + 1)),
            3 => {
                let at = rng.below(len + 1);
                let n = rng.below(16);
                let junk: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                v.splice(at..at, junk);
            }
            4 if len > 0 => {
                let at = rng.below(len);
                let end = (at + rng.below(16)).min(len);
                v.drain(at..end);
            }
            5 if len >= 4 => {
                let at = rng.below(len - 3);
                v[at..at + 4].copy_from_slice(&rng.pick(INTERESTING_I32).to_be_bytes());
            }
            6 if len >= 2 => {
                let at = rng.below(len - 1);
                v[at..at + 2].copy_from_slice(&(*rng.pick(INTERESTING_I32) as u16).to_be_bytes());
            }
            _ if len > 0 => {
                let from = rng.below(len);
                let end = (from + rng.below(32)).min(len);
                let chunk = v[from..end].to_vec();
                let at = rng.below(len + 1);
                v.splice(at..at, chunk);
            }
            _ => v.push(rng.next() as u8),
        }
    }
    v
}

/// Every PgType worth distinguishing, including arrays and the `;`-delimited box array.
fn all_types() -> Vec<PgType> {
    let scalars = vec![
        PgType::Bool,
        PgType::Int2,
        PgType::Int4,
        PgType::Int8,
        PgType::Oid,
        PgType::Float4,
        PgType::Float8,
        PgType::Numeric {
            precision: None,
            scale: None,
        },
        PgType::Money,
        PgType::Text,
        PgType::Char { length: Some(3) },
        PgType::Varchar { length: None },
        PgType::Bytea,
        PgType::Date,
        PgType::Time { precision: None },
        PgType::TimeTz { precision: None },
        PgType::Timestamp { precision: None },
        PgType::TimestampTz { precision: Some(3) },
        PgType::Interval,
        PgType::Uuid,
        PgType::Json,
        PgType::Jsonb,
        PgType::Xml,
        PgType::Inet,
        PgType::Cidr,
        PgType::MacAddr,
        PgType::MacAddr8,
        PgType::Bit { length: Some(4) },
        PgType::VarBit { length: None },
        PgType::Enum { name: "mood".into() },
        PgType::Other { name: "xid8".into() },
        PgType::Geometric(rivulet_core::GeometricKind::Box),
        PgType::Point,
        PgType::Hstore,
    ];
    let mut all = scalars.clone();
    all.extend(scalars.into_iter().map(|t| PgType::Array(Box::new(t))));
    all.push(PgType::Array(Box::new(PgType::Array(Box::new(PgType::Int4)))));
    all
}

/// Whether a parsed value has the variant its type promises.
fn shape_ok(ty: &PgType, v: &Value) -> bool {
    match (ty, v) {
        (_, Value::Null) => false,
        (PgType::Bool, Value::Bool(_))
        | (PgType::Int2, Value::Int16(_))
        | (PgType::Int4, Value::Int32(_))
        | (PgType::Int8 | PgType::Oid, Value::Int64(_))
        | (PgType::Float4, Value::Float32(_))
        | (PgType::Float8, Value::Float64(_))
        | (PgType::Numeric { .. } | PgType::Money, Value::Numeric(_))
        | (PgType::Bytea, Value::Bytes(_))
        | (PgType::Date, Value::Date(_))
        | (PgType::Time { .. }, Value::Time(_))
        | (PgType::TimeTz { .. }, Value::TimeTz { .. })
        | (PgType::Timestamp { .. }, Value::Timestamp(_))
        | (PgType::TimestampTz { .. }, Value::TimestampTz(_))
        | (PgType::Interval, Value::Interval { .. }) => true,
        (PgType::Array(elem), Value::Array(items)) => items.iter().all(|i| match i {
            Value::Null => true,
            Value::Array(_) if !matches!(**elem, PgType::Array(_)) => shape_ok(ty, i),
            other => shape_ok(elem, other),
        }),
        (t, Value::Text(_)) => t.is_textual(),
        _ => false,
    }
}

/// Valid texts of many formats; mutations of them probe the parsers' edges.
const SAMPLES: &[&str] = &[
    "t",
    "-32768",
    "9223372036854775807",
    "1.5e-300",
    "-Infinity",
    "NaN",
    "-123456789.125",
    "0.0000000000",
    "-$1,234.50",
    "$92,233,720,368,547,758.07",
    "\\x00ff10",
    "abc\\000\\\\",
    "2024-02-29",
    "4714-11-24 BC",
    "5874897-12-31",
    "infinity",
    "24:00:00",
    "13:45:10.5+02",
    "12:00:00-05:30:15",
    "2024-06-30 23:59:59.123456",
    "294247-01-10 04:00:54.775806",
    "0044-03-15 12:00:00+00:19:32 BC",
    "1 year 2 mons 3 days 04:05:06",
    "-178956970 years -8 mons -2147483648 days -2562047788:00:54.775808",
    "-1 days +02:03:00",
    "-00:00:01.5",
    "{}",
    "{1,2,NULL}",
    "{{1,2},{3,4}}",
    "[0:1]={7,8}",
    "[-3:-2][1:2]={{1,2},{3,NULL}}",
    r#"{"",NULL,"NULL","a,b","q\"u","b\\s",x\,y}"#,
    "{(1,1),(0,0);(2,2),(1,1)}",
    r#"{"2024-06-30 23:59:59+00","-1 days +02:03:00"}"#,
    "{{{{{{1}}}}}}",
    "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
    "héllo wörld",
];

const ALPHABET: &[u8] = b"0123456789-+:.,; {}[]=\"\\$xBCNULinfyaemoysd\t\n\xc3\xa9\xff";

fn mutate_text(rng: &mut Rng, base: &[u8]) -> Vec<u8> {
    let mut v = base.to_vec();
    for _ in 0..=rng.below(3) {
        let len = v.len();
        match rng.below(6) {
            0 if len > 0 => {
                let i = rng.below(len);
                v[i] = *rng.pick(ALPHABET);
            }
            1 => {
                let at = rng.below(len + 1);
                v.insert(at, *rng.pick(ALPHABET));
            }
            2 if len > 0 => {
                v.remove(rng.below(len));
            }
            3 => v.truncate(rng.below(len + 1)),
            4 => {
                // Replacing a field's digits with a run of a boundary length reaches for overflow
                // in every numeric field.
                let starts: Vec<usize> = (0..len)
                    .filter(|&i| v[i].is_ascii_digit() && (i == 0 || !v[i - 1].is_ascii_digit()))
                    .collect();
                let start = if starts.is_empty() {
                    rng.below(len + 1)
                } else {
                    *rng.pick(&starts)
                };
                let mut end = start;
                while end < len && v[end].is_ascii_digit() {
                    end += 1;
                }
                let run_len = *rng.pick(&[1, 2, 3, 5, 9, 10, 11, 17, 18, 19, 20, 40]);
                let digit = *rng.pick(b"0189");
                v.splice(start..end, std::iter::repeat_n(digit, run_len));
            }
            _ if len > 0 => {
                let from = rng.below(len);
                let end = (from + 1 + rng.below(12)).min(len);
                let chunk = v[from..end].to_vec();
                let at = rng.below(len + 1);
                v.splice(at..at, chunk);
            }
            _ => v.push(*rng.pick(ALPHABET)),
        }
    }
    v
}

fn check_parse(ty: &PgType, text: &[u8]) {
    if let Ok(v) = parse_text(ty, text) {
        assert!(
            shape_ok(ty, &v),
            "{ty:?} {:?} -> {v:?}",
            String::from_utf8_lossy(text)
        );
    }
}

#[test]
fn decode_never_panics_on_mutated_real_messages() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let messages = fixture::fixture_messages();
    let types = all_types();
    let (mut ok, mut err) = (0, 0);
    for base in &messages {
        assert!(decode(base.clone()).is_ok());
        for _ in 0..1500 {
            let data = mutate_binary(&mut rng, base);
            match decode(Bytes::from(data)) {
                Ok(msg) => {
                    ok += 1;
                    let tuples = match &msg {
                        PgOutputMessage::Insert { new, .. } => vec![new],
                        PgOutputMessage::Update { old, new, .. } => old
                            .iter()
                            .map(|o| o.tuple())
                            .chain(std::iter::once(new))
                            .collect(),
                        PgOutputMessage::Delete { old, .. } => vec![old.tuple()],
                        _ => vec![],
                    };
                    for value in tuples.into_iter().flat_map(|t| t.iter()) {
                        if let TupleValue::Text(text) = value {
                            check_parse(rng.pick(&types), text);
                        }
                    }
                }
                Err(e) => {
                    err += 1;
                    let line = e.to_string();
                    assert!(!line.contains('\n') && line.starts_with("pgoutput "), "{line}");
                }
            }
        }
    }
    // Both outcomes must be common, or the mutations are too weak or too strong to probe anything.
    assert!(ok > 5_000 && err > 5_000, "ok {ok}, err {err}");
}

#[test]
fn decode_never_panics_on_random_bytes() {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let tags = b"BCORYIUDTMSEcAbPKrpZ\0";
    for _ in 0..100_000 {
        let len = rng.below(64);
        let mut data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if let Some(first) = data.first_mut() {
            *first = *rng.pick(tags);
        }
        let _ = decode(Bytes::from(data));
    }
}

#[test]
fn parse_text_never_panics_for_any_type() {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    for ty in all_types() {
        for sample in SAMPLES {
            check_parse(&ty, sample.as_bytes());
            for _ in 0..150 {
                check_parse(&ty, &mutate_text(&mut rng, sample.as_bytes()));
            }
        }
        for _ in 0..300 {
            let len = rng.below(40);
            let data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            check_parse(&ty, &data);
        }
    }
}

#[test]
fn valid_samples_parse_for_their_types() {
    // A guard that the samples above are what they claim, so mutating them probes real edges.
    let ok = |ty: PgType, s: &str| assert!(parse_text(&ty, s.as_bytes()).is_ok(), "{ty:?} {s}");
    ok(PgType::Interval, SAMPLES[23]);
    ok(PgType::TimestampTz { precision: None }, SAMPLES[21]);
    ok(PgType::Array(Box::new(PgType::Text)), SAMPLES[31]);
    ok(PgType::Array(Box::new(PgType::Int4)), SAMPLES[34]);
    ok(PgType::Timestamp { precision: None }, SAMPLES[20]);
}
