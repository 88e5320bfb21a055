//! Durability of Delta commits on local disk.
//!
//! delta-rs writes through object_store, whose local store creates and renames files without
//! fsync. A commit would then be "done" while its log entry and data files sit in the page
//! cache, and the slot could move past changes a power cut takes away. So after each flush,
//! for a local table, the new commits are made durable here before the flush returns:
//!
//! ```text
//!  commit N ─▶ read _delta_log/N.json ─▶ fsync its add/cdc files ─▶ fsync N.json
//!          ─▶ fsync the directories that gained entries (partitions, _change_data, _delta_log,
//!             the table directory and the one holding it)
//! ```
//!
//! Object stores such as S3 are durable once a PUT is acknowledged; nothing to do there.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use rivulet_core::SinkError;
use url::Url;

/// The local directory of a `file://` table URL, `None` for remote stores.
pub fn local_root(url: &Url) -> Option<PathBuf> {
    (url.scheme() == "file")
        .then(|| url.to_file_path().ok())
        .flatten()
}

/// Makes commits `from..=to` of the table at `root` durable.
pub async fn sync_commits(root: PathBuf, from: u64, to: u64, table: &str) -> Result<(), SinkError> {
    let table = table.to_string();
    tokio::task::spawn_blocking(move || {
        (from..=to)
            .try_for_each(|version| sync_commit(&root, version))
            .map_err(|e| {
                SinkError::io(
                    format!("cannot make the commits of Delta table {table} durable"),
                    e,
                )
            })
    })
    .await
    .map_err(|e| SinkError::definite(format!("fsync task failed: {e}")))?
}

fn sync_commit(root: &Path, version: u64) -> std::io::Result<()> {
    let log = root.join("_delta_log").join(format!("{version:020}.json"));
    let text = match std::fs::read_to_string(&log) {
        Ok(text) => text,
        // A version another writer has not finished, or one compacted away: nothing of ours.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let root_url = Url::from_directory_path(root)
        .map_err(|()| std::io::Error::other(format!("{} is not an absolute path", root.display())))?;
    let mut dirs = BTreeSet::new();
    for line in text.lines() {
        let Ok(action) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        for kind in ["add", "cdc"] {
            let Some(path) = action[kind]["path"].as_str() else {
                continue;
            };
            // Paths in the log are relative URLs (partition values percent-encoded).
            let Some(file) = root_url.join(path).ok().and_then(|u| u.to_file_path().ok()) else {
                continue;
            };
            if !file.starts_with(root) {
                continue; // an absolute path elsewhere (shallow clones): not written by us
            }
            fsync(&file)?;
            let mut dir = file.parent();
            while let Some(d) = dir.filter(|d| d.starts_with(root) && *d != root) {
                dirs.insert(d.to_path_buf());
                dir = d.parent();
            }
        }
    }
    fsync(&log)?;
    dirs.insert(root.join("_delta_log"));
    dirs.insert(root.to_path_buf());
    if let Some(parent) = root.parent() {
        dirs.insert(parent.to_path_buf());
    }
    dirs.iter().try_for_each(|d| fsync(d))
}

fn fsync(path: &Path) -> std::io::Result<()> {
    std::fs::File::open(path)?.sync_all()
}
