//! Smoothing filters: Gaussian, median and mean over a window, and the
//! dip-steered mean that smooths along the local reflector dip.

use crate::convolve::{gaussian, gaussian_radius, window_map};
use crate::gst::Sigmas;
use crate::params::{Sigma, Window3};
use crate::window::box_mean_axis;
use crate::{masked_kernel, nulls, region_kernel, Halo, ParamKind, ParamSpec, Spec};
use ndarray::Array3;

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
        masked_kernel(crate::centred(window), p, move |b, sh| {
            if nulls::has_nulls(b, sh) {
                return nulls::masked_statistic(b, window, "median");
            }
            window_map(&b.to_owned(), window, |v| {
                let mid = v.len() / 2;
                *v.select_nth_unstable_by(mid, f32::total_cmp).1
            })
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
        crate::with_copies(
            28.0,
            region_kernel(halo, p, move |b, core, sh| {
                let masked = nulls::has_nulls(b, sh);
                // the same tensor as the structure family's, shared per block
                let g = crate::gst::shared_gst(b, sh, sg, st, core);
                let (n0, n1, n2) = b.dim();
                let count = ((2 * ri + 1) * (2 * rx + 1)) as f32;
                let [o0, o1, o2] = g.origin;
                let (dip_i, dip_x) = (g.p_inline(), g.p_crossline());
                Array3::from_shape_fn(g.l1.raw_dim(), |(gi, gx, gk)| {
                    let (i, x, k) = (gi + o0, gx + o1, gk + o2);
                    let pi = dip_i[[gi, gx, gk]].clamp(-max_dip, max_dip);
                    let px = dip_x[[gi, gx, gk]].clamp(-max_dip, max_dip);
                    let mut sum = 0f32;
                    let mut live = 0u32;
                    for di in -ri..=ri {
                        let ii = (i as isize + di).clamp(0, n0 as isize - 1) as usize;
                        for dx in -rx..=rx {
                            let xx = (x as isize + dx).clamp(0, n1 as isize - 1) as usize;
                            let t = (k as f32 + pi * di as f32 + px * dx as f32)
                                .clamp(0.0, (n2 - 1) as f32);
                            let k0 = t.floor() as usize;
                            let k1 = (k0 + 1).min(n2 - 1);
                            let f = t - k0 as f32;
                            let v = if f == 0.0 {
                                b[[ii, xx, k0]]
                            } else {
                                b[[ii, xx, k0]] * (1.0 - f) + b[[ii, xx, k1]] * f
                            };
                            // over the live traces it reads
                            if masked && v.is_nan() {
                                continue;
                            }
                            sum += v;
                            live += 1;
                        }
                    }
                    if !masked {
                        sum / count
                    } else if live > 0 {
                        sum / live as f32
                    } else {
                        f32::NAN
                    }
                })
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
