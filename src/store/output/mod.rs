//! Output datasets of `attr run`, staged, joined, resumed and published,
//! behind one interface: on a filesystem (`local`: a staging directory
//! renamed into place) or in an object store (`s3`: written in place, the
//! root metadata last).

pub mod local;
pub mod s3;
mod staged;

pub use local::{fingerprint_id, staging_path, stagings};
pub use staged::{Opened, OutputDataset, OutputVariable, Skeleton, Superseded, VariableSpec};

use crate::store::input_state::Identity;
use crate::store::remote::is_remote;
use crate::store::Format;
use anyhow::Result;
use serde_json::Value;
use std::path::Path;

impl OutputDataset {
    /// Find or create the dataset at `path` for the job with `fingerprint`.
    ///
    /// `overwrite`: a finished dataset at `path` is replaced when this run
    /// publishes. `exclusive`: this process is the only one working on the
    /// job, so a stale partial dataset of another job may be discarded.
    pub fn open_or_create(
        path: &Path,
        skeleton: &Skeleton,
        identity: &Identity,
        overwrite: bool,
        exclusive: bool,
    ) -> Result<Opened> {
        match is_remote(path) {
            true => s3::open_or_create(path, skeleton, identity, overwrite),
            false => local::open_or_create(path, skeleton, identity, overwrite, exclusive),
        }
    }

    /// A published dataset opened to rewrite some of its chunks in place
    /// (`--repair`): each chunk is replaced whole, so readers see the
    /// damaged chunk or the repaired one, never half of one.
    pub fn open_for_repair(path: &Path, format: Format) -> Result<OutputDataset> {
        match is_remote(path) {
            true => s3::open(path, format),
            false => local::open_for_repair(path, format),
        }
    }
}

/// Whether the job with `fingerprint` has published `path`, waiting a
/// little while another process of it is in the middle of publishing.
pub fn published_by(path: &Path, fingerprint: &Value) -> bool {
    match is_remote(path) {
        true => s3::published_by(path, fingerprint),
        false => local::published_by(path, fingerprint),
    }
}

/// Publish a complete dataset at `path` (staged at `staging` on a
/// filesystem). Several processes may call this at once: one publishes,
/// the others return `Ok(false)`.
pub fn publish(path: &Path, staging: &Path, format: Format, identity: &Identity) -> Result<bool> {
    match is_remote(path) {
        true => s3::publish(path, format, identity),
        false => local::publish(path, staging, format, identity),
    }
}
