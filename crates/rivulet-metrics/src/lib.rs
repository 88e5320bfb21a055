//! What on-call sees of a running pipeline: Prometheus metrics and health probes.
//!
//! ```text
//!  rivulet-postgres (source metrics) ─┐  metrics facade   ┌─ Prometheus recorder ─▶ GET /metrics
//!  rivulet runtime (delivery metrics) ─┴──────────────────▶│
//!  source + runtime ──set_phase──▶ Health ────────────────▶└─ GET /health/live, /health/ready
//! ```
//!
//! Rooms: [`names`] (every metric's name, labels and help text, in one place so dashboards and
//! docs have one list), [`health`] (the pipeline's phase: starting, snapshotting, streaming,
//! reconnecting…), `server` (the HTTP endpoint, behind the default `server` feature; sources
//! depend on this crate without it).
//!
//! Code that records metrics uses the `metrics` facade; without an installed recorder (no
//! `[metrics]` section) every call is a cheap no-op.

pub mod health;
pub mod names;
#[cfg(feature = "server")]
pub mod server;

pub use health::{Health, HealthReport, Phase};
pub use metrics;
