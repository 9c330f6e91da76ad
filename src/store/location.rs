//! Where a store lies and how to open it for reading: a directory, a zip
//! file (local or in an object store) or an `s3://` location; what a node
//! of it is; what it holds.

use super::adapters::{prefetch, zip_entries};
use super::metadata::Format;
use super::remote::{self, Remote, Settings};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use zarrs::storage::{ReadableListableStorageTraits, ReadableStorageTraits, StoreKey};

/// A Zarr store opened for reading, wherever it lies.
pub type ReadStore = Arc<dyn ReadableListableStorageTraits>;

/// Whether `path` names a zip file holding a Zarr store (`vol.zarr.zip`).
fn is_zip(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
}

/// `PATH:VARIABLE` as the store and the variable: split where the part
/// before the colon is an `s3://` location or an existing path and the
/// whole is not (a path may hold colons); else the path as given.
pub fn split_variable(text: &Path) -> (PathBuf, Option<String>) {
    let s = text.to_string_lossy();
    if let Some((p, v)) = s.rsplit_once(':') {
        let store = Path::new(p);
        let found = remote::is_remote(store) || (!text.exists() && store.exists());
        if !v.is_empty() && !v.contains('/') && found {
            return (store.to_path_buf(), Some(v.to_string()));
        }
    }
    (text.to_path_buf(), None)
}

/// Where a store lies, decided once from what the user wrote and the job's
/// object-store settings, then passed down: nothing below asks a path
/// string again whether it is remote.
#[derive(Clone, Debug)]
pub enum Location {
    /// A directory on a file system.
    Dir(PathBuf),
    /// A prefix in an S3-compatible object store, with its settings.
    S3(Remote),
    /// A zip file holding a store (read only), in `folder`.
    Zip {
        shown: PathBuf,
        folder: Box<Location>,
        name: String,
    },
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.path().display())
    }
}

impl Location {
    /// The location `path` names: `s3://bucket/prefix` (reached with
    /// `storage` and the AWS environment), a `.zip` file, or a directory.
    pub fn parse(path: &Path, storage: &Settings) -> Result<Location> {
        let remote = remote::is_remote(path);
        if is_zip(path) {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let folder = match remote {
                true => Location::S3(Remote::open(path, storage)?.parent()),
                false => Location::Dir(match path.parent() {
                    Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                    _ => PathBuf::from("."),
                }),
            };
            return Ok(Location::Zip {
                shown: path.to_path_buf(),
                folder: Box::new(folder),
                name,
            });
        }
        match remote {
            true => Ok(Location::S3(Remote::open(path, storage)?)),
            false => Ok(Location::Dir(path.to_path_buf())),
        }
    }

    /// A directory, for stores that can only be local (staging, exports).
    pub fn local(path: impl Into<PathBuf>) -> Location {
        Location::Dir(path.into())
    }

    /// The location as the user wrote it: for messages, and as a key.
    pub fn path(&self) -> &Path {
        match self {
            Location::Dir(p) => p,
            Location::S3(r) => r.path(),
            Location::Zip { shown, .. } => shown,
        }
    }

    /// The object store location, if that is where it lies.
    pub fn remote(&self) -> Option<&Remote> {
        match self {
            Location::S3(r) => Some(r),
            _ => None,
        }
    }

    pub fn is_remote(&self) -> bool {
        match self {
            Location::Dir(_) => false,
            Location::S3(_) => true,
            Location::Zip { folder, .. } => folder.is_remote(),
        }
    }

    /// The node `name` inside this store (an array of a dataset).
    pub fn join(&self, name: &str) -> Result<Location> {
        match self {
            Location::Dir(p) => Ok(Location::Dir(p.join(name))),
            Location::S3(r) => Ok(Location::S3(r.child(name))),
            Location::Zip { shown, .. } => anyhow::bail!(
                "'{}': an array inside a zip file cannot be opened on its own: unzip it",
                shown.display()
            ),
        }
    }

    /// Open the store for reading: a directory, an `s3://` location, or a
    /// zip file (local or on s3://) as zarr-python's ZipStore writes it.
    pub fn open_readable(&self) -> Result<ReadStore> {
        match self {
            Location::Zip {
                shown,
                folder,
                name,
            } => open_zip(shown, folder, name),
            Location::S3(r) => {
                r.check()?;
                Ok(r.readable())
            }
            Location::Dir(path) => {
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
        }
    }

    /// Open the store for reading, and in an object store a handle to
    /// fetch its chunks ahead of time.
    pub fn open_prefetching(&self) -> Result<(ReadStore, Option<Arc<prefetch::Prefetching>>)> {
        if let Location::S3(r) = self {
            r.check()?;
            let p = Arc::new(prefetch::Prefetching::new(r.clone()));
            return Ok((p.clone(), Some(p)));
        }
        Ok((self.open_readable()?, None))
    }
}

fn open_zip(shown: &Path, folder: &Location, name: &str) -> Result<ReadStore> {
    let key = StoreKey::new(name).map_err(|e| anyhow::anyhow!("'{}': {e}", shown.display()))?;
    let outer: Arc<dyn ReadableStorageTraits> = match folder {
        Location::S3(r) => {
            r.check()?;
            r.storage()
        }
        _ => {
            if !shown.is_file() {
                anyhow::bail!("'{}' does not exist", shown.display());
            }
            let dir = folder.path();
            Arc::new(
                zarrs::filesystem::FilesystemStore::new(dir)
                    .with_context(|| format!("cannot open '{}'", dir.display()))?,
            )
        }
    };
    let bad = |e| anyhow::anyhow!("'{}' is not a readable zip file: {e}", shown.display());
    let zip: ReadStore =
        Arc::new(zarrs_zip::ZipStorageAdapter::new(outer.clone(), key.clone()).map_err(bad)?);
    // zipped with its folder (`zip -r vol.zarr.zip vol.zarr`): open the folder
    let root = zip.list_dir(&zarrs::storage::StorePrefix::root())?;
    if let ([folder], []) = (root.prefixes().as_slice(), root.keys().as_slice()) {
        let inner = folder.as_str().to_string();
        let zip = zarrs_zip::ZipStorageAdapter::new_with_path(outer.clone(), key.clone(), &inner)
            .map_err(bad)?;
        return zip_entries::wrap(shown, Arc::new(zip), outer, key, &inner);
    }
    zip_entries::wrap(shown, zip, outer, key, "")
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

/// Identify the Zarr node at `at`, with an error a user can act on.
pub fn node_kind(at: &Location) -> anyhow::Result<NodeKind> {
    let Location::Dir(path) = at else {
        return node_kind_in(&at.open_readable()?, "", &at.to_string());
    };
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

/// Total size of what a store occupies.
pub fn stored_bytes(at: &Location) -> u64 {
    match at {
        Location::S3(r) => r.list("").map_or(0, |l| l.iter().map(|e| e.size).sum()),
        Location::Dir(path) => bytes_under(path),
        Location::Zip { shown, .. } => std::fs::metadata(shown).map_or(0, |m| m.len()),
    }
}

/// Total size of the files under `path`.
fn bytes_under(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => bytes_under(&e.path()),
            Ok(_) => e.metadata().map(|m| m.len()).unwrap_or(0),
            Err(_) => 0,
        })
        .sum()
}
