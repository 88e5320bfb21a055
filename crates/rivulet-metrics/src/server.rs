//! The HTTP endpoint of `[metrics] listen`: Prometheus text and health probes.
//!
//! ```text
//!  GET /metrics       ─▶ lag gauge refreshed ─▶ PrometheusHandle::render ─▶ text/plain; version=0.0.4
//!  GET /health/live   ─▶ 200 while the process runs
//!  GET /health/ready  ─▶ 200 {"ready":true,…} snapshotting/streaming, else 503 with the reason
//! ```

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing::{info, warn};

use crate::health::now_us;
use crate::{Health, names};

/// Durations: sub-millisecond sink writes to minute-long flushes of a stalled destination.
const SECONDS_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];
/// Events per batch: the runtime writes at most 4096 per call.
const BATCH_BUCKETS: &[f64] = &[1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 2048.0, 4096.0];
/// Histograms are summarised from raw samples; this drains them often enough to stay small.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("[metrics] listen = \"{addr}\": cannot listen there: {source} (choose a free address and port)")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot set up the Prometheus recorder: {0}")]
    Recorder(String),
}

#[derive(Clone)]
struct AppState {
    prometheus: PrometheusHandle,
    health: Health,
}

/// A bound endpoint; [`MetricsServer::serve`] answers requests until the process ends.
pub struct MetricsServer {
    listener: tokio::net::TcpListener,
    state: AppState,
}

impl MetricsServer {
    /// Installs the global recorder (every series gets `pipeline="<name>"`) and binds `addr`,
    /// so a port in use is reported before the pipeline starts.
    pub async fn bind(addr: SocketAddr, pipeline: &str, health: Health) -> Result<Self, ServerError> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| ServerError::Bind { addr, source })?;
        let recorder = PrometheusBuilder::new()
            .add_global_label("pipeline", pipeline)
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
            .and_then(|b| b.set_buckets_for_metric(Matcher::Full(names::BATCH_SIZE.into()), BATCH_BUCKETS))
            .map_err(|e| ServerError::Recorder(e.to_string()))?
            .install_recorder()
            .map_err(|e| ServerError::Recorder(e.to_string()))?;
        names::describe();
        // Series exist from the start, so dashboards and alerts see zeros rather than nothing.
        metrics::gauge!(names::READY).set(if health.phase().is_ready() { 1.0 } else { 0.0 });
        Ok(MetricsServer {
            listener,
            state: AppState {
                prometheus: recorder,
                health,
            },
        })
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// Serves until the process ends (spawn it).
    pub async fn serve(self) {
        let upkeep = self.state.prometheus.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(UPKEEP_EVERY);
            loop {
                every.tick().await;
                upkeep.run_upkeep();
            }
        });
        if let Some(addr) = self.local_addr() {
            info!(%addr, "serving /metrics, /health/live and /health/ready");
        }
        let app = Router::new()
            .route("/metrics", get(prometheus_text))
            .route("/health/live", get(live))
            .route("/health/ready", get(ready))
            .with_state(self.state);
        if let Err(e) = axum::serve(self.listener, app).await {
            warn!("the metrics endpoint stopped: {e}");
        }
    }
}

async fn prometheus_text(State(state): State<AppState>) -> impl IntoResponse {
    if let Some(lag) = state.health.lag_seconds(now_us()) {
        metrics::gauge!(names::LAG_SECONDS).set(lag);
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.prometheus.render(),
    )
}

async fn live() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], "{\"live\":true}\n")
}

async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let report = state.health.report(now_us());
    let status = if report.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::to_string(&report).unwrap_or_else(|_| "{\"ready\":false}".into());
    (status, [(header::CONTENT_TYPE, "application/json")], body + "\n")
}
