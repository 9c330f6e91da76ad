//! `attr synth`: a deterministic synthetic survey of any size, for the
//! quickstart, benchmarks and tests without Python.
//!
//! Reflectivity (random spikes, seeded) on folded horizons, convolved with
//! a Ricker wavelet; normal faults that drop the hanging wall by their
//! throw; a meandering channel (a bright, lens-shaped fill); band-limited
//! noise; and an irregular outline outside which traces are missing (NaN
//! and `trace_mask` 0). Every value depends only on the seed and the
//! sample's position, so the result is the same whatever the chunks or
//! threads.

use crate::progress::Progress;
use crate::store::{ArraySpec, Compression, Dtype, Format, NewDataset};
use anyhow::{bail, Context, Result};
use ndarray::{ArrayD, IxDyn};
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;
use rayon::prelude::*;
use serde_json::{json, Map};
use std::path::Path;
use zarrs::array::ArraySubset;

pub struct SynthOptions {
    pub shape: [usize; 3],
    pub chunks: [u64; 3],
    pub seed: u64,
    pub noise: f32,
    /// No outline: every trace live (a rectangle, as benchmarks want).
    pub full: bool,
    pub format: Format,
    pub compression: Compression,
    pub overwrite: bool,
    pub quiet: bool,
}

const DT_MS: f64 = 4.0;

/// A normal fault: the plane a·i + b·x = c (inline, crossline in traces)
/// dipping with depth by `slope` traces per sample; samples beyond it are
/// dropped by `throw` samples.
struct Fault {
    a: f64,
    b: f64,
    c: f64,
    slope: f64,
    throw: f64,
}

/// The survey's geometry and layering, drawn once from the seed.
struct Model {
    shape: [usize; 3],
    /// (two-way time in samples at the centre, amplitude) per horizon.
    horizons: Vec<(f64, f64)>,
    faults: Vec<Fault>,
    fold: [f64; 4],
    /// Channel: its time (samples), width (traces), thickness (samples),
    /// meander amplitude and wavelength (traces), and crossline centre.
    channel: [f64; 6],
    outline: Vec<f64>,
    wavelet: Vec<f64>,
    seed: u64,
    noise: f32,
}

impl Model {
    fn new(shape: [usize; 3], seed: u64, noise: f32) -> Model {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let [ni, nx, nt] = shape.map(|v| v as f64);
        let mut horizons = Vec::new();
        let mut t = 8.0;
        while t < nt + 40.0 {
            let amp: f64 = rng.sample::<f64, _>(StandardNormal);
            horizons.push((t, amp));
            t += rng.random_range(3.0..12.0);
        }
        let faults = (0..3)
            .map(|k| {
                let angle: f64 =
                    rng.random_range(-0.6..0.6) + std::f64::consts::FRAC_PI_2 * (k % 2) as f64;
                let (a, b) = (angle.cos(), angle.sin());
                let c =
                    a * ni * rng.random_range(0.25..0.75) + b * nx * rng.random_range(0.25..0.75);
                Fault {
                    a,
                    b,
                    c,
                    slope: rng.random_range(-0.15..0.15),
                    throw: rng.random_range(4.0..12.0),
                }
            })
            .collect();
        let fold = [
            rng.random_range(0.02..0.06) * nt,
            rng.random_range(0.6..1.4) * ni.max(nx),
            rng.random_range(0.6..1.4) * ni.max(nx),
            rng.random_range(-0.3..0.3),
        ];
        let channel = [
            nt * rng.random_range(0.35..0.55),
            (nx.min(ni) * 0.04).max(2.0),
            rng.random_range(3.0..6.0),
            nx * 0.12,
            ni * rng.random_range(0.4..0.7),
            nx * rng.random_range(0.35..0.65),
        ];
        // the outline: a radius per direction around the centre, smooth
        // and irregular, reaching past the grid in places
        let outline = (0..64)
            .map(|_| rng.random_range(0.75..1.15))
            .collect::<Vec<f64>>();
        let outline = (0..64)
            .map(|k| (outline[k] + outline[(k + 1) % 64] + outline[(k + 63) % 64]) / 3.0)
            .collect();
        // Ricker, 30 Hz at 4 ms
        let f = 30.0 * DT_MS / 1000.0;
        let wavelet = (-12..=12)
            .map(|k| {
                let a = (std::f64::consts::PI * f * k as f64).powi(2);
                (1.0 - 2.0 * a) * (-a).exp()
            })
            .collect();
        Model {
            shape,
            horizons,
            faults,
            fold,
            channel,
            outline,
            wavelet,
            seed,
            noise,
        }
    }

    /// Whether trace (i, x) lies inside the survey's outline.
    fn live(&self, i: usize, x: usize) -> bool {
        let [ni, nx, _] = self.shape.map(|v| v as f64);
        let (u, v) = ((i as f64 + 0.5) / ni - 0.5, (x as f64 + 0.5) / nx - 0.5);
        let angle = v.atan2(u).rem_euclid(std::f64::consts::TAU) / std::f64::consts::TAU * 64.0;
        let k = angle as usize % 64;
        let f = angle.fract();
        let r = self.outline[k] * (1.0 - f) + self.outline[(k + 1) % 64] * f;
        (u * u + v * v).sqrt() < 0.62 * r
    }

    /// One trace, `nt` samples.
    /// The fold's shift at trace (i, x), in samples.
    fn fold(&self, i: usize, x: usize) -> f64 {
        let (fi, fx) = (i as f64, x as f64);
        let [amp, li, lx, dip] = self.fold;
        amp * (std::f64::consts::TAU * fi / li).sin() * (std::f64::consts::TAU * fx / lx).cos()
            + dip * fi
    }

    /// Where horizon `h` lies at trace (i, x), in samples: folded, and
    /// dropped by every fault whose hanging wall it is in.
    fn horizon_at(&self, h: usize, i: usize, x: usize) -> f64 {
        let (fi, fx) = (i as f64, x as f64);
        let mut t = self.horizons[h].0 + self.fold(i, x);
        for f in &self.faults {
            // past the fault plane at this depth: the hanging wall drops
            if f.a * fi + f.b * fx > f.c + f.slope * t {
                t += f.throw;
            }
        }
        t
    }

    fn trace(&self, i: usize, x: usize, out: &mut [f32]) {
        let (fi, fx) = (i as f64, x as f64);
        let fold = self.fold(i, x);
        let nt = out.len();
        let mut refl = vec![0f64; nt];
        for (h, &(_, a)) in self.horizons.iter().enumerate() {
            let t = self.horizon_at(h, i, x);
            let k = t.floor();
            if k >= 0.0 && (k as usize) + 1 < nt {
                let w = t - k;
                refl[k as usize] += a * (1.0 - w);
                refl[k as usize + 1] += a * w;
            }
        }
        // the channel: a lens of higher impedance along a meander
        let [tc, width, thick, meander, wave, xc] = self.channel;
        let centre = xc + meander * (std::f64::consts::TAU * fi / wave.max(1.0)).sin();
        let d = (fx - centre).abs() / width;
        if d < 1.0 {
            let h = thick * (1.0 - d * d).sqrt();
            let t = (tc + fold) as usize;
            if t + 1 < nt {
                refl[t] -= 1.5;
                let b = (tc + fold + h) as usize;
                if b < nt {
                    refl[b] += 1.5;
                }
            }
        }
        let r = self.wavelet.len() / 2;
        let mut rng = rand::rngs::StdRng::seed_from_u64(
            self.seed ^ ((i as u64) << 32 | x as u64).wrapping_mul(0x9e3779b97f4a7c15),
        );
        let noise: Vec<f64> = (0..nt)
            .map(|_| rng.sample::<f64, _>(StandardNormal) * self.noise as f64)
            .collect();
        for (k, o) in out.iter_mut().enumerate() {
            let mut s = 0.0;
            for (m, &w) in self.wavelet.iter().enumerate() {
                let q = k as isize + m as isize - r as isize;
                if (0..nt as isize).contains(&q) {
                    s += w * (refl[q as usize] + 0.3 * noise[q as usize]);
                }
            }
            *o = (1000.0 * s) as f32;
        }
    }
}

/// The trace mask (returned) and the inline, crossline and time
/// coordinates.
fn write_grid(ds: &NewDataset, o: &SynthOptions, model: &Model) -> Result<Vec<u8>> {
    let [ni, nx, nt] = o.shape;
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mask: Vec<u8> = (0..ni * nx)
        .map(|t| u8::from(o.full || model.live(t / nx, t % nx)))
        .collect();
    ds.whole(
        "trace_mask",
        Dtype::Uint8,
        &names(&["inline", "crossline"]),
        ArrayD::from_shape_vec(IxDyn(&[ni, nx]), mask.clone())?,
        Map::new(),
        None,
    )?;
    line_numbers(ds, ni, nx)?;
    let mut ms = Map::new();
    ms.insert("units".into(), json!("ms"));
    let times: Vec<f64> = (0..nt).map(|k| k as f64 * DT_MS).collect();
    ds.coordinate("time", Dtype::Float64, times, ms, None)?;
    Ok(mask)
}

/// Write the synthetic survey to `output`.
pub fn synth(output: &Path, o: &SynthOptions) -> Result<()> {
    let [ni, nx, nt] = o.shape;
    if ni == 0 || nx == 0 || nt < 16 {
        bail!("--shape {ni},{nx},{nt}: give positive sizes and at least 16 samples");
    }
    if (ni as u64) * (nx as u64) * (nt as u64) > 1 << 36 {
        bail!("--shape {ni},{nx},{nt}: more than 2^36 samples (256 GiB); make it smaller");
    }
    let horizons = horizons_path(output);
    if horizons.exists() && !o.overwrite {
        bail!(
            "'{}' (the survey's horizons) already exists: pass --overwrite to replace it",
            horizons.display()
        );
    }
    let model = Model::new(o.shape, o.seed, o.noise);
    let chunks = [0, 1, 2].map(|a| o.chunks[a].clamp(1, o.shape[a] as u64));
    let at = crate::store::Location::parse(output, &Default::default())?;
    let ds = NewDataset::create(&at, o.format, o.compression, o.overwrite)?;
    let mut attrs = Map::new();
    attrs.insert("sample_interval_ms".into(), json!(DT_MS));
    attrs.insert(
        "source".into(),
        json!(format!(
            "attr synth --shape {ni},{nx},{nt} --seed {}{}",
            o.seed,
            if o.full { " --full" } else { "" }
        )),
    );
    ds.group(&attrs)?;
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    ds.array(
        "amplitude",
        ArraySpec {
            shape: &[ni as u64, nx as u64, nt as u64],
            chunks: &chunks,
            inner: None,
            dtype: Dtype::Float32,
            dims: &names(&["inline", "crossline", "time"]),
            attributes: Map::new(),
            null_fill: true,
            compression: None,
            fill: None,
        },
    )?;
    let mask = write_grid(&ds, o, &model)?;
    let amp = ds.open("amplitude")?;
    // columns of chunks in parallel: memory is a column per worker
    let columns: Vec<(usize, usize)> = (0..ni)
        .step_by(chunks[0] as usize)
        .flat_map(|i0| (0..nx).step_by(chunks[1] as usize).map(move |x0| (i0, x0)))
        .collect();
    let progress = Progress::counting((ni * nx) as u64, "synth", o.quiet, "traces");
    columns.par_iter().try_for_each(|&(i0, x0)| -> Result<()> {
        let (i1, x1) = (
            (i0 + chunks[0] as usize).min(ni),
            (x0 + chunks[1] as usize).min(nx),
        );
        let mut data = vec![f32::NAN; (i1 - i0) * (x1 - x0) * nt];
        for i in i0..i1 {
            for x in x0..x1 {
                if mask[i * nx + x] == 1 {
                    let at = ((i - i0) * (x1 - x0) + (x - x0)) * nt;
                    model.trace(i, x, &mut data[at..at + nt]);
                }
            }
        }
        let subset = ArraySubset::new_with_ranges(&[
            i0 as u64..i1 as u64,
            x0 as u64..x1 as u64,
            0..nt as u64,
        ]);
        amp.store_array_subset(
            &subset,
            ArrayD::from_shape_vec(IxDyn(&[i1 - i0, x1 - x0, nt]), data)?,
        )
        .context("amplitude")?;
        progress.advance(
            ((i1 - i0) * (x1 - x0)) as u64,
            ((i1 - i0) * (x1 - x0) * nt * 4) as u64,
        );
        Ok(())
    })?;
    progress.finish();
    ds.publish()?;
    let horizons = write_horizons(output, o, &model, &mask)?;
    if !o.quiet {
        let live = mask.iter().filter(|&&m| m == 1).count();
        crate::noteln!(
            "attr: synthetic survey {ni}×{nx}×{nt} (seed {}): {live} live and {} missing traces, {} faults, a channel -> {}; its {horizons} horizons -> {}",
            o.seed,
            ni * nx - live,
            model.faults.len(),
            output.display(),
            horizons_path(output).display()
        );
    }
    Ok(())
}

/// Where the horizons of the survey at `output` are written: beside it,
/// `NAME_horizons.zarr`.
/// The survey's inline (from 1000) and crossline (from 2000) numbers, the
/// same beside the volume and its horizons.
fn line_numbers(ds: &NewDataset, ni: usize, nx: usize) -> Result<()> {
    let numbers = |first: i32, n: usize| (first..first + n as i32).collect::<Vec<_>>();
    ds.coordinate("inline", Dtype::Int32, numbers(1000, ni), Map::new(), None)?;
    ds.coordinate(
        "crossline",
        Dtype::Int32,
        numbers(2000, nx),
        Map::new(),
        None,
    )?;
    Ok(())
}

pub fn horizons_path(output: &Path) -> std::path::PathBuf {
    let name = output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name.strip_suffix(".zarr").unwrap_or(&name);
    output.with_file_name(format!("{stem}_horizons.zarr"))
}

/// The reflectors' horizons, exactly (two-way time in ms, NaN on missing
/// traces), as variables `h00`, `h01`, ... of a 2-D dataset beside the
/// survey: those that lie inside the volume somewhere. Returns how many.
fn write_horizons(output: &Path, o: &SynthOptions, model: &Model, mask: &[u8]) -> Result<usize> {
    let [ni, nx, nt] = o.shape;
    let at = crate::store::Location::parse(&horizons_path(output), &Default::default())?;
    let ds = NewDataset::create(&at, o.format, o.compression, o.overwrite)?;
    let mut attrs = Map::new();
    attrs.insert(
        "description".into(),
        json!(format!(
            "the reflectors of {}, in two-way time (ms) at every trace",
            output.display()
        )),
    );
    ds.group(&attrs)?;
    let dims = ["inline".to_string(), "crossline".to_string()];
    let mut written = 0;
    for h in 0..model.horizons.len() {
        let z: Vec<f32> = (0..ni * nx)
            .map(|t| match mask[t] {
                1 => (model.horizon_at(h, t / nx, t % nx) * DT_MS) as f32,
                _ => f32::NAN,
            })
            .collect();
        let end = ((nt - 1) as f64 * DT_MS) as f32;
        if !z.iter().any(|&v| (0.0..=end).contains(&v)) {
            continue;
        }
        let mut a = Map::new();
        a.insert("units".into(), json!("ms"));
        a.insert(
            "long_name".into(),
            json!(format!("horizon {h}, two-way time")),
        );
        ds.whole(
            &format!("h{h:02}"),
            Dtype::Float32,
            &dims,
            ArrayD::from_shape_vec(IxDyn(&[ni, nx]), z)?,
            a,
            None,
        )?;
        written += 1;
    }
    line_numbers(&ds, ni, nx)?;
    ds.publish()?;
    Ok(written)
}
