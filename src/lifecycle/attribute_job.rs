//! Attribute jobs (`outputs:`): kernels from the registry over the input
//! volume, through the block engine, one variable per output.

use super::{JobKind, Output, Settings};
use crate::batch::memory_budget::Budget;
use crate::engine::{self, ChunkSink, ChunkSource, Stats, Target};
use crate::job::{chunk_total, fingerprint, prepare, provenance, JobSpec, Prepared, Resolved};
use crate::progress::Progress;
use crate::store::{Input, Location, VariableSpec};
use anyhow::{bail, Context, Result};
use ndarray::Array3;
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

pub struct AttributeJob {
    job_path: PathBuf,
    p: Prepared,
    outputs: Vec<Output>,
    workers_from: String,
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

impl AttributeJob {
    pub fn resolve(job_path: &Path, spec: JobSpec, s: &Settings) -> Result<AttributeJob> {
        let (workers, workers_from) = s.workers_for(spec.workers);
        let mut p = prepare(spec, workers, s.memory_mb, s.force)?;
        p.input.set_strict(s.strict_input || p.spec.strict_input);
        p.input.check_strict()?;
        if p.input.entirely_null() {
            bail!(
                "input '{}' holds no live sample (every trace is missing or null): nothing to compute, nothing was written",
                p.input.path.display()
            );
        }
        let outputs = p
            .outputs
            .iter()
            .enumerate()
            .map(|(i, o)| Output {
                location: o.location.clone(),
                format: o.format,
                spec: variable_spec(&p, o),
                total: chunk_total(&p, o),
                field: format!("outputs[{i}].path"),
            })
            .collect();
        Ok(AttributeJob {
            job_path: job_path.to_path_buf(),
            p,
            outputs,
            workers_from,
        })
    }
}

impl AttributeJob {
    /// Output `i` to `sinks[i]`, with its kernel.
    pub fn targets<'a>(&'a self, sinks: &[&'a dyn ChunkSink]) -> Vec<Target<'a>> {
        self.p
            .outputs
            .iter()
            .zip(sinks)
            .map(|(o, &sink)| Target {
                kernel: o.kernel.as_ref(),
                sink,
            })
            .collect()
    }

    /// The chunks tasks `selected` write, for the progress.
    pub fn chunk_count(&self, selected: &[usize]) -> u64 {
        let plan = &self.p.plan;
        selected
            .iter()
            .map(|&i| {
                let t = plan.task(i);
                t.chunk_count() * plan.groups[t.group].outputs.len() as u64
            })
            .sum()
    }

    pub fn work_plan(&self) -> &engine::work_plan::Plan {
        &self.p.plan
    }

    /// The workers and the chunk cache of its runs.
    pub fn resources(&self) -> (usize, u64) {
        (self.p.workers, self.p.cache_bytes)
    }

    /// Warn of outputs that are null, or zero, everywhere.
    pub fn warn_empty(&self, seen: &[(bool, bool)]) {
        for (o, &(finite, nonzero)) in self.p.outputs.iter().zip(seen) {
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
}

impl JobKind for AttributeJob {
    fn job_path(&self) -> &Path {
        &self.job_path
    }

    fn grid(&self) -> &Input {
        &self.p.input
    }

    fn reads(&self) -> Vec<Location> {
        vec![self.p.input.location.clone()]
    }

    fn outputs(&self) -> &[Output] {
        &self.outputs
    }

    fn fingerprint(&self, path: &Path) -> Value {
        fingerprint(&self.p, path)
    }

    fn task_count(&self) -> usize {
        self.p.plan.task_count()
    }

    fn task_chunks(&self, task: usize) -> Vec<(usize, [u64; 3])> {
        let t = self.p.plan.task(task);
        self.p.plan.groups[t.group]
            .outputs
            .iter()
            .flat_map(|&o| t.chunks().map(move |c| (o, c)))
            .collect()
    }

    fn estimate(&self) -> u64 {
        self.p
            .plan
            .memory_estimate(self.p.workers, self.p.cache_bytes)
    }

    fn budget(&self) -> &Budget {
        &self.p.budget
    }

    fn describe(&self) -> String {
        let (p, input) = (&self.p, &self.p.input);
        format!(
            "{} {:?} {} ({:.1} MB), {} output(s), {} task(s), {} worker(s) (from {}), boundary {}",
            input.path.display(),
            &input.shape[3 - input.ndim..],
            input.dtype.v3_name(),
            input.bytes() as f64 / 1e6,
            p.outputs.len(),
            p.plan.task_count(),
            p.workers,
            self.workers_from,
            p.spec.boundary.describe()
        )
    }

    fn dry_run(&self) {
        for o in &self.p.outputs {
            let nd = self.p.input.ndim;
            let unit = match o.inner {
                None => format!("chunks {:?}", &o.chunks[3 - nd..]),
                Some(inner) => format!(
                    "shards {:?} of chunks {:?}",
                    &o.chunks[3 - nd..],
                    &inner[3 - nd..]
                ),
            };
            crate::outln!(
                "  {} -> {}/{} {unit} halo {:?}",
                o.attribute,
                o.location,
                o.name,
                o.kernel.halo().map(|h| h.describe())
            );
        }
    }

    fn prepare(&mut self, quiet: bool, _stop: &AtomicBool) -> Result<()> {
        if let Some(note) = crate::job::geometry_note(&self.p).filter(|_| !quiet) {
            crate::noteln!("{note}");
        }
        if self.p.spec.dead_traces == crate::job::DeadTraces::Missing {
            let dead = self
                .p
                .input
                .mark_dead_traces_missing(self.p.workers)
                .context("input")?;
            if !quiet {
                crate::noteln!(
                    "attr: {dead} dead trace(s) (only zeros) taken as missing (dead_traces: missing)"
                );
            }
        }
        Ok(())
    }

    fn dataset_attributes(&self, _path: &Path) -> Map<String, Value> {
        let input = &self.p.input;
        let mut attrs = input.group_attributes.clone();
        if input.variable.is_none() {
            attrs.extend(carried_attributes(&input.array_attributes));
        }
        attrs
    }

    fn compute(
        &self,
        selected: &[usize],
        sinks: &[&dyn ChunkSink],
        quiet: bool,
        stop: &AtomicBool,
    ) -> Result<Stats> {
        let p = &self.p;
        let targets = self.targets(sinks);
        let progress = Progress::new(self.chunk_count(selected), "attr run", quiet);
        let options = engine::RunOptions {
            workers: p.workers,
            cache_bytes: p.cache_bytes,
        };
        let r = engine::run(
            &p.plan, selected, &p.input, &targets, &options, &progress, stop,
        );
        progress.finish();
        r
    }

    /// A result that is all null or all zero is almost always a mistake.
    fn finished(&self, stats: &Stats) {
        self.warn_empty(&stats.seen);
    }

    fn plan(&self, shards: Option<usize>, graph: Option<&Path>) -> Result<()> {
        crate::lifecycle::plan_report::print(&self.p, shards, graph)
    }
}

fn variable_spec(p: &Prepared, o: &Resolved) -> VariableSpec {
    let mut attributes = carried_attributes(&p.input.array_attributes);
    attributes.insert("long_name".into(), json!(o.attribute));
    // CF's units; the words `attr list` uses stay in the provenance
    let input_units = p
        .input
        .array_attributes
        .get("units")
        .and_then(|u| u.as_str());
    let (units, valid) = crate::store::cf_units::cf_units(&o.unit, input_units);
    attributes.insert("units".into(), json!(units));
    if let Some([lo, hi]) = valid {
        attributes.insert("valid_min".into(), json!(lo));
        attributes.insert("valid_max".into(), json!(hi));
    }
    attributes.insert("provenance".into(), provenance(p, o));
    if let Some(sc) = o.scale {
        attributes.insert("scale_factor".into(), json!(1.0 / sc));
    }
    VariableSpec {
        name: o.name.clone(),
        dtype: o.dtype,
        scale: o.scale,
        chunks: o.chunks,
        inner: o.inner,
        compression: o.compression,
        attributes,
        fill: None,
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
