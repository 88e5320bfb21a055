//! `[sink] type = "files"` settings, checked once before anything is contacted.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

use crate::layout::PartitionTemplate;

/// `[sink]` settings for `type = "files"`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilesSinkConfig {
    /// Where files go: `file:///abs/dir`, a plain local path, or `s3://bucket/prefix`.
    pub url: String,
    #[serde(default)]
    pub format: FileFormat,
    /// Parquet compression codec (default snappy).
    pub compression: Option<Compression>,
    /// Roll a file once it holds this many rows.
    #[serde(default = "default_max_rows")]
    pub max_rows: u64,
    /// Roll a file once it is about this many bytes.
    #[serde(default = "default_max_bytes")]
    pub max_bytes: u64,
    /// Roll (and upload) files at least this often; also the checkpoint interval unless
    /// `[offsets] flush_interval` is set.
    #[serde(default = "default_max_interval", with = "humantime_serde")]
    pub max_interval: Duration,
    /// The partition directories under `<prefix>/full|inc/<table>/`, e.g. `date={yyyy}{mm}{dd}`
    /// (default), `year={yyyy}/month={mm}/day={dd}`, `region={column:region}`.
    #[serde(default = "default_partition")]
    pub partition: String,
    /// Parquet arrays: `list` (Parquet lists) or `json` (JSON text). CSV always writes JSON text.
    #[serde(default)]
    pub arrays: ArrayMode,
    /// S3: the endpoint of an S3-compatible store, e.g. `http://127.0.0.1:9000`.
    pub endpoint: Option<String>,
    /// S3: the region (default `AWS_REGION` / `AWS_DEFAULT_REGION`, else `us-east-1`).
    pub region: Option<String>,
    /// S3: credentials; default the standard `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` /
    /// `AWS_SESSION_TOKEN` environment variables.
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<Secret>,
    pub session_token: Option<Secret>,
    /// S3: path-style requests (`endpoint/bucket/key`), which MinIO-like stores need.
    #[serde(default)]
    pub path_style: bool,
    /// S3: create the bucket when it does not exist.
    #[serde(default)]
    pub create_bucket: bool,
}

/// A value that must never be printed.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

#[derive(Copy, Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    #[default]
    Parquet,
    Csv,
}

impl FileFormat {
    pub fn extension(self) -> &'static str {
        match self {
            FileFormat::Parquet => "parquet",
            FileFormat::Csv => "csv",
        }
    }
}

#[derive(Copy, Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    Snappy,
    Zstd,
    None,
}

#[derive(Copy, Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ArrayMode {
    #[default]
    List,
    Json,
}

fn default_max_rows() -> u64 {
    1_000_000
}

fn default_max_bytes() -> u64 {
    128 * 1024 * 1024
}

fn default_max_interval() -> Duration {
    Duration::from_secs(60)
}

fn default_partition() -> String {
    "date={yyyy}{mm}{dd}".into()
}

impl FilesSinkConfig {
    /// Checks what can be checked without a server; the message names the key and a fix.
    pub fn validate(&self) -> Result<(), String> {
        crate::store::Location::parse(&self.url)?;
        PartitionTemplate::parse(&self.partition)?;
        if self.max_rows == 0 {
            return Err("`max_rows` must be at least 1".into());
        }
        if self.max_bytes < 1024 {
            return Err("`max_bytes` must be at least 1024 (bytes), e.g. 134217728 for 128 MiB".into());
        }
        if self.max_interval.is_zero() {
            return Err("`max_interval` must be greater than zero, e.g. \"60s\"".into());
        }
        if self.format == FileFormat::Csv && self.compression.is_some() {
            return Err(
                "`compression` applies to Parquet only: remove it or set format = \"parquet\"".into(),
            );
        }
        let is_s3 = self.url.starts_with("s3://");
        let s3_keys = [
            ("endpoint", self.endpoint.is_some()),
            ("region", self.region.is_some()),
            ("access_key_id", self.access_key_id.is_some()),
            ("secret_access_key", self.secret_access_key.is_some()),
            ("session_token", self.session_token.is_some()),
            ("path_style", self.path_style),
            ("create_bucket", self.create_bucket),
        ];
        if let (false, Some((key, _))) = (is_s3, s3_keys.iter().find(|(_, set)| *set)) {
            return Err(format!(
                "`{key}` applies to s3:// urls only, but url is a local path"
            ));
        }
        if self.access_key_id.is_some() != self.secret_access_key.is_some() {
            return Err(
                "set both `access_key_id` and `secret_access_key`, or neither (then the AWS_* environment \
                        variables are used)"
                    .into(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(extra: &str) -> FilesSinkConfig {
        let text = format!("url = \"s3://lake/RAW\"\n{extra}");
        let table: toml_like::Table = toml_like::parse(&text);
        serde_json::from_value(table).expect("config")
    }

    /// Enough of TOML for these tests (`key = value` lines), via JSON.
    mod toml_like {
        pub type Table = serde_json::Value;
        pub fn parse(text: &str) -> Table {
            let mut map = serde_json::Map::new();
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let (k, v) = line.split_once('=').expect("key = value");
                let v = v.trim();
                let value = serde_json::from_str(v).unwrap_or_else(|_| serde_json::Value::String(v.into()));
                map.insert(k.trim().into(), value);
            }
            serde_json::Value::Object(map)
        }
    }

    #[test]
    fn defaults_and_checks() {
        let c = parse("");
        assert_eq!(c.format, FileFormat::Parquet);
        assert_eq!(c.compression, None);
        assert_eq!(c.max_interval, Duration::from_secs(60));
        c.validate().unwrap();
        let c = parse("format = \"csv\"\ncompression = \"zstd\"");
        assert!(c.validate().unwrap_err().contains("Parquet only"));
        let c = parse("access_key_id = \"k\"");
        assert!(c.validate().unwrap_err().contains("secret_access_key"));
        let c = parse("partition = \"x={nope}\"");
        assert!(c.validate().unwrap_err().contains("{nope}"));
    }

    #[test]
    fn secrets_do_not_print() {
        let c = parse("access_key_id = \"k\"\nsecret_access_key = \"hunter2\"");
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
