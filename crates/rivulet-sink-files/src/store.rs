//! The object store behind the sink: local disk or S3 (and S3-compatible stores), through
//! `object_store`, plus the few things it does not do for us (creating a bucket, telling a
//! missing bucket from a missing object, turning its errors into clear sink errors).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey, AwsAuthorizer, AwsCredential};
use object_store::client::{HttpConnector, ReqwestConnector};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{
    BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig, WriteMultipart,
};
use rivulet_core::SinkError;

use crate::config::FilesSinkConfig;

/// Files above this size are uploaded in parts of this size (S3's sweet spot; also keeps a
/// failed part cheap to retry).
pub const MULTIPART_THRESHOLD: usize = 8 * 1024 * 1024;

/// Where the files go, parsed from `url`.
#[derive(Clone, Debug, PartialEq)]
pub enum Location {
    Local { dir: std::path::PathBuf },
    S3 { bucket: String, prefix: String },
}

impl Location {
    pub fn parse(url: &str) -> Result<Location, String> {
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(format!("`url` \"{url}\" has no bucket: use s3://bucket/prefix"));
            }
            return Ok(Location::S3 {
                bucket: bucket.to_string(),
                prefix: prefix.trim_matches('/').to_string(),
            });
        }
        let path = match url.strip_prefix("file://") {
            Some(p) if p.starts_with('/') => p,
            Some(_) => {
                return Err(format!(
                    "`url` \"{url}\": a file url needs an absolute path, e.g. file:///data/lake"
                ));
            }
            None if url.contains("://") => {
                return Err(format!(
                    "`url` \"{url}\": unsupported scheme; use file:///dir, a local path, or s3://bucket/prefix"
                ));
            }
            None => url,
        };
        if path.is_empty() {
            return Err("`url` is empty: use file:///dir, a local path, or s3://bucket/prefix".into());
        }
        Ok(Location::Local {
            dir: std::path::PathBuf::from(path),
        })
    }
}

/// An opened store and the prefix every object of this sink lives under.
pub struct Store {
    pub store: Arc<dyn ObjectStore>,
    pub prefix: Path,
    /// For messages: `s3://bucket/prefix` or the local directory.
    pub describe: String,
    is_local: bool,
    /// The local directory, when the store is local disk: object_store's local store writes
    /// and renames without fsync, so [`Store::upload`] makes its files durable itself.
    local_root: Option<std::path::PathBuf>,
}

impl Store {
    pub async fn open(config: &FilesSinkConfig) -> Result<Store, SinkError> {
        match Location::parse(&config.url).map_err(SinkError::definite)? {
            Location::Local { dir } => {
                std::fs::create_dir_all(&dir).map_err(|e| {
                    SinkError::io(format!("cannot create the output directory {}", dir.display()), e)
                })?;
                let dir = dir.canonicalize().map_err(|e| {
                    SinkError::io(format!("cannot open the output directory {}", dir.display()), e)
                })?;
                let store = LocalFileSystem::new_with_prefix(&dir)
                    .map_err(|e| SinkError::definite(format!("cannot use {}: {e}", dir.display())))?;
                Ok(Store {
                    store: Arc::new(store),
                    prefix: Path::default(),
                    describe: dir.display().to_string(),
                    is_local: true,
                    local_root: Some(dir),
                })
            }
            Location::S3 { bucket, prefix } => {
                let builder = s3_builder(config, &bucket)?;
                let store = builder
                    .clone()
                    .build()
                    .map_err(|e| SinkError::definite(format!("the S3 settings are not usable: {e}")))?;
                let describe = format!("s3://{bucket}/{prefix}");
                let s = Store {
                    store: Arc::new(store),
                    prefix: Path::from(prefix.as_str()),
                    describe,
                    is_local: false,
                    local_root: None,
                };
                s.check_bucket(config, &builder, &bucket).await?;
                Ok(s)
            }
        }
    }

    /// Lists the prefix once: a missing bucket, bad credentials or an unreachable endpoint show
    /// up here, before anything is read from the source.
    async fn check_bucket(
        &self,
        config: &FilesSinkConfig,
        builder: &AmazonS3Builder,
        bucket: &str,
    ) -> Result<(), SinkError> {
        match self.store.list_with_delimiter(Some(&self.prefix)).await {
            Ok(_) => Ok(()),
            Err(e) if is_missing_bucket(&e) => {
                if !config.create_bucket {
                    return Err(SinkError::definite(format!(
                        "the bucket \"{bucket}\" does not exist: create it, or set create_bucket = true"
                    )));
                }
                create_bucket(builder, bucket).await?;
                tracing::info!(bucket, "created the bucket");
                self.store
                    .list_with_delimiter(Some(&self.prefix))
                    .await
                    .map(|_| ())
                    .map_err(|e| self.error(&format!("listing {}", self.describe), e))
            }
            Err(e) => Err(self.error(&format!("listing {}", self.describe), e)),
        }
    }

    /// Uploads a whole object: one PUT, or a multipart upload above [`MULTIPART_THRESHOLD`].
    /// Either way the object appears complete or not at all.
    pub async fn upload(&self, path: &Path, data: Bytes) -> Result<(), SinkError> {
        let result = if data.len() <= MULTIPART_THRESHOLD {
            self.store
                .put(path, PutPayload::from_bytes(data))
                .await
                .map(|_| ())
        } else {
            match self.store.put_multipart(path).await {
                Ok(upload) => {
                    let mut w = WriteMultipart::new_with_chunk_size(upload, MULTIPART_THRESHOLD);
                    w.put(data);
                    w.finish().await.map(|_| ())
                }
                Err(e) => Err(e),
            }
        };
        result.map_err(|e| self.error(&format!("uploading {path}"), e))?;
        self.make_durable(path).await
    }

    /// On local disk, fsyncs an object and the directories leading to it (a no-op on S3, where
    /// an acknowledged PUT is durable).
    pub async fn make_durable(&self, path: &Path) -> Result<(), SinkError> {
        if let Some(root) = &self.local_root {
            // The file's data, then the directory entries leading to it: the rename that
            // published it and any partition directory created for it.
            let root = root.clone();
            let file = root.join(path.as_ref());
            tokio::task::spawn_blocking(move || {
                rivulet_core::durable::sync_files_and_dirs(&root, [file.as_path()])
            })
            .await
            .map_err(|e| SinkError::definite(format!("fsync task failed: {e}")))?
            .map_err(|e| SinkError::io(format!("cannot make {path} durable in {}", self.describe), e))?;
        }
        Ok(())
    }

    /// Reads a small object, `None` when it does not exist.
    pub async fn read(&self, path: &Path) -> Result<Option<Bytes>, SinkError> {
        match self.store.get(path).await {
            Ok(r) => r
                .bytes()
                .await
                .map(Some)
                .map_err(|e| self.error(&format!("reading {path}"), e)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error(&format!("reading {path}"), e)),
        }
    }

    /// Writes a small JSON record.
    pub async fn put_json(&self, path: &Path, value: &impl serde::Serialize) -> Result<(), SinkError> {
        let bytes = serde_json::to_vec_pretty(value)
            .map_err(|e| SinkError::definite(format!("internal: cannot encode {path}: {e}")))?;
        self.upload(path, Bytes::from(bytes)).await
    }

    /// Reads a small JSON record, `None` when it does not exist.
    pub async fn read_json<T: for<'de> serde::Deserialize<'de>>(
        &self,
        path: &Path,
    ) -> Result<Option<T>, SinkError> {
        match self.read(path).await? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                SinkError::definite(format!(
                    "{path} in {} is not valid ({e}); restore it or remove the sink's output to start over",
                    self.describe
                ))
            }),
        }
    }

    /// Deletes an object; one that is already gone is fine.
    pub async fn delete(&self, path: &Path) -> Result<(), SinkError> {
        match self.store.delete(path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.error(&format!("deleting {path}"), e)),
        }
    }

    /// A store error as a sink error: local problems (disk full, permissions) and access
    /// denied need a person; network trouble that outlasted the store's own retries is
    /// transient (the runtime restarts the pipeline with backoff).
    pub fn error(&self, context: &str, e: object_store::Error) -> SinkError {
        let text = e.to_string();
        let (definite, hint) = if self.is_local {
            let hint = if text.contains("No space left") || text.contains("os error 28") {
                " (the disk is full: free space, then restart; nothing after the last watermark was acknowledged)"
            } else if text.contains("ermission denied") {
                " (check the directory's permissions)"
            } else {
                ""
            };
            (true, hint)
        } else {
            match &e {
                object_store::Error::PermissionDenied { .. }
                | object_store::Error::Unauthenticated { .. } => (
                    true,
                    " (access denied: check the credentials and the bucket policy)",
                ),
                _ if is_access_denied(&text) => (
                    true,
                    " (access denied: check the credentials and the bucket policy)",
                ),
                object_store::Error::NotSupported { .. }
                | object_store::Error::NotImplemented { .. }
                | object_store::Error::InvalidPath { .. } => (true, ""),
                _ if is_missing_bucket(&e) => (true, " (the bucket does not exist)"),
                _ => (false, ""),
            }
        };
        let message = format!("{context} in {}: {text}{hint}", self.describe);
        let mut err = if definite {
            SinkError::definite(message)
        } else {
            SinkError::transient(message)
        };
        err.source = Some(Box::new(e));
        err
    }
}

fn is_access_denied(text: &str) -> bool {
    [
        "AccessDenied",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "403 Forbidden",
    ]
    .iter()
    .any(|m| text.contains(m))
}

fn is_missing_bucket(e: &object_store::Error) -> bool {
    let text = e.to_string();
    text.contains("NoSuchBucket") || text.contains("bucket does not exist")
}

fn s3_builder(config: &FilesSinkConfig, bucket: &str) -> Result<AmazonS3Builder, SinkError> {
    // The standard AWS_* variables first; settings in the file win.
    let mut b = AmazonS3Builder::from_env().with_bucket_name(bucket);
    if let Some(region) = &config.region {
        b = b.with_region(region);
    } else if b.get_config_value(&AmazonS3ConfigKey::Region).is_none() {
        b = b.with_region("us-east-1");
    }
    if let (Some(key), Some(secret)) = (&config.access_key_id, &config.secret_access_key) {
        b = b.with_access_key_id(key).with_secret_access_key(&secret.0);
    }
    if let Some(token) = &config.session_token {
        b = b.with_token(&token.0);
    }
    if let Some(endpoint) = &config.endpoint {
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
            return Err(SinkError::definite(format!(
                "`endpoint` \"{endpoint}\" must start with http:// or https://"
            )));
        }
        let endpoint = endpoint.trim_end_matches('/');
        b = b.with_allow_http(endpoint.starts_with("http://"));
        if config.path_style {
            b = b.with_endpoint(endpoint).with_virtual_hosted_style_request(false);
        } else {
            // Virtual-hosted style: the bucket is part of the host name.
            let (scheme, host) = endpoint.split_once("://").unwrap_or(("https", endpoint));
            b = b
                .with_endpoint(format!("{scheme}://{bucket}.{host}"))
                .with_virtual_hosted_style_request(true);
        }
    } else if config.path_style {
        b = b.with_virtual_hosted_style_request(false);
    }
    let retry = RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(15),
            base: 2.0,
        },
        max_retries: 8,
        retry_timeout: Duration::from_secs(180),
    };
    Ok(b.with_retry(retry))
}

/// `CreateBucket`, which `object_store` does not offer: one SigV4-signed PUT on the bucket.
async fn create_bucket(builder: &AmazonS3Builder, bucket: &str) -> Result<(), SinkError> {
    let get = |k: AmazonS3ConfigKey| builder.get_config_value(&k);
    let (Some(key_id), Some(secret_key)) = (
        get(AmazonS3ConfigKey::AccessKeyId),
        get(AmazonS3ConfigKey::SecretAccessKey),
    ) else {
        return Err(SinkError::definite(format!(
            "cannot create the bucket \"{bucket}\": create_bucket needs access_key_id/secret_access_key (or the \
             AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY variables); create the bucket yourself otherwise"
        )));
    };
    let region = get(AmazonS3ConfigKey::Region).unwrap_or_else(|| "us-east-1".into());
    let url = match get(AmazonS3ConfigKey::Endpoint) {
        Some(e) if get(AmazonS3ConfigKey::VirtualHostedStyleRequest).as_deref() == Some("true") => {
            format!("{e}/")
        }
        Some(e) => format!("{e}/{bucket}"),
        None => format!("https://{bucket}.s3.{region}.amazonaws.com/"),
    };
    let body = if region == "us-east-1" {
        String::new()
    } else {
        format!(
            "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
             <LocationConstraint>{region}</LocationConstraint></CreateBucketConfiguration>"
        )
    };
    let credential = AwsCredential {
        key_id,
        secret_key,
        token: get(AmazonS3ConfigKey::Token),
    };
    let fail = |m: String| SinkError::definite(format!("cannot create the bucket \"{bucket}\": {m}"));
    let mut request = object_store::client::HttpRequest::new(body.into());
    *request.method_mut() = http::Method::PUT;
    *request.uri_mut() = url
        .parse()
        .map_err(|e| fail(format!("bad endpoint url {url}: {e}")))?;
    AwsAuthorizer::new(&credential, "s3", &region).authorize(&mut request, None);
    let client = ReqwestConnector::default()
        .connect(&ClientOptions::new().with_allow_http(true))
        .map_err(|e| fail(e.to_string()))?;
    let response = client
        .execute(request)
        .await
        .map_err(|e| SinkError::transient(format!("cannot create the bucket \"{bucket}\": {e}")))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let body = response.into_body().bytes().await.unwrap_or_default();
    let text = String::from_utf8_lossy(&body);
    if text.contains("BucketAlreadyOwnedByYou") {
        return Ok(());
    }
    Err(fail(format!(
        "the server answered {status}: {}",
        text.chars().take(300).collect::<String>()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            Location::parse("s3://lake/RAW/x/").unwrap(),
            Location::S3 {
                bucket: "lake".into(),
                prefix: "RAW/x".into()
            }
        );
        assert_eq!(
            Location::parse("file:///data/lake").unwrap(),
            Location::Local {
                dir: "/data/lake".into()
            }
        );
        assert!(Location::parse("file://relative").is_err());
        assert!(
            Location::parse("gs://b/p")
                .unwrap_err()
                .contains("unsupported scheme")
        );
        assert!(Location::parse("s3:///p").is_err());
    }
}
