//! Chunk reads issued ahead of the tasks that need them, so that an object
//! store's latency is hidden behind computing: the engine names the chunks
//! a task will read first a few tasks early, their GETs run on the shared
//! runtime (many in flight), and the decode that follows takes the bytes.
//! Metadata documents, which opening a dataset reads several times each,
//! are fetched once.

use crate::store::remote::{self, Remote};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use zarrs::storage::byte_range::ByteRangeIterator;
use zarrs::storage::{
    Bytes, MaybeBytesIterator, ReadableListableStorageTraits, ReadableStorageTraits, StorageError,
    StoreKey,
};

type Fetch = tokio::task::JoinHandle<anyhow::Result<Option<Vec<u8>>>>;

pub struct Prefetching {
    remote: Remote,
    inner: Arc<dyn ReadableListableStorageTraits>,
    pending: Mutex<HashMap<String, Fetch>>,
    /// Metadata documents read so far (`None`: absent).
    metadata: Mutex<HashMap<String, Option<Bytes>>>,
}

/// The parts `byte_ranges` of `bytes`.
fn slices<'a>(
    key: &StoreKey,
    bytes: Bytes,
    byte_ranges: ByteRangeIterator<'a>,
) -> MaybeBytesIterator<'a> {
    let len = bytes.len() as u64;
    let parts: Vec<Result<Bytes, StorageError>> = byte_ranges
        .map(|r| {
            let range = r.to_range_usize(len);
            if range.end > bytes.len() {
                return Err(StorageError::Other(format!(
                    "{}: byte range {range:?} beyond {len} bytes",
                    key.as_str()
                )));
            }
            Ok(bytes.slice(range))
        })
        .collect();
    Some(Box::new(parts.into_iter()))
}

impl Prefetching {
    pub fn new(remote: Remote) -> Prefetching {
        Prefetching {
            inner: remote.readable(),
            remote,
            pending: Default::default(),
            metadata: Default::default(),
        }
    }

    /// Start fetching `key` unless it is already on its way.
    pub fn hint(&self, key: &StoreKey) {
        let Ok(mut pending) = self.pending.lock() else {
            return;
        };
        if pending.contains_key(key.as_str()) {
            return;
        }
        let r = self.remote.clone();
        let k = key.as_str().to_string();
        pending.insert(
            k.clone(),
            remote::spawn(async move { r.get_async(&k).await }),
        );
    }

    fn take(&self, key: &StoreKey) -> Option<Fetch> {
        self.pending.lock().ok()?.remove(key.as_str())
    }
}

impl ReadableStorageTraits for Prefetching {
    fn get_partial_many<'a>(
        &'a self,
        key: &StoreKey,
        byte_ranges: ByteRangeIterator<'a>,
    ) -> Result<MaybeBytesIterator<'a>, StorageError> {
        if crate::store::metadata::is_metadata_key(key.as_str()) {
            let cached = self
                .metadata
                .lock()
                .ok()
                .and_then(|m| m.get(key.as_str()).cloned());
            let bytes = match cached {
                Some(b) => b,
                None => {
                    let b = self.inner.get(key)?;
                    if let Ok(mut m) = self.metadata.lock() {
                        m.insert(key.as_str().to_string(), b.clone());
                    }
                    b
                }
            };
            return Ok(bytes.and_then(|b| slices(key, b, byte_ranges)));
        }
        let Some(fetch) = self.take(key) else {
            return self.inner.get_partial_many(key, byte_ranges);
        };
        let fetched = remote::wait(fetch)
            .map_err(|e| StorageError::Other(format!("{e:#}")))?
            .map_err(|e| StorageError::Other(format!("{e:#}")))?;
        let Some(bytes) = fetched else {
            return Ok(None);
        };
        Ok(slices(key, Bytes::from(bytes), byte_ranges))
    }

    fn size_key(&self, key: &StoreKey) -> Result<Option<u64>, StorageError> {
        self.inner.size_key(key)
    }

    fn supports_get_partial(&self) -> bool {
        self.inner.supports_get_partial()
    }
}

super::delegate::listable_by!(Prefetching, inner);
