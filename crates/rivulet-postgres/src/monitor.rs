//! Beside the stream, on a connection of its own: watches the replication slot and runs the
//! heartbeat query.
//!
//! ```text
//!  every slot_check_interval: pg_replication_slots ─▶ rivulet_slot_* gauges
//!        retained WAL > warn_retained_wal ─▶ one warning (and one all-clear)
//!        slot dropped or invalidated ─────▶ problems channel ─▶ the stream stops with the fix
//!  every heartbeat_interval:  heartbeat_query ─▶ rivulet_heartbeats_total
//! ```
//!
//! Connection trouble here is only logged: the replication stream notices a dead server
//! itself, and the runtime reconnects. Everything logs once per change of state.

use std::time::Duration;

use rivulet_metrics::metrics::{counter, gauge};
use rivulet_metrics::names;
use rivulet_pgwire::{ConnectionConfig, PgError, connect_sql};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use tracing::{info, warn};

use crate::setup::{self, quote_literal};
use crate::{ResolvedSource, SourceError};

/// A query that takes longer than this counts as failed (the server is stuck or unreachable).
const QUERY_TIMEOUT: Duration = Duration::from_secs(30);

pub struct SlotMonitor {
    connection: ConnectionConfig,
    slot: String,
    warn_retained_wal: u64,
    check_every: Duration,
    heartbeat_query: Option<String>,
    heartbeat_every: Duration,
    problems: mpsc::Sender<SourceError>,
}

/// Stops the monitor when dropped.
pub struct MonitorTask(JoinHandle<()>);

impl Drop for MonitorTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What was last logged, so each state change is logged once.
#[derive(Default)]
struct Logged {
    over_threshold: bool,
    unreserved: bool,
    check_failing: bool,
    heartbeat_failing: bool,
}

impl SlotMonitor {
    pub fn new(resolved: &ResolvedSource, problems: mpsc::Sender<SourceError>) -> Self {
        let c = &resolved.config;
        SlotMonitor {
            connection: resolved.connection.clone(),
            slot: resolved.slot.clone(),
            warn_retained_wal: c.warn_retained_wal,
            check_every: c.slot_check_interval.max(Duration::from_millis(100)),
            heartbeat_query: c
                .heartbeat_query
                .clone()
                .filter(|q| !q.trim().is_empty() && !c.heartbeat_interval.is_zero()),
            heartbeat_every: c.heartbeat_interval.max(Duration::from_millis(100)),
            problems,
        }
    }

    pub fn spawn(self) -> MonitorTask {
        MonitorTask(tokio::spawn(self.run()))
    }

    async fn run(self) {
        let mut client: Option<tokio_postgres::Client> = None;
        let mut logged = Logged::default();
        let mut check = tokio::time::interval(self.check_every);
        check.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut heartbeat = tokio::time::interval_at(
            tokio::time::Instant::now() + self.heartbeat_every,
            self.heartbeat_every,
        );
        heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            let is_check = tokio::select! {
                _ = check.tick() => true,
                _ = heartbeat.tick(), if self.heartbeat_query.is_some() => false,
            };
            if client.as_ref().is_none_or(tokio_postgres::Client::is_closed) {
                client = match connect_sql(&self.connection).await {
                    Ok(c) => Some(c),
                    Err(e) => {
                        self.failed(&mut logged, is_check, &e);
                        continue;
                    }
                };
            }
            let Some(c) = client.as_ref() else { continue };
            let outcome = if is_check {
                self.check(c, &mut logged).await
            } else {
                self.heartbeat(c, &mut logged).await
            };
            match outcome {
                Ok(()) => {}
                Err(Stop(e)) => {
                    let _ = self.problems.send(e).await;
                    return;
                }
            }
        }
    }

    fn failed(&self, logged: &mut Logged, is_check: bool, e: &PgError) {
        let flag = if is_check {
            &mut logged.check_failing
        } else {
            &mut logged.heartbeat_failing
        };
        if !std::mem::replace(flag, true) {
            warn!(slot = %self.slot, "cannot {}: {e} (retrying)", if is_check { "check the replication slot" } else { "run heartbeat_query" });
        }
    }

    async fn check(&self, client: &tokio_postgres::Client, logged: &mut Logged) -> Result<(), Stop> {
        let found = match tokio::time::timeout(QUERY_TIMEOUT, setup::find_slot(client, &self.slot)).await {
            Ok(Ok(found)) => found,
            Ok(Err(SourceError::Pg(e))) => {
                self.failed(logged, true, &e);
                return Ok(());
            }
            Ok(Err(e)) => {
                warn!(slot = %self.slot, "cannot check the replication slot: {e}");
                return Ok(());
            }
            Err(_) => {
                self.failed(logged, true, &PgError::Client("the query timed out".into()));
                return Ok(());
            }
        };
        if std::mem::take(&mut logged.check_failing) {
            info!(slot = %self.slot, "checking the replication slot works again");
        }
        let q = quote_literal(&self.slot);
        let Some(slot) = found else {
            return Err(Stop(SourceError::Setup(format!(
                "replication slot {q} was dropped while the pipeline ran: changes since then are gone. Start over \
                 with snapshot = \"when_needed\" (a new snapshot) or move the offsets away"
            ))));
        };
        if slot.wal_status.as_deref() == Some("lost") {
            return Err(Stop(SourceError::Setup(format!(
                "replication slot {q} was invalidated: the server removed WAL it still needed (max_slot_wal_keep_size). \
                 Changes since its position are gone: restart with snapshot = \"when_needed\" to take a new snapshot, \
                 or drop the slot with SELECT pg_drop_replication_slot({q}); and start over"
            ))));
        }
        let unreserved = slot.wal_status.as_deref() == Some("unreserved");
        if unreserved != logged.unreserved {
            logged.unreserved = unreserved;
            if unreserved {
                warn!(slot = %self.slot, "the slot's WAL is past max_slot_wal_keep_size: the server will invalidate the slot at its next checkpoint unless the pipeline catches up");
            }
        }
        gauge!(names::SLOT_ACTIVE).set(if slot.active_pid.is_some() { 1.0 } else { 0.0 });
        let retained = u64::try_from(slot.retained_bytes.unwrap_or(0)).unwrap_or(0);
        gauge!(names::SLOT_RETAINED_WAL).set(retained as f64);
        let over = retained > self.warn_retained_wal;
        gauge!(names::SLOT_RETAINED_WAL_WARNING).set(if over { 1.0 } else { 0.0 });
        if over != logged.over_threshold {
            logged.over_threshold = over;
            if over {
                warn!(slot = %self.slot, retained_bytes = retained, warn_retained_wal = self.warn_retained_wal,
                      "the slot retains more WAL than warn_retained_wal: the pipeline is behind or stopped reading; the server's disk fills until it catches up");
            } else {
                info!(slot = %self.slot, retained_bytes = retained, "the slot's retained WAL is below warn_retained_wal again");
            }
        }
        Ok(())
    }

    async fn heartbeat(&self, client: &tokio_postgres::Client, logged: &mut Logged) -> Result<(), Stop> {
        let Some(query) = &self.heartbeat_query else {
            return Ok(());
        };
        match tokio::time::timeout(QUERY_TIMEOUT, client.batch_execute(query)).await {
            Ok(Ok(())) => {
                counter!(names::HEARTBEATS).increment(1);
                if std::mem::take(&mut logged.heartbeat_failing) {
                    info!("heartbeat_query works again");
                }
                Ok(())
            }
            Ok(Err(e)) => {
                let e = PgError::from(e);
                if e.is_transient() {
                    self.failed(logged, false, &e);
                    Ok(())
                } else {
                    Err(Stop(SourceError::Setup(format!(
                        "source.heartbeat_query failed: {e} (fix the query, grant what it needs, or remove heartbeat_query)"
                    ))))
                }
            }
            Err(_) => {
                self.failed(logged, false, &PgError::Client("the query timed out".into()));
                Ok(())
            }
        }
    }
}

/// A problem that stops the pipeline.
struct Stop(SourceError);
