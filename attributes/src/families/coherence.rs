//! Discontinuity attributes over lateral windows: eigenstructure coherence,
//! 3-D Sobel edges and normalised lateral variance.

use crate::convolve::correlate_axis;
use crate::params::CoherenceWindow;
use crate::window::{box_mean_axis, symmetric_index, symmetric_window};
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

/// Samples of a trace whose eigenproblems are solved together, one per
/// vector lane.
const BATCH: usize = 16;

/// Windows between fresh sums of a lane's covariance.
const RESUM: usize = 32;

/// Eigenstructure coherence at `core` of `b`. [`BATCH`] adjacent lateral
/// positions are solved together, one per vector lane: their J traces are
/// laid out lane by lane, each window's covariance is a running sum of
/// their products down the trace, and the largest eigenvalues come from
/// one power iteration run across the lanes ([`batch_largest`]). Each lane
/// walks the whole trace, so that every window but the first starts its
/// power iteration from the eigenvector of the window one sample up.
fn c3(b: ArrayView3<f32>, window: [usize; 3], core: &crate::Region) -> Array3<f32> {
    let (n0, n1, n2) = b.dim();
    let r = window.map(|w| (w / 2) as isize);
    let j = window[0] * window[1];
    let len = core[2].len();
    let w = window[2];
    let steps = len + w - 1;
    let first = core[2].start as isize - r[2];
    let mut out = Array3::<f32>::zeros((core[0].len(), core[1].len(), len));
    // the trace sample each step reads
    let source: Vec<usize> = (0..steps)
        .map(|s| symmetric_index(first + s as isize, n2))
        .collect();
    // each lateral position's window rows, once
    let cols: Vec<Vec<usize>> = core[1]
        .clone()
        .map(|x| symmetric_window(x, r[1], n1))
        .collect();
    let flat = b.to_slice();
    let mut scratch = vec![0f32; if flat.is_some() { 0 } else { n2 }];
    let mut lanes_of = vec![[0f64; BATCH]; j * steps];
    let mut nonzero = vec![[0i64; BATCH]; steps];
    let mut batch = Batch::new(j);
    for i in core[0].clone() {
        let rows0 = symmetric_window(i, r[0], n0);
        for (g, group) in cols.chunks(BATCH).enumerate() {
            for (l, cols) in group.iter().enumerate() {
                let mut a = 0;
                for &ii in &rows0 {
                    for &xx in cols {
                        let trace: &[f32] = match flat {
                            Some(f) => &f[(ii * n1 + xx) * n2..][..n2],
                            None => {
                                scratch
                                    .iter_mut()
                                    .zip(b.slice(ndarray::s![ii, xx, ..]))
                                    .for_each(|(d, v)| *d = *v);
                                &scratch
                            }
                        };
                        let lane = &mut lanes_of[a * steps..(a + 1) * steps];
                        for (d, &k) in lane.iter_mut().zip(&source) {
                            d[l] = trace[k] as f64;
                        }
                        a += 1;
                    }
                }
            }
            // lanes past the last position hold dead traces
            let lanes = group.len();
            if lanes < BATCH {
                lanes_of.iter_mut().for_each(|d| d[lanes..].fill(0.0));
            }
            for (s, nz) in nonzero.iter_mut().enumerate() {
                *nz = std::array::from_fn(|l| {
                    (0..j).any(|a| lanes_of[a * steps + s][l] != 0.0) as i64
                });
            }
            batch.restart();
            let (io, xo) = (i - core[0].start, g * BATCH);
            slide(
                &mut batch,
                &lanes_of,
                &nonzero,
                w,
                len,
                lanes,
                |l, step, c| {
                    out[[io, xo + l, step]] = c;
                },
            );
        }
    }
    out
}

/// Slides every lane's window down the trace: the covariance updated by
/// the sample entering and the one leaving, then the coherence of the
/// first `lanes` lanes handed to `put(lane, step, value)`.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2", "aarch64+neon"))]
fn slide(
    batch: &mut Batch,
    samples: &[[f64; BATCH]],
    nonzero: &[[i64; BATCH]],
    w: usize,
    len: usize,
    lanes: usize,
    mut put: impl FnMut(usize, usize, f32),
) {
    let j = batch.j;
    let steps = len + w - 1;
    let trace = |a: usize| &samples[a * steps..(a + 1) * steps];
    let mut live = [0i64; BATCH];
    for nz in &nonzero[..w] {
        live = std::array::from_fn(|l| live[l] + nz[l]);
    }
    for step in 0..len {
        if step % RESUM == 0 {
            // summed afresh now and then: a running sum down a long trace
            // would carry the rounding of every loud sample it passed
            let mut n = 0;
            for a in 0..j {
                for e in a..j {
                    let (ta, te) = (&trace(a)[step..step + w], &trace(e)[step..step + w]);
                    let mut c = [0f64; BATCH];
                    for (sa, se) in ta.iter().zip(te) {
                        c = std::array::from_fn(|l| c[l] + sa[l] * se[l]);
                    }
                    batch.upper[n] = c;
                    n += 1;
                }
            }
        } else {
            let (enter, leave) = (step + w - 1, step - 1);
            let mut n = 0;
            for a in 0..j {
                let ta = trace(a);
                let (ea, la) = (ta[enter], ta[leave]);
                for e in a..j {
                    let te = trace(e);
                    let (ee, le) = (te[enter], te[leave]);
                    let c = &mut batch.upper[n];
                    *c = std::array::from_fn(|l| c[l] + (ea[l] * ee[l] - la[l] * le[l]));
                    n += 1;
                }
            }
        }
        if step > 0 {
            let (enter, leave) = (step + w - 1, step - 1);
            live = std::array::from_fn(|l| live[l] + nonzero[enter][l] - nonzero[leave][l]);
        }
        // windows of dead traces are exactly 0, not rounding residue
        batch.live = std::array::from_fn(|l| live[l] > 0);
        let ratio = batch.coherence(lanes);
        for (l, c) in ratio[..lanes].iter().enumerate() {
            put(l, step, *c);
        }
    }
}

/// The covariance matrices of [`BATCH`] windows, lane by lane, as their
/// upper triangles row by row, and each lane's eigenvector from its window
/// before.
struct Batch {
    j: usize,
    upper: Vec<[f64; BATCH]>,
    v: Vec<[f32; BATCH]>,
    w: Vec<[f32; BATCH]>,
    full: Vec<[f32; BATCH]>,
    live: [bool; BATCH],
}

impl Batch {
    fn new(j: usize) -> Batch {
        Batch {
            j,
            upper: vec![[0.0; BATCH]; j * (j + 1) / 2],
            v: vec![[0.0; BATCH]; j],
            w: vec![[0.0; BATCH]; j],
            full: vec![[0.0; BATCH]; j * j],
            live: [false; BATCH],
        }
    }

    /// A new trace: start every lane from the all-ones vector (the
    /// dominant eigenvector of coherent data).
    fn restart(&mut self) {
        let start = 1.0 / (self.j as f32).sqrt();
        self.v.iter_mut().for_each(|v| *v = [start; BATCH]);
    }

    /// λ1 / trace(C) of the first `lanes` lanes, 0 where the window is dead.
    fn coherence(&mut self, lanes: usize) -> [f32; BATCH] {
        let j = self.j;
        let mut trace = [0f64; BATCH];
        let mut diagonal = 0;
        for a in 0..j {
            for (t, c) in trace.iter_mut().zip(&self.upper[diagonal]) {
                *t += c;
            }
            diagonal += j - a;
        }
        let mut active: [bool; BATCH] =
            std::array::from_fn(|l| l < lanes && self.live[l] && trace[l] > 0.0);
        let lambda = batch_largest(
            &self.upper,
            &trace,
            j,
            &mut self.v,
            &mut self.w,
            &mut self.full,
            &mut active,
        );
        std::array::from_fn(|l| {
            if l < lanes && self.live[l] && trace[l] > 0.0 {
                let lam = if active[l] {
                    // not settled in 60 steps (λ2 close to λ1), or
                    // settled on another eigenvector
                    let mut c = nalgebra::DMatrix::<f64>::zeros(j, j);
                    let mut n = 0;
                    for a in 0..j {
                        for e in a..j {
                            (c[(a, e)], c[(e, a)]) = (self.upper[n][l], self.upper[n][l]);
                            n += 1;
                        }
                    }
                    let start = 1.0 / (j as f32).sqrt();
                    self.v.iter_mut().for_each(|v| v[l] = start);
                    c.symmetric_eigenvalues().max()
                } else {
                    lambda[l]
                };
                (lam / trace[l]).clamp(0.0, 1.0) as f32
            } else {
                0.0
            }
        })
    }
}

/// A lane's power iteration has settled when its unit vector moves less
/// than this in a step. Its angle to the eigenvector is then about
/// `SETTLED / (1 − λ2/λ1)`, and the Rayleigh quotient's relative error
/// about the square of that times `1 − λ2/λ1`: 1e-8 / (1 − λ2/λ1), well
/// inside the f32 result's rounding wherever the 60 steps suffice.
const SETTLED: f32 = 1e-4;

/// The largest eigenvalue of each lane's symmetric positive semi-definite
/// `j × j` matrix, given by its upper triangle `c` row by row (and its
/// trace): power
/// iteration from the unit vector `v`, in f32 ([`BATCH`] lanes to a vector
/// register), lane by lane until the vector settles ([`SETTLED`]), at most
/// 60 steps; then the Rayleigh quotient of that vector in f64 from `c`,
/// checked to be the largest. `active` marks the lanes to solve and comes
/// back marking those that did not settle or settled on another
/// eigenvalue. A lane whose matrix maps `v` to zero gets 0.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2", "aarch64+neon"))]
fn batch_largest(
    c: &[[f64; BATCH]],
    trace: &[f64; BATCH],
    j: usize,
    v: &mut [[f32; BATCH]],
    w: &mut [[f32; BATCH]],
    full: &mut [[f32; BATCH]],
    active: &mut [bool; BATCH],
) -> [f64; BATCH] {
    // the whole matrix, so that C v reads it row by row
    let mut n = 0;
    for a in 0..j {
        for e in a..j {
            let cf = c[n].map(|x| x as f32);
            (full[a * j + e], full[e * j + a]) = (cf, cf);
            n += 1;
        }
    }
    let solved = *active;
    let zero = power_iterate(full, j, v, w, active);
    let lambda = rayleigh(c, j, v, &zero);
    // A vector that started close to another eigenvector (the order of
    // two eigenvalues swaps between neighbouring windows) can settle
    // there. Where ρ is over half the trace it is λ1 all the same: a
    // settled vector's ρ is within 1e-4 λ1 of an eigenvalue, and the
    // others, all ≥ 0, sum to less than the rest of the trace.
    let settled: [bool; BATCH] = std::array::from_fn(|l| solved[l] && !active[l] && !zero[l]);
    if !(0..BATCH).any(|l| settled[l] && lambda[l] <= (0.5 + 1e-3) * trace[l]) {
        return lambda;
    }
    certify_largest(full, j, &lambda, &settled, active);
    lambda
}

/// Power iteration on the whole matrices `full` (order `j`) of the active
/// lanes, at most 60 steps, until the vectors settle; returns the lanes
/// whose matrix sent the vector to zero.
fn power_iterate(
    full: &[[f32; BATCH]],
    j: usize,
    v: &mut [[f32; BATCH]],
    w: &mut [[f32; BATCH]],
    active: &mut [bool; BATCH],
) -> [bool; BATCH] {
    let mut zero = [false; BATCH];
    for _ in 0..60 {
        if !active.iter().any(|a| *a) {
            break;
        }
        // w = C v, four rows at a time: their sums are independent chains
        // that overlap, where one row at a time waited on each addition
        let mut a = 0;
        while a + 4 <= j {
            let rows: [&[[f32; BATCH]]; 4] = std::array::from_fn(|r| &full[(a + r) * j..][..j]);
            let mut acc = [[0f32; BATCH]; 4];
            for (e, ve) in v.iter().enumerate() {
                for (acc_r, row) in acc.iter_mut().zip(&rows) {
                    let c = &row[e];
                    *acc_r = std::array::from_fn(|l| acc_r[l] + c[l] * ve[l]);
                }
            }
            w[a..a + 4].copy_from_slice(&acc);
            a += 4;
        }
        for (r, wa) in w.iter_mut().enumerate().skip(a) {
            let mut acc = [0f32; BATCH];
            for (cae, ve) in full[r * j..(r + 1) * j].iter().zip(v.iter()) {
                acc = std::array::from_fn(|l| acc[l] + cae[l] * ve[l]);
            }
            *wa = acc;
        }
        let mut norm = [0f32; BATCH];
        for wa in w.iter() {
            norm = std::array::from_fn(|l| norm[l] + wa[l] * wa[l]);
        }
        // settled lanes keep their vector, the start for the next window
        let scale: [f32; BATCH] = std::array::from_fn(|l| {
            if active[l] && norm[l] > 0.0 {
                1.0 / norm[l].sqrt()
            } else {
                0.0
            }
        });
        let mut moved = [0f32; BATCH];
        for (wa, va) in w.iter().zip(v.iter_mut()) {
            let next: [f32; BATCH] = std::array::from_fn(|l| {
                if scale[l] > 0.0 {
                    wa[l] * scale[l]
                } else {
                    va[l]
                }
            });
            moved = std::array::from_fn(|l| moved[l] + (next[l] - va[l]) * (next[l] - va[l]));
            *va = next;
        }
        for l in 0..BATCH {
            if active[l] && norm[l] == 0.0 {
                (zero[l], active[l]) = (true, false);
            } else if active[l] && moved[l] <= SETTLED * SETTLED {
                active[l] = false;
            }
        }
    }
    zero
}

/// vᵀ C v / vᵀ v in f64, from the upper triangle `c` (0 for a zero vector).
fn rayleigh(
    c: &[[f64; BATCH]],
    j: usize,
    v: &[[f32; BATCH]],
    zero: &[bool; BATCH],
) -> [f64; BATCH] {
    let (mut quad, mut length) = ([0f64; BATCH], [0f64; BATCH]);
    let mut n = 0;
    for a in 0..j {
        let va = v[a].map(|x| x as f64);
        length = std::array::from_fn(|l| length[l] + va[l] * va[l]);
        let mut row = [0f64; BATCH];
        for (e, ve) in v.iter().enumerate().skip(a) {
            let ve = ve.map(|x| x as f64);
            let weight = if e == a { 1.0 } else { 2.0 };
            row = std::array::from_fn(|l| row[l] + weight * c[n][l] * ve[l]);
            n += 1;
        }
        quad = std::array::from_fn(|l| quad[l] + row[l] * va[l]);
    }
    std::array::from_fn(|l| {
        if zero[l] || length[l] == 0.0 {
            0.0
        } else {
            quad[l] / length[l]
        }
    })
}

/// Mark unsettled the `settled` lanes whose ρ = `lambda` might not be the
/// largest eigenvalue: λ1 is below ρ (1 + 1e-4) when C − ρ (1 + 1e-4) I is
/// negative definite (`full` is overwritten by its factorisation).
fn certify_largest(
    full: &mut [[f32; BATCH]],
    j: usize,
    lambda: &[f64; BATCH],
    settled: &[bool; BATCH],
    active: &mut [bool; BATCH],
) {
    // Elsewhere λ1 is below ρ (1 + 1e-4) when C − ρ (1 + 1e-4) I is
    // negative definite, which its LDLᵀ factorisation shows with every
    // pivot negative (Sylvester's inertia; f32 is ample for that margin).
    // A lane that fails is marked unsettled.
    let shift: [f32; BATCH] = lambda.map(|x| (x * (1.0 + 1e-4)) as f32);
    for a in 0..j {
        let d = &mut full[a * j + a];
        *d = std::array::from_fn(|l| d[l] - shift[l]);
    }
    let mut negative = [true; BATCH];
    for k in 0..j {
        let d = full[k * j + k];
        negative = std::array::from_fn(|l| negative[l] && d[l] < 0.0);
        let inv: [f32; BATCH] = std::array::from_fn(|l| 1.0 / d[l]);
        for i in k + 1..j {
            let lik: [f32; BATCH] = std::array::from_fn(|l| full[i * j + k][l] * inv[l]);
            for m in k + 1..=i {
                let (amk, aim) = (full[m * j + k], &mut full[i * j + m]);
                *aim = std::array::from_fn(|l| aim[l] - lik[l] * amk[l]);
            }
        }
    }
    for (l, negative) in negative.iter().enumerate() {
        if settled[l] && !negative {
            active[l] = true;
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    impl Batch {
        /// Lane `l`'s matrix from its upper triangle.
        fn set(&mut self, l: usize, upper: &[f64], live: bool) {
            for (dst, &c) in self.upper.iter_mut().zip(upper) {
                dst[l] = c;
            }
            self.live[l] = live;
        }

        /// Every lane live, with the diagonal matrix of `diagonal`.
        fn diagonal(diagonal: &[f64]) -> Batch {
            let j = diagonal.len();
            let upper: Vec<f64> = (0..j)
                .flat_map(|a| (a..j).map(move |e| if a == e { diagonal[a] } else { 0.0 }))
                .collect();
            let mut batch = Batch::new(j);
            batch.restart();
            for l in 0..BATCH {
                batch.set(l, &upper, true);
            }
            batch
        }
    }

    #[test]
    fn close_eigenvalues_fall_back_to_a_full_solve() {
        // λ2 = 0.99·λ1: power iteration does not settle in 60 steps
        let j = 9;
        let diagonal = [1.0, 0.99, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05, 0.01];
        let mut batch = Batch::diagonal(&diagonal);
        let mut active = [true; BATCH];
        let (mut v, mut w, mut full) = (batch.v.clone(), batch.w.clone(), batch.full.clone());
        let trace = [diagonal.iter().sum(); BATCH];
        batch_largest(
            &batch.upper,
            &trace,
            j,
            &mut v,
            &mut w,
            &mut full,
            &mut active,
        );
        assert!(active.iter().all(|a| *a), "settled: {active:?}");
        let want = 1.0 / diagonal.iter().sum::<f64>();
        for got in batch.coherence(BATCH) {
            assert!((got as f64 - want).abs() < 1e-6, "{got} {want}");
        }
    }

    #[test]
    fn a_start_on_another_eigenvector_still_finds_the_largest() {
        // the window before left each lane's vector on the eigenvector of
        // λ2 = 0.8: C v = 0.8 v, so the iteration settles at once on 0.8
        let diagonal = [0.8, 1.0, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05, 0.01];
        let mut batch = Batch::diagonal(&diagonal);
        for (a, v) in batch.v.iter_mut().enumerate() {
            *v = [if a == 0 { 1.0 } else { 0.0 }; BATCH];
        }
        let want = 1.0 / diagonal.iter().sum::<f64>();
        for got in batch.coherence(BATCH) {
            assert!((got as f64 - want).abs() < 1e-6, "{got} {want}");
        }
    }

    #[test]
    fn batched_power_iteration_finds_the_largest_eigenvalue() {
        let mut seed = 5u64;
        let mut rand = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            (seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        let j = 9;
        let mut batch = Batch::new(j);
        batch.restart();
        let entries: Vec<(usize, usize)> =
            (0..j).flat_map(|a| (a..j).map(move |e| (a, e))).collect();
        for round in 0..20 {
            let mut want = [0f64; BATCH];
            for (l, want) in want.iter_mut().enumerate() {
                // D Dᵀ of 9 samples of 9 traces: coherent (a shared
                // waveform plus noise) in some lanes, noise in others
                let coherent = (round + l) % 3 != 0;
                let wave: Vec<f64> = (0..9).map(|_| rand()).collect();
                let d: Vec<f64> = (0..j * 9)
                    .map(|n| if coherent { wave[n % 9] * (1.0 + 0.1 * (n / 9) as f64) } else { 0.0 } + 0.1 * rand())
                    .collect();
                let c: Vec<f64> = (0..j * j)
                    .map(|n| {
                        (0..9)
                            .map(|t| d[(n / j) * 9 + t] * d[(n % j) * 9 + t])
                            .sum()
                    })
                    .collect();
                let upper: Vec<f64> = entries.iter().map(|&(a, e)| c[a * j + e]).collect();
                batch.set(l, &upper, true);
                let trace: f64 = (0..j).map(|a| c[a * j + a]).sum();
                *want = nalgebra::DMatrix::from_row_slice(j, j, &c)
                    .symmetric_eigenvalues()
                    .max()
                    / trace;
            }
            let got = batch.coherence(BATCH);
            for l in 0..BATCH {
                assert!(
                    (got[l] as f64 - want[l]).abs() < 1e-6,
                    "{} {}",
                    got[l],
                    want[l]
                );
            }
        }
    }
}
