//! The streaming loop: reads the replication connection, turns messages into batches of
//! events, and reports the durable position back to the server.
//!
//! ```text
//!   server ──XLogData──▶ decode ──▶ ChangeBuilder ──▶ batch ──(bounded channel)──▶ runtime / sink
//!      ▲                                                                               │
//!      └──── standby status (flush = durable LSN) ◀──── acks (watch) ◀─────────────────┘
//! ```
//!
//! Three things happen in one task, so nothing needs a lock: reading, batching, and status
//! updates. A full channel (slow sink) stops the reading, not the status updates, so the server
//! never times us out while we wait. The flush position sent to the server is only ever what
//! the runtime acknowledged as durable: the one rule of correctness.
//!
//! Heartbeats keep an idle slot moving: when no change arrived for a `heartbeat_interval`, the
//! position the server last said it has sent (keepalive `wal_end`: everything before it was
//! decoded, and nothing in it was captured) goes to the runtime as a `Commit` without events.
//! The runtime checkpoints it like any transaction, so the slot's confirmed position follows
//! and the server recycles WAL written by tables outside the publication.

use std::time::Duration;

use rivulet_core::{Lsn, Position, SourceItem};
use rivulet_metrics::metrics::{Counter, Gauge, counter, gauge};
use rivulet_metrics::names;
use rivulet_pgwire::{ReplicationMessage, ReplicationStream};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior};
use tracing::{debug, info};

use crate::SourceError;
use crate::catalog::Catalog;
use crate::changes::{ChangeBuilder, Progress};

/// Up to this many items go into one channel message: big enough to amortise the channel, small
/// enough that memory stays flat (a few MB) whatever the backlog.
const MAX_BATCH: usize = 2048;

/// How long to wait for the runtime's final acknowledgement at shutdown.
const FINAL_ACK_TIMEOUT: Duration = Duration::from_secs(30);

/// Waits for the next heartbeat, or forever when heartbeats are off.
async fn next_heartbeat(heartbeat: &mut Option<tokio::time::Interval>) {
    match heartbeat {
        Some(t) => {
            t.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// Waits for a problem the slot monitor found, or forever.
async fn next_problem(problems: &mut mpsc::Receiver<SourceError>) -> SourceError {
    match problems.recv().await {
        Some(e) => e,
        None => std::future::pending().await,
    }
}

fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// Why streaming stopped (without an error).
pub use rivulet_core::SourceEnd as StreamEnd;

pub(crate) struct StreamLoop {
    pub stream: ReplicationStream,
    pub catalog: Catalog,
    pub builder: ChangeBuilder,
    pub out: mpsc::Sender<Vec<SourceItem>>,
    pub acks: watch::Receiver<Position>,
    pub shutdown: watch::Receiver<bool>,
    pub status_interval: Duration,
    /// Heartbeats this often, when set.
    pub heartbeat_interval: Option<Duration>,
    /// A Debezium heartbeat record with every heartbeat.
    pub heartbeat_records: bool,
    pub endpos: Option<Lsn>,
    /// The highest WAL position received.
    pub received: Lsn,
    /// The highest position the runtime reported durable.
    pub flushed: Lsn,
    /// The highest position handed to the runtime (a commit's end, or an idle position).
    pub emitted: Lsn,
    /// Problems the slot monitor found (slot dropped or invalidated): they end the stream.
    pub problems: mpsc::Receiver<SourceError>,
}

/// Metric handles, looked up once.
struct Meters {
    source_lsn: Gauge,
    bytes: Counter,
    heartbeats: Counter,
    /// Payload bytes read since they were last added to `bytes`.
    unreported_bytes: u64,
}

enum Wake {
    Message(Option<ReplicationMessage>),
    Ack,
    AcksClosed,
    Tick,
    Heartbeat,
    Problem(SourceError),
    Shutdown,
    /// Nothing is ready right now: a good moment to hand over the batch.
    Idle,
}

impl StreamLoop {
    pub async fn run(mut self) -> Result<StreamEnd, SourceError> {
        let mut ticker =
            tokio::time::interval_at(Instant::now() + self.status_interval, self.status_interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut batch: Vec<SourceItem> = Vec::with_capacity(MAX_BATCH);
        let mut heartbeat = self.heartbeat_interval.map(|every| {
            let mut t = tokio::time::interval_at(Instant::now() + every, every);
            t.set_missed_tick_behavior(MissedTickBehavior::Delay);
            t
        });
        if self.endpos.is_some() {
            // Ask for a keepalive right away: it tells us where the server's WAL ends, which
            // is how an idle stream learns it has nothing before --endpos.
            self.send_status(true).await?;
        }
        let mut meters = Meters {
            source_lsn: gauge!(names::SOURCE_LSN),
            bytes: counter!(names::SOURCE_BYTES),
            heartbeats: counter!(names::HEARTBEATS),
            unreported_bytes: 0,
        };
        // Whether change data arrived since the last heartbeat: only a stream without any is idle.
        let mut data_since_heartbeat = false;
        let end = loop {
            let wake = if batch.is_empty() {
                tokio::select! {
                    biased;
                    _ = self.shutdown.changed() => Wake::Shutdown,
                    r = self.acks.changed() => if r.is_ok() { Wake::Ack } else { Wake::AcksClosed },
                    _ = ticker.tick() => Wake::Tick,
                    () = next_heartbeat(&mut heartbeat) => Wake::Heartbeat,
                    e = next_problem(&mut self.problems) => Wake::Problem(e),
                    m = self.stream.next() => Wake::Message(m?),
                }
            } else {
                tokio::select! {
                    biased;
                    _ = self.shutdown.changed() => Wake::Shutdown,
                    r = self.acks.changed() => if r.is_ok() { Wake::Ack } else { Wake::AcksClosed },
                    _ = ticker.tick() => Wake::Tick,
                    () = next_heartbeat(&mut heartbeat) => Wake::Heartbeat,
                    e = next_problem(&mut self.problems) => Wake::Problem(e),
                    m = self.stream.next() => Wake::Message(m?),
                    () = std::future::ready(()) => Wake::Idle,
                }
            };
            match wake {
                Wake::Problem(e) => return Err(e),
                Wake::Shutdown => break StreamEnd::Shutdown,
                Wake::AcksClosed => break StreamEnd::ConsumerGone,
                Wake::Ack => {
                    self.flushed = self.acks.borrow_and_update().lsn;
                    self.send_status(false).await?;
                }
                Wake::Tick => {
                    meters.source_lsn.set(names::lsn_value(self.received.0));
                    self.send_status(self.endpos.is_some()).await?;
                }
                Wake::Heartbeat => {
                    // Between transactions only: a heartbeat never splits one.
                    if !self.builder.in_transaction() {
                        let idle = !std::mem::take(&mut data_since_heartbeat);
                        let now = now_us();
                        if self.heartbeat_records {
                            batch.push(self.builder.heartbeat(self.received, now));
                        }
                        if idle || self.heartbeat_records {
                            // An idle stream is caught up: its commit time is now (so lag
                            // stays small while nothing changes).
                            let lsn = self.received.max(self.emitted);
                            let position = self.builder.idle_position(lsn, idle.then_some(now));
                            batch.push(SourceItem::Commit(position));
                            self.emitted = lsn;
                            meters.heartbeats.increment(1);
                        }
                        if idle {
                            // Ask where the server's WAL is: the next heartbeat confirms it.
                            self.send_status(true).await?;
                        }
                    }
                }
                Wake::Idle => {
                    meters.flush_bytes();
                    meters.source_lsn.set(names::lsn_value(self.received.0));
                    if let Some(end) = self.hand_over(&mut batch, &mut ticker).await? {
                        break end;
                    }
                }
                Wake::Message(None) => break StreamEnd::ServerEnded,
                Wake::Message(Some(ReplicationMessage::Keepalive {
                    wal_end,
                    reply_requested,
                    ..
                })) => {
                    self.received = self.received.max(wal_end);
                    if reply_requested {
                        self.send_status(false).await?;
                    }
                    if let Some(endpos) = self.endpos
                        && wal_end >= endpos
                        && !self.builder.in_transaction()
                    {
                        break StreamEnd::EndPosition;
                    }
                }
                Wake::Message(Some(ReplicationMessage::XLogData {
                    wal_start,
                    wal_end,
                    server_time_us,
                    data,
                })) => {
                    self.received = self.received.max(wal_end).max(wal_start);
                    data_since_heartbeat = true;
                    meters.unreported_bytes += data.len() as u64;
                    let msg = rivulet_pgoutput::decode(data).map_err(|e| SourceError::Decode {
                        lsn: wal_start,
                        message: e.to_string(),
                    })?;
                    let progress = self
                        .builder
                        .apply(msg, wal_start, server_time_us, &mut self.catalog, &mut batch)
                        .await?;
                    if let Progress::Completed { end } = progress {
                        self.emitted = self.emitted.max(end);
                    }
                    if let Some(endpos) = self.endpos {
                        match progress {
                            // A transaction committing at or after --endpos is not delivered.
                            Progress::Began { commit_lsn } if commit_lsn >= endpos => {
                                break StreamEnd::EndPosition;
                            }
                            Progress::Completed { end } if end >= endpos => break StreamEnd::EndPosition,
                            _ => {}
                        }
                    }
                    if batch.len() >= MAX_BATCH {
                        meters.flush_bytes();
                        if let Some(end) = self.hand_over(&mut batch, &mut ticker).await? {
                            break end;
                        }
                    }
                }
            }
        };
        meters.flush_bytes();
        debug!(?end, "streaming stopped");
        self.finish(batch, end).await
    }
}

impl Meters {
    fn flush_bytes(&mut self) {
        if self.unreported_bytes > 0 {
            self.bytes.increment(std::mem::take(&mut self.unreported_bytes));
        }
    }
}

impl StreamLoop {
    /// Sends the batch to the runtime, waiting for room while still answering the server.
    async fn hand_over(
        &mut self,
        batch: &mut Vec<SourceItem>,
        ticker: &mut tokio::time::Interval,
    ) -> Result<Option<StreamEnd>, SourceError> {
        enum Step {
            Sent,
            Gone,
            Shutdown,
            Report,
        }
        loop {
            let step = tokio::select! {
                biased;
                permit = self.out.reserve() => match permit {
                    Ok(permit) => {
                        permit.send(std::mem::replace(batch, Vec::with_capacity(MAX_BATCH)));
                        Step::Sent
                    }
                    Err(_) => Step::Gone,
                },
                _ = self.shutdown.changed() => Step::Shutdown,
                r = self.acks.changed() => match r {
                    Ok(()) => {
                        self.flushed = self.acks.borrow_and_update().lsn;
                        Step::Report
                    }
                    Err(_) => Step::Gone,
                },
                _ = ticker.tick() => Step::Report,
            };
            match step {
                Step::Sent => return Ok(None),
                Step::Gone => return Ok(Some(StreamEnd::ConsumerGone)),
                Step::Shutdown => return Ok(Some(StreamEnd::Shutdown)),
                // Waiting for room must not starve the server of status updates.
                Step::Report => self.send_status(false).await?,
            }
        }
    }

    async fn send_status(&mut self, reply_requested: bool) -> Result<(), SourceError> {
        let written = self.received.max(self.flushed);
        self.stream
            .send_status(written, self.flushed, self.flushed, reply_requested)
            .await?;
        Ok(())
    }

    /// Hands over what is left, lets the runtime make it durable, reports the final position
    /// and closes the replication stream cleanly.
    async fn finish(mut self, mut batch: Vec<SourceItem>, end: StreamEnd) -> Result<StreamEnd, SourceError> {
        // Events after the last commit belong to a transaction we stopped reading in the
        // middle of; they are delivered whole on the next run.
        let complete = batch
            .iter()
            .rposition(|i| matches!(i, SourceItem::Commit(_)))
            .map_or(0, |p| p + 1);
        batch.truncate(complete);
        if end != StreamEnd::ConsumerGone && !batch.is_empty() {
            let _ = self.out.send(batch).await;
        }
        // Closing the channel tells the runtime to flush and checkpoint one last time; its
        // last acknowledgement arrives before it drops the ack sender.
        drop(self.out);
        let deadline = Instant::now() + FINAL_ACK_TIMEOUT;
        loop {
            match tokio::time::timeout_at(deadline, self.acks.changed()).await {
                Ok(Ok(())) => self.flushed = self.acks.borrow_and_update().lsn,
                Ok(Err(_)) => {
                    self.flushed = self.acks.borrow().lsn;
                    break;
                }
                Err(_) => break,
            }
        }
        if end != StreamEnd::ServerEnded {
            self.stream
                .send_status(self.received.max(self.flushed), self.flushed, self.flushed, false)
                .await?;
            self.stream.finish().await?;
        }
        info!(confirmed = %self.flushed, "replication stream closed");
        Ok(end)
    }
}
