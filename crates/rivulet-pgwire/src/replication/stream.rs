//! The streaming half of a replication connection (COPY BOTH mode): WAL data and keepalives in,
//! standby status updates out.
//!
//! This is the product's hot path. Bytes arrive in big reads into one persistent buffer; each
//! XLogData payload is handed out as a slice of that buffer (no copy, no allocation beyond the
//! `Bytes` handle), and a message is only taken from the buffer once all of it has arrived, which
//! also makes [`ReplicationStream::next`] cancel-safe.

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{Buf, BufMut, Bytes};
use postgres_protocol::message::backend::Message;
use postgres_protocol::message::frontend;
use rivulet_core::Lsn;
use tokio::io::AsyncWriteExt;

use crate::wire::{Backend, Wire, message_name};
use crate::{PgError, ServerError};

/// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01 00:00:00 UTC).
const PG_EPOCH_OFFSET_US: i64 = 946_684_800_000_000;

const CONTEXT: &str = "streaming changes";

/// One message of the replication stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplicationMessage {
    /// A chunk of output-plugin data (for pgoutput: one protocol message).
    XLogData {
        wal_start: Lsn,
        wal_end: Lsn,
        /// The server's clock when it sent this, microseconds since the Unix epoch.
        server_time_us: i64,
        data: Bytes,
    },
    /// The server's heartbeat; answer with [`ReplicationStream::send_status`] when
    /// `reply_requested`, or the server disconnects after `wal_sender_timeout`.
    Keepalive {
        wal_end: Lsn,
        server_time_us: i64,
        reply_requested: bool,
    },
}

/// A replication connection in streaming mode, from [`crate::ReplicationConnection::start_logical_replication`].
pub struct ReplicationStream {
    wire: Wire,
    /// The server, for logs.
    redacted: String,
    /// The server sent CopyDone: no more stream messages will come.
    server_done: bool,
    /// We sent CopyDone.
    client_done: bool,
}

impl ReplicationStream {
    pub(crate) fn new(wire: Wire, redacted: String) -> Self {
        ReplicationStream {
            wire,
            redacted,
            server_done: false,
            client_done: false,
        }
    }

    /// The next message, or `None` once the server has ended the stream (it does so when it
    /// shuts down, after we confirmed everything it sent).
    ///
    /// Cancel-safe: dropping the future before it completes loses no data, so this can sit in
    /// `tokio::select!` next to timers and shutdown signals.
    pub async fn next(&mut self) -> Result<Option<ReplicationMessage>, PgError> {
        loop {
            if self.server_done {
                return Ok(None);
            }
            match self.wire.frame_len()? {
                Some(total) if self.wire.rbuf.len() >= total => {
                    if let Some(msg) = self.take_message(total)? {
                        return Ok(Some(msg));
                    }
                }
                // The only await point: a cancelled read leaves `rbuf` as it was.
                Some(total) => self.wire.fill(total - self.wire.rbuf.len(), CONTEXT).await?,
                None => self.wire.fill(5, CONTEXT).await?,
            }
        }
    }

    /// Takes the complete message of `total` bytes off the buffer; `None` for messages that are
    /// not stream data (notices, the server's CopyDone).
    fn take_message(&mut self, total: usize) -> Result<Option<ReplicationMessage>, PgError> {
        let rbuf = &mut self.wire.rbuf;
        match rbuf[0] {
            b'd' => {
                let mut body = &rbuf[5..total];
                match body.first() {
                    // 'w', wal_start, wal_end, send_time, then the payload.
                    Some(b'w') if body.len() >= XLOG_DATA_HEADER => {
                        body.advance(1);
                        let wal_start = Lsn(body.get_u64());
                        let wal_end = Lsn(body.get_u64());
                        let server_time_us = body.get_i64().saturating_add(PG_EPOCH_OFFSET_US);
                        rbuf.advance(5 + XLOG_DATA_HEADER);
                        let data = rbuf.split_to(total - 5 - XLOG_DATA_HEADER).freeze();
                        Ok(Some(ReplicationMessage::XLogData {
                            wal_start,
                            wal_end,
                            server_time_us,
                            data,
                        }))
                    }
                    // 'k', wal_end, send_time, reply_requested.
                    Some(b'k') if body.len() >= 18 => {
                        body.advance(1);
                        let wal_end = Lsn(body.get_u64());
                        let server_time_us = body.get_i64().saturating_add(PG_EPOCH_OFFSET_US);
                        let reply_requested = body.get_u8() != 0;
                        rbuf.advance(total);
                        Ok(Some(ReplicationMessage::Keepalive {
                            wal_end,
                            server_time_us,
                            reply_requested,
                        }))
                    }
                    Some(&kind) => Err(PgError::Protocol(format!(
                        "unknown or truncated replication message '{}' ({} bytes)",
                        char::from(kind),
                        body.len()
                    ))),
                    None => Err(PgError::Protocol(
                        "empty CopyData in the replication stream".to_string(),
                    )),
                }
            }
            b'c' => {
                rbuf.advance(total);
                self.server_done = true;
                tracing::debug!(server = %self.redacted, "the server ended the replication stream");
                Ok(None)
            }
            // Anything else is rare; let the general parser deal with it.
            _ => match self.wire.take_frame(total)? {
                None => Ok(None),
                // A walsender that shuts down ends the stream with CommandComplete alone, without
                // CopyDone, once we have confirmed everything it sent.
                Some(Backend::Message(Message::CommandComplete(_))) => {
                    self.server_done = true;
                    tracing::debug!(server = %self.redacted, "the server ended the replication stream (shutting down)");
                    Ok(None)
                }
                Some(Backend::Message(Message::ErrorResponse(body))) => Err(PgError::Server(Box::new(
                    ServerError::from_fields(body.fields())?,
                ))),
                Some(Backend::Message(other)) => Err(PgError::Protocol(format!(
                    "unexpected {} in the replication stream",
                    message_name(&other)
                ))),
                Some(Backend::CopyBothResponse) => Err(PgError::Protocol(
                    "unexpected CopyBothResponse in the replication stream".to_string(),
                )),
            },
        }
    }

    /// Tells the server how far we have got: `written` and `flushed` (durably stored, so the
    /// server may recycle WAL before it and the slot's confirmed_flush_lsn moves) and `applied`.
    /// With `reply_requested` the server answers with a keepalive.
    ///
    /// If this future is dropped mid-write, the rest of the message is sent by the next call.
    pub async fn send_status(
        &mut self,
        written: Lsn,
        flushed: Lsn,
        applied: Lsn,
        reply_requested: bool,
    ) -> Result<(), PgError> {
        let w = &mut self.wire.wbuf;
        w.put_u8(b'd');
        w.put_u32(4 + 1 + 8 + 8 + 8 + 8 + 1);
        w.put_u8(b'r');
        w.put_u64(written.0);
        w.put_u64(flushed.0);
        w.put_u64(applied.0);
        w.put_i64(now_pg_epoch_us());
        w.put_u8(u8::from(reply_requested));
        self.wire.flush("sending a status update").await
    }

    /// Ends streaming politely: CopyDone, then waits for the server to finish (skipping any WAL
    /// data still in flight) and closes the session with Terminate.
    pub async fn finish(mut self) -> Result<(), PgError> {
        match self.end_copy().await {
            // A server that ended the stream because it is shutting down may be gone already.
            Err(PgError::ConnectionClosed { .. } | PgError::Io { .. }) if self.server_done => Ok(()),
            other => other,
        }
    }

    async fn end_copy(&mut self) -> Result<(), PgError> {
        const FINISH: &str = "ending replication";
        if !self.client_done {
            frontend::copy_done(&mut self.wire.wbuf);
            self.client_done = true;
            self.wire.flush(FINISH).await?;
        }
        loop {
            let msg = match self.wire.recv(FINISH).await? {
                Backend::Message(msg) => msg,
                Backend::CopyBothResponse => {
                    return Err(PgError::Protocol(
                        "unexpected CopyBothResponse after CopyDone".to_string(),
                    ));
                }
            };
            match msg {
                Message::CopyData(_) | Message::RowDescription(_) | Message::DataRow(_) => {}
                Message::CopyDone | Message::CommandComplete(_) => self.server_done = true,
                Message::ReadyForQuery(_) => break,
                Message::ErrorResponse(body) => {
                    return Err(PgError::Server(Box::new(ServerError::from_fields(
                        body.fields(),
                    )?)));
                }
                other => {
                    return Err(PgError::Protocol(format!(
                        "unexpected {} while ending replication",
                        message_name(&other)
                    )));
                }
            }
        }
        frontend::terminate(&mut self.wire.wbuf);
        self.wire.flush(FINISH).await?;
        // The server closes its side on Terminate; a failed shutdown changes nothing for us.
        let _ = self.wire.stream.shutdown().await;
        Ok(())
    }
}

impl std::fmt::Debug for ReplicationStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplicationStream")
            .field("server", &self.redacted)
            .field("buffered_bytes", &self.wire.rbuf.len())
            .field("server_done", &self.server_done)
            .finish_non_exhaustive()
    }
}

/// Bytes of an XLogData message before its payload: 'w', wal_start, wal_end, send_time.
const XLOG_DATA_HEADER: usize = 1 + 8 + 8 + 8;

fn now_pg_epoch_us() -> i64 {
    let since_unix = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since_unix.as_micros()).unwrap_or(i64::MAX) - PG_EPOCH_OFFSET_US
}
