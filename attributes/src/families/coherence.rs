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
                  across faults; 0 where all amplitudes are 0. λ1 by Householder reduction and \
                  bisection: the same work whatever the eigenvalue gap.",
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
/// one reduction and bisection run across the lanes
/// ([`largest_eigenvalues`]).
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
/// upper triangles row by row, and room to reduce them.
struct Batch {
    j: usize,
    upper: Vec<[f64; BATCH]>,
    scratch: Scratch,
    live: [bool; BATCH],
}

/// Room to reduce a batch's matrices (order `j`): the whole matrix, the
/// tridiagonal's diagonal and off-diagonal, and two vectors.
struct Scratch {
    full: Vec<[f64; BATCH]>,
    diag: Vec<[f64; BATCH]>,
    off: Vec<[f64; BATCH]>,
    v: Vec<[f64; BATCH]>,
    p: Vec<[f64; BATCH]>,
}

impl Batch {
    fn new(j: usize) -> Batch {
        Batch {
            j,
            upper: vec![[0.0; BATCH]; j * (j + 1) / 2],
            scratch: Scratch {
                full: vec![[0.0; BATCH]; j * j],
                diag: vec![[0.0; BATCH]; j],
                off: vec![[0.0; BATCH]; j],
                v: vec![[0.0; BATCH]; j],
                p: vec![[0.0; BATCH]; j],
            },
            live: [false; BATCH],
        }
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
        let lambda = largest_eigenvalues(&self.upper, &trace, j, &mut self.scratch);
        std::array::from_fn(|l| {
            if l < lanes && self.live[l] && trace[l] > 0.0 {
                (lambda[l] / trace[l]).clamp(0.0, 1.0) as f32
            } else {
                0.0
            }
        })
    }
}

/// The bracket's final width, relative to the trace: 2⁻²³, below the f32
/// result's rounding (the result is λ1 / trace, at most 1).
const RESOLUTION: f64 = 1.0 / (1u64 << 23) as f64;

/// The largest eigenvalue of each lane's symmetric `j × j` matrix, given
/// by its upper triangle `c` row by row (and its trace), in f64: Householder reduction to
/// a tridiagonal matrix, then bisection on its Sturm counts. The work is
/// the same whatever the matrix: power iteration, which this replaced,
/// slowed down as λ2 neared λ1, and on noisy data it often does.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2", "aarch64+neon"))]
fn largest_eigenvalues(
    c: &[[f64; BATCH]],
    trace: &[f64; BATCH],
    j: usize,
    scratch: &mut Scratch,
) -> [f64; BATCH] {
    // scaled by the trace: every eigenvalue of a semi-definite matrix then
    // lies in [0, 1], and so does every entry
    let scale: [f64; BATCH] =
        std::array::from_fn(|l| if trace[l] > 0.0 { 1.0 / trace[l] } else { 1.0 });
    let full = &mut scratch.full;
    let mut n = 0;
    for a in 0..j {
        for e in a..j {
            full[a * j + e] = std::array::from_fn(|l| c[n][l] * scale[l]);
            n += 1;
        }
    }
    tridiagonal(scratch, j);
    // the off-diagonal squared, in the reduction's spare vector
    for (o2, o) in scratch.p.iter_mut().zip(&scratch.off) {
        *o2 = std::array::from_fn(|l| o[l] * o[l]);
    }
    let (diag, off, off2) = (&scratch.diag, &scratch.off, &scratch.p);
    // λ1 is at least the largest diagonal entry and the Rayleigh quotient
    // of the all-ones vector (the mean of C's entries times j, close to λ1
    // for coherent traces); at most the largest Gershgorin bound and the
    // Frobenius norm √Σλ² (close to λ1 where one eigenvalue dominates)
    let (mut lo, mut hi) = ([f64::MIN; BATCH], [f64::MIN; BATCH]);
    for k in 0..j {
        let below = if k > 0 { off[k - 1] } else { [0.0; BATCH] };
        let above = if k + 1 < j { off[k] } else { [0.0; BATCH] };
        lo = std::array::from_fn(|l| lo[l].max(diag[k][l]));
        hi = std::array::from_fn(|l| hi[l].max(diag[k][l] + below[l].abs() + above[l].abs()));
    }
    let (mut sum, mut squares) = ([0f64; BATCH], [0f64; BATCH]);
    let mut n = 0;
    for a in 0..j {
        for e in a..j {
            let twice = if a == e { 1.0 } else { 2.0 };
            let x = c[n];
            sum = std::array::from_fn(|l| sum[l] + twice * x[l] * scale[l]);
            squares = std::array::from_fn(|l| squares[l] + twice * (x[l] * scale[l]).powi(2));
            n += 1;
        }
    }
    lo = std::array::from_fn(|l| lo[l].max(sum[l] / j as f64));
    hi = std::array::from_fn(|l| hi[l].min(squares[l].sqrt()).max(lo[l]));
    // bisection down to the resolution: as many steps as the widest
    // lane's bracket needs, never more than 23
    let widest = (0..BATCH).map(|l| hi[l] - lo[l]).fold(0.0, f64::max);
    let steps = (widest / RESOLUTION).log2().ceil().clamp(0.0, 23.0) as usize;
    for _ in 0..steps {
        let mid: [f64; BATCH] = std::array::from_fn(|l| 0.5 * (lo[l] + hi[l]));
        let below = count_below(diag, off2, j, &mid);
        for l in 0..BATCH {
            // every eigenvalue below mid: λ1 is too
            if below[l] == j as u32 {
                hi[l] = mid[l];
            } else {
                lo[l] = mid[l];
            }
        }
    }
    std::array::from_fn(|l| 0.5 * (lo[l] + hi[l]) / scale[l])
}

/// Householder reduction of the symmetric matrices `scratch.full` (order
/// `j`, lane by lane, their upper triangles only: row r, columns r..j;
/// overwritten) to tridiagonal form: `scratch.diag` and `scratch.off`.
/// Only the upper triangle is read and updated, half the work of the
/// whole matrix. Inlined into its caller's vector code.
#[inline(always)]
fn tridiagonal(scratch: &mut Scratch, j: usize) {
    let Scratch {
        full: a,
        diag,
        off,
        v,
        p,
    } = scratch;
    for k in 0..j.saturating_sub(2) {
        // the reflection taking column k below the diagonal to α e
        let mut norm = [0f64; BATCH];
        for i in k + 1..j {
            let x = a[k * j + i];
            norm = std::array::from_fn(|l| norm[l] + x[l] * x[l]);
        }
        let x0 = a[k * j + k + 1];
        let alpha: [f64; BATCH] = std::array::from_fn(|l| {
            let r = norm[l].sqrt();
            if x0[l] > 0.0 {
                -r
            } else {
                r
            }
        });
        for i in k + 1..j {
            v[i] = a[k * j + i];
        }
        v[k + 1] = std::array::from_fn(|l| x0[l] - alpha[l]);
        let mut vv = [0f64; BATCH];
        for vi in &v[k + 1..j] {
            vv = std::array::from_fn(|l| vv[l] + vi[l] * vi[l]);
        }
        // a column already reduced reflects nothing
        let tau: [f64; BATCH] =
            std::array::from_fn(|l| if vv[l] > 0.0 { 2.0 / vv[l] } else { 0.0 });
        off[k] = std::array::from_fn(|l| if vv[l] > 0.0 { alpha[l] } else { x0[l] });
        // A ← H A H on the trailing block: p = τ A v, q = p − (τ vᵀp / 2) v,
        // A ← A − v qᵀ − q vᵀ
        // A v from the upper triangle: each entry off the diagonal serves
        // its row and its column
        for pr in &mut p[k + 1..j] {
            *pr = [0.0; BATCH];
        }
        for r in k + 1..j {
            let vr = v[r];
            let mut acc = p[r];
            let d = a[r * j + r];
            acc = std::array::from_fn(|l| acc[l] + d[l] * vr[l]);
            for e in r + 1..j {
                let (x, ve) = (a[r * j + e], v[e]);
                acc = std::array::from_fn(|l| acc[l] + x[l] * ve[l]);
                p[e] = std::array::from_fn(|l| p[e][l] + x[l] * vr[l]);
            }
            p[r] = acc;
        }
        let mut vp = [0f64; BATCH];
        for r in k + 1..j {
            p[r] = std::array::from_fn(|l| tau[l] * p[r][l]);
            vp = std::array::from_fn(|l| vp[l] + v[r][l] * p[r][l]);
        }
        let half: [f64; BATCH] = std::array::from_fn(|l| 0.5 * tau[l] * vp[l]);
        for r in k + 1..j {
            p[r] = std::array::from_fn(|l| p[r][l] - half[l] * v[r][l]);
        }
        for r in k + 1..j {
            for e in r..j {
                let (vr, ve, qr, qe) = (v[r], v[e], p[r], p[e]);
                let x = &mut a[r * j + e];
                *x = std::array::from_fn(|l| x[l] - vr[l] * qe[l] - qr[l] * ve[l]);
            }
        }
    }
    if j >= 2 {
        off[j - 2] = a[(j - 2) * j + (j - 1)];
    }
    for (k, d) in diag.iter_mut().enumerate() {
        *d = a[k * j + k];
    }
}

/// How many eigenvalues of each lane's tridiagonal matrix (its diagonal,
/// and its off-diagonal squared) lie below `x`:
/// the sign changes of the leading minors of T − x I (Sturm), a pivot's
/// sign without its division. The matrices are scaled to entries of at
/// most 1, so the minors stay in range; one that grows small is scaled
/// up with its predecessor, which keeps their signs.
#[inline(always)]
fn count_below(
    diag: &[[f64; BATCH]],
    off2: &[[f64; BATCH]],
    j: usize,
    x: &[f64; BATCH],
) -> [u32; BATCH] {
    let mut count = [0u32; BATCH];
    let (mut before, mut last) = ([0f64; BATCH], [1f64; BATCH]);
    for k in 0..j {
        let b2 = if k > 0 { off2[k - 1] } else { [0.0; BATCH] };
        let next: [f64; BATCH] =
            std::array::from_fn(|l| (diag[k][l] - x[l]) * last[l] - b2[l] * before[l]);
        // a zero minor counts as a change (a point just above x), and
        // stands as a tiny one of the other sign for the next
        let next: [f64; BATCH] = std::array::from_fn(|l| {
            if next[l] == 0.0 {
                -last[l] * 1e-300
            } else {
                next[l]
            }
        });
        count = std::array::from_fn(|l| count[l] + ((next[l] < 0.0) != (last[l] < 0.0)) as u32);
        before = last;
        last = next;
        // minors that have grown small are scaled up, both alike, every
        // fourth step (they cannot grow large: below 2.5^j)
        if k % 4 == 3 {
            let up: [f64; BATCH] =
                std::array::from_fn(|l| if last[l].abs() < 1e-150 { 1e150 } else { 1.0 });
            before = std::array::from_fn(|l| before[l] * up[l]);
            last = std::array::from_fn(|l| last[l] * up[l]);
        }
    }
    count
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
            for l in 0..BATCH {
                batch.set(l, &upper, true);
            }
            batch
        }
    }

    #[test]
    fn close_and_equal_eigenvalues_are_found_alike() {
        // λ2 = 0.99·λ1, λ2 = λ1, and λ1 last: no gap, no start vector
        for diagonal in [
            [1.0, 0.99, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05, 0.01],
            [1.0, 1.0, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05, 0.01],
            [0.8, 0.5, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05, 1.0],
        ] {
            let mut batch = Batch::diagonal(&diagonal);
            let want = 1.0 / diagonal.iter().sum::<f64>();
            for got in batch.coherence(BATCH) {
                assert!((got as f64 - want).abs() < 1e-6, "{got} {want}");
            }
        }
    }

    #[test]
    fn batched_reduction_finds_the_largest_eigenvalue() {
        let mut seed = 5u64;
        let mut rand = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            (seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        let j = 9;
        let mut batch = Batch::new(j);
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
