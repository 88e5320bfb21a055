//! `rivulet delta optimize|vacuum`: compaction of the small files frequent commits leave, and
//! removal of files no version within the retention period needs.
//!
//! ```text
//!  url ─▶ list table directories (those with a _delta_log) ─▶ OPTIMIZE / VACUUM each
//! ```
//!
//! Both are ordinary Delta commits, safe beside a running pipeline: delta-rs retries a commit
//! that conflicts with the pipeline's, and neither rewrites what a reader of a live version sees.

use std::collections::{BTreeSet, HashMap};

use deltalake::DeltaTableBuilder;
use deltalake::ObjectStore;
use rivulet_core::SinkError;
use url::Url;

use crate::errors::delta_error;
use crate::table::{open_table, redact};
use crate::{DeltaSinkConfig, register_object_stores};

/// Table directories directly under `root` that hold a Delta log.
pub async fn list_tables(
    root: &Url,
    storage: &HashMap<String, String>,
) -> Result<BTreeSet<String>, SinkError> {
    if let Ok(dir) = root.to_file_path() {
        let mut names = BTreeSet::new();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(names),
            Err(e) => return Err(SinkError::io(format!("cannot list {}", dir.display()), e)),
        };
        for entry in entries.flatten() {
            if entry.path().join("_delta_log").is_dir()
                && let Some(name) = entry.file_name().to_str()
            {
                names.insert(name.to_string());
            }
        }
        return Ok(names);
    }
    let store = DeltaTableBuilder::from_url(root.clone())
        .map_err(|e| delta_error(&format!("cannot open {}", redact(root)), e))?
        .with_storage_options(storage.clone())
        .build_storage()
        .map_err(|e| delta_error(&format!("cannot open {}", redact(root)), e))?
        .object_store(None);
    let listing = store
        .list_with_delimiter(None)
        .await
        .map_err(|e| delta_error(&format!("cannot list {}", redact(root)), e.into()))?;
    let mut names = BTreeSet::new();
    for prefix in listing.common_prefixes {
        let log = prefix.clone().join("_delta_log");
        let has_log = store
            .list_with_delimiter(Some(&log))
            .await
            .map(|l| !l.objects.is_empty())
            .unwrap_or(false);
        if has_log && let Some(name) = prefix.filename() {
            names.insert(name.to_string());
        }
    }
    Ok(names)
}

/// What one housekeeping run did to one table.
#[derive(Debug)]
pub struct TableReport {
    pub table: String,
    pub summary: String,
}

async fn tables(
    config: &DeltaSinkConfig,
) -> Result<(Url, HashMap<String, String>, BTreeSet<String>), SinkError> {
    config.validate().map_err(SinkError::definite)?;
    register_object_stores();
    let root = config.root_url().map_err(SinkError::definite)?;
    let storage = config.storage_options();
    let names = list_tables(&root, &storage).await?;
    Ok((root, storage, names))
}

fn table_url(root: &Url, name: &str) -> Result<Url, SinkError> {
    root.join(&format!("{}/", crate::urlencode_segment(name)))
        .map_err(|e| SinkError::definite(format!("table {name}: {e}")))
}

/// Compacts small files in every table (bin-packing OPTIMIZE).
pub async fn optimize(config: &DeltaSinkConfig) -> Result<Vec<TableReport>, SinkError> {
    let (root, storage, names) = tables(config).await?;
    let mut reports = Vec::new();
    for name in names {
        let table = open_table(&table_url(&root, &name)?, &storage).await?;
        let (_, metrics) = table
            .optimize()
            .await
            .map_err(|e| delta_error(&format!("OPTIMIZE of Delta table {name} failed"), e))?;
        reports.push(TableReport {
            table: name,
            summary: format!(
                "{} files compacted into {}",
                metrics.num_files_removed, metrics.num_files_added
            ),
        });
    }
    Ok(reports)
}

/// Deletes files no table version within `retention` needs. Shorter retentions than the
/// table's `delta.deletedFileRetentionDuration` (7 days by default) are refused unless `force`.
pub async fn vacuum(
    config: &DeltaSinkConfig,
    retention: std::time::Duration,
    force: bool,
    dry_run: bool,
) -> Result<Vec<TableReport>, SinkError> {
    let (root, storage, names) = tables(config).await?;
    let retention = chrono::Duration::from_std(retention)
        .map_err(|e| SinkError::definite(format!("retention is out of range: {e}")))?;
    let mut reports = Vec::new();
    for name in names {
        let table = open_table(&table_url(&root, &name)?, &storage).await?;
        let (_, metrics) = table
            .vacuum()
            .with_retention_period(retention)
            .with_enforce_retention_duration(!force)
            .with_dry_run(dry_run)
            .await
            .map_err(|e| delta_error(&format!("VACUUM of Delta table {name} failed"), e))?;
        reports.push(TableReport {
            table: name,
            summary: format!(
                "{} files {}",
                metrics.files_deleted.len(),
                if dry_run { "would be deleted" } else { "deleted" }
            ),
        });
    }
    Ok(reports)
}
