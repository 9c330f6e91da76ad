//! The completion ledger of a dataset being written: which job it belongs
//! to, and which chunks are complete.
//!
//! Lives in `.attr/` inside the dataset (ignored by Zarr readers): `job.json`
//! holds the job's fingerprint (a stale dataset from another job is refused,
//! never mixed with), and `done/<variable>/<i>.<j>.<k>` marks each chunk
//! after its file has been renamed into place, so a rerun knows exactly what
//! is done. A marker is an empty file: it exists or it does not.

use anyhow::{Context, Result};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

pub const DIR: &str = ".attr";
/// The sealed record of every chunk's size and crc32c.
const MANIFEST: &str = "chunks.json";

#[derive(Clone, Debug)]
pub struct Ledger {
    dir: PathBuf,
}

fn chunk_name(idx: [u64; 3]) -> String {
    format!("{}.{}.{}", idx[0], idx[1], idx[2])
}

impl Ledger {
    pub fn at(dataset: &Path) -> Ledger {
        Ledger {
            dir: dataset.join(DIR),
        }
    }

    /// Start a ledger in a dataset being built.
    pub fn create(dataset: &Path, fingerprint: &Value, variables: &[String]) -> Result<Ledger> {
        let l = Ledger::at(dataset);
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
        let file = self.dir.join("job.json");
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("cannot read '{}'", file.display()))?;
        serde_json::from_str(&text).with_context(|| format!("'{}' is damaged", file.display()))
    }

    /// Record chunk `idx` of `variable` as complete, with the size and
    /// crc32c of its file when known.
    pub fn mark_done(&self, variable: &str, idx: [u64; 3], sum: Option<(u64, u32)>) -> Result<()> {
        if super::atomic::unsafe_in_place() {
            return Ok(());
        }
        let dir = self.dir.join("done").join(variable);
        let f = dir.join(chunk_name(idx));
        let text = sum.map_or(String::new(), |(n, c)| format!("{n} {c:08x}"));
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
                let mut parts = text.split_whitespace();
                if let (Some(n), Some(crc)) = (parts.next(), parts.next()) {
                    if let (Ok(n), Ok(crc)) = (n.parse(), u32::from_str_radix(crc, 16)) {
                        all.entry(var.clone())
                            .or_default()
                            .insert(c.file_name().to_string_lossy().into_owned(), (n, crc));
                    }
                }
            }
        }
        all
    }

    /// Whether chunk `idx` of `variable` is recorded as complete.
    pub fn is_done(&self, variable: &str, idx: [u64; 3]) -> bool {
        self.dir
            .join("done")
            .join(variable)
            .join(chunk_name(idx))
            .exists()
    }

    /// The chunks of `variable` recorded as complete.
    pub fn done(&self, variable: &str) -> HashSet<[u64; 3]> {
        let Ok(entries) = std::fs::read_dir(self.dir.join("done").join(variable)) else {
            return HashSet::new();
        };
        entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let v: Vec<u64> = name.split('.').filter_map(|p| p.parse().ok()).collect();
                (v.len() == 3).then(|| [v[0], v[1], v[2]])
            })
            .collect()
    }

    /// Once the dataset is complete: fold the per-chunk records into one
    /// manifest of checksums (for `attr status --verify` and `--repair`)
    /// and drop them.
    pub fn seal(&self) -> Result<()> {
        let done = self.dir.join("done");
        if !done.exists() {
            return Ok(());
        }
        let sums = self.checksums();
        let tmp = self.dir.join(format!("{MANIFEST}.{}", super::owner::tag()));
        std::fs::write(&tmp, serde_json::to_string(&sums)?)?;
        std::fs::rename(&tmp, self.dir.join(MANIFEST))?;
        std::fs::remove_dir_all(&done)?;
        Ok(())
    }

    /// Remember the shard count of the last sharded run (for `attr status`).
    pub fn record_shards(&self, count: usize) {
        let _ = std::fs::write(self.dir.join("shards"), count.to_string());
    }

    pub fn recorded_shards(&self) -> Option<usize> {
        std::fs::read_to_string(self.dir.join("shards"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }
}
