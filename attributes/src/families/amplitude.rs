//! Amplitude attributes over vertical windows.

use crate::nulls;
use crate::params::{Sigma, Window};
use crate::window::box_mean_axis;
use crate::{
    AttrError, Attribute, Halo, Kernel, ParamKind, ParamSpec, Params, Setup, Shared, Spec,
};
use ndarray::{Array3, ArrayView3, Zip};
use serde::Deserialize;

pub struct RmsAmplitude;

struct RmsKernel {
    window: usize,
}

const RMS_PARAMS: &[ParamSpec] = &[ParamSpec {
    name: "window",
    kind: ParamKind::OddInt { min: 1 },
    default: "9",
    unit: "samples",
    help: "length of the vertical window, centred on the sample",
}];

impl Attribute for RmsAmplitude {
    fn name(&self) -> &'static str {
        "rms_amplitude"
    }
    fn family(&self) -> &'static str {
        FAMILY
    }
    fn description(&self) -> &'static str {
        "Root mean square of the amplitudes in a centred vertical window: sqrt(Σx²/n), \
         the same as sqrt(scipy.ndimage.uniform_filter1d(x², window)) with the block edges \
         handled by the job's boundary mode."
    }
    fn reference(&self) -> &'static str {
        "Chopra & Marfurt (2007), Seismic Attributes for Prospect Identification, SEG"
    }
    fn unit(&self) -> &'static str {
        "input amplitude"
    }
    fn params(&self) -> &'static [ParamSpec] {
        RMS_PARAMS
    }
    fn configure(&self, p: &Params, _: &Setup) -> Result<Box<dyn Kernel>, AttrError> {
        let Window { window } = p.typed()?;
        Ok(Box::new(RmsKernel { window }))
    }
}

impl Kernel for RmsKernel {
    fn halo(&self) -> [Halo; 3] {
        [Halo::Depth(0), Halo::Depth(0), Halo::Depth(self.window / 2)]
    }
    fn compute(&self, block: ArrayView3<f32>, shared: &mut Shared) -> Array3<f32> {
        let core = crate::convolve::whole(block.dim());
        self.compute_region(block, &core, shared).0
    }
    fn compute_region(
        &self,
        block: ArrayView3<f32>,
        core: &crate::Region,
        shared: &mut Shared,
    ) -> (Array3<f32>, [usize; 3]) {
        let mut sq = vertical_mean(block, core, shared, self.window, |x| x * x);
        sq.mapv_inplace(|v| v.max(0.0).sqrt());
        (sq, crate::convolve::origin(core))
    }
    fn resolved(&self) -> serde_json::Value {
        serde_json::json!({ "window": self.window })
    }
    fn null_aware(&self) -> bool {
        true
    }
}

const CHOPRA: &str = "Chopra & Marfurt (2007), Seismic Attributes for Prospect Identification, SEG";
use crate::family::AMPLITUDE as FAMILY;

const WINDOW_PARAMS: &[ParamSpec] = RMS_PARAMS;

/// Halo of a centred vertical window.
fn vertical(window: usize) -> [Halo; 3] {
    [Halo::Depth(0), Halo::Depth(0), Halo::Depth(window / 2)]
}

/// The centred vertical moving mean of `f(x)` over the live samples of
/// each window (NaN where a window holds none).
fn vertical_mean(
    b: ArrayView3<f32>,
    core: &crate::Region,
    shared: &mut Shared,
    window: usize,
    f: impl Fn(f32) -> f32,
) -> Array3<f32> {
    if nulls::has_nulls(b, shared) {
        let all = nulls::masked_box_mean(b, [1, 1, window], f).0;
        return crate::convolve::crop(all.view(), core).to_owned();
    }
    vertical_mean_core(b, core, window, f)
}

/// The moving mean of `f(x)` down each trace at `core` only (no
/// block-sized temporaries, nothing outside the core), the edges reflected
/// as [`box_mean_axis`] reflects them. Each window is summed afresh in f64,
/// left to right, eight outputs at a time: no running sum to drift, so a
/// window of zeros is exactly 0 and a sample's value does not depend on
/// where its region starts.
fn vertical_mean_core(
    b: ArrayView3<f32>,
    core: &crate::Region,
    window: usize,
    f: impl Fn(f32) -> f32,
) -> Array3<f32> {
    const LANES: usize = 8;
    let n2 = b.dim().2;
    let r = (window / 2) as isize;
    let len = core[2].len();
    let span = len + window - 1;
    let first = core[2].start as isize - r;
    let rows: Vec<usize> = (0..span)
        .map(|t| crate::window::symmetric_index(first + t as isize, n2))
        .collect();
    let inv = 1.0 / window as f64;
    // padded so that the last group of outputs reads whole lanes
    let mut vals = vec![0f64; span + LANES];
    let mut line = Vec::with_capacity(span);
    let mut out = vec![0f32; core[0].len() * core[1].len() * len];
    let mut traces = out.chunks_exact_mut(len.max(1));
    for i in core[0].clone() {
        for j in core[1].clone() {
            let trace = b.slice(ndarray::s![i, j, ..]);
            let run = crate::window::reflected_run(trace, first, &rows, &mut line);
            for (v, &x) in vals.iter_mut().zip(run) {
                *v = f(x) as f64;
            }
            let Some(dst) = traces.next() else { break };
            for (g, d) in dst.chunks_mut(LANES).enumerate() {
                let base = g * LANES;
                let mut acc = [0f64; LANES];
                for t in 0..window {
                    let src: &[f64; LANES] =
                        vals[base + t..base + t + LANES].try_into().expect("lanes");
                    for (a, s) in acc.iter_mut().zip(src) {
                        *a += s;
                    }
                }
                for (o, a) in d.iter_mut().zip(acc) {
                    *o = (a * inv) as f32;
                }
            }
        }
    }
    Array3::from_shape_vec((core[0].len(), core[1].len(), len), out).expect("sized")
}

/// A vertical moving mean of `f(x)`.
fn windowed_mean(p: &Params, f: fn(f32) -> f32) -> Result<Box<dyn Kernel>, AttrError> {
    let Window { window: w } = p.typed()?;
    crate::masked_region_kernel(vertical(w), p, move |b, core, sh| {
        vertical_mean(b, core, sh, w, f)
    })
}

pub const MEAN_AMPLITUDE: Spec = Spec {
    name: "mean_amplitude",
    family: FAMILY,
    description: "Arithmetic mean of the amplitudes in a centred vertical window, \
                  scipy.ndimage.uniform_filter1d(x, window): near zero on balanced data, \
                  it shows a DC bias or a polarity-biased interval.",
    reference: CHOPRA,
    unit: "input amplitude",
    params: WINDOW_PARAMS,
    build: |p, _| windowed_mean(p, |x| x),
};

pub const MEAN_ABSOLUTE_AMPLITUDE: Spec = Spec {
    name: "mean_absolute_amplitude",
    family: FAMILY,
    description: "Mean of |x| in a centred vertical window: a reflectivity-strength measure \
                  less dominated by the largest values than RMS.",
    reference: CHOPRA,
    unit: "input amplitude",
    params: WINDOW_PARAMS,
    build: |p, _| windowed_mean(p, f32::abs),
};

pub const ENERGY: Spec = Spec {
    name: "energy",
    family: FAMILY,
    description: "Mean energy Σx²/n in a centred vertical window (the square of \
                  rms_amplitude).",
    reference: CHOPRA,
    unit: "amplitude²",
    params: WINDOW_PARAMS,
    build: |p, _| windowed_mean(p, |x| x * x),
};

pub const MAX_ABSOLUTE_AMPLITUDE: Spec = Spec {
    name: "max_absolute_amplitude",
    family: FAMILY,
    description: "Largest |x| in a centred vertical window, \
                  scipy.ndimage.maximum_filter1d(|x|, window).",
    reference: CHOPRA,
    unit: "input amplitude",
    params: WINDOW_PARAMS,
    build: |p, _| {
        let Window { window: w } = p.typed()?;
        crate::kernel(vertical(w), p, move |b, _| {
            crate::convolve::extreme_axis(&b.mapv(f32::abs), 2, w, true)
        })
    },
};

pub const REFLECTION_INTENSITY: Spec = Spec {
    name: "reflection_intensity",
    family: FAMILY,
    description: "Trapezoidal integral of the amplitudes over a centred vertical window, in \
                  sample units: Σx − (x_first + x_last)/2, i.e. numpy.trapezoid over the window \
                  (multiply by the sample interval for amplitude × time).",
    reference: "Radovich & Oliveros (1998), 3-D sequence interpretation of seismic \
                instantaneous attributes, The Leading Edge 17(9)",
    unit: "amplitude × samples",
    params: WINDOW_PARAMS,
    build: |p, _| {
        let Window { window: w } = p.typed()?;
        let r = w / 2;
        crate::kernel(vertical(w), p, move |b, _| {
            let mut sum = b.to_owned();
            box_mean_axis(&mut sum, 2, w);
            let n = b.len_of(ndarray::Axis(2));
            let mut out = sum.mapv(|m| m * w as f32);
            for ((i, j, k), o) in out.indexed_iter_mut() {
                let lo = crate::window::symmetric_index(k as isize - r as isize, n);
                let hi = crate::window::symmetric_index((k + r) as isize, n);
                *o -= 0.5 * (b[[i, j, lo]] + b[[i, j, hi]]);
            }
            out
        })
    },
};

/// `low_cut_window` of the relative acoustic impedance.
#[derive(Deserialize)]
struct LowCut {
    low_cut_window: usize,
}

/// `volume_statistics`: which statistic, over which window.
#[derive(Deserialize)]
struct Statistic {
    window: [usize; 3],
    statistic: String,
}

const AGC_PARAMS: &[ParamSpec] = &[ParamSpec {
    name: "window",
    kind: ParamKind::OddInt { min: 1 },
    default: "63",
    unit: "samples",
    help: "length of the gain window, centred (about 250 ms at 4 ms)",
}];

pub const AGC: Spec = Spec {
    name: "agc",
    family: FAMILY,
    description: "Automatic gain control: each sample divided by the RMS amplitude of the \
                  centred vertical window around it, x / sqrt(mean(x²)), so every part of the \
                  section has unit RMS. 0 where the window is dead.",
    reference: "Yilmaz (2001), Seismic Data Analysis, SEG, section 1.4",
    unit: "ratio",
    params: AGC_PARAMS,
    build: |p, _| {
        let Window { window: w } = p.typed()?;
        crate::masked_region_kernel(vertical(w), p, move |b, core, sh| {
            let e = vertical_mean(b, core, sh, w, |x| x * x);
            ndarray::Zip::from(crate::convolve::crop(b, core))
                .and(&e)
                .map_collect(|&x, &e| if e > 0.0 { x / e.sqrt() } else { 0.0 })
        })
    },
};

pub const FIRST_DERIVATIVE: Spec = Spec {
    name: "first_derivative",
    family: FAMILY,
    description: "First derivative along the trace by central differences, \
                  (x[k+1] − x[k−1])/2 per sample, as numpy.gradient inside the trace (the \
                  boundary mode supplies the samples beyond the ends).",
    reference: CHOPRA,
    unit: "amplitude/sample",
    params: &[],
    build: |p, _| {
        // a null sample in the stencil makes the derivative null
        crate::masked_kernel(vertical(3), p, |b, _| {
            crate::convolve::correlate_axis(&b.to_owned(), 2, &[-0.5, 0.0, 0.5])
        })
    },
};

pub const SECOND_DERIVATIVE: Spec = Spec {
    name: "second_derivative",
    family: FAMILY,
    description: "Second derivative along the trace, x[k+1] − 2x[k] + x[k−1] per sample²: \
                  sharpens reflector boundaries.",
    reference: CHOPRA,
    unit: "amplitude/sample²",
    params: &[],
    build: |p, _| {
        crate::masked_kernel(vertical(3), p, |b, _| {
            crate::convolve::correlate_axis(&b.to_owned(), 2, &[1.0, -2.0, 1.0])
        })
    },
};

const RAI_PARAMS: &[ParamSpec] = &[ParamSpec {
    name: "low_cut_window",
    kind: ParamKind::OddInt { min: 1 },
    default: "101",
    unit: "samples",
    help: "the integrated trace minus its moving mean over this window: the low-cut",
}];

pub const RELATIVE_ACOUSTIC_IMPEDANCE: Spec = Spec {
    name: "relative_acoustic_impedance",
    family: FAMILY,
    description: "Relative acoustic impedance: the running sum of the trace down the whole \
                  trace (integration), with its drift removed by subtracting a centred moving \
                  mean of low_cut_window samples (a low-cut; reflect-extended at the trace \
                  ends, as scipy.ndimage.uniform_filter1d). Layers, not interfaces.",
    reference: "Lavergne & Willm (1977), Inversion of seismograms and pseudo velocity logs, \
                Geophysical Prospecting 25(2)",
    unit: "amplitude × samples",
    params: RAI_PARAMS,
    build: |p, _| {
        let LowCut { low_cut_window: w } = p.typed()?;
        crate::kernel(
            [Halo::Depth(0), Halo::Depth(0), Halo::Full],
            p,
            move |b, _| {
                let mut c = b.to_owned();
                for mut lane in c.lanes_mut(ndarray::Axis(2)) {
                    let mut s = 0f64;
                    for v in lane.iter_mut() {
                        s += *v as f64;
                        *v = s as f32;
                    }
                }
                let mut m = c.clone();
                box_mean_axis(&mut m, 2, w);
                c - m
            },
        )
    },
};

const SIGMA_PARAMS: &[ParamSpec] = &[ParamSpec {
    name: "sigma",
    kind: ParamKind::FloatList {
        len: 3,
        min: 0.0,
        max: 32.0,
    },
    default: "[1.0, 1.0, 1.0]",
    unit: "traces, traces, samples",
    help: "Gaussian standard deviation per axis",
}];

pub const GRADIENT_MAGNITUDE: Spec = Spec {
    name: "gradient_magnitude",
    family: FAMILY,
    description: "Magnitude of the Gaussian-derivative gradient, √(Σ_a (∂_a G_σ ∗ x)²), as \
                  scipy.ndimage.gaussian_gradient_magnitude with a sigma per axis: edges of \
                  any orientation, smoothed.",
    reference: "scipy.ndimage.gaussian_gradient_magnitude; Chopra & Marfurt (2007)",
    unit: "amplitude/sample",
    params: SIGMA_PARAMS,
    build: |p, _| {
        let Sigma { sigma } = p.typed()?;
        crate::masked_kernel(crate::convolve::gaussian_halo(&sigma), p, move |b, sh| {
            if nulls::has_nulls(b, sh) {
                let [g0, g1, g2] =
                    nulls::normalized_gradient(b, sigma, &crate::convolve::whole(b.dim()));
                return Zip::from(&g0)
                    .and(&g1)
                    .and(&g2)
                    .map_collect(|a, b, c| (a * a + b * b + c * c).sqrt());
            }
            let b = b.to_owned();
            let mut sum = Array3::<f32>::zeros(b.raw_dim());
            for axis in 0..3 {
                let mut order = [0; 3];
                order[axis] = 1;
                let g = crate::convolve::gaussian(&b, sigma, order);
                sum.zip_mut_with(&g, |s, &g| *s += g * g);
            }
            sum.mapv_inplace(f32::sqrt);
            sum
        })
    },
};

const STATISTICS: &[&str] = &[
    "mean", "median", "min", "max", "variance", "std", "rms", "sum",
];

const STAT_PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "statistic",
        kind: ParamKind::Choice(STATISTICS),
        default: "\"mean\"",
        unit: "",
        help: "what to compute over the window",
    },
    ParamSpec {
        name: "window",
        kind: ParamKind::OddIntList { len: 3 },
        default: "[3, 3, 9]",
        unit: "traces, traces, samples",
        help: "window: inlines × crosslines × samples",
    },
];

pub const VOLUME_STATISTICS: Spec = Spec {
    name: "volume_statistics",
    family: FAMILY,
    description: "A statistic of the amplitudes in an inline × crossline × sample window \
                  around each sample: mean, median, min, max, variance (population, ddof 0), \
                  std, rms or sum — scipy.ndimage uniform/median/minimum/maximum filters or \
                  generic_filter with the same window.",
    reference: "scipy.ndimage filters; Chopra & Marfurt (2007)",
    unit: "input amplitude (variance: amplitude²)",
    params: STAT_PARAMS,
    build: |p, _| {
        let Statistic {
            window,
            statistic: stat,
        } = p.typed()?;
        let n = window.iter().product::<usize>() as f64;
        crate::masked_kernel(crate::centred(window), p, move |b, sh| {
            if nulls::has_nulls(b, sh) {
                return nulls::masked_statistic(b, window, &stat);
            }
            let b = b.to_owned();
            let mean_of = |a: Array3<f32>| {
                let mut a = a;
                for (axis, &size) in window.iter().enumerate() {
                    box_mean_axis(&mut a, axis, size);
                }
                a
            };
            match stat.as_str() {
                "mean" => mean_of(b),
                "sum" => mean_of(b).mapv(|m| (m as f64 * n) as f32),
                "rms" => mean_of(b.mapv(|x| x * x)).mapv(|m| m.max(0.0).sqrt()),
                "min" | "max" => {
                    let max = stat == "max";
                    let mut a = b;
                    for (axis, &size) in window.iter().enumerate() {
                        a = crate::convolve::extreme_axis(&a, axis, size, max);
                    }
                    a
                }
                "median" => crate::convolve::window_map(&b, window, |v| {
                    let mid = v.len() / 2;
                    *v.select_nth_unstable_by(mid, f32::total_cmp).1
                }),
                // two passes over each window in f64: no cancellation
                _ => {
                    let var = crate::convolve::window_map(&b, window, |v| {
                        let m = v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64;
                        (v.iter().map(|&x| (x as f64 - m).powi(2)).sum::<f64>() / v.len() as f64)
                            as f32
                    });
                    if stat == "std" {
                        var.mapv(f32::sqrt)
                    } else {
                        var
                    }
                }
            }
        })
    },
};

/// This family's attributes, in the order `attr list` shows them.
pub(crate) const ATTRIBUTES: &[&dyn crate::Attribute] = &[
    &RmsAmplitude,
    &MEAN_AMPLITUDE,
    &MEAN_ABSOLUTE_AMPLITUDE,
    &ENERGY,
    &MAX_ABSOLUTE_AMPLITUDE,
    &REFLECTION_INTENSITY,
    &AGC,
    &FIRST_DERIVATIVE,
    &SECOND_DERIVATIVE,
    &RELATIVE_ACOUSTIC_IMPEDANCE,
    &GRADIENT_MAGNITUDE,
    &VOLUME_STATISTICS,
];
