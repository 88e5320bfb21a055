//! The pipeline's phase, as `/health/ready` reports it, and the few live values the endpoint
//! computes when scraped (lag needs "now").
//!
//! ```text
//!  starting ─▶ snapshotting ─▶ streaming ─▶ stopping
//!      │             │              │
//!      └─────────────┴──────────────┴──▶ reconnecting (reason) ─▶ starting …
//! ```
//!
//! Ready means "changes are flowing or about to": snapshotting or streaming. Everything else is
//! not ready, with a reason a person can act on.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;

/// Where the pipeline is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "phase", content = "reason")]
pub enum Phase {
    /// Connecting and setting up (slot, publication, sink).
    Starting,
    /// Reading existing rows.
    Snapshotting,
    /// Streaming changes.
    Streaming,
    /// A connection was lost; retrying with backoff. The reason is the last error.
    Reconnecting(String),
    /// Shutting down, or stopped.
    Stopping,
}

impl Phase {
    pub fn is_ready(&self) -> bool {
        matches!(self, Phase::Snapshotting | Phase::Streaming)
    }

    pub fn name(&self) -> &'static str {
        match self {
            Phase::Starting => "starting",
            Phase::Snapshotting => "snapshotting",
            Phase::Streaming => "streaming",
            Phase::Reconnecting(_) => "reconnecting",
            Phase::Stopping => "stopping",
        }
    }
}

/// Shared between the source, the runtime and the HTTP endpoint; cheap to clone.
#[derive(Clone, Debug)]
pub struct Health {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    phase: Mutex<Phase>,
    /// Commit time (µs since the Unix epoch) of the last event delivered; 0 = none yet.
    last_delivered_commit_us: AtomicI64,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            inner: Arc::new(Inner {
                phase: Mutex::new(Phase::Starting),
                last_delivered_commit_us: AtomicI64::new(0),
            }),
        }
    }
}

/// What `/health/ready` answers.
#[derive(Clone, Debug, Serialize)]
pub struct HealthReport {
    pub ready: bool,
    #[serde(flatten)]
    pub phase: Phase,
    /// Seconds since the commit of the last delivered event, when one was delivered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lag_seconds: Option<f64>,
}

impl Health {
    pub fn set_phase(&self, phase: Phase) {
        let ready = phase.is_ready();
        if let Ok(mut p) = self.inner.phase.lock() {
            *p = phase;
        }
        metrics::gauge!(crate::names::READY).set(if ready { 1.0 } else { 0.0 });
    }

    pub fn phase(&self) -> Phase {
        self.inner.phase.lock().map_or(Phase::Starting, |p| p.clone())
    }

    /// Records the commit time of the last event handed to the sink.
    pub fn delivered(&self, commit_time_us: i64) {
        self.inner
            .last_delivered_commit_us
            .fetch_max(commit_time_us, Ordering::Relaxed);
    }

    pub fn last_delivered_commit_us(&self) -> Option<i64> {
        let us = self.inner.last_delivered_commit_us.load(Ordering::Relaxed);
        (us > 0).then_some(us)
    }

    /// Seconds between now and the last delivered commit (never negative: clocks differ).
    pub fn lag_seconds(&self, now_us: i64) -> Option<f64> {
        self.last_delivered_commit_us()
            .map(|t| (now_us.saturating_sub(t)).max(0) as f64 / 1e6)
    }

    pub fn report(&self, now_us: i64) -> HealthReport {
        let phase = self.phase();
        HealthReport {
            ready: phase.is_ready(),
            phase,
            lag_seconds: self.lag_seconds(now_us),
        }
    }
}

/// Microseconds since the Unix epoch.
pub fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_while_snapshotting_or_streaming() {
        let h = Health::default();
        assert!(!h.report(0).ready);
        h.set_phase(Phase::Snapshotting);
        assert!(h.report(0).ready);
        h.set_phase(Phase::Streaming);
        assert!(h.report(0).ready);
        h.set_phase(Phase::Reconnecting("connection refused".into()));
        let r = h.report(0);
        assert!(!r.ready);
        assert_eq!(
            serde_json::to_value(&r).unwrap_or_default(),
            serde_json::json!({"ready": false, "phase": "reconnecting", "reason": "connection refused"})
        );
    }

    #[test]
    fn lag_counts_from_the_last_delivered_commit_and_never_goes_back() {
        let h = Health::default();
        assert_eq!(h.lag_seconds(5_000_000), None);
        h.delivered(3_000_000);
        h.delivered(2_000_000);
        assert_eq!(h.lag_seconds(5_000_000), Some(2.0));
        assert_eq!(h.lag_seconds(1_000_000), Some(0.0));
    }
}
