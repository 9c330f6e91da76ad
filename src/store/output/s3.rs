//! Output datasets in an object store, where nothing can be renamed.
//!
//! Life of a dataset at `s3://bucket/PATH`:
//! 1. The first process of the job claims the prefix by creating
//!    `.attr/job.json` (a conditional PUT: exactly one creator; the others
//!    find the claim and check that its fingerprint is theirs). The skeleton
//!    (variables, coordinates, trace mask, ledger) is built locally and
//!    uploaded, except the root group's metadata, which waits in
//!    `.attr/root/`.
//! 2. Chunks are PUT in place (a PUT is atomic: an object is whole or
//!    absent) and recorded as objects in the ledger.
//! 3. When every chunk is recorded, the root metadata is written last, with
//!    the consolidated metadata in it: only then is the prefix a Zarr group
//!    for zarr-python, xarray and attr. That object is the completion
//!    marker; `attr status` trusts it together with the job fingerprint.
//!
//! `--overwrite` of a published dataset first removes its root metadata (the
//! prefix stops being a dataset at once), then its objects.

use super::staged::{OutputDataset, Skeleton};
use crate::store::adapters::checksummed::Checksummed;
use crate::store::adapters::write_behind::WriteBehind;
use crate::store::input_state::Identity;
use crate::store::ledger::{Ledger, DIR};
use crate::store::metadata::consolidate;
use crate::store::owner::{live_remote_holders, Lease};
use crate::store::remote::Remote;
use crate::store::remote_tree::{discard, root_files, walk, TempDir};
use crate::store::{Format, Location, Opened};
use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::sync::Arc;
use zarrs::storage::{ListableStorageTraits, StorePrefix};

/// Whether the prefix holds a published group (of either format).
fn is_published(r: &Remote) -> Result<bool> {
    Ok(r.exists("zarr.json")? || r.exists(".zgroup")? || r.exists(".zarray")?)
}

/// The ledger of the dataset at `r`.
fn ledger(r: &Remote) -> Ledger {
    Ledger::at(&Location::S3(r.clone()))
}

/// Open the dataset at `r` for writing chunks.
pub fn open(r: &Remote, format: Format) -> Result<OutputDataset> {
    let behind = Arc::new(WriteBehind::new(r.clone()));
    Ok(OutputDataset {
        staging: r.path().to_path_buf(),
        format,
        ledger: ledger(r),
        store: Arc::new(Checksummed::new(behind.clone())),
        lease: None,
        behind: Some(behind),
    })
}

/// Find or create the dataset at `r` for the job with `fingerprint`
/// (see [`OutputDataset::open_or_create`]).
pub fn open_or_create(
    r: &Remote,
    skeleton: &Skeleton,
    identity: &Identity,
    overwrite: bool,
) -> Result<Opened> {
    r.check()?;
    // the lease comes before any claim, so that whoever sees a claim sees
    // its writer alive
    let lease = Lease::take_remote(r)?;
    // another process may be claiming the prefix while we look: look again
    for _ in 0..10 {
        if let Some(opened) = try_open_or_create(r, skeleton, identity, overwrite, &lease)? {
            return Ok(match opened {
                Opened::Created(d) => Opened::Created(d.with_lease(lease)),
                Opened::Joined(d) => Opened::Joined(d.with_lease(lease)),
                Opened::Complete => Opened::Complete,
            });
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    bail!("could not create or join '{}': it keeps changing", r.url)
}

/// One look at the prefix: `None` when it changed under us.
fn try_open_or_create(
    r: &Remote,
    skeleton: &Skeleton,
    identity: &Identity,
    overwrite: bool,
    lease: &Lease,
) -> Result<Option<Opened>> {
    let (shown, format, fingerprint) = (&r.url, skeleton.format, skeleton.fingerprint);
    let job = claimed_by(r)?;
    let ours = job.as_ref() == Some(fingerprint);
    if job.is_some() && !ours {
        // nothing can be renamed away under a writer here: never take over
        let me = crate::store::owner::holder();
        if let Some(who) = live_remote_holders(r).iter().find(|h| **h != me) {
            bail!("'{shown}' is being written by a different job ({who}): wait for it to finish or stop it; a run on object storage cannot be taken over while it writes");
        }
    }
    let at = Location::S3(r.clone());
    let changed = || Identity::recorded(&at).and_then(|old| identity.changes_since(&old));
    if is_published(r)? {
        if job.is_none() && !overwrite {
            bail!("output '{shown}' holds a Zarr store written by something else: refusing to replace it; pass --overwrite to replace it");
        }
        if ours && !overwrite {
            if let Some(change) = changed() {
                bail!("'{shown}' was computed from another state of the input ({change}): pass --overwrite to recompute it");
            }
            finish_sealing(r)?;
            return Ok(Some(Opened::Complete));
        }
        if !overwrite {
            bail!("output '{shown}' already exists: pass --overwrite to replace it");
        }
        discard(r)?;
        lease.renew();
    } else if job.is_some() {
        if !ours && !overwrite {
            bail!("'{shown}' holds an unfinished run of a different job: rerun that job with --resume to finish it, or pass --overwrite to discard it");
        }
        match changed() {
            Some(change) if ours && !overwrite => bail!(
                "'{shown}' was started from another state of the input ({change}): pass --overwrite to start over"
            ),
            None if ours => {
                upload_skeleton(r, skeleton, identity)?;
                return Ok(Some(Opened::Joined(open(r, format)?)));
            }
            _ => {
                discard(r)?;
                lease.renew();
            }
        }
    } else if let Some(first) = r
        .list("")?
        .iter()
        .find(|e| !e.key.starts_with(&format!("{DIR}/lease.")))
    {
        if first.key.starts_with(&format!("{DIR}/")) {
            return Ok(None); // a claim in the making
        }
        bail!("output '{shown}' holds objects but no Zarr store: refusing to write into it, choose another prefix or remove them yourself");
    }
    let claim = serde_json::to_vec_pretty(fingerprint)?;
    if !r.create(&format!("{DIR}/job.json"), claim)? {
        // another process of a job claimed it first: join it if it is ours
        if claimed_by(r)?.as_ref() != Some(fingerprint) {
            bail!("'{shown}' was just claimed by a different job: wait for it to finish, or pass --overwrite");
        }
        upload_skeleton(r, skeleton, identity)?;
        return Ok(Some(Opened::Joined(open(r, format)?)));
    }
    upload_skeleton(r, skeleton, identity)
        .with_context(|| format!("cannot create output '{shown}'"))?;
    Ok(Some(Opened::Created(open(r, format)?)))
}

/// The fingerprint of the job that claimed the prefix, if one did.
fn claimed_by(r: &Remote) -> Result<Option<Value>> {
    Ok(r.get(&format!("{DIR}/job.json"))?
        .and_then(|b| serde_json::from_slice(&b).ok()))
}

/// Build the dataset's skeleton locally and upload it, the root group's
/// metadata into `.attr/root/` (published last) and the claim left as is.
/// Every process of the job uploads the same bytes, so a process that
/// joins never waits for the creator's upload.
fn upload_skeleton(r: &Remote, skeleton: &Skeleton, identity: &Identity) -> Result<()> {
    let format = skeleton.format;
    let tmp = TempDir::new()?;
    let dir = tmp.0.join("dataset");
    OutputDataset::build(&dir, skeleton)?;
    identity.record(&Location::local(&dir))?;
    let mut files = Vec::new();
    walk(&dir, &dir, &mut files);
    let mut objects = Vec::new();
    for (rel, file) in files {
        if rel == format!("{DIR}/job.json") {
            continue;
        }
        let key = if root_files(format).contains(&rel.as_str()) {
            format!("{DIR}/root/{rel}")
        } else {
            rel
        };
        let bytes =
            std::fs::read(&file).with_context(|| format!("cannot read '{}'", file.display()))?;
        objects.push((key, bytes));
    }
    r.put_many(objects)
}

/// Whether the job with `fingerprint` has published `r`.
pub fn published_by(r: &Remote, fingerprint: &Value) -> bool {
    is_published(r).unwrap_or(false) && ledger(r).fingerprint().ok().as_ref() == Some(fingerprint)
}

/// Marks a publisher at work: shards finishing together publish once.
const PUBLISHING: &str = ".attr/publishing";

/// Claim the publishing of `r`: `false` when a live process of the job is
/// publishing it. A claim left by a dead publisher is taken over.
fn claim_publishing(r: &Remote) -> Result<bool> {
    let me = crate::store::owner::holder();
    for _ in 0..2 {
        if r.create(PUBLISHING, me.clone().into_bytes())? {
            return Ok(true);
        }
        let holder = r
            .get(PUBLISHING)?
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        if live_remote_holders(r).contains(&holder) {
            return Ok(false);
        }
        r.delete(PUBLISHING)?;
    }
    Ok(false)
}

/// A publisher killed after the root metadata leaves its records unsealed:
/// seal them, unless a live publisher is doing so.
fn finish_sealing(r: &Remote) -> Result<()> {
    if r.list(&format!("{DIR}/done"))?.is_empty() || !claim_publishing(r)? {
        return Ok(());
    }
    let sealed = ledger(r).seal();
    r.delete(PUBLISHING)?;
    sealed
}

/// Publish the complete dataset at `r`: its consolidated root metadata,
/// written last, then the sealed ledger. Of the processes of one job that
/// finish together, one publishes (`false` for the others).
pub fn publish(r: &Remote, format: Format, identity: &Identity) -> Result<bool> {
    if let Some(change) =
        Identity::recorded(&Location::S3(r.clone())).and_then(|old| identity.changes_since(&old))
    {
        bail!(
            "the input changed while this run wrote '{}' ({change}): nothing was published; rerun with --overwrite",
            r.url
        );
    }
    if !claim_publishing(r)? {
        return Ok(false);
    }
    let published = publish_claimed(r, format);
    r.delete(PUBLISHING)?;
    published?;
    // a published dataset has no writers: its leases would only mislead
    for e in r.list(DIR)? {
        if e.key
            .rsplit('/')
            .next()
            .is_some_and(|n| n.starts_with("lease."))
        {
            r.delete(&e.key)?;
        }
    }
    Ok(true)
}

fn publish_claimed(r: &Remote, format: Format) -> Result<()> {
    // the metadata, gathered into a local directory to consolidate it
    let tmp = TempDir::new()?;
    let dir = &tmp.0;
    let mut wanted: Vec<String> = root_files(format)
        .iter()
        .map(|f| format!("{DIR}/root/{f}"))
        .collect();
    let store = r.storage();
    let listed = store.list_dir(&StorePrefix::root())?;
    for p in listed.prefixes() {
        let name = p.as_str().trim_end_matches('/');
        if name != DIR {
            wanted.extend(["zarr.json", ".zarray", ".zattrs"].map(|f| format!("{name}/{f}")));
        }
    }
    for (key, bytes) in r.get_many(&wanted)? {
        let Some(bytes) = bytes else { continue };
        let rel = key.strip_prefix(&format!("{DIR}/root/")).unwrap_or(&key);
        let file = dir.join(rel);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(file, bytes)?;
    }
    consolidate(dir, format)?;
    for f in root_files(format) {
        let file = dir.join(f);
        if file.is_file() {
            r.put(f, std::fs::read(&file)?)?;
        }
    }
    ledger(r).seal()
}
