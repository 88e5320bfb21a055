//! The file offsets store: the embedded default, a local file that records how far a pipeline
//! has durably delivered.
//!
//! A checkpoint is written atomically: a temporary file is written and fsynced, renamed over
//! the old one, and the directory is fsynced. A crash at any instant leaves either the old
//! checkpoint or the new one, never a mix — which is what lets the JSONL sink truncate its file
//! back to exactly the recorded length.
//!
//! A pipeline's first checkpoint may be a start record ([`start_checkpoint`]): the sink's state
//! before anything was delivered, with no position yet. It uses the same format, so every
//! offsets file (and Kafka offsets record) written before it existed still loads.

use std::io::Write;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use rivulet_core::offsets::CHECKPOINT_VERSION;
use rivulet_core::{Checkpoint, OffsetStore, OffsetsError};

#[derive(Clone)]
pub struct FileOffsetStore {
    path: PathBuf,
    tmp: PathBuf,
}

impl FileOffsetStore {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let mut tmp = path.clone().into_os_string();
        tmp.push(".tmp");
        FileOffsetStore {
            path,
            tmp: PathBuf::from(tmp),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn load_now(&self) -> Result<Option<Checkpoint>, OffsetsError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(OffsetsError(format!(
                    "cannot read the offsets file {}: {e}",
                    self.path.display()
                )));
            }
        };
        let corrupt = |reason: String| {
            OffsetsError(format!(
                "the offsets file {} is corrupt ({reason}); if you know where the pipeline stands, fix it, otherwise \
                 move it away to start over",
                self.path.display()
            ))
        };
        let checkpoint: Checkpoint = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
        if checkpoint.version != CHECKPOINT_VERSION {
            return Err(corrupt(format!(
                "format version {} is not {CHECKPOINT_VERSION}",
                checkpoint.version
            )));
        }
        Ok(Some(checkpoint))
    }

    fn store_now(&self, checkpoint: &Checkpoint) -> Result<(), OffsetsError> {
        let werr = |e: std::io::Error| {
            OffsetsError(format!(
                "cannot write the offsets file {}: {e}",
                self.path.display()
            ))
        };
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&dir).map_err(werr)?;
        let mut bytes =
            serde_json::to_vec_pretty(checkpoint).map_err(|e| werr(std::io::Error::other(e.to_string())))?;
        bytes.push(b'\n');
        let mut f = std::fs::File::create(&self.tmp).map_err(werr)?;
        f.write_all(&bytes).map_err(werr)?;
        f.sync_all().map_err(werr)?;
        drop(f);
        std::fs::rename(&self.tmp, &self.path).map_err(werr)?;
        // The rename itself is only durable once the directory is.
        std::fs::File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(werr)?;
        Ok(())
    }
}

#[async_trait]
impl OffsetStore for FileOffsetStore {
    fn describe(&self) -> String {
        format!("file {}", self.path().display())
    }

    async fn load(&self) -> Result<Option<Checkpoint>, OffsetsError> {
        self.load_now()
    }

    async fn store(&self, checkpoint: &Checkpoint) -> Result<(), OffsetsError> {
        // fsync can take a while: keep it off the async worker threads.
        let this = self.clone();
        let checkpoint = checkpoint.clone();
        tokio::task::spawn_blocking(move || this.store_now(&checkpoint))
            .await
            .map_err(|e| OffsetsError(format!("the offsets writer failed: {e}")))?
    }
}

/// A checkpoint stamped with the current time.
pub fn checkpoint(
    pipeline: &str,
    source_id: &str,
    source_detail: &str,
    position: rivulet_core::Position,
    sink: serde_json::Value,
) -> Checkpoint {
    Checkpoint {
        version: CHECKPOINT_VERSION,
        pipeline: pipeline.to_string(),
        source_id: source_id.to_string(),
        source_detail: source_detail.to_string(),
        position,
        sink,
        updated_at: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
    }
}

/// The checkpoint recorded at a pipeline's first start, before any event reaches the sink: the
/// sink's state then (the JSONL file's length) and no position. A crash before the first real
/// checkpoint then restores that state — the crashed run's output is cut away before it is
/// delivered again — instead of finding nothing and keeping it.
///
/// "No position" is the default position, which no source produces (a PostgreSQL position is
/// never 0/0, a Kafka one carries its offsets), so the format stays as it was. A release from
/// before start records reads it as position 0/0: its slot is past that, so it stops
/// (`snapshot = "initial"`) or takes a new snapshot (`when_needed`) — it never skips one.
pub fn start_checkpoint(
    pipeline: &str,
    source_id: &str,
    source_detail: &str,
    sink: serde_json::Value,
) -> Checkpoint {
    checkpoint(
        pipeline,
        source_id,
        source_detail,
        rivulet_core::Position::default(),
        sink,
    )
}

/// Where a checkpoint says to resume: `None` for a start record.
pub fn resume_position(checkpoint: &Checkpoint) -> Option<&rivulet_core::Position> {
    (checkpoint.position != rivulet_core::Position::default()).then_some(&checkpoint.position)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rivulet_core::{Lsn, Position};

    /// Written by Rivulet 0.1.0's binary (`tests/fixtures/v0.1.0`): they must keep resuming.
    #[tokio::test]
    async fn offsets_and_replica_positions_of_the_released_version_still_read() {
        let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v0.1.0");
        let store = FileOffsetStore::new(fixtures.join("jsonl-offsets.json"));
        let cp = store.load().await.unwrap().expect("a checkpoint");
        assert_eq!(cp.pipeline, "fixture");
        assert_eq!(resume_position(&cp).map(|p| p.lsn), Some(Lsn(0x19B_A240)));
        assert_eq!(cp.sink["file_length"], 16_221);
        assert_eq!(
            cp.position.reach(),
            rivulet_core::Reach::Sequence(Lsn(0x19B_A240))
        );
        // The replica sink keeps its position as JSON text in rivulet_offsets.position.
        let text = std::fs::read_to_string(fixtures.join("postgres-rivulet_offsets-position.json")).unwrap();
        let position: Position = serde_json::from_str(&text).unwrap();
        assert_eq!(
            position, cp.position,
            "the same position, as the replica stored it"
        );
    }

    #[test]
    fn a_start_record_holds_the_sink_state_and_no_position() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileOffsetStore::new(dir.path().join("p.offsets"));
        let start = start_checkpoint("p", "7300", "slot", serde_json::json!({"file_length": 42}));
        store.store_now(&start).unwrap();
        let loaded = store.load_now().unwrap().unwrap();
        assert_eq!(loaded.sink, serde_json::json!({"file_length": 42}));
        assert_eq!(resume_position(&loaded), None);
    }

    #[test]
    fn offsets_files_of_the_released_format_still_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.offsets");
        std::fs::write(
            &path,
            r#"{
  "version": 1,
  "pipeline": "p",
  "source_id": "7300",
  "source_detail": "slot",
  "position": { "lsn": "0/16B3748", "txid": 750, "commit_time_us": 1700000000000000 },
  "sink": { "file_length": 1234 },
  "updated_at": "2026-01-01T00:00:00.000Z"
}
"#,
        )
        .unwrap();
        let loaded = FileOffsetStore::new(&path).load_now().unwrap().unwrap();
        assert_eq!(resume_position(&loaded).map(|p| p.lsn), Some(Lsn(0x16B_3748)));
        assert_eq!(loaded.sink, serde_json::json!({"file_length": 1234}));
    }

    #[test]
    fn round_trips_and_replaces_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileOffsetStore::new(dir.path().join("sub/p.offsets"));
        assert!(store.load_now().unwrap().is_none());
        let mut c = checkpoint(
            "p",
            "7300",
            "slot",
            Position::at(Lsn(0x1_0000_0010)),
            serde_json::json!({"file_length": 42}),
        );
        store.store_now(&c).unwrap();
        assert_eq!(store.load_now().unwrap().unwrap(), c);
        c.position = Position::at(Lsn(0x2_0000_0000));
        store.store_now(&c).unwrap();
        assert_eq!(
            store.load_now().unwrap().unwrap().position.lsn,
            Lsn(0x2_0000_0000)
        );
        let text = std::fs::read_to_string(store.path()).unwrap();
        assert!(
            text.contains("\"lsn\": \"2/0\""),
            "positions are readable: {text}"
        );
        assert!(!dir.path().join("sub/p.offsets.tmp").exists());
    }

    #[test]
    fn corrupt_files_are_reported_not_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.offsets");
        std::fs::write(&path, b"{ not json").unwrap();
        let e = FileOffsetStore::new(&path).load_now().unwrap_err().to_string();
        assert!(e.contains("is corrupt"), "{e}");
        assert!(!e.contains('\n'));
    }
}
