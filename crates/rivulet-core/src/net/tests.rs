//! One table of cases for the net-change rules; the sinks' end-to-end tests run the same
//! situations against real targets.

use super::*;
use crate::{Column, PgType, TableId};

/// The WAL position of the cases' changes (a split key change shares one).
const AT: Lsn = Lsn(0x1000);

fn schema(names: &[&str], key: &[usize], identity: ReplicaIdentity) -> Arc<TableSchema> {
    let column = |name: &&str| Column {
        name: (*name).into(),
        type_oid: 25,
        type_modifier: -1,
        pg_type: PgType::Text,
        nullable: true,
        default: None,
        missing: None,
    };
    Arc::new(TableSchema {
        id: TableId::new("public", "t"),
        relation_oid: 1,
        columns: names.iter().map(column).collect(),
        primary_key: key.to_vec(),
        replica_identity: identity,
    })
}

/// `"1|x|~"`: one value per `|`; `~` is Unchanged, `-` is NULL.
fn r(spec: &str) -> Row {
    spec.split('|')
        .map(|v| match v {
            "~" => Value::Unchanged,
            "-" => Value::Null,
            s => Value::Text(s.into()),
        })
        .collect()
}

enum Step {
    C(&'static str),
    U(Option<&'static str>, &'static str),
    D(&'static str),
    T,
}

enum Want {
    Up(&'static str),
    Moved(&'static str, &'static str),
    Del(&'static str),
}

fn run(schema: &Arc<TableSchema>, steps: &[Step]) -> NetChanges {
    let mut net = NetChanges::new(Arc::clone(schema));
    for step in steps {
        match step {
            Step::C(a) => net.apply(schema, Op::Create, None, Some(&r(a)), AT),
            Step::U(b, a) => net.apply(schema, Op::Update, b.map(r).as_ref(), Some(&r(a)), AT),
            Step::D(b) => net.apply(schema, Op::Delete, Some(&r(b)), None, AT),
            Step::T => net.truncate(),
        }
    }
    net
}

fn want(w: &Want) -> NetChange {
    match w {
        Want::Up(row) => NetChange::Upsert {
            row: r(row),
            origin: None,
        },
        Want::Moved(row, from) => NetChange::Upsert {
            row: r(row),
            origin: Some(r(from)),
        },
        Want::Del(row) => NetChange::Delete(r(row)),
    }
}

/// (what the case is, the table, what happens, the net changes wanted).
type Case<'a> = (&'a str, &'a Arc<TableSchema>, Vec<Step>, Vec<Want>);

#[test]
fn the_cases() {
    use Step::*;
    use Want::*;
    let single = schema(&["id", "n", "big"], &[0], ReplicaIdentity::Default);
    let composite = schema(&["a", "b", "big"], &[0, 1], ReplicaIdentity::Default);
    let full = schema(&["id", "n", "big"], &[0], ReplicaIdentity::Full);
    let cases: Vec<Case<'_>> = vec![
        (
            "insert, update, delete nets to a delete",
            &single,
            vec![C("1|a|x"), U(None, "1|b|~"), D("1|-|-")],
            vec![Del("1|-|-")],
        ),
        (
            "a hot row's updates collapse; unchanged values come from the batch",
            &single,
            vec![C("1|a|x"), U(None, "1|b|~"), U(None, "1|c|~")],
            vec![Up("1|c|x")],
        ),
        (
            "an update of a row applied earlier keeps the target's value",
            &single,
            vec![U(None, "1|b|~")],
            vec![Up("1|b|~")],
        ),
        (
            "a key change of a row in the batch carries its value",
            &single,
            vec![C("1|a|x"), U(Some("1|-|-"), "2|b|~")],
            vec![Del("1|-|-"), Up("2|b|x")],
        ),
        (
            "a key change of a row at the target reads its value from the old key",
            &single,
            vec![U(Some("1|-|-"), "2|b|~")],
            vec![Del("1|-|-"), Moved("2|b|~", "1|-|-")],
        ),
        (
            "two key changes: the origin is the first key",
            &single,
            vec![U(Some("1|-|-"), "2|b|~"), U(Some("2|-|-"), "3|c|~")],
            vec![Del("1|-|-"), Del("2|-|-"), Moved("3|c|~", "1|-|-")],
        ),
        (
            "a key change, then an update of the new key in the same transaction",
            &single,
            vec![U(Some("1|-|-"), "2|b|~"), U(None, "2|c|~")],
            vec![Del("1|-|-"), Moved("2|c|~", "1|-|-")],
        ),
        (
            "a key change, then the old key inserted again",
            &single,
            vec![U(Some("1|-|-"), "2|b|~"), C("1|n|y")],
            vec![Up("1|n|y"), Moved("2|b|~", "1|-|-")],
        ),
        (
            "a key change that sends every value needs no origin",
            &single,
            vec![U(Some("1|-|-"), "2|b|z")],
            vec![Del("1|-|-"), Up("2|b|z")],
        ),
        (
            "composite key: one column of the key changes",
            &composite,
            vec![U(Some("1|1|-"), "1|2|~")],
            vec![Del("1|1|-"), Moved("1|2|~", "1|1|-")],
        ),
        (
            "REPLICA IDENTITY FULL: the before-row has the value",
            &full,
            vec![U(Some("1|a|x"), "2|b|~")],
            vec![Del("1|a|x"), Up("2|b|x")],
        ),
        (
            "a key change split as Debezium splits it: delete(old), create(new)",
            &single,
            vec![D("1|-|-"), C("2|b|~")],
            vec![Del("1|-|-"), Moved("2|b|~", "1|-|-")],
        ),
        (
            "split key change of a row inserted in the batch",
            &single,
            vec![C("1|a|x"), D("1|-|-"), C("2|b|~")],
            vec![Del("1|-|-"), Up("2|b|x")],
        ),
        (
            "split key changes chained, then an update",
            &single,
            vec![D("1|-|-"), C("2|b|~"), D("2|-|-"), C("3|c|~"), U(None, "3|d|~")],
            vec![Del("1|-|-"), Del("2|-|-"), Moved("3|d|~", "1|-|-")],
        ),
        (
            "keys swapped through a free key (split)",
            &single,
            vec![
                D("5|-|-"),
                C("0|a|~"),
                D("6|-|-"),
                C("5|b|~"),
                D("0|-|-"),
                C("6|c|~"),
            ],
            vec![Moved("5|b|~", "6|-|-"), Del("0|-|-"), Moved("6|c|~", "5|-|-")],
        ),
        (
            "a create after an unrelated change is not a key change",
            &single,
            vec![D("1|-|-"), U(None, "3|z|~"), C("2|b|y")],
            vec![Del("1|-|-"), Up("3|z|~"), Up("2|b|y")],
        ),
        (
            "a truncate forgets what came before it",
            &single,
            vec![C("1|a|x"), T, C("2|b|y")],
            vec![Up("2|b|y")],
        ),
        (
            "an update without the old key (key unchanged) is an update",
            &single,
            vec![U(Some("1|a|-"), "1|b|~")],
            vec![Up("1|b|~")],
        ),
    ];
    for (name, schema, steps, wanted) in cases {
        let net = run(schema, &steps);
        let wanted: Vec<NetChange> = wanted.iter().map(want).collect();
        assert_eq!(net.entries(), wanted.as_slice(), "case: {name}");
    }
}

/// A create after a delete at another position is no key change (a snapshot filter may have
/// dropped the create's own delete): it must not take the unrelated row's values.
#[test]
fn a_create_at_another_position_is_not_the_deletes_key_change() {
    let t = schema(&["id", "n", "big"], &[0], ReplicaIdentity::Default);
    let mut net = NetChanges::new(Arc::clone(&t));
    net.apply(&t, Op::Create, None, Some(&r("3|a|x")), AT);
    net.apply(&t, Op::Delete, Some(&r("3|-|-")), None, Lsn(0x2000));
    net.apply(&t, Op::Create, None, Some(&r("2|b|~")), Lsn(0x3000));
    assert_eq!(
        net.entries(),
        &[
            NetChange::Delete(r("3|-|-")),
            NetChange::Upsert {
                row: r("2|b|~"),
                origin: None
            }
        ]
    );
}

#[test]
fn truncate_is_remembered() {
    let t = schema(&["id", "n", "big"], &[0], ReplicaIdentity::Default);
    let net = run(&t, &[Step::C("1|a|x"), Step::T]);
    assert!(net.truncated() && net.entries().is_empty() && !net.is_empty());
}

#[test]
fn rows_of_an_older_schema_get_null_for_columns_it_lacked() {
    let old = schema(&["id", "n"], &[0], ReplicaIdentity::Default);
    let new = schema(&["id", "n", "x"], &[0], ReplicaIdentity::Default);
    let mut with_default = (*new).clone();
    with_default.columns[2].missing = Some(Value::Text("dflt".into()));
    let with_default = Arc::new(with_default);
    let mut net = NetChanges::new(Arc::clone(&old));
    net.apply(&old, Op::Create, None, Some(&r("2|b")), AT);
    net.adopt(&new);
    net.apply(&new, Op::Create, None, Some(&r("3|c|xx")), AT);
    // A row still under the old schema arrives after the newer one was adopted.
    net.apply(&old, Op::Update, None, Some(&r("3|d")), AT);
    assert_eq!(
        net.entries(),
        &[
            NetChange::Upsert {
                row: r("2|b|-"),
                origin: None
            },
            NetChange::Upsert {
                row: r("3|d|-"),
                origin: None
            },
        ]
    );
    // A column added with a constant default: older rows hold the default at the source.
    let mut net = NetChanges::new(Arc::clone(&old));
    net.apply(&old, Op::Create, None, Some(&r("2|b")), AT);
    net.adopt(&with_default);
    assert_eq!(
        net.entries(),
        &[NetChange::Upsert {
            row: r("2|b|dflt"),
            origin: None
        }]
    );
}

#[test]
fn keys_compare_as_postgresql_compares_them() {
    let t = schema(&["id"], &[0], ReplicaIdentity::Default);
    let key = |v: Value| key_bytes(&t, &vec![v]);
    let num = |s: &str| Value::Numeric(crate::Numeric::Finite(s.into()));
    assert_eq!(key(num("1.50")), key(num("1.5")));
    assert_eq!(key(num("2.000")), key(num("2")));
    assert_ne!(key(num("20")), key(num("2")));
    assert_eq!(key(Value::Float64(0.0)), key(Value::Float64(-0.0)));
    assert_eq!(key(Value::Int32(7)), key(Value::Int64(7)));
    assert_ne!(key(Value::Text("7".into())), key(Value::Int64(7)));
}
