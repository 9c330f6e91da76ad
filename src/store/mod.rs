//! Zarr datasets on a filesystem, through zarrs: opening the input volume
//! (a plain array or an xarray-style group) and creating output groups.

use anyhow::Context;

pub mod atomic;
mod dataset;
pub mod dtype;
pub mod identity;
mod input;
mod ledger;
pub mod metadata;
pub mod nulls;
mod output;
pub mod owner;

pub use dataset::{ArraySpec, NewDataset};
pub use dtype::Dtype;
pub use input::{Coordinate, Input};
pub use ledger::Ledger;
pub use metadata::{Compression, Format};
pub use output::{
    private_sibling, publish, published_by, staging_path, stagings, Opened, OutputDataset,
    OutputVariable, Superseded, VariableSpec,
};

use std::path::Path;

/// What a path holds, judged from its metadata files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Array(Format),
    Group(Format),
}

/// Identify the Zarr node at `path`, with an error a user can act on.
pub fn node_kind(path: &Path) -> anyhow::Result<NodeKind> {
    if !path.exists() {
        anyhow::bail!("'{}' does not exist", path.display());
    }
    let v3 = path.join("zarr.json");
    if v3.is_file() {
        let text = std::fs::read_to_string(&v3)?;
        let json: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("'{}' is not valid JSON", v3.display()))?;
        return match json.get("node_type").and_then(|v| v.as_str()) {
            Some("array") => Ok(NodeKind::Array(Format::V3)),
            Some("group") => Ok(NodeKind::Group(Format::V3)),
            _ => anyhow::bail!("'{}' has no valid node_type", v3.display()),
        };
    }
    if path.join(".zarray").is_file() {
        return Ok(NodeKind::Array(Format::V2));
    }
    if path.join(".zgroup").is_file() {
        return Ok(NodeKind::Group(Format::V2));
    }
    anyhow::bail!(
        "'{}' is not a Zarr array or group (no zarr.json, .zarray or .zgroup): give the path of a Zarr store",
        path.display()
    )
}

/// Total size of the files under `path`: what a store occupies on disk.
pub fn stored_bytes(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => stored_bytes(&e.path()),
            Ok(_) => e.metadata().map(|m| m.len()).unwrap_or(0),
            Err(_) => 0,
        })
        .sum()
}
