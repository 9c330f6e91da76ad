//! Output datasets: xarray-style groups with one variable per attribute.
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

use crate::store::adapters::atomic::{is_temporary, AtomicFiles};
use crate::store::adapters::checksummed::Checksummed;
use crate::store::adapters::write_behind::WriteBehind;
use crate::store::dataset::{ArraySpec, DatasetWriter};
use crate::store::dtype::Sample;
use crate::store::input_state::Identity;
use crate::store::ledger::Ledger;
use crate::store::metadata::{consolidate, null_fill};
use crate::store::owner::{self, Lease};
use crate::store::{Compression, Dtype, Format, Input};
use crate::with_dtype;
use anyhow::{bail, Context, Result};
use ndarray::{s, Array3, ArrayView3, IxDyn};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use zarrs::array::Array;

/// How to lay out one output variable.
#[derive(Clone)]
pub struct VariableSpec {
    pub name: String,
    pub dtype: Dtype,
    /// Stored value = round(value × scale) (integer dtypes).
    pub scale: Option<f64>,
    pub chunks: [u64; 3],
    pub compression: Compression,
    pub attributes: Map<String, Value>,
    /// The value stored for null, declared as the fill value (default: the
    /// type's null, see [`null_fill`]).
    pub fill: Option<f64>,
}

pub struct OutputDataset {
    /// Where the chunks go until published: a staging directory, or the
    /// output location itself in an object store (see `remote_output`).
    pub staging: PathBuf,
    pub format: Format,
    pub ledger: Ledger,
    pub(crate) store: Arc<Checksummed>,
    /// None in an object store, where nothing is renamed away under a writer.
    pub(crate) lease: Option<Lease>,
    /// In an object store: the chunk writes in flight.
    pub(crate) behind: Option<Arc<WriteBehind>>,
}

/// A staged dataset went away (published or removed) while we opened it.
#[derive(Debug, thiserror::Error)]
#[error("the staged dataset went away while opening it")]
struct Vanished;

/// Another job took the output over (`--overwrite`) while this run wrote it.
#[derive(Debug, thiserror::Error)]
#[error("another job took '{}' over ({by}): this run stopped without publishing", path.display())]
pub struct Superseded {
    pub path: PathBuf,
    pub by: String,
}

/// What a dataset of `attr run` (or a classification) is made of: the
/// skeleton written before any chunk, and the fingerprint of its job.
#[derive(Clone, Copy)]
pub struct Skeleton<'a> {
    pub format: Format,
    /// The volume whose grid, coordinates and trace mask it carries.
    pub input: &'a Input,
    /// The group's attributes.
    pub attributes: &'a Map<String, Value>,
    pub variables: &'a [VariableSpec],
    pub fingerprint: &'a Value,
}

/// What opening a dataset found.
pub enum Opened {
    /// Created by this process.
    Created(OutputDataset),
    /// Started by another process (or an earlier run) of the same job.
    Joined(OutputDataset),
    /// Already finished by the same job.
    Complete,
}

pub struct OutputVariable {
    scale: Option<f64>,
    staging: PathBuf,
    store: Arc<Checksummed>,
    pub name: String,
    pub dtype: Dtype,
    pub chunks: [u64; 3],
    shape: [u64; 3],
    ndim: usize,
    array: Array<Checksummed>,
    ledger: Ledger,
    behind: Option<Arc<WriteBehind>>,
}

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

fn sibling(path: &Path, suffix: &str) -> PathBuf {
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
            owner::tag(),
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

/// If another job took the staged dataset over, discard it and stop (the
/// error names `shown`).
fn stop_if_superseded(staging: &Path, shown: &Path) -> Result<()> {
    match owner::superseded_by(staging) {
        Some(by) => {
            let _ = discard(staging);
            Err(Superseded {
                path: shown.to_path_buf(),
                by,
            }
            .into())
        }
        None => Ok(()),
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
        match Ledger::at(&claim).fingerprint() {
            Ok(fp) => {
                let _ = std::fs::rename(&claim, staging_path(path, &fp));
            }
            Err(_) => {
                let _ = discard(&claim);
            }
        }
    }
}

/// Siblings of `path` whose names start with `prefix`.
fn siblings_with(path: &Path, prefix: &str) -> Vec<PathBuf> {
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
fn clean_dead_builds(path: &Path) {
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
        if crate::store::remote::is_remote(path) {
            return super::s3::open_or_create(path, skeleton, identity, overwrite);
        }
        // another process of the job may publish the staged dataset between
        // our looking at it and our joining it: then look again
        let mut attempts = 0;
        loop {
            let r = Self::try_open_or_create(path, skeleton, identity, overwrite, exclusive);
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
        if path.exists() {
            if crate::store::node_kind(path).is_err() {
                bail!(
                    "output '{}' exists and is not a Zarr store: refusing to replace it, remove it yourself",
                    path.display()
                );
            }
            let same = Ledger::at(path)
                .fingerprint()
                .is_ok_and(|f| &f == fingerprint);
            if same && !overwrite {
                if let Some(change) =
                    Identity::recorded(path).and_then(|old| identity.changes_since(&old))
                {
                    bail!(
                        "'{}' was computed from another state of the input ({change}): pass --overwrite to recompute it",
                        path.display()
                    );
                }
                return Ok(Opened::Complete);
            }
            if !overwrite {
                bail!(
                    "output '{}' already exists: pass --overwrite to replace it",
                    path.display()
                );
            }
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
        // staged datasets of other jobs: refused, or taken over
        for other in stagings(path).into_iter().filter(|o| o != &staging) {
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
        for _attempt in 0..3 {
            if staging.exists() {
                if let Some(by) = owner::superseded_by(&staging) {
                    if !overwrite {
                        bail!(
                            "'{}' was taken over by another job ({by}): pass --overwrite to take it back",
                            staging.display()
                        );
                    }
                    let _ = discard(&staging);
                    continue;
                }
                if let Some(change) =
                    Identity::recorded(&staging).and_then(|old| identity.changes_since(&old))
                {
                    if !overwrite {
                        bail!(
                            "'{}' was started from another state of the input ({change}): pass --overwrite to start over",
                            staging.display()
                        );
                    }
                    let _ = discard(&staging);
                    continue;
                }
                return match Self::open_staging(&staging, format) {
                    Ok(d) => Ok(Opened::Joined(d)),
                    Err(_) if !staging.exists() => Err(Vanished.into()),
                    Err(e) => Err(e),
                };
            }
            let build = private_sibling(path, "building");
            let built = Self::build(&build, skeleton).and_then(|()| identity.record(&build));
            if let Err(e) = built {
                let _ = std::fs::remove_dir_all(&build);
                return Err(e.context(format!("cannot create output '{}'", path.display())));
            }
            match std::fs::rename(&build, &staging) {
                Ok(()) => return Ok(Opened::Created(Self::open_staging(&staging, format)?)),
                Err(_) => {
                    // another process won the race: join it
                    let _ = std::fs::remove_dir_all(&build);
                }
            }
        }
        bail!("could not create or join '{}'", staging.display())
    }

    fn open_staging(staging: &Path, format: Format) -> Result<OutputDataset> {
        let store = AtomicFiles::new(staging.to_path_buf(), false)?;
        Ok(OutputDataset {
            ledger: Ledger::at(staging),
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
        if crate::store::remote::is_remote(path) {
            return super::s3::open(path, format);
        }
        Self::open_staging(path, format)
    }

    /// The dataset with this process's lease on it.
    pub(crate) fn with_lease(mut self, lease: Lease) -> OutputDataset {
        self.lease = Some(lease);
        self
    }

    /// Wait until every chunk written and its record are stored; the first
    /// write that failed, if any. (Immediate on a filesystem.)
    pub fn flush(&self) -> Result<()> {
        match &self.behind {
            Some(b) => b.flush(),
            None => Ok(()),
        }
    }

    /// Keep this process's lease fresh.
    pub fn renew(&self) {
        if let Some(l) = &self.lease {
            l.renew();
        }
    }

    /// Write the whole skeleton of the dataset into `dir`: the group, the
    /// input's coordinates and trace mask, each variable's metadata, and
    /// the ledger its chunks will be recorded in.
    pub(crate) fn build(dir: &Path, skeleton: &Skeleton) -> Result<()> {
        let Skeleton {
            format,
            input,
            attributes,
            variables,
            fingerprint,
        } = *skeleton;
        // the variables carry their own compression; coordinates none
        let w = DatasetWriter::new(dir, format, Compression::None);
        w.group(attributes)?;
        for c in &input.coords {
            write_coordinate(&w, c)?;
        }
        let ndim = input.ndim;
        let stored = |a: [u64; 3]| -> Vec<u64> {
            if ndim == 2 {
                a[1..].to_vec()
            } else {
                a.to_vec()
            }
        };
        for spec in variables {
            let mut attributes = spec.attributes.clone();
            if !spec.dtype.is_float() {
                // CF's marker, which xarray masks for V2 and V3 alike
                attributes.insert(
                    "_FillValue".into(),
                    serde_json::json!(spec.fill.map_or(null_fill(spec.dtype), |f| f)),
                );
            }
            w.array(
                &spec.name,
                ArraySpec {
                    shape: &stored(input.shape),
                    chunks: &stored(spec.chunks),
                    dtype: spec.dtype,
                    dims: &input.dims,
                    attributes,
                    null_fill: true,
                    compression: Some(spec.compression),
                    fill: spec.fill,
                },
            )?;
        }
        if let Some(live) = &input.live_traces {
            // the input's live traces, carried over (uint8, 1 = live)
            let shape: Vec<usize> = input.shape[3 - ndim..2]
                .iter()
                .map(|&n| n as usize)
                .collect();
            let v: Vec<u8> = live.iter().map(|&l| u8::from(l)).collect();
            w.whole(
                "trace_mask",
                Dtype::Uint8,
                &input.dims[..ndim - 1],
                ndarray::ArrayD::from_shape_vec(IxDyn(&shape), v)?,
                Map::new(),
                Some(Compression::Zstd),
            )?;
        }
        let names: Vec<String> = variables.iter().map(|v| v.name.clone()).collect();
        Ledger::create(dir, fingerprint, &names)?;
        Ok(())
    }

    /// Open variable `name` for writing chunks.
    pub fn variable(&self, spec: &VariableSpec, input: &Input) -> Result<OutputVariable> {
        let array =
            Array::open(self.store.clone(), &format!("/{}", spec.name)).with_context(|| {
                format!(
                    "output variable '{}' of '{}'",
                    spec.name,
                    self.staging.display()
                )
            })?;
        Ok(OutputVariable {
            scale: spec.scale,
            staging: self.staging.clone(),
            store: self.store.clone(),
            name: spec.name.clone(),
            dtype: spec.dtype,
            chunks: spec.chunks,
            shape: input.shape,
            ndim: input.ndim,
            array,
            ledger: self.ledger.clone(),
            behind: self.behind.clone(),
        })
    }
}

/// Whether the job with `fingerprint` has published `path`, waiting a
/// little while another process of it is in the middle of publishing.
pub fn published_by(path: &Path, fingerprint: &Value) -> bool {
    if crate::store::remote::is_remote(path) {
        return super::s3::published_by(path, fingerprint);
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for _ in 0..200 {
        if Ledger::at(path).fingerprint().ok().as_ref() == Some(fingerprint) {
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
    if crate::store::remote::is_remote(path) {
        return super::s3::publish(path, format, identity);
    }
    if let Some(change) = Identity::recorded(staging).and_then(|old| identity.changes_since(&old)) {
        bail!(
            "the input changed while this run wrote '{}' ({change}): nothing was published; rerun with --overwrite",
            staging.display()
        );
    }
    stop_if_superseded(staging, path)?;
    let claim = sibling(path, &format!("publishing.{}", owner::tag()));
    if std::fs::rename(staging, &claim).is_err() {
        return Ok(false);
    }
    remove_temporaries(&claim);
    consolidate(&claim, format)?;
    replace_with(&claim, path)?;
    // the records go last: a publisher killed before this point leaves a
    // claim that the next run puts back (`recover_claims`)
    Ledger::at(path).seal()?;
    // what superseded runs left behind, once they have stopped
    for other in stagings(path) {
        if owner::superseded_by(&other).is_some() && owner::live_holders(&other).is_empty() {
            let _ = discard(&other);
        }
    }
    Ok(true)
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

#[allow(clippy::unnecessary_cast)] // one cast for every dtype, a no-op for f64
fn write_coordinate(w: &DatasetWriter, c: &crate::store::Coordinate) -> Result<()> {
    with_dtype!(c.dtype, T, {
        let v: Vec<T> = c.values.iter().map(|&x| x as T).collect();
        w.coordinate(&c.name, c.dtype, v, c.attributes.clone(), None)
            .with_context(|| format!("coordinate '{}'", c.name))?;
    });
    Ok(())
}

impl OutputVariable {
    /// Write chunk `idx` (promoted 3-D grid); `data` covers the part of the
    /// chunk inside the volume. Recorded as done once the file is in place.
    pub fn write_chunk(&self, idx: [u64; 3], data: ArrayView3<f32>) -> Result<()> {
        if self.behind.is_none() {
            // (in an object store a running job is never taken over)
            stop_if_superseded(&self.staging, &self.staging)?;
        }
        // another process of the same job wrote it: the same bytes
        if self.ledger.is_done(&self.name, idx) {
            return Ok(());
        }
        let c = self.chunks.map(|c| c as usize);
        let d = data.dim();
        debug_assert!((0..3).all(|a| idx[a] * self.chunks[a] < self.shape[a]));
        let stored_idx: Vec<u64> = if self.ndim == 2 {
            idx[1..].to_vec()
        } else {
            idx.to_vec()
        };
        let store = |samples: &[f32]| {
            // borrowed, zarrs encodes them in place (an owned vector it
            // would copy once more, into bytes)
            self.array
                .store_chunk(&stored_idx, samples)
                .with_context(|| format!("writing chunk {:?} of '{}'", stored_idx, self.name))
        };
        let whole = [d.0, d.1, d.2] == c;
        match data.as_slice() {
            // f32 samples of a whole chunk, contiguous: written as they are
            Some(samples) if whole && self.dtype == Dtype::Float32 => store(samples)?,
            _ => {
                // else the chunk is copied once; one at the volume's end is padded
                let full = if whole {
                    data.as_standard_layout().into_owned()
                } else {
                    let mut full = Array3::<f32>::zeros((c[0], c[1], c[2]));
                    full.slice_mut(s![..d.0, ..d.1, ..d.2]).assign(&data);
                    full
                };
                let (v, _) = full.into_raw_vec_and_offset();
                if self.dtype == Dtype::Float32 {
                    store(&v)?;
                } else {
                    self.store_converted(&stored_idx, v)?;
                }
            }
        }
        let key = self.array.chunk_key(&stored_idx);
        let sum = self.store.take_checksum(key.as_str());
        match &self.behind {
            Some(b) => {
                let (record, text) = self.ledger.record(&self.name, idx, sum);
                b.then_put(key.as_str(), record, text);
                Ok(())
            }
            None => self.ledger.mark_done(&self.name, idx, sum),
        }
    }

    /// Store f32 samples as the variable's other type: floats converted,
    /// integers scaled, rounded and saturated, NaN to the declared fill.
    fn store_converted(&self, stored_idx: &[u64], v: Vec<f32>) -> Result<()> {
        let fill = null_fill(self.dtype);
        let integer = !self.dtype.is_float();
        let scale = self.scale.unwrap_or(1.0);
        with_dtype!(self.dtype, T, {
            let v: Vec<T> = v
                .into_iter()
                .map(|x| {
                    if !integer {
                        T::from_f32(x)
                    } else if x.is_nan() {
                        // an integer type has no NaN: its declared fill value
                        T::from_f64(fill)
                    } else {
                        // rounded and saturated, clear of the fill value
                        let (lo, hi) = (
                            T::from_f64(f64::MIN).to_f64(),
                            T::from_f64(f64::MAX).to_f64(),
                        );
                        let r = (x as f64 * scale).round().clamp(lo, hi);
                        T::from_f64(if r == fill {
                            r + if fill < 0.0 { 1.0 } else { -1.0 }
                        } else {
                            r
                        })
                    }
                })
                .collect();
            self.array
                .store_chunk(stored_idx, &v[..])
                .with_context(|| format!("writing chunk {:?} of '{}'", stored_idx, self.name))?;
        });
        Ok(())
    }
}
