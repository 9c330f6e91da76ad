//! Deflated entries of a zip store, inflated whole.
//!
//! `zarrs_zip` reads stored entries (`zip -0`, zarr-python's `ZipStore`)
//! correctly, but its inflation of deflated ones (`zip -r`, Python's
//! `ZIP_DEFLATED`) writes every piece over the first, so chunks decode to
//! wrong numbers or not at all. This wrapper answers for the deflated
//! entries itself — the local header, then the raw deflate stream through
//! `flate2`, checked against the recorded size and CRC-32 — and leaves
//! listing and stored entries to the adapter. An entry compressed any
//! other way is refused when the store is opened.

use anyhow::{bail, Result};
use rc_zip::fsm::{ArchiveFsm, FsmResult};
use rc_zip::parse::Method;
use rc_zip::EntryKind;
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use zarrs::storage::byte_range::{ByteRange, ByteRangeIterator};
use zarrs::storage::{
    Bytes, MaybeBytesIterator, ReadableListableStorageTraits, ReadableStorageTraits, StorageError,
    StoreKey,
};

/// A readable, listable store (what `store::ReadStore` names).
type ReadStore = Arc<dyn ReadableListableStorageTraits>;

/// Where a deflated entry's bytes are, and what they must inflate to.
struct Deflated {
    header_offset: u64,
    compressed_size: u64,
    uncompressed_size: u64,
    crc32: u32,
}

pub struct Inflating {
    /// The zip adapter: listing and stored entries.
    inner: ReadStore,
    /// The store holding the zip file, and its key there.
    outer: Arc<dyn ReadableStorageTraits>,
    key: StoreKey,
    /// Deflated entries by their key in the store (inside `folder`).
    deflated: HashMap<StoreKey, Deflated>,
}

/// Read the zip's directory through `outer` and wrap `inner` (the adapter
/// opened at `folder` inside it) so that deflated entries read right.
pub fn wrap(
    path: &Path,
    inner: ReadStore,
    outer: Arc<dyn ReadableStorageTraits>,
    key: StoreKey,
    folder: &str,
) -> Result<ReadStore> {
    let size = outer
        .size_key(&key)?
        .ok_or_else(|| anyhow::anyhow!("'{}' does not exist", path.display()))?;
    let mut fsm = ArchiveFsm::new(size);
    let archive = loop {
        if let Some(offset) = fsm.wants_read() {
            let space = fsm.space();
            let n = (space.len() as u64).min(size.saturating_sub(offset));
            let got = if n > 0 {
                let data = outer
                    .get_partial(&key, ByteRange::FromStart(offset, Some(n)))?
                    .ok_or_else(|| anyhow::anyhow!("'{}' went away", path.display()))?;
                let k = data.len().min(space.len());
                space[..k].copy_from_slice(&data[..k]);
                k
            } else {
                0
            };
            fsm.fill(got);
        }
        match fsm.process() {
            Ok(FsmResult::Continue(next)) => fsm = next,
            Ok(FsmResult::Done(a)) => break a,
            Err(e) => bail!("'{}' is not a readable zip file: {e}", path.display()),
        }
    };
    let mut deflated = HashMap::new();
    for e in archive.entries() {
        if e.kind() != EntryKind::File {
            continue;
        }
        let Some(name) = e.name.strip_prefix(folder).filter(|n| !n.is_empty()) else {
            continue;
        };
        match e.method {
            Method::Store => {}
            Method::Deflate => {
                let Ok(k) = StoreKey::new(name) else { continue };
                deflated.insert(
                    k,
                    Deflated {
                        header_offset: e.header_offset,
                        compressed_size: e.compressed_size,
                        uncompressed_size: e.uncompressed_size,
                        crc32: e.crc32,
                    },
                );
            }
            m => bail!(
                "'{}': entry '{}' is compressed with {m:?}, which attr does not read: zip the store again with `zip -r` (deflate) or `zip -0r` (stored)",
                path.display(),
                e.name
            ),
        }
    }
    if deflated.is_empty() {
        return Ok(inner);
    }
    Ok(Arc::new(Inflating {
        inner,
        outer,
        key,
        deflated,
    }))
}

impl Inflating {
    fn inflate(&self, key: &StoreKey, d: &Deflated) -> Result<Vec<u8>, StorageError> {
        let bad = |why: String| StorageError::Other(format!("zip entry '{key}': {why}"));
        let header = self
            .outer
            .get_partial(&self.key, ByteRange::FromStart(d.header_offset, Some(30)))?
            .ok_or_else(|| bad("its local header is missing".into()))?;
        if header.len() < 30 || header[..4] != [0x50, 0x4b, 0x03, 0x04] {
            return Err(bad("its local header is damaged".into()));
        }
        let name_len = u16::from_le_bytes([header[26], header[27]]) as u64;
        let extra_len = u16::from_le_bytes([header[28], header[29]]) as u64;
        let start = d.header_offset + 30 + name_len + extra_len;
        let raw = self
            .outer
            .get_partial(
                &self.key,
                ByteRange::FromStart(start, Some(d.compressed_size)),
            )?
            .ok_or_else(|| bad("its data is missing".into()))?;
        let mut out = Vec::with_capacity(d.uncompressed_size as usize);
        flate2::read::DeflateDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| bad(format!("cannot inflate it: {e}")))?;
        if out.len() as u64 != d.uncompressed_size || crc32fast::hash(&out) != d.crc32 {
            return Err(bad("it inflates to other bytes than were zipped".into()));
        }
        Ok(out)
    }
}

impl ReadableStorageTraits for Inflating {
    fn get_partial_many<'a>(
        &'a self,
        key: &StoreKey,
        byte_ranges: ByteRangeIterator<'a>,
    ) -> Result<MaybeBytesIterator<'a>, StorageError> {
        let Some(d) = self.deflated.get(key) else {
            return self.inner.get_partial_many(key, byte_ranges);
        };
        let whole = self.inflate(key, d)?;
        let n = whole.len() as u64;
        let parts: Vec<Result<Bytes, StorageError>> = byte_ranges
            .map(|r| {
                let range = r.to_range(n);
                if range.end > n {
                    return Err(StorageError::Other(format!(
                        "zip entry '{key}': range {r:?} beyond its {n} bytes"
                    )));
                }
                Ok(Bytes::copy_from_slice(
                    &whole[range.start as usize..range.end as usize],
                ))
            })
            .collect();
        Ok(Some(Box::new(parts.into_iter())))
    }

    fn size_key(&self, key: &StoreKey) -> Result<Option<u64>, StorageError> {
        match self.deflated.get(key) {
            Some(d) => Ok(Some(d.uncompressed_size)),
            None => self.inner.size_key(key),
        }
    }

    fn supports_get_partial(&self) -> bool {
        true
    }
}

super::delegate::listable_by!(Inflating, inner);
