//! A store that keeps a dataset's metadata in a local directory and sends
//! its chunks to another store: how a converter writes into object storage,
//! where the metadata must appear last (see `remote_output`) while the
//! chunks stream out as they are made.

use std::sync::Arc;
use zarrs::storage::byte_range::ByteRangeIterator;
use zarrs::storage::{
    Bytes, ListableStorageTraits, MaybeBytesIterator, OffsetBytesIterator, ReadableStorageTraits,
    ReadableWritableListableStorageTraits, StorageError, StoreKey, StoreKeys, StoreKeysPrefixes,
    StorePrefix, WritableStorageTraits,
};

type Store = Arc<dyn ReadableWritableListableStorageTraits>;

pub struct Split {
    meta: Store,
    data: Store,
}

impl Split {
    pub fn new(meta: Store, data: Store) -> Split {
        Split { meta, data }
    }

    fn route(&self, key: &StoreKey) -> &Store {
        if crate::store::metadata::is_metadata_key(key.as_str()) {
            &self.meta
        } else {
            &self.data
        }
    }
}

impl ReadableStorageTraits for Split {
    fn get_partial_many<'a>(
        &'a self,
        key: &StoreKey,
        byte_ranges: ByteRangeIterator<'a>,
    ) -> Result<MaybeBytesIterator<'a>, StorageError> {
        self.route(key).get_partial_many(key, byte_ranges)
    }

    fn size_key(&self, key: &StoreKey) -> Result<Option<u64>, StorageError> {
        self.route(key).size_key(key)
    }

    fn supports_get_partial(&self) -> bool {
        self.meta.supports_get_partial() && self.data.supports_get_partial()
    }
}

impl ListableStorageTraits for Split {
    fn list(&self) -> Result<StoreKeys, StorageError> {
        self.meta.list()
    }

    fn list_prefix(&self, prefix: &StorePrefix) -> Result<StoreKeys, StorageError> {
        self.meta.list_prefix(prefix)
    }

    fn list_dir(&self, prefix: &StorePrefix) -> Result<StoreKeysPrefixes, StorageError> {
        self.meta.list_dir(prefix)
    }

    fn size_prefix(&self, prefix: &StorePrefix) -> Result<u64, StorageError> {
        Ok(self.meta.size_prefix(prefix)? + self.data.size_prefix(prefix)?)
    }
}

impl WritableStorageTraits for Split {
    fn set(&self, key: &StoreKey, value: Bytes) -> Result<(), StorageError> {
        self.route(key).set(key, value)
    }

    fn set_partial_many(
        &self,
        key: &StoreKey,
        offset_values: OffsetBytesIterator,
    ) -> Result<(), StorageError> {
        self.route(key).set_partial_many(key, offset_values)
    }

    fn erase(&self, key: &StoreKey) -> Result<(), StorageError> {
        self.route(key).erase(key)
    }

    fn erase_prefix(&self, prefix: &StorePrefix) -> Result<(), StorageError> {
        self.meta.erase_prefix(prefix)?;
        self.data.erase_prefix(prefix)
    }

    fn supports_set_partial(&self) -> bool {
        false
    }
}
