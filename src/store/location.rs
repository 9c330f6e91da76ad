//! Where a store lies and how to open it for reading: a directory, a zip
//! file (local or in an object store) or an `s3://` location; what a node
//! of it is; what it holds.

use super::adapters::{prefetch, zip_entries};
use super::metadata::Format;
use super::remote;
use anyhow::Context;
use std::path::Path;
use std::sync::Arc;
use zarrs::storage::{ReadableListableStorageTraits, ReadableStorageTraits, StoreKey};

/// A Zarr store opened for reading, wherever it lies.
pub type ReadStore = Arc<dyn ReadableListableStorageTraits>;

/// Whether `path` names a zip file holding a Zarr store (`vol.zarr.zip`).
pub fn is_zip(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
}

/// Open the store at `path` for reading: a directory, an `s3://` location,
/// or a zip file (local or on s3://) as zarr-python's ZipStore writes it.
pub fn open_readable(path: &Path) -> anyhow::Result<ReadStore> {
    if is_zip(path) {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let key = StoreKey::new(&name).map_err(|e| anyhow::anyhow!("'{}': {e}", path.display()))?;
        let parent = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let outer: Arc<dyn ReadableStorageTraits> = if remote::is_remote(path) {
            let r = remote::Remote::open(&parent)?;
            r.check()?;
            r.storage()
        } else {
            if !path.is_file() {
                anyhow::bail!("'{}' does not exist", path.display());
            }
            let dir = if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                &parent
            };
            Arc::new(
                zarrs::filesystem::FilesystemStore::new(dir)
                    .with_context(|| format!("cannot open '{}'", dir.display()))?,
            )
        };
        let bad = |e| anyhow::anyhow!("'{}' is not a readable zip file: {e}", path.display());
        let zip: ReadStore =
            Arc::new(zarrs_zip::ZipStorageAdapter::new(outer.clone(), key.clone()).map_err(bad)?);
        // zipped with its folder (`zip -r vol.zarr.zip vol.zarr`): open the folder
        let root = zip.list_dir(&zarrs::storage::StorePrefix::root())?;
        if let ([folder], []) = (root.prefixes().as_slice(), root.keys().as_slice()) {
            let inner = folder.as_str().to_string();
            let zip =
                zarrs_zip::ZipStorageAdapter::new_with_path(outer.clone(), key.clone(), &inner)
                    .map_err(bad)?;
            return zip_entries::wrap(path, Arc::new(zip), outer, key, &inner);
        }
        return zip_entries::wrap(path, zip, outer, key, "");
    }
    if remote::is_remote(path) {
        let r = remote::Remote::open(path)?;
        r.check()?;
        return Ok(r.readable());
    }
    if !path.exists() {
        anyhow::bail!("'{}' does not exist", path.display());
    }
    if !path.is_dir() {
        anyhow::bail!(
            "'{}' is a file, not a Zarr store: give the store's directory, a .zip of it or an s3:// location (SEG-Y and image stacks: `attr convert` them first)",
            path.display()
        );
    }
    Ok(Arc::new(
        zarrs::filesystem::FilesystemStore::new(path)
            .with_context(|| format!("cannot open '{}'", path.display()))?,
    ))
}

/// Open the store at `path` for reading, and in an object store a handle
/// to fetch its chunks ahead of time.
pub fn open_prefetching(
    path: &Path,
) -> anyhow::Result<(ReadStore, Option<Arc<prefetch::Prefetching>>)> {
    if remote::is_remote(path) && !is_zip(path) {
        let r = remote::Remote::open(path)?;
        r.check()?;
        let p = Arc::new(prefetch::Prefetching::new(r));
        return Ok((p.clone(), Some(p)));
    }
    Ok((open_readable(path)?, None))
}

/// The value at `key` of a store, `None` when absent.
pub fn read_key(store: &ReadStore, key: &str) -> anyhow::Result<Option<Vec<u8>>> {
    let k = StoreKey::new(key).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(store.get(&k)?.map(|b| b.to_vec()))
}

/// The JSON document at `key` of a store, `None` when absent or damaged.
pub fn read_json(store: &ReadStore, key: &str) -> Option<serde_json::Value> {
    read_key(store, key)
        .ok()
        .flatten()
        .and_then(|b| serde_json::from_slice(&b).ok())
}

/// Identify the Zarr node at `prefix` (`""` or `name/`) of an open store.
pub fn node_kind_in(store: &ReadStore, prefix: &str, shown: &str) -> anyhow::Result<NodeKind> {
    if let Some(bytes) = read_key(store, &format!("{prefix}zarr.json"))? {
        let json: serde_json::Value = serde_json::from_slice(&bytes)
            .with_context(|| format!("'{shown}/zarr.json' is not valid JSON"))?;
        return match json.get("node_type").and_then(|v| v.as_str()) {
            Some("array") => Ok(NodeKind::Array(Format::V3)),
            Some("group") => Ok(NodeKind::Group(Format::V3)),
            _ => anyhow::bail!("'{shown}/zarr.json' has no valid node_type"),
        };
    }
    if read_key(store, &format!("{prefix}.zarray"))?.is_some() {
        return Ok(NodeKind::Array(Format::V2));
    }
    if read_key(store, &format!("{prefix}.zgroup"))?.is_some() {
        return Ok(NodeKind::Group(Format::V2));
    }
    anyhow::bail!(
        "'{shown}' is not a Zarr array or group (no zarr.json, .zarray or .zgroup): give the path of a Zarr store"
    )
}

/// What a path holds, judged from its metadata files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Array(Format),
    Group(Format),
}

/// Identify the Zarr node at `path`, with an error a user can act on.
pub fn node_kind(path: &Path) -> anyhow::Result<NodeKind> {
    if remote::is_remote(path) || is_zip(path) {
        let shown = path.display().to_string();
        return node_kind_in(&open_readable(path)?, "", &shown);
    }
    if !path.exists() {
        anyhow::bail!("'{}' does not exist", path.display());
    }
    let v3 = path.join("zarr.json");
    if v3.is_file() {
        let text = std::fs::read_to_string(&v3)?;
        let json: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("'{}' is not valid JSON", v3.display()))?;
        return match json.get("node_type").and_then(|v| v.as_str()) {
            Some("array") => Ok(NodeKind::Array(Format::V3)),
            Some("group") => Ok(NodeKind::Group(Format::V3)),
            _ => anyhow::bail!("'{}' has no valid node_type", v3.display()),
        };
    }
    if path.join(".zarray").is_file() {
        return Ok(NodeKind::Array(Format::V2));
    }
    if path.join(".zgroup").is_file() {
        return Ok(NodeKind::Group(Format::V2));
    }
    anyhow::bail!(
        "'{}' is not a Zarr array or group (no zarr.json, .zarray or .zgroup): give the path of a Zarr store",
        path.display()
    )
}

/// Total size of the files under `path`: what a store occupies on disk.
pub fn stored_bytes(path: &Path) -> u64 {
    if remote::is_remote(path) {
        let listed = remote::Remote::open(path).and_then(|r| r.list(""));
        return listed.map_or(0, |l| l.iter().map(|e| e.size).sum());
    }
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => stored_bytes(&e.path()),
            Ok(_) => e.metadata().map(|m| m.len()).unwrap_or(0),
            Err(_) => 0,
        })
        .sum()
}
