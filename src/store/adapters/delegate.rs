//! Store wrappers (atomic files, checksums, read-ahead, write-behind) each
//! change one part of zarrs' storage traits and pass the rest on to the
//! store they wrap; these macros write the passing on.

/// `ReadableStorageTraits` for `$t` by its field `$f`.
macro_rules! readable_by {
    ($t:ty, $f:ident) => {
        impl zarrs::storage::ReadableStorageTraits for $t {
            fn get_partial_many<'a>(
                &'a self,
                key: &zarrs::storage::StoreKey,
                byte_ranges: zarrs::storage::byte_range::ByteRangeIterator<'a>,
            ) -> Result<zarrs::storage::MaybeBytesIterator<'a>, zarrs::storage::StorageError> {
                self.$f.get_partial_many(key, byte_ranges)
            }

            fn size_key(
                &self,
                key: &zarrs::storage::StoreKey,
            ) -> Result<Option<u64>, zarrs::storage::StorageError> {
                self.$f.size_key(key)
            }

            fn supports_get_partial(&self) -> bool {
                self.$f.supports_get_partial()
            }
        }
    };
}

/// `ListableStorageTraits` for `$t` by its field `$f`.
macro_rules! listable_by {
    ($t:ty, $f:ident) => {
        impl zarrs::storage::ListableStorageTraits for $t {
            fn list(&self) -> Result<zarrs::storage::StoreKeys, zarrs::storage::StorageError> {
                self.$f.list()
            }

            fn list_prefix(
                &self,
                prefix: &zarrs::storage::StorePrefix,
            ) -> Result<zarrs::storage::StoreKeys, zarrs::storage::StorageError> {
                self.$f.list_prefix(prefix)
            }

            fn list_dir(
                &self,
                prefix: &zarrs::storage::StorePrefix,
            ) -> Result<zarrs::storage::StoreKeysPrefixes, zarrs::storage::StorageError> {
                self.$f.list_dir(prefix)
            }

            fn size_prefix(
                &self,
                prefix: &zarrs::storage::StorePrefix,
            ) -> Result<u64, zarrs::storage::StorageError> {
                self.$f.size_prefix(prefix)
            }
        }
    };
}

pub(crate) use listable_by;
pub(crate) use readable_by;
