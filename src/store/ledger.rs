//! The completion ledger of a dataset being written: which job it belongs
//! to, and which chunks are complete.
//!
//! Lives in `.attr/` inside the dataset (ignored by Zarr readers): `job.json`
//! holds the job's fingerprint (a stale dataset from another job is refused,
//! never mixed with), and `done/<variable>/<i>.<j>.<k>` marks each chunk
//! after its file has been renamed into place, so a rerun knows exactly what
//! is done. A marker is an empty file: it exists or it does not.
//!
//! On object storage the same names are objects below the dataset's prefix.

use anyhow::{Context, Result};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use super::remote::Remote;
use super::Location;

pub const DIR: &str = ".attr";
/// The sealed record of every chunk's size and crc32c.
const MANIFEST: &str = "chunks.json";

#[derive(Clone, Debug)]
pub struct Ledger {
    dir: PathBuf,
    /// The `.attr` prefix of a dataset in an object store.
    remote: Option<Remote>,
    /// Why the location can hold no ledger (a zip file is read only):
    /// then nothing is read or written anywhere else.
    unreachable: Option<String>,
}

fn chunk_name(idx: [u64; 3]) -> String {
    format!("{}.{}.{}", idx[0], idx[1], idx[2])
}

impl Ledger {
    /// The ledger of the dataset at `dataset`.
    pub fn at(dataset: &Location) -> Ledger {
        let (remote, unreachable) = match dataset {
            Location::Dir(_) => (None, None),
            Location::S3(r) => (Some(r.child(DIR)), None),
            Location::Zip { shown, .. } => (
                None,
                Some(format!(
                    "'{}' is a zip file, which is never written",
                    shown.display()
                )),
            ),
        };
        Ledger {
            dir: dataset.path().join(DIR),
            remote,
            unreachable,
        }
    }

    /// The ledger of the dataset in the directory `dataset`.
    pub fn local(dataset: &Path) -> Ledger {
        Ledger::at(&Location::local(dataset))
    }

    /// The error of a location that could not be opened.
    fn check_reachable(&self) -> Result<()> {
        match &self.unreachable {
            Some(why) => anyhow::bail!("{why}"),
            None => Ok(()),
        }
    }

    /// Start a ledger in a dataset being built.
    pub fn create(dataset: &Path, fingerprint: &Value, variables: &[String]) -> Result<Ledger> {
        let l = Ledger::local(dataset);
        for v in variables {
            std::fs::create_dir_all(l.dir.join("done").join(v))?;
        }
        std::fs::write(
            l.dir.join("job.json"),
            serde_json::to_string_pretty(fingerprint)?,
        )?;
        Ok(l)
    }

    pub fn fingerprint(&self) -> Result<Value> {
        self.check_reachable()?;
        if let Some(r) = &self.remote {
            let bytes = r
                .get("job.json")?
                .with_context(|| format!("'{}/job.json' does not exist", r.url))?;
            return serde_json::from_slice(&bytes)
                .with_context(|| format!("'{}/job.json' is damaged", r.url));
        }
        let file = self.dir.join("job.json");
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("cannot read '{}'", file.display()))?;
        serde_json::from_str(&text).with_context(|| format!("'{}' is damaged", file.display()))
    }

    /// The record of chunk `idx` of `variable` in an object store: its key
    /// (relative to the dataset) and text, for a writer that stores it
    /// after the chunk itself.
    pub fn record(
        &self,
        variable: &str,
        idx: [u64; 3],
        sum: Option<(u64, u32)>,
    ) -> (String, Vec<u8>) {
        let text = sum.map_or(String::new(), |(n, c)| format!("{n} {c:08x}"));
        (
            format!("{DIR}/done/{variable}/{}", chunk_name(idx)),
            text.into_bytes(),
        )
    }

    /// Record chunk `idx` of `variable` as complete, with the size and
    /// crc32c of its file when known.
    pub fn mark_done(&self, variable: &str, idx: [u64; 3], sum: Option<(u64, u32)>) -> Result<()> {
        if super::adapters::atomic::unsafe_in_place() {
            return Ok(());
        }
        self.check_reachable()?;
        let text = sum.map_or(String::new(), |(n, c)| format!("{n} {c:08x}"));
        if let Some(r) = &self.remote {
            return r
                .put(
                    &format!("done/{variable}/{}", chunk_name(idx)),
                    text.into_bytes(),
                )
                .with_context(|| format!("cannot record chunk {idx:?} of '{variable}'"));
        }
        let dir = self.dir.join("done").join(variable);
        let f = dir.join(chunk_name(idx));
        // never recreate a dataset that was published or removed meanwhile
        let mkdir = |d: &Path| match std::fs::create_dir(d) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(e),
            _ => Ok(()),
        };
        mkdir(&self.dir.join("done"))
            .and_then(|()| mkdir(&dir))
            .and_then(|()| std::fs::write(&f, text))
            .with_context(|| format!("cannot record chunk {idx:?} of '{variable}'"))?;
        Ok(())
    }

    /// The recorded (size, crc32c) of every chunk of every variable: the
    /// sealed manifest, updated by the records since.
    pub fn checksums(&self) -> BTreeMap<String, BTreeMap<String, (u64, u32)>> {
        if let Some(r) = &self.remote {
            return remote_checksums(r);
        }
        if self.unreachable.is_some() {
            return BTreeMap::new();
        }
        let mut all: BTreeMap<String, BTreeMap<String, (u64, u32)>> =
            std::fs::read_to_string(self.dir.join(MANIFEST))
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or_default();
        let Ok(vars) = std::fs::read_dir(self.dir.join("done")) else {
            return all;
        };
        for v in vars.flatten() {
            let var = v.file_name().to_string_lossy().into_owned();
            let Ok(chunks) = std::fs::read_dir(v.path()) else {
                continue;
            };
            for c in chunks.flatten() {
                let text = std::fs::read_to_string(c.path()).unwrap_or_default();
                if let Some(sum) = parse_sum(&text) {
                    all.entry(var.clone())
                        .or_default()
                        .insert(c.file_name().to_string_lossy().into_owned(), sum);
                }
            }
        }
        all
    }

    /// Whether chunk `idx` of `variable` is recorded as complete.
    pub fn is_done(&self, variable: &str, idx: [u64; 3]) -> bool {
        if self.remote.is_some() || self.unreachable.is_some() {
            // (a PUT is whole: rewriting the same bytes is harmless)
            return false;
        }
        self.dir
            .join("done")
            .join(variable)
            .join(chunk_name(idx))
            .exists()
    }

    /// The chunks of `variable` recorded as complete.
    pub fn done(&self, variable: &str) -> HashSet<[u64; 3]> {
        if let Some(r) = &self.remote {
            let listed = r.list(&format!("done/{variable}/")).unwrap_or_default();
            return listed
                .iter()
                .filter_map(|e| parse_chunk_name(e.key.rsplit('/').next()?))
                .collect();
        }
        if self.unreachable.is_some() {
            return HashSet::new();
        }
        let Ok(entries) = std::fs::read_dir(self.dir.join("done").join(variable)) else {
            return HashSet::new();
        };
        entries
            .flatten()
            .filter_map(|e| parse_chunk_name(&e.file_name().to_string_lossy()))
            .collect()
    }

    /// Once the dataset is complete: fold the per-chunk records into one
    /// manifest of checksums (for `attr status --verify` and `--repair`)
    /// and drop them.
    pub fn seal(&self) -> Result<()> {
        self.check_reachable()?;
        if let Some(r) = &self.remote {
            let sums = self.checksums();
            r.put(MANIFEST, serde_json::to_vec(&sums)?)?;
            return r.delete_all("done/");
        }
        let done = self.dir.join("done");
        if !done.exists() {
            return Ok(());
        }
        let sums = self.checksums();
        let tmp = self
            .dir
            .join(format!("{MANIFEST}.{}", super::process::tag()));
        std::fs::write(&tmp, serde_json::to_string(&sums)?)?;
        std::fs::rename(&tmp, self.dir.join(MANIFEST))?;
        std::fs::remove_dir_all(&done)?;
        Ok(())
    }

    /// Remember the shard count of the last sharded run (for `attr status`).
    pub fn record_shards(&self, count: usize) {
        if let Some(r) = &self.remote {
            let _ = r.put("shards", count.to_string().into_bytes());
            return;
        }
        if self.unreachable.is_some() {
            return;
        }
        let _ = std::fs::write(self.dir.join("shards"), count.to_string());
    }

    pub fn recorded_shards(&self) -> Option<usize> {
        let text = match &self.remote {
            Some(r) => String::from_utf8(r.get("shards").ok()??).ok()?,
            None if self.unreachable.is_some() => return None,
            None => std::fs::read_to_string(self.dir.join("shards")).ok()?,
        };
        text.trim().parse().ok()
    }
}

fn parse_chunk_name(name: &str) -> Option<[u64; 3]> {
    let v: Vec<u64> = name.split('.').filter_map(|p| p.parse().ok()).collect();
    (v.len() == 3).then(|| [v[0], v[1], v[2]])
}

/// Parse a record's text, `SIZE CRC32C` (hex).
fn parse_sum(text: &str) -> Option<(u64, u32)> {
    let mut parts = text.split_whitespace();
    Some((
        parts.next()?.parse().ok()?,
        u32::from_str_radix(parts.next()?, 16).ok()?,
    ))
}

/// The manifest and the records of a dataset in an object store.
fn remote_checksums(r: &Remote) -> BTreeMap<String, BTreeMap<String, (u64, u32)>> {
    let mut all: BTreeMap<String, BTreeMap<String, (u64, u32)>> = r
        .get(MANIFEST)
        .ok()
        .flatten()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let keys: Vec<String> = r
        .list("done/")
        .unwrap_or_default()
        .into_iter()
        .map(|e| e.key)
        .collect();
    for (key, bytes) in r.get_many(&keys).unwrap_or_default() {
        let mut parts = key.rsplitn(3, '/');
        let (Some(chunk), Some(var)) = (parts.next(), parts.next()) else {
            continue;
        };
        if let Some(sum) = bytes.and_then(|b| parse_sum(&String::from_utf8_lossy(&b))) {
            all.entry(var.to_string())
                .or_default()
                .insert(chunk.to_string(), sum);
        }
    }
    all
}

#[cfg(test)]
mod tests {
    /// A location that can hold no ledger is an error, never a local
    /// folder named after it.
    #[test]
    fn an_unreachable_location_is_never_a_local_folder() {
        let at = super::Location::parse(
            std::path::Path::new("s3:/x.zip"),
            &crate::store::remote::Settings::default(),
        )
        .unwrap();
        let l = super::Ledger::at(&at);
        assert!(l.fingerprint().is_err());
        assert!(l.mark_done("v", [0, 0, 0], None).is_err());
        assert!(l.seal().is_err());
        l.record_shards(3);
        assert!(l.done("v").is_empty() && l.recorded_shards().is_none());
        assert!(
            !std::path::Path::new("s3:").exists() && !std::path::Path::new("s3:/x.zip").exists()
        );
    }
}
