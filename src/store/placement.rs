//! Putting a directory in place beside others that may do the same at
//! once: private build names for this process, discarding by renaming
//! away first, replacing by renames, reaping what dead processes left.

use crate::store::owner;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

pub(crate) fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!("{name}.{suffix}"))
}

/// A private name beside `path` for this process: `NAME.KIND.host.pid.nanos`.
pub fn private_sibling(path: &Path, kind: &str) -> PathBuf {
    sibling(
        path,
        &format!(
            "{kind}.{}.{}",
            crate::store::process::tag(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ),
    )
}

/// Remove the directory at `dir`, a staged or published dataset that other
/// processes may be replacing at the same path: it is first renamed to a
/// private name (atomic), so that only the directory that was there goes,
/// never one that another process puts in its place meanwhile.
pub fn discard(dir: &Path) -> std::io::Result<()> {
    // named after the output, so that the next run reaps it if we die
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let base = name
        .split(".partial.")
        .next()
        .and_then(|n| n.split(".publishing.").next())
        .unwrap_or(&name);
    let trash = private_sibling(&dir.with_file_name(base), "building");
    match std::fs::rename(dir, &trash) {
        Ok(()) => {
            // a late writer's temporary can land meanwhile: try again
            let mut result = std::fs::remove_dir_all(&trash);
            for _ in 0..5 {
                if result.is_ok() || !trash.exists() {
                    return Ok(());
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
                result = std::fs::remove_dir_all(&trash);
            }
            result
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Siblings of `path` whose names start with `prefix`.
pub(crate) fn siblings_with(path: &Path, prefix: &str) -> Vec<PathBuf> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .map(|e| path.with_file_name(e.file_name()))
        .collect();
    v.sort();
    v
}

/// Remove private build directories left by dead processes (see `owner`).
pub(crate) fn clean_dead_builds(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = format!("{}.building.", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if let Some(rest) = n.strip_prefix(&prefix) {
            let mut parts = rest.split('.');
            let (host, pid) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            if owner::reapable(&e.path(), host, pid) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}

/// Move the finished dataset `ready` to `path`, replacing what is there.
/// Each step is a rename, so `path` is always absent or a whole dataset;
/// when two publishers race, the last one wins whole.
pub(crate) fn replace_with(ready: &Path, path: &Path) -> Result<()> {
    for _ in 0..8 {
        discard(path).with_context(|| format!("cannot replace '{}'", path.display()))?;
        match std::fs::rename(ready, path) {
            Ok(()) => return Ok(()),
            // another publisher put its dataset there first: replace it
            Err(e) if path.exists() && e.kind() != std::io::ErrorKind::NotFound => continue,
            Err(e) => bail!("cannot move '{}' into place: {e}", ready.display()),
        }
    }
    bail!(
        "cannot move '{}' into place: '{}' keeps being replaced",
        ready.display(),
        path.display()
    )
}

/// The private directory a converter builds its dataset in: named for this
/// process (never the resumable staging of `attr run`), removed when
/// dropped unless published.
pub struct PrivateStaging {
    pub path: PathBuf,
}

impl PrivateStaging {
    pub fn new(output: &Path) -> PrivateStaging {
        clean_dead_builds(output);
        PrivateStaging {
            path: private_sibling(output, "building"),
        }
    }
}

impl Drop for PrivateStaging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
