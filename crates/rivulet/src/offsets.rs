//! The offsets store: the local file that records how far a pipeline has durably delivered.
//!
//! A checkpoint is (position, sink state), written atomically: a temporary file is written and
//! fsynced, renamed over the old one, and the directory is fsynced. A crash at any instant
//! leaves either the old checkpoint or the new one, never a mix — which is what lets the JSONL
//! sink truncate its file back to exactly the recorded length.

use std::io::Write;
use std::path::{Path, PathBuf};

use rivulet_core::Position;
use serde::{Deserialize, Serialize};

/// Bumped when the file's meaning changes.
const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Checkpoint {
    pub version: u32,
    pub pipeline: String,
    /// The database system identifier: positions are only meaningful on that system.
    pub system_id: String,
    pub slot: String,
    pub position: Position,
    /// What the sink needs to resume (e.g. the JSONL file's durable length).
    pub sink: serde_json::Value,
    /// Wall-clock time of the checkpoint (RFC 3339), for humans.
    pub updated_at: String,
}

impl Checkpoint {
    pub fn new(
        pipeline: &str,
        system_id: &str,
        slot: &str,
        position: Position,
        sink: serde_json::Value,
    ) -> Self {
        Checkpoint {
            version: FORMAT_VERSION,
            pipeline: pipeline.to_string(),
            system_id: system_id.to_string(),
            slot: slot.to_string(),
            position,
            sink,
            updated_at: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OffsetsError {
    #[error("cannot read the offsets file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error(
        "the offsets file {path} is corrupt ({reason}); if you know where the pipeline stands, fix it, otherwise move it \
         away to start over from the slot's position"
    )]
    Corrupt { path: PathBuf, reason: String },
    #[error("cannot write the offsets file {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

pub struct OffsetStore {
    path: PathBuf,
    tmp: PathBuf,
}

impl OffsetStore {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let mut tmp = path.clone().into_os_string();
        tmp.push(".tmp");
        OffsetStore {
            path,
            tmp: PathBuf::from(tmp),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn load(&self) -> Result<Option<Checkpoint>, OffsetsError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(OffsetsError::Read {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        let checkpoint: Checkpoint = serde_json::from_slice(&bytes).map_err(|e| OffsetsError::Corrupt {
            path: self.path.clone(),
            reason: e.to_string(),
        })?;
        if checkpoint.version != FORMAT_VERSION {
            return Err(OffsetsError::Corrupt {
                path: self.path.clone(),
                reason: format!("format version {} is not {FORMAT_VERSION}", checkpoint.version),
            });
        }
        Ok(Some(checkpoint))
    }

    /// Atomically replaces the stored checkpoint. Blocking I/O: call from a blocking context.
    pub fn store(&self, checkpoint: &Checkpoint) -> Result<(), OffsetsError> {
        let werr = |source| OffsetsError::Write {
            path: self.path.clone(),
            source,
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

#[cfg(test)]
mod tests {
    use super::*;
    use rivulet_core::Lsn;

    #[test]
    fn round_trips_and_replaces_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let store = OffsetStore::new(dir.path().join("sub/p.offsets"));
        assert!(store.load().unwrap().is_none());
        let mut c = Checkpoint::new(
            "p",
            "7300",
            "slot",
            Position::at(Lsn(0x1_0000_0010)),
            serde_json::json!({"file_length": 42}),
        );
        store.store(&c).unwrap();
        assert_eq!(store.load().unwrap().unwrap(), c);
        c.position = Position::at(Lsn(0x2_0000_0000));
        store.store(&c).unwrap();
        assert_eq!(store.load().unwrap().unwrap().position.lsn, Lsn(0x2_0000_0000));
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
        let e = OffsetStore::new(&path).load().unwrap_err().to_string();
        assert!(e.contains("is corrupt"), "{e}");
        assert!(!e.contains('\n'));
    }
}
