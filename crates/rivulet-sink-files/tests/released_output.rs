//! Output written by Rivulet 0.1.0 (`tests/fixtures/v0.1.0`: a full load and two streamed
//! transactions as CSV, with `_watermark.json` and `_inflight.json`, made with that release's
//! binary) resumes with today's sink: the watermark's position comes back and no committed file
//! is taken for an unfinished one.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use rivulet_core::{Lsn, Sink};
use rivulet_sink_files::{FilesSink, FilesSinkConfig};
use rivulet_testkit::copy_dir;

fn files(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "csv") {
                out.push(p.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn output_written_by_the_released_version_resumes_at_its_watermark() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v0.1.0");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    copy_dir(&fixture.join("out"), &out);
    let before = files(&out);
    assert_eq!(
        before.len(),
        4,
        "two full-load files and two change files: {before:?}"
    );
    let offsets: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture.join("offsets.json")).unwrap()).unwrap();
    let config: FilesSinkConfig = serde_json::from_value(serde_json::json!({
        "url": format!("file://{}", out.display()),
        "format": "csv",
    }))
    .unwrap();
    let mut sink = FilesSink::new(&config).unwrap();
    let resumed = sink.open(Some(offsets["sink"].clone())).await.unwrap();
    assert_eq!(
        resumed.map(|p| p.lsn),
        Some(Lsn(0x19B_A240)),
        "the watermark's position"
    );
    assert_eq!(files(&out), before, "every file the watermark covers is kept");
    sink.close().await.unwrap();
}
