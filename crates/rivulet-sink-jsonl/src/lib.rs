//! The JSONL sink: one line per event, `{"topic": …, "key": …, "value": …}`, the same line
//! format `../shared/anchors` writes for Debezium, so the two can be compared line by line.
//!
//! ```text
//!  write(events) ─▶ encode into a buffer ─▶ write(2) when the buffer is big
//!  flush(pos)    ─▶ write the rest ─▶ fsync ─▶ state {"file_length": N}  (the runtime stores it with pos)
//!  open(state)   ─▶ truncate the file to N: bytes beyond it belong to a transaction that was
//!                   never checkpointed and will be delivered again
//! ```
//!
//! That truncate-on-open is what makes the file exactly-once across `kill -9`: the offsets
//! store records (position, file length) atomically, and a restart resumes both together. On a
//! pipeline's first start the runtime records the file's length before the first event (a
//! `flush` with nothing written), so a crash before the first real checkpoint is cut back too.
//! With `path = "-"` events go to stdout: at-least-once, nothing to truncate.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use rivulet_core::{ChangeEvent, Position, Sink, SinkError};
use rivulet_format::RecordEncoder;
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

/// `[sink]` settings for `type = "jsonl"`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonlSinkConfig {
    /// The output file (parent directories are created), or `-` for stdout.
    pub path: String,
}

impl JsonlSinkConfig {
    /// `path = "-"`: what was written cannot be taken back, so no state restores it.
    pub fn is_stdout(&self) -> bool {
        self.path == "-"
    }
}

/// Encoded bytes are written once the buffer holds this much: few syscalls, bounded memory.
const WRITE_CHUNK: usize = 1 << 20;

#[derive(Serialize, Deserialize)]
struct State {
    file_length: u64,
}

struct OutputFile {
    path: PathBuf,
    file: Option<File>,
    /// Bytes known durable (fsynced and recorded at a checkpoint).
    flushed_len: u64,
    /// Bytes handed to the OS.
    written_len: u64,
}

enum Output {
    File(OutputFile),
    Stdout,
}

pub struct JsonlSink {
    encoder: Box<dyn RecordEncoder>,
    output: Output,
    buf: Vec<u8>,
}

impl JsonlSink {
    pub fn new(config: &JsonlSinkConfig, encoder: Box<dyn RecordEncoder>) -> Self {
        let output = if config.is_stdout() {
            Output::Stdout
        } else {
            Output::File(OutputFile {
                path: PathBuf::from(&config.path),
                file: None,
                flushed_len: 0,
                written_len: 0,
            })
        };
        JsonlSink {
            encoder,
            output,
            buf: Vec::with_capacity(WRITE_CHUNK + 64 * 1024),
        }
    }

    /// Hands the buffer to the OS. Plain blocking writes: they only copy into the page cache,
    /// which costs less than a round trip through a blocking-pool thread for every chunk.
    fn write_out(&mut self) -> Result<(), SinkError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        match &mut self.output {
            Output::File(out) => {
                let f = out
                    .file
                    .as_mut()
                    .ok_or_else(|| SinkError::definite("jsonl sink used before open"))?;
                f.write_all(&self.buf)
                    .map_err(|e| SinkError::io(format!("cannot write {}", out.path.display()), e))?;
                out.written_len += self.buf.len() as u64;
            }
            Output::Stdout => {
                std::io::stdout()
                    .lock()
                    .write_all(&self.buf)
                    .map_err(|e| SinkError::io("cannot write to stdout", e))?;
            }
        }
        self.buf.clear();
        Ok(())
    }
}

fn open_file(path: &Path, state: Option<State>) -> Result<(File, u64), SinkError> {
    let shown = path.display();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| SinkError::io(format!("cannot create directory {}", dir.display()), e))?;
    }
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(path)
        .map_err(|e| SinkError::io(format!("cannot open {shown}"), e))?;
    let len = file
        .metadata()
        .map_err(|e| SinkError::io(format!("cannot stat {shown}"), e))?
        .len();
    let Some(state) = state else {
        if len > 0 {
            info!(path = %shown, bytes = len, "appending to an existing file (no offsets recorded for it yet)");
        }
        return Ok((file, len));
    };
    if len < state.file_length {
        return Err(SinkError::definite(format!(
            "{shown} is {len} bytes but the offsets say {} bytes were written and made durable: the file was truncated or \
             replaced. Restore it, or delete the offsets file to start over",
            state.file_length
        )));
    }
    if len > state.file_length {
        warn!(path = %shown, bytes = len - state.file_length,
              "discarding the tail of an unfinished transaction; it is delivered again");
        file.set_len(state.file_length)
            .map_err(|e| SinkError::io(format!("cannot truncate {shown}"), e))?;
        file.sync_all()
            .map_err(|e| SinkError::io(format!("cannot sync {shown}"), e))?;
    }
    Ok((file, state.file_length))
}

#[async_trait]
impl Sink for JsonlSink {
    fn name(&self) -> &'static str {
        "jsonl"
    }

    async fn open(&mut self, state: Option<serde_json::Value>) -> Result<Option<Position>, SinkError> {
        let state: Option<State> = match state {
            Some(v) if !v.is_null() => Some(serde_json::from_value(v).map_err(|e| {
                SinkError::definite(format!(
                    "the offsets file's jsonl sink state is unreadable ({e}); delete the offsets file to start over"
                ))
            })?),
            _ => None,
        };
        if let Output::File(out) = &mut self.output {
            let (f, len) = open_file(&out.path, state)?;
            out.file = Some(f);
            out.flushed_len = len;
            out.written_len = len;
        }
        Ok(None)
    }

    async fn write(&mut self, events: &[ChangeEvent]) -> Result<(), SinkError> {
        for event in events {
            self.encoder.write_jsonl(event, &mut self.buf);
            if self.buf.len() >= WRITE_CHUNK {
                self.write_out()?;
            }
        }
        // Hand the rest to the OS now rather than at the next checkpoint: readers of the file
        // (tail -f, a test, a benchmark) see events as soon as they arrive. The runtime calls
        // write() once per batch or transaction, so this stays one syscall per call.
        self.write_out()
    }

    async fn flush(&mut self, _position: &Position) -> Result<serde_json::Value, SinkError> {
        self.write_out()?;
        match &mut self.output {
            Output::File(out) => {
                let f = out
                    .file
                    .as_ref()
                    .ok_or_else(|| SinkError::definite("jsonl sink used before open"))?;
                let sync_error = |e| SinkError::io(format!("cannot sync {}", out.path.display()), e);
                // fsync can take a while: keep it off the async worker threads.
                let handle = f.try_clone().map_err(sync_error)?;
                tokio::task::spawn_blocking(move || handle.sync_data())
                    .await
                    .map_err(|e| SinkError::definite(format!("fsync task failed: {e}")))?
                    .map_err(sync_error)?;
                out.flushed_len = out.written_len;
                Ok(serde_json::json!({ "file_length": out.flushed_len }))
            }
            Output::Stdout => {
                std::io::stdout()
                    .lock()
                    .flush()
                    .map_err(|e| SinkError::io("cannot write to stdout", e))?;
                Ok(serde_json::Value::Null)
            }
        }
    }

    async fn close(&mut self) -> Result<(), SinkError> {
        self.buf.clear();
        if let Output::File(out) = &mut self.output
            && let Some(f) = out.file.take()
            && out.written_len > out.flushed_len
        {
            // Leave a clean file behind: whatever follows the last checkpoint is an
            // unfinished transaction that the next run delivers again.
            let shown = out.path.display();
            f.set_len(out.flushed_len)
                .map_err(|e| SinkError::io(format!("cannot truncate {shown}"), e))?;
            f.sync_all()
                .map_err(|e| SinkError::io(format!("cannot sync {shown}"), e))?;
        }
        Ok(())
    }
}
