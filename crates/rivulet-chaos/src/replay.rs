//! Replays change events (Debezium records from JSONL or Kafka; rows from the files sink) into
//! each table's final rows: last state per key, `c`/`r` insert, `u` replace (moving the row
//! when its key changed), `d` remove, `t` empty. An unchanged-TOAST placeholder keeps the
//! row's previous value — including across a key change, whose delete and create share one
//! LSN, because that is what a consumer of the stream can know. Events seen twice are counted
//! (an exactly-once sink must deliver none).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{Map, Value};

pub const PLACEHOLDER: &str = "__debezium_unavailable_value";
/// The placeholder's bytes in base64, as Debezium writes it into a bytea column.
const PLACEHOLDER_B64: &str = "X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ==";

/// One change, from whichever sink.
#[derive(Debug, Clone)]
pub struct Event {
    pub table: String,
    /// `r`, `c`, `u`, `d` or `t`.
    pub op: char,
    pub lsn: u64,
    pub before: Option<Map<String, Value>>,
    pub after: Option<Map<String, Value>>,
}

/// The replayed rows of one table, and what replay noticed.
#[derive(Default, Debug)]
pub struct TableState {
    /// identity → rows (several only for a keyless table holding equal rows).
    rows: BTreeMap<String, Vec<Map<String, Value>>>,
    /// The row a delete just removed, with its LSN: a key change's create takes the
    /// unchanged values from it.
    last_deleted: Option<(u64, Map<String, Value>)>,
    /// Placeholders no earlier value could replace.
    pub unresolved: u64,
}

impl TableState {
    pub fn into_rows(self) -> Vec<Map<String, Value>> {
        self.rows.into_values().flatten().collect()
    }
}

pub fn is_placeholder(v: &Value) -> bool {
    match v {
        Value::String(s) => s == PLACEHOLDER || s == PLACEHOLDER_B64,
        Value::Array(a) => a.len() == 1 && is_placeholder(&a[0]),
        _ => false,
    }
}

/// The replayer of one sink's events; `keys` names each table's key columns (empty: keyless).
pub struct Replay {
    keys: HashMap<String, Vec<String>>,
    pub tables: HashMap<String, TableState>,
    seen: HashSet<String>,
    pub duplicates: u64,
    pub duplicate_examples: Vec<String>,
    pub events: u64,
}

impl Replay {
    pub fn new(keys: HashMap<String, Vec<String>>) -> Replay {
        Replay {
            keys,
            tables: HashMap::new(),
            seen: HashSet::new(),
            duplicates: 0,
            duplicate_examples: Vec::new(),
            events: 0,
        }
    }

    fn identity(&self, table: &str, row: &Map<String, Value>) -> String {
        match self.keys.get(table) {
            Some(k) if !k.is_empty() => Value::Array(
                k.iter()
                    .map(|c| row.get(c).cloned().unwrap_or(Value::Null))
                    .collect(),
            )
            .to_string(),
            // Keyless: the whole row is the identity (serde_json maps are sorted by name).
            _ => Value::Object(row.clone()).to_string(),
        }
    }

    /// Notes an event for the duplicate check: one source change is (table, op, LSN, row
    /// identity). A snapshot row is (table, identity) alone: each row is read once, and a
    /// snapshot taken again (or a chunk read again) after a crash carries a newer LSN.
    fn note(&mut self, e: &Event) {
        let row = e.after.as_ref().or(e.before.as_ref());
        let id = row.map(|r| self.identity(&e.table, r)).unwrap_or_default();
        let lsn = if e.op == 'r' { 0 } else { e.lsn };
        let key = format!("{}|{}|{lsn}|{id}", e.table, e.op);
        if !self.seen.insert(key.clone()) {
            self.duplicates += 1;
            if self.duplicate_examples.len() < 3 {
                self.duplicate_examples.push(key.chars().take(160).collect());
            }
        }
    }

    pub fn apply(&mut self, e: Event) {
        self.events += 1;
        self.note(&e);
        let old_id = e.before.as_ref().map(|b| self.identity(&e.table, b));
        let new_id = e.after.as_ref().map(|a| self.identity(&e.table, a));
        let state = self.tables.entry(e.table.clone()).or_default();
        match (e.op, e.after) {
            ('t', _) => {
                state.rows.clear();
                state.last_deleted = None;
            }
            ('d', _) => {
                if let Some(id) = old_id {
                    let prev = take_one(&mut state.rows, &id);
                    state.last_deleted = prev.map(|p| (e.lsn, p));
                }
            }
            (op, Some(after)) => {
                let id = new_id.unwrap_or_default();
                let keyed = self.keys.get(&e.table).is_some_and(|k| !k.is_empty());
                // An update without a before image (REPLICA IDENTITY DEFAULT, key unchanged)
                // replaces the row of its own key; a create after a delete at the same LSN is
                // a key change; a create of a present key (a repeat) replaces it.
                let prev = match (op, old_id) {
                    ('u', Some(old)) => take_one(&mut state.rows, &old),
                    ('u', None) => take_one(&mut state.rows, &id),
                    _ => match state.last_deleted.take() {
                        Some((lsn, row)) if lsn == e.lsn => Some(row),
                        _ if keyed => take_one(&mut state.rows, &id),
                        _ => None,
                    },
                };
                let row = fill_unchanged(after, prev.as_ref(), &mut state.unresolved);
                if keyed {
                    state.rows.remove(&id);
                }
                state.rows.entry(id).or_default().push(row);
            }
            _ => {}
        }
    }
}

fn take_one(rows: &mut BTreeMap<String, Vec<Map<String, Value>>>, id: &str) -> Option<Map<String, Value>> {
    let list = rows.get_mut(id)?;
    let row = list.pop();
    if list.is_empty() {
        rows.remove(id);
    }
    row
}

/// Replaces placeholders with the previous row's values (counting those it cannot).
fn fill_unchanged(
    mut after: Map<String, Value>,
    prev: Option<&Map<String, Value>>,
    unresolved: &mut u64,
) -> Map<String, Value> {
    for (col, v) in after.iter_mut() {
        if is_placeholder(v) {
            match prev.and_then(|p| p.get(col)) {
                Some(old) => *v = old.clone(),
                None => *unresolved += 1,
            }
        }
    }
    after
}

/// A Debezium record `{"topic", "key", "value"}` as an event (None: a tombstone, a heartbeat
/// or transaction record, anything that is not a table's change).
pub fn from_debezium(record: &Value) -> Option<Event> {
    let value = record.get("value")?;
    let value = match value {
        Value::String(s) => serde_json::from_str::<Value>(s).ok()?,
        Value::Object(_) => value.clone(),
        _ => return None,
    };
    let op = value.get("op")?.as_str()?.chars().next()?;
    let source = value.get("source")?;
    let table = source.get("table")?.as_str()?.to_string();
    let lsn = source.get("lsn").and_then(Value::as_u64).unwrap_or(0);
    let obj = |k: &str| value.get(k).and_then(Value::as_object).cloned();
    Some(Event {
        table,
        op,
        lsn,
        before: obj("before"),
        after: obj("after"),
    })
}

/// A row the files sink wrote (`_cdc_operation` R/I/U/D, `_cdc_lsn`) as an event.
pub fn from_files_row(table: &str, mut row: Map<String, Value>) -> Option<Event> {
    let op = match row.get("_cdc_operation")?.as_str()? {
        "R" => 'r',
        "I" => 'c',
        "U" => 'u',
        "D" => 'd',
        _ => return None,
    };
    let lsn = match row.get("_cdc_lsn")? {
        Value::Number(n) => n.as_u64()?,
        Value::String(s) => s.parse().ok()?,
        _ => return None,
    };
    row.retain(|k, _| !k.starts_with("_cdc_"));
    let (before, after) = if op == 'd' {
        (Some(row), None)
    } else {
        (None, Some(row))
    };
    Some(Event {
        table: table.to_string(),
        op,
        lsn,
        before,
        after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(op: char, lsn: u64, before: Value, after: Value) -> Event {
        let m = |v: Value| v.as_object().cloned();
        Event {
            table: "t".into(),
            op,
            lsn,
            before: m(before),
            after: m(after),
        }
    }

    #[test]
    fn key_change_carries_unchanged_toast_and_duplicates_are_counted() {
        let mut r = Replay::new(HashMap::from([("t".to_string(), vec!["id".to_string()])]));
        r.apply(ev('r', 1, Value::Null, json!({"id": 1, "big": "B", "n": 0})));
        // The same row from a second snapshot, at its own LSN: a duplicate too.
        r.apply(ev('r', 3, Value::Null, json!({"id": 1, "big": "B", "n": 0})));
        r.apply(ev(
            'u',
            5,
            Value::Null,
            json!({"id": 1, "big": PLACEHOLDER, "n": 1}),
        ));
        r.apply(ev('d', 9, json!({"id": 1}), Value::Null));
        r.apply(ev(
            'c',
            9,
            Value::Null,
            json!({"id": 2, "big": PLACEHOLDER, "n": 2}),
        ));
        r.apply(ev(
            'c',
            9,
            Value::Null,
            json!({"id": 2, "big": PLACEHOLDER, "n": 2}),
        ));
        assert_eq!(r.duplicates, 2);
        let rows = r.tables.remove("t").unwrap();
        assert_eq!(rows.unresolved, 0);
        assert_eq!(
            rows.into_rows(),
            vec![json!({"id": 2, "big": "B", "n": 2}).as_object().cloned().unwrap()]
        );
    }
}
