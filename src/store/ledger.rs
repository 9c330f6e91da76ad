//! The completion ledger of a dataset being written: which job it belongs
//! to, and which chunks are complete.
//!
//! Lives in `.attr/` inside the dataset (ignored by Zarr readers): `job.json`
//! holds the job's fingerprint (a stale dataset from another job is refused,
//! never mixed with), and `done/<variable>/<i>.<j>.<k>` marks each chunk
//! after its file has been renamed into place, so a rerun knows exactly what
//! is done. A marker is an empty file: it exists or it does not.

use anyhow::{anyhow, Result};
use serde_json::Value;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

pub const DIR: &str = ".attr";

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
            .map_err(|e| anyhow!("cannot read '{}': {e}", file.display()))?;
        serde_json::from_str(&text).map_err(|e| anyhow!("'{}' is damaged: {e}", file.display()))
    }

    pub fn mark_done(&self, variable: &str, idx: [u64; 3]) -> Result<()> {
        if super::atomic::unsafe_in_place() {
            return Ok(());
        }
        let f = self.dir.join("done").join(variable).join(chunk_name(idx));
        std::fs::File::create(&f)
            .map_err(|e| anyhow!("cannot record chunk {idx:?} of '{variable}': {e}"))?;
        Ok(())
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

    /// Drop the per-chunk records once the dataset is complete.
    pub fn seal(&self) -> Result<()> {
        let done = self.dir.join("done");
        if done.exists() {
            std::fs::remove_dir_all(&done)?;
        }
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
