//! Map jobs (`maps:`): the input or an attribute at horizons, and its
//! statistics over windows about them, as (inline, crossline) maps. A task
//! is a tile of the map (one of the input's chunk columns); it gathers only
//! the samples its windows need, with the kernel's halo, so only the input
//! chunks the windows touch are decoded, and no volume is written.

use super::{JobKind, Output, Settings};
use crate::batch::memory_budget::Budget;
use crate::engine::cache::ChunkCache;
use crate::engine::work::{self, Seen, Work};
use crate::engine::{self, gather, ChunkSink, Stats};
use crate::io::survey_grid::SurveyGrid;
use crate::job::{Interpolation, JobSpec, MapSpec, Statistic};
use crate::maps::window_stats::{self, Axis};
use crate::progress::Progress;
use crate::store::{read_whole, Compression, Dtype, Format, Input, Layout, Location, VariableSpec};
use anyhow::{anyhow, bail, Context, Result};
use attributes::{Halo, Kernel};
use ndarray::{s, Array3, ArrayD, IxDyn};
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// One map of the job, resolved against the survey.
struct Resolved {
    kernel: Option<Box<dyn Kernel>>,
    /// Per trace: the horizon, and the window's top and base (positions
    /// on the sample axis); NaN where there is none.
    horizon: Vec<f64>,
    top: Vec<f64>,
    base: Vec<f64>,
    statistics: Vec<Statistic>,
    interpolation: Interpolation,
    /// Readings per sample interval for window statistics, and how.
    refine: u32,
    reading: window_stats::Reading,
    /// For `samples`: the positions read about the horizon, window top to
    /// base at the sample interval.
    relative: Vec<f64>,
    /// Its first output (one per statistic, in order).
    first_output: usize,
    /// Its spec and its horizons' checksums, for the fingerprint.
    identity: Value,
}

/// The volume a task of a map gathers: `start..end` per axis (volume
/// coordinates, past the faces where the boundary pads), and within it the
/// samples the map reads.
#[derive(Clone, Debug)]
struct Block {
    start: [i64; 3],
    end: [i64; 3],
    core: [std::ops::Range<u64>; 3],
}

pub struct MapJob {
    job_path: PathBuf,
    spec: JobSpec,
    input: Input,
    axis: Axis,
    maps: Vec<Resolved>,
    outputs: Vec<Output>,
    /// The map's chunk (inline, crossline) and how many along each axis.
    tile: [u64; 2],
    tiles: [u64; 2],
    /// Per task, per map: the block it gathers (none: nothing to read).
    blocks: Vec<Vec<Option<Block>>>,
    layout: Layout,
    workers: usize,
    workers_from: String,
    budget: Budget,
    cache_bytes: u64,
}

impl MapJob {
    pub fn resolve(job_path: &Path, spec: JobSpec, s: &Settings) -> Result<MapJob> {
        let at = spec.locate(&spec.input)?;
        let mut input = Input::open(&at, spec.variable.as_deref()).context("input")?;
        input.set_null_value(spec.null_value);
        input.set_strict(s.strict_input || spec.strict_input);
        input.check_strict()?;
        let grid = SurveyGrid::of(&input).context("input")?;
        let axis = sample_axis(&grid)?;
        let (setup, _) =
            crate::job::geometry::setup(spec.sample_interval, spec.geometry.as_ref(), &input)?;
        let mut maps = Vec::new();
        let mut outputs = Vec::new();
        let (ni, nx) = (input.shape[0], input.shape[1]);
        let tile = [input.chunks[0].min(ni), input.chunks[1].min(nx)];
        let tiles = [ni.div_ceil(tile[0]), nx.div_ceil(tile[1])];
        for (i, m) in spec.maps.iter().enumerate() {
            let field = format!("maps[{i}]");
            let r = resolve_map(&spec, m, &grid, &axis, &setup, outputs.len())
                .with_context(|| field.clone())?;
            let location = spec
                .locate(&m.path)
                .with_context(|| format!("{field}.path"))?;
            for st in &r.statistics {
                outputs.push(Output {
                    location: location.clone(),
                    format: Format::V3,
                    spec: variable_spec(&input, m, *st, &r, &grid),
                    total: (tiles[0] * tiles[1]) as usize,
                    field: format!("{field}.path"),
                });
            }
            maps.push(r);
        }
        for (i, r) in maps.iter().enumerate() {
            let at = outputs[r.first_output].location.path();
            let volume = r.statistics == [Statistic::Samples];
            let shared = outputs.iter().enumerate().any(|(o, out)| {
                out.location.path() == at
                    && !(r.first_output..r.first_output + r.statistics.len()).contains(&o)
            });
            if volume && shared {
                bail!("maps[{i}].path: a `samples` volume needs a dataset of its own, not one shared with other maps");
            }
        }
        let mut names = std::collections::HashSet::new();
        for o in &outputs {
            if !names.insert((o.location.path().to_path_buf(), o.spec.name.clone())) {
                bail!(
                    "two maps write variable '{}' into '{}': give one a different `name:`",
                    o.spec.name,
                    o.location
                );
            }
        }
        let (workers, workers_from) = s.workers_for(spec.workers);
        let budget = Budget::resolve(s.memory_mb, spec.memory_mb);
        let cache_bytes = spec
            .cache_mb
            .map_or(budget.bytes / 4, |mb| mb << 20)
            .max(16 << 20);
        let layout = map_layout(&input)?;
        let mut job = MapJob {
            job_path: job_path.to_path_buf(),
            spec,
            input,
            axis,
            maps,
            outputs,
            tile,
            tiles,
            blocks: Vec::new(),
            layout,
            workers,
            workers_from,
            budget,
            cache_bytes,
        };
        job.blocks = (0..job.task_count())
            .map(|t| (0..job.maps.len()).map(|m| job.block(t, m)).collect())
            .collect();
        job.workers = job.workers.min(job.task_count().max(1));
        Ok(job)
    }

    /// The traces of task `t`: inline and crossline index ranges.
    fn traces(&self, t: usize) -> [std::ops::Range<u64>; 2] {
        let (ti, tj) = (t as u64 / self.tiles[1], t as u64 % self.tiles[1]);
        let (ni, nx) = (self.input.shape[0], self.input.shape[1]);
        [
            ti * self.tile[0]..((ti + 1) * self.tile[0]).min(ni),
            tj * self.tile[1]..((tj + 1) * self.tile[1]).min(nx),
        ]
    }

    /// What task `t` gathers for map `m`: its traces' windows (a few
    /// samples more for interpolation), widened by the kernel's halo.
    fn block(&self, t: usize, m: usize) -> Option<Block> {
        let map = &self.maps[m];
        let [ri, rj] = self.traces(t);
        let nx = self.input.shape[1];
        let len = self.axis.len as i64;
        let (mut lo, mut hi) = (i64::MAX, i64::MIN);
        for i in ri.clone() {
            for j in rj.clone() {
                let c = (i * nx + j) as usize;
                let (top, base) = (map.top[c], map.base[c]);
                if top.is_nan() || base.is_nan() || !self.live(c) {
                    continue;
                }
                lo = lo.min(self.axis.index(top).floor() as i64 - 2);
                hi = hi.max(self.axis.index(base).ceil() as i64 + 2);
            }
        }
        let (lo, hi) = (lo.max(0), (hi + 1).min(len));
        if lo >= hi {
            return None;
        }
        let core = [ri, rj, lo as u64..hi as u64];
        let halo = map
            .kernel
            .as_ref()
            .map_or([Halo::Depth(0); 3], |k| k.halo());
        let shape = self.input.shape;
        let boundary = self.spec.boundary;
        let mut start = [0i64; 3];
        let mut end = [0i64; 3];
        for a in 0..3 {
            (start[a], end[a]) = match halo[a] {
                Halo::Full => (0, shape[a] as i64),
                Halo::Depth(d) => boundary.widen(
                    core[a].start as i64,
                    core[a].end as i64,
                    d as i64,
                    shape[a] as i64,
                ),
            };
        }
        Some(Block { start, end, core })
    }

    fn live(&self, trace: usize) -> bool {
        self.input.live_traces.as_ref().is_none_or(|l| l[trace])
    }

    /// The input chunks block `b` reads, as linear indices.
    fn chunks_of(&self, b: &Block, out: &mut Vec<u64>) {
        let (shape, chunks) = (self.input.shape, self.input.chunks);
        let grid = [0, 1, 2].map(|a| shape[a].div_ceil(chunks[a]));
        let per_axis = [0, 1, 2].map(|a| {
            let mut v: Vec<u64> = (b.start[a]..b.end[a])
                .filter_map(|g| self.spec.boundary.source(g, shape[a]))
                .map(|s| s / chunks[a])
                .collect();
            v.sort_unstable();
            v.dedup();
            v
        });
        for &a in &per_axis[0] {
            for &c in &per_axis[1] {
                for &k in &per_axis[2] {
                    out.push((a * grid[1] + c) * grid[2] + k);
                }
            }
        }
    }

    /// Compute task `t`: every map's chunk of it, written to its sinks.
    fn run_task(
        &self,
        t: usize,
        cache: &ChunkCache,
        sinks: &[&dyn ChunkSink],
        seen: &Seen,
    ) -> Result<(u64, u64)> {
        let [ri, rj] = self.traces(t);
        let (ti, tj) = (t as u64 / self.tiles[1], t as u64 % self.tiles[1]);
        let (n0, n1) = ((ri.end - ri.start) as usize, (rj.end - rj.start) as usize);
        let nx = self.input.shape[1] as usize;
        let (mut chunks, mut bytes) = (0, 0);
        for (m, map) in self.maps.iter().enumerate() {
            let volume = map.statistics == [Statistic::Samples];
            let mut out: Vec<Array3<f32>> = map
                .statistics
                .iter()
                .map(|_| match volume {
                    true => Array3::from_elem((n0, n1, map.relative.len()), f32::NAN),
                    false => Array3::from_elem((1, n0, n1), f32::NAN),
                })
                .collect();
            if let Some(b) = &self.blocks[t][m] {
                let (block, read) = gather::gather(
                    cache,
                    self.input.shape,
                    self.input.chunks,
                    b.start,
                    b.end,
                    self.spec.boundary,
                )?;
                let core = [0, 1, 2].map(|a| {
                    let s = (b.core[a].start as i64 - b.start[a]) as usize;
                    s..s + (b.core[a].end - b.core[a].start) as usize
                });
                // the input itself is read in place, not copied
                let values: ndarray::CowArray<f32, ndarray::Ix3> = match &map.kernel {
                    Some(k) => engine::compute_core(k.as_ref(), &block, core).into(),
                    None => block
                        .slice(s![core[0].clone(), core[1].clone(), core[2].clone()])
                        .into(),
                };
                for idx in read {
                    cache.release(idx);
                }
                let k0 = b.core[2].start as usize;
                let part = Axis {
                    first: self.axis.first + k0 as f64 * self.axis.step,
                    step: self.axis.step,
                    len: (b.core[2].end - b.core[2].start) as usize,
                };
                for (a, i) in ri.clone().enumerate() {
                    for (c, j) in rj.clone().enumerate() {
                        let cell = i as usize * nx + j as usize;
                        if !self.live(cell) {
                            continue;
                        }
                        let trace = values.slice(s![a, c, ..]);
                        let trace = trace.as_slice().expect("a standard-layout block");
                        self.trace_values(map, trace, &part, k0, cell, &mut out, [a, c]);
                    }
                }
            }
            for (s, o) in out.iter().enumerate() {
                let idx = if volume { [ti, tj, 0] } else { [0, ti, tj] };
                seen.note(map.first_output + s, o.view());
                sinks[map.first_output + s].write_chunk(idx, o.view())?;
                chunks += 1;
                bytes += (o.len() * 4) as u64;
            }
        }
        Ok((chunks, bytes))
    }

    /// What map `map` takes from trace `cell` (its samples `trace` on
    /// `part`, which starts at sample `k0` of the axis): its statistics, or
    /// its samples about the horizon, into cell `at` of `out`.
    #[allow(clippy::too_many_arguments)]
    fn trace_values(
        &self,
        map: &Resolved,
        trace: &[f32],
        part: &Axis,
        k0: usize,
        cell: usize,
        out: &mut [Array3<f32>],
        [a, c]: [usize; 2],
    ) {
        let window = self.axis.window(map.top[cell], map.base[cell]);
        if map.statistics == [Statistic::Samples] {
            // the samples about the horizon, where the window lies in the data
            if window.is_some() {
                for (k, off) in map.relative.iter().enumerate() {
                    out[0][[a, c, k]] = window_stats::value_at(
                        trace,
                        part,
                        map.horizon[cell] + off,
                        map.interpolation,
                    );
                }
            }
            return;
        }
        // the window's samples, and its readings where it is refined: once
        // for every statistic of the map
        let samples = match &window {
            Some(w) => window_stats::samples(trace, part, w.start - k0..w.end - k0),
            None => Vec::new(),
        };
        let mut readings = Vec::new();
        if window.is_some() && map.refine > 1 {
            map.reading.points(
                trace,
                part,
                (map.top[cell], map.base[cell]),
                map.interpolation,
                &mut readings,
            );
        }
        for (o, &st) in out.iter_mut().zip(&map.statistics) {
            o[[0, a, c]] = match (st, &window) {
                (Statistic::Value, _) => {
                    window_stats::value_at(trace, part, map.horizon[cell], map.interpolation)
                }
                (_, None) => f32::NAN,
                _ if map.refine > 1 && !window_stats::of_samples_only(st) => {
                    window_stats::of_points(&readings, st)
                }
                _ => window_stats::of_points(&samples, st),
            };
        }
    }
}

/// The survey's sample axis, which must be regular.
fn sample_axis(grid: &SurveyGrid) -> Result<Axis> {
    let v = &grid.samples;
    let step = if v.len() > 1 { v[1] - v[0] } else { 1.0 };
    if step.is_nan()
        || step <= 0.0
        || v.windows(2)
            .any(|w| ((w[1] - w[0]) - step).abs() > 1e-6 * step.abs().max(1.0))
    {
        bail!(
            "input: its {} axis is not regularly sampled: maps need a regular axis",
            grid.sample_name
        );
    }
    Ok(Axis {
        first: v.first().copied().unwrap_or(0.0),
        step,
        len: v.len(),
    })
}

/// A map of the job against the survey: its horizons on the traces, its
/// windows, its kernel.
fn resolve_map(
    spec: &JobSpec,
    m: &MapSpec,
    grid: &SurveyGrid,
    axis: &Axis,
    setup: &attributes::Setup,
    first_output: usize,
) -> Result<Resolved> {
    let load = |p: &Path, field: &str| -> Result<Vec<f64>> {
        use crate::maps::horizon_on_survey::load;
        use crate::store::split_variable;
        let (p, variable) = split_variable(p);
        let at = spec.locate(&p).with_context(|| field.to_string())?;
        load(&at, variable.as_deref(), grid).with_context(|| field.to_string())
    };
    let horizon = load(&m.horizon, "horizon")?;
    let statistics = statistics_of(m)?;
    if !(1..=100).contains(&m.refine) {
        bail!(
            "refine: {} is not a number of readings per sample interval from 1 to 100",
            m.refine
        );
    }
    let (top, base) = match (&m.window, &m.base) {
        (Some(_), Some(_)) => bail!("give `window` or `base`, not both"),
        (Some([a, b]), None) => {
            if b < a {
                bail!("window [{a}, {b}] has negative length: the first value is above the second");
            }
            (
                horizon.iter().map(|h| h + a).collect(),
                horizon.iter().map(|h| h + b).collect(),
            )
        }
        (None, Some(b)) => {
            let lower = load(&b.horizon, "base.horizon")?;
            let base: Vec<f64> = lower.iter().map(|z| z + b.offset).collect();
            let defined = horizon
                .iter()
                .zip(&base)
                .filter(|(t, b)| !t.is_nan() && !b.is_nan());
            let (n, above) = defined.fold((0, 0), |(n, a), (t, b)| (n + 1, a + usize::from(b < t)));
            if n > 0 && above == n {
                bail!("base: the base lies above the horizon everywhere ({n} traces): swap them, or check the offset");
            }
            if above > 0 {
                crate::noteln!("attr: maps: the base lies above the horizon on {above} of {n} traces: those cells are null");
            }
            let base = horizon
                .iter()
                .zip(base)
                .map(|(t, b)| if b < *t { f64::NAN } else { b })
                .collect();
            (horizon.clone(), base)
        }
        (None, None) => (horizon.clone(), horizon.clone()),
    };
    let kernel = match &m.attribute {
        None => None,
        Some(name) => {
            let a = attributes::lookup(name).map_err(|e| anyhow!("attribute: {e}"))?;
            Some(
                a.build(&m.params, setup)
                    .map_err(|e| anyhow!("params: {e}"))?,
            )
        }
    };
    let _ = axis;
    let sum =
        |v: &[f64]| crc32c::crc32c(&v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>());
    let identity = json!({
        "horizon": m.horizon.display().to_string(),
        "horizon_crc32c": sum(&horizon),
        "window": m.window,
        "base": m.base.as_ref().map(|b| json!({"horizon": b.horizon.display().to_string(), "offset": b.offset, "crc32c": sum(&base)})),
        "attribute": m.attribute,
        "params": kernel.as_ref().map(|k| k.resolved()),
        "statistics": statistics.iter().map(|s| s.name()).collect::<Vec<_>>(),
        "interpolation": format!("{:?}", m.interpolation).to_lowercase(),
        "refine": m.refine,
    });
    let relative = match (statistics[..] == [Statistic::Samples], m.window) {
        (true, Some([a, b])) => {
            let n = ((b - a) / axis.step + 1e-9).floor() as usize + 1;
            (0..n).map(|k| a + k as f64 * axis.step).collect()
        }
        _ => Vec::new(),
    };
    Ok(Resolved {
        kernel,
        horizon,
        top,
        base,
        statistics,
        interpolation: m.interpolation,
        refine: m.refine,
        reading: window_stats::Reading::new(m.refine, m.interpolation),
        relative,
        first_output,
        identity,
    })
}

/// The statistics a map names (`value` by default), each one checked
/// against its window.
fn statistics_of(m: &MapSpec) -> Result<Vec<Statistic>> {
    if m.statistics.contains(&Statistic::Samples) && (m.statistics.len() > 1 || m.window.is_none())
    {
        bail!("statistics: `samples` is a volume about the horizon: give it a map of its own with a `window:` (not `base:`)");
    }
    Ok(
        match (&m.statistics[..], m.window.is_some() || m.base.is_some()) {
            ([], false) => vec![Statistic::Value],
            ([], true) => {
                bail!("statistics: name what to map over the window (mean, rms, max, ...)")
            }
            (s, windowed) => {
                if !windowed {
                    if let Some(st) = s.iter().find(|s| **s != Statistic::Value) {
                        bail!(
                        "statistics: {} needs a window: give `window: [above, below]` or `base:`",
                        st.name()
                    );
                    }
                }
                s.to_vec()
            }
        },
    )
}

/// The variable of statistic `st` of map `m`.
fn variable_spec(
    input: &Input,
    m: &MapSpec,
    st: Statistic,
    r: &Resolved,
    grid: &SurveyGrid,
) -> VariableSpec {
    let count = r.statistics.len();
    let what = m
        .attribute
        .clone()
        .unwrap_or_else(|| input.variable.clone().unwrap_or_else(|| "amplitude".into()));
    let base = m.name.clone().unwrap_or_else(|| what.clone());
    let name = if count == 1 {
        base
    } else {
        format!("{base}_{}", st.name())
    };
    let mut attributes = Map::new();
    let place = match (&m.window, &m.base) {
        (Some([a, b]), _) => format!(
            " in [{a}, {b}] {} about {}",
            grid.sample_unit,
            m.horizon.display()
        ),
        (_, Some(b)) => format!(" from {} to {}", m.horizon.display(), b.horizon.display()),
        _ => format!(" at {}", m.horizon.display()),
    };
    attributes.insert(
        "long_name".into(),
        json!(format!("{} of {what}{place}", st.name())),
    );
    let units = match st {
        Statistic::ZOfMax | Statistic::ZOfMin => Some(grid.sample_unit.clone()),
        Statistic::Count => Some("1".into()),
        _ => m
            .attribute
            .as_ref()
            .and_then(|a| attributes::lookup(a).ok())
            .map(|a| a.unit().to_string()),
    };
    if let Some(u) = units.filter(|u| !u.is_empty()) {
        attributes.insert(
            "units".into(),
            json!(crate::store::cf_units::cf_units(&u, None).0),
        );
    }
    VariableSpec {
        name,
        dtype: Dtype::Float32,
        scale: None,
        chunks: match st {
            // a volume about the horizon: the map's tiles, its samples whole
            Statistic::Samples => [
                input.chunks[0].min(input.shape[0]),
                input.chunks[1].min(input.shape[1]),
                r.relative.len() as u64,
            ],
            _ => [
                1,
                input.chunks[0].min(input.shape[0]),
                input.chunks[1].min(input.shape[1]),
            ],
        },
        inner: None,
        compression: Compression::Zstd,
        attributes,
        fill: None,
    }
}

/// The grid of the maps: the survey's lateral axes, its trace mask and
/// its cdp_x/cdp_y.
fn map_layout(input: &Input) -> Result<Layout> {
    let (ni, nx) = (input.shape[0], input.shape[1]);
    let dims = vec![input.dims[0].clone(), input.dims[1].clone()];
    let coords = input
        .coords
        .iter()
        .filter(|c| dims.contains(&c.name))
        .cloned()
        .collect();
    let mut extras = Vec::new();
    for name in ["cdp_x", "cdp_y"] {
        if let Some((shape, v)) = read_whole(&input.location, name)? {
            if shape == [ni, nx] {
                extras.push((
                    name.to_string(),
                    ArrayD::from_shape_vec(IxDyn(&[ni as usize, nx as usize]), v)?,
                ));
            }
        }
    }
    Ok(Layout {
        shape: [1, ni, nx],
        ndim: 2,
        dims,
        coords,
        live_traces: input.live_traces.clone(),
        extras,
    })
}

impl JobKind for MapJob {
    fn job_path(&self) -> &Path {
        &self.job_path
    }

    fn grid(&self) -> &Input {
        &self.input
    }

    fn layout(&self, path: &Path) -> Layout {
        match self.volume_in(path) {
            None => self.layout.clone(),
            Some(m) => {
                // (inline, crossline, relative sample), with the map's extras
                let relative = &self.maps[m].relative;
                let (ni, nx) = (self.input.shape[0], self.input.shape[1]);
                let name = format!("relative_{}", self.input.dims[2]);
                let mut attributes = Map::new();
                if let Some(u) = self
                    .input
                    .coords
                    .iter()
                    .find(|c| c.name == self.input.dims[2])
                    .and_then(|c| c.attributes.get("units"))
                {
                    attributes.insert("units".into(), u.clone());
                }
                attributes.insert(
                    "long_name".into(),
                    json!("position about the horizon (negative above)"),
                );
                let mut coords = self.layout.coords.clone();
                coords.push(crate::store::Coordinate {
                    name: name.clone(),
                    dtype: Dtype::Float64,
                    values: relative.clone(),
                    attributes,
                });
                let mut dims = self.layout.dims.clone();
                dims.push(name);
                Layout {
                    shape: [ni, nx, relative.len() as u64],
                    ndim: 3,
                    dims,
                    coords,
                    live_traces: self.input.live_traces.clone(),
                    extras: self.layout.extras.clone(),
                }
            }
        }
    }

    fn reads(&self) -> Vec<Location> {
        let mut v = vec![self.input.location.clone()];
        let locate = |p: &Path| {
            let (p, _) = crate::store::split_variable(p);
            self.spec.locate(&p).ok()
        };
        for m in &self.spec.maps {
            v.extend(locate(&m.horizon));
            if let Some(b) = &m.base {
                v.extend(locate(&b.horizon));
            }
        }
        v
    }

    fn outputs(&self) -> &[Output] {
        &self.outputs
    }

    fn fingerprint(&self, path: &Path) -> Value {
        let maps: Vec<&Value> = self
            .maps
            .iter()
            .zip(&self.spec.maps)
            .filter(|(_, m)| self.spec.locate(&m.path).is_ok_and(|l| l.path() == path))
            .map(|(r, _)| &r.identity)
            .collect();
        let input =
            std::fs::canonicalize(&self.input.path).unwrap_or_else(|_| self.input.path.clone());
        json!({
            "kind": "maps",
            "input": input.display().to_string(),
            "variable": self.input.variable,
            "shape": self.input.shape,
            "boundary": self.spec.boundary.describe(),
            "maps": maps,
            "variables": self.outputs.iter().filter(|o| o.location.path() == path).map(|o| (o.spec.name.clone(), json!(o.spec.chunks))).collect::<Map<String, Value>>(),
            "version": env!("CARGO_PKG_VERSION"),
        })
    }

    fn task_count(&self) -> usize {
        (self.tiles[0] * self.tiles[1]) as usize
    }

    fn task_chunks(&self, task: usize) -> Vec<(usize, [u64; 3])> {
        let (ti, tj) = (task as u64 / self.tiles[1], task as u64 % self.tiles[1]);
        (0..self.outputs.len())
            .map(|o| match self.is_volume(o) {
                true => (o, [ti, tj, 0]),
                false => (o, [0, ti, tj]),
            })
            .collect()
    }

    fn estimate(&self) -> u64 {
        let chunk_bytes = self.input.chunks.iter().product::<u64>() * 4;
        let mut per_worker = 0u64;
        for task in &self.blocks {
            for (m, b) in task.iter().enumerate() {
                let Some(b) = b else { continue };
                let block: u64 = (0..3)
                    .map(|a| (b.end[a] - b.start[a]) as u64)
                    .product::<u64>()
                    * 4;
                // the gathered block, and the kernel's copies and result
                let copies = self.maps[m]
                    .kernel
                    .as_ref()
                    .map_or(0.0, |k| k.working_copies() + 1.0) as f64
                    + 1.0;
                per_worker = per_worker.max((block as f64 * copies) as u64);
            }
        }
        // per trace: each map's horizon and window (24 bytes); the survey's
        // coordinates, read to place the horizons and carried by the maps
        // (about 56 bytes, measured on 512 x 512 and 256 x 256 surveys)
        let traces = self.input.shape[0] * self.input.shape[1];
        let state = traces * (24 * self.maps.len() as u64 + 56);
        let (front, most) = self.front_chunks();
        let front =
            ((front + most * (self.workers as u64 - 1)) * chunk_bytes).min(self.cache_bytes);
        per_worker * self.workers as u64 + front + state + crate::engine::work_plan::PROCESS_BYTES
    }

    fn budget(&self) -> &Budget {
        &self.budget
    }

    fn describe(&self) -> String {
        format!(
            "{} {:?}: {} map(s) on horizons, {} task(s) of {:?} traces, {} worker(s) (from {}), boundary {}",
            self.input.path.display(),
            self.input.shape,
            self.outputs.len(),
            self.task_count(),
            self.tile,
            self.workers,
            self.workers_from,
            self.spec.boundary.describe()
        )
    }

    fn dry_run(&self) {
        for o in &self.outputs {
            crate::outln!(
                "  {} -> {}/{}",
                o.spec.attributes["long_name"].as_str().unwrap_or(""),
                o.location,
                o.spec.name
            );
        }
    }

    fn prepare(&mut self, _quiet: bool, _stop: &AtomicBool) -> Result<()> {
        Ok(())
    }

    fn dataset_attributes(&self, path: &Path) -> Map<String, Value> {
        let mut a = Map::new();
        a.insert(
            "source".into(),
            json!(self.input.path.display().to_string()),
        );
        a.insert("maps".into(), self.fingerprint(path)["maps"].clone());
        a.insert("attr_version".into(), json!(env!("CARGO_PKG_VERSION")));
        a
    }

    fn compute(
        &self,
        selected: &[usize],
        sinks: &[&dyn ChunkSink],
        quiet: bool,
        stop: &AtomicBool,
    ) -> Result<Stats> {
        let started = Instant::now();
        let tiles = self.tiles_of(selected, sinks);
        let progress = Progress::new(tiles.chunk_count(), "attr run", quiet);
        let pass = work::run(
            &[&tiles],
            &work::alone(&tiles),
            &self.input,
            self.cache_bytes,
            self.workers,
            &progress,
            stop,
        );
        progress.finish();
        Ok(pass?.stats(selected.len(), started, tiles.seen.flags()))
    }

    fn finished(&self, stats: &Stats) {
        self.warn_empty(&stats.seen);
    }

    fn plan(&self, _shards: Option<usize>, _graph: Option<&Path>) -> Result<()> {
        let total = (0..3)
            .map(|a| self.input.shape[a].div_ceil(self.input.chunks[a]))
            .product::<u64>();
        crate::outln!(
            "input     {} {:?}, {} chunks",
            self.input.path.display(),
            self.input.shape,
            total
        );
        self.plan_maps();
        crate::outln!(
            "memory    about {:.1} MB peak with {} worker(s); budget {:.1} MB ({})",
            self.estimate() as f64 / 1e6,
            self.workers,
            self.budget.bytes as f64 / 1e6,
            self.budget.from
        );
        Ok(())
    }
}

impl MapJob {
    /// `attr plan`'s lines on the maps: what each is, its tasks and reads.
    pub fn plan_maps(&self) {
        let total = (0..3)
            .map(|a| self.input.shape[a].div_ceil(self.input.chunks[a]))
            .product::<u64>();
        for o in &self.outputs {
            crate::outln!(
                "map       {}/{}: {}",
                o.location,
                o.spec.name,
                o.spec.attributes["long_name"].as_str().unwrap_or("")
            );
        }
        crate::outln!("tasks     {} of {:?} traces", self.task_count(), self.tile);
        crate::outln!(
            "reads     {} of {total} input chunks: those the windows touch",
            self.touched_chunks()
        );
    }
}

/// The tiles of a map job as a [`Work`]: each reads its windows' chunks
/// and writes every map's chunk of it.
pub struct MapTiles<'a> {
    job: &'a MapJob,
    selected: Vec<usize>,
    sinks: &'a [&'a dyn ChunkSink],
    pub seen: Seen,
}

impl MapTiles<'_> {
    /// The chunks the tiles write, for the progress.
    pub fn chunk_count(&self) -> u64 {
        (self.selected.len() * self.job.outputs.len()) as u64
    }

    /// The most input chunks one tile reads.
    pub fn most_reads(&self) -> usize {
        let mut reads = Vec::new();
        (0..self.len())
            .map(|n| {
                reads.clear();
                self.reads(n, &mut reads);
                reads.len()
            })
            .max()
            .unwrap_or(0)
    }
}

impl Work for MapTiles<'_> {
    fn len(&self) -> usize {
        self.selected.len()
    }
    fn reads(&self, n: usize, out: &mut Vec<[u64; 3]>) {
        let (shape, chunks) = (self.job.input.shape, self.job.input.chunks);
        let grid = [0, 1, 2].map(|a| shape[a].div_ceil(chunks[a]));
        // each map's block reads (and releases) its chunks: a chunk two
        // maps of the tile read counts twice
        let mut linear = Vec::new();
        for b in self.job.blocks[self.selected[n]].iter().flatten() {
            self.job.chunks_of(b, &mut linear);
        }
        out.extend(linear.iter().map(|&l| {
            [
                l / (grid[1] * grid[2]),
                (l / grid[2]) % grid[1],
                l % grid[2],
            ]
        }));
    }
    fn run(&self, n: usize, cache: &ChunkCache) -> Result<(u64, u64)> {
        self.job
            .run_task(self.selected[n], cache, self.sinks, &self.seen)
    }
}

impl MapJob {
    /// Tasks `selected` as a [`Work`], writing output `i` to `sinks[i]`.
    pub fn tiles_of<'a>(
        &'a self,
        selected: &[usize],
        sinks: &'a [&'a dyn ChunkSink],
    ) -> MapTiles<'a> {
        MapTiles {
            job: self,
            selected: selected.to_vec(),
            sinks,
            seen: Seen::new(self.outputs.len()),
        }
    }

    /// The traces that are live (those a volume job of the same pass
    /// took as missing are missing here too).
    pub fn set_live_traces(&mut self, live: Option<std::sync::Arc<Vec<bool>>>) {
        self.input.live_traces = live;
    }

    /// Warn of maps that are null, or zero, everywhere.
    pub fn warn_empty(&self, seen: &[(bool, bool)]) {
        for (o, &(finite, nonzero)) in self.outputs.iter().zip(seen) {
            let what = o.spec.attributes["long_name"].as_str().unwrap_or("");
            if !finite {
                crate::noteln!(
                    "attr: warning: map {} ({what}) is null everywhere: do the horizon and its window lie in the data?",
                    o.spec.name
                );
            } else if !nonzero {
                crate::noteln!(
                    "attr: warning: map {} ({what}) is 0 everywhere",
                    o.spec.name
                );
            }
        }
    }

    /// The map whose `samples` volume is written to the dataset at `path`.
    fn volume_in(&self, path: &Path) -> Option<usize> {
        self.maps.iter().position(|m| {
            m.statistics == [Statistic::Samples]
                && self.outputs[m.first_output].location.path() == path
        })
    }

    /// Whether output `o` is a volume about a horizon.
    fn is_volume(&self, o: usize) -> bool {
        self.maps
            .iter()
            .any(|m| m.first_output == o && m.statistics == [Statistic::Samples])
    }

    /// The most input chunks held at once with the tasks run in order
    /// (each from its first reader to its last), and the most one task
    /// reads.
    fn front_chunks(&self) -> (u64, u64) {
        let mut span: std::collections::HashMap<u64, (usize, usize)> = Default::default();
        let (mut reads, mut most) = (Vec::new(), 0);
        for (n, task) in self.blocks.iter().enumerate() {
            reads.clear();
            for b in task.iter().flatten() {
                self.chunks_of(b, &mut reads);
            }
            reads.sort_unstable();
            reads.dedup();
            most = most.max(reads.len() as u64);
            for &c in &reads {
                span.entry(c).or_insert((n, n)).1 = n;
            }
        }
        (work::most_held(span.into_values(), self.blocks.len()), most)
    }

    /// The distinct input chunks every task's windows touch.
    fn touched_chunks(&self) -> u64 {
        let mut all = Vec::new();
        for b in self.blocks.iter().flatten().flatten() {
            self.chunks_of(b, &mut all);
        }
        all.sort_unstable();
        all.dedup();
        all.len() as u64
    }
}
