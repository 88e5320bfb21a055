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

use std::time::Duration;

use rivulet_core::{Lsn, Position, SourceItem};
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
    /// Heartbeat records this often, when set (Debezium's `heartbeat.interval.ms`).
    pub heartbeat_interval: Option<Duration>,
    pub endpos: Option<Lsn>,
    /// The highest WAL position received.
    pub received: Lsn,
    /// The highest position the runtime reported durable.
    pub flushed: Lsn,
}

enum Wake {
    Message(Option<ReplicationMessage>),
    Ack,
    AcksClosed,
    Tick,
    Heartbeat,
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
        let end = loop {
            let wake = if batch.is_empty() {
                tokio::select! {
                    biased;
                    _ = self.shutdown.changed() => Wake::Shutdown,
                    r = self.acks.changed() => if r.is_ok() { Wake::Ack } else { Wake::AcksClosed },
                    _ = ticker.tick() => Wake::Tick,
                    () = next_heartbeat(&mut heartbeat) => Wake::Heartbeat,
                    m = self.stream.next() => Wake::Message(m?),
                }
            } else {
                tokio::select! {
                    biased;
                    _ = self.shutdown.changed() => Wake::Shutdown,
                    r = self.acks.changed() => if r.is_ok() { Wake::Ack } else { Wake::AcksClosed },
                    _ = ticker.tick() => Wake::Tick,
                    () = next_heartbeat(&mut heartbeat) => Wake::Heartbeat,
                    m = self.stream.next() => Wake::Message(m?),
                    () = std::future::ready(()) => Wake::Idle,
                }
            };
            match wake {
                Wake::Shutdown => break StreamEnd::Shutdown,
                Wake::AcksClosed => break StreamEnd::ConsumerGone,
                Wake::Ack => {
                    self.flushed = self.acks.borrow_and_update().lsn;
                    self.send_status(false).await?;
                }
                Wake::Tick => self.send_status(self.endpos.is_some()).await?,
                Wake::Heartbeat => {
                    // Between transactions only: a heartbeat never splits one.
                    if !self.builder.in_transaction() {
                        batch.push(self.builder.heartbeat(self.received, now_us()));
                    }
                }
                Wake::Idle => {
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
                    let msg = rivulet_pgoutput::decode(data).map_err(|e| SourceError::Decode {
                        lsn: wal_start,
                        message: e.to_string(),
                    })?;
                    let progress = self
                        .builder
                        .apply(msg, wal_start, server_time_us, &mut self.catalog, &mut batch)
                        .await?;
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
                    if batch.len() >= MAX_BATCH
                        && let Some(end) = self.hand_over(&mut batch, &mut ticker).await?
                    {
                        break end;
                    }
                }
            }
        };
        debug!(?end, "streaming stopped");
        self.finish(batch, end).await
    }

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
