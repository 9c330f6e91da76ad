//! `classify:` jobs: k-means facies of feature volumes on one grid.
//!
//! Two passes over the chunks. The first draws the training sample: every
//! live sample (all features finite, trace present) gets a key from its
//! position and the seed, and the samples with the smallest keys are kept,
//! so the sample is the same whatever the chunking or the number of
//! workers, in memory bounded by the sample size. The scaler and k-means
//! are fitted on it. The second pass labels every sample with its nearest
//! centre, the distance to it, and a match 1 − d1/d2 from the two nearest.

mod kmeans;

pub use kmeans::ScalerKind;

use crate::engine::work_plan::{OutputNeeds, Plan};
use crate::engine::{ChunkSink, Target};
use crate::job::{ClassifySpec, Feature, Init, JobSpec, SampleSize};
use crate::progress::Progress;
use crate::store::{Input, Location};
use anyhow::{bail, Context, Result};
use kmeans::{kmeans_plus_plus, lloyd, nearest_two, Scaler};
use ndarray::{Array3, ArrayView3};
use rayon::prelude::*;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

/// A fitted model: what the output records and another job can reuse.
pub struct Model {
    pub features: Vec<String>,
    pub scaler: Scaler,
    pub scaler_kind: String,
    /// k × f, scaled units.
    pub centres: Vec<f64>,
}

/// Where a feature's values come from.
enum Source {
    /// A variable stored on the grid.
    Stored(Box<Input>),
    /// An attribute of the input volume, computed block by block.
    Computed(Box<dyn attributes::Kernel>),
}

/// The features, by name, on one grid.
pub struct Features {
    pub names: Vec<String>,
    sources: Vec<Source>,
    /// The grid: the input volume when features are computed from it,
    /// else the first stored feature.
    grid: Input,
    boundary: crate::engine::boundary::Boundary,
    workers: usize,
    /// The engine's plan for the computed features over the output chunks,
    /// tiled to the memory budget, and its decoded-chunk cache.
    engine: Option<(Plan, u64)>,
}

impl Features {
    pub fn shape(&self) -> [u64; 3] {
        self.grid.shape
    }

    pub fn first(&self) -> &Input {
        &self.grid
    }

    /// Refuse chunks missing from the stores read (`strict_input`).
    pub fn set_strict(&mut self, strict: bool) -> Result<()> {
        self.grid.set_strict(strict);
        self.grid.check_strict()?;
        for s in &mut self.sources {
            if let Source::Stored(i) = s {
                i.set_strict(strict);
                i.check_strict()?;
            }
        }
        Ok(())
    }

    /// Every store the features are read from.
    pub fn reads(&self) -> Vec<Location> {
        let mut v = vec![self.grid.location.clone()];
        for s in &self.sources {
            if let Source::Stored(i) = s {
                v.push(i.location.clone());
            }
        }
        v
    }

    /// Plan the computed features' blocks over output `chunks` within
    /// `budget` bytes: the engine's cache and its workers' share.
    pub fn plan_engine(&mut self, chunks: [u64; 3], budget: u64) {
        if self.computed() == 0 {
            return;
        }
        let needs: Vec<OutputNeeds> = self
            .sources
            .iter()
            .filter_map(|s| match s {
                Source::Computed(k) => Some(OutputNeeds {
                    chunks,
                    halo: k.halo(),
                    copies: k.working_copies(),
                }),
                Source::Stored(_) => None,
            })
            .collect();
        let mut plan = Plan::new(self.grid.shape, self.grid.chunks, self.boundary, &needs);
        let cache = plan.cache_front(self.workers).min(budget / 2).max(64 << 20);
        let worker_bytes = budget.saturating_sub(cache + crate::engine::work_plan::PROCESS_BYTES)
            / self.workers.max(1) as u64;
        plan.fit_tiles(worker_bytes);
        self.engine = Some((plan, cache));
    }

    /// Peak memory of a pass over output `chunks`: the engine's, and each
    /// worker's chunk of every feature (computed ones copied once more off
    /// the engine) with the three results and an encoded chunk, or
    /// `drawn_bytes` of samples drawn from it.
    pub fn memory_estimate(&self, chunks: [u64; 3], drawn_bytes: u64) -> u64 {
        let elems = chunks.iter().product::<u64>();
        let features = 4 * (self.names.len() + self.computed()) as u64 * elems;
        let per_chunk = features + (12 + 4) * elems.max(drawn_bytes / 16);
        let engine = self.engine.as_ref().map_or(0, |(plan, cache)| {
            plan.memory_estimate(self.workers, *cache)
        });
        engine.max(crate::engine::work_plan::PROCESS_BYTES) + per_chunk * self.workers as u64
    }

    pub fn computed(&self) -> usize {
        self.sources
            .iter()
            .filter(|s| matches!(s, Source::Computed(_)))
            .count()
    }

    /// `dead_traces: missing`: traces of only zeros, in any volume read,
    /// are missing there (one read of each). Returns those of the grid.
    pub fn mark_dead_traces(&mut self, workers: usize) -> Result<usize> {
        for s in &mut self.sources {
            if let Source::Stored(v) = s {
                v.mark_dead_traces_missing(workers)?;
            }
        }
        self.grid.mark_dead_traces_missing(workers)
    }

    /// Where each feature comes from, in words (provenance).
    pub fn describe(&self) -> Vec<String> {
        self.names
            .iter()
            .zip(&self.sources)
            .map(|(n, s)| match s {
                Source::Stored(v) => format!("{}/{n}", v.path.display()),
                Source::Computed(k) => format!(
                    "{n} of {} computed with {}",
                    self.grid.path.display(),
                    k.resolved()
                ),
            })
            .collect()
    }

    /// Bytes read per pass.
    pub fn bytes(&self) -> u64 {
        let stored: u64 = self
            .sources
            .iter()
            .map(|s| match s {
                Source::Stored(v) => v.bytes(),
                Source::Computed(_) => 0,
            })
            .sum();
        stored
            + if self.computed() > 0 {
                self.grid.bytes()
            } else {
                0
            }
    }

    /// Call `f` with every feature over each output chunk (`wanted`, or
    /// all), in parallel. Stored features are read; computed ones come from
    /// the engine, which gathers each block with its halo once for all of
    /// them. Stops between chunks when `stop` is set.
    fn for_each_chunk<F>(
        &self,
        chunks: [u64; 3],
        wanted: Option<&HashSet<[u64; 3]>>,
        progress: &Progress,
        stop: &AtomicBool,
        f: F,
    ) -> Result<()>
    where
        F: Fn([u64; 3], [u64; 3], [u64; 3], Vec<Array3<f32>>) -> Result<()> + Sync,
    {
        let shape = self.shape();
        let region = |idx: [u64; 3]| {
            let start = [0, 1, 2].map(|a| idx[a] * chunks[a]);
            let end = [0, 1, 2].map(|a| (start[a] + chunks[a]).min(shape[a]));
            (start, end)
        };
        let read = |start, end, computed: &mut dyn Iterator<Item = Array3<f32>>| {
            self.sources
                .iter()
                .map(|s| match s {
                    Source::Stored(v) => v.read_region(start, end),
                    Source::Computed(_) => Ok(computed.next().expect("one per computed feature")),
                })
                .collect::<Result<Vec<_>>>()
        };
        let Some((plan, cache_bytes)) = &self.engine else {
            let all: Vec<[u64; 3]> = tasks(shape, chunks)
                .into_iter()
                .map(|t| t.0)
                .filter(|i| wanted.is_none_or(|w| w.contains(i)))
                .collect();
            let written = AtomicU64::new(0);
            return all.par_iter().try_for_each(|&idx| {
                if stop.load(Ordering::Relaxed) {
                    return Err(crate::engine::Interrupted {
                        chunks_written: written.load(Ordering::Relaxed),
                    }
                    .into());
                }
                let (start, end) = region(idx);
                let data = read(start, end, &mut std::iter::empty())?;
                let n: u64 = (0..3).map(|a| end[a] - start[a]).product();
                progress.advance(n, n * 4 * data.len() as u64);
                f(idx, start, end, data)?;
                written.fetch_add(1, Ordering::Relaxed);
                Ok(())
            });
        };
        let kernels: Vec<&dyn attributes::Kernel> = self
            .sources
            .iter()
            .filter_map(|s| match s {
                Source::Computed(k) => Some(k.as_ref()),
                Source::Stored(_) => None,
            })
            .collect();
        let selected: Vec<usize> = (0..plan.task_count())
            .filter(|&i| wanted.is_none_or(|w| plan.task(i).chunks().any(|c| w.contains(&c))))
            .collect();
        let on_chunk = |idx: [u64; 3], computed: Vec<Array3<f32>>| -> Result<()> {
            if wanted.is_some_and(|w| !w.contains(&idx)) {
                return Ok(());
            }
            let (start, end) = region(idx);
            let data = read(start, end, &mut computed.into_iter())?;
            let n: u64 = (0..3).map(|a| end[a] - start[a]).product();
            progress.advance(n, n * 4 * data.len() as u64);
            f(idx, start, end, data)
        };
        let collector = Collector {
            pending: Mutex::new(HashMap::new()),
            slots: kernels.len(),
            done: &on_chunk,
        };
        let sinks: Vec<Slot> = (0..kernels.len())
            .map(|slot| Slot {
                collector: &collector,
                slot,
            })
            .collect();
        let targets: Vec<Target> = kernels
            .iter()
            .zip(&sinks)
            .map(|(k, s)| Target {
                kernel: *k,
                sink: s as &dyn ChunkSink,
            })
            .collect();
        let options = crate::engine::RunOptions {
            workers: self.workers,
            cache_bytes: *cache_bytes,
        };
        // the engine counts chunks; the caller's progress counts samples
        let silent = Progress::new(0, "", true);
        crate::engine::run(
            plan, &selected, &self.grid, &targets, &options, &silent, stop,
        )?;
        Ok(())
    }
}

/// Computed features of chunks still waiting for the others.
type Pending = HashMap<[u64; 3], Vec<Option<Array3<f32>>>>;

/// Gathers the computed features of an output chunk from the engine's
/// sinks, and hands the chunk on when all are there.
struct Collector<'a> {
    pending: Mutex<Pending>,
    slots: usize,
    done: &'a (dyn Fn([u64; 3], Vec<Array3<f32>>) -> Result<()> + Sync),
}

/// One computed feature's sink.
struct Slot<'a> {
    collector: &'a Collector<'a>,
    slot: usize,
}

impl ChunkSink for Slot<'_> {
    fn write_chunk(&self, idx: [u64; 3], data: ArrayView3<f32>) -> Result<()> {
        let c = self.collector;
        let ready = {
            let mut p = c.pending.lock().expect("pending chunks");
            let e = p.entry(idx).or_insert_with(|| vec![None; c.slots]);
            e[self.slot] = Some(data.to_owned());
            if e.iter().all(Option::is_some) {
                p.remove(&idx)
            } else {
                None
            }
        };
        match ready {
            Some(v) => (c.done)(idx, v.into_iter().map(|a| a.expect("all there")).collect()),
            None => Ok(()),
        }
    }
}

/// The variables of a dataset group that could be features.
fn variables(group: &Location) -> Vec<String> {
    crate::store::array_names(group)
}

fn open_features(spec: &JobSpec, list: &[Feature], workers: usize) -> Result<Features> {
    let at = |m: String| anyhow::anyhow!("classify.features: {m}");
    let mut names: Vec<String> = Vec::new();
    let mut sources: Vec<Source> = Vec::new();
    let computing = list.iter().any(|f| matches!(f, Feature::Attribute { .. }));
    // the volume computed features come from
    let volume = if computing {
        let at = spec
            .locate(&spec.input)
            .and_then(|at| Input::open(&at, spec.variable.as_deref()));
        let mut v = at.context("input")?;
        v.set_null_value(spec.null_value);
        Some(v)
    } else {
        None
    };
    for f in list {
        let (name, source) = match f {
            Feature::Attribute { attribute, params } => {
                let v = volume.as_ref().expect("opened for computed features");
                let a = attributes::lookup(attribute).map_err(|e| at(e.to_string()))?;
                let (setup, _) =
                    crate::job::geometry::setup(spec.sample_interval, spec.geometry.as_ref(), v)?;
                let k = a
                    .build(params, &setup)
                    .map_err(|e| at(format!("{attribute}: {e}")))?;
                (attribute.clone(), Source::Computed(k))
            }
            Feature::Name(_) | Feature::Source { .. } => {
                let (path, name) = match f {
                    Feature::Source { path, variable } => (path.clone(), variable.clone()),
                    Feature::Name(n) => (spec.input.clone(), n.clone()),
                    Feature::Attribute { .. } => unreachable!("matched above"),
                };
                let path = spec.locate(&path).map_err(|e| at(format!("{e:#}")))?;
                let have = variables(&path);
                if !have.contains(&name) {
                    let known: Vec<&str> = have.iter().map(String::as_str).collect();
                    let hint = match attributes::closest(&name, &known) {
                        Some(c) => format!(" (did you mean '{c}'?)"),
                        None => format!(" (it has: {})", known.join(", ")),
                    };
                    return Err(at(format!("'{name}' is not a variable of '{path}'{hint}")));
                }
                let mut v = Input::open(&path, Some(&name))
                    .with_context(|| format!("classify.features: '{name}'"))?;
                v.set_null_value(spec.null_value);
                (name, Source::Stored(Box::new(v)))
            }
        };
        if names.contains(&name) {
            return Err(at(format!("'{name}' is named twice")));
        }
        names.push(name);
        sources.push(source);
    }
    if names.is_empty() {
        return Err(at("name at least one variable".into()));
    }
    // one grid: the computed features' volume, or the first stored one
    let grid = match volume {
        Some(v) => v,
        None => {
            let Source::Stored(v) = &sources[0] else {
                unreachable!("no computed feature")
            };
            let mut g = Input::open(&v.location, v.variable.as_deref())?;
            g.set_null_value(spec.null_value);
            g
        }
    };
    for (n, s) in names.iter().zip(&sources) {
        if let Source::Stored(v) = s {
            if v.shape != grid.shape || v.ndim != grid.ndim {
                return Err(at(format!(
                    "'{n}' is {:?} but the grid is {:?}: features must share one grid",
                    &v.shape[3 - v.ndim..],
                    &grid.shape[3 - grid.ndim..]
                )));
            }
        }
    }
    Ok(Features {
        names,
        sources,
        grid,
        boundary: spec.boundary,
        workers,
        engine: None,
    })
}

/// The model a job reuses, if any, and its features: those the job names,
/// else the model's; they must be the model's.
pub fn resolve(
    spec: &JobSpec,
    c: &ClassifySpec,
    model_at: Option<&Location>,
    workers: usize,
) -> Result<(Option<Model>, Features)> {
    let model = match model_at {
        Some(at) => Some(read_model(at)?),
        None => None,
    };
    let list: Vec<Feature> = match (&model, c.features.is_empty()) {
        (Some(m), true) => m.features.iter().cloned().map(Feature::Name).collect(),
        _ => c.features.clone(),
    };
    let feats = open_features(spec, &list, workers)?;
    if let Some(m) = &model {
        if m.features != feats.names {
            bail!(
                "classify.model: the model was fitted on features {:?}, this job gives {:?}",
                m.features,
                feats.names
            );
        }
    }
    Ok((model, feats))
}

/// The regions of a chunk grid over `shape`.
fn regions(shape: [u64; 3], chunks: [u64; 3]) -> Vec<([u64; 3], [u64; 3])> {
    let n = [0, 1, 2].map(|a| shape[a].div_ceil(chunks[a]));
    let mut v = Vec::new();
    for i in 0..n[0] {
        for j in 0..n[1] {
            for k in 0..n[2] {
                let start = [i * chunks[0], j * chunks[1], k * chunks[2]];
                let end = [0, 1, 2].map(|a| (start[a] + chunks[a]).min(shape[a]));
                v.push((start, end));
            }
        }
    }
    v
}

/// splitmix64: the key that decides whether a sample is drawn.
fn key(position: u64, seed: u64) -> u64 {
    let mut z = position ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Drawn samples: (key, position, slot) and each slot's feature values,
/// flat, so that a sample costs its values and 24 bytes.
struct Drawn {
    f: usize,
    entries: Vec<(u64, u64, usize)>,
    values: Vec<f32>,
}

impl Drawn {
    fn new(f: usize) -> Drawn {
        Drawn {
            f,
            entries: Vec::new(),
            values: Vec::new(),
        }
    }

    fn push(&mut self, key: u64, position: u64, row: &[f32]) {
        self.entries
            .push((key, position, self.values.len() / self.f));
        self.values.extend_from_slice(row);
    }

    fn append(&mut self, other: Drawn) {
        let base = self.values.len() / self.f;
        self.entries
            .extend(other.entries.into_iter().map(|(k, p, s)| (k, p, s + base)));
        self.values.extend(other.values);
    }

    /// Keep the `n` smallest keys (ties by position), in bounded memory.
    fn keep_smallest(mut self, n: usize) -> Drawn {
        if self.entries.len() > n {
            self.entries
                .select_nth_unstable_by(n, |a, b| (a.0, a.1).cmp(&(b.0, b.1)));
            self.entries.truncate(n);
            let f = self.f;
            let mut values = Vec::with_capacity(n * f);
            for e in self.entries.iter_mut() {
                values.extend_from_slice(&self.values[e.2 * f..(e.2 + 1) * f]);
                e.2 = values.len() / f - 1;
            }
            self.values = values;
        }
        self
    }

    /// The rows in position order, as f64.
    fn into_rows(mut self) -> Vec<f64> {
        self.entries.sort_unstable_by_key(|e| e.1);
        let f = self.f;
        self.entries
            .iter()
            .flat_map(|e| {
                self.values[e.2 * f..(e.2 + 1) * f]
                    .iter()
                    .map(|&v| v as f64)
            })
            .collect()
    }
}

/// The training sample, position-ordered, and the count of live samples.
pub fn draw(
    feats: &Features,
    chunks: [u64; 3],
    size: SampleSize,
    seed: u64,
    quiet: bool,
    stop: &AtomicBool,
) -> Result<(Vec<f64>, usize)> {
    let shape = feats.shape();
    let f = feats.names.len();
    let n = match size {
        SampleSize::Count(n) => n,
        SampleSize::All => usize::MAX,
    };
    let total = shape.iter().product::<u64>();
    let progress = Progress::counting(total, "classify: sample", quiet, "samples");
    let kept: Mutex<(Drawn, usize)> = Mutex::new((Drawn::new(f), 0));
    feats.for_each_chunk(chunks, None, &progress, stop, |_, start, _, data| {
        let (n0, n1, n2) = data[0].dim();
        let mut out = Drawn::new(f);
        let mut live = 0;
        let mut row = vec![0f32; f];
        for i in 0..n0 {
            for j in 0..n1 {
                for k in 0..n2 {
                    for (r, d) in row.iter_mut().zip(&data) {
                        *r = d[[i, j, k]];
                    }
                    if row.iter().any(|x| !x.is_finite()) {
                        continue;
                    }
                    live += 1;
                    let g = ((start[0] + i as u64) * shape[1] + start[1] + j as u64) * shape[2]
                        + start[2]
                        + k as u64;
                    out.push(key(g, seed), g, &row);
                    // a chunk holds at most twice the sample, however large
                    if n != usize::MAX && out.entries.len() >= 2 * n {
                        out = out.keep_smallest(n);
                    }
                }
            }
        }
        let out = out.keep_smallest(n);
        let mut all = kept.lock().expect("sample");
        all.0.append(out);
        all.1 += live;
        // bounded: never more than twice the sample
        if n != usize::MAX && all.0.entries.len() >= 2 * n {
            let v = std::mem::replace(&mut all.0, Drawn::new(f));
            all.0 = v.keep_smallest(n);
        }
        Ok(())
    })?;
    progress.finish();
    let (drawn, live) = kept.into_inner().expect("sample");
    Ok((drawn.keep_smallest(n).into_rows(), live))
}

/// Fit the scaler and k-means on the training sample.
pub fn fit(c: &ClassifySpec, names: Vec<String>, mut x: Vec<f64>) -> Result<(Model, kmeans::Fit)> {
    let f = names.len();
    let n = x.len() / f;
    let at = |msg: String| anyhow::anyhow!("classify: {msg}");
    let k = match (&c.init, c.clusters) {
        (Init::Centres(cs), Some(k)) if cs.len() != k => {
            return Err(at(format!(
                "init gives {} centres but clusters is {k}",
                cs.len()
            )))
        }
        (Init::Centres(cs), _) => cs.len(),
        (Init::KMeansPlusPlus, Some(k)) => k,
        (Init::KMeansPlusPlus, None) => {
            return Err(at("give `clusters` (the number of facies)".into()))
        }
    };
    if k < 2 {
        return Err(at(format!("clusters must be at least 2, got {k}")));
    }
    if k > n {
        return Err(at(format!(
            "{k} clusters but only {n} training samples: give fewer clusters"
        )));
    }
    if !(c.tol >= 0.0 && c.tol.is_finite()) || c.max_iter == 0 || c.n_init == 0 {
        return Err(at("tol must be ≥ 0, max_iter and n_init ≥ 1".into()));
    }
    let scaler = Scaler::fit(c.scaler, &x, f);
    for row in x.chunks_exact_mut(f) {
        scaler.apply(row);
    }
    let best = match &c.init {
        Init::Centres(cs) => {
            if let Some(bad) = cs.iter().find(|r| r.len() != f) {
                return Err(at(format!(
                    "init: each centre needs {f} values (one per feature), got {}",
                    bad.len()
                )));
            }
            let init: Vec<f64> = cs.iter().flatten().copied().collect();
            lloyd(&x, f, &init, c.max_iter, c.tol)
        }
        Init::KMeansPlusPlus => (0..c.n_init as u64)
            .map(|r| {
                let init = kmeans_plus_plus(&x, f, k, c.seed.wrapping_add(r));
                lloyd(&x, f, &init, c.max_iter, c.tol)
            })
            .reduce(|a, b| if b.inertia < a.inertia { b } else { a })
            .expect("n_init ≥ 1"),
    };
    let model = Model {
        features: names,
        scaler,
        scaler_kind: format!("{:?}", c.scaler).to_lowercase(),
        centres: best.centres.clone(),
    };
    Ok((model, best))
}

/// A model written by an earlier classification.
fn read_model(at: &Location) -> Result<Model> {
    let path = at.path();
    let context = || format!("classify.model: '{}'", path.display());
    let store = at.open_readable().with_context(context)?;
    let doc: Value = crate::store::read_json(&store, "zarr.json")
        .or_else(|| crate::store::read_json(&store, ".zattrs"))
        .ok_or_else(|| anyhow::anyhow!("no group metadata (zarr.json or .zattrs)"))
        .with_context(context)?;
    let attrs = doc.get("attributes").unwrap_or(&doc);
    let get = |k: &str| {
        attrs.get(k).ok_or_else(|| {
            anyhow::anyhow!(
                "classify.model: '{}' is not a classification (no `{k}` attribute)",
                path.display()
            )
        })
    };
    let nums = |v: &Value| -> Vec<f64> {
        v.as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default()
    };
    let features: Vec<String> = get("features")?
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let scaler = get("scaler")?;
    let centres: Vec<f64> = get("centres_scaled")?
        .as_array()
        .map(|rows| rows.iter().flat_map(nums).collect())
        .unwrap_or_default();
    Ok(Model {
        scaler: Scaler {
            centre: nums(&scaler["centre"]),
            scale: nums(&scaler["scale"]),
        },
        scaler_kind: scaler["kind"].as_str().unwrap_or("standard").to_string(),
        centres,
        features,
    })
}

/// One output chunk: its index on the grid and its region.
type Task = ([u64; 3], [u64; 3], [u64; 3]);

/// The output chunks, in grid order.
fn tasks(shape: [u64; 3], chunks: [u64; 3]) -> Vec<Task> {
    regions(shape, chunks)
        .into_iter()
        .map(|(start, end)| ([0, 1, 2].map(|a| start[a] / chunks[a]), start, end))
        .collect()
}

/// Label every sample of the chunks `wanted`: `facies` (−1 where null),
/// `distance` and `match` (NaN where null), to `sinks` in that order.
/// Returns the chunks written and the samples labelled.
pub fn predict(
    feats: &Features,
    m: &Model,
    sinks: &[&dyn ChunkSink],
    chunks: [u64; 3],
    wanted: &HashSet<[u64; 3]>,
    quiet: bool,
    stop: &AtomicBool,
) -> Result<(u64, u64)> {
    let f = m.features.len();
    let total: u64 = wanted
        .iter()
        .map(|&idx| {
            (0..3)
                .map(|a| {
                    (idx[a] * chunks[a] + chunks[a]).min(feats.shape()[a]) - idx[a] * chunks[a]
                })
                .product::<u64>()
        })
        .sum();
    let progress = Progress::counting(total, "classify", quiet, "samples");
    let written = AtomicU64::new(0);
    feats.for_each_chunk(chunks, Some(wanted), &progress, stop, |idx, _, _, data| {
        let dims = data[0].raw_dim();
        let mut lab = Array3::<f32>::from_elem(dims, -1.0);
        let mut dist = Array3::<f32>::from_elem(dims, f32::NAN);
        let mut mat = Array3::<f32>::from_elem(dims, f32::NAN);
        let mut row = vec![0.0; f];
        for ((i, j, k), _) in data[0].indexed_iter() {
            for (r, d) in row.iter_mut().zip(&data) {
                *r = d[[i, j, k]] as f64;
            }
            if row.iter().any(|v| !v.is_finite()) {
                continue;
            }
            m.scaler.apply(&mut row);
            let (c, d1, d2) = nearest_two(&row, &m.centres, f);
            lab[[i, j, k]] = c as f32;
            dist[[i, j, k]] = d1 as f32;
            mat[[i, j, k]] = if d2 > 0.0 {
                (1.0 - d1 / d2) as f32
            } else {
                0.0
            };
        }
        for (sink, a) in sinks.iter().zip([&lab, &dist, &mat]) {
            sink.write_chunk(idx, a.view())?;
        }
        written.fetch_add(3, Ordering::Relaxed);
        Ok(())
    })?;
    progress.finish();
    Ok((written.into_inner(), total))
}

/// The output chunks: the job's, else the grid's.
pub fn output_chunks(c: &ClassifySpec, grid: &Input) -> Result<[u64; 3]> {
    let nd = grid.ndim;
    Ok(match &c.chunks {
        None => grid.chunks,
        Some(v) if v.len() == nd && !v.contains(&0) => {
            let mut ch = [1u64; 3];
            ch[3 - nd..].copy_from_slice(v);
            [0, 1, 2].map(|a| ch[a].min(grid.shape[a].max(1)))
        }
        Some(v) => bail!("classify.chunks {v:?}: give {nd} positive sizes"),
    })
}

/// What can be checked of a `classify:` job before any data is read: the
/// counts, and that a model's job names no fitting setting.
pub fn check(c: &ClassifySpec) -> Result<()> {
    let at = |msg: String| anyhow::anyhow!("classify: {msg}");
    if c.model.is_some() {
        if c.clusters.is_some() || c.init != Init::KMeansPlusPlus {
            return Err(at(
                "`clusters` and `init` come from `model`: give the model or the counts, not both"
                    .into(),
            ));
        }
        return Ok(());
    }
    match (&c.init, c.clusters) {
        (Init::Centres(cs), Some(k)) if cs.len() != k => {
            return Err(at(format!(
                "init gives {} centres but clusters is {k}",
                cs.len()
            )))
        }
        (Init::KMeansPlusPlus, None) => {
            return Err(at("give `clusters` (the number of facies)".into()))
        }
        _ => {}
    }
    let k = match &c.init {
        Init::Centres(cs) => cs.len(),
        Init::KMeansPlusPlus => c.clusters.unwrap_or(0),
    };
    if k < 2 {
        return Err(at(format!("clusters must be at least 2, got {k}")));
    }
    if !(c.tol >= 0.0 && c.tol.is_finite()) {
        return Err(at(format!("tol must be a number ≥ 0, got {}", c.tol)));
    }
    if c.max_iter == 0 || c.n_init == 0 {
        return Err(at(format!(
            "max_iter and n_init must be at least 1, got {} and {}",
            c.max_iter, c.n_init
        )));
    }
    Ok(())
}
