//! Discontinuity attributes over lateral windows: eigenstructure coherence,
//! 3-D Sobel edges and normalised lateral variance.

use crate::convolve::correlate_axis;
use crate::params::CoherenceWindow;
use crate::window::{box_mean_axis, symmetric_index};
use crate::{masked_kernel, nulls, Halo, ParamSpec, Spec};
use ndarray::{Array3, ArrayView3, Zip};

use crate::family::STRUCTURE as FAMILY;

const WINDOW: &[ParamSpec] = crate::params::COHERENCE_WINDOW;

/// Null where too few traces of the lateral window are live at the sample
/// (`out` holds `core` of the block).
fn require_live(
    out: &mut Array3<f32>,
    block: ArrayView3<f32>,
    core: &crate::Region,
    window: [usize; 3],
    min_live: usize,
) {
    let count = nulls::live_traces(block, window[0], window[1]);
    let count = crate::convolve::crop(count.view(), core).to_owned();
    nulls::null_below(out, &count, min_live, window[0] * window[1]);
}

/// The largest eigenvalue of the symmetric `j × j` matrix `c`: power
/// iteration (from the all-ones vector, the dominant eigenvector of coherent
/// data, when `v` is zero) until the Rayleigh quotient settles to 1e-8 (it
/// converges quadratically, so λ1 is then well inside the f32 result's
/// rounding); when λ2 is too close
/// to λ1 for that within 60 steps, a full symmetric eigen-decomposition.
/// `v` holds the starting vector (e.g. the previous sample's eigenvector:
/// neighbouring windows overlap, so it is nearly converged) and returns the
/// eigenvector.
pub fn largest_eigenvalue(c: &[f64], j: usize, v: &mut [f64], w: &mut [f64]) -> f64 {
    if v.iter().all(|x| *x == 0.0) {
        v.iter_mut().for_each(|x| *x = 1.0 / (j as f64).sqrt());
    }
    let mut lambda = 0.0;
    for _ in 0..60 {
        for r in 0..j {
            w[r] = (0..j).map(|k| c[r * j + k] * v[k]).sum();
        }
        let next: f64 = (0..j).map(|r| w[r] * v[r]).sum();
        let norm = w.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm == 0.0 {
            return 0.0;
        }
        v.iter_mut().zip(w.iter()).for_each(|(a, b)| *a = b / norm);
        if (next - lambda).abs() <= 1e-8 * next.abs() {
            return next;
        }
        lambda = next;
    }
    nalgebra::DMatrix::from_row_slice(j, j, c)
        .symmetric_eigenvalues()
        .max()
}

pub const EIGENSTRUCTURE_COHERENCE: Spec = Spec {
    name: "eigenstructure_coherence",
    family: FAMILY,
    description: "Eigenstructure coherence C3: λ1 / trace(C) of the J × J covariance C of \
                  the J = inlines × crosslines traces over the vertical window (zero-lag, no \
                  dip search). 1 where the traces are scaled copies of one waveform, low \
                  across faults; 0 where all amplitudes are 0. λ1 by power iteration.",
    reference: "Gersztenkorn & Marfurt (1999), Eigenstructure-based coherence computations as \
                an aid to 3-D structural and stratigraphic mapping, Geophysics 64(5)",
    unit: "ratio 0-1",
    params: WINDOW,
    build: |p, _| {
        let CoherenceWindow { window, min_live } = p.typed()?;
        // over the traces present: a missing trace, as zeros, adds a zero
        // row and column to C, which changes neither λ1 nor trace(C)
        crate::masked_region_kernel(crate::centred(window), p, move |b, core, sh| {
            if nulls::has_nulls(b, sh) {
                let mut out = c3(nulls::zero_filled(b).view(), window, core);
                require_live(&mut out, b, core, window, min_live);
                return out;
            }
            c3(b, window, core)
        })
    },
};

/// Eigenstructure coherence at `core` of `b`.
fn c3(b: ArrayView3<f32>, window: [usize; 3], core: &crate::Region) -> Array3<f32> {
    let (n0, n1, n2) = b.dim();
    let r = window.map(|w| (w / 2) as isize);
    let j = window[0] * window[1];
    let mut out = Array3::<f32>::zeros((core[0].len(), core[1].len(), core[2].len()));
    let k0 = core[2].start;
    let mut traces = vec![0f64; j * n2];
    let mut c = vec![0f64; j * j];
    let mut full = vec![0f64; j * j];
    let (mut v, mut wv) = (vec![0f64; j], vec![0f64; j]);
    for i in core[0].clone() {
        for x in core[1].clone() {
            // the J traces around (i, x), sample-major
            let mut t = 0;
            for di in -r[0]..=r[0] {
                let ii = symmetric_index(i as isize + di, n0);
                for dx in -r[1]..=r[1] {
                    let xx = symmetric_index(x as isize + dx, n1);
                    for k in 0..n2 {
                        traces[k * j + t] = b[[ii, xx, k]] as f64;
                    }
                    t += 1;
                }
            }
            // the window's covariance, updated as it slides down:
            // add the sample entering, drop the one leaving
            let add = |c: &mut [f64], kk: usize, sign: f64| -> bool {
                let d = &traces[kk * j..(kk + 1) * j];
                for a in 0..j {
                    for e in a..j {
                        c[a * j + e] += sign * d[a] * d[e];
                    }
                }
                d.iter().any(|v| *v != 0.0)
            };
            c.fill(0.0);
            v.fill(0.0);
            let mut live = 0i64;
            for dk in -r[2]..=r[2] {
                live += add(&mut c, symmetric_index(k0 as isize + dk, n2), 1.0) as i64;
            }
            for k in core[2].clone() {
                if k > k0 {
                    let enter = symmetric_index(k as isize + r[2], n2);
                    let leave = symmetric_index(k as isize - r[2] - 1, n2);
                    live += add(&mut c, enter, 1.0) as i64;
                    live -= add(&mut c, leave, -1.0) as i64;
                }
                // windows of dead traces are exactly 0, not rounding residue
                if live == 0 {
                    continue;
                }
                for a in 0..j {
                    for e in 0..a {
                        full[a * j + e] = c[e * j + a];
                    }
                    for e in a..j {
                        full[a * j + e] = c[a * j + e];
                    }
                }
                let trace: f64 = (0..j).map(|a| full[a * j + a]).sum();
                if trace > 0.0 {
                    let l1 = largest_eigenvalue(&full, j, &mut v, &mut wv);
                    out[[i - core[0].start, x - core[1].start, k - k0]] =
                        (l1 / trace).clamp(0.0, 1.0) as f32;
                }
            }
        }
    }
    out
}

pub const SOBEL_EDGE: Spec = Spec {
    name: "sobel_edge",
    family: FAMILY,
    description: "3-D Sobel edge magnitude √(Σ_a S_a²), S_a = scipy.ndimage.sobel(x, axis=a): \
                  the [−1, 0, 1] derivative along one axis smoothed by [1, 2, 1] along the \
                  other two. Edges of any orientation.",
    reference: "Luo, Higgs & Kowalik (1996), Edge detection and stratigraphic analysis using \
                3D seismic data, SEG Expanded Abstracts",
    unit: "input amplitude",
    params: &[],
    build: |p, _| {
        masked_kernel([Halo::Depth(1); 3], p, |b, sh| {
            // the survey's outline is not an edge in the data
            if nulls::has_nulls(b, sh) {
                let mut sum = Array3::<f32>::zeros(b.raw_dim());
                for axis in 0..3 {
                    sum.zip_mut_with(&nulls::masked_sobel(b, axis), |a, &v| *a += v * v);
                }
                return sum.mapv(f32::sqrt);
            }
            let b = b.to_owned();
            let mut sum = Array3::<f32>::zeros(b.raw_dim());
            for axis in 0..3 {
                let mut s = correlate_axis(&b, axis, &[-1.0, 0.0, 1.0]);
                for other in (0..3).filter(|&o| o != axis) {
                    s = correlate_axis(&s, other, &[1.0, 2.0, 1.0]);
                }
                sum.zip_mut_with(&s, |a, &v| *a += v * v);
            }
            sum.mapv_inplace(f32::sqrt);
            sum
        })
    },
};

pub const VARIANCE_EDGE: Spec = Spec {
    name: "variance_edge",
    family: FAMILY,
    description: "Normalised lateral variance: Σ_t Σ_j (x_j − x̄)² / Σ_t Σ_j x_j² over J = \
                  inlines × crosslines traces and the vertical window, x̄ the lateral mean at \
                  each time; 0 for identical traces, high across faults (equal to 1 − \
                  semblance). 0 where all amplitudes are 0.",
    reference: "Van Bemmel & Pepper (2000), Seismic signal processing method and apparatus \
                for generating a cube of variance values, US patent 6,151,555",
    unit: "ratio 0-1",
    params: WINDOW,
    build: |p, _| {
        let CoherenceWindow { window, min_live } = p.typed()?;
        crate::with_copies(
            8.0,
            masked_kernel(crate::centred(window), p, move |b, sh| {
                if nulls::has_nulls(b, sh) {
                    return masked_variance(b, window, min_live);
                }
                let mut mean = b.to_owned();
                box_mean_axis(&mut mean, 0, window[0]);
                box_mean_axis(&mut mean, 1, window[1]);
                let mut energy = b.mapv(|v| v * v);
                box_mean_axis(&mut energy, 0, window[0]);
                box_mean_axis(&mut energy, 1, window[1]);
                // lateral variance at each time, then both sums down the window
                let mut var = Zip::from(&energy)
                    .and(&mean)
                    .map_collect(|&e, &m| e - m * m);
                box_mean_axis(&mut var, 2, window[2]);
                box_mean_axis(&mut energy, 2, window[2]);
                Zip::from(&var).and(&energy).map_collect(|&v, &e| {
                    if e > 0.0 {
                        (v / e).clamp(0.0, 1.0)
                    } else {
                        0.0
                    }
                })
            }),
        )
    },
};

/// Lateral variance over the traces present: with J_t live traces at time
/// t and x̄_t their mean, Σ_t Σ_j (x − x̄_t)² / Σ_t Σ_j x², null where fewer
/// than `min_live` traces are live at the sample.
fn masked_variance(b: ArrayView3<f32>, window: [usize; 3], min_live: usize) -> Array3<f32> {
    let x = nulls::zero_filled(b);
    let lateral = |mut a: Array3<f32>| {
        box_mean_axis(&mut a, 0, window[0]);
        box_mean_axis(&mut a, 1, window[1]);
        a
    };
    let mean = lateral(x.clone());
    let mut energy = lateral(x.mapv(|v| v * v));
    let frac = lateral(nulls::live(b));
    // Σ_j (x − x̄)² = Σx² − (Σx)²/J_t, in units of the window's J traces
    let mut var = Zip::from(&energy)
        .and(&mean)
        .and(&frac)
        .map_collect(|&e, &m, &f| if f > 0.0 { e - m * m / f } else { 0.0 });
    box_mean_axis(&mut var, 2, window[2]);
    box_mean_axis(&mut energy, 2, window[2]);
    let mut out = Zip::from(&var).and(&energy).map_collect(|&v, &e| {
        if e > 0.0 {
            (v / e).clamp(0.0, 1.0)
        } else {
            0.0
        }
    });
    require_live(
        &mut out,
        b,
        &crate::convolve::whole(b.dim()),
        window,
        min_live,
    );
    out
}

/// This family's attributes, in the order `attr list` shows them.
pub(crate) const ATTRIBUTES: &[&dyn crate::Attribute] =
    &[&EIGENSTRUCTURE_COHERENCE, &SOBEL_EDGE, &VARIANCE_EDGE];
