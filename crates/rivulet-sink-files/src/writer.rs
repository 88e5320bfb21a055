//! One file being written: rows of one table, one kind (full/inc), one partition, one schema.
//!
//! ```text
//!  push(event) ─▶ BatchBuilder (typed Arrow columns) ─every BATCH_ROWS─▶ encoder (Parquet / CSV, in memory)
//!  finish()    ─▶ the file's bytes, ready to upload whole
//! ```

use std::sync::Arc;
use std::time::Instant;

use arrow::array::RecordBatch;
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression as ParquetCompression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use rivulet_arrow::{ArrowOptions, BatchBuilder, Flavor};
use rivulet_core::{ChangeEvent, Lsn, SinkError, TableSchema};

use crate::config::{ArrayMode, Compression, FileFormat, FilesSinkConfig};
use crate::layout::Kind;

/// Rows buffered as Arrow columns before they are encoded: big enough for good Parquet pages
/// and CSV writes, small enough to keep the memory of many open files low.
const BATCH_ROWS: usize = 8192;

/// How the files of a sink are encoded.
#[derive(Clone, Debug)]
pub struct Encoding {
    pub format: FileFormat,
    arrow: ArrowOptions,
    parquet: Option<WriterProperties>,
}

impl Encoding {
    pub fn new(config: &FilesSinkConfig) -> Self {
        let flavor = match (config.format, config.arrays) {
            (FileFormat::Parquet, ArrayMode::List) => Flavor::Columnar,
            _ => Flavor::Flat,
        };
        let parquet = (config.format == FileFormat::Parquet).then(|| {
            let codec = match config.compression.unwrap_or(Compression::Snappy) {
                Compression::Snappy => ParquetCompression::SNAPPY,
                Compression::Zstd => ParquetCompression::ZSTD(ZstdLevel::default()),
                Compression::None => ParquetCompression::UNCOMPRESSED,
            };
            WriterProperties::builder()
                .set_compression(codec)
                .set_created_by(format!("rivulet {}", env!("CARGO_PKG_VERSION")))
                .build()
        });
        Encoding {
            format: config.format,
            arrow: ArrowOptions {
                flavor,
                without_cdc_columns: false,
            },
            parquet,
        }
    }
}

enum Encoder {
    // Boxed: the Parquet writer is large, and files are few.
    Parquet(Box<ArrowWriter<Vec<u8>>>),
    Csv { buf: Vec<u8>, header_written: bool },
}

pub struct OpenFile {
    pub kind: Kind,
    pub partition: String,
    builder: BatchBuilder,
    encoder: Encoder,
    pub rows: u64,
    pub first_commit_us: i64,
    pub first_lsn: Lsn,
    pub last_lsn: Lsn,
    pub opened: Instant,
}

impl OpenFile {
    pub fn new(
        encoding: &Encoding,
        table: Arc<TableSchema>,
        kind: Kind,
        partition: String,
        first: &ChangeEvent,
    ) -> Result<Self, SinkError> {
        let builder = BatchBuilder::new(table, &encoding.arrow);
        let encoder = match &encoding.parquet {
            Some(props) => Encoder::Parquet(Box::new(
                ArrowWriter::try_new(Vec::new(), builder.schema().clone(), Some(props.clone()))
                    .map_err(|e| SinkError::definite(format!("cannot start a Parquet file: {e}")))?,
            )),
            None => Encoder::Csv {
                buf: Vec::new(),
                header_written: false,
            },
        };
        Ok(OpenFile {
            kind,
            partition,
            builder,
            encoder,
            rows: 0,
            first_commit_us: first.source.commit_time_us,
            first_lsn: first.source.lsn,
            last_lsn: first.source.lsn,
            opened: Instant::now(),
        })
    }

    pub fn table(&self) -> &Arc<TableSchema> {
        self.builder.table()
    }

    /// Appends a row change (the caller routes only row changes of this file's table here).
    pub fn push(&mut self, event: &ChangeEvent) -> Result<(), SinkError> {
        let pushed = self.builder.push(event).map_err(|e| {
            SinkError::definite(format!("{e}; nothing after the last watermark was acknowledged"))
        })?;
        if pushed {
            self.rows += 1;
            self.last_lsn = event.source.lsn;
            if self.builder.len() >= BATCH_ROWS {
                self.encode_pending()?;
            }
        }
        Ok(())
    }

    /// About how big the file is so far (encoded bytes, plus a rough figure for rows not yet
    /// encoded), for `max_bytes`.
    pub fn approx_bytes(&self) -> u64 {
        let encoded = match &self.encoder {
            Encoder::Parquet(w) => w.bytes_written() + w.in_progress_size(),
            Encoder::Csv { buf, .. } => buf.len(),
        };
        encoded as u64 + self.builder.len() as u64 * 64
    }

    fn encode_pending(&mut self) -> Result<(), SinkError> {
        if self.builder.is_empty() {
            return Ok(());
        }
        let batch = self
            .builder
            .finish()
            .map_err(|e| SinkError::definite(e.to_string()))?;
        self.encode(&batch)
    }

    fn encode(&mut self, batch: &RecordBatch) -> Result<(), SinkError> {
        let fail =
            |e: String| SinkError::definite(format!("encoding rows of {}: {e}", self.builder.table().id));
        match &mut self.encoder {
            Encoder::Parquet(w) => w.write(batch).map_err(|e| fail(e.to_string())),
            Encoder::Csv { buf, header_written } => {
                let mut w = arrow::csv::WriterBuilder::new()
                    .with_header(!*header_written)
                    .build(&mut *buf);
                *header_written = true;
                w.write(batch).map_err(|e| fail(e.to_string()))
            }
        }
    }

    /// The complete file.
    pub fn finish(mut self) -> Result<Bytes, SinkError> {
        self.encode_pending()?;
        let table = self.builder.table().id.clone();
        match self.encoder {
            Encoder::Parquet(w) => w
                .into_inner()
                .map(Bytes::from)
                .map_err(|e| SinkError::definite(format!("finishing a Parquet file of {table}: {e}"))),
            Encoder::Csv {
                mut buf,
                header_written,
            } => {
                if !header_written {
                    // Only reachable for a file without rows, which is never uploaded; keep
                    // the header anyway so the bytes are a valid CSV file.
                    let empty = RecordBatch::new_empty(self.builder.schema().clone());
                    let mut w = arrow::csv::WriterBuilder::new().with_header(true).build(&mut buf);
                    w.write(&empty)
                        .map_err(|e| SinkError::definite(format!("encoding rows of {table}: {e}")))?;
                }
                Ok(Bytes::from(buf))
            }
        }
    }
}
