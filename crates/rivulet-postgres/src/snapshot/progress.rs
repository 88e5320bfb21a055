//! Snapshot progress for people: a bar per table on a terminal (rows done of the estimate,
//! rows/s, ETA), and a log line every few seconds otherwise. The same counts go into the
//! checkpoint (`TablePlan::rows_done`), so a resumed snapshot continues its numbers, and into
//! the `rivulet_snapshot_rows_done` / `_total` gauges.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use rivulet_core::TableId;
use rivulet_metrics::metrics::{Gauge, gauge};
use rivulet_metrics::names;
use tracing::info;

const LOG_EVERY: Duration = Duration::from_secs(10);

pub struct Progress {
    bars: Option<MultiProgress>,
    current: Option<Current>,
    started: Instant,
    total_rows: u64,
    tables_done: usize,
    tables: usize,
}

struct Current {
    id: TableId,
    bar: Option<ProgressBar>,
    estimate: u64,
    rows: u64,
    rows_at_start: u64,
    started: Instant,
    last_log: Instant,
    done_gauge: Gauge,
    total_gauge: Gauge,
}

impl Progress {
    pub fn new(tables: usize) -> Self {
        let bars = std::io::stderr()
            .is_terminal()
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(4)));
        Progress {
            bars,
            current: None,
            started: Instant::now(),
            total_rows: 0,
            tables_done: 0,
            tables,
        }
    }

    /// A table starts (or resumes with `rows_done` rows already delivered).
    pub fn start_table(&mut self, id: &TableId, estimate: u64, rows_done: u64) {
        let bar = self.bars.as_ref().map(|m| {
            let bar = m.add(ProgressBar::new(estimate.max(rows_done)));
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix:>32} [{bar:30}] {human_pos}/~{human_len} rows {per_sec:>12} ETA {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.set_prefix(id.to_string());
            bar.set_position(rows_done);
            bar
        });
        info!(table = %id, estimated_rows = estimate, resumed_at = rows_done, "snapshotting table");
        let now = Instant::now();
        let done_gauge = gauge!(names::SNAPSHOT_ROWS_DONE, "table" => id.to_string());
        let total_gauge = gauge!(names::SNAPSHOT_ROWS_TOTAL, "table" => id.to_string());
        done_gauge.set(rows_done as f64);
        total_gauge.set(estimate.max(rows_done) as f64);
        self.current = Some(Current {
            id: id.clone(),
            bar,
            estimate,
            rows: rows_done,
            rows_at_start: rows_done,
            started: now,
            last_log: now,
            done_gauge,
            total_gauge,
        });
    }

    pub fn rows(&mut self, n: u64) {
        self.total_rows += n;
        let Some(c) = self.current.as_mut() else { return };
        c.rows += n;
        c.done_gauge.set(c.rows as f64);
        if c.rows > c.estimate {
            c.total_gauge.set(c.rows as f64);
        }
        if let Some(bar) = &c.bar {
            if c.rows > bar.length().unwrap_or(0) {
                bar.set_length(c.rows);
            }
            bar.set_position(c.rows);
        } else if c.last_log.elapsed() >= LOG_EVERY {
            c.last_log = Instant::now();
            let secs = c.started.elapsed().as_secs_f64().max(0.001);
            let rate = (c.rows - c.rows_at_start) as f64 / secs;
            let left = c.estimate.saturating_sub(c.rows);
            let eta = if rate > 0.0 {
                format!("{:.0}s", left as f64 / rate)
            } else {
                "?".into()
            };
            info!(table = %c.id, rows = c.rows, estimated = c.estimate, rows_per_s = rate as u64, eta = %eta,
                  "snapshot progress");
        }
    }

    pub fn finish_table(&mut self) {
        if let Some(c) = self.current.take() {
            // Done: the estimate gives way to the count.
            c.total_gauge.set(c.rows as f64);
            if let Some(bar) = c.bar {
                bar.finish();
            }
            self.tables_done += 1;
            let secs = c.started.elapsed().as_secs_f64();
            info!(table = %c.id, rows = c.rows, seconds = format!("{secs:.1}"),
                  "snapshotted table ({} of {})", self.tables_done, self.tables);
        }
    }

    pub fn finish(&mut self) {
        self.finish_table();
        let secs = self.started.elapsed().as_secs_f64();
        info!(
            rows = self.total_rows,
            tables = self.tables,
            seconds = format!("{secs:.1}"),
            "snapshot complete"
        );
    }
}
