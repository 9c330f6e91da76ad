//! Output datasets on a filesystem.
//!
//! Life of a dataset at `PATH`:
//! 1. Built whole (group, coordinates, variables, ledger) in a private
//!    directory, then renamed to `PATH.partial`: when N processes start at
//!    once exactly one rename wins; the others find the dataset and check
//!    that its job fingerprint is theirs.
//! 2. Chunks are written whole or not at all (temporary file + rename, see
//!    `atomic`) and recorded in the ledger.
//! 3. When every chunk is recorded, one process claims the dataset (an
//!    atomic rename), removes leftovers, consolidates the metadata and
//!    renames it to `PATH`. Nothing at `PATH` is ever half-written.

use super::staged::{stop_if_superseded, Opened, OutputDataset, Skeleton};
use crate::store::adapters::atomic::{is_temporary, AtomicFiles};
use crate::store::adapters::checksummed::Checksummed;
use crate::store::input_state::Identity;
use crate::store::ledger::Ledger;
use crate::store::metadata::consolidate;
use crate::store::owner::{self, Lease};
use crate::store::placement::{
    clean_dead_builds, discard, private_sibling, replace_with, sibling, siblings_with,
};
use crate::store::{Format, Location};
use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A staged dataset went away (published or removed) while we opened it.
#[derive(Debug, thiserror::Error)]
#[error("the staged dataset went away while opening it")]
struct Vanished;

/// Where the job with `fingerprint` assembles the dataset before it is
/// renamed to `path`: one staging directory per job, so that two jobs
/// writing the same output can never mix their chunks.
pub fn staging_path(path: &Path, fingerprint: &Value) -> PathBuf {
    sibling(path, &format!("partial.{}", fingerprint_id(fingerprint)))
}

/// A short stable name for a job fingerprint (FNV-1a of its JSON).
pub fn fingerprint_id(fingerprint: &Value) -> String {
    let text = serde_json::to_string(fingerprint).unwrap_or_default();
    let mut h: u64 = 0xcbf29ce484222325;
    for b in text.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("{h:016x}")
}

/// Every staged dataset of `path`, whatever its job.
pub fn stagings(path: &Path) -> Vec<PathBuf> {
    match path.file_name() {
        Some(name) => siblings_with(path, &format!("{}.partial.", name.to_string_lossy())),
        None => Vec::new(),
    }
}

/// Put back, as their job's staged dataset, the claims of publishers that
/// died while publishing: complete datasets with their records, which the
/// next run of the job publishes.
fn recover_claims(path: &Path) {
    let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return;
    };
    let prefix = format!("{name}.publishing.");
    for claim in siblings_with(path, &prefix) {
        let file = claim.file_name().map(|n| n.to_string_lossy().into_owned());
        let rest = file
            .as_deref()
            .and_then(|f| f.strip_prefix(&prefix))
            .unwrap_or("");
        let (host, pid) = rest.split_once('.').unwrap_or((rest, ""));
        if !owner::reapable(&claim, host, pid) {
            continue;
        }
        match Ledger::local(&claim).fingerprint() {
            Ok(fp) => {
                let _ = std::fs::rename(&claim, staging_path(path, &fp));
            }
            Err(_) => {
                let _ = discard(&claim);
            }
        }
    }
}

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
    // another process of the job may publish the staged dataset between
    // our looking at it and our joining it: then look again
    let mut attempts = 0;
    loop {
        let r = try_open_or_create(path, skeleton, identity, overwrite, exclusive);
        match r {
            Err(e) if e.downcast_ref::<Vanished>().is_some() && attempts < 20 => {
                attempts += 1;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

fn try_open_or_create(
    path: &Path,
    skeleton: &Skeleton,
    identity: &Identity,
    overwrite: bool,
    exclusive: bool,
) -> Result<Opened> {
    let (format, fingerprint) = (skeleton.format, skeleton.fingerprint);
    if check_published(path, fingerprint, identity, overwrite)? {
        return Ok(Opened::Complete);
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| {
            format!(
                "cannot create output '{}': its directory '{}'",
                path.display(),
                parent.display()
            )
        })?;
    }
    clean_dead_builds(path);
    recover_claims(path);
    let staging = staging_path(path, fingerprint);
    settle_other_jobs(path, &staging, overwrite, exclusive)?;
    for _attempt in 0..3 {
        if staging.exists() {
            if !joinable(&staging, identity, overwrite)? {
                let _ = discard(&staging);
                continue;
            }
            return match open_staging(&staging, format) {
                Ok(d) => Ok(Opened::Joined(d)),
                Err(_) if !staging.exists() => Err(Vanished.into()),
                Err(e) => Err(e),
            };
        }
        let build = private_sibling(path, "building");
        let built = OutputDataset::build(&build, skeleton)
            .and_then(|()| identity.record(&Location::local(&build)));
        if let Err(e) = built {
            let _ = std::fs::remove_dir_all(&build);
            return Err(e.context(format!("cannot create output '{}'", path.display())));
        }
        match std::fs::rename(&build, &staging) {
            Ok(()) => return Ok(Opened::Created(open_staging(&staging, format)?)),
            Err(_) => {
                // another process won the race: join it
                let _ = std::fs::remove_dir_all(&build);
            }
        }
    }
    bail!("could not create or join '{}'", staging.display())
}

/// What is published at `path` already: `true` when it is this job's
/// result, complete and from the input as it is; an error when it is
/// something else and may not be replaced.
fn check_published(
    path: &Path,
    fingerprint: &Value,
    identity: &Identity,
    overwrite: bool,
) -> Result<bool> {
    if !path.exists() {
        return Ok(false);
    }
    if crate::store::node_kind(&Location::local(path)).is_err() {
        bail!(
                    "output '{}' exists and is not a Zarr store: refusing to replace it, remove it yourself",
                    path.display()
                );
    }
    let same = Ledger::local(path)
        .fingerprint()
        .is_ok_and(|f| &f == fingerprint);
    if same && !overwrite {
        if let Some(change) =
            Identity::recorded(&Location::local(path)).and_then(|old| identity.changes_since(&old))
        {
            bail!(
                        "'{}' was computed from another state of the input ({change}): pass --overwrite to recompute it",
                        path.display()
                    );
        }
        return Ok(true);
    }
    if !overwrite {
        bail!(
            "output '{}' already exists: pass --overwrite to replace it",
            path.display()
        );
    }
    Ok(false)
}

/// Staged datasets of other jobs at `path`: refused, or (`--overwrite`)
/// discarded when no one writes them, else marked superseded so that their
/// writers stop at their next chunk and remove them.
fn settle_other_jobs(path: &Path, staging: &Path, overwrite: bool, exclusive: bool) -> Result<()> {
    for other in stagings(path).into_iter().filter(|o| o != staging) {
        let live = owner::live_holders(&other);
        if owner::superseded_by(&other).is_some() && live.is_empty() {
            let _ = discard(&other);
            continue;
        }
        if !overwrite {
            match live.first() {
                    Some(who) => bail!(
                        "'{}' is being written by a different job ({who}): wait for it to finish, or pass --overwrite to take the output over",
                        other.display()
                    ),
                    None => bail!(
                        "'{}' holds an unfinished run of a different job: rerun that job with --resume to finish it, or pass --overwrite to discard it",
                        other.display()
                    ),
                }
        }
        if live.is_empty() && (exclusive || owner::superseded_by(&other).is_none()) {
            discard(&other)
                .with_context(|| format!("cannot remove stale '{}'", other.display()))?;
        } else {
            // its writers stop at their next chunk and remove it
            owner::supersede(&other)?;
        }
    }
    Ok(())
}

/// Whether this job's staged dataset may be joined: `false` when it must
/// be discarded first (`--overwrite` of one taken over or started from
/// another state of the input), an error when that needs `--overwrite`.
fn joinable(staging: &Path, identity: &Identity, overwrite: bool) -> Result<bool> {
    if let Some(by) = owner::superseded_by(staging) {
        if !overwrite {
            bail!(
                "'{}' was taken over by another job ({by}): pass --overwrite to take it back",
                staging.display()
            );
        }
        return Ok(false);
    }
    if let Some(change) =
        Identity::recorded(&Location::local(staging)).and_then(|old| identity.changes_since(&old))
    {
        if !overwrite {
            bail!(
                "'{}' was started from another state of the input ({change}): pass --overwrite to start over",
                staging.display()
            );
        }
        return Ok(false);
    }
    Ok(true)
}

fn open_staging(staging: &Path, format: Format) -> Result<OutputDataset> {
    let store = AtomicFiles::new(staging.to_path_buf(), false)?;
    Ok(OutputDataset {
        ledger: Ledger::local(staging),
        staging: staging.to_path_buf(),
        format,
        store: Arc::new(Checksummed::new(Arc::new(store))),
        lease: Some(Lease::take(staging)?),
        behind: None,
    })
}

/// A published dataset opened to rewrite some of its chunks in place
/// (`--repair`): each chunk is replaced whole by a rename, so readers
/// see the damaged chunk or the repaired one, never half of one.
pub fn open_for_repair(path: &Path, format: Format) -> Result<OutputDataset> {
    // what an earlier repair left when it was killed mid-write
    remove_temporaries_of_the_dead(path);
    open_staging(path, format)
}

/// Whether the job with `fingerprint` has published `path`, waiting a
/// little while another process of it is in the middle of publishing.
pub fn published_by(path: &Path, fingerprint: &Value) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for _ in 0..200 {
        if Ledger::local(path).fingerprint().ok().as_ref() == Some(fingerprint) {
            return true;
        }
        if siblings_with(path, &format!("{name}.publishing.")).is_empty() {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    false
}

/// Publish a complete staged dataset at `path`. Several processes may call
/// this at once: the one whose claim (an atomic rename) succeeds publishes;
/// the others return `Ok(false)`.
pub fn publish(path: &Path, staging: &Path, format: Format, identity: &Identity) -> Result<bool> {
    if let Some(change) =
        Identity::recorded(&Location::local(staging)).and_then(|old| identity.changes_since(&old))
    {
        bail!(
            "the input changed while this run wrote '{}' ({change}): nothing was published; rerun with --overwrite",
            staging.display()
        );
    }
    stop_if_superseded(staging, path)?;
    let claim = sibling(
        path,
        &format!("publishing.{}", crate::store::process::tag()),
    );
    if std::fs::rename(staging, &claim).is_err() {
        return Ok(false);
    }
    remove_temporaries(&claim);
    remove_leases(&claim);
    consolidate(&claim, format)?;
    replace_with(&claim, path)?;
    // the records go last: a publisher killed before this point leaves a
    // claim that the next run puts back (`recover_claims`)
    Ledger::local(path).seal()?;
    // what superseded runs left behind, once they have stopped
    for other in stagings(path) {
        if owner::superseded_by(&other).is_some() && owner::live_holders(&other).is_empty() {
            let _ = discard(&other);
        }
    }
    Ok(true)
}

/// A published dataset has no writers: its leases would only mislead.
fn remove_leases(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir.join(crate::store::ledger::DIR)) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().starts_with("lease.") {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Delete the temporaries of chunk writes whose process is provably gone
/// (their names carry `host.pid`); a live writer's are left alone.
fn remove_temporaries_of_the_dead(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if p.is_dir() {
            remove_temporaries_of_the_dead(&p);
        } else if let Some((host, pid)) = temporary_owner(&name) {
            if owner::reapable(&p, host, pid) {
                let _ = std::fs::remove_file(&p);
            }
        }
    }
}

/// The `host` and `pid` a temporary's name `NAME.attr-tmp.HOST.PID.N` carries.
fn temporary_owner(name: &str) -> Option<(&str, &str)> {
    if !is_temporary(name) {
        return None;
    }
    let rest = name.rsplit_once(".attr-tmp.")?.1;
    let (host_pid, _n) = rest.rsplit_once('.')?;
    host_pid.rsplit_once('.')
}

/// Delete temporaries of chunk writes that were interrupted.
fn remove_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            remove_temporaries(&p);
        } else if is_temporary(&e.file_name().to_string_lossy()) {
            let _ = std::fs::remove_file(&p);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_temporary_names_its_writer() {
        assert_eq!(
            super::temporary_owner("1.attr-tmp.vm.7430.237"),
            Some(("vm", "7430"))
        );
        assert_eq!(
            super::temporary_owner("c.attr-tmp.node-1.12.0"),
            Some(("node-1", "12"))
        );
        assert_eq!(super::temporary_owner("1.0.0"), None);
    }
}
