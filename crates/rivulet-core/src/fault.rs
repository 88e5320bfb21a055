//! Named fault points: places where a test can make the process die at one exact moment.
//!
//! ```text
//!  RIVULET_FAULT=delta.table_committed@2 rivulet run …
//!      flush ─▶ table a committed ─▶ point("delta.table_committed")   1st: goes on
//!            ─▶ table b committed ─▶ point("delta.table_committed")   2nd: abort()
//! ```
//!
//! Random `kill -9`s rarely land in the few microseconds between two commits of one flush, yet
//! that window is where exactly-once delivery is won or lost. A point aborts the process (no
//! destructors, no buffered output: as `kill -9` does) the n-th time it is reached, when
//! `RIVULET_FAULT` names it as `<point>` or `<point>@<n>`. Unset, a point costs one load of an
//! initialised `OnceLock`.
//!
//! The points (kept here so tests and docs have one list):
//! * [`SINK_FLUSHED`]: the runtime's checkpoint, after the sink's flush and before the offsets
//!   store records it.
//! * [`DELTA_TABLE_COMMITTED`]: a Delta flush, after each table's commit.
//! * [`FILES_UPLOADED`]: a files flush, after its files are uploaded and before the watermark.

use std::io::Write as _;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

pub const SINK_FLUSHED: &str = "sink.flushed";
pub const DELTA_TABLE_COMMITTED: &str = "delta.table_committed";
pub const FILES_UPLOADED: &str = "files.uploaded";

struct Armed {
    point: String,
    at: u64,
    reached: AtomicU64,
}

fn armed() -> Option<&'static Armed> {
    static ARMED: OnceLock<Option<Armed>> = OnceLock::new();
    ARMED
        .get_or_init(|| parse(&std::env::var("RIVULET_FAULT").ok()?))
        .as_ref()
}

fn parse(spec: &str) -> Option<Armed> {
    let (point, at) = match spec.split_once('@') {
        Some((p, n)) => (p, n.trim().parse().ok()?),
        None => (spec, 1),
    };
    Some(Armed {
        point: point.trim().to_string(),
        at,
        reached: AtomicU64::new(0),
    })
}

/// Marks that the process reached the fault point `name`; aborts it if `RIVULET_FAULT` asks to
/// die here this time.
pub fn point(name: &str) {
    let Some(armed) = armed() else { return };
    if armed.point == name && armed.reached.fetch_add(1, Ordering::SeqCst) + 1 == armed.at {
        // Straight to stderr: a logger's buffered output would die with the process.
        let _ = writeln!(
            std::io::stderr(),
            "RIVULET_FAULT: aborting at fault point {name} (reached {} times)",
            armed.at
        );
        std::process::abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spec_names_a_point_and_optionally_the_time_it_fires() {
        let a = parse("delta.table_committed@3").unwrap();
        assert_eq!((a.point.as_str(), a.at), ("delta.table_committed", 3));
        let b = parse("sink.flushed").unwrap();
        assert_eq!((b.point.as_str(), b.at), ("sink.flushed", 1));
        assert!(
            parse("sink.flushed@soon").is_none(),
            "a malformed count arms nothing"
        );
    }
}
