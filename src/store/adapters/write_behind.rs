//! Chunk writes to an object store that overlap computing: a chunk's PUT
//! runs on the shared runtime while the worker goes on (up to a bounded
//! number in flight, which bounds the memory held), and its completion
//! record is PUT only after the chunk's own PUT succeeded, so a record
//! never names a chunk that is not whole in the store. The first failure
//! is returned by the next write and by [`WriteBehind::flush`].

use crate::store::remote::{self, Remote};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use zarrs::storage::{
    Bytes, OffsetBytesIterator, ReadableWritableListableStorageTraits, StorageError, StoreKey,
    StorePrefix, WritableStorageTraits,
};

/// Chunk PUTs in flight at most.
const IN_FLIGHT: usize = 32;

type Put = JoinHandle<anyhow::Result<()>>;

pub struct WriteBehind {
    remote: Remote,
    inner: Arc<dyn ReadableWritableListableStorageTraits>,
    permits: Arc<Semaphore>,
    /// Chunk PUTs by key, until their record is chained to them.
    chunks: Mutex<HashMap<String, Put>>,
    /// Chunk-then-record chains, and PUTs without a record.
    chains: Mutex<Vec<Put>>,
    failure: Mutex<Option<String>>,
}

impl WriteBehind {
    pub fn new(remote: Remote) -> WriteBehind {
        WriteBehind {
            inner: remote.storage(),
            remote,
            permits: Arc::new(Semaphore::new(IN_FLIGHT)),
            chunks: Default::default(),
            chains: Default::default(),
            failure: Default::default(),
        }
    }

    fn failed(&self) -> Option<String> {
        self.failure.lock().ok()?.clone()
    }

    /// Collect the chains that have finished, keeping the first failure.
    fn reap(&self) {
        let Ok(mut chains) = self.chains.lock() else {
            return;
        };
        let (done, running): (Vec<Put>, Vec<Put>) = chains.drain(..).partition(|h| h.is_finished());
        *chains = running;
        drop(chains);
        for h in done {
            if let Err(e) = remote::wait(h).and_then(|r| r) {
                self.fail(format!("{e:#}"));
            }
        }
    }

    fn fail(&self, e: String) {
        if let Ok(mut f) = self.failure.lock() {
            f.get_or_insert(e);
        }
    }

    /// PUT `value` at `record` (relative to the store) once the chunk at
    /// `chunk` is stored.
    pub fn then_put(&self, chunk: &str, record: String, value: Vec<u8>) {
        let before = self.chunks.lock().ok().and_then(|mut c| c.remove(chunk));
        let r = self.remote.clone();
        let chain = remote::spawn(async move {
            if let Some(h) = before {
                h.await.map_err(|e| anyhow::anyhow!("{e}"))??;
            }
            r.put_async(&record, value).await
        });
        if let Ok(mut c) = self.chains.lock() {
            c.push(chain);
        }
    }

    /// Wait for every write; the first failure, if any.
    pub fn flush(&self) -> anyhow::Result<()> {
        let chunks: Vec<Put> = self
            .chunks
            .lock()
            .map(|mut c| c.drain().map(|(_, h)| h).collect())
            .unwrap_or_default();
        let chains: Vec<Put> = self
            .chains
            .lock()
            .map(|mut c| c.drain(..).collect())
            .unwrap_or_default();
        for h in chunks.into_iter().chain(chains) {
            if let Err(e) = remote::wait(h).and_then(|r| r) {
                self.fail(format!("{e:#}"));
            }
        }
        match self.failed() {
            Some(e) => anyhow::bail!("{e}"),
            None => Ok(()),
        }
    }
}

super::delegate::readable_by!(WriteBehind, inner);
super::delegate::listable_by!(WriteBehind, inner);

impl WritableStorageTraits for WriteBehind {
    fn set(&self, key: &StoreKey, value: Bytes) -> Result<(), StorageError> {
        self.reap();
        if let Some(e) = self.failed() {
            return Err(StorageError::Other(e));
        }
        let permits = self.permits.clone();
        // waits while IN_FLIGHT chunks are on their way
        let permit = remote::block_on(permits.acquire_owned())
            .map_err(|e| StorageError::Other(e.to_string()))?;
        let r = self.remote.clone();
        let k = key.as_str().to_string();
        let put = remote::spawn(async move {
            let result = r.put_async(&k, value.to_vec()).await;
            drop(permit);
            result
        });
        if let Ok(mut c) = self.chunks.lock() {
            if let Some(old) = c.insert(key.as_str().to_string(), put) {
                drop(c);
                if let Ok(mut chains) = self.chains.lock() {
                    chains.push(old);
                }
            }
        }
        Ok(())
    }

    fn set_partial_many(
        &self,
        key: &StoreKey,
        offset_values: OffsetBytesIterator,
    ) -> Result<(), StorageError> {
        self.inner.set_partial_many(key, offset_values)
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
