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

use crate::job::{ClassifySpec, Feature, Init, JobSpec, SampleSize};
use crate::progress::Progress;
use crate::store::identity::Identity;
use crate::store::{
    Compression, Dtype, Format, Input, Opened, OutputDataset, OutputVariable, VariableSpec,
};
use anyhow::{bail, Context, Result};
use kmeans::{kmeans_plus_plus, lloyd, nearest_two, Scaler};
use ndarray::Array3;
use rayon::prelude::*;
use serde_json::{json, Map, Value};
use std::path::Path;

/// A fitted model: what the output records and another job can reuse.
struct Model {
    features: Vec<String>,
    scaler: Scaler,
    scaler_kind: String,
    /// k × f, scaled units.
    centres: Vec<f64>,
}

/// The feature volumes, by name, on one grid.
struct Features {
    names: Vec<String>,
    volumes: Vec<Input>,
}

impl Features {
    fn shape(&self) -> [u64; 3] {
        self.volumes[0].shape
    }

    fn first(&self) -> &Input {
        &self.volumes[0]
    }

    /// Each feature's values over a region, NaN where null or missing.
    fn read(&self, start: [u64; 3], end: [u64; 3]) -> Result<Vec<ndarray::Array3<f32>>> {
        self.volumes
            .iter()
            .map(|v| v.read_region(start, end))
            .collect()
    }
}

/// The variables of a dataset group that could be features.
fn variables(group: &Path) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(group) else {
        return Vec::new();
    };
    let mut v: Vec<String> = dir
        .flatten()
        .filter(|e| e.path().join("zarr.json").is_file() || e.path().join(".zarray").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn open_features(job_path: &Path, spec: &JobSpec, list: &[Feature]) -> Result<Features> {
    let mut names = Vec::new();
    let mut volumes: Vec<Input> = Vec::new();
    for f in list {
        let (path, name) = match f {
            Feature::Name(n) => (spec.input.clone(), n.clone()),
            Feature::Source { path, variable } => (path.clone(), variable.clone()),
        };
        let have = variables(&path);
        if !have.contains(&name) {
            let names: Vec<&str> = have.iter().map(String::as_str).collect();
            let hint = match attributes::closest(&name, &names) {
                Some(c) => format!(" (did you mean '{c}'?)"),
                None => format!(" (it has: {})", names.join(", ")),
            };
            bail!(
                "{}: classify.features: '{name}' is not a variable of '{}'{hint}",
                job_path.display(),
                path.display()
            );
        }
        let mut v = Input::open(&path, Some(&name))
            .with_context(|| format!("{}: classify.features: '{name}'", job_path.display()))?;
        v.set_null_value(spec.null_value);
        if let Some(first) = volumes.first() {
            if v.shape != first.shape || v.ndim != first.ndim {
                bail!(
                    "{}: classify.features: '{name}' is {:?} but '{}' is {:?}: features must share one grid",
                    job_path.display(),
                    &v.shape[3 - v.ndim..],
                    names[0],
                    &first.shape[3 - first.ndim..]
                );
            }
        }
        if names.contains(&name) {
            bail!(
                "{}: classify.features: '{name}' is named twice",
                job_path.display()
            );
        }
        names.push(name);
        volumes.push(v);
    }
    if names.is_empty() {
        bail!(
            "{}: classify.features: name at least one variable",
            job_path.display()
        );
    }
    Ok(Features { names, volumes })
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

/// Drawn samples: (key, position, values).
type Drawn = Vec<(u64, u64, Vec<f64>)>;

/// Keep the `n` smallest keys (ties by position), in bounded memory.
fn keep_smallest(mut v: Drawn, n: usize) -> Drawn {
    if v.len() > n {
        v.select_nth_unstable_by(n, |a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        v.truncate(n);
    }
    v
}

/// The training sample, position-ordered, and the count of live samples.
fn draw(feats: &Features, size: SampleSize, seed: u64, quiet: bool) -> Result<(Vec<f64>, usize)> {
    let shape = feats.shape();
    let n = match size {
        SampleSize::Count(n) => n,
        SampleSize::All => usize::MAX,
    };
    let regs = regions(shape, feats.first().chunks);
    let total = shape.iter().product::<u64>();
    let progress = Progress::counting(total, "classify: sample", quiet, "samples");
    let (drawn, live) = regs
        .par_iter()
        .map(|&(start, end)| -> Result<(Drawn, usize)> {
            let data = feats.read(start, end)?;
            let (n0, n1, n2) = data[0].dim();
            let mut out = Drawn::new();
            let mut live = 0;
            for i in 0..n0 {
                for j in 0..n1 {
                    for k in 0..n2 {
                        let v: Vec<f64> = data.iter().map(|d| d[[i, j, k]] as f64).collect();
                        if v.iter().any(|x| !x.is_finite()) {
                            continue;
                        }
                        live += 1;
                        let g = ((start[0] + i as u64) * shape[1] + start[1] + j as u64) * shape[2]
                            + start[2]
                            + k as u64;
                        out.push((key(g, seed), g, v));
                        // bounded: never more than twice the sample per region
                        if n != usize::MAX && out.len() >= 2 * n {
                            out = keep_smallest(out, n);
                        }
                    }
                }
            }
            progress.advance((n0 * n1 * n2) as u64, 0);
            Ok((keep_smallest(out, n), live))
        })
        .try_reduce(
            || (Drawn::new(), 0),
            |a, b| {
                let mut v = a.0;
                v.extend(b.0);
                Ok((keep_smallest(v, n), a.1 + b.1))
            },
        )?;
    progress.finish();
    let mut drawn = drawn;
    drawn.sort_unstable_by_key(|d| d.1);
    let x: Vec<f64> = drawn.into_iter().flat_map(|d| d.2).collect();
    Ok((x, live))
}

/// Fit the scaler and k-means on the training sample.
fn fit(
    job_path: &Path,
    c: &ClassifySpec,
    names: Vec<String>,
    mut x: Vec<f64>,
) -> Result<(Model, kmeans::Fit)> {
    let f = names.len();
    let n = x.len() / f;
    let at = |msg: String| anyhow::anyhow!("{}: classify: {msg}", job_path.display());
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
fn read_model(job_path: &Path, path: &Path) -> Result<Model> {
    let text = std::fs::read_to_string(path.join("zarr.json"))
        .or_else(|_| std::fs::read_to_string(path.join(".zattrs")))
        .with_context(|| {
            format!(
                "{}: classify.model: '{}'",
                job_path.display(),
                path.display()
            )
        })?;
    let doc: Value = serde_json::from_str(&text)?;
    let attrs = doc.get("attributes").unwrap_or(&doc);
    let get = |k: &str| {
        attrs.get(k).ok_or_else(|| {
            anyhow::anyhow!(
                "{}: classify.model: '{}' is not a classification (no `{k}` attribute)",
                job_path.display(),
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

/// Label every sample of the selected chunks: `facies` (−1 where null),
/// `distance` and `match` (NaN where null), each chunk recorded when written.
fn predict(
    feats: &Features,
    m: &Model,
    vars: &[OutputVariable; 3],
    selected: &[Task],
    quiet: bool,
) -> Result<()> {
    let f = m.features.len();
    let total: u64 = selected
        .iter()
        .map(|t| (0..3).map(|a| t.2[a] - t.1[a]).product::<u64>())
        .sum();
    let progress = Progress::counting(total, "classify", quiet, "samples");
    selected
        .par_iter()
        .try_for_each(|&(idx, start, end)| -> Result<()> {
            let data = feats.read(start, end)?;
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
            for (v, a) in vars.iter().zip([&lab, &dist, &mat]) {
                v.write_chunk(idx, a.view())?;
            }
            progress.advance(lab.len() as u64, (lab.len() * 10) as u64);
            Ok(())
        })?;
    progress.finish();
    Ok(())
}

/// How this process runs the job: its share, and whether it resumes.
pub struct Run {
    pub workers: usize,
    pub overwrite: bool,
    pub quiet: bool,
    pub shard: Option<crate::shard::Shard>,
    pub resume: bool,
}

/// Run a `classify:` job.
pub fn run(job_path: &Path, spec: &JobSpec, c: &ClassifySpec, run: &Run) -> Result<()> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(run.workers.max(1))
        .build()
        .context("cannot start the worker threads")?;
    pool.install(|| classify(job_path, spec, c, run))
}

fn classify(job_path: &Path, spec: &JobSpec, c: &ClassifySpec, run: &Run) -> Result<()> {
    let quiet = run.quiet;
    let say = |msg: String| {
        if !quiet {
            crate::noteln!("attr: {msg}");
        }
    };
    let earlier = match &c.model {
        Some(p) => Some(read_model(job_path, p)?),
        None => None,
    };
    let list: Vec<Feature> = match (&earlier, c.features.is_empty()) {
        (Some(m), true) => m.features.iter().cloned().map(Feature::Name).collect(),
        _ => c.features.clone(),
    };
    let feats = open_features(job_path, spec, &list)?;
    if let Some(m) = &earlier {
        if m.features != feats.names {
            bail!(
                "{}: classify.model: the model was fitted on features {:?}, this job gives {:?}",
                job_path.display(),
                m.features,
                feats.names
            );
        }
    }
    let shape = feats.shape();
    let (model, fitted, sample_info) = match earlier {
        Some(m) => {
            say(format!(
                "classify with the model of {} ({} facies)",
                c.model.as_ref().expect("model").display(),
                m.centres.len() / m.features.len()
            ));
            (m, None, Value::Null)
        }
        None => {
            let (x, live) = draw(&feats, c.sample, c.seed, quiet)?;
            if live == 0 {
                bail!(
                    "{}: classify: the features hold no live sample (every trace missing or a feature null everywhere)",
                    job_path.display()
                );
            }
            let used = x.len() / feats.names.len();
            if let SampleSize::Count(n) = c.sample {
                if n > live {
                    crate::noteln!(
                        "attr: warning: sample {n} is more than the {live} live samples: fitting on all of them"
                    );
                }
            }
            let (m, fit) = fit(job_path, c, feats.names.clone(), x)?;
            say(format!(
                "fitted {} facies on {used} of {live} live samples: inertia {:.6}, {} iterations",
                m.centres.len() / m.features.len(),
                fit.inertia,
                fit.iterations
            ));
            (
                m,
                Some(fit),
                json!({"requested": match c.sample { SampleSize::Count(n) => json!(n), SampleSize::All => json!("all") }, "used": used, "live": live}),
            )
        }
    };
    let f = model.features.len();
    let format = c.format.unwrap_or(Format::V3);
    let compression = c.compression.unwrap_or(Compression::Zstd);
    let centres_scaled: Vec<Vec<f64>> = model.centres.chunks(f).map(|r| r.to_vec()).collect();
    let centres: Vec<Vec<f64>> = centres_scaled
        .iter()
        .map(|r| {
            let mut r = r.clone();
            model.scaler.invert(&mut r);
            r
        })
        .collect();
    let first = feats.first();
    let mut attrs: Map<String, Value> = first.group_attributes.clone();
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
    if let Some(fit) = &fitted {
        attrs.insert("inertia".into(), json!(fit.inertia));
        attrs.insert("iterations".into(), json!(fit.iterations));
        attrs.insert("seed".into(), json!(c.seed));
        attrs.insert("sample".into(), sample_info);
    }
    attrs.insert(
        "provenance".into(),
        json!({
            "engine": format!("attr {}", env!("CARGO_PKG_VERSION")),
            "inputs": feats.volumes.iter().map(|v| format!("{}/{}", v.path.display(), v.variable.clone().unwrap_or_default())).collect::<Vec<_>>(),
            "model": c.model.as_ref().map(|p| p.display().to_string()),
            "max_iter": c.max_iter, "tol": c.tol, "n_init": c.n_init,
        }),
    );
    let ndim = first.ndim;
    let chunks: [u64; 3] = match &c.chunks {
        None => first.chunks,
        Some(v) if v.len() == ndim && !v.contains(&0) => {
            let mut ch = [1u64; 3];
            ch[3 - ndim..].copy_from_slice(v);
            [0, 1, 2].map(|a| ch[a].min(shape[a].max(1)))
        }
        Some(v) => bail!(
            "{}: classify.chunks {v:?}: give {ndim} positive sizes",
            job_path.display()
        ),
    };
    let spec_of = |name: &str, dtype: Dtype, fill: Option<f64>, long: &str, units: &str| {
        let mut a = Map::new();
        a.insert("long_name".into(), json!(long));
        a.insert("units".into(), json!(units));
        VariableSpec {
            name: name.into(),
            dtype,
            scale: None,
            chunks,
            compression,
            attributes: a,
            fill,
        }
    };
    let specs = [
        spec_of("facies", Dtype::Int16, Some(-1.0), "facies class", "class"),
        spec_of(
            "distance",
            Dtype::Float32,
            None,
            "distance to the nearest centre",
            "scaled units",
        ),
        spec_of(
            "match",
            Dtype::Float32,
            None,
            "1 - d1/d2 to the two nearest centres",
            "ratio 0-1",
        ),
    ];
    // every shard fits the same model from the same data and seed: the
    // model is part of what the shards must agree on
    let fingerprint = json!({
        "classify": {"features": model.features, "centres_scaled": centres_scaled,
                     "scaler": attrs["scaler"], "chunks": chunks,
                     "compression": format!("{compression:?}").to_lowercase(), "format": format.number()},
        "inputs": attrs["provenance"]["inputs"],
        "shape": shape,
    });
    let identity = Identity::of(&first.path, first.variable.as_deref());
    let opened = OutputDataset::open_or_create(
        &c.path,
        format,
        first,
        &attrs,
        &specs,
        &fingerprint,
        &identity,
        run.overwrite,
        run.shard.is_none(),
    )?;
    let d = match opened {
        Opened::Complete => {
            say(format!("{} is already complete", c.path.display()));
            return Ok(());
        }
        Opened::Created(d) => d,
        Opened::Joined(d) => {
            say(format!("continuing in {}", d.staging.display()));
            d
        }
    };
    if let Some(s) = &run.shard {
        d.ledger.record_shards(s.count);
    }
    let vars = [
        d.variable(&specs[0], first)?,
        d.variable(&specs[1], first)?,
        d.variable(&specs[2], first)?,
    ];
    let all = tasks(shape, chunks);
    let range = match &run.shard {
        Some(s) => crate::shard::task_range(all.len(), s.index, s.count),
        None => 0..all.len(),
    };
    let mut selected: Vec<Task> = all[range].to_vec();
    if run.resume {
        let done: Vec<_> = specs.iter().map(|s| d.ledger.done(&s.name)).collect();
        let before = selected.len();
        selected.retain(|t| !done.iter().all(|set| set.contains(&t.0)));
        say(format!(
            "resuming: {} of {before} chunk(s) already done",
            before - selected.len()
        ));
    }
    // the lease stays fresh while the work goes on
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let staged = &d;
    let result = std::thread::scope(|scope| {
        scope.spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                done_rx.recv_timeout(crate::store::owner::RENEW)
            {
                staged.renew();
            }
        });
        let r = predict(&feats, &model, &vars, &selected, quiet);
        drop(done_tx);
        r
    });
    if let Err(e) = result {
        return Err(e.context(format!(
            "classification stopped; finished chunks are kept in {}: rerun with --resume to finish",
            d.staging.display()
        )));
    }
    let complete = specs
        .iter()
        .all(|s| d.ledger.done(&s.name).len() == all.len());
    if complete {
        if crate::store::publish(&c.path, &d.staging, format, &identity)? {
            say(format!("wrote {}", c.path.display()));
        }
    } else {
        say(format!(
            "this share is done; waiting for other shards to finish {}",
            d.staging.display()
        ));
    }
    Ok(())
}

/// Check a `classify:` job without running it (for `attr submit`): the
/// features open and share a grid, the model reads, the counts make sense.
pub fn check(job_path: &Path, spec: &JobSpec, c: &ClassifySpec) -> Result<()> {
    let model = match &c.model {
        Some(p) => Some(read_model(job_path, p)?),
        None => None,
    };
    let list: Vec<Feature> = match (&model, c.features.is_empty()) {
        (Some(m), true) => m.features.iter().cloned().map(Feature::Name).collect(),
        _ => c.features.clone(),
    };
    open_features(job_path, spec, &list)?;
    if model.is_none() && c.clusters.is_none() && c.init == Init::KMeansPlusPlus {
        bail!(
            "{}: classify: give `clusters` (the number of facies)",
            job_path.display()
        );
    }
    if c.clusters.is_some_and(|k| k < 2) {
        bail!(
            "{}: classify: clusters must be at least 2",
            job_path.display()
        );
    }
    Ok(())
}

/// `attr plan` for a `classify:` job: the fit pass and the predict pass.
pub fn plan(
    job_path: &Path,
    spec: &JobSpec,
    c: &ClassifySpec,
    shards: Option<usize>,
) -> Result<()> {
    check(job_path, spec, c)?;
    let list: Vec<Feature> = match (&c.model, c.features.is_empty()) {
        (Some(p), true) => read_model(job_path, p)?
            .features
            .into_iter()
            .map(Feature::Name)
            .collect(),
        _ => c.features.clone(),
    };
    let feats = open_features(job_path, spec, &list)?;
    let first = feats.first();
    let shape = feats.shape();
    let nd = first.ndim;
    let samples: u64 = shape.iter().product();
    let read_mb = feats.volumes.iter().map(|v| v.bytes()).sum::<u64>() as f64 / 1e6;
    let f = feats.names.len();
    crate::outln!(
        "features  {} on {:?} (chunks {:?})",
        feats.names.join(", "),
        &shape[3 - nd..],
        &first.chunks[3 - nd..]
    );
    match &c.model {
        Some(p) => crate::outln!("fit       none: the model of {}", p.display()),
        None => {
            let n = match c.sample {
                SampleSize::Count(n) => (n as u64).min(samples),
                SampleSize::All => samples,
            };
            let k = match &c.init {
                Init::Centres(cs) => cs.len(),
                Init::KMeansPlusPlus => c.clusters.unwrap_or(0),
            };
            crate::outln!(
                "fit       one pass over {} chunks reading {read_mb:.1} MB: a sample of up to {n} live samples (seed {}), {} scaler, {k} clusters, {} x {} Lloyd iterations at most (tol {}); about {:.1} MB in memory; every shard fits the same model",
                first.grid().iter().product::<u64>(),
                c.seed,
                format!("{:?}", c.scaler).to_lowercase(),
                if c.init == Init::KMeansPlusPlus { c.n_init } else { 1 },
                c.max_iter,
                c.tol,
                (n as f64) * (f as f64 + 2.0) * 8.0 / 1e6
            );
        }
    }
    let chunks = match &c.chunks {
        Some(v) if v.len() == nd => {
            let mut ch = [1u64; 3];
            ch[3 - nd..].copy_from_slice(v);
            ch
        }
        _ => first.chunks,
    };
    let t = tasks(shape, chunks);
    crate::outln!(
        "predict   {} chunks of {:?} (a task each), reading {read_mb:.1} MB; writes facies (int16), distance and match (float32): {:.1} MB",
        t.len(),
        &chunks[3 - nd..],
        samples as f64 * 10.0 / 1e6
    );
    if let Some(n) = shards.filter(|&n| n > 0) {
        crate::outln!("shards    {n}:");
        for i in 0..n {
            let r = crate::shard::task_range(t.len(), i, n);
            crate::outln!("  shard {i}: chunks {}..{} ({})", r.start, r.end, r.len());
        }
    }
    crate::outln!("output    {}", c.path.display());
    Ok(())
}
