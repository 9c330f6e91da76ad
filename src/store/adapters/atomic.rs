//! Chunk files written whole or not at all.
//!
//! zarrs' filesystem store writes a file in place (a killed process leaves
//! a truncated chunk) and fsyncs every file. This adapter writes each value
//! to a temporary file with a name unique to the process and write, then
//! renames it over the destination: a reader, a concurrent writer of the
//! same chunk, or a rerun after `kill -9` sees the old file or the new one,
//! never half of one. Leftover temporaries are recognisable by
//! [`is_temporary`] and cleaned up by the run that finishes the dataset.
//! Syncing to disk is optional: it protects against a machine crash, not a
//! killed process, and costs a disk flush per chunk.

use anyhow::Context;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use zarrs::filesystem::FilesystemStore;
use zarrs::storage::{
    Bytes, OffsetBytesIterator, ReadableStorageTraits, StorageError, StoreKey, StorePrefix,
    WritableStorageTraits,
};

const TEMP_MARK: &str = ".attr-tmp.";

/// `ATTR_UNSAFE_IN_PLACE_WRITES=1` writes chunk files in place and keeps no
/// completion records: not crash-safe, not resumable, never for production.
/// It exists only to measure what crash safety costs (`bench/bench.sh`).
pub fn unsafe_in_place() -> bool {
    std::env::var_os("ATTR_UNSAFE_IN_PLACE_WRITES").is_some_and(|v| v == "1")
}

/// Whether a file name is a temporary left by an interrupted write.
pub fn is_temporary(name: &str) -> bool {
    name.contains(TEMP_MARK)
}

#[derive(Debug)]
pub struct AtomicFiles {
    inner: Arc<FilesystemStore>,
    root: PathBuf,
    counter: AtomicU64,
    sync: bool,
}

impl AtomicFiles {
    pub fn new(root: PathBuf, sync: bool) -> anyhow::Result<Self> {
        let inner = FilesystemStore::new(&root)
            .with_context(|| format!("cannot open '{}'", root.display()))?;
        Ok(AtomicFiles {
            inner: Arc::new(inner),
            root,
            counter: AtomicU64::new(0),
            sync,
        })
    }

    /// Create `dir` and its missing parents, but never the root itself: a
    /// staged dataset that has been published (renamed away) or removed
    /// meanwhile makes the write fail instead of growing a stray copy.
    fn ensure_dir(&self, dir: &std::path::Path) -> std::io::Result<()> {
        if dir.is_dir() {
            return Ok(());
        }
        if dir == self.root || !dir.starts_with(&self.root) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("'{}' is gone", self.root.display()),
            ));
        }
        if let Some(parent) = dir.parent() {
            self.ensure_dir(parent)?;
        }
        match std::fs::create_dir(dir) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(e),
            _ => Ok(()),
        }
    }

    fn write_whole(&self, key: &StoreKey, value: &[u8]) -> std::io::Result<()> {
        let path = self.root.join(key.as_str());
        if let Some(parent) = path.parent() {
            self.ensure_dir(parent)?;
        }
        if unsafe_in_place() {
            return std::fs::write(&path, value);
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let tmp = path.with_file_name(format!(
            "{name}{TEMP_MARK}{}.{n}",
            crate::store::process::tag()
        ));
        let result = (|| {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(value)?;
            if self.sync {
                f.sync_all()?;
            }
            drop(f);
            std::fs::rename(&tmp, &path)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }
}

super::delegate::readable_by!(AtomicFiles, inner);
super::delegate::listable_by!(AtomicFiles, inner);

impl WritableStorageTraits for AtomicFiles {
    fn set(&self, key: &StoreKey, value: Bytes) -> Result<(), StorageError> {
        self.write_whole(key, &value).map_err(StorageError::from)
    }

    fn set_partial_many(
        &self,
        key: &StoreKey,
        offset_values: OffsetBytesIterator,
    ) -> Result<(), StorageError> {
        // read, patch and replace whole: never an in-place partial write
        let mut bytes = self.inner.get(key)?.map(|b| b.to_vec()).unwrap_or_default();
        for (offset, value) in offset_values {
            let offset = usize::try_from(offset).map_err(|e| StorageError::Other(e.to_string()))?;
            if bytes.len() < offset + value.len() {
                bytes.resize(offset + value.len(), 0);
            }
            bytes[offset..offset + value.len()].copy_from_slice(&value);
        }
        self.write_whole(key, &bytes).map_err(StorageError::from)
    }

    fn erase(&self, key: &StoreKey) -> Result<(), StorageError> {
        self.inner.erase(key)
    }

    fn erase_prefix(&self, prefix: &StorePrefix) -> Result<(), StorageError> {
        self.inner.erase_prefix(prefix)
    }

    fn supports_set_partial(&self) -> bool {
        false
    }
}
