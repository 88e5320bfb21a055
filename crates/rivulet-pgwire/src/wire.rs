//! Message framing over a [`PgStream`]: a persistent read buffer that only ever yields whole
//! backend messages, and a write buffer that is flushed explicitly.
//!
//! Keeping unparsed bytes in the buffer between calls is what makes reads cancel-safe: a read
//! future dropped half-way loses nothing, the bytes wait in `rbuf` for the next call.

use std::collections::HashMap;

use bytes::{Buf, BytesMut};
use postgres_protocol::message::backend::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::transport::PgStream;
use crate::{PgError, ServerError};

/// Reads are at least this big, so a busy stream costs one syscall per many messages.
pub(crate) const READ_CHUNK: usize = 256 * 1024;
/// Below this much free space the buffer is grown (or compacted) before reading.
const MIN_READ_SPACE: usize = 64 * 1024;

/// A backend message as far as we care: what postgres-protocol parses, plus what it does not know.
pub(crate) enum Backend {
    Message(Message),
    /// 'W': the server entered COPY BOTH mode (START_REPLICATION succeeded).
    CopyBothResponse,
}

pub(crate) struct Wire {
    pub stream: PgStream,
    pub rbuf: BytesMut,
    pub wbuf: BytesMut,
    /// ParameterStatus values reported by the server (server_version, TimeZone, ...).
    pub params: HashMap<String, String>,
}

impl Wire {
    pub fn new(stream: PgStream) -> Self {
        Wire {
            stream,
            rbuf: BytesMut::with_capacity(READ_CHUNK),
            wbuf: BytesMut::with_capacity(1024),
            params: HashMap::new(),
        }
    }

    /// Writes out everything in `wbuf`. If cancelled, the unsent rest stays in `wbuf` and goes
    /// out with the next flush, so the stream never carries half a message followed by another.
    pub async fn flush(&mut self, context: &'static str) -> Result<(), PgError> {
        self.stream
            .write_all_buf(&mut self.wbuf)
            .await
            .map_err(|e| PgError::io(context, &e))?;
        self.stream.flush().await.map_err(|e| PgError::io(context, &e))
    }

    /// Reads more bytes into `rbuf`, making room for at least `need` more. Cancel-safe.
    pub async fn fill(&mut self, need: usize, context: &'static str) -> Result<(), PgError> {
        let spare = self.rbuf.capacity() - self.rbuf.len();
        if spare < MIN_READ_SPACE.max(need) {
            // When earlier messages still hold slices of the buffer this allocates a fresh one
            // and copies only the partial message at the end: one allocation per chunk.
            self.rbuf.reserve(READ_CHUNK.max(need));
        }
        let n = self
            .stream
            .read_buf(&mut self.rbuf)
            .await
            .map_err(|e| PgError::io(context, &e))?;
        if n == 0 {
            return Err(PgError::ConnectionClosed { context });
        }
        Ok(())
    }

    /// The length of the whole message at the start of `rbuf` (tag included), if its header
    /// has arrived.
    pub fn frame_len(&self) -> Result<Option<usize>, PgError> {
        if self.rbuf.len() < 5 {
            return Ok(None);
        }
        let len = u32::from_be_bytes([self.rbuf[1], self.rbuf[2], self.rbuf[3], self.rbuf[4]]);
        if !(4..=i32::MAX as u32).contains(&len) {
            return Err(PgError::Protocol(format!(
                "message '{}' has an impossible length {len}",
                char::from(self.rbuf[0])
            )));
        }
        Ok(Some(len as usize + 1))
    }

    /// Receives the next message, handling the asynchronous ones (notices, parameter changes,
    /// notifications) on the way.
    pub async fn recv(&mut self, context: &'static str) -> Result<Backend, PgError> {
        loop {
            match self.frame_len()? {
                Some(total) if self.rbuf.len() >= total => {
                    if let Some(msg) = self.take_frame(total)? {
                        return Ok(msg);
                    }
                }
                Some(total) => self.fill(total - self.rbuf.len(), context).await?,
                None => self.fill(5, context).await?,
            }
        }
    }

    /// Parses the complete frame of `total` bytes at the front of `rbuf`; `None` if it was an
    /// asynchronous message that has been dealt with.
    pub fn take_frame(&mut self, total: usize) -> Result<Option<Backend>, PgError> {
        match self.rbuf[0] {
            b'W' => {
                self.rbuf.advance(total);
                Ok(Some(Backend::CopyBothResponse))
            }
            b'v' => Err(PgError::Protocol(
                "the server refused our protocol version 3.0 (NegotiateProtocolVersion)".to_string(),
            )),
            _ => {
                let msg = Message::parse(&mut self.rbuf)
                    .map_err(|e| PgError::Protocol(format!("malformed message from the server: {e}")))?
                    .ok_or_else(|| PgError::Protocol("incomplete message after a complete frame".into()))?;
                Ok(self.handle_async(msg)?.map(Backend::Message))
            }
        }
    }

    /// Deals with messages the server may send at any time; returns the others.
    pub fn handle_async(&mut self, msg: Message) -> Result<Option<Message>, PgError> {
        match msg {
            Message::NoticeResponse(body) => {
                let notice = ServerError::from_fields(body.fields())?;
                match notice.severity.as_str() {
                    "WARNING" => tracing::warn!(code = %notice.code, "PostgreSQL: {}", notice.message),
                    _ => tracing::debug!(
                        severity = %notice.severity, code = %notice.code, "PostgreSQL: {}", notice.message
                    ),
                }
                Ok(None)
            }
            Message::ParameterStatus(body) => {
                let name = body
                    .name()
                    .map_err(|e| PgError::Protocol(format!("bad ParameterStatus: {e}")))?;
                let value = body
                    .value()
                    .map_err(|e| PgError::Protocol(format!("bad ParameterStatus: {e}")))?;
                self.params.insert(name.to_string(), value.to_string());
                Ok(None)
            }
            Message::NotificationResponse(_) => Ok(None),
            other => Ok(Some(other)),
        }
    }
}

/// The readable name of a message, for "unexpected message" errors.
pub(crate) fn message_name(msg: &Message) -> &'static str {
    match msg {
        Message::AuthenticationOk => "AuthenticationOk",
        Message::BackendKeyData(_) => "BackendKeyData",
        Message::CommandComplete(_) => "CommandComplete",
        Message::CopyData(_) => "CopyData",
        Message::CopyDone => "CopyDone",
        Message::CopyInResponse(_) => "CopyInResponse",
        Message::CopyOutResponse(_) => "CopyOutResponse",
        Message::DataRow(_) => "DataRow",
        Message::EmptyQueryResponse => "EmptyQueryResponse",
        Message::ErrorResponse(_) => "ErrorResponse",
        Message::ReadyForQuery(_) => "ReadyForQuery",
        Message::RowDescription(_) => "RowDescription",
        Message::NoData => "NoData",
        _ => "a message of another kind",
    }
}
