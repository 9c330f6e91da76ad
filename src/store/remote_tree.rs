//! Trees of objects under a prefix in an object store: the root metadata
//! objects of a format, a local temporary tree to upload, listing and
//! removing a prefix.

use crate::store::remote::Remote;
use crate::store::Format;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// The root group's metadata objects of a format: what publishing writes.
pub(crate) fn root_files(format: Format) -> &'static [&'static str] {
    match format {
        Format::V3 => &["zarr.json"],
        // `.zgroup` last: it is what makes the prefix a group
        Format::V2 => &[".zattrs", ".zmetadata", ".zgroup"],
    }
}

/// A local directory removed when dropped.
pub(crate) struct TempDir(pub PathBuf);

impl TempDir {
    pub(crate) fn new() -> Result<TempDir> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir =
            std::env::temp_dir().join(format!("attr-{}.{nanos}", crate::store::process::tag()));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create '{}'", dir.display()))?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Remove a dataset: its root metadata first, so that it stops being one
/// at once, then every object below it.
/// (Whatever its format: the old dataset may be of the other one.)
pub(crate) fn discard(r: &Remote) -> Result<()> {
    for f in [".zgroup", "zarr.json", ".zarray", ".zmetadata", ".zattrs"] {
        r.delete(f)?;
    }
    r.delete_all("")
        .with_context(|| format!("cannot remove the old '{}'", r.url))
}

/// Every file below `dir`, with its path relative to `root` ('/'-separated).
pub(crate) fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(root, &p, out);
        } else if let Ok(rel) = p.strip_prefix(root) {
            let rel: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push((rel.join("/"), p));
        }
    }
}
