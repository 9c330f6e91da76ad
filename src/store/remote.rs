//! Zarr stores in S3-compatible object storage, named `s3://bucket/prefix`
//! wherever a path is taken.
//!
//! The client is the `object_store` crate (signing, retries with backoff on
//! throttling and 5xx, connection pooling); zarrs reads and writes through
//! its object_store adapter, made synchronous on one shared tokio runtime so
//! that the engine's worker threads each keep requests in flight.
//! Configuration is the standard AWS environment (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`, `AWS_PROFILE`
//! with `~/.aws/credentials`, `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`), which a
//! job's `storage:` section may override.

use anyhow::{anyhow, bail, Result};
use futures::{StreamExt, TryStreamExt};
use os::aws::AmazonS3Builder;
use os::path::Path as Key;
use os::prefix::PrefixStore;
use os::{
    BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload,
    RetryConfig,
};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use zarrs::storage::storage_adapter::async_to_sync::{
    AsyncToSyncBlockOn, AsyncToSyncStorageAdapter,
};
use zarrs::storage::{ReadableListableStorageTraits, ReadableWritableListableStorageTraits};
use zarrs_object_store::object_store as os;
use zarrs_object_store::AsyncObjectStore;

/// A job's `storage:` section: what the AWS environment does not say.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The S3-compatible endpoint, e.g. `http://minio.local:9000`.
    #[serde(default)]
    pub endpoint: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    /// Unsigned requests, for public buckets.
    #[serde(default)]
    pub anonymous: bool,
}

/// Whether `path` names an object store location (see
/// [`crate::store::Location::parse`], the one place that asks).
pub(crate) fn is_remote(path: &Path) -> bool {
    path.to_str().is_some_and(|s| s.starts_with("s3://"))
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .thread_name("attr-s3")
            .enable_all()
            .build()
            .expect("a tokio runtime for object storage")
    })
}

/// Runs zarrs' asynchronous store calls on the shared runtime.
pub struct BlockOn;

impl AsyncToSyncBlockOn for BlockOn {
    fn block_on<F: core::future::Future>(&self, future: F) -> F::Output {
        runtime().block_on(future)
    }
}

/// Run `f` to completion on the shared runtime (from outside it).
pub fn block_on<F: core::future::Future>(f: F) -> F::Output {
    runtime().block_on(f)
}

/// Run `f` on the shared runtime in the background.
pub fn spawn<F>(f: F) -> tokio::task::JoinHandle<F::Output>
where
    F: core::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    runtime().spawn(f)
}

/// Wait for a background task.
pub fn wait<T>(h: tokio::task::JoinHandle<T>) -> Result<T> {
    block_on(h).map_err(|e| anyhow!("a background request failed: {e}"))
}

type Client = Arc<dyn ObjectStore>;

fn clients() -> &'static Mutex<HashMap<String, Client>> {
    static C: OnceLock<Mutex<HashMap<String, Client>>> = OnceLock::new();
    C.get_or_init(Default::default)
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The key, secret and token of a profile in the shared credentials file.
fn profile_credentials() -> Option<(String, String, Option<String>)> {
    let file = env("AWS_SHARED_CREDENTIALS_FILE")
        .map(std::path::PathBuf::from)
        .or_else(|| env("HOME").map(|h| Path::new(&h).join(".aws").join("credentials")))?;
    let profile = env("AWS_PROFILE").unwrap_or_else(|| "default".into());
    let text = std::fs::read_to_string(file).ok()?;
    let mut section = String::new();
    let mut found: HashMap<String, String> = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_string();
            continue;
        }
        if section == profile {
            if let Some((k, v)) = line.split_once('=') {
                found.insert(k.trim().to_lowercase(), v.trim().to_string());
            }
        }
    }
    Some((
        found.remove("aws_access_key_id")?,
        found.remove("aws_secret_access_key")?,
        found.remove("aws_session_token"),
    ))
}

/// The endpoint in use, for messages.
fn endpoint_shown(s: &Settings) -> String {
    s.endpoint
        .clone()
        .or_else(|| env("AWS_ENDPOINT_URL_S3"))
        .or_else(|| env("AWS_ENDPOINT_URL"))
        .or_else(|| env("AWS_ENDPOINT"))
        .unwrap_or_else(|| "AWS S3".into())
}

fn build_client(bucket: &str, s: &Settings) -> Result<Client> {
    let mut b = AmazonS3Builder::from_env().with_bucket_name(bucket);
    if let Some(e) = &s.endpoint {
        b = b.with_endpoint(e);
    }
    if let Some(r) = s.region.clone().or_else(|| env("AWS_REGION")) {
        b = b.with_region(r);
    }
    let endpoint = endpoint_shown(s);
    let http = endpoint.starts_with("http://");
    let allow_http = env("AWS_ALLOW_HTTP").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if http && !allow_http && s.endpoint.is_none() {
        bail!("the S3 endpoint {endpoint} is plain http: set AWS_ALLOW_HTTP=true to use it");
    }
    if s.anonymous {
        b = b.with_skip_signature(true);
    } else if env("AWS_ACCESS_KEY_ID").is_none() {
        if let Some((key, secret, token)) = profile_credentials() {
            b = b.with_access_key_id(key).with_secret_access_key(secret);
            if let Some(t) = token {
                b = b.with_token(t);
            }
        } else if env("AWS_WEB_IDENTITY_TOKEN_FILE").is_none()
            && env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").is_none()
            && env("AWS_CONTAINER_CREDENTIALS_FULL_URI").is_none()
        {
            bail!(
                "no credentials for s3://{bucket}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with ~/.aws/credentials, or `storage: {{anonymous: true}}` for a public bucket"
            );
        }
    }
    let timeout = |name: &str, default: u64| {
        Duration::from_secs(env(name).and_then(|v| v.parse().ok()).unwrap_or(default))
    };
    let options = ClientOptions::new()
        .with_allow_http(http || allow_http)
        .with_connect_timeout(timeout("ATTR_S3_CONNECT_TIMEOUT", 5))
        .with_timeout(timeout("ATTR_S3_TIMEOUT", 120));
    let retry = RetryConfig {
        backoff: BackoffConfig::default(),
        max_retries: 6,
        retry_timeout: timeout("ATTR_S3_RETRY_TIMEOUT", 30),
    };
    let client = b
        .with_client_options(options)
        .with_retry(retry)
        .build()
        .map_err(|e| anyhow!("s3://{bucket}: {e}"))?;
    Ok(Arc::new(client))
}

/// The pooled client of `bucket` with `settings` (connections are reused
/// by every location of one bucket opened with the same settings).
fn client(bucket: &str, settings: &Settings) -> Result<Client> {
    let mut c = clients()
        .lock()
        .map_err(|_| anyhow!("object store clients"))?;
    let key = format!("{bucket}\n{settings:?}");
    if let Some(c) = c.get(&key) {
        return Ok(c.clone());
    }
    let new = build_client(bucket, settings)?;
    c.insert(key, new.clone());
    Ok(new)
}

/// The cause of a failed request to `at` in words, when the store stopped
/// answering or refused us: for errors that reach the engine through zarrs
/// as text.
pub fn reason(at: &Remote, text: &str) -> Option<String> {
    let has = |s: &str| text.contains(s);
    if is_denied(text) || has("access denied (HTTP 403)") {
        Some("the S3 store denied access (HTTP 403)".into())
    } else if has("error sending request")
        || has("timed out")
        || has("Timeout")
        || has("cannot reach the S3 endpoint")
    {
        Some(format!(
            "the S3 endpoint {} stopped answering",
            endpoint_shown(&at.settings)
        ))
    } else {
        None
    }
}

/// Whether a store's answer was a refusal (HTTP 403).
fn is_denied(text: &str) -> bool {
    [
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "AccessDenied",
        "403 Forbidden",
        "lacked the necessary privileges",
    ]
    .iter()
    .any(|s| text.contains(s))
}

/// What an object store said, in words a user can act on.
fn explain(url: &str, bucket: &str, settings: &Settings, e: &os::Error) -> anyhow::Error {
    let mut text = e.to_string();
    let mut deepest = text.clone();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        deepest = s.to_string();
        text.push_str(": ");
        text.push_str(&deepest);
        source = s.source();
    }
    let has = |s: &str| text.contains(s);
    if has("NoSuchBucket") {
        anyhow!(
            "{url}: bucket '{bucket}' does not exist at {}: check the name or create it",
            endpoint_shown(settings)
        )
    } else if is_denied(&text) {
        anyhow!(
            "{url}: access denied (HTTP 403): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) and the bucket's permissions"
        )
    } else if has("error sending request")
        || has("connect")
        || has("timed out")
        || has("Timeout")
        || has("dns error")
    {
        // the innermost cause, and how hard it was tried
        let retries = text
            .split_once("after ")
            .and_then(|(_, rest)| rest.split_once(" retries"))
            .map(|(n, _)| format!(", after {n} retries"))
            .unwrap_or_default();
        anyhow!(
            "{url}: cannot reach the S3 endpoint {} ({}{retries}): check AWS_ENDPOINT_URL and the network",
            endpoint_shown(settings),
            first_line(&deepest)
        )
    } else {
        anyhow!("{url}: {}", first_line(&text))
    }
}

fn first_line(s: &str) -> String {
    let s = s.lines().next().unwrap_or("");
    match s.char_indices().nth(300) {
        Some((cut, _)) => format!("{}...", &s[..cut]),
        None => s.to_string(),
    }
}

/// A location in an object store: a bucket and a prefix within it.
#[derive(Clone)]
pub struct Remote {
    /// As given, `s3://bucket/prefix`, for messages.
    pub url: String,
    bucket: String,
    prefix: String,
    client: Client,
    /// The job's `storage:` settings it was opened with.
    settings: Arc<Settings>,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.url)
    }
}

/// An object's key (relative to a [`Remote`]), size and modification time.
pub struct Entry {
    pub key: String,
    pub size: u64,
    pub modified_ns: i128,
}

impl Remote {
    /// The location named by `path` (`s3://bucket[/prefix]`), reached
    /// with `settings` and the AWS environment.
    pub fn open(path: &Path, settings: &Settings) -> Result<Remote> {
        let url = path
            .to_str()
            .ok_or_else(|| anyhow!("'{}' is not valid text", path.display()))?;
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| anyhow!("'{url}' is not an s3:// location"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            bail!("'{url}' names no bucket: write s3://BUCKET/PREFIX");
        }
        let prefix = prefix.trim_end_matches('/').to_string();
        check_prefix(url, &prefix)?;
        Ok(Remote {
            url: url.trim_end_matches('/').to_string(),
            bucket: bucket.to_string(),
            client: client(bucket, settings)?,
            prefix,
            settings: Arc::new(settings.clone()),
        })
    }

    /// The location `name` below this one.
    pub fn child(&self, name: &str) -> Remote {
        let name = name.trim_matches('/');
        Remote {
            url: format!("{}/{name}", self.url),
            bucket: self.bucket.clone(),
            prefix: self.full(name),
            client: self.client.clone(),
            settings: self.settings.clone(),
        }
    }

    fn full(&self, key: &str) -> String {
        let key = key.trim_start_matches('/');
        match (self.prefix.is_empty(), key.is_empty()) {
            (true, _) => key.to_string(),
            (false, true) => self.prefix.clone(),
            (false, false) => format!("{}/{key}", self.prefix),
        }
    }

    fn err(&self, e: &os::Error) -> anyhow::Error {
        explain(&self.url, &self.bucket, &self.settings, e)
    }

    /// Check that the bucket answers and lets us in (one request), so
    /// that a missing bucket or bad credentials are named as such.
    pub fn check(&self) -> Result<()> {
        let prefix = Key::from(self.prefix.as_str());
        block_on(self.client.list_with_delimiter(Some(&prefix)))
            .map(|_| ())
            .map_err(|e| self.err(&e))
    }

    /// The object at `key`, or `None`.
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        block_on(self.get_async(key))
    }

    /// The object at `key`, or `None`, from inside the runtime.
    pub async fn get_async(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let k = Key::from(self.full(key));
        let r = async {
            let got = self.client.get(&k).await?;
            got.bytes().await
        }
        .await;
        match r {
            Ok(b) => Ok(Some(b.to_vec())),
            Err(os::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.err(&e)),
        }
    }

    pub fn exists(&self, key: &str) -> Result<bool> {
        let k = Key::from(self.full(key));
        match block_on(self.client.head(&k)) {
            Ok(_) => Ok(true),
            Err(os::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.err(&e)),
        }
    }

    /// Store `data` at `key`, whole (a PUT is atomic).
    pub fn put(&self, key: &str, data: Vec<u8>) -> Result<()> {
        block_on(self.put_async(key, data))
    }

    /// [`Remote::put`] from inside the runtime.
    pub async fn put_async(&self, key: &str, data: Vec<u8>) -> Result<()> {
        let k = Key::from(self.full(key));
        self.client
            .put(&k, PutPayload::from(data))
            .await
            .map(|_| ())
            .map_err(|e| self.err(&e))
    }

    /// Store many objects at once (32 requests in flight).
    pub fn put_many(&self, objects: Vec<(String, Vec<u8>)>) -> Result<()> {
        let puts = futures::stream::iter(objects)
            .map(|(key, data)| async move { self.put_async(&key, data).await })
            .buffer_unordered(32)
            .try_collect::<Vec<()>>();
        block_on(puts).map(|_| ())
    }

    /// Store `data` at `key` unless an object is there: `false` when one
    /// was. Conditional where the store supports it, else checked first.
    pub fn create(&self, key: &str, data: Vec<u8>) -> Result<bool> {
        let k = Key::from(self.full(key));
        let opts = PutOptions::from(PutMode::Create);
        match block_on(
            self.client
                .put_opts(&k, PutPayload::from(data.clone()), opts),
        ) {
            Ok(_) => Ok(true),
            Err(os::Error::AlreadyExists { .. }) | Err(os::Error::Precondition { .. }) => Ok(false),
            Err(os::Error::NotImplemented { .. }) => {
                if self.exists(key)? {
                    return Ok(false);
                }
                self.put(key, data)?;
                Ok(true)
            }
            Err(e) => Err(self.err(&e)),
        }
    }

    /// Every object below the folder `under` (relative keys), recursively.
    /// (A prefix is matched by whole path segments, not characters.)
    pub fn list(&self, under: &str) -> Result<Vec<Entry>> {
        let base = self.full("");
        let prefix = Key::from(self.full(under));
        let metas: Vec<os::ObjectMeta> =
            block_on(self.client.list(Some(&prefix)).try_collect()).map_err(|e| self.err(&e))?;
        Ok(metas
            .into_iter()
            .map(|m| {
                let full = m.location.to_string();
                let key = if base.is_empty() {
                    full
                } else {
                    full.strip_prefix(&format!("{base}/"))
                        .unwrap_or(&full)
                        .to_string()
                };
                Entry {
                    key,
                    size: m.size,
                    modified_ns: m.last_modified.timestamp_nanos_opt().unwrap_or(0) as i128,
                }
            })
            .collect())
    }

    /// Fetch many objects at once (64 requests in flight).
    pub fn get_many(&self, keys: &[String]) -> Result<Vec<(String, Option<Vec<u8>>)>> {
        let fetch = futures::stream::iter(keys.iter().cloned())
            .map(|key| async move {
                let k = Key::from(self.full(&key));
                let r = match self.client.get(&k).await {
                    Ok(g) => g.bytes().await.map(|b| Some(b.to_vec())),
                    Err(os::Error::NotFound { .. }) => Ok(None),
                    Err(e) => Err(e),
                };
                r.map(|b| (key, b))
            })
            .buffer_unordered(64)
            .try_collect::<Vec<_>>();
        block_on(fetch).map_err(|e| self.err(&e))
    }

    /// Delete every object below `under`.
    pub fn delete_all(&self, under: &str) -> Result<()> {
        let prefix = Key::from(self.full(under));
        let client = self.client.clone();
        block_on(async move {
            let locations = client.list(Some(&prefix)).map_ok(|m| m.location).boxed();
            client
                .delete_stream(locations)
                .try_collect::<Vec<_>>()
                .await
        })
        .map(|_| ())
        .map_err(|e| self.err(&e))
    }

    pub fn delete(&self, key: &str) -> Result<()> {
        let k = Key::from(self.full(key));
        match block_on(self.client.delete(&k)) {
            Ok(()) | Err(os::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.err(&e)),
        }
    }

    /// This location as a zarrs store (keys relative to the prefix).
    pub fn storage(&self) -> Arc<dyn ReadableWritableListableStorageTraits> {
        self.adapter()
    }

    /// This location as a zarrs store, for reading.
    /// The location as given, for messages and as a key.
    pub fn path(&self) -> &Path {
        Path::new(&self.url)
    }

    /// The location that holds this one (`s3://b/a` for `s3://b/a/z.zip`).
    pub fn parent(&self) -> Remote {
        let (url, prefix) = match (self.url.rsplit_once('/'), self.prefix.rsplit_once('/')) {
            (Some((u, _)), Some((p, _))) => (u.to_string(), p.to_string()),
            _ => (format!("s3://{}", self.bucket), String::new()),
        };
        Remote {
            url,
            prefix,
            ..self.clone()
        }
    }

    pub fn readable(&self) -> Arc<dyn ReadableListableStorageTraits> {
        self.adapter()
    }

    fn adapter(&self) -> Arc<AsyncToSyncStorageAdapter<AsyncObjectStore<Client>, BlockOn>> {
        let inner: Client = if self.prefix.is_empty() {
            self.client.clone()
        } else {
            Arc::new(PrefixStore::new(
                self.client.clone(),
                Key::from(self.prefix.as_str()),
            ))
        };
        Arc::new(AsyncToSyncStorageAdapter::new(
            Arc::new(AsyncObjectStore::new(inner)),
            BlockOn,
        ))
    }
}

/// A prefix that names one place: no empty, `.` or `..` segment (`//`,
/// `/./`, `/../` are not folded as on a filesystem), and none of `? # %`
/// or control characters, which URLs and keys read differently.
fn check_prefix(url: &str, prefix: &str) -> Result<()> {
    if prefix.is_empty() {
        return Ok(());
    }
    for seg in prefix.split('/') {
        let why = match seg {
            "" => Some("an empty segment ('//')".to_string()),
            "." | ".." => Some(format!(
                "a '{seg}' segment, which object stores do not resolve"
            )),
            _ => seg
                .chars()
                .find(|c| matches!(c, '?' | '#' | '%') || c.is_control())
                .map(|c| format!("the character {c:?}")),
        };
        if let Some(why) = why {
            bail!("'{url}': the path has {why}: give the prefix as its objects' keys begin, e.g. s3://bucket/surveys/f3.zarr");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse() {
        for bad in [
            "s3://b/a//b",
            "s3://b/a/../b",
            "s3://b/./x",
            "s3://b/a?x",
            "s3://b/a#1",
            "s3://b/50%",
        ] {
            let Err(e) = Remote::open(Path::new(bad), &Settings::default()) else {
                panic!("{bad} accepted")
            };
            let e = e.to_string();
            assert!(e.contains("the path has") && e.contains(bad), "{bad}: {e}");
        }
        std::env::set_var("AWS_ACCESS_KEY_ID", "k");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "s");
        let r = Remote::open(Path::new("s3://b/some/prefix/"), &Settings::default()).unwrap();
        assert_eq!((r.bucket.as_str(), r.prefix.as_str()), ("b", "some/prefix"));
        assert_eq!(r.child("v/zarr.json").full(""), "some/prefix/v/zarr.json");
        assert_eq!(r.full("/zarr.json"), "some/prefix/zarr.json");
        let root = Remote::open(Path::new("s3://b"), &Settings::default()).unwrap();
        assert_eq!(root.full("x"), "x");
        assert!(Remote::open(Path::new("s3:///x"), &Settings::default()).is_err());
        assert!(is_remote(Path::new("s3://b/x")) && !is_remote(Path::new("b/x")));
    }
}
