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

use std::path::{Path, PathBuf};

use rivulet_core::SinkError;
use rivulet_core::durable::sync_files_and_dirs;
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
    let mut files: Vec<PathBuf> = text
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .flat_map(|action| ["add", "cdc"].map(|kind| action[kind]["path"].as_str().map(str::to_string)))
        .flatten()
        // Paths in the log are relative URLs (partition values percent-encoded); an absolute
        // one elsewhere (a shallow clone) was not written by us.
        .filter_map(|path| root_url.join(&path).ok()?.to_file_path().ok())
        .filter(|file| file.starts_with(root))
        .collect();
    // The log entry last: it is what makes the files part of the table.
    files.push(log);
    sync_files_and_dirs(root, files.iter().map(PathBuf::as_path))?;
    // The directory holding the table gained the table's own entry when it was created.
    root.parent().map_or(Ok(()), rivulet_core::durable::fsync)
}
