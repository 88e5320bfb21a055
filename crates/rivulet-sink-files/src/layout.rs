//! Where each row goes: the object path of a file, from its kind, table, partition and range.
//!
//! ```text
//!  <prefix>/full/<schema.table>/<partition>/full_<schema.table>_<YYYYMMDD_HHMMSS>_<seq>.<ext>      snapshot rows
//!  <prefix>/inc/<schema.table>/<partition>/cdc_<schema.table>_<YYYYMMDD_HHMMSS>_<lsn>-<lsn>_<seq>.<ext>  changes
//!  <prefix>/inc/_watermark.json     the last position whose files are all uploaded
//!  <prefix>/inc/_inflight.json      files uploaded since that watermark (removed on restart)
//! ```
//!
//! The time in a name is the commit time of the file's first row; `<seq>` is the sink's file
//! counter, which the watermark records, so a replay after a crash gives the same names.

use object_store::path::{Path, PathPart};
use rivulet_core::{Lsn, Numeric, Row, TableSchema, Value};

/// Snapshot rows or streamed changes.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Full,
    Inc,
}

impl Kind {
    fn dir(self) -> &'static str {
        match self {
            Kind::Full => "full",
            Kind::Inc => "inc",
        }
    }
}

/// What a `{…}` in the partition template stands for.
#[derive(Clone, Debug, PartialEq)]
enum Part {
    Literal(String),
    Year,
    Month,
    Day,
    Hour,
    Column(String),
}

/// The `partition` setting, parsed: literal text and placeholders, `/` separating directories.
#[derive(Clone, Debug, PartialEq)]
pub struct PartitionTemplate {
    parts: Vec<Part>,
}

const HIVE_NULL: &str = "__HIVE_DEFAULT_PARTITION__";

impl PartitionTemplate {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find('{') {
            if start > 0 {
                parts.push(Part::Literal(rest[..start].to_string()));
            }
            let Some(len) = rest[start..].find('}') else {
                return Err(format!("`partition`: unclosed `{{` in \"{text}\""));
            };
            let token = &rest[start + 1..start + len];
            parts.push(match token {
                "yyyy" => Part::Year,
                "mm" => Part::Month,
                "dd" => Part::Day,
                "hh" => Part::Hour,
                t if t.starts_with("column:") && t.len() > "column:".len() => {
                    Part::Column(t["column:".len()..].to_string())
                }
                _ => {
                    return Err(format!(
                        "`partition`: unknown placeholder {{{token}}} in \"{text}\"; use {{yyyy}}, {{mm}}, {{dd}}, {{hh}} \
                         (commit time, UTC) or {{column:NAME}}"
                    ));
                }
            });
            rest = &rest[start + len + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_string()));
        }
        if text.starts_with('/') || text.ends_with('/') || text.contains("//") {
            return Err(format!("`partition`: \"{text}\" has an empty directory name"));
        }
        Ok(PartitionTemplate { parts })
    }

    /// Checks that the columns the template names exist in `table`.
    pub fn check_table(&self, table: &TableSchema) -> Result<(), String> {
        for p in &self.parts {
            if let Part::Column(c) = p
                && table.column_index(c).is_none()
            {
                return Err(format!(
                    "the partition column `{c}` is not a column of table {}; change `partition`",
                    table.id
                ));
            }
        }
        Ok(())
    }

    /// The partition directories of a row (`date=20240101`, `region=EU/…`).
    pub fn render(&self, table: &TableSchema, row: &Row, commit_time_us: i64) -> Result<String, String> {
        let (y, m, d) = civil(commit_time_us.div_euclid(86_400_000_000));
        let hour = commit_time_us.rem_euclid(86_400_000_000) / 3_600_000_000;
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Literal(s) => out.push_str(s),
                Part::Year => out.push_str(&format!("{y:04}")),
                Part::Month => out.push_str(&format!("{m:02}")),
                Part::Day => out.push_str(&format!("{d:02}")),
                Part::Hour => out.push_str(&format!("{hour:02}")),
                Part::Column(c) => {
                    let idx = table.column_index(c).ok_or_else(|| {
                        format!("the partition column `{c}` is not a column of table {}", table.id)
                    })?;
                    out.push_str(&partition_value(row.get(idx).unwrap_or(&Value::Null), c)?);
                }
            }
        }
        Ok(out)
    }
}

/// A column value as a Hive partition value: its text, with characters that would change
/// the path escaped as `%XX` (as Hive does).
fn partition_value(value: &Value, column: &str) -> Result<String, String> {
    let text = match value {
        Value::Null | Value::Unchanged => return Ok(HIVE_NULL.into()),
        Value::Text(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Int16(n) => n.to_string(),
        Value::Int32(n) => n.to_string(),
        Value::Int64(n) => n.to_string(),
        Value::Numeric(Numeric::Finite(s)) => s.clone(),
        Value::Date(days) => {
            let (y, m, d) = civil(i64::from(*days));
            format!("{y:04}-{m:02}-{d:02}")
        }
        _ => {
            return Err(format!(
                "the partition column `{column}` must be text, an integer, a boolean, a numeric or a date"
            ));
        }
    };
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control()
            || matches!(
                c,
                '/' | '\\' | '=' | ':' | '%' | '#' | '?' | '*' | '"' | '\'' | '[' | ']' | '{' | '}' | '^'
            )
        {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
pub fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `YYYYMMDD_HHMMSS` of a time in microseconds since the epoch (UTC).
fn stamp(micros: i64) -> String {
    let (y, m, d) = civil(micros.div_euclid(86_400_000_000));
    let secs = micros.rem_euclid(86_400_000_000) / 1_000_000;
    format!(
        "{y:04}{m:02}{d:02}_{:02}{:02}{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// The table's name in paths: `schema.table`.
pub fn table_dir(table: &TableSchema) -> String {
    format!("{}.{}", table.id.schema, table.id.name)
}

/// What a finished file holds, enough to name it.
pub struct FileSpan<'a> {
    pub kind: Kind,
    pub table: &'a TableSchema,
    pub partition: &'a str,
    pub first_commit_us: i64,
    pub first_lsn: Lsn,
    pub last_lsn: Lsn,
    pub seq: u64,
    pub extension: &'static str,
}

/// The object path of a data file.
pub fn data_path(prefix: &Path, span: &FileSpan<'_>) -> Path {
    let table = table_dir(span.table);
    let name = match span.kind {
        Kind::Full => format!(
            "full_{table}_{}_{}.{}",
            stamp(span.first_commit_us),
            span.seq,
            span.extension
        ),
        Kind::Inc => format!(
            "cdc_{table}_{}_{:016X}-{:016X}_{}.{}",
            stamp(span.first_commit_us),
            span.first_lsn.0,
            span.last_lsn.0,
            span.seq,
            span.extension
        ),
    };
    let mut parts: Vec<PathPart<'_>> = prefix.parts().collect();
    parts.push(PathPart::from(span.kind.dir().to_string()));
    parts.push(PathPart::from(table));
    parts.extend(
        span.partition
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| PathPart::from(s.to_string())),
    );
    parts.push(PathPart::from(name));
    Path::from_iter(parts)
}

/// The watermark object.
pub fn watermark_path(prefix: &Path) -> Path {
    prefix.clone().join("inc").join("_watermark.json")
}

/// The list of files uploaded since the watermark.
pub fn inflight_path(prefix: &Path) -> Path {
    prefix.clone().join("inc").join("_inflight.json")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rivulet_core::{Column, PgType, ReplicaIdentity, TableId};

    use super::*;

    fn table() -> Arc<TableSchema> {
        Arc::new(TableSchema {
            id: TableId::new("db_loja", "cliente"),
            relation_oid: 1,
            columns: vec![Column {
                name: "uf".into(),
                type_oid: 25,
                type_modifier: -1,
                pg_type: PgType::Text,
                nullable: true,
                default: None,
                missing: None,
            }],
            primary_key: vec![],
            replica_identity: ReplicaIdentity::Default,
        })
    }

    // 2024-03-05 14:07:09 UTC
    const T: i64 = 1_709_647_629_000_000;

    #[test]
    fn partitions_render_from_commit_time_or_a_column() {
        let t = table();
        let row = vec![Value::Text("S/P".into())];
        let p = PartitionTemplate::parse("date={yyyy}{mm}{dd}").unwrap();
        assert_eq!(p.render(&t, &row, T).unwrap(), "date=20240305");
        let p = PartitionTemplate::parse("year={yyyy}/month={mm}/day={dd}").unwrap();
        assert_eq!(p.render(&t, &row, T).unwrap(), "year=2024/month=03/day=05");
        let p = PartitionTemplate::parse("uf={column:uf}").unwrap();
        assert_eq!(p.render(&t, &row, T).unwrap(), "uf=S%2FP");
        assert_eq!(
            p.render(&t, &vec![Value::Null], T).unwrap(),
            "uf=__HIVE_DEFAULT_PARTITION__"
        );
        assert!(PartitionTemplate::parse("x={nope}").is_err());
        let p = PartitionTemplate::parse("c={column:missing}").unwrap();
        assert!(p.check_table(&t).is_err());
    }

    #[test]
    fn file_names_follow_the_layout() {
        let t = table();
        let prefix = Path::from("RAW");
        let span = FileSpan {
            kind: Kind::Full,
            table: &t,
            partition: "date=20240305",
            first_commit_us: T,
            first_lsn: Lsn(0x16B_3748),
            last_lsn: Lsn(0x16B_3748),
            seq: 3,
            extension: "csv",
        };
        assert_eq!(
            data_path(&prefix, &span).as_ref(),
            "RAW/full/db_loja.cliente/date=20240305/full_db_loja.cliente_20240305_140709_3.csv"
        );
        let span = FileSpan {
            kind: Kind::Inc,
            last_lsn: Lsn(0x16B_3800),
            ..span
        };
        assert_eq!(
            data_path(&prefix, &span).as_ref(),
            "RAW/inc/db_loja.cliente/date=20240305/cdc_db_loja.cliente_20240305_140709_00000000016B3748-00000000016B3800_3.csv"
        );
        assert_eq!(watermark_path(&prefix).as_ref(), "RAW/inc/_watermark.json");
    }
}
