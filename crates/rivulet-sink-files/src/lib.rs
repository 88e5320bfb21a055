//! The files sink: change events as CSV or Parquet files in a data lake (local disk or S3),
//! snapshot rows under `full/`, changes under `inc/`, in Hive partitions.
//!
//! ```text
//!  write(events) ─▶ one OpenFile per (table, full|inc, partition) ─▶ rolled at max_rows / max_bytes /
//!                   max_interval or a schema change:  _inflight.json += path ─▶ upload the file
//!  flush(pos)    ─▶ roll every open file ─▶ _watermark.json = {pos, next file seq} ─▶ state {next_seq}
//!  open(state)   ─▶ read _watermark.json, delete the files _inflight.json lists beyond it
//!                   ─▶ resume from the watermark's position (it wins over the offsets store)
//! ```
//!
//! Exactly once: a file is only ever uploaded whole (one PUT, or a multipart upload that
//! appears at completion), and the watermark is written only after every file before it is
//! uploaded. Files uploaded after the last watermark belong to changes that will be delivered
//! again, so a restart removes them first; the replay then writes them again under the same
//! names (the file counter restarts from the watermark's). Nothing is acknowledged to the
//! source before its watermark is written.

mod config;
mod layout;
mod store;
mod writer;

use std::collections::HashSet;

use async_trait::async_trait;
use rivulet_core::{Change, ChangeEvent, Op, Position, Sink, SinkError, TableId};
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

pub use config::{ArrayMode, Compression, FileFormat, FilesSinkConfig, Secret};
pub use layout::{Kind, PartitionTemplate};
pub use store::MULTIPART_THRESHOLD;

use layout::{FileSpan, data_path, inflight_path, watermark_path};
use store::Store;
use writer::{Encoding, OpenFile};

/// `_watermark.json`: everything up to `position` is in files numbered below `next_seq`.
#[derive(Serialize, Deserialize)]
struct Watermark {
    /// The position's LSN, PostgreSQL-style, for people and scripts reading the lake.
    lsn: String,
    next_seq: u64,
    position: Position,
}

/// `_inflight.json`: files uploaded since the watermark whose `next_seq` was `after_seq`.
#[derive(Serialize, Deserialize)]
struct Inflight {
    after_seq: u64,
    files: Vec<String>,
}

/// What the offsets store keeps with each checkpoint.
#[derive(Serialize, Deserialize)]
struct State {
    next_seq: u64,
}

pub struct FilesSink {
    config: FilesSinkConfig,
    encoding: Encoding,
    partition: PartitionTemplate,
    store: Option<Store>,
    /// Open files in the order they were opened (few: tables × partitions in flight).
    open: Vec<OpenFile>,
    /// The number of the next file.
    next_seq: u64,
    /// `next_seq` at the last watermark.
    watermark_seq: u64,
    watermark_position: Option<Position>,
    /// Files uploaded since the last watermark.
    inflight: Vec<String>,
    truncates_warned: HashSet<TableId>,
}

impl FilesSink {
    /// Checks the settings; nothing is contacted until [`Sink::open`].
    pub fn new(config: &FilesSinkConfig) -> Result<Self, SinkError> {
        config.validate().map_err(SinkError::definite)?;
        let partition = PartitionTemplate::parse(&config.partition).map_err(SinkError::definite)?;
        Ok(FilesSink {
            encoding: Encoding::new(config),
            config: config.clone(),
            partition,
            store: None,
            open: Vec::new(),
            next_seq: 0,
            watermark_seq: 0,
            watermark_position: None,
            inflight: Vec::new(),
            truncates_warned: HashSet::new(),
        })
    }

    /// Finishes and uploads open file `index`, recording it in `_inflight.json` first.
    async fn roll(&mut self, index: usize) -> Result<(), SinkError> {
        let file = self.open.remove(index);
        if file.rows == 0 {
            return Ok(());
        }
        let table = file.table().clone();
        let kind = file.kind;
        let partition = file.partition.clone();
        let (first_commit_us, first_lsn, last_lsn, rows) =
            (file.first_commit_us, file.first_lsn, file.last_lsn, file.rows);
        let bytes = tokio::task::block_in_place(|| file.finish())?;
        let store = store_of(&self.store)?;
        let path = data_path(
            &store.prefix,
            &FileSpan {
                kind,
                table: &table,
                partition: &partition,
                first_commit_us,
                first_lsn,
                last_lsn,
                seq: self.next_seq,
                extension: self.encoding.format.extension(),
            },
        );
        self.next_seq += 1;
        self.inflight.push(path.to_string());
        let inflight = Inflight {
            after_seq: self.watermark_seq,
            files: self.inflight.clone(),
        };
        store.put_json(&inflight_path(&store.prefix), &inflight).await?;
        let size = bytes.len();
        store.upload(&path, bytes).await?;
        info!(file = %path, rows, bytes = size, "file written");
        Ok(())
    }

    async fn roll_all(&mut self) -> Result<(), SinkError> {
        while !self.open.is_empty() {
            self.roll(0).await?;
        }
        Ok(())
    }

    async fn write_event(&mut self, event: &ChangeEvent) -> Result<(), SinkError> {
        let change = match &event.change {
            Change::Row(change) => change,
            Change::Truncate(t) => {
                if self.truncates_warned.insert(t.table.id.clone()) {
                    warn!(table = %t.table.id, "TRUNCATE is not written to files (they hold rows); the files of this table keep the rows it removed");
                }
                return Ok(());
            }
            _ => return Ok(()),
        };
        let kind = if change.op == Op::Read {
            Kind::Full
        } else {
            Kind::Inc
        };
        let row = if change.op == Op::Delete {
            change.before.as_ref()
        } else {
            change.after.as_ref()
        };
        let Some(row) = row else {
            return Err(SinkError::definite(format!(
                "table {}: a {} event without its row image",
                change.table.id,
                change.op.code()
            )));
        };
        let partition = self
            .partition
            .render(&change.table, row, event.source.commit_time_us)
            .map_err(SinkError::definite)?;
        let table = &change.table;
        let found = self
            .open
            .iter()
            .position(|f| f.kind == kind && f.table().id == table.id && f.partition == partition);
        let index = match found {
            Some(i)
                if std::sync::Arc::ptr_eq(self.open[i].table(), table) || *self.open[i].table() == *table =>
            {
                i
            }
            Some(i) => {
                // The table's schema changed: its rows so far go out with the old schema.
                info!(table = %table.id, "schema change: starting a new file");
                self.roll(i).await?;
                self.open_file(table, kind, partition, event)?
            }
            None => self.open_file(table, kind, partition, event)?,
        };
        let file = &mut self.open[index];
        file.push(event)?;
        if file.rows >= self.config.max_rows || file.approx_bytes() >= self.config.max_bytes {
            self.roll(index).await?;
        }
        Ok(())
    }

    fn open_file(
        &mut self,
        table: &std::sync::Arc<rivulet_core::TableSchema>,
        kind: Kind,
        partition: String,
        first: &ChangeEvent,
    ) -> Result<usize, SinkError> {
        self.partition.check_table(table).map_err(SinkError::definite)?;
        self.open.push(OpenFile::new(
            &self.encoding,
            table.clone(),
            kind,
            partition,
            first,
        )?);
        Ok(self.open.len() - 1)
    }
}

/// The store, once [`Sink::open`] has connected it. A free function so an `await` holding it
/// borrows only this field (the open files are not `Sync`).
fn store_of(store: &Option<Store>) -> Result<&Store, SinkError> {
    store
        .as_ref()
        .ok_or_else(|| SinkError::definite("internal: the files sink was used before open"))
}

#[async_trait]
impl Sink for FilesSink {
    fn name(&self) -> &'static str {
        "files"
    }

    async fn open(&mut self, state: Option<serde_json::Value>) -> Result<Option<Position>, SinkError> {
        self.open.clear();
        self.inflight.clear();
        let store = Store::open(&self.config).await?;
        let (wm_path, inflight_path) = (watermark_path(&store.prefix), inflight_path(&store.prefix));
        let describe = store.describe.clone();
        self.store = Some(store);
        let store = store_of(&self.store)?;
        let watermark: Option<Watermark> = store.read_json(&wm_path).await?;
        if watermark.is_some() {
            // A run killed between writing the watermark and its fsync left it in the page
            // cache only; the slot is about to move on its word.
            store.make_durable(&wm_path).await?;
        }
        let expected: Option<State> = state.and_then(|s| serde_json::from_value(s).ok());
        let found_seq = watermark.as_ref().map_or(0, |w| w.next_seq);
        if let Some(expected) = &expected
            && expected.next_seq > found_seq
        {
            return Err(SinkError::definite(format!(
                "the watermark {wm_path} in {describe} is {} but the offsets say {} files were written: the \
                 output was removed or replaced. Restore it, or move the offsets away to start over",
                if watermark.is_some() {
                    "older than the offsets"
                } else {
                    "missing"
                },
                expected.next_seq
            )));
        }
        // Files uploaded after the watermark hold changes that will be delivered again.
        if let Some(inflight) = store.read_json::<Inflight>(&inflight_path).await? {
            if inflight.after_seq >= found_seq {
                for f in &inflight.files {
                    store.delete(&object_store::path::Path::from(f.as_str())).await?;
                }
                if !inflight.files.is_empty() {
                    info!(
                        files = inflight.files.len(),
                        "removed files written after the last watermark; they are written again"
                    );
                }
            }
            store.delete(&inflight_path).await?;
        }
        self.next_seq = found_seq;
        self.watermark_seq = found_seq;
        self.watermark_position = watermark.as_ref().map(|w| w.position.clone());
        match &watermark {
            Some(w) => info!(output = %describe, watermark = %w.lsn, "resuming after the files' watermark"),
            None => info!(output = %describe, "no watermark yet: a first run"),
        }
        Ok(watermark.map(|w| w.position))
    }

    async fn write(&mut self, events: &[ChangeEvent]) -> Result<(), SinkError> {
        for event in events {
            self.write_event(event).await?;
        }
        // Time-based rolling between checkpoints (when they are further apart than max_interval).
        loop {
            let max_interval = self.config.max_interval;
            let due = self.open.iter().position(|f| f.opened.elapsed() >= max_interval);
            let Some(i) = due else { break };
            self.roll(i).await?;
        }
        Ok(())
    }

    async fn flush(&mut self, position: &Position) -> Result<serde_json::Value, SinkError> {
        self.roll_all().await?;
        rivulet_core::fault::point(rivulet_core::fault::FILES_UPLOADED);
        let unchanged =
            self.next_seq == self.watermark_seq && self.watermark_position.as_ref() == Some(position);
        if !unchanged {
            let watermark = Watermark {
                lsn: position.lsn.to_string(),
                next_seq: self.next_seq,
                position: position.clone(),
            };
            let store = store_of(&self.store)?;
            store.put_json(&watermark_path(&store.prefix), &watermark).await?;
            self.watermark_seq = self.next_seq;
            self.watermark_position = Some(position.clone());
            self.inflight.clear();
        }
        Ok(serde_json::to_value(State {
            next_seq: self.next_seq,
        })
        .unwrap_or_default())
    }

    async fn close(&mut self) -> Result<(), SinkError> {
        // Rows since the last flush belong to an unfinished checkpoint: they come again.
        self.open.clear();
        Ok(())
    }
}
