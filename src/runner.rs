//! `attr run`: wire a job spec to the store, the planner and the engine.

use crate::engine::{self, ChunkSink, ChunkSource, Target};
use crate::job::{self, JobSpec};
use crate::plan::{OutputNeeds, Plan};
use crate::progress::Progress;
use crate::store::{
    Compression, Dtype, Format, Input, OutputDataset, OutputVariable, VariableSpec,
};
use anyhow::{anyhow, bail, Context, Result};
use attributes::{Kernel, Setup};
use ndarray::{Array3, ArrayView3};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

pub struct RunOptions {
    pub workers: Option<usize>,
    pub overwrite: bool,
    pub dry_run: bool,
    pub quiet: bool,
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

pub fn prepare(job_path: &Path, workers: Option<usize>) -> Result<Prepared> {
    let spec = job::load(job_path)?;
    let input = Input::open(&spec.input, spec.variable.as_deref())
        .map_err(|e| anyhow!("{}: input: {e:#}", job_path.display()))?;
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
        let kernel = attribute
            .build(&o.params, &setup)
            .map_err(|e| at(format!("params: {e}")))?;
        let chunks = match &o.chunks {
            None => input.chunks,
            Some(c) if c.len() == input.ndim && input.ndim == 3 => [c[0], c[1], c[2]],
            Some(c) if c.len() == input.ndim => [1, c[0], c[1]],
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
            format: match o.format {
                Some(2) => Format::V2,
                _ => Format::V3,
            },
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
    let needs: Vec<OutputNeeds> = outputs
        .iter()
        .map(|o| OutputNeeds {
            chunks: o.chunks,
            halo: o.kernel.halo(),
        })
        .collect();
    let plan = Plan::new(input.shape, input.chunks, spec.boundary, &needs);
    let workers = match workers.or(Some(spec.workers)).filter(|&w| w > 0) {
        Some(w) => w,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
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

fn provenance(p: &Prepared, o: &Resolved) -> Value {
    json!({
        "attribute": o.attribute,
        "parameters": o.kernel.resolved(),
        "boundary": p.spec.boundary.to_json(),
        "engine": format!("attr {}", env!("CARGO_PKG_VERSION")),
        "input": p.input.path.display().to_string(),
        "variable": p.input.variable,
    })
}

pub fn run(job_path: &Path, opts: &RunOptions) -> Result<()> {
    let p = prepare(job_path, opts.workers)?;
    let paths: Vec<&PathBuf> = {
        let mut v: Vec<&PathBuf> = p.outputs.iter().map(|o| &o.path).collect();
        v.dedup();
        v.sort();
        v.dedup();
        v
    };
    for path in &paths {
        OutputDataset::check_target(path, opts.overwrite)?;
    }
    let in_mb = p.input.bytes() as f64 / 1e6;
    if !opts.quiet {
        eprintln!(
            "attr: {} {:?} {} ({:.1} MB), {} output(s), {} task(s), {} worker(s), boundary {}",
            p.input.path.display(),
            &p.input.shape[3 - p.input.ndim..],
            p.input.dtype.v3_name(),
            in_mb,
            p.outputs.len(),
            p.plan.tasks.len(),
            p.workers,
            p.spec.boundary.describe()
        );
    }
    if opts.dry_run {
        println!("dry run: the job is valid; nothing was written");
        for o in &p.outputs {
            println!(
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
    // create the datasets (in staging) and their variables
    let mut datasets: Vec<OutputDataset> = Vec::new();
    let result = (|| -> Result<(engine::Stats, Vec<OutputVariable>)> {
        for path in &paths {
            let format = p
                .outputs
                .iter()
                .find(|o| &&o.path == path)
                .expect("path of an output")
                .format;
            let mut attrs: Map<String, Value> = p.input.group_attributes.clone();
            if p.input.variable.is_none() {
                attrs.extend(p.input.array_attributes.clone());
            }
            datasets.push(OutputDataset::create(path, format, &p.input, attrs)?);
        }
        let mut vars = Vec::new();
        for o in &p.outputs {
            let ds = datasets
                .iter()
                .find(|d| d.path == o.path)
                .expect("dataset of an output");
            let mut attributes = carried_attributes(&p.input.array_attributes);
            attributes.insert("long_name".into(), json!(o.attribute));
            attributes.insert("units".into(), json!(o.unit));
            attributes.insert("provenance".into(), provenance(&p, o));
            let spec = VariableSpec {
                name: o.name.clone(),
                dtype: o.dtype,
                chunks: o.chunks,
                compression: o.compression,
                attributes,
            };
            vars.push(ds.add_variable(&spec, &p.input)?);
        }
        let targets: Vec<Target> = p
            .outputs
            .iter()
            .zip(&vars)
            .map(|(o, v)| Target {
                kernel: o.kernel.as_ref(),
                sink: v,
            })
            .collect();
        let progress = Progress::new(p.plan.output_chunk_count(), "attr run", opts.quiet);
        let stop = AtomicBool::new(false);
        let options = engine::Options {
            workers: p.workers,
            cache_bytes: p.cache_bytes,
        };
        let stats = engine::run(&p.plan, &p.input, &targets, &options, &progress, &stop)?;
        progress.finish();
        Ok((stats, vars))
    })();
    let (stats, _vars) = match result {
        Ok(r) => r,
        Err(e) => {
            for d in &datasets {
                d.abandon();
            }
            return Err(e).context("run failed; no output was written");
        }
    };
    for d in &datasets {
        d.finish()?;
    }
    if !opts.quiet {
        let stored: u64 = paths.iter().map(|p| crate::store::stored_bytes(p)).sum();
        eprintln!(
            "attr: done in {:.2} s: {} chunks written ({} tasks), input {:.1} MB read at {:.0} MB/s, \
             {} decodes of {} input chunks ({:.2} per chunk), {:.1} MB computed, {:.1} MB stored, peak memory {}",
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
        );
        for path in paths {
            eprintln!("attr: wrote {}", path.display());
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
