//! Rows of `COPY … TO STDOUT` in text format: one line per row, columns separated by tabs,
//! `\N` for NULL, and backslash escapes for the few bytes that would break the framing. After
//! unescaping, each field is exactly the type's text output, which `parse_text` already reads
//! for the replication stream.

use std::borrow::Cow;

use rivulet_core::{Row, TableSchema, Value};
use rivulet_pgoutput::parse_text;

/// Why a line could not be read as a row of the table.
#[derive(Debug, PartialEq, Eq)]
pub struct CopyRowError(pub String);

/// A value whose text did not parse as its column type: the caller keeps the text and warns.
pub struct Unparsed {
    pub column: usize,
    pub error: String,
}

/// Parses one COPY line (with or without its trailing newline) into a row of `table`.
pub fn parse_row(
    line: &[u8],
    table: &TableSchema,
    unparsed: &mut Vec<Unparsed>,
) -> Result<Row, CopyRowError> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let mut row = Vec::with_capacity(table.columns.len());
    // One pass over the line finds both separators and escapes; most fields have no escape
    // and are parsed straight from the line.
    let mut start = 0;
    let mut escaped = false;
    let mut columns = table.columns.iter().enumerate();
    let mut finish_field =
        |start: usize, end: usize, escaped: bool, row: &mut Row| -> Result<(), CopyRowError> {
            let Some((i, column)) = columns.next() else {
                return Err(CopyRowError(format!(
                    "a row has more values than the {} columns of {}",
                    table.columns.len(),
                    table.id
                )));
            };
            let field = &line[start..end];
            if field == b"\\N" {
                row.push(Value::Null);
                return Ok(());
            }
            let text = if escaped {
                unescape(field).map_err(|e| CopyRowError(format!("column {}: {e}", column.name)))?
            } else {
                Cow::Borrowed(field)
            };
            row.push(match parse_text(&column.pg_type, &text) {
                Ok(v) => v,
                Err(e) => {
                    unparsed.push(Unparsed {
                        column: i,
                        error: e.to_string(),
                    });
                    Value::Text(String::from_utf8_lossy(&text).into_owned())
                }
            });
            Ok(())
        };
    for pos in memchr::memchr2_iter(b'\t', b'\\', line) {
        if line[pos] == b'\\' {
            escaped = true;
            continue;
        }
        finish_field(start, pos, escaped, &mut row)?;
        start = pos + 1;
        escaped = false;
    }
    finish_field(start, line.len(), escaped, &mut row)?;
    if row.len() < table.columns.len() {
        return Err(CopyRowError(format!(
            "a row has {} values, but {} has {} columns",
            row.len(),
            table.id,
            table.columns.len()
        )));
    }
    Ok(row)
}

/// Undoes COPY's text escaping: `\b \f \n \r \t \v \\`, octal `\NNN` and hex `\xHH`; any other
/// escaped character stands for itself. Borrowed when there is nothing to undo (the common case).
pub fn unescape(field: &[u8]) -> Result<Cow<'_, [u8]>, String> {
    if !field.contains(&b'\\') {
        return Ok(Cow::Borrowed(field));
    }
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        let b = field[i];
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        let Some(&e) = field.get(i + 1) else {
            return Err("a lone backslash at the end of a field".into());
        };
        i += 2;
        match e {
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(0x0b),
            b'0'..=b'7' => {
                let mut v = u32::from(e - b'0');
                for _ in 0..2 {
                    match field.get(i) {
                        Some(d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push((v & 0xff) as u8);
            }
            b'x' => {
                let mut v = 0u32;
                let mut digits = 0;
                while digits < 2 {
                    match field.get(i).and_then(|d| (*d as char).to_digit(16)) {
                        Some(d) => {
                            v = v * 16 + d;
                            i += 1;
                            digits += 1;
                        }
                        None => break,
                    }
                }
                if digits == 0 {
                    out.push(b'x');
                } else {
                    out.push(v as u8);
                }
            }
            other => out.push(other),
        }
    }
    Ok(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rivulet_core::{Column, PgType, ReplicaIdentity, TableId};

    fn table(types: &[PgType]) -> TableSchema {
        TableSchema {
            id: TableId::new("public", "t"),
            relation_oid: 1,
            columns: types
                .iter()
                .enumerate()
                .map(|(i, t)| Column {
                    name: format!("c{i}"),
                    type_oid: 0,
                    type_modifier: -1,
                    pg_type: t.clone(),
                    nullable: true,
                    default: None,
                    missing: None,
                })
                .collect(),
            primary_key: vec![0],
            replica_identity: ReplicaIdentity::Default,
        }
    }

    #[test]
    fn parses_nulls_escapes_and_types() {
        let t = table(&[PgType::Int4, PgType::Text, PgType::Text, PgType::Bool]);
        let mut unparsed = Vec::new();
        let row = parse_row(b"42\ta\\tb\\\\c\\nd\t\\N\tt\n", &t, &mut unparsed).unwrap();
        assert_eq!(
            row,
            vec![
                Value::Int32(42),
                Value::Text("a\tb\\c\nd".into()),
                Value::Null,
                Value::Bool(true)
            ]
        );
        assert!(unparsed.is_empty());
        // A text that merely looks like NULL is not NULL.
        let row = parse_row(b"1\t\\\\N\tx\tf", &t, &mut unparsed).unwrap();
        assert_eq!(row[1], Value::Text("\\N".into()));
    }

    #[test]
    fn octal_and_hex_escapes() {
        assert_eq!(unescape(b"\\101\\x42\\7\\xz").unwrap().as_ref(), b"AB\x07xz");
        assert_eq!(unescape(b"plain").unwrap(), Cow::Borrowed(b"plain".as_slice()));
        assert!(unescape(b"end\\").is_err());
    }

    #[test]
    fn wrong_column_counts_and_unparsable_values() {
        let t = table(&[PgType::Int4, PgType::Text]);
        let mut unparsed = Vec::new();
        assert!(parse_row(b"1", &t, &mut unparsed).is_err());
        assert!(parse_row(b"1\ta\tb", &t, &mut unparsed).is_err());
        let row = parse_row(b"x\ta", &t, &mut unparsed).unwrap();
        assert_eq!(row[0], Value::Text("x".into()));
        assert_eq!(unparsed.len(), 1);
    }
}
