//! Smoothing filters: Gaussian, median and mean over a window, and the
//! dip-steered mean that smooths along the local reflector dip.

use crate::convolve::{gaussian, gaussian_radius};
use crate::gst::Sigmas;
use crate::params::{Sigma, Window3};
use crate::window::box_mean_axis;
use crate::{masked_kernel, masked_region_kernel, nulls, Halo, ParamKind, ParamSpec, Spec};
use ndarray::{Array3, ArrayView3};

use crate::family::FILTER as FAMILY;

pub const GAUSSIAN_SMOOTH: Spec = Spec {
    name: "gaussian_smooth",
    family: FAMILY,
    description: "Gaussian smoothing with a standard deviation per axis, \
                  scipy.ndimage.gaussian_filter (truncated at 4σ).",
    reference: "scipy.ndimage.gaussian_filter",
    unit: "input amplitude",
    params: &[ParamSpec {
        name: "sigma",
        kind: ParamKind::FloatList {
            len: 3,
            min: 0.0,
            max: 32.0,
        },
        default: "[1.0, 1.0, 1.0]",
        unit: "traces, traces, samples",
        help: "standard deviation per axis (0 leaves an axis alone)",
    }],
    build: |p, _| {
        let Sigma { sigma } = p.typed()?;
        masked_kernel(crate::convolve::gaussian_halo(&sigma), p, move |b, sh| {
            if nulls::has_nulls(b, sh) {
                return nulls::normalized_gaussian(b, sigma);
            }
            gaussian(&b.to_owned(), sigma, [0; 3])
        })
    },
};

const WINDOW: &[ParamSpec] = &[ParamSpec {
    name: "window",
    kind: ParamKind::OddIntList { len: 3 },
    default: "[3, 3, 3]",
    unit: "traces, traces, samples",
    help: "window: inlines × crosslines × samples",
}];

pub const MEDIAN_FILTER: Spec = Spec {
    name: "median_filter",
    family: FAMILY,
    description: "Median of the window around each sample, scipy.ndimage.median_filter: \
                  removes spikes and keeps edges.",
    reference: "scipy.ndimage.median_filter",
    unit: "input amplitude",
    params: WINDOW,
    build: |p, _| {
        let Window3 { window } = p.typed()?;
        masked_region_kernel(crate::centred(window), p, move |b, core, sh| {
            if nulls::has_nulls(b, sh) {
                let all = nulls::masked_statistic(b, window, "median");
                return crate::convolve::crop(all.view(), core).to_owned();
            }
            median_region(b, window, core)
        })
    },
};

pub const MEAN_FILTER: Spec = Spec {
    name: "mean_filter",
    family: FAMILY,
    description: "Mean of the window around each sample, scipy.ndimage.uniform_filter.",
    reference: "scipy.ndimage.uniform_filter",
    unit: "input amplitude",
    params: WINDOW,
    build: |p, _| {
        let Window3 { window } = p.typed()?;
        masked_kernel(crate::centred(window), p, move |b, sh| {
            if nulls::has_nulls(b, sh) {
                return nulls::masked_box_mean(b, window, |v| v).0;
            }
            let mut a = b.to_owned();
            for (axis, &size) in window.iter().enumerate() {
                box_mean_axis(&mut a, axis, size);
            }
            a
        })
    },
};

/// Outputs computed together by [`median_region`].
const MEDIAN_LANES: usize = 16;

/// The median of the window around each sample of `core` (odd window
/// sizes; the block holds the window's reach around the core, reflected
/// at the block's edges as scipy does). A selection network run across
/// [`MEDIAN_LANES`] neighbouring outputs at once: the window's values are
/// whole shifted runs of each trace, so every step is one vector min and
/// max. Paeth's forgetful selection keeps n/2 + 2 candidates, drops the
/// smallest and largest as each next value comes in, and ends on the
/// median: exactly the value sorting would pick, at a fraction of a sort.
fn median_region(b: ArrayView3<f32>, window: [usize; 3], core: &crate::Region) -> Array3<f32> {
    let (n0, n1, n2) = b.dim();
    let r = window.map(|w| (w / 2) as isize);
    let n: usize = window.iter().product();
    let keep = n / 2 + 2;
    let idx = |i: isize, n: usize| crate::window::symmetric_index(i, n);
    let len = core[2].len();
    let mut out = Vec::with_capacity(core[0].len() * core[1].len() * len);
    // one trace of the block, reflected by the window's reach on each side
    let mut traces: Vec<Vec<f32>> = Vec::with_capacity(window[0] * window[1]);
    let mut cand = vec![[0f32; MEDIAN_LANES]; keep.min(n)];
    for i in core[0].clone() {
        for j in core[1].clone() {
            traces.clear();
            for di in -r[0]..=r[0] {
                for dj in -r[1]..=r[1] {
                    let lane = b.slice(ndarray::s![
                        idx(i as isize + di, n0),
                        idx(j as isize + dj, n1),
                        ..
                    ]);
                    let first = core[2].start as isize - r[2];
                    let span = len + 2 * r[2] as usize;
                    traces.push(match lane.as_slice() {
                        // the common case: the window's reach is inside the block
                        Some(v) if first >= 0 && first as usize + span <= n2 => {
                            v[first as usize..first as usize + span].to_vec()
                        }
                        _ => (0..span)
                            .map(|t| lane[idx(first + t as isize, n2)])
                            .collect(),
                    });
                }
            }
            let mut k = 0;
            while k < len {
                let lanes = MEDIAN_LANES.min(len - k);
                // the window's values, in order: trace by trace, then along it
                let value = |v: usize| -> [f32; MEDIAN_LANES] {
                    let (t, dk) = (v / window[2], v % window[2]);
                    let mut x = [0f32; MEDIAN_LANES];
                    x[..lanes].copy_from_slice(&traces[t][k + dk..k + dk + lanes]);
                    x
                };
                out.extend_from_slice(&forgetful_median(&mut cand, n, value)[..lanes]);
                k += lanes;
            }
        }
    }
    Array3::from_shape_vec((core[0].len(), core[1].len(), len), out).expect("sized")
}

/// Lane-wise median of the `n` (odd) values `value(0..n)`, with `cand`
/// (n/2 + 2 slots, or n) as the working set. The samples hold no NaN here,
/// so plain comparisons serve as min and max (vector min/max, compiled for
/// the processor's widest unit).
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2", "aarch64+neon"))]
fn forgetful_median(
    cand: &mut [[f32; MEDIAN_LANES]],
    n: usize,
    value: impl Fn(usize) -> [f32; MEDIAN_LANES],
) -> [f32; MEDIAN_LANES] {
    let keep = cand.len();
    for (v, c) in cand.iter_mut().enumerate() {
        *c = value(v);
    }
    // cand[lo..hi] holds the candidates: each round drops the extremes and
    // takes the next value in the lowest dropped slot's place
    let (mut lo, mut hi) = (0, keep);
    for v in keep..n {
        squeeze(cand, lo, hi);
        lo += 1;
        hi -= 1;
        cand[hi] = value(v);
        hi += 1;
    }
    while hi - lo > 1 {
        squeeze(cand, lo, hi);
        lo += 1;
        hi -= 1;
    }
    cand[lo]
}

/// Moves the lane-wise minimum of `cand[lo..hi]` to `lo` and the maximum
/// to `hi − 1`. A function inlined into each compiled version of
/// [`forgetful_median`] (a closure there ran in the baseline build).
#[inline(always)]
fn squeeze(cand: &mut [[f32; MEDIAN_LANES]], lo: usize, hi: usize) {
    let (mut low, mut high) = (cand[lo], cand[hi - 1]);
    // the ends in order first: then the lowest of all is the lower end's
    // or a middle value, and the highest the upper end's or a middle one
    for l in 0..MEDIAN_LANES {
        if high[l] < low[l] {
            (low[l], high[l]) = (high[l], low[l]);
        }
    }
    for c in &mut cand[lo + 1..hi - 1] {
        for l in 0..MEDIAN_LANES {
            // the middle slot keeps what is neither the lowest nor the highest
            let (x, y, z) = (low[l], c[l], high[l]);
            let (a, b) = if y < x { (y, x) } else { (x, y) };
            let (m, hi2) = if z < b { (z, b) } else { (b, z) };
            low[l] = a;
            c[l] = m;
            high[l] = hi2;
        }
    }
    cand[lo] = low;
    cand[hi - 1] = high;
}

/// The sums along the local dips for one output trace (no nulls): each
/// window trace in turn, interpolated at t = k + p·Δi + q·Δx for every
/// sample k of the trace at once, so the loop runs across samples.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2", "aarch64+neon"))]
fn steer_trace(
    data: &[f32],
    n2: usize,
    lanes: &[(usize, f32, f32)],
    pi: &[f32],
    px: &[f32],
    first: usize,
    out: &mut [f32],
) {
    let last = (n2 - 1) as f32;
    for &(lane, di, dx) in lanes {
        let trace = &data[lane..lane + n2];
        for (k, ((o, &p), &q)) in out.iter_mut().zip(pi).zip(px).enumerate() {
            let t = ((first + k) as f32 + p * di + q * dx).clamp(0.0, last);
            // t ≥ 0: truncation is the floor
            let k0 = (t as usize).min(n2 - 1);
            let f = t - k0 as f32;
            let k1 = (k0 + 1).min(n2 - 1);
            // f = 0 gives trace[k0] exactly (the samples are finite here)
            *o += trace[k0] * (1.0 - f) + trace[k1] * f;
        }
    }
}

const STEERED_PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "window",
        kind: ParamKind::OddIntList { len: 2 },
        default: "[5, 5]",
        unit: "inlines, crosslines",
        help: "lateral extent of the average",
    },
    ParamSpec {
        name: "max_dip",
        kind: ParamKind::Float {
            min: 0.0,
            max: 16.0,
        },
        default: "2.0",
        unit: "samples/trace",
        help: "dips are clipped to this, which bounds the vertical reach (and halo)",
    },
    crate::gst::SIGMA_GRADIENT,
    crate::gst::SIGMA_TENSOR,
];

/// The lateral window, the dip clip and the tensor's sigmas.
#[derive(serde::Deserialize)]
struct Steered {
    window: [usize; 2],
    max_dip: f64,
    #[serde(flatten)]
    sigmas: Sigmas,
}

pub const DIP_STEERED_MEAN: Spec = Spec {
    name: "dip_steered_mean",
    family: FAMILY,
    description: "Mean along the local reflector: for each sample, the average over an \
                  inlines × crosslines window of the traces read at t + p·Δi + q·Δx (linear \
                  interpolation), p and q the structure-tensor dips at the sample (clipped to \
                  ±max_dip). Cleans data along dipping events without smearing them, as \
                  interpreters do before coherence.",
    reference: "Höcker & Fehmers (2002), Fast structural interpretation with structure-oriented \
                filtering, The Leading Edge 21(3)",
    unit: "input amplitude",
    params: STEERED_PARAMS,
    build: |p, _| {
        let Steered {
            window: [wi, wx],
            max_dip,
            sigmas:
                Sigmas {
                    sigma_gradient: sg,
                    sigma_tensor: st,
                },
        } = p.typed()?;
        let (ri, rx) = ((wi / 2) as isize, (wx / 2) as isize);
        let max_dip = max_dip as f32;
        let tensor = gaussian_radius(sg) + gaussian_radius(st);
        let reach = (max_dip as f64 * (ri + rx) as f64).ceil() as usize + 1;
        let halo = [
            Halo::Depth(ri as usize + tensor),
            Halo::Depth(rx as usize + tensor),
            Halo::Depth(reach + tensor),
        ];
        // the shared tensor, its dips and the steered sums (measured: about
        // 14 blocks at 64³ chunks)
        crate::with_copies(
            14.0,
            masked_region_kernel(halo, p, move |b, core, sh| {
                let masked = nulls::has_nulls(b, sh);
                // the same tensor as the structure family's, shared per block
                let at = crate::gst::shared_gst(b, sh, sg, st, core);
                let (n0, n1, n2) = b.dim();
                let count = ((2 * ri + 1) * (2 * rx + 1)) as f32;
                let [o0, o1, o2] = crate::convolve::origin(core);
                let (dip_i, dip_x) = (at.g.p_inline(), at.g.p_crossline());
                // the tensor may cover more than the core: its fields' shape
                let (_, f1, f2) = dip_i.dim();
                let [in0, in1, in2] = crate::convolve::origin(&at.fields(core));
                // plain slices: the traces of the block, and the window's
                // trace offsets per output trace, clamped at the block's edges
                let b = b.as_standard_layout();
                let data = b.as_slice().expect("standard layout");
                let last = (n2 - 1) as f32;
                // per window trace: its offset, and its inline and crossline step
                let mut lanes: Vec<(usize, f32, f32)> = Vec::with_capacity(count as usize);
                let (c0, c1, c2) = (core[0].len(), core[1].len(), core[2].len());
                let mut out = Vec::with_capacity(c0 * c1 * c2);
                for gi in 0..c0 {
                    for gx in 0..c1 {
                        let (i, x) = (gi + o0, gx + o1);
                        lanes.clear();
                        for di in -ri..=ri {
                            let ii = (i as isize + di).clamp(0, n0 as isize - 1) as usize;
                            for dx in -rx..=rx {
                                let xx = (x as isize + dx).clamp(0, n1 as isize - 1) as usize;
                                lanes.push(((ii * n1 + xx) * n2, di as f32, dx as f32));
                            }
                        }
                        let at = ((gi + in0) * f1 + gx + in1) * f2 + in2;
                        let pi: Vec<f32> = dip_i.as_slice().expect("standard layout")[at..at + c2]
                            .iter()
                            .map(|v| v.clamp(-max_dip, max_dip))
                            .collect();
                        let px: Vec<f32> = dip_x.as_slice().expect("standard layout")[at..at + c2]
                            .iter()
                            .map(|v| v.clamp(-max_dip, max_dip))
                            .collect();
                        if !masked {
                            let start = out.len();
                            out.resize(start + c2, 0.0);
                            steer_trace(data, n2, &lanes, &pi, &px, o2, &mut out[start..]);
                            for v in &mut out[start..] {
                                *v /= count;
                            }
                            continue;
                        }
                        for gk in 0..c2 {
                            let k = (gk + o2) as f32;
                            let (pi, px) = (pi[gk], px[gk]);
                            let mut sum = 0f32;
                            let mut live = 0u32;
                            for &(lane, di, dx) in &lanes {
                                let t = (k + pi * di + px * dx).clamp(0.0, last);
                                let k0 = t.floor() as usize;
                                let f = t - k0 as f32;
                                let v = if f == 0.0 {
                                    data[lane + k0]
                                } else {
                                    data[lane + k0] * (1.0 - f)
                                        + data[lane + (k0 + 1).min(n2 - 1)] * f
                                };
                                // over the live traces it reads
                                if v.is_nan() {
                                    continue;
                                }
                                sum += v;
                                live += 1;
                            }
                            out.push(if live > 0 {
                                sum / live as f32
                            } else {
                                f32::NAN
                            });
                        }
                    }
                }
                Array3::from_shape_vec((c0, c1, c2), out).expect("sized")
            }),
        )
    },
};

/// This family's attributes, in the order `attr list` shows them.
pub(crate) const ATTRIBUTES: &[&dyn crate::Attribute] = &[
    &GAUSSIAN_SMOOTH,
    &MEDIAN_FILTER,
    &MEAN_FILTER,
    &DIP_STEERED_MEAN,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convolve::{whole, window_map};

    #[test]
    fn the_selection_network_picks_what_sorting_picks() {
        let mut seed = 7u64;
        let a = Array3::from_shape_fn((6, 7, 37), |_| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            ((seed >> 40) % 50) as f32 - 20.0
        });
        for window in [[3, 3, 3], [1, 1, 5], [5, 3, 1], [1, 1, 1], [3, 5, 7]] {
            let want = window_map(&a, window, |v| {
                let mid = v.len() / 2;
                *v.select_nth_unstable_by(mid, f32::total_cmp).1
            });
            assert_eq!(
                median_region(a.view(), window, &whole(a.dim())),
                want,
                "{window:?}"
            );
            let core: crate::Region = [1..5, 2..6, 3..30];
            let got = median_region(a.view(), window, &core);
            assert_eq!(got, crate::convolve::crop(want.view(), &core), "{window:?}");
        }
    }
}
