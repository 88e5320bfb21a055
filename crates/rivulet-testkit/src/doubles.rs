//! In-memory stand-ins for a source, a sink and an offsets store, plus a sink wrapper that
//! injects faults: for unit tests of the engine's own rules (when it flushes, when it acks,
//! whose position wins) without a database, a broker or a disk.
//!
//! ```text
//!  MemorySource (scripted batches) ──▶ runtime ──▶ FaultySink<MemorySink> ──▶ SinkLog (shared)
//!        ▲ acks recorded                    └──▶ MemoryOffsets (shared)
//! ```
//!
//! Each double keeps what it saw behind an `Arc<Mutex<…>>` the test holds on to, so the test
//! can hand the double itself to the code under test and still inspect it afterwards.

use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use rivulet_core::{
    ChangeEvent, Checkpoint, ErrorKind, OffsetStore, OffsetsError, Position, Sink, SinkError, Source,
    SourceEnd, SourceError, SourceItem,
};
use tokio::sync::{mpsc, watch};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What a [`MemorySink`] holds.
#[derive(Debug, Default)]
pub struct SinkLog {
    /// Written since the last flush: lost on a crash (dropped by `open` and `close`).
    pub pending: Vec<ChangeEvent>,
    /// Made durable by a flush.
    pub durable: Vec<ChangeEvent>,
    /// The position of every flush, in order.
    pub flushes: Vec<Position>,
    /// The position the sink keeps with its data (an exactly-once sink's), returned by `open`.
    pub own_position: Option<Position>,
}

/// A sink that keeps events in memory and, like an exactly-once sink, its last flushed
/// position with them.
#[derive(Clone, Default)]
pub struct MemorySink {
    pub log: Arc<Mutex<SinkLog>>,
}

impl MemorySink {
    pub fn log(&self) -> MutexGuard<'_, SinkLog> {
        lock(&self.log)
    }
}

#[async_trait]
impl Sink for MemorySink {
    fn name(&self) -> &'static str {
        "memory"
    }

    async fn open(&mut self, _state: Option<serde_json::Value>) -> Result<Option<Position>, SinkError> {
        let mut log = self.log();
        log.pending.clear();
        Ok(log.own_position.clone())
    }

    async fn write(&mut self, events: &[ChangeEvent]) -> Result<(), SinkError> {
        self.log().pending.extend_from_slice(events);
        Ok(())
    }

    async fn flush(&mut self, position: &Position) -> Result<serde_json::Value, SinkError> {
        let mut log = self.log();
        let pending = std::mem::take(&mut log.pending);
        log.durable.extend(pending);
        log.flushes.push(position.clone());
        log.own_position = Some(position.clone());
        Ok(serde_json::json!({ "events": log.durable.len() }))
    }

    async fn close(&mut self) -> Result<(), SinkError> {
        self.log().pending.clear();
        Ok(())
    }
}

/// What a [`FaultySink`] does when its fault comes due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Return an error of this kind.
    Fail(ErrorKind),
    /// Never return (a hung destination).
    Stall,
    /// Abort the process, as `kill -9` would (for tests that run the binary).
    Abort,
}

/// Wraps a sink and injects a fault at the n-th `write` or `flush` (1-based); the calls
/// before it go to the inner sink, the faulty one does not.
pub struct FaultySink<S> {
    pub inner: S,
    at_write: Option<(u64, Fault)>,
    at_flush: Option<(u64, Fault)>,
    writes: u64,
    flushes: u64,
}

impl<S: Sink> FaultySink<S> {
    pub fn new(inner: S) -> Self {
        FaultySink {
            inner,
            at_write: None,
            at_flush: None,
            writes: 0,
            flushes: 0,
        }
    }

    pub fn at_write(mut self, n: u64, fault: Fault) -> Self {
        self.at_write = Some((n, fault));
        self
    }

    pub fn at_flush(mut self, n: u64, fault: Fault) -> Self {
        self.at_flush = Some((n, fault));
        self
    }
}

async fn inject(fault: Fault, call: &str, n: u64) -> SinkError {
    match fault {
        Fault::Fail(ErrorKind::Transient) => SinkError::transient(format!("injected: {call} {n} failed")),
        Fault::Fail(ErrorKind::Definite) => SinkError::definite(format!("injected: {call} {n} failed")),
        Fault::Stall => std::future::pending().await,
        Fault::Abort => std::process::abort(),
    }
}

#[async_trait]
impl<S: Sink> Sink for FaultySink<S> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    async fn open(&mut self, state: Option<serde_json::Value>) -> Result<Option<Position>, SinkError> {
        self.inner.open(state).await
    }

    async fn write(&mut self, events: &[ChangeEvent]) -> Result<(), SinkError> {
        self.writes += 1;
        if let Some((n, fault)) = self.at_write
            && n == self.writes
        {
            return Err(inject(fault, "write", n).await);
        }
        self.inner.write(events).await
    }

    async fn flush(&mut self, position: &Position) -> Result<serde_json::Value, SinkError> {
        self.flushes += 1;
        if let Some((n, fault)) = self.at_flush
            && n == self.flushes
        {
            return Err(inject(fault, "flush", n).await);
        }
        self.inner.flush(position).await
    }

    async fn close(&mut self) -> Result<(), SinkError> {
        self.inner.close().await
    }
}

/// An offsets store in memory: the last checkpoint, and every one stored.
#[derive(Clone, Default)]
pub struct MemoryOffsets {
    pub stored: Arc<Mutex<Vec<Checkpoint>>>,
}

impl MemoryOffsets {
    pub fn stored(&self) -> MutexGuard<'_, Vec<Checkpoint>> {
        lock(&self.stored)
    }
}

#[async_trait]
impl OffsetStore for MemoryOffsets {
    fn describe(&self) -> String {
        "memory".into()
    }

    async fn load(&self) -> Result<Option<Checkpoint>, OffsetsError> {
        Ok(self.stored().last().cloned())
    }

    async fn store(&self, checkpoint: &Checkpoint) -> Result<(), OffsetsError> {
        self.stored().push(checkpoint.clone());
        Ok(())
    }
}

/// A source that sends scripted batches, then records the acknowledgements it gets until the
/// runtime stops listening, and ends with [`SourceEnd::EndPosition`].
pub struct MemorySource {
    pub batches: Vec<Vec<SourceItem>>,
    /// Every acknowledged position, in order.
    pub acks: Arc<Mutex<Vec<Position>>>,
    /// The `resume` position the runtime ran it with.
    pub resumed_from: Arc<Mutex<Option<Option<Position>>>>,
}

impl MemorySource {
    pub fn new(batches: Vec<Vec<SourceItem>>) -> Self {
        MemorySource {
            batches,
            acks: Arc::default(),
            resumed_from: Arc::default(),
        }
    }
}

#[async_trait]
impl Source for MemorySource {
    fn source_id(&self) -> &str {
        "memory"
    }

    fn source_detail(&self) -> &str {
        "scripted batches"
    }

    async fn run(
        self: Box<Self>,
        resume: Option<Position>,
        out: mpsc::Sender<Vec<SourceItem>>,
        mut acks: watch::Receiver<Position>,
        _shutdown: watch::Receiver<bool>,
    ) -> Result<SourceEnd, SourceError> {
        *lock(&self.resumed_from) = Some(resume);
        for batch in self.batches {
            if out.send(batch).await.is_err() {
                return Ok(SourceEnd::ConsumerGone);
            }
        }
        drop(out);
        while acks.changed().await.is_ok() {
            let acked = acks.borrow_and_update().clone();
            lock(&self.acks).push(acked);
        }
        Ok(SourceEnd::EndPosition)
    }
}
