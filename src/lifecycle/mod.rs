//! The life of a job, the same for every kind: decide the settings, resolve
//! the job, check what it would overwrite, stop cleanly on signals, dry-run,
//! stage or join its datasets, take this shard's tasks less those done
//! (resume) or only those damaged (repair), compute while the leases are
//! kept fresh, flush, publish, and sum up.
//!
//! A job kind ([`JobKind`]) supplies only what it reads, what it writes,
//! its tasks and how it computes them.

mod attribute_job;
mod facies_job;
mod kind;
mod map_job;
pub mod plan_report;
mod settings;
pub mod status_report;
mod volumes_and_maps;

pub use kind::{datasets, JobKind, Output};
pub use settings::{Flags, Settings};

use crate::batch::shards::{self as shard, Shard};
use crate::engine::{self, ChunkSink, Stats};
use crate::store::input_state::Identity;
use crate::store::{Location, Opened, OutputDataset, OutputVariable, Skeleton};
use anyhow::{bail, Context, Result};
use ndarray::ArrayView3;
use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Read the job file once and resolve it as its kind: the one place that
/// tells a `classify:` job from an attribute job.
pub fn open(job_path: &Path, settings: &Settings) -> Result<Box<dyn JobKind>> {
    let spec = crate::job::load(job_path)?;
    // what resolving says about the job names the job file, once, here
    let shown = || job_path.display().to_string();
    if spec.classify.is_some() {
        let job = facies_job::FaciesJob::resolve(job_path, spec, settings).with_context(shown)?;
        Ok(Box::new(job))
    } else if !spec.maps.is_empty() && !spec.outputs.is_empty() {
        let job = volumes_and_maps::VolumesAndMaps::resolve(job_path, spec, settings)
            .with_context(shown)?;
        Ok(Box::new(job))
    } else if !spec.maps.is_empty() {
        let job = map_job::MapJob::resolve(job_path, spec, settings).with_context(shown)?;
        Ok(Box::new(job))
    } else {
        let job =
            attribute_job::AttributeJob::resolve(job_path, spec, settings).with_context(shown)?;
        Ok(Box::new(job))
    }
}

/// What can be checked of a job without running it (`attr plan`, `attr
/// submit`): besides what resolving it checks, that no output overwrites
/// what it reads.
pub fn check(job: &dyn JobKind, s: &Settings) -> Result<()> {
    refuse_overwriting_reads(job)?;
    check_files(job, s.force)
}

/// `attr run`.
pub fn run(job_path: &Path, flags: Flags) -> Result<()> {
    // from the start, so that a signal during setup also stops cleanly
    let stop = stop_on_signals();
    let settings = Settings::decide(flags)?;
    let mut job = open(job_path, &settings)?;
    execute(job.as_mut(), &settings, &stop)
}

/// The first SIGTERM or SIGINT stops between chunks, a second ends the
/// process.
fn stop_on_signals() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        let _ = signal_hook::flag::register_conditional_shutdown(sig, 130, stop.clone());
        let _ = signal_hook::flag::register(sig, stop.clone());
    }
    stop
}

/// The chunks to rewrite, per repaired dataset and variable.
type Repairs = HashMap<PathBuf, HashMap<String, HashSet<[u64; 3]>>>;

/// The stages of a run, each below.
pub fn execute(job: &mut dyn JobKind, s: &Settings, stop: &AtomicBool) -> Result<()> {
    let quiet = s.quiet;
    let say = |msg: String| {
        if !quiet {
            crate::noteln!("attr: {msg}");
        }
    };
    let paths = datasets(job.outputs());
    check(job, s)?;
    check_memory(job, quiet)?;
    let range = match &s.shard {
        Some(sh) => shard::task_range(job.task_count(), sh.index, sh.count),
        None => 0..job.task_count(),
    };
    say(job.describe());
    if let Some(sh) = &s.shard {
        say(shard_line(sh, &range, job.task_count()));
    }
    if s.dry_run {
        crate::outln!("dry run: the job is valid; nothing was written");
        job.dry_run();
        return Ok(());
    }
    if let Err(e) = job.prepare(quiet, stop) {
        if e.downcast_ref::<engine::Interrupted>().is_some() {
            bail!("stopped by a signal before anything was written");
        }
        return Err(e.context(job.job_path().display().to_string()));
    }
    let job: &dyn JobKind = job;
    let (datasets, repairs) = open_datasets(job, &paths, s, &say)?;
    if datasets.iter().all(Option::is_none) {
        return Ok(()); // every output is already complete: nothing to compute
    }
    if let Some(sh) = &s.shard {
        for d in datasets.iter().flatten() {
            d.ledger.record_shards(sh.count);
        }
    }
    let dataset_of = |o: &Output| {
        paths
            .iter()
            .position(|q| o.is_in(q))
            .expect("dataset of an output")
    };
    let vars = job
        .outputs()
        .iter()
        .map(|o| match &datasets[dataset_of(o)] {
            Some(d) => d
                .variable(&o.spec, &job.layout(o.location.path()))
                .map(Some),
            None => Ok(None),
        })
        .collect::<Result<Vec<_>>>()?;
    let selected = select_tasks(job, range, &datasets, &dataset_of, &repairs, s.resume, &say);
    let computed = compute(job, &selected, &datasets, &vars, &repairs, quiet, stop);
    // the writes still in flight (object storage) land before anything is judged
    let flushed = datasets.iter().flatten().try_for_each(OutputDataset::flush);
    let stats = match (computed, flushed) {
        (Ok(stats), Ok(())) => stats,
        (Err(e), _) | (Ok(_), Err(e)) => return failed(e, job, &paths, &datasets, &say),
    };
    if selected.len() == job.task_count() {
        job.finished(&stats);
    }
    let pending = publish(job, &paths, &datasets, &repairs, s.shard.is_none(), &say)?;
    if !quiet {
        summary(job, &paths, &stats, &pending);
        note_missing_input(job);
    }
    Ok(())
}

fn shard_line(s: &Shard, range: &Range<usize>, total: usize) -> String {
    format!(
        "shard {} of {} (from {}): tasks {}..{} of {total}",
        s.index, s.count, s.source, range.start, range.end
    )
}

/// No output may be, hold or lie inside a store the job reads: writing it
/// (or `--overwrite` replacing it) would destroy what it is computed from.
fn refuse_overwriting_reads(job: &dyn JobKind) -> Result<()> {
    let mut checked = HashSet::new();
    for o in job.outputs() {
        if !checked.insert(o.location.path().to_path_buf()) {
            continue;
        }
        for read in job.reads() {
            refuse_aliasing(&read, &o.location)
                .with_context(|| format!("{}: {}", job.job_path().display(), o.field))?;
        }
    }
    Ok(())
}

/// Refuse more chunk files than a job writes without `--force`, and more
/// than the output's file system has inodes for.
fn check_files(job: &dyn JobKind, force: bool) -> Result<()> {
    let at = |e: anyhow::Error| anyhow::anyhow!("{}: {e}", job.job_path().display());
    let outputs = job.outputs();
    let total: u64 = outputs.iter().map(|o| o.total as u64).sum();
    crate::store::file_budget::check_count(total, force).map_err(at)?;
    for dataset in datasets(outputs) {
        let Location::Dir(path) = &dataset else {
            continue;
        };
        let files: u64 = outputs
            .iter()
            .filter(|o| o.is_in(&dataset))
            .map(|o| o.total as u64)
            .sum();
        crate::store::file_budget::check_inodes(path, files).map_err(at)?;
    }
    Ok(())
}

/// Refuse a run the machine cannot hold; note one over its budget.
fn check_memory(job: &dyn JobKind, quiet: bool) -> Result<()> {
    let estimate = job.estimate();
    let budget = job.budget();
    if let Some(available) = crate::batch::memory_budget::available_memory() {
        if estimate > available {
            bail!(
                "{}: the run needs about {} MiB of memory, more than the {} MiB available: use fewer workers, smaller output chunks or a lower cache_mb",
                job.job_path().display(),
                estimate >> 20,
                available >> 20
            );
        }
    }
    if estimate > budget.bytes && !quiet {
        crate::noteln!(
            "attr: note: the run needs about {} MiB, more than its memory budget of {} MiB ({}): fewer workers or smaller output chunks would fit it",
            estimate >> 20,
            budget.bytes >> 20,
            budget.from
        );
    }
    Ok(())
}

/// Find or create every output dataset: `None` for one already complete
/// and intact; a published one with damaged chunks is opened for repair
/// when asked (`--repair`, `--resume`), refused otherwise.
fn open_datasets(
    job: &dyn JobKind,
    paths: &[Location],
    s: &Settings,
    say: &dyn Fn(String),
) -> Result<(Vec<Option<OutputDataset>>, Repairs)> {
    let grid = job.grid();
    let identity = Identity::of(&grid.location, grid.variable.as_deref());
    let mut repairs = Repairs::new();
    let mut datasets = Vec::new();
    for at in paths {
        let path = at.path();
        let outputs: Vec<&Output> = job.outputs().iter().filter(|o| o.is_in(at)).collect();
        let format = outputs[0].format;
        let attrs = job.dataset_attributes(path);
        let specs: Vec<_> = outputs.iter().map(|o| o.spec.clone()).collect();
        let layout = job.layout(path);
        let skeleton = Skeleton {
            format,
            layout: &layout,
            attributes: &attrs,
            variables: &specs,
            fingerprint: &job.fingerprint(path),
        };
        let opened = OutputDataset::open_or_create(
            at,
            &skeleton,
            &identity,
            s.overwrite,
            s.shard.is_none(),
        )?;
        match opened {
            Opened::Created(d) => datasets.push(Some(d)),
            Opened::Joined(d) => {
                say(format!("continuing in {}", d.staging.display()));
                datasets.push(Some(d));
            }
            Opened::Complete => {
                // a published output is checked: its chunk files by size
                // (cheap), or by checksum when asked to repair
                let full = s.repair || s.resume;
                let names: Vec<&str> = outputs.iter().map(|o| o.spec.name.as_str()).collect();
                let bad = damage_of(at, &names, full)?;
                let n: usize = bad.values().map(Vec::len).sum();
                if n == 0 {
                    say(format!("{} is already complete", path.display()));
                    datasets.push(None);
                } else if full {
                    say(format!(
                        "{}: repairing {n} damaged or missing chunk(s)",
                        path.display()
                    ));
                    datasets.push(Some(OutputDataset::open_for_repair(at, format)?));
                    repairs.insert(
                        path.to_path_buf(),
                        bad.into_iter()
                            .map(|(k, v)| (k, v.into_iter().map(|b| b.0).collect()))
                            .collect(),
                    );
                } else {
                    let first = bad
                        .values()
                        .next()
                        .and_then(|v| v.first())
                        .map(|b| b.1.clone());
                    bail!(
                        "'{}' is complete, but {n} chunk(s) are damaged or missing ({}): rerun with --repair",
                        path.display(),
                        first.unwrap_or_default()
                    );
                }
            }
        }
    }
    Ok((datasets, repairs))
}

/// The damaged chunks of the published dataset at `path`, by variable,
/// from one look at one dataset: another process of the job may replace
/// it while it is read (publishing renames the old one away first), and
/// what is missing for that moment is not damage to repair.
fn damage_of(
    at: &Location,
    names: &[&str],
    full: bool,
) -> Result<HashMap<String, crate::store::chunk_check::Damaged>> {
    use std::os::unix::fs::MetadataExt;
    let identity = || {
        std::fs::metadata(at.path())
            .ok()
            .map(|m| (m.dev(), m.ino()))
    };
    let mut attempts = 0;
    loop {
        let before = identity();
        let mut bad = HashMap::new();
        for &name in names {
            let (_, b) = crate::store::chunk_check::damaged_chunks(at, name, full)?;
            if !b.is_empty() {
                bad.insert(name.to_string(), b);
            }
        }
        if at.is_remote()
            || bad.is_empty()
            || (before.is_some() && before == identity())
            || attempts == 5
        {
            return Ok(bad);
        }
        attempts += 1;
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The tasks of this shard, less those already done when resuming, and
/// only those with damaged chunks in a repaired dataset.
fn select_tasks(
    job: &dyn JobKind,
    range: Range<usize>,
    datasets: &[Option<OutputDataset>],
    dataset_of: &dyn Fn(&Output) -> usize,
    repairs: &Repairs,
    resume: bool,
    say: &dyn Fn(String),
) -> Vec<usize> {
    let mut selected: Vec<usize> = range.collect();
    if !resume && repairs.is_empty() {
        return selected;
    }
    let outputs = job.outputs();
    let bad_of = |o: &Output| repairs.get(o.location.path()).map(|m| m.get(&o.spec.name));
    let done: Vec<Option<HashSet<[u64; 3]>>> = outputs
        .iter()
        .map(|o| {
            if bad_of(o).is_some() {
                return None;
            }
            datasets[dataset_of(o)].as_ref().map(|d| {
                if resume {
                    d.ledger.done(&o.spec.name)
                } else {
                    Default::default()
                }
            })
        })
        .collect();
    let before = selected.len();
    selected.retain(|&i| {
        !job.task_chunks(i)
            .iter()
            .all(|&(o, c)| match bad_of(&outputs[o]) {
                Some(bad) => bad.is_none_or(|b| !b.contains(&c)),
                None => done[o].as_ref().is_none_or(|set| set.contains(&c)),
            })
    });
    say(format!(
        "resuming: {} of {} task(s) already done",
        before - selected.len(),
        before
    ));
    selected
}

/// A sink that writes only some chunks (the damaged ones, when repairing).
struct Only<'a> {
    inner: &'a OutputVariable,
    chunks: HashSet<[u64; 3]>,
}

impl ChunkSink for Only<'_> {
    fn write_chunk(&self, idx: [u64; 3], data: ArrayView3<f32>) -> Result<()> {
        if self.chunks.contains(&idx) {
            self.inner.write_chunk(idx, data)?;
        }
        Ok(())
    }
}

/// A sink for outputs whose dataset is already complete.
struct Discard;

impl ChunkSink for Discard {
    fn write_chunk(&self, _: [u64; 3], _: ArrayView3<f32>) -> Result<()> {
        Ok(())
    }
}

impl ChunkSink for OutputVariable {
    fn write_chunk(&self, idx: [u64; 3], data: ArrayView3<f32>) -> Result<()> {
        OutputVariable::write_chunk(self, idx, data)
    }
}

/// The job's computation over the selected tasks, while the datasets'
/// leases are kept fresh.
fn compute(
    job: &dyn JobKind,
    selected: &[usize],
    datasets: &[Option<OutputDataset>],
    vars: &[Option<OutputVariable>],
    repairs: &Repairs,
    quiet: bool,
    stop: &AtomicBool,
) -> Result<Stats> {
    let repair_sinks: Vec<Option<Only>> = job
        .outputs()
        .iter()
        .zip(vars)
        .map(|(o, v)| {
            match (
                repairs.get(o.location.path()).map(|m| m.get(&o.spec.name)),
                v,
            ) {
                (Some(bad), Some(v)) => Some(Only {
                    inner: v,
                    chunks: bad.cloned().unwrap_or_default(),
                }),
                _ => None,
            }
        })
        .collect();
    let sinks: Vec<&dyn ChunkSink> = vars
        .iter()
        .zip(&repair_sinks)
        .map(|(v, r)| match (r, v) {
            (Some(r), _) => r as &dyn ChunkSink,
            (None, Some(v)) => v as &dyn ChunkSink,
            (None, None) => &Discard,
        })
        .collect();
    // the renewer wakes at once when the work ends (its channel closes)
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    std::thread::scope(|scope| {
        scope.spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                done_rx.recv_timeout(crate::store::owner::RENEW)
            {
                datasets.iter().flatten().for_each(OutputDataset::renew);
            }
        });
        let r = job.compute(selected, &sinks, quiet, stop);
        drop(done_tx);
        r
    })
}

/// A run that stopped: say where its finished chunks are and how to go on
/// — unless another process of the same job published the result.
fn failed(
    e: anyhow::Error,
    job: &dyn JobKind,
    paths: &[Location],
    datasets: &[Option<OutputDataset>],
    say: &dyn Fn(String),
) -> Result<()> {
    if let Some(s) = e.downcast_ref::<crate::store::Superseded>() {
        bail!("{s}");
    }
    if paths.iter().zip(datasets).all(|(at, d)| {
        d.as_ref().is_none_or(|d| {
            !d.staging.exists() && crate::store::published_by(at, &job.fingerprint(at.path()))
        })
    }) {
        say("another process of the same job published the output(s)".into());
        return Ok(());
    }
    let staged: Vec<String> = datasets
        .iter()
        .flatten()
        .map(|d| d.staging.display().to_string())
        .collect();
    let how = format!(
        "finished chunks are kept in {}: rerun the same command with --resume to finish",
        staged.join(", ")
    );
    if let Some(i) = e.downcast_ref::<engine::Interrupted>() {
        bail!(
            "stopped by a signal after writing {} chunk(s); {how}",
            i.chunks_written
        );
    }
    let text = format!("{e:#}");
    let why = paths
        .iter()
        .find_map(|at| crate::store::remote::reason(at.remote()?, &text));
    let why = why.or_else(|| crate::store::remote::reason(job.grid().location.remote()?, &text));
    if let Some(why) = why {
        bail!("run failed: {why}; {how}");
    }
    Err(e.context(format!("run failed; {how}")))
}

/// Publish each dataset whose every chunk is recorded; returns those still
/// waiting for other shards.
fn publish(
    job: &dyn JobKind,
    paths: &[Location],
    datasets: &[Option<OutputDataset>],
    repairs: &Repairs,
    whole_job: bool,
    say: &dyn Fn(String),
) -> Result<Vec<String>> {
    let mut pending = Vec::new();
    let grid = job.grid();
    for (at, d) in paths.iter().zip(datasets) {
        let Some(d) = d else { continue };
        let path = at.path();
        if repairs.contains_key(path) {
            // rewritten in place, chunk by chunk: fold the new records in
            d.ledger.seal()?;
            say(format!("repaired {}", path.display()));
            continue;
        }
        let (mut done, mut total) = (0, 0);
        for o in job.outputs().iter().filter(|o| o.is_in(at)) {
            done += d.ledger.done(&o.spec.name).len();
            total += o.total;
        }
        // (without records, a whole single-process run is complete by construction)
        if done == total || (crate::store::adapters::atomic::unsafe_in_place() && whole_job) {
            let now = Identity::of(&grid.location, grid.variable.as_deref());
            if crate::store::publish(at, &d.staging, d.format, &now)? {
                say(format!("wrote {}", path.display()));
            }
        } else {
            pending.push(format!(
                "{} ({done} of {total} chunks)",
                d.staging.display()
            ));
        }
    }
    Ok(pending)
}

fn summary(job: &dyn JobKind, paths: &[Location], stats: &Stats, pending: &[String]) {
    let grid = job.grid();
    let in_mb = grid.bytes() as f64 / 1e6;
    let stored: u64 = paths.iter().map(crate::store::stored_bytes).sum();
    crate::noteln!(
        "attr: done in {:.2} s: {} chunks written ({} tasks), input {:.1} MB read at {:.0} MB/s, \
         {} decodes of {} input chunks ({:.2} per chunk), {:.1} MB computed, {:.1} MB stored, peak memory {} (plan: {} MiB)",
        stats.wall_s,
        stats.chunks_written,
        stats.tasks,
        in_mb,
        in_mb / stats.wall_s.max(1e-9),
        stats.decodes,
        stats.input_chunks_read,
        stats.decodes_per_chunk(),
        stats.bytes_written as f64 / 1e6,
        stored as f64 / 1e6,
        crate::batch::memory_budget::peak_memory().unwrap_or_else(|| "unknown".into()),
        job.estimate() >> 20,
    );
    for p in pending {
        crate::noteln!("attr: this share is done; waiting for other shards to finish {p}");
    }
}

/// Input chunks that were missing from the store, read as the fill value
/// (Zarr's rule, and how zarr-python stores chunks of only the fill value;
/// in a survey sometimes a lost file).
fn note_missing_input(job: &dyn JobKind) {
    let missing = job.grid().missing_chunks();
    if let Some(first) = missing.first() {
        crate::noteln!(
            "attr: {} input chunk(s) of '{}' are missing from the store and were read as the fill value (first: {first:?}); `--strict-input` or `strict_input: true` refuses them",
            missing.len(),
            job.grid().path.display()
        );
    }
}

/// An output may never be a store the job reads, lie inside it or contain
/// it. Compared as resolved paths, symlinks included; a path that does not
/// exist yet is resolved through its nearest existing ancestor.
fn refuse_aliasing(input: &Location, output: &Location) -> Result<()> {
    let remote = input.is_remote() || output.is_remote();
    let (input, output) = (input.path(), output.path());
    if remote {
        return refuse_aliasing_text(input, output);
    }
    let (i, o) = (resolve_path(input), resolve_path(output));
    if i == o {
        bail!(
            "'{}' is the input: an output may not replace its input (write to another path)",
            output.display()
        );
    }
    if o.starts_with(&i) {
        bail!(
            "'{}' lies inside the input '{}': write the output elsewhere",
            output.display(),
            input.display()
        );
    }
    if i.starts_with(&o) {
        bail!(
            "'{}' contains the input '{}': replacing it would delete the input; write the output elsewhere",
            output.display(),
            input.display()
        );
    }
    Ok(())
}

/// Object-store locations compared by their keys.
fn refuse_aliasing_text(input: &Path, output: &Path) -> Result<()> {
    let key = |p: &Path| p.to_string_lossy().trim_end_matches('/').to_string();
    let (i, o) = (key(input), key(output));
    if i == o || o.starts_with(&format!("{i}/")) || i.starts_with(&format!("{o}/")) {
        bail!(
            "'{}' overlaps the input '{}': write the output elsewhere",
            output.display(),
            input.display()
        );
    }
    Ok(())
}

fn resolve_path(p: &Path) -> PathBuf {
    let mut tail = Vec::new();
    let mut cur = p.to_path_buf();
    loop {
        if let Ok(c) = std::fs::canonicalize(&cur) {
            return tail.iter().rev().fold(c, |acc: PathBuf, t| acc.join(t));
        }
        match (cur.file_name().map(|n| n.to_os_string()), cur.parent()) {
            (Some(n), Some(parent)) => {
                tail.push(n);
                cur = if parent.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    parent.to_path_buf()
                };
            }
            _ => return p.to_path_buf(),
        }
    }
}
