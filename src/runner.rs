//! `attr run`: wire a job spec to the store, the planner and the engine.

use crate::engine::{self, ChunkSink, ChunkSource, Target};
use crate::job::{
    chunk_total, dataset_paths, fingerprint, prepare, provenance, Prepared, Resolved,
};
use crate::progress::Progress;
use crate::shard::{self, Shard};
use crate::store::identity::Identity;
use crate::store::{Input, Opened, OutputDataset, OutputVariable, Skeleton, VariableSpec};
use anyhow::{bail, Context, Result};
use ndarray::{Array3, ArrayView3};
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

pub struct RunOptions {
    pub workers: Option<usize>,
    /// `--memory MB`: the run's memory budget.
    pub memory_mb: Option<u64>,
    pub overwrite: bool,
    pub dry_run: bool,
    pub quiet: bool,
    /// `--shard I/N`.
    pub shard: Option<String>,
    /// `--shards N`, the count for an array task whose environment lacks it.
    pub shards: Option<usize>,
    pub resume: bool,
    /// `--repair`: rewrite damaged chunks of published outputs.
    pub repair: bool,
}

impl ChunkSource for Input {
    fn shape(&self) -> [u64; 3] {
        self.shape
    }
    fn chunks(&self) -> [u64; 3] {
        self.chunks
    }
    fn read_chunk(&self, idx: [u64; 3]) -> Result<Array3<f32>> {
        Input::read_chunk(self, idx)
    }
    fn prefetch(&self, idx: [u64; 3]) {
        Input::prefetch(self, idx)
    }
    fn read_ahead(&self) -> usize {
        Input::read_ahead(self)
    }
}

impl ChunkSink for OutputVariable {
    fn write_chunk(&self, idx: [u64; 3], data: ArrayView3<f32>) -> Result<()> {
        OutputVariable::write_chunk(self, idx, data)
    }
}

fn variable_spec(p: &Prepared, o: &Resolved) -> VariableSpec {
    let mut attributes = carried_attributes(&p.input.array_attributes);
    attributes.insert("long_name".into(), json!(o.attribute));
    attributes.insert("units".into(), json!(o.unit));
    attributes.insert("provenance".into(), provenance(p, o));
    if let Some(sc) = o.scale {
        attributes.insert("scale_factor".into(), json!(1.0 / sc));
    }
    VariableSpec {
        name: o.name.clone(),
        dtype: o.dtype,
        scale: o.scale,
        chunks: o.chunks,
        compression: o.compression,
        attributes,
        fill: None,
    }
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

/// Which shard this process computes: `--shard`, else the scheduler's array
/// environment, else everything.
pub fn resolve_shard(opts: &RunOptions) -> Result<Option<Shard>> {
    let env = shard::process_env;
    match &opts.shard {
        Some(text) => Ok(Some(shard::parse(text)?)),
        None => {
            let s = shard::from_env(&env, opts.shards)?;
            if s.is_none() && opts.shards.is_some() {
                bail!("--shards N needs a Slurm or LSF array task (or give --shard I/N)");
            }
            Ok(s)
        }
    }
}

/// The chunks to rewrite, per repaired dataset and variable.
type Repairs = HashMap<PathBuf, HashMap<String, HashSet<[u64; 3]>>>;

/// `attr run`: a few named stages, each below.
pub fn run(job_path: &Path, opts: &RunOptions) -> Result<()> {
    let spec = crate::job::load(job_path)?;
    if let Some(c) = &spec.classify {
        let (default_workers, _) = shard::default_workers(&shard::process_env);
        let workers = opts
            .workers
            .filter(|&w| w > 0)
            .or(Some(spec.workers).filter(|&w| w > 0))
            .unwrap_or(default_workers);
        let run = crate::classify::Run {
            workers,
            overwrite: opts.overwrite,
            quiet: opts.quiet,
            shard: resolve_shard(opts)?,
            resume: opts.resume || shard::requeued(&shard::process_env),
        };
        return crate::classify::run(job_path, &spec, c, &run);
    }
    let stop = stop_on_signals();
    let shard = resolve_shard(opts)?;
    let (p, estimate, workers_from) = ready(job_path, opts)?;
    let resume = opts.resume || shard::requeued(&shard::process_env);
    let say = |msg: String| {
        if !opts.quiet {
            crate::noteln!("attr: {msg}");
        }
    };
    let range = match &shard {
        Some(s) => shard::task_range(p.plan.tasks.len(), s.index, s.count),
        None => 0..p.plan.tasks.len(),
    };
    announce(&p, shard.as_ref(), &range, &workers_from, &say);
    if opts.dry_run {
        print_dry_run(&p);
        return Ok(());
    }
    let paths = dataset_paths(&p);
    let (datasets, repairs) = open_datasets(&p, &paths, shard.as_ref(), opts, resume, &say)?;
    if datasets.iter().all(Option::is_none) {
        return Ok(()); // every output is already complete: nothing to compute
    }
    if let Some(s) = &shard {
        for d in datasets.iter().flatten() {
            d.ledger.record_shards(s.count);
        }
    }
    let dataset_of = |o: &Resolved| {
        paths
            .iter()
            .position(|q| q == &o.path)
            .expect("dataset of an output")
    };
    let vars = p
        .outputs
        .iter()
        .map(|o| match &datasets[dataset_of(o)] {
            Some(d) => d.variable(&variable_spec(&p, o), &p.input).map(Some),
            None => Ok(None),
        })
        .collect::<Result<Vec<_>>>()?;
    let selected = select_tasks(&p, range, &datasets, &dataset_of, &repairs, resume, &say);
    let computed = compute(&p, &selected, &datasets, &vars, &repairs, opts.quiet, &stop);
    // the writes still in flight (object storage) land before anything is judged
    let flushed = datasets.iter().flatten().try_for_each(OutputDataset::flush);
    let stats = match (computed, flushed) {
        (Ok(stats), Ok(())) => stats,
        (Err(e), _) | (Ok(_), Err(e)) => return failed(e, &p, &paths, &datasets, &say),
    };
    if selected.len() == p.plan.tasks.len() {
        warn_degenerate(&p, &stats);
    }
    let pending = publish(&p, &paths, &datasets, &repairs, shard.is_none(), &say)?;
    if !opts.quiet {
        summary(&p, &paths, &stats, estimate, &pending);
    }
    Ok(())
}

/// From the start, so that a signal during setup also stops cleanly: the
/// first SIGTERM or SIGINT stops between tasks, a second ends the process.
fn stop_on_signals() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        let _ = signal_hook::flag::register_conditional_shutdown(sig, 130, stop.clone());
        let _ = signal_hook::flag::register(sig, stop.clone());
    }
    stop
}

/// The job resolved and checked against what this machine can do: dead
/// traces marked, memory enough, something live to compute. Returns the
/// memory estimate and where the worker count came from.
fn ready(job_path: &Path, opts: &RunOptions) -> Result<(Prepared, u64, String)> {
    let (default_workers, workers_from) = shard::default_workers(&shard::process_env);
    let mut p = prepare(job_path, opts.workers, opts.memory_mb, default_workers)?;
    if p.spec.dead_traces == crate::job::DeadTraces::Missing {
        let dead = p
            .input
            .mark_dead_traces_missing(p.workers)
            .with_context(|| format!("{}: input", job_path.display()))?;
        if !opts.quiet {
            crate::noteln!(
                "attr: {dead} dead trace(s) (only zeros) taken as missing (dead_traces: missing)"
            );
        }
    }
    let estimate = p.plan.memory_estimate(p.workers, p.cache_bytes);
    if let Some(available) = crate::available_memory() {
        if estimate > available {
            bail!(
                "{}: the run needs about {} MiB of memory, more than the {} MiB available: use fewer workers, smaller output chunks or a lower cache_mb",
                job_path.display(),
                estimate >> 20,
                available >> 20
            );
        }
    }
    if estimate > p.budget.bytes && !opts.quiet {
        crate::noteln!(
            "attr: note: the run needs about {} MiB, more than its memory budget of {} MiB ({}): fewer workers or smaller output chunks would fit it",
            estimate >> 20,
            p.budget.bytes >> 20,
            p.budget.from
        );
    }
    if p.input.entirely_null() {
        bail!(
            "{}: input '{}' holds no live sample (every trace is missing or null): nothing to compute, nothing was written",
            job_path.display(),
            p.input.path.display()
        );
    }
    let workers_from = if opts.workers.is_some() {
        "--workers".to_string()
    } else if p.spec.workers > 0 {
        "the job's workers".to_string()
    } else {
        workers_from
    };
    Ok((p, estimate, workers_from))
}

/// The first lines of a run: what it reads, computes and with what.
fn announce(
    p: &Prepared,
    shard: Option<&Shard>,
    range: &Range<usize>,
    workers_from: &str,
    say: &dyn Fn(String),
) {
    say(format!(
        "{} {:?} {} ({:.1} MB), {} output(s), {} task(s), {} worker(s) (from {}), boundary {}",
        p.input.path.display(),
        &p.input.shape[3 - p.input.ndim..],
        p.input.dtype.v3_name(),
        p.input.bytes() as f64 / 1e6,
        p.outputs.len(),
        p.plan.tasks.len(),
        p.workers,
        workers_from,
        p.spec.boundary.describe()
    ));
    if let Some(s) = shard {
        say(format!(
            "shard {} of {} (from {}): tasks {}..{} of {}",
            s.index,
            s.count,
            s.source,
            range.start,
            range.end,
            p.plan.tasks.len()
        ));
    }
}

fn print_dry_run(p: &Prepared) {
    crate::outln!("dry run: the job is valid; nothing was written");
    for o in &p.outputs {
        crate::outln!(
            "  {} -> {}/{} chunks {:?} halo {:?}",
            o.attribute,
            o.path.display(),
            o.name,
            &o.chunks[3 - p.input.ndim..],
            o.kernel.halo().map(|h| h.describe())
        );
    }
}

/// Find or create every output dataset: `None` for one already complete
/// and intact; a published one with damaged chunks is opened for repair
/// when asked (`--repair`, `--resume`), refused otherwise.
fn open_datasets(
    p: &Prepared,
    paths: &[PathBuf],
    shard: Option<&Shard>,
    opts: &RunOptions,
    resume: bool,
    say: &dyn Fn(String),
) -> Result<(Vec<Option<OutputDataset>>, Repairs)> {
    let identity = Identity::of(&p.input.path, p.input.variable.as_deref());
    let mut repairs = Repairs::new();
    let mut datasets = Vec::new();
    for path in paths {
        let outputs: Vec<&Resolved> = p.outputs.iter().filter(|o| &o.path == path).collect();
        let format = outputs[0].format;
        let mut attrs: Map<String, Value> = p.input.group_attributes.clone();
        if p.input.variable.is_none() {
            attrs.extend(carried_attributes(&p.input.array_attributes));
        }
        let specs: Vec<VariableSpec> = outputs.iter().map(|o| variable_spec(p, o)).collect();
        let skeleton = Skeleton {
            format,
            input: &p.input,
            attributes: &attrs,
            variables: &specs,
            fingerprint: &fingerprint(p, path),
        };
        let opened = OutputDataset::open_or_create(
            path,
            &skeleton,
            &identity,
            opts.overwrite,
            shard.is_none(),
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
                let full = opts.repair || resume;
                let mut bad = HashMap::new();
                for o in &outputs {
                    let (_, b) = crate::status::damaged_chunks(path, &o.name, full)?;
                    if !b.is_empty() {
                        bad.insert(o.name.clone(), b);
                    }
                }
                let n: usize = bad.values().map(Vec::len).sum();
                if n == 0 {
                    say(format!("{} is already complete", path.display()));
                    datasets.push(None);
                } else if full {
                    say(format!(
                        "{}: repairing {n} damaged or missing chunk(s)",
                        path.display()
                    ));
                    datasets.push(Some(OutputDataset::open_for_repair(path, format)?));
                    repairs.insert(
                        path.clone(),
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

/// The tasks of this shard, less those already done when resuming, and
/// only those with damaged chunks in a repaired dataset.
fn select_tasks(
    p: &Prepared,
    range: Range<usize>,
    datasets: &[Option<OutputDataset>],
    dataset_of: &dyn Fn(&Resolved) -> usize,
    repairs: &Repairs,
    resume: bool,
    say: &dyn Fn(String),
) -> Vec<usize> {
    let mut selected: Vec<usize> = range.collect();
    if !resume && repairs.is_empty() {
        return selected;
    }
    let bad_of = |o: &Resolved| repairs.get(&o.path).map(|m| m.get(&o.name));
    let done: Vec<Option<HashSet<[u64; 3]>>> = p
        .outputs
        .iter()
        .map(|o| {
            if bad_of(o).is_some() {
                return None;
            }
            datasets[dataset_of(o)].as_ref().map(|d| {
                if resume {
                    d.ledger.done(&o.name)
                } else {
                    Default::default()
                }
            })
        })
        .collect();
    let before = selected.len();
    selected.retain(|&i| {
        let t = &p.plan.tasks[i];
        let g = &p.plan.groups[t.group];
        !g.outputs.iter().all(|&o| match bad_of(&p.outputs[o]) {
            Some(bad) => bad.is_none_or(|b| t.chunks().all(|c| !b.contains(&c))),
            None => done[o]
                .as_ref()
                .is_none_or(|set| t.chunks().all(|c| set.contains(&c))),
        })
    });
    say(format!(
        "resuming: {} of {} task(s) already done",
        before - selected.len(),
        before
    ));
    selected
}

/// The engine over the selected tasks, with progress, while the datasets'
/// leases are kept fresh.
fn compute(
    p: &Prepared,
    selected: &[usize],
    datasets: &[Option<OutputDataset>],
    vars: &[Option<OutputVariable>],
    repairs: &Repairs,
    quiet: bool,
    stop: &AtomicBool,
) -> Result<engine::Stats> {
    let repair_sinks: Vec<Option<Only>> = p
        .outputs
        .iter()
        .zip(vars)
        .map(
            |(o, v)| match (repairs.get(&o.path).map(|m| m.get(&o.name)), v) {
                (Some(bad), Some(v)) => Some(Only {
                    inner: v,
                    chunks: bad.cloned().unwrap_or_default(),
                }),
                _ => None,
            },
        )
        .collect();
    let targets: Vec<Target> = p
        .outputs
        .iter()
        .zip(vars)
        .zip(&repair_sinks)
        .map(|((o, v), r)| Target {
            kernel: o.kernel.as_ref(),
            sink: match (r, v) {
                (Some(r), _) => r as &dyn ChunkSink,
                (None, Some(v)) => v as &dyn ChunkSink,
                (None, None) => &Discard,
            },
        })
        .collect();
    let total_chunks: u64 = selected
        .iter()
        .map(|&i| {
            let t = &p.plan.tasks[i];
            t.chunk_count() * p.plan.groups[t.group].outputs.len() as u64
        })
        .sum();
    let progress = Progress::new(total_chunks, "attr run", quiet);
    let options = engine::Options {
        workers: p.workers,
        cache_bytes: p.cache_bytes,
    };
    // the renewer wakes at once when the work ends (its channel closes)
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let result = std::thread::scope(|scope| {
        scope.spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                done_rx.recv_timeout(crate::store::owner::RENEW)
            {
                datasets.iter().flatten().for_each(OutputDataset::renew);
            }
        });
        let r = engine::run(
            &p.plan, selected, &p.input, &targets, &options, &progress, stop,
        );
        drop(done_tx);
        r
    });
    progress.finish();
    result
}

/// A run that stopped: say where its finished chunks are and how to go on
/// — unless another process of the same job published the result.
fn failed(
    e: anyhow::Error,
    p: &Prepared,
    paths: &[PathBuf],
    datasets: &[Option<OutputDataset>],
    say: &dyn Fn(String),
) -> Result<()> {
    if let Some(s) = e.downcast_ref::<crate::store::Superseded>() {
        bail!("{s}");
    }
    if paths.iter().zip(datasets).all(|(path, d)| {
        d.as_ref().is_none_or(|d| {
            !d.staging.exists() && crate::store::published_by(path, &fingerprint(p, path))
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
    if let Some(why) = crate::store::remote::reason(&format!("{e:#}")) {
        bail!("run failed: {why}; {how}");
    }
    Err(e.context(format!("run failed; {how}")))
}

/// A result that is all null or all zero is almost always a mistake.
fn warn_degenerate(p: &Prepared, stats: &engine::Stats) {
    for (o, &(finite, nonzero)) in p.outputs.iter().zip(&stats.seen) {
        if !finite {
            crate::noteln!(
                "attr: warning: {} ({}) is null everywhere",
                o.name,
                o.attribute
            );
        } else if !nonzero {
            crate::noteln!(
                "attr: warning: {} ({}) is 0 everywhere",
                o.name,
                o.attribute
            );
        }
    }
}

/// Publish each dataset whose every chunk is recorded; returns those still
/// waiting for other shards.
fn publish(
    p: &Prepared,
    paths: &[PathBuf],
    datasets: &[Option<OutputDataset>],
    repairs: &Repairs,
    whole_job: bool,
    say: &dyn Fn(String),
) -> Result<Vec<String>> {
    let mut pending = Vec::new();
    for (path, d) in paths.iter().zip(datasets) {
        let Some(d) = d else { continue };
        if repairs.contains_key(path) {
            // rewritten in place, chunk by chunk: fold the new records in
            d.ledger.seal()?;
            say(format!("repaired {}", path.display()));
            continue;
        }
        let (mut done, mut total) = (0, 0);
        for o in p.outputs.iter().filter(|o| &o.path == path) {
            done += d.ledger.done(&o.name).len();
            total += chunk_total(p, o);
        }
        // (without records, a whole single-process run is complete by construction)
        if done == total || (crate::store::atomic::unsafe_in_place() && whole_job) {
            let now = Identity::of(&p.input.path, p.input.variable.as_deref());
            if crate::store::publish(path, &d.staging, d.format, &now)? {
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

fn summary(
    p: &Prepared,
    paths: &[PathBuf],
    stats: &engine::Stats,
    estimate: u64,
    pending: &[String],
) {
    let in_mb = p.input.bytes() as f64 / 1e6;
    let stored: u64 = paths.iter().map(|p| crate::store::stored_bytes(p)).sum();
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
        crate::peak_memory().unwrap_or_else(|| "unknown".into()),
        estimate >> 20,
    );
    for p in pending {
        crate::noteln!("attr: this share is done; waiting for other shards to finish {p}");
    }
}

/// The input variable's attributes that still hold for a computed variable:
/// not its encoding (fill value, scale/offset), units or name.
fn carried_attributes(attrs: &Map<String, Value>) -> Map<String, Value> {
    const ENCODING: &[&str] = &[
        "_FillValue",
        "missing_value",
        "scale_factor",
        "add_offset",
        "units",
        "long_name",
        "standard_name",
        "coordinates",
        "dtype",
        "provenance",
    ];
    attrs
        .iter()
        .filter(|(k, _)| !ENCODING.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}
