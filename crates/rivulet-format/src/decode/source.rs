//! The envelope's `source` block back to [`SourceMeta`], and the table a record belongs to.
//!
//! Every field is optional and read leniently (a missing or odd field leaves its default):
//! records come from Rivulet, from Debezium 3.x, from older Debezium versions (`snapshot` as a
//! boolean) and from other connectors (MySQL has `db` + `table`, no `schema`).

use rivulet_core::{Lsn, SnapshotMarker, SourceMeta};

use super::json::Json;

/// The source fields of `source` (an envelope's `source` object, if any).
pub fn source_meta(source: Option<&Json<'_>>) -> SourceMeta {
    let mut meta = SourceMeta::default();
    let Some(source) = source else { return meta };
    if let Some(lsn) = source.get("lsn").and_then(lsn_of) {
        meta.lsn = lsn;
    }
    meta.txid = source
        .get("txId")
        .and_then(Json::as_u64)
        .and_then(|v| u32::try_from(v).ok());
    meta.commit_time_us = commit_time_us(source);
    meta.snapshot = source
        .get("snapshot")
        .map_or(SnapshotMarker::False, snapshot_marker);
    meta.last_commit_lsn = source.get("sequence").and_then(last_commit_lsn);
    meta.origin = source.get("origin").and_then(Json::as_str).map(str::to_string);
    meta.origin_lsn = source.get("origin_lsn").and_then(lsn_of);
    meta
}

/// True if the record's transaction is known (`source.txId` present): a logical message with a
/// transaction id was emitted transactionally.
pub fn has_txid(source: Option<&Json<'_>>) -> bool {
    source.and_then(|s| s.get_present("txId")).is_some()
}

/// The record's table: `source.schema` and `source.table`, each falling back to the topic's last
/// two dot-separated parts (`<prefix>.<schema>.<table>`; the topic is sanitised, so the fallback
/// can differ from the real name).
pub fn table_name<'s>(source: Option<&'s Json<'_>>, topic: &'s str) -> (&'s str, &'s str) {
    let field = |key: &str| {
        source
            .and_then(|s| s.get(key))
            .and_then(Json::as_str)
            .filter(|v| !v.is_empty())
    };
    let mut parts = topic.rsplitn(3, '.');
    let topic_table = parts.next().unwrap_or("");
    let topic_schema = parts.next().unwrap_or("");
    (
        field("schema").unwrap_or(topic_schema),
        field("table").unwrap_or(topic_table),
    )
}

/// `ts_us`, else `ts_ns / 1000`, else `ts_ms × 1000`.
fn commit_time_us(source: &Json<'_>) -> i64 {
    if let Some(us) = source.get("ts_us").and_then(Json::as_i64) {
        return us;
    }
    if let Some(ns) = source.get("ts_ns").and_then(Json::as_i64) {
        return ns.div_euclid(1000);
    }
    source
        .get("ts_ms")
        .and_then(Json::as_i64)
        .map_or(0, |ms| ms.saturating_mul(1000))
}

fn snapshot_marker(json: &Json<'_>) -> SnapshotMarker {
    match json {
        Json::Str(s) => match s.as_ref() {
            "first" => SnapshotMarker::First,
            "last" => SnapshotMarker::Last,
            "first_in_data_collection" => SnapshotMarker::FirstInDataCollection,
            "last_in_data_collection" => SnapshotMarker::LastInDataCollection,
            // An incremental snapshot's rows are snapshot reads without a place in the
            // initial snapshot's order.
            "true" | "incremental" => SnapshotMarker::True,
            _ => SnapshotMarker::False,
        },
        // Debezium before 1.4 wrote a boolean.
        Json::Bool(true) => SnapshotMarker::True,
        _ => SnapshotMarker::False,
    }
}

/// The first element of `source.sequence`, a string holding a JSON array of two decimal LSNs
/// (`"[\"22287400\",\"22287600\"]"`, the first `null` when unknown).
fn last_commit_lsn(sequence: &Json<'_>) -> Option<Lsn> {
    let text = sequence.as_str()?;
    let parsed: Json<'_> = serde_json::from_str(text).ok()?;
    match parsed {
        Json::Array(items) => items.first().and_then(lsn_of),
        _ => None,
    }
}

/// An LSN as Debezium writes it (a number, or a decimal string in `sequence`), or PostgreSQL's
/// `16/B374D848` form.
fn lsn_of(json: &Json<'_>) -> Option<Lsn> {
    match json {
        Json::Int(_) | Json::UInt(_) => json.as_u64().map(Lsn),
        Json::Str(s) => s.parse::<u64>().ok().map(Lsn).or_else(|| s.parse::<Lsn>().ok()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Json<'_> {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn reads_rivulets_and_debeziums_source() {
        let source = parse(
            r#"{"version":"0.1.0","connector":"postgresql","name":"dbz","ts_ms":1795306542849,
               "snapshot":"last_in_data_collection","db":"postgres","sequence":"[\"22287400\",\"22287600\"]",
               "ts_us":1795306542849178,"ts_ns":1795306542849178000,"schema":"shop","table":"orders",
               "txId":735,"lsn":22287600,"xmin":null,"origin":"upstream","origin_lsn":42}"#,
        );
        let meta = source_meta(Some(&source));
        assert_eq!(meta.lsn, Lsn(22_287_600));
        assert_eq!(meta.last_commit_lsn, Some(Lsn(22_287_400)));
        assert_eq!(meta.txid, Some(735));
        assert_eq!(meta.commit_time_us, 1_795_306_542_849_178);
        assert_eq!(meta.snapshot, SnapshotMarker::LastInDataCollection);
        assert_eq!(meta.origin.as_deref(), Some("upstream"));
        assert_eq!(meta.origin_lsn, Some(Lsn(42)));
        assert!(meta.original.is_none());
        assert_eq!(table_name(Some(&source), "x.y.z"), ("shop", "orders"));
    }

    #[test]
    fn tolerates_missing_and_odd_fields() {
        let source = parse(
            r#"{"ts_ms":1000,"snapshot":true,"sequence":"[null,\"5\"]","txId":99999999999,"lsn":"0/10","origin":7}"#,
        );
        let meta = source_meta(Some(&source));
        assert_eq!(meta.commit_time_us, 1_000_000);
        assert_eq!(meta.snapshot, SnapshotMarker::True);
        assert_eq!(meta.last_commit_lsn, None);
        assert_eq!(meta.txid, None);
        assert_eq!(meta.lsn, Lsn(16));
        assert_eq!(meta.origin, None);
        for odd in [r#"{"sequence":"not json","lsn":-1,"ts_ms":"soon"}"#, "[]", "7"] {
            let meta = source_meta(Some(&parse(odd)));
            assert_eq!(meta, SourceMeta::default(), "{odd}");
        }
        assert_eq!(source_meta(None), SourceMeta::default());
        // MySQL: db + table, no schema; the topic supplies the schema part.
        let mysql = parse(r#"{"db":"inventory","table":"customers"}"#);
        assert_eq!(
            table_name(Some(&mysql), "mysql-server-1.inventory.customers"),
            ("inventory", "customers")
        );
        assert_eq!(table_name(None, "a.b"), ("a", "b"));
        assert_eq!(table_name(None, "orders"), ("", "orders"));
        assert_eq!(
            table_name(Some(&parse(r#"{"schema":"","table":""}"#)), "p.s.t"),
            ("s", "t")
        );
    }
}
