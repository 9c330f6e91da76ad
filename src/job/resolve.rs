//! Resolving a job against its input: each output's kernel, chunks, dtype
//! and dataset, the checks that need the input's shape, the work plan, and
//! the fingerprint that tells whether two runs do the same work.

use super::spec::{JobSpec, OutputSpec};
use crate::engine::work_plan::{OutputNeeds, Plan};
use crate::store::{Compression, Dtype, Format, Input, Location};
use anyhow::{anyhow, bail, Context, Result};
use attributes::{Kernel, Setup};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// The most output chunks one job may plan (the plan holds a task each).
const MAX_TASKS: u64 = 20_000_000;

/// One output of the job, resolved against the input.
pub struct Resolved {
    pub attribute: String,
    pub name: String,
    /// The dataset it is written to.
    pub location: Location,
    pub kernel: Box<dyn Kernel>,
    /// What one task writes at a time: a chunk, or a shard of them.
    pub chunks: [u64; 3],
    /// Where `chunks` are shards: the chunks inside them.
    pub inner: Option<[u64; 3]>,
    pub dtype: Dtype,
    /// Stored value = round(value × scale), for integer dtypes.
    pub scale: Option<f64>,
    pub format: Format,
    pub compression: Compression,
    /// The unit of its values, as its parameters resolved it.
    pub unit: String,
}

/// Everything `attr run` and `attr plan` need before computing.
pub struct Prepared {
    pub spec: JobSpec,
    pub input: Input,
    pub outputs: Vec<Resolved>,
    pub plan: Plan,
    pub workers: usize,
    pub cache_bytes: u64,
    /// The memory the run may use, which the plan fits into.
    pub budget: crate::batch::memory_budget::Budget,
    /// What the attributes were told about the input.
    pub setup: Setup,
    pub geometry: super::geometry::GeometrySource,
}

/// Output `i` of the job, resolved against the input: its kernel built
/// from its parameters, its chunks, dtype, format and compression.
fn resolve_output(
    i: usize,
    o: &OutputSpec,
    input: &Input,
    setup: &Setup,
    spec: &JobSpec,
) -> Result<Resolved> {
    if let Some(text) = &o.expression {
        return resolve_expression(i, o, text, input, setup, spec);
    }
    let at = |e: String| anyhow!("outputs[{i}] ({}): {e}", o.attribute);
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
        .build(&o.params, setup)
        .map_err(|e| at(format!("params: {e}")))?;
    // a dip's units follow its parameters and the geometry (`units: auto`)
    let unit = match kernel.resolved()["units"].as_str() {
        Some("samples") => "samples/trace".to_string(),
        Some(u) => u.to_string(),
        None => attribute.unit().to_string(),
    };
    let name = o.name.as_deref().unwrap_or(attribute.name());
    resolved(i, o, input, spec, attribute.name(), name, kernel, unit)
}

/// Output `i` resolved from its kernel: its layout, dataset and the rest
/// of its spec.
#[allow(clippy::too_many_arguments)]
fn resolved(
    i: usize,
    o: &OutputSpec,
    input: &Input,
    spec: &JobSpec,
    attribute: &str,
    name: &str,
    kernel: Box<dyn Kernel>,
    unit: String,
) -> Result<Resolved> {
    let (chunks, inner, format, dtype) =
        layout(o, input).map_err(|e| anyhow!("outputs[{i}] ({attribute}): {e}"))?;
    Ok(Resolved {
        attribute: attribute.to_string(),
        name: name.to_string(),
        location: spec
            .locate(&o.path)
            .map_err(|e| anyhow!("outputs[{i}].path: {e:#}"))?,
        kernel,
        chunks,
        inner,
        dtype,
        scale: o.scale,
        format,
        compression: o.compression.unwrap_or(Compression::Zstd),
        unit,
    })
}

/// An output's write unit (a chunk, or a shard of chunks), the chunks
/// inside a shard, its format and dtype.
type Layout = ([u64; 3], Option<[u64; 3]>, Format, Dtype);

/// An output's [`Layout`]; what is wrong, in words.
fn layout(o: &OutputSpec, input: &Input) -> std::result::Result<Layout, String> {
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
            return Err(format!(
                "chunks has {} values, the input has {} dimensions",
                c.len(),
                input.ndim
            ))
        }
    };
    let format = o.format.unwrap_or(Format::V3);
    let dtype = o.dtype.unwrap_or(Dtype::Float32);
    match &o.sharding {
        None => Ok((chunks, None, format, dtype)),
        Some(_) if format == Format::V2 => {
            Err("sharding is a Zarr format 3 codec: drop `format: 2`, or drop `sharding`".into())
        }
        Some(s) => {
            let shard = s
                .shard_shape(chunks, input.shape, input.ndim, dtype.size() as u64)
                .map_err(|e| format!("sharding {e}"))?;
            Ok((shard, Some(chunks), format, dtype))
        }
    }
}

/// An `expression:` output: each name in it the input (`input` or `x`), an
/// attribute output of the job (by its name, with its parameters) or an
/// attribute of the registry (with its defaults).
fn resolve_expression(
    i: usize,
    o: &OutputSpec,
    text: &str,
    input: &Input,
    setup: &Setup,
    spec: &JobSpec,
) -> Result<Resolved> {
    let at = |e: String| anyhow!("outputs[{i}] (expression): {e}");
    let source = |name: &str| -> std::result::Result<attributes::expression::Source, String> {
        use attributes::expression::Source;
        if name == "input" || name == "x" {
            return Ok(Source::Input);
        }
        let output = spec.outputs.iter().find(|other| {
            other.expression.is_none() && other.name.as_deref().unwrap_or(&other.attribute) == name
        });
        let (attribute, params) = match output {
            Some(other) => (other.attribute.as_str(), other.params.clone()),
            None if spec
                .outputs
                .iter()
                .any(|other| other.name.as_deref() == Some(name)) =>
            {
                return Err("an expression may not name another expression".into())
            }
            None => (name, Map::new()),
        };
        let a = attributes::lookup(attribute).map_err(|_| {
            "not the input (input or x), an output of this job or an attribute (attr list)"
                .to_string()
        })?;
        a.build(&params, setup)
            .map(Source::Kernel)
            .map_err(|e| e.to_string())
    };
    let kernel = attributes::expression::kernel(text, &source).map_err(|e| at(e.to_string()))?;
    let name = o.name.as_deref().expect("checked when parsed");
    let unit = "as the expression".to_string();
    resolved(i, o, input, spec, "expression", name, kernel, unit)
}

/// What must hold of the outputs together: one format per dataset, no
/// two variables of one name, none named as an input coordinate, windows
/// no wider than the volume, a bounded plan.
fn check_outputs(input: &Input, outputs: &[Resolved], force: bool) -> Result<()> {
    // outputs sharing a dataset must agree on its format and not collide
    let mut seen: BTreeMap<&Path, (Format, Vec<&str>)> = BTreeMap::new();
    for o in outputs {
        let e = seen
            .entry(o.location.path())
            .or_insert((o.format, Vec::new()));
        if e.0 != o.format {
            bail!(
                "outputs writing '{}' ask for different formats: a dataset has one format",
                o.location.path().display()
            );
        }
        if e.1.contains(&o.name.as_str()) {
            bail!(
                "two outputs write variable '{}' into '{}': give one a different `name:`",
                o.name,
                o.location.path().display()
            );
        }
        if input.coords.iter().any(|c| c.name == o.name) {
            bail!(
                "output name '{}' is a coordinate of the input: choose another `name:`",
                o.name
            );
        }
        e.1.push(&o.name);
    }
    for (i, o) in outputs.iter().enumerate() {
        // a window wider than the volume it slides over is a mistake, and
        // its halo would make every block the size of the number given
        for (a, h) in o.kernel.halo().iter().enumerate() {
            if let attributes::Halo::Depth(d) = h {
                let n = input.shape[a];
                if *d as u64 > n {
                    bail!(
                        "outputs[{i}] ({}): its window reaches {d} samples beyond each side on axis {a}, but the volume is only {n} long there: give a smaller window",
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
    // before the plan is made, which costs time and memory per task (the
    // lifecycle checks every kind of job again, with the file system's inodes)
    crate::store::file_budget::check_count(tasks, force)?;
    if tasks > MAX_TASKS {
        bail!(
            "the job has {tasks} output chunks, more than the {MAX_TASKS} one run plans: give the outputs larger `chunks:`"
        );
    }
    Ok(())
}

/// Resolve a job against its input, with `workers` threads and the
/// memory budget `--memory` gives (or the job's, or the machine's).
pub fn prepare(
    spec: JobSpec,
    workers: usize,
    cli_memory_mb: Option<u64>,
    force: bool,
) -> Result<Prepared> {
    let at = spec
        .locate(&spec.input)
        .and_then(|at| Input::open(&at, spec.variable.as_deref()));
    let mut input = at.context("input")?;
    input.set_null_value(spec.null_value);
    let (setup, geometry_source) =
        super::geometry::setup(spec.sample_interval, spec.geometry.as_ref(), &input)?;
    let outputs = spec
        .outputs
        .iter()
        .enumerate()
        .map(|(i, o)| resolve_output(i, o, &input, &setup, &spec))
        .collect::<Result<Vec<_>>>()?;
    check_outputs(&input, &outputs, force)?;
    let needs: Vec<OutputNeeds> = outputs
        .iter()
        .map(|o| OutputNeeds {
            chunks: o.chunks,
            halo: o.kernel.halo(),
            copies: o.kernel.working_copies(),
        })
        .collect();
    let budget = crate::batch::memory_budget::Budget::resolve(cli_memory_mb, spec.memory_mb);
    let mut plan = Plan::new(input.shape, input.chunks, spec.boundary, &needs);
    // the decoded-chunk cache holds the sweep's front, so that each chunk
    // is decoded once, within half the budget unless the job sets it; the
    // workers share what the cache and the process leave, and the plan
    // tiles its tasks to fit
    let cache_bytes = match spec.cache_mb {
        Some(mb) => mb << 20,
        None => plan
            .cache_front(workers)
            .min(budget.bytes / 2)
            .max(64 << 20),
    };
    let worker_bytes = budget
        .bytes
        .saturating_sub(cache_bytes + crate::engine::work_plan::PROCESS_BYTES)
        / workers.max(1) as u64;
    plan.fit_tiles(worker_bytes);
    // more workers than tasks would only wait
    let workers = workers.min(plan.task_count().max(1));
    Ok(Prepared {
        spec,
        input,
        outputs,
        plan,
        workers,
        cache_bytes,
        budget,
        setup,
        geometry: geometry_source,
    })
}

/// Outputs that would be in physical units had the input a geometry: the
/// one line a run prints about it (`None` where nothing is lost).
pub fn geometry_note(p: &Prepared) -> Option<String> {
    use super::geometry::GeometrySource;
    if p.geometry != GeometrySource::Unknown {
        return None;
    }
    let wanting: Vec<&str> = p
        .outputs
        .iter()
        .zip(&p.spec.outputs)
        .filter(|(o, s)| {
            (matches!(o.attribute.as_str(), "inline_dip" | "crossline_dip")
                && !s.params.contains_key("units"))
                || (o.attribute == "dip_azimuth" && !s.params.contains_key("azimuth"))
        })
        .map(|(o, _)| o.name.as_str())
        .collect();
    (!wanting.is_empty()).then(|| {
        format!(
            "attr: no survey geometry (the input has no cdp_x/cdp_y, and the job no `geometry:`): {} stay in samples per trace and azimuths from the inline axis",
            wanting.join(", ")
        )
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

pub fn provenance(p: &Prepared, o: &Resolved) -> Value {
    use super::geometry::GeometrySource;
    let geometry = p.setup.geometry.map(|g| {
        json!({
            "source": if p.geometry == GeometrySource::Job { "job" } else { "cdp_x/cdp_y" },
            "inline_spacing_m": g.spacing(0),
            "inline_azimuth_deg": g.azimuth(0),
            "crossline_spacing_m": g.spacing(1),
            "crossline_azimuth_deg": g.azimuth(1),
        })
    });
    json!({
        "geometry": geometry,
        "units": o.unit,
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
    for o in p.outputs.iter().filter(|o| o.location.path() == path) {
        let mut v = json!({
                "attribute": o.attribute,
                "parameters": o.kernel.resolved(),
                "chunks": o.chunks,
                "dtype": o.dtype.v3_name(),
                "scale": o.scale,
                "compression": format!("{:?}", o.compression).to_lowercase(),
        });
        // (only where sharded: a chunked job's fingerprint is as before)
        if let Some(inner) = o.inner {
            v["inner_chunks"] = json!(inner);
        }
        vars.insert(o.name.clone(), v);
    }
    let input = std::fs::canonicalize(&p.input.path).unwrap_or_else(|_| p.input.path.clone());
    json!({
        "input": input.display().to_string(),
        "variable": p.input.variable,
        "nulls": nulls_json(p),
        "shape": p.input.shape,
        "boundary": p.spec.boundary.to_json(),
        "format": p.outputs.iter().find(|o| o.location.path() == path).map(|o| o.format.number()),
        "variables": vars,
    })
}

/// Number of chunks of an output.
pub fn chunk_total(p: &Prepared, o: &Resolved) -> usize {
    (0..3)
        .map(|a| p.input.shape[a].div_ceil(o.chunks[a]) as usize)
        .product()
}
