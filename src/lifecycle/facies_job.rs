//! Facies jobs (`classify:`): a k-means model fitted on a sample of the
//! features (or taken from an earlier result), then every chunk labelled.
//! The fit is the job's preparation; labelling is its computation.

use super::{JobKind, Output, Settings};
use crate::batch::memory_budget::Budget;
use crate::classify::{self, Features, Model};
use crate::engine::{ChunkSink, Stats};
use crate::job::{ClassifySpec, Init, JobSpec, SampleSize};
use crate::store::{Compression, Dtype, Format, Input, Location, VariableSpec};
use anyhow::{bail, Context, Result};
use serde_json::{json, Map, Value};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

pub struct FaciesJob {
    job_path: PathBuf,
    spec: JobSpec,
    feats: Features,
    /// The model the job names, if any.
    given: Option<Model>,
    /// Where it lies.
    model_at: Option<Location>,
    /// The model labels come from, once prepared, and the dataset's attributes.
    model: Option<(Model, Map<String, Value>)>,
    chunks: [u64; 3],
    grid_chunks: [u64; 3],
    outputs: Vec<Output>,
    workers: usize,
    workers_from: String,
    budget: Budget,
    pool: rayon::ThreadPool,
}

impl FaciesJob {
    pub fn resolve(job_path: &Path, spec: JobSpec, s: &Settings) -> Result<FaciesJob> {
        let c = classify_spec(&spec);
        // what needs no data is refused before any is read
        classify::check(c)?;
        let (workers, workers_from) = s.workers_for(spec.workers);
        let model_at = match &c.model {
            Some(p) => Some(
                spec.locate(p)
                    .map_err(|e| anyhow::anyhow!("classify.model: {e:#}"))?,
            ),
            None => None,
        };
        let output_at = spec
            .locate(&c.path)
            .map_err(|e| anyhow::anyhow!("classify.path: {e:#}"))?;
        let (given, mut feats) = classify::resolve(&spec, c, model_at.as_ref(), workers)?;
        feats.set_strict(s.strict_input || spec.strict_input)?;
        if let Init::Centres(cs) = &c.init {
            let f = feats.names.len();
            if let Some(bad) = cs.iter().find(|r| r.len() != f) {
                bail!(
                    "classify: init: each centre needs {f} values (one per feature), got {}",
                    bad.len()
                );
            }
        }
        let chunks = classify::output_chunks(c, feats.first())?;
        let budget = Budget::resolve(s.memory_mb, spec.memory_mb);
        feats.plan_engine(chunks, budget.bytes);
        let grid = feats.first();
        let grid_chunks = [0, 1, 2].map(|a| grid.shape[a].div_ceil(chunks[a]));
        let total = grid_chunks.iter().product::<u64>() as usize;
        let format = c.format.unwrap_or(Format::V3);
        let compression = c.compression.unwrap_or(Compression::Zstd);
        let variable = |name: &str, dtype: Dtype, fill: Option<f64>, long: &str, units: &str| {
            let mut a = Map::new();
            a.insert("long_name".into(), json!(long));
            a.insert(
                "units".into(),
                json!(crate::store::cf_units::cf_units(units, None).0),
            );
            Output {
                location: output_at.clone(),
                format,
                spec: VariableSpec {
                    name: name.into(),
                    dtype,
                    scale: None,
                    chunks,
                    inner: None,
                    compression,
                    attributes: a,
                    fill,
                },
                total,
                field: "classify.path".into(),
            }
        };
        let outputs = vec![
            variable("facies", Dtype::Int16, Some(-1.0), "facies class", "class"),
            variable(
                "distance",
                Dtype::Float32,
                None,
                "distance to the nearest centre",
                "scaled units",
            ),
            variable(
                "match",
                Dtype::Float32,
                None,
                "1 - d1/d2 to the two nearest centres",
                "ratio 0-1",
            ),
        ];
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(workers.max(1))
            .build()
            .context("cannot start the worker threads")?;
        Ok(FaciesJob {
            job_path: job_path.to_path_buf(),
            spec,
            feats,
            given,
            model_at,
            model: None,
            chunks,
            grid_chunks,
            outputs,
            workers,
            workers_from,
            budget,
            pool,
        })
    }

    fn c(&self) -> &ClassifySpec {
        classify_spec(&self.spec)
    }

    /// The training sample's size, at most the grid's samples.
    fn sample_size(&self) -> u64 {
        let samples: u64 = self.feats.shape().iter().product();
        match self.c().sample.unwrap_or_default() {
            SampleSize::Count(n) => (n as u64).min(samples),
            SampleSize::All => samples,
        }
    }

    /// Bytes the fit holds: the drawn sample while it is merged, then its
    /// rows scaled for k-means.
    fn fit_bytes(&self) -> u64 {
        if self.given.is_some() {
            return 0;
        }
        let f = self.feats.names.len() as u64;
        self.sample_size() * (2 * (24 + 4 * f) + 16 * f + 8)
    }

    /// Fit the model on a sample of the features.
    fn fit(&self, quiet: bool, stop: &AtomicBool) -> Result<(Model, Map<String, Value>)> {
        let c = self.c();
        let size = c.sample.unwrap_or_default();
        let (x, live) = classify::draw(&self.feats, self.chunks, size, c.seed, quiet, stop)?;
        if live == 0 {
            bail!(
                "classify: the features hold no live sample (every trace missing or a feature null everywhere)"
            );
        }
        let used = x.len() / self.feats.names.len();
        // a size given that the volume cannot fill
        if let Some(SampleSize::Count(n)) = c.sample {
            if n > live {
                crate::noteln!(
                    "attr: warning: sample {n} is more than the {live} live samples: fitting on all of them"
                );
            }
        }
        let (m, fit) = classify::fit(c, self.feats.names.clone(), x)?;
        if !quiet {
            crate::noteln!(
                "attr: fitted {} facies on {used} of {live} live samples: inertia {:.6}, {} iterations",
                m.centres.len() / m.features.len(),
                fit.inertia,
                fit.iterations
            );
        }
        let mut fitted = Map::new();
        fitted.insert("inertia".into(), json!(fit.inertia));
        fitted.insert("iterations".into(), json!(fit.iterations));
        fitted.insert("seed".into(), json!(c.seed));
        fitted.insert(
            "sample".into(),
            json!({"requested": match size { SampleSize::Count(n) => json!(n), SampleSize::All => json!("all") }, "used": used, "live": live}),
        );
        Ok((m, fitted))
    }

    /// The dataset's attributes: the model, how it was fitted, provenance.
    fn attributes(&self, model: &Model, fitted: Map<String, Value>) -> Map<String, Value> {
        let c = self.c();
        let f = model.features.len();
        let centres_scaled: Vec<Vec<f64>> = model.centres.chunks(f).map(|r| r.to_vec()).collect();
        let centres: Vec<Vec<f64>> = centres_scaled
            .iter()
            .map(|r| {
                let mut r = r.clone();
                model.scaler.invert(&mut r);
                r
            })
            .collect();
        let mut attrs: Map<String, Value> = self.feats.first().group_attributes.clone();
        attrs.insert("features".into(), json!(model.features));
        attrs.insert(
            "method".into(),
            json!(format!("{:?}", c.method).to_lowercase()),
        );
        attrs.insert("clusters".into(), json!(centres.len()));
        attrs.insert("centres".into(), json!(centres));
        attrs.insert("centres_scaled".into(), json!(centres_scaled));
        attrs.insert(
            "scaler".into(),
            json!({"kind": model.scaler_kind, "centre": model.scaler.centre, "scale": model.scaler.scale,
                   "fitted_on": "the training sample"}),
        );
        attrs.extend(fitted);
        attrs.insert(
            "provenance".into(),
            json!({
                "engine": format!("attr {}", env!("CARGO_PKG_VERSION")),
                "inputs": self.feats.describe(),
                "model": c.model.as_ref().map(|p| p.display().to_string()),
                "max_iter": c.max_iter, "tol": c.tol, "n_init": c.n_init,
            }),
        );
        attrs
    }

    fn chunk_of(&self, task: usize) -> [u64; 3] {
        let g = self.grid_chunks;
        let t = task as u64;
        [t / (g[1] * g[2]), (t / g[2]) % g[1], t % g[2]]
    }
}

fn classify_spec(spec: &JobSpec) -> &ClassifySpec {
    spec.classify.as_ref().expect("a classify job")
}

impl JobKind for FaciesJob {
    fn job_path(&self) -> &Path {
        &self.job_path
    }

    fn grid(&self) -> &Input {
        self.feats.first()
    }

    fn reads(&self) -> Vec<Location> {
        let mut v = self.feats.reads();
        v.extend(self.model_at.clone());
        v
    }

    fn outputs(&self) -> &[Output] {
        &self.outputs
    }

    /// What decides the model and the labels: the features and their
    /// stores, the fitting settings (the same data, settings and seed give
    /// the same model in every shard), or the model given, and the layout.
    /// Its `variables` are what `attr status` of the dataset checks.
    fn fingerprint(&self, _path: &Path) -> Value {
        let c = self.c();
        let given = self.given.as_ref().map(|m| {
            json!({"features": m.features, "centres_scaled": m.centres,
                   "scaler": {"kind": m.scaler_kind, "centre": m.scaler.centre, "scale": m.scaler.scale}})
        });
        json!({
            "classify": {
                "features": self.feats.names,
                "method": format!("{:?}", c.method).to_lowercase(),
                "model": given,
                "fit": if given.is_none() { json!({
                    "clusters": c.clusters, "scaler": format!("{:?}", c.scaler).to_lowercase(),
                    "sample": format!("{:?}", c.sample.unwrap_or_default()), "seed": c.seed,
                    "init": format!("{:?}", c.init), "max_iter": c.max_iter, "tol": c.tol,
                    "n_init": c.n_init,
                }) } else { Value::Null },
                "chunks": self.chunks,
                "compression": format!("{:?}", self.outputs[0].spec.compression).to_lowercase(),
                "format": self.outputs[0].format.number(),
            },
            "variables": self.outputs.iter().map(|o| (o.spec.name.clone(), json!({
                "dtype": o.spec.dtype.v3_name(), "chunks": o.spec.chunks,
            }))).collect::<Map<String, Value>>(),
            "inputs": self.feats.describe(),
            "nulls": {"null_value": self.spec.null_value,
                      "dead_traces": format!("{:?}", self.spec.dead_traces).to_lowercase()},
            "shape": self.feats.shape(),
        })
    }

    fn task_count(&self) -> usize {
        self.outputs[0].total
    }

    fn task_chunks(&self, task: usize) -> Vec<(usize, [u64; 3])> {
        let c = self.chunk_of(task);
        vec![(0, c), (1, c), (2, c)]
    }

    fn estimate(&self) -> u64 {
        // each worker draws at most twice the sample from its chunk
        let f = self.feats.names.len() as u64;
        let elems = self.chunks.iter().product::<u64>();
        let drawn = match self.given {
            Some(_) => 0,
            None => elems.min(2 * self.sample_size()) * (24 + 4 * f),
        };
        self.feats.memory_estimate(self.chunks, drawn) + self.fit_bytes()
    }

    fn budget(&self) -> &Budget {
        &self.budget
    }

    fn describe(&self) -> String {
        let g = self.feats.first();
        format!(
            "classify {} on {:?}: {} chunk(s) of {:?}, {} worker(s) (from {})",
            self.feats.names.join(", "),
            &g.shape[3 - g.ndim..],
            self.task_count(),
            &self.chunks[3 - g.ndim..],
            self.workers,
            self.workers_from
        )
    }

    fn dry_run(&self) {
        let c = self.c();
        match &c.model {
            Some(p) => crate::outln!("  the model of {}", p.display()),
            None => crate::outln!(
                "  fit on a sample of up to {} live samples (seed {})",
                self.sample_size(),
                c.seed
            ),
        }
        for o in &self.outputs {
            crate::outln!(
                "  {} -> {}/{} chunks {:?}",
                o.spec.name,
                o.location,
                o.spec.name,
                &o.spec.chunks[3 - self.feats.first().ndim..]
            );
        }
    }

    fn prepare(&mut self, quiet: bool, stop: &AtomicBool) -> Result<()> {
        let workers = self.workers;
        let pool = &self.pool;
        let feats = &mut self.feats;
        if self.spec.dead_traces == crate::job::DeadTraces::Missing {
            let dead = pool.install(|| feats.mark_dead_traces(workers))?;
            if !quiet {
                crate::noteln!(
                    "attr: {dead} dead trace(s) (only zeros) taken as missing (dead_traces: missing)"
                );
            }
        }
        let (model, fitted) = match self.given.take() {
            Some(m) => {
                if !quiet {
                    crate::noteln!(
                        "attr: classify with the model of {} ({} facies)",
                        self.c().model.as_ref().expect("model").display(),
                        m.centres.len() / m.features.len()
                    );
                }
                (m, Map::new())
            }
            None => self.pool.install(|| self.fit(quiet, stop))?,
        };
        let attrs = self.attributes(&model, fitted);
        self.model = Some((model, attrs));
        Ok(())
    }

    fn dataset_attributes(&self, _path: &Path) -> Map<String, Value> {
        self.model.as_ref().expect("prepared").1.clone()
    }

    fn compute(
        &self,
        selected: &[usize],
        sinks: &[&dyn ChunkSink],
        quiet: bool,
        stop: &AtomicBool,
    ) -> Result<Stats> {
        let started = Instant::now();
        let model = &self.model.as_ref().expect("prepared").0;
        let wanted: HashSet<[u64; 3]> = selected.iter().map(|&t| self.chunk_of(t)).collect();
        let (written, samples) = self.pool.install(|| {
            classify::predict(&self.feats, model, sinks, self.chunks, &wanted, quiet, stop)
        })?;
        Ok(Stats {
            tasks: selected.len() as u64,
            chunks_written: written,
            bytes_written: samples * 10,
            wall_s: started.elapsed().as_secs_f64(),
            ..Stats::default()
        })
    }

    fn plan(&self, shards: Option<usize>, _graph: Option<&Path>) -> Result<()> {
        let c = self.c();
        let first = self.feats.first();
        let shape = self.feats.shape();
        let nd = first.ndim;
        let samples: u64 = shape.iter().product();
        let read_mb = self.feats.bytes() as f64 / 1e6;
        crate::outln!(
            "features  {} on {:?} (chunks {:?})",
            self.feats.names.join(", "),
            &shape[3 - nd..],
            &first.chunks[3 - nd..]
        );
        match &c.model {
            Some(p) => crate::outln!("fit       none: the model of {}", p.display()),
            None => {
                let k = match &c.init {
                    Init::Centres(cs) => cs.len(),
                    Init::KMeansPlusPlus => c.clusters.unwrap_or(0),
                };
                crate::outln!(
                    "fit       one pass over {} chunks reading {read_mb:.1} MB: a sample of up to {} live samples (seed {}), {} scaler, {k} clusters, {} x {} Lloyd iterations at most (tol {}); about {:.1} MB in memory; every shard fits the same model",
                    first.grid().iter().product::<u64>(),
                    self.sample_size(),
                    c.seed,
                    format!("{:?}", c.scaler).to_lowercase(),
                    if c.init == Init::KMeansPlusPlus { c.n_init } else { 1 },
                    c.max_iter,
                    c.tol,
                    self.fit_bytes() as f64 / 1e6
                );
            }
        }
        let n = self.task_count();
        crate::outln!(
            "predict   {n} chunks of {:?} (a task each), reading {read_mb:.1} MB; writes facies (int16), distance and match (float32): {:.1} MB",
            &self.chunks[3 - nd..],
            samples as f64 * 10.0 / 1e6
        );
        crate::outln!(
            "memory    about {:.1} MB peak with {} workers; budget {:.1} MB ({})",
            self.estimate() as f64 / 1e6,
            self.workers,
            self.budget.bytes as f64 / 1e6,
            self.budget.from
        );
        if let Some(n_shards) = shards {
            if n_shards == 0 {
                bail!("--shards must be at least 1");
            }
            crate::outln!("shards    {n_shards}:");
            for i in 0..n_shards {
                let r = crate::batch::shards::task_range(n, i, n_shards);
                crate::outln!("  shard {i}: chunks {}..{} ({})", r.start, r.end, r.len());
            }
        }
        crate::outln!("output    {}", c.path.display());
        Ok(())
    }
}
