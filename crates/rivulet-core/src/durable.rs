//! Making files a sink wrote on local disk durable before a checkpoint counts on them.
//!
//! Writers that go through object_store's local store (the files and Delta sinks) get files
//! created and renamed without fsync; the slot must not move past rows that live only in the
//! page cache. This is the one walk they share: the files' data first, then every directory
//! that gained an entry, from the files' parents up to the root the sink owns.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Fsyncs each of `files` (all under `root`), then each distinct directory from their parents
/// up to and including `root`, once.
pub fn sync_files_and_dirs<'a>(
    root: &Path,
    files: impl IntoIterator<Item = &'a Path>,
) -> std::io::Result<()> {
    let mut dirs: BTreeSet<PathBuf> = BTreeSet::new();
    for file in files {
        fsync(file)?;
        let mut dir = file.parent();
        while let Some(d) = dir.filter(|d| d.starts_with(root)) {
            if !dirs.insert(d.to_path_buf()) {
                break; // this directory and those above it are already listed
            }
            dir = d.parent();
        }
    }
    dirs.insert(root.to_path_buf());
    dirs.iter().try_for_each(|d| fsync(d))
}

/// Fsyncs one file or directory.
pub fn fsync(path: &Path) -> std::io::Result<()> {
    std::fs::File::open(path)?.sync_all()
}
