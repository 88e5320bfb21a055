//! The seeded random workload: a few concurrent sessions, each running multi-statement
//! transactions (some rolled back) of inserts, updates (some changing the key, most leaving
//! the TOASTed column alone), deletes, and now and then `ADD COLUMN` or `TRUNCATE`.
//!
//! Each transaction is one `psql` call, so a session survives a source crash: the call fails
//! and the next one reconnects. Nothing checks what the workload did: the source's final state
//! is the truth the sinks are compared to, so a commit whose outcome a crash hid is fine.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rivulet_testkit::PgCluster;

use crate::rng::Rng;
use crate::tables::{big_value, wide_values};

/// What the target sink can follow.
#[derive(Clone, Copy, Debug)]
pub struct Caps {
    pub truncate: bool,
    pub keyless_updates: bool,
    pub keyless: bool,
}

/// State shared by the sessions of one trial.
pub struct Shared {
    pub stop: AtomicBool,
    /// (table, column) added by `ADD COLUMN` so far, which later updates may set.
    pub added: Mutex<Vec<(String, String)>>,
}

#[derive(Default, Debug, Clone, Copy)]
pub struct Stats {
    pub committed: u64,
    pub rolled_back: u64,
    pub failed: u64,
    pub ddl: u64,
}

impl Stats {
    pub fn add(&mut self, o: Stats) {
        self.committed += o.committed;
        self.rolled_back += o.rolled_back;
        self.failed += o.failed;
        self.ddl += o.ddl;
    }
}

pub struct Session<'a> {
    id: u64,
    rng: Rng,
    next: u64,
    seed_rows: u64,
    caps: Caps,
    shared: &'a Shared,
}

impl<'a> Session<'a> {
    pub fn new(id: u64, rng: Rng, seed_rows: u64, caps: Caps, shared: &'a Shared) -> Session<'a> {
        Session {
            id,
            rng,
            next: 0,
            seed_rows,
            caps,
            shared,
        }
    }

    /// Runs transactions until told to stop.
    pub fn run(mut self, pg: &PgCluster) -> Stats {
        let mut stats = Stats::default();
        while !self.shared.stop.load(Ordering::SeqCst) {
            let (sql, kind) = self.transaction();
            match (pg.try_psql(&sql), kind) {
                (Ok(_), TxKind::Ddl(table, col)) => {
                    stats.ddl += 1;
                    if let Some(c) = col {
                        self.shared.added.lock().expect("lock").push((table, c));
                    }
                }
                (Ok(_), TxKind::Commit) => stats.committed += 1,
                (Ok(_), TxKind::Rollback) => stats.rolled_back += 1,
                (Err(_), _) => stats.failed += 1,
            }
            std::thread::sleep(Duration::from_millis(self.rng.range(0, 15)));
        }
        stats
    }

    fn transaction(&mut self) -> (String, TxKind) {
        if self.rng.chance(2) {
            return self.add_column();
        }
        if self.caps.truncate && self.rng.chance(1) && self.rng.chance(40) {
            let t = *self.rng.pick(&["kv", "pair"]);
            return (format!("TRUNCATE public.{t}"), TxKind::Ddl(t.into(), None));
        }
        let mut sql = String::from("BEGIN;\n");
        for _ in 0..self.rng.range(1, 6) {
            sql.push_str(&self.statement());
            sql.push_str(";\n");
            if self.rng.chance(40) {
                sql.push_str(&format!("SELECT pg_sleep(0.0{});\n", self.rng.range(1, 4)));
            }
        }
        if self.rng.chance(10) {
            sql.push_str("ROLLBACK;");
            (sql, TxKind::Rollback)
        } else {
            sql.push_str("COMMIT;");
            (sql, TxKind::Commit)
        }
    }

    fn add_column(&mut self) -> (String, TxKind) {
        let table = *self.rng.pick(&["wide", "pair", "part", "kv"]);
        let col = format!("x{}_{}", self.id, self.rng.range(0, 1_000_000));
        let ty = *self.rng.pick(&["text", "int", "numeric(8,2)", "jsonb"]);
        (
            format!("ALTER TABLE public.{table} ADD COLUMN IF NOT EXISTS {col} {ty}"),
            TxKind::Ddl(table.into(), Some(format!("{col}:{ty}"))),
        )
    }

    /// Ids this session inserts (its own range, so sessions never collide on a new key).
    fn fresh(&mut self, n: u64) -> u64 {
        let first = (self.id + 1) * 10_000_000 + self.next + 1;
        self.next += n;
        first
    }

    /// An id that probably exists: a seeded row or one this session made.
    fn existing(&mut self) -> u64 {
        if self.next > 0 && self.rng.chance(50) {
            (self.id + 1) * 10_000_000 + self.rng.range(1, self.next + 1)
        } else {
            self.rng.range(1, self.seed_rows + 1)
        }
    }

    fn statement(&mut self) -> String {
        let mut tables = vec!["wide", "wide", "pair", "part", "kv"];
        if self.caps.keyless {
            tables.push("nokey");
        }
        match *self.rng.pick(&tables) {
            "wide" => self.wide(),
            "pair" => self.pair(),
            "part" => self.part(),
            "kv" => self.kv(),
            _ => self.nokey(),
        }
    }

    /// A value for a column an `ADD COLUMN` made, by its type.
    fn added_column_set(&mut self, table: &str) -> Option<String> {
        let cols: Vec<String> = self
            .shared
            .added
            .lock()
            .expect("lock")
            .iter()
            .filter(|(t, _)| t == table)
            .map(|(_, c)| c.clone())
            .collect();
        if cols.is_empty() {
            return None;
        }
        let c = self.rng.pick(&cols).clone();
        let (name, ty) = c.split_once(':').unwrap_or((&c, "text"));
        let r = self.rng.range(0, 1000);
        let value = match ty {
            "int" => r.to_string(),
            "numeric(8,2)" => format!("{r}.25"),
            "jsonb" => format!("'{{\"r\": {r}}}'"),
            _ => format!("'a{r}'"),
        };
        Some(format!("{name} = {value}"))
    }

    fn wide(&mut self) -> String {
        let x = self.existing();
        let r = self.rng.range(0, 1_000_000);
        match self.rng.range(0, 9) {
            0 | 1 => {
                let n = self.rng.range(1, 5);
                let f = self.fresh(n);
                format!(
                    "INSERT INTO public.wide SELECT g, {} FROM generate_series({f}, {}) g",
                    wide_values("g"),
                    f + n - 1
                )
            }
            2 => format!(
                "UPDATE public.wide SET i = i + 1, note = 'u{r}', n = n + 0.001 WHERE id BETWEEN {x} AND {}",
                x + 2
            ),
            3 => format!(
                "UPDATE public.wide SET ia = ia || {r}, ta = ta || 'e{r}'::text, j = j || jsonb_build_object('r', {r}), \
                 ts = ts + interval '1 hour', by = by || '\\x00ff'::bytea, b = NOT b WHERE id = {x}"
            ),
            4 => format!(
                "UPDATE public.wide SET big = {}, f = f * 2 WHERE id = {x}",
                big_value(&format!("'{r}'"))
            ),
            5 => {
                let f = self.fresh(1);
                format!("UPDATE public.wide SET id = {f}, i = -i WHERE id = {x}")
            }
            6 => format!("DELETE FROM public.wide WHERE id BETWEEN {x} AND {}", x + 1),
            _ => match self.added_column_set("wide") {
                Some(set) => format!("UPDATE public.wide SET {set} WHERE id BETWEEN {x} AND {}", x + 5),
                None => format!("UPDATE public.wide SET note = NULL WHERE id = {x}"),
            },
        }
    }

    fn pair(&mut self) -> String {
        let a = self.rng.range(0, 50);
        let r = self.rng.range(0, 1_000_000);
        let first = format!("(SELECT a, b FROM public.pair WHERE a = {a} ORDER BY b LIMIT 1)");
        match self.rng.range(0, 7) {
            0 => {
                let f = self.fresh(1);
                format!(
                    "INSERT INTO public.pair SELECT {}, 'n{f}-' || g, g, CASE WHEN g % 2 = 0 THEN {} END \
                     FROM generate_series(1, 3) g",
                    f % 50,
                    big_value(&format!("'{r}' || g"))
                )
            }
            1 | 2 => format!("UPDATE public.pair SET v = v + 1 WHERE a = {a}"),
            3 => {
                let f = self.fresh(1);
                format!("UPDATE public.pair SET a = {f}, v = v - 1 WHERE (a, b) = {first}")
            }
            4 => format!(
                "UPDATE public.pair SET b = b || 'k' WHERE a = {a} AND v % 3 = {}",
                r % 3
            ),
            5 => match self.added_column_set("pair") {
                Some(set) => format!("UPDATE public.pair SET {set} WHERE a = {a}"),
                None => format!(
                    "UPDATE public.pair SET big = {} WHERE (a, b) = {first}",
                    big_value(&format!("'{r}'"))
                ),
            },
            _ => format!("DELETE FROM public.pair WHERE (a, b) IN {first}"),
        }
    }

    fn part(&mut self) -> String {
        let x = self.existing();
        match self.rng.range(0, 6) {
            0 | 1 => {
                let f = self.fresh(2);
                format!(
                    "INSERT INTO public.part VALUES ({}, {f}, 'i', 1.50), ({}, {}, 'j', -2.25)",
                    self.rng.range(0, 10),
                    self.rng.range(0, 10),
                    f + 1
                )
            }
            2 => format!("UPDATE public.part SET v = v || '+', amount = amount + 1 WHERE id = {x}"),
            3 => format!("UPDATE public.part SET region = (region + 5) % 10 WHERE id = {x}"),
            4 => match self.added_column_set("part") {
                Some(set) => format!("UPDATE public.part SET {set} WHERE id BETWEEN {x} AND {}", x + 3),
                None => format!("UPDATE public.part SET amount = NULL WHERE id = {x}"),
            },
            _ => format!("DELETE FROM public.part WHERE id = {x}"),
        }
    }

    fn kv(&mut self) -> String {
        let x = self.existing();
        match self.rng.range(0, 6) {
            0 | 1 => {
                let n = self.rng.range(1, 20);
                let f = self.fresh(n);
                format!(
                    "INSERT INTO public.kv SELECT g, g, 'i' FROM generate_series({f}, {}) g",
                    f + n - 1
                )
            }
            2 => format!(
                "UPDATE public.kv SET v = v + 1 WHERE id BETWEEN {x} AND {}",
                x + 20
            ),
            3 => {
                let f = self.fresh(1);
                format!("UPDATE public.kv SET id = {f} WHERE id = {x}")
            }
            4 => match self.added_column_set("kv") {
                Some(set) => format!("UPDATE public.kv SET {set} WHERE id BETWEEN {x} AND {}", x + 10),
                None => format!("UPDATE public.kv SET t = t || '.' WHERE id = {x}"),
            },
            _ => format!("DELETE FROM public.kv WHERE id BETWEEN {x} AND {}", x + 3),
        }
    }

    fn nokey(&mut self) -> String {
        let x = self.existing();
        match self.rng.range(0, 4) {
            0 => {
                let f = self.fresh(1);
                format!("INSERT INTO public.nokey VALUES ({f}, 'n', 0)")
            }
            1 | 2 if self.caps.keyless_updates => {
                format!("UPDATE public.nokey SET n = n + 1, v = v || '.' WHERE seq = {x}")
            }
            _ => format!("DELETE FROM public.nokey WHERE seq = {x}"),
        }
    }
}

enum TxKind {
    Commit,
    Rollback,
    /// A DDL statement on (table, added "column:type" if any).
    Ddl(String, Option<String>),
}
