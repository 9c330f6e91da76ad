//! A store that remembers the size and crc32c of each value it writes, so
//! that a chunk's completion record can carry them (for `attr status
//! --verify` and `--repair`) without reading the chunk back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use zarrs::storage::{
    Bytes, OffsetBytesIterator, ReadableWritableListableStorageTraits, StorageError, StoreKey,
    StorePrefix, WritableStorageTraits,
};

pub struct Checksummed {
    inner: Arc<dyn ReadableWritableListableStorageTraits>,
    /// (size, crc32c) of the values written, by key, until taken.
    written: Mutex<HashMap<String, (u64, u32)>>,
}

impl Checksummed {
    pub fn new(inner: Arc<dyn ReadableWritableListableStorageTraits>) -> Checksummed {
        Checksummed {
            inner,
            written: Default::default(),
        }
    }

    /// Size and crc32c of the value last written at `key`, once.
    pub fn take_checksum(&self, key: &str) -> Option<(u64, u32)> {
        self.written.lock().ok()?.remove(key)
    }
}

super::delegate::readable_by!(Checksummed, inner);
super::delegate::listable_by!(Checksummed, inner);

impl WritableStorageTraits for Checksummed {
    fn set(&self, key: &StoreKey, value: Bytes) -> Result<(), StorageError> {
        let sum = (value.len() as u64, crc32c::crc32c(&value));
        self.inner.set(key, value)?;
        if let Ok(mut w) = self.written.lock() {
            w.insert(key.as_str().to_string(), sum);
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
        self.inner.supports_set_partial()
    }
}
