//! Output datasets of `attr run`, staged, joined, resumed and published,
//! behind one interface: on a filesystem (`local`: a staging directory
//! renamed into place) or in an object store (`s3`: written in place, the
//! root metadata last).

pub mod local;
pub mod s3;
mod staged;

pub use local::{fingerprint_id, staging_path, stagings};
pub use staged::{
    Layout, Opened, OutputDataset, OutputVariable, Skeleton, Superseded, VariableSpec,
};

use crate::store::input_state::Identity;
use crate::store::{Format, Location};
use anyhow::Result;
use serde_json::Value;
use std::path::Path;

impl OutputDataset {
    /// Find or create the dataset at `at` for the job with `fingerprint`.
    ///
    /// `overwrite`: a finished dataset at `path` is replaced when this run
    /// publishes. `exclusive`: this process is the only one working on the
    /// job, so a stale partial dataset of another job may be discarded.
    pub fn open_or_create(
        at: &Location,
        skeleton: &Skeleton,
        identity: &Identity,
        overwrite: bool,
        exclusive: bool,
    ) -> Result<Opened> {
        match at {
            Location::S3(r) => s3::open_or_create(r, skeleton, identity, overwrite),
            Location::Dir(path) => {
                local::open_or_create(path, skeleton, identity, overwrite, exclusive)
            }
            Location::Zip { .. } => Err(not_writable(at)),
        }
    }

    /// A published dataset opened to rewrite some of its chunks in place
    /// (`--repair`): each chunk is replaced whole, so readers see the
    /// damaged chunk or the repaired one, never half of one.
    pub fn open_for_repair(at: &Location, format: Format) -> Result<OutputDataset> {
        match at {
            Location::S3(r) => s3::open(r, format),
            Location::Dir(path) => local::open_for_repair(path, format),
            Location::Zip { .. } => Err(not_writable(at)),
        }
    }
}

/// A zip file is read, never written.
fn not_writable(at: &Location) -> anyhow::Error {
    anyhow::anyhow!(
        "output '{at}': attr reads zip files but writes directories or s3:// locations: give a path without .zip"
    )
}

/// Whether the job with `fingerprint` has published `at`, waiting a
/// little while another process of it is in the middle of publishing.
pub fn published_by(at: &Location, fingerprint: &Value) -> bool {
    match at {
        Location::S3(r) => s3::published_by(r, fingerprint),
        Location::Dir(path) => local::published_by(path, fingerprint),
        Location::Zip { .. } => false,
    }
}

/// Publish a complete dataset at `at` (staged at `staging` on a
/// filesystem). Several processes may call this at once: one publishes,
/// the others return `Ok(false)`.
pub fn publish(at: &Location, staging: &Path, format: Format, identity: &Identity) -> Result<bool> {
    match at {
        Location::S3(r) => s3::publish(r, format, identity),
        Location::Dir(path) => local::publish(path, staging, format, identity),
        Location::Zip { .. } => Err(not_writable(at)),
    }
}
