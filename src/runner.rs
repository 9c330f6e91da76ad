//! `attr run`: wire a job spec to the store, the planner and the engine.

use crate::engine::{self, ChunkSink, ChunkSource, Target};
use crate::job::{self, JobSpec};
use crate::plan::{OutputNeeds, Plan};
use crate::progress::Progress;
use crate::shard::{self, Shard};
use crate::store::identity::Identity;
use crate::store::{
    Compression, Dtype, Format, Input, Opened, OutputDataset, OutputVariable, VariableSpec,
};
use anyhow::{anyhow, bail, Result};
use attributes::{Kernel, Setup};
use ndarray::{Array3, ArrayView3};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// The most output chunks one job may plan (the plan holds a task each).
const MAX_TASKS: u64 = 20_000_000;

pub struct RunOptions {
    pub workers: Option<usize>,
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
}

impl ChunkSink for OutputVariable {
    fn write_chunk(&self, idx: [u64; 3], data: ArrayView3<f32>) -> Result<()> {
        OutputVariable::write_chunk(self, idx, data)
    }
}

/// One output of the job, resolved against the input.
pub struct Resolved {
    pub attribute: String,
    pub name: String,
    pub path: PathBuf,
    pub kernel: Box<dyn Kernel>,
    pub chunks: [u64; 3],
    pub dtype: Dtype,
    /// Stored value = round(value × scale), for integer dtypes.
    pub scale: Option<f64>,
    pub format: Format,
    pub compression: Compression,
    pub unit: &'static str,
}

/// Everything `attr run` and `attr plan` need before computing.
pub struct Prepared {
    pub spec: JobSpec,
    pub input: Input,
    pub outputs: Vec<Resolved>,
    pub plan: Plan,
    pub workers: usize,
    pub cache_bytes: u64,
}

/// Resolve a job against its input. Workers: `cli_workers`, else the job's
/// `workers` when positive, else `default_workers`.
pub fn prepare(
    job_path: &Path,
    cli_workers: Option<usize>,
    default_workers: usize,
) -> Result<Prepared> {
    let spec = job::load(job_path)?;
    let mut input = Input::open(&spec.input, spec.variable.as_deref())
        .map_err(|e| anyhow!("{}: input: {e:#}", job_path.display()))?;
    input.set_null_value(spec.null_value);
    let setup = Setup {
        sample_interval_ms: spec.sample_interval.or_else(|| input.sample_interval_ms()),
    };
    let mut outputs = Vec::new();
    for (i, o) in spec.outputs.iter().enumerate() {
        let at = |e: String| {
            anyhow!(
                "{}: outputs[{i}] ({}): {e}",
                job_path.display(),
                o.attribute
            )
        };
        let attribute = attributes::lookup(&o.attribute).map_err(|e| at(e.to_string()))?;
        // whole numbers hold an amplitude; any other quantity (a ratio, an
        // angle, a frequency) needs an explicit scale or it rounds to noise
        if let Some(d) = o.dtype.filter(|d| !d.is_float()) {
            if o.scale.is_none() && !attribute.unit().starts_with("input amplitude") {
                return Err(at(format!(
                    "dtype {}: {} is in {}, which whole numbers cannot hold: give `scale:` (stored value = round(value × scale), e.g. scale: 100 for percent) or a float dtype",
                    d.v3_name(),
                    attribute.name(),
                    attribute.unit()
                )));
            }
        }
        let kernel = attribute
            .build(&o.params, &setup)
            .map_err(|e| at(format!("params: {e}")))?;
        let chunks = match &o.chunks {
            None => input.chunks,
            // a chunk larger than the volume is clipped to it: its memory is
            // the volume's, not the number's
            Some(c) if c.len() == input.ndim && input.ndim == 3 => {
                [0, 1, 2].map(|a| c[a].min(input.shape[a].max(1)))
            }
            Some(c) if c.len() == input.ndim => [
                1,
                c[0].min(input.shape[1].max(1)),
                c[1].min(input.shape[2].max(1)),
            ],
            Some(c) => {
                return Err(at(format!(
                    "chunks has {} values, the input has {} dimensions",
                    c.len(),
                    input.ndim
                )))
            }
        };
        outputs.push(Resolved {
            attribute: attribute.name().to_string(),
            name: o
                .name
                .clone()
                .unwrap_or_else(|| attribute.name().to_string()),
            path: o.path.clone(),
            kernel,
            chunks,
            dtype: o.dtype.unwrap_or(Dtype::Float32),
            scale: o.scale,
            format: o.format.unwrap_or(Format::V3),
            compression: o.compression.unwrap_or(Compression::Zstd),
            unit: attribute.unit(),
        });
    }
    // outputs sharing a dataset must agree on its format and not collide
    let mut seen: BTreeMap<&Path, (Format, Vec<&str>)> = BTreeMap::new();
    for o in &outputs {
        let e = seen
            .entry(o.path.as_path())
            .or_insert((o.format, Vec::new()));
        if e.0 != o.format {
            bail!(
                "{}: outputs writing '{}' ask for different formats: a dataset has one format",
                job_path.display(),
                o.path.display()
            );
        }
        if e.1.contains(&o.name.as_str()) {
            bail!(
                "{}: two outputs write variable '{}' into '{}': give one a different `name:`",
                job_path.display(),
                o.name,
                o.path.display()
            );
        }
        if input.coords.iter().any(|c| c.name == o.name) {
            bail!(
                "{}: output name '{}' is a coordinate of the input: choose another `name:`",
                job_path.display(),
                o.name
            );
        }
        e.1.push(&o.name);
    }
    for (i, o) in outputs.iter().enumerate() {
        refuse_aliasing(&spec.input, &o.path)
            .map_err(|e| anyhow!("{}: outputs[{i}].path: {e}", job_path.display()))?;
        // a window wider than the volume it slides over is a mistake, and
        // its halo would make every block the size of the number given
        for (a, h) in o.kernel.halo().iter().enumerate() {
            if let attributes::Halo::Depth(d) = h {
                let n = input.shape[a];
                if *d as u64 > n {
                    bail!(
                        "{}: outputs[{i}] ({}): its window reaches {d} samples beyond each side on axis {a}, but the volume is only {n} long there: give a smaller window",
                        job_path.display(),
                        o.attribute
                    );
                }
            }
        }
    }
    // a plan is a list of tasks: bounded before it is made
    let tasks: u64 = outputs
        .iter()
        .map(|o| {
            (0..3)
                .map(|a| input.shape[a].div_ceil(o.chunks[a]))
                .product::<u64>()
        })
        .sum();
    if tasks > MAX_TASKS {
        bail!(
            "{}: the job has {tasks} output chunks, more than the {MAX_TASKS} one run plans: give the outputs larger `chunks:`",
            job_path.display()
        );
    }
    let needs: Vec<OutputNeeds> = outputs
        .iter()
        .map(|o| OutputNeeds {
            chunks: o.chunks,
            halo: o.kernel.halo(),
        })
        .collect();
    let plan = Plan::new(input.shape, input.chunks, spec.boundary, &needs);
    // more workers than tasks would only wait
    let workers = cli_workers
        .filter(|&w| w > 0)
        .or(Some(spec.workers).filter(|&w| w > 0))
        .unwrap_or(default_workers)
        .min(plan.tasks.len().max(1));
    let cache_bytes = spec.cache_mb.unwrap_or(1024) << 20;
    Ok(Prepared {
        spec,
        input,
        outputs,
        plan,
        workers,
        cache_bytes,
    })
}

/// What the run took for null: the input's fill values, scaling, the job's
/// null value and its treatment of dead traces.
fn nulls_json(p: &Prepared) -> Value {
    let mut v = p.input.decoding.describe();
    v["dead_traces"] = json!(format!("{:?}", p.spec.dead_traces).to_lowercase());
    v["trace_mask"] = json!(p.input.live_traces.is_some());
    v
}

fn provenance(p: &Prepared, o: &Resolved) -> Value {
    json!({
        "nulls": nulls_json(p),
        "attribute": o.attribute,
        "parameters": o.kernel.resolved(),
        "boundary": p.spec.boundary.to_json(),
        "engine": format!("attr {}", env!("CARGO_PKG_VERSION")),
        "input": p.input.path.display().to_string(),
        "variable": p.input.variable,
    })
}

/// The job's fingerprint for the dataset at `path`: what must match for
/// two processes (or a rerun) to work on the same dataset.
pub fn fingerprint(p: &Prepared, path: &Path) -> Value {
    let mut vars = Map::new();
    for o in p.outputs.iter().filter(|o| o.path == path) {
        vars.insert(
            o.name.clone(),
            json!({
                "attribute": o.attribute,
                "parameters": o.kernel.resolved(),
                "chunks": o.chunks,
                "dtype": o.dtype.v3_name(),
                "scale": o.scale,
                "compression": format!("{:?}", o.compression).to_lowercase(),
            }),
        );
    }
    let input = std::fs::canonicalize(&p.input.path).unwrap_or_else(|_| p.input.path.clone());
    json!({
        "input": input.display().to_string(),
        "variable": p.input.variable,
        "nulls": nulls_json(p),
        "shape": p.input.shape,
        "boundary": p.spec.boundary.to_json(),
        "format": p.outputs.iter().find(|o| o.path == path).map(|o| o.format.number()),
        "variables": vars,
    })
}

/// The distinct output dataset paths, in first-mention order.
pub fn dataset_paths(p: &Prepared) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = Vec::new();
    for o in &p.outputs {
        if !v.contains(&o.path) {
            v.push(o.path.clone());
        }
    }
    v
}

/// Number of chunks of an output.
pub fn chunk_total(p: &Prepared, o: &Resolved) -> usize {
    (0..3)
        .map(|a| p.input.shape[a].div_ceil(o.chunks[a]) as usize)
        .product()
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
    }
}

/// A sink that writes only some chunks (the damaged ones, when repairing).
struct Only<'a> {
    inner: &'a OutputVariable,
    chunks: std::collections::HashSet<[u64; 3]>,
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

pub fn run(job_path: &Path, opts: &RunOptions) -> Result<()> {
    // from the start, so that a signal during setup also stops cleanly
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        // a second signal ends the process at once
        let _ = signal_hook::flag::register_conditional_shutdown(sig, 130, stop.clone());
        let _ = signal_hook::flag::register(sig, stop.clone());
    }
    let env = shard::process_env;
    let shard = resolve_shard(opts)?;
    let (default_workers, workers_from) = shard::default_workers(&env);
    let mut p = prepare(job_path, opts.workers, default_workers)?;
    if p.spec.dead_traces == job::DeadTraces::Missing {
        let dead = p
            .input
            .mark_dead_traces_missing(p.workers)
            .map_err(|e| anyhow!("{}: input: {e:#}", job_path.display()))?;
        if !opts.quiet {
            crate::noteln!(
                "attr: {dead} dead trace(s) (only zeros) taken as missing (dead_traces: missing)"
            );
        }
    }
    let estimate = p.plan.memory_estimate(
        p.workers,
        p.cache_bytes,
        &p.outputs
            .iter()
            .map(|o| o.kernel.working_copies())
            .collect::<Vec<_>>(),
    );
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
    let resume = opts.resume || shard::requeued(&env);
    let paths = dataset_paths(&p);
    let in_mb = p.input.bytes() as f64 / 1e6;
    let say = |msg: String| {
        if !opts.quiet {
            crate::noteln!("attr: {msg}");
        }
    };
    say(format!(
        "{} {:?} {} ({:.1} MB), {} output(s), {} task(s), {} worker(s) (from {}), boundary {}",
        p.input.path.display(),
        &p.input.shape[3 - p.input.ndim..],
        p.input.dtype.v3_name(),
        in_mb,
        p.outputs.len(),
        p.plan.tasks.len(),
        p.workers,
        workers_from,
        p.spec.boundary.describe()
    ));
    let range = match &shard {
        Some(s) => crate::shard::task_range(p.plan.tasks.len(), s.index, s.count),
        None => 0..p.plan.tasks.len(),
    };
    if let Some(s) = &shard {
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
    if opts.dry_run {
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
        return Ok(());
    }
    // find or create every dataset
    let identity = Identity::of(&p.input.path, p.input.variable.as_deref());
    // per repaired dataset, per variable: the chunks to rewrite
    type Chunks = std::collections::HashSet<[u64; 3]>;
    let mut repairs: std::collections::HashMap<PathBuf, std::collections::HashMap<String, Chunks>> =
        Default::default();
    let mut datasets: Vec<Option<OutputDataset>> = Vec::new();
    for path in &paths {
        let format = p
            .outputs
            .iter()
            .find(|o| &o.path == path)
            .expect("path of an output")
            .format;
        let mut attrs: Map<String, Value> = p.input.group_attributes.clone();
        if p.input.variable.is_none() {
            attrs.extend(carried_attributes(&p.input.array_attributes));
        }
        let specs: Vec<VariableSpec> = p
            .outputs
            .iter()
            .filter(|o| &o.path == path)
            .map(|o| variable_spec(&p, o))
            .collect();
        let fp = fingerprint(&p, path);
        let exclusive = shard.is_none();
        match OutputDataset::open_or_create(
            path,
            format,
            &p.input,
            &attrs,
            &specs,
            &fp,
            &identity,
            opts.overwrite,
            exclusive,
        )? {
            Opened::Complete => {
                // a published output is checked: its chunk files by size
                // (cheap), or by checksum when asked to repair
                let full = opts.repair || resume;
                let mut bad = std::collections::HashMap::new();
                for o in p.outputs.iter().filter(|o| &o.path == path) {
                    let (_, b) = crate::status::damaged_chunks(path, &o.name, full)?;
                    if !b.is_empty() {
                        bad.insert(o.name.clone(), b);
                    }
                }
                if bad.is_empty() {
                    say(format!("{} is already complete", path.display()));
                    datasets.push(None);
                } else if full {
                    let n: usize = bad.values().map(Vec::len).sum();
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
                    let (n, first) = (
                        bad.values().map(Vec::len).sum::<usize>(),
                        bad.values()
                            .next()
                            .and_then(|v| v.first())
                            .map(|b| b.1.clone()),
                    );
                    bail!(
                        "'{}' is complete, but {n} chunk(s) are damaged or missing ({}): rerun with --repair",
                        path.display(),
                        first.unwrap_or_default()
                    );
                }
            }
            Opened::Created(d) => datasets.push(Some(d)),
            Opened::Joined(d) => {
                say(format!("continuing in {}", d.staging.display()));
                datasets.push(Some(d));
            }
        }
    }
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
    let mut vars: Vec<Option<OutputVariable>> = Vec::new();
    for o in &p.outputs {
        vars.push(match &datasets[dataset_of(o)] {
            Some(d) => Some(d.variable(&variable_spec(&p, o), &p.input)?),
            None => None,
        });
    }
    // tasks of this shard, less those already done when resuming, and
    // only those with damaged chunks in a repaired dataset
    let mut selected: Vec<usize> = range.clone().collect();
    let bad_of = |o: &Resolved| repairs.get(&o.path).map(|m| m.get(&o.name));
    if resume || !repairs.is_empty() {
        let done: Vec<Option<std::collections::HashSet<[u64; 3]>>> = p
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
    }
    let repair_sinks: Vec<Option<Only>> = p
        .outputs
        .iter()
        .zip(&vars)
        .map(|(o, v)| match (bad_of(o), v) {
            (Some(bad), Some(v)) => Some(Only {
                inner: v,
                chunks: bad.cloned().unwrap_or_default(),
            }),
            _ => None,
        })
        .collect();
    let targets: Vec<Target> = p
        .outputs
        .iter()
        .zip(&vars)
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
    let progress = Progress::new(total_chunks, "attr run", opts.quiet);
    let options = engine::Options {
        workers: p.workers,
        cache_bytes: p.cache_bytes,
    };
    // leases stay fresh while the engine works; the renewer wakes at once
    // when the work ends (its channel closes)
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let staged_datasets = &datasets;
    let result = std::thread::scope(|scope| {
        scope.spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                done_rx.recv_timeout(crate::store::owner::RENEW)
            {
                staged_datasets
                    .iter()
                    .flatten()
                    .for_each(OutputDataset::renew);
            }
        });
        let r = engine::run(
            &p.plan, &selected, &p.input, &targets, &options, &progress, &stop,
        );
        drop(done_tx);
        r
    });
    progress.finish();
    let staged: Vec<String> = datasets
        .iter()
        .flatten()
        .map(|d| d.staging.display().to_string())
        .collect();
    let stats = match result {
        Ok(s) => s,
        Err(e) => {
            if let Some(s) = e.downcast_ref::<crate::store::Superseded>() {
                bail!("{s}");
            }
            // the same job finished by another process: its result is ours
            if paths.iter().zip(&datasets).all(|(path, d)| {
                d.as_ref().is_none_or(|d| {
                    !d.staging.exists() && crate::store::published_by(path, &fingerprint(&p, path))
                })
            }) {
                say("another process of the same job published the output(s)".into());
                return Ok(());
            }
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
            return Err(e.context(format!("run failed; {how}")));
        }
    };
    // a result that is all null or all zero is almost always a mistake
    if selected.len() == p.plan.tasks.len() {
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
    // publish each dataset whose every chunk is recorded
    let mut pending = Vec::new();
    for (path, d) in paths.iter().zip(&datasets) {
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
            total += chunk_total(&p, o);
        }
        // (without records, a whole single-process run is complete by construction)
        if done == total || (crate::store::atomic::unsafe_in_place() && shard.is_none()) {
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
    if !opts.quiet {
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
        for p in &pending {
            crate::noteln!("attr: this share is done; waiting for other shards to finish {p}");
        }
    }
    Ok(())
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

/// An output may never be its input, lie inside it or contain it: writing
/// (or `--overwrite` replacing) it would destroy the input. Compared as
/// resolved paths, symlinks included; a path that does not exist yet is
/// resolved through its nearest existing ancestor.
fn refuse_aliasing(input: &Path, output: &Path) -> Result<()> {
    let resolve = |p: &Path| -> PathBuf {
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
    };
    let (i, o) = (resolve(input), resolve(output));
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
