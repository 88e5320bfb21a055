//! The tables a trial captures, chosen to stress correctness rather than throughput: many
//! types (arrays, jsonb, numeric, timestamptz, bytea), an out-of-line (TOAST) text column that
//! updates usually leave alone, a composite key that updates change, a keyless `REPLICA
//! IDENTITY FULL` table, and a partitioned table published through its root.

use crate::sinks::Sink;

/// One captured table.
#[derive(Clone, Debug)]
pub struct Table {
    /// Unqualified name; every table lives in `public`.
    pub name: &'static str,
    /// Primary-key columns in key order; empty for the `REPLICA IDENTITY FULL` table.
    pub key: &'static [&'static str],
    pub ddl: &'static str,
}

impl Table {
    pub fn qualified(&self) -> String {
        format!("public.{}", self.name)
    }
}

/// ~6 KB of incompressible-looking text: `STORAGE EXTERNAL` keeps it out of line, so an
/// UPDATE that does not touch it sends it as "unchanged TOAST".
pub fn big_value(salt: &str) -> String {
    format!("(SELECT string_agg(md5({salt} || ':' || s), '') FROM generate_series(1, 190) s)")
}

const WIDE: &str = "CREATE TABLE public.wide (
    id bigint PRIMARY KEY, b boolean, i int, n numeric(12,3), f float8, ts timestamptz,
    j jsonb, ia int[], ta text[], by bytea, note text, big text);
  ALTER TABLE public.wide ALTER COLUMN big SET STORAGE EXTERNAL;";
const PAIR: &str = "CREATE TABLE public.pair (
    a int, b text, v int, big text, PRIMARY KEY (a, b));
  ALTER TABLE public.pair ALTER COLUMN big SET STORAGE EXTERNAL;";
const NOKEY: &str = "CREATE TABLE public.nokey (seq bigint, v text, n int);
  ALTER TABLE public.nokey REPLICA IDENTITY FULL;";
const PART: &str = "CREATE TABLE public.part (
    region int, id bigint, v text, amount numeric(10,2), PRIMARY KEY (region, id))
    PARTITION BY RANGE (region);
  CREATE TABLE public.part_lo PARTITION OF public.part FOR VALUES FROM (0) TO (5);
  CREATE TABLE public.part_hi PARTITION OF public.part FOR VALUES FROM (5) TO (10);";
const KV: &str = "CREATE TABLE public.kv (id int PRIMARY KEY, v int, t text);";

/// The tables a sink can hold: a Delta mirror needs a primary key (no keyless table there).
pub fn tables_for(sink: Sink) -> Vec<Table> {
    let mut all = vec![
        Table {
            name: "wide",
            key: &["id"],
            ddl: WIDE,
        },
        Table {
            name: "pair",
            key: &["a", "b"],
            ddl: PAIR,
        },
        Table {
            name: "part",
            key: &["region", "id"],
            ddl: PART,
        },
        Table {
            name: "kv",
            key: &["id"],
            ddl: KV,
        },
    ];
    if sink.allows_keyless() {
        all.push(Table {
            name: "nokey",
            key: &[],
            ddl: NOKEY,
        });
    }
    all
}

/// Rows present before Rivulet starts, read by the initial snapshot. `rows` scales the wide
/// table (and so how long the snapshot takes, which a kill during it needs).
pub fn seed_sql(tables: &[Table], rows: u64) -> String {
    let mut sql = String::new();
    for t in tables {
        sql.push_str(t.ddl);
        sql.push('\n');
        sql.push_str(&seed_rows(t.name, rows));
        sql.push('\n');
    }
    sql
}

fn seed_rows(table: &str, rows: u64) -> String {
    match table {
        "wide" => format!(
            "INSERT INTO public.wide SELECT g, {} FROM generate_series(1, {rows}) g;",
            wide_values("g")
        ),
        "pair" => format!(
            "INSERT INTO public.pair SELECT g % 50, 'b' || g, g, {} FROM generate_series(1, {}) g;",
            big_value("g::text"),
            rows / 4 + 1
        ),
        "part" => format!(
            "INSERT INTO public.part SELECT g % 10, g, 'p' || g, g * 1.25 FROM generate_series(1, {}) g;",
            rows / 2 + 1
        ),
        "kv" => format!("INSERT INTO public.kv SELECT g, g, 't' || g FROM generate_series(1, {rows}) g;"),
        "nokey" => format!(
            "INSERT INTO public.nokey SELECT g, 'v' || g, g FROM generate_series(1, {}) g;",
            rows / 4 + 1
        ),
        _ => String::new(),
    }
}

/// Every column of `wide` after `id`, computed from the SQL expression `g` (deterministic, so
/// the seed reproduces the values); a third of the rows get the large TOASTed value.
pub fn wide_values(g: &str) -> String {
    format!(
        "{g} % 3 = 0, ({g} * 7) % 1000, ({g} * 1.5)::numeric(12,3), {g} / 7.0, \
         timestamptz '2026-01-01 00:00:00+00' + {g} * interval '1 second 1 microsecond', \
         jsonb_build_object('g', {g}, 'tag', 'x' || {g}, 'list', jsonb_build_array({g}, null, 'a\"b')), \
         ARRAY[{g}, NULL, -{g}]::int[], ARRAY['t' || {g}, 'with, comma', 'q\"uote', NULL]::text[], \
         decode(md5({g}::text), 'hex'), 'note ' || {g}, \
         CASE WHEN {g} % 3 = 1 THEN {} END",
        big_value(&format!("{g}::text"))
    )
}
