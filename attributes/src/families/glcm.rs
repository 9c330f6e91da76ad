//! Grey-level co-occurrence (GLCM) texture (Haralick 1973) on inline
//! sections: around every sample, a window of crosslines × samples is
//! quantised to `levels` grey levels, pairs of neighbours one step apart
//! are counted symmetrically in each direction, and a property of the
//! normalised matrix is averaged over the directions, as
//! `skimage.feature.graycomatrix(..., symmetric=True, normed=True)` and
//! `graycoprops` compute it.

use crate::window::symmetric_index;
use crate::{masked_region_kernel, AttrError, Halo, ParamKind, ParamSpec, Params, Spec};
use ndarray::{Array3, ArrayView3};

use crate::family::TEXTURE as FAMILY;
const REFERENCE: &str = "Haralick, Shanmugam & Dinstein (1973), Textural features for image \
                         classification, IEEE SMC-3(6); Chopra & Alexeev (2006), Applications \
                         of texture attribute analysis to 3D seismic data, The Leading Edge 25(8)";

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "window",
        kind: ParamKind::OddIntList { len: 2 },
        default: "[7, 7]",
        unit: "crosslines, samples",
        help: "window on the inline section around each sample",
    },
    ParamSpec {
        name: "levels",
        kind: ParamKind::Int { min: 2, max: 256 },
        default: "16",
        unit: "",
        help: "grey levels of the quantisation",
    },
    ParamSpec {
        name: "directions",
        kind: ParamKind::Choice(&["all", "0", "45", "90", "135"]),
        default: "\"all\"",
        unit: "degrees",
        help: "neighbour direction on the section (0: next crossline, 90: next sample up), \
               or the mean over all four",
    },
    ParamSpec {
        name: "amplitude_range",
        kind: ParamKind::FloatList {
            len: 2,
            min: f64::NEG_INFINITY,
            max: f64::INFINITY,
        },
        default: "null",
        unit: "input amplitude",
        help: "[low, high] mapped onto the grey levels (values outside clip); default: each \
               window's own minimum and maximum",
    },
];

/// Which co-occurrence property.
#[derive(Clone, Copy, PartialEq)]
pub enum Prop {
    Contrast,
    Dissimilarity,
    Homogeneity,
    Energy,
    Entropy,
    Mean,
    Variance,
    Correlation,
}

/// skimage's offsets for distance 1: (row, column) = (sample, crossline).
const OFFSETS: [(isize, isize); 4] = [(0, 1), (-1, 1), (-1, 0), (-1, -1)];

/// The texture window, grey levels, directions and quantisation range.
#[derive(serde::Deserialize)]
struct Glcm {
    window: [usize; 2],
    levels: usize,
    directions: String,
    amplitude_range: Option<[f64; 2]>,
}

fn build(p: &Params, prop: Prop) -> Result<Box<dyn crate::Kernel>, AttrError> {
    let Glcm {
        window: [wx, wt],
        levels,
        directions,
        amplitude_range,
    } = p.typed()?;
    let dirs: Vec<(isize, isize)> = match directions.as_str() {
        "all" => OFFSETS.to_vec(),
        d => vec![
            OFFSETS[["0", "45", "90", "135"]
                .iter()
                .position(|x| *x == d)
                .expect("validated")],
        ],
    };
    let range = match amplitude_range {
        Some(r) => {
            let (lo, hi) = (r[0], r[1]);
            if hi <= lo {
                return Err(AttrError::BadParam {
                    param: "amplitude_range".into(),
                    message: format!("[{lo}, {hi}]: the high end must exceed the low end"),
                });
            }
            Some((lo as f32, hi as f32))
        }
        None => None,
    };
    masked_region_kernel(
        [Halo::Depth(0), Halo::Depth(wx / 2), Halo::Depth(wt / 2)],
        p,
        move |b, core, sh| {
            let masked = crate::nulls::has_nulls(b, sh);
            let b = b.as_standard_layout();
            let w = Window {
                wx,
                wt,
                levels,
                range,
                prop,
            };
            match masked {
                true => w.compute_masked(b.view(), core, &dirs),
                false => w.compute(b.view(), core, &dirs),
            }
        },
    )
}

/// The neighbour pairs of each direction, as offsets into a window of
/// `wt` rows (samples) × `wx` columns (crosslines).
fn direction_pairs(dirs: &[(isize, isize)], wx: usize, wt: usize) -> Vec<Vec<(usize, usize)>> {
    let (wx, wt) = (wx as isize, wt as isize);
    dirs.iter()
        .map(|&(dr, dc)| {
            let mut v = Vec::new();
            for r in 0..wt {
                for c in 0..wx {
                    let (r2, c2) = (r + dr, c + dc);
                    if r2 >= 0 && c2 >= 0 && r2 < wt && c2 < wx {
                        v.push(((r * wx + c) as usize, (r2 * wx + c2) as usize));
                    }
                }
            }
            v
        })
        .collect()
}

/// Outputs computed together along the sample axis.
const LANES: usize = 16;

/// Energy or entropy of the co-occurrence matrix of the pairs `pr` of
/// quantised levels `q`, one window at a time (the masked path);
/// `counts` and `touched` are scratch kept between windows.
fn window_matrix_property(
    pr: &[(usize, usize)],
    q: &[usize],
    levels: usize,
    prop: Prop,
    counts: &mut [u32],
    touched: &mut Vec<usize>,
) -> f64 {
    for t in touched.drain(..) {
        counts[t] = 0;
    }
    for &(u, v) in pr {
        let (a, z) = (q[u], q[v]);
        for cell in [a * levels + z, z * levels + a] {
            if counts[cell] == 0 {
                touched.push(cell);
            }
            counts[cell] += 1;
        }
    }
    let inv = 1.0 / (2.0 * pr.len() as f64);
    let probs = touched.iter().map(|&t| counts[t] as f64 * inv);
    if prop == Prop::Energy {
        probs.map(|p| p * p).sum::<f64>().sqrt()
    } else {
        probs.map(|p| -p * p.ln()).sum::<f64>()
    }
}

/// The texture of windows without nulls, [`LANES`] neighbouring samples of
/// a trace at once: their windows are the same shifted runs of the
/// section's traces, so the quantisation (each window by its own range)
/// and the pair sums run as vector operations across the outputs. Counts
/// are small integers, so the sums equal the per-window ones.
struct Window {
    wx: usize,
    wt: usize,
    levels: usize,
    range: Option<(f32, f32)>,
    prop: Prop,
}

impl Window {
    /// The property over the live pairs of each window, for a block with
    /// null samples (NaN where no direction has a live pair).
    fn compute_masked(
        &self,
        b: ArrayView3<f32>,
        core: &crate::Region,
        dirs: &[(isize, isize)],
    ) -> Array3<f32> {
        let Window {
            wx,
            wt,
            levels,
            range,
            prop,
        } = *self;
        // energy and entropy need the matrix itself; the other properties
        // are sums over the pairs (P is the symmetric pair distribution)
        let needs_matrix = matches!(prop, Prop::Energy | Prop::Entropy);
        let (_, n1, n2) = b.dim();
        let (rx, rt) = ((wx / 2) as isize, (wt / 2) as isize);
        // the window's source rows and columns, once per block
        let cols: Vec<Vec<usize>> = (0..n1)
            .map(|x| {
                (-rx..=rx)
                    .map(|d| symmetric_index(x as isize + d, n1))
                    .collect()
            })
            .collect();
        let rows: Vec<Vec<usize>> = (0..n2)
            .map(|k| {
                (-rt..=rt)
                    .map(|d| symmetric_index(k as isize + d, n2))
                    .collect()
            })
            .collect();
        let pairs = direction_pairs(dirs, wx, wt);
        let mut out = Array3::<f32>::zeros((core[0].len(), core[1].len(), core[2].len()));
        let mut win = vec![0f32; wx * wt];
        let mut q = vec![0usize; wx * wt];
        let mut counts = vec![0u32; levels * levels];
        let mut touched: Vec<usize> = Vec::new();
        for i in core[0].clone() {
            let sec = b.slice(ndarray::s![i, .., ..]);
            let sec = sec.as_slice().expect("standard layout");
            for x in core[1].clone() {
                for k in core[2].clone() {
                    // the window, row = sample, column = crossline
                    for (r, &kk) in rows[k].iter().enumerate() {
                        for (c, &xx) in cols[x].iter().enumerate() {
                            win[r * wx + c] = sec[xx * n2 + kk];
                        }
                    }
                    // over the pairs whose two samples are live
                    let gaps = win.iter().any(|v| v.is_nan());
                    let (lo, hi) = range.unwrap_or_else(|| {
                        win.iter()
                            .filter(|v| !v.is_nan())
                            .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, z), &v| {
                                (a.min(v), z.max(v))
                            })
                    });
                    let scale = if hi > lo {
                        levels as f32 / (hi - lo)
                    } else {
                        0.0
                    };
                    for (d, &v) in q.iter_mut().zip(&win) {
                        *d = (((v - lo) * scale).max(0.0) as usize).min(levels - 1);
                    }
                    let mut total = 0.0;
                    let mut directions = 0;
                    for pr in &pairs {
                        let live_pairs: Vec<(usize, usize)>;
                        let pr = if gaps {
                            live_pairs = pr
                                .iter()
                                .copied()
                                .filter(|&(u, v)| !win[u].is_nan() && !win[v].is_nan())
                                .collect();
                            if live_pairs.is_empty() {
                                continue;
                            }
                            &live_pairs
                        } else {
                            pr
                        };
                        directions += 1;
                        if needs_matrix {
                            total += window_matrix_property(
                                pr,
                                &q,
                                levels,
                                prop,
                                &mut counts,
                                &mut touched,
                            );
                        } else {
                            total += pair_property(pr, &q, prop);
                        }
                    }
                    out[[i - core[0].start, x - core[1].start, k - core[2].start]] =
                        if directions > 0 {
                            (total / directions as f64) as f32
                        } else {
                            f32::NAN
                        };
                }
            }
        }
        out
    }

    fn compute(
        &self,
        b: ArrayView3<f32>,
        core: &crate::Region,
        dirs: &[(isize, isize)],
    ) -> Array3<f32> {
        let (_, n1, n2) = b.dim();
        let (wx, wt) = (self.wx, self.wt);
        let (rx, rt) = ((wx / 2) as isize, (wt / 2) as isize);
        let len = core[2].len();
        let pairs = direction_pairs(dirs, wx, wt);
        let mut out = Vec::with_capacity(core[0].len() * core[1].len() * len);
        // each trace of the section, reflected by rt beyond the core's ends
        let span = len + 2 * rt as usize;
        let mut padded = vec![0f32; n1 * span];
        let mut q = vec![[0f32; LANES]; wx * wt];
        let mut counts = vec![0u32; self.levels * self.levels];
        let matrix = matches!(self.prop, Prop::Energy | Prop::Entropy);
        let mut keyed = if matrix {
            Keyed::new(&pairs, self.levels, wx * wt)
        } else {
            None
        };
        let step = if keyed.is_some() { KEYED } else { LANES };
        let terms: Vec<Vec<f64>> = pairs
            .iter()
            .map(|p| cell_terms(p.len(), self.prop))
            .collect();
        for i in core[0].clone() {
            let sec = b.slice(ndarray::s![i, .., ..]);
            for (x, line) in padded.chunks_exact_mut(span).enumerate() {
                let trace = sec.slice(ndarray::s![x, ..]);
                for (t, v) in line.iter_mut().enumerate() {
                    *v = trace[symmetric_index(core[2].start as isize - rt + t as isize, n2)];
                }
            }
            for x in core[1].clone() {
                let cols: Vec<usize> = (-rx..=rx)
                    .map(|d| symmetric_index(x as isize + d, n1))
                    .collect();
                let mut k = 0;
                while k < len {
                    let lanes = step.min(len - k);
                    let mut total = [0f64; KEYED];
                    for g in 0..lanes.div_ceil(LANES) {
                        let k0 = k + g * LANES;
                        let group = LANES.min(len - k0);
                        let value = |r: usize, c: usize| -> [f32; LANES] {
                            let at = cols[c] * span + k0 + r;
                            let mut v = [0f32; LANES];
                            v[..group].copy_from_slice(&padded[at..at + group]);
                            v
                        };
                        quantise(&mut q, wx, wt, self.levels, self.range, value);
                        if let Some(keyed) = keyed.as_mut() {
                            keyed.take(g, &q);
                            continue;
                        }
                        for (pr, term) in pairs.iter().zip(&terms) {
                            if matrix {
                                for (l, t) in total.iter_mut().enumerate().take(group) {
                                    *t += matrix_property(
                                        pr,
                                        &q,
                                        l,
                                        self.levels,
                                        self.prop,
                                        &mut counts,
                                        term,
                                    );
                                }
                            } else {
                                let v = pair_sums(pr, &q, self.prop);
                                for (t, v) in total.iter_mut().zip(v) {
                                    *t += v;
                                }
                            }
                        }
                    }
                    if let Some(keyed) = keyed.as_mut() {
                        for pr in &pairs {
                            keyed.add(pr, self.levels, self.prop, &mut total);
                        }
                    }
                    let n = pairs.len() as f64;
                    out.extend(total[..lanes].iter().map(|t| (t / n) as f32));
                    k += lanes;
                }
            }
        }
        Array3::from_shape_vec((core[0].len(), core[1].len(), len), out).expect("sized")
    }
}

/// Quantise each window of the lanes (`value(row, column)`) to `levels`
/// grey levels over its own range (or the given one), as whole-number f32.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2", "aarch64+neon"))]
fn quantise(
    q: &mut [[f32; LANES]],
    wx: usize,
    wt: usize,
    levels: usize,
    range: Option<(f32, f32)>,
    value: impl Fn(usize, usize) -> [f32; LANES],
) {
    for r in 0..wt {
        for c in 0..wx {
            q[r * wx + c] = value(r, c);
        }
    }
    let (lo, hi) = match range {
        Some((lo, hi)) => ([lo; LANES], [hi; LANES]),
        None => {
            let (mut lo, mut hi) = ([f32::INFINITY; LANES], [f32::NEG_INFINITY; LANES]);
            for v in q.iter() {
                for l in 0..LANES {
                    lo[l] = lo[l].min(v[l]);
                    hi[l] = hi[l].max(v[l]);
                }
            }
            (lo, hi)
        }
    };
    let mut scale = [0f32; LANES];
    for l in 0..LANES {
        scale[l] = if hi[l] > lo[l] {
            levels as f32 / (hi[l] - lo[l])
        } else {
            0.0
        };
    }
    let top = (levels - 1) as f32;
    for v in q.iter_mut() {
        for l in 0..LANES {
            // as the scalar path: truncate, then clip to the top level
            v[l] = ((v[l] - lo[l]) * scale[l]).max(0.0).trunc().min(top);
        }
    }
}

/// The sum over the pairs of `term(a, z)`, lane by lane.
#[inline(always)]
fn sum_pairs(
    pairs: &[(usize, usize)],
    q: &[[f32; LANES]],
    term: impl Fn(f64, f64) -> f64,
) -> [f64; LANES] {
    let mut acc = [0f64; LANES];
    for &(u, v) in pairs {
        let (a, z) = (&q[u], &q[v]);
        for l in 0..LANES {
            acc[l] += term(a[l] as f64, z[l] as f64);
        }
    }
    acc
}

/// [`pair_property`] of each lane from its quantised window, summing only
/// what `prop` needs (homogeneity's division costs more than the rest).
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2", "aarch64+neon"))]
fn pair_sums(pairs: &[(usize, usize)], q: &[[f32; LANES]], prop: Prop) -> [f64; LANES] {
    let n = pairs.len() as f64;
    match prop {
        Prop::Contrast => {
            let sq = sum_pairs(pairs, q, |a, z| (a - z) * (a - z));
            std::array::from_fn(|l| sq[l] / n)
        }
        Prop::Dissimilarity => {
            let ab = sum_pairs(pairs, q, |a, z| (a - z).abs());
            std::array::from_fn(|l| ab[l] / n)
        }
        Prop::Homogeneity => {
            let hom = sum_pairs(pairs, q, |a, z| 1.0 / (1.0 + (a - z) * (a - z)));
            std::array::from_fn(|l| hom[l] / n)
        }
        _ => {
            let total = sum_pairs(pairs, q, |a, z| a + z);
            let sum2 = sum_pairs(pairs, q, |a, z| a * a + z * z);
            let prod = if prop == Prop::Correlation {
                sum_pairs(pairs, q, |a, z| a * z)
            } else {
                [0.0; LANES]
            };
            std::array::from_fn(|l| {
                let mean = total[l] / (2.0 * n);
                let var = (sum2[l] / (2.0 * n) - mean * mean).max(0.0);
                match prop {
                    Prop::Mean => mean,
                    Prop::Variance => var,
                    _ => {
                        if var.sqrt() < 1e-15 {
                            1.0
                        } else {
                            (prod[l] / n - mean * mean) / var
                        }
                    }
                }
            })
        }
    }
}

/// Outputs whose energy or entropy is computed together: four groups of
/// [`LANES`], so that the comparisons of pair keys fill wide vectors.
const KEYED: usize = 4 * LANES;

/// Above this many pairs in a direction, comparing every pair with every
/// other costs more than counting into a matrix, lane by lane.
const MAX_KEYED_PAIRS: usize = 512;

/// A lane's grey level, pair key and count as a small unsigned integer:
/// u8 where 16 levels and 127 pairs fit in it (64 lanes to a 512-bit
/// vector), else u16.
trait Tally: Copy + Default + PartialOrd {
    fn level(v: f32) -> Self;
    fn key(a: Self, z: Self, levels: Self) -> Self;
    fn bit(b: bool) -> Self;
    fn plus(self, o: Self) -> Self;
    fn times(self, o: Self) -> Self;
    fn get(self) -> u32;
}

macro_rules! tally {
    ($t:ty) => {
        impl Tally for $t {
            #[inline(always)]
            fn level(v: f32) -> Self {
                // a whole number below 2^16: added to 2^23 it is the low
                // bits of the float's mantissa (integer operations that
                // vectorise, where a saturating float conversion does not)
                (v + 8_388_608.0).to_bits() as $t
            }
            #[inline(always)]
            fn key(a: Self, z: Self, levels: Self) -> Self {
                a.wrapping_mul(levels).wrapping_add(z)
            }
            #[inline(always)]
            fn bit(b: bool) -> Self {
                b as $t
            }
            #[inline(always)]
            fn plus(self, o: Self) -> Self {
                self.wrapping_add(o)
            }
            #[inline(always)]
            fn times(self, o: Self) -> Self {
                self.wrapping_mul(o)
            }
            #[inline(always)]
            fn get(self) -> u32 {
                self as u32
            }
        }
    };
}
tally!(u8);
tally!(u16);

/// The window's grey levels, each pair's unordered key {a, z}, whether
/// a = z, and the symmetric matrix's count at the pair's cell, each for
/// [`KEYED`] lanes.
struct Keys<T> {
    level: Vec<[T; KEYED]>,
    key: Vec<[T; KEYED]>,
    same: Vec<[T; KEYED]>,
    count: Vec<[T; KEYED]>,
}

impl<T: Tally> Keys<T> {
    fn new(cells: usize) -> Self {
        Keys {
            level: vec![[T::default(); KEYED]; cells],
            key: Vec::new(),
            same: Vec::new(),
            count: Vec::new(),
        }
    }

    /// Takes the quantised window of group `g`'s lanes.
    fn take(&mut self, g: usize, q: &[[f32; LANES]]) {
        take_levels(&mut self.level, g, q);
    }
}

/// The whole-number levels of group `g`'s lanes as integers (compiled for
/// the vector unit: the float-to-integer conversion does not vectorise in
/// the baseline build).
#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl",
    "x86_64+avx2",
    "aarch64+neon"
))]
fn take_levels<T: Tally>(level: &mut [[T; KEYED]], g: usize, q: &[[f32; LANES]]) {
    for (dst, src) in level.iter_mut().zip(q) {
        let dst: &mut [T; LANES] = (&mut dst[g * LANES..(g + 1) * LANES])
            .try_into()
            .expect("LANES long");
        for l in 0..LANES {
            dst[l] = T::level(src[l]);
        }
    }
}

/// The pair keys of the lanes at `take`n, in whichever width fits.
enum Keyed {
    Narrow(Keys<u8>),
    Wide(Keys<u16>),
}

impl Keyed {
    /// Keys for these directions' pairs, or None where a matrix per lane
    /// is cheaper.
    fn new(pairs: &[Vec<(usize, usize)>], levels: usize, cells: usize) -> Option<Keyed> {
        let most = pairs.iter().map(Vec::len).max().unwrap_or(0);
        if levels <= 16 && most <= 127 {
            Some(Keyed::Narrow(Keys::new(cells)))
        } else if most <= MAX_KEYED_PAIRS {
            Some(Keyed::Wide(Keys::new(cells)))
        } else {
            None
        }
    }

    fn take(&mut self, g: usize, q: &[[f32; LANES]]) {
        match self {
            Keyed::Narrow(k) => k.take(g, q),
            Keyed::Wide(k) => k.take(g, q),
        }
    }

    /// Adds each lane's energy or entropy for these pairs to `total`.
    fn add(&mut self, pairs: &[(usize, usize)], levels: usize, prop: Prop, total: &mut [f64]) {
        let sums = match self {
            Keyed::Narrow(k) => matrix_sums(pairs, levels as u8, prop, k),
            Keyed::Wide(k) => matrix_sums(pairs, levels as u16, prop, k),
        };
        for (t, v) in total.iter_mut().zip(sums) {
            *t += v;
        }
    }
}

/// Energy or entropy of every lane's matrix for one direction's pairs,
/// without building the matrix. The symmetric matrix's count at a pair's
/// cell (a, z) is the number of pairs with the same unordered levels
/// {a, z}, twice that where a = z; comparing the pairs' keys with each
/// other is vector work across the lanes, where counting into a matrix is
/// a chain of scattered increments that stall on repeats. Then Σ over
/// cells of c² is 2·Σ over pairs of c (each pair puts two entries into
/// cells of count c), and Σ −p·ln p is ln 2N − (1/N)·Σ ln c over the N
/// pairs.
#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl",
    "x86_64+avx2",
    "aarch64+neon"
))]
fn matrix_sums<T: Tally>(
    pairs: &[(usize, usize)],
    levels: T,
    prop: Prop,
    keys: &mut Keys<T>,
) -> [f64; KEYED] {
    let n = pairs.len();
    let Keys {
        level,
        key,
        same,
        count,
    } = keys;
    key.clear();
    same.clear();
    for &(u, v) in pairs {
        let (a, z) = (&level[u], &level[v]);
        let (mut k, mut d) = ([T::default(); KEYED], [T::default(); KEYED]);
        unordered_keys(a, z, levels, &mut k, &mut d);
        key.push(k);
        same.push(d);
    }
    let total = 2.0 * n as f64;
    if prop == Prop::Energy {
        let sum = matched_entries(key, same);
        return std::array::from_fn(|l| (2.0 * sum[l] as f64).sqrt() / total);
    }
    count_matches(key, count);
    for (c, s) in count.iter_mut().zip(same.iter()) {
        // (a, a) takes both entries of each of its pairs
        for l in 0..KEYED {
            c[l] = c[l].plus(c[l].times(s[l]));
        }
    }
    {
        // Σ ln c as the logarithms of products of 96 counts (each at most
        // 2·MAX_KEYED_PAIRS, so the product is < 2^960)
        let mut logs = [0f64; KEYED];
        for block in count.chunks(96) {
            let mut prod = [1f64; KEYED];
            for c in block {
                for (p, c) in prod.iter_mut().zip(c) {
                    *p *= c.get() as f64;
                }
            }
            for (s, p) in logs.iter_mut().zip(prod) {
                *s += p.ln();
            }
        }
        std::array::from_fn(|l| total.ln() - logs[l] / n as f64)
    }
}

/// Σ over the pairs of their cell counts (doubled where a = z), which is
/// all that energy needs: Σ_i Σ_j [k_i = k_j]·(1 + s_i) is symmetric in i
/// and j (equal keys are equally diagonal), so n + 2·Σ_{i<j} over the
/// upper triangle, half the comparisons of the counts themselves and
/// nothing stored per pair.
#[inline(always)]
fn matched_entries<T: Tally>(key: &[[T; KEYED]], same: &[[T; KEYED]]) -> [u32; KEYED] {
    let mut sum = [0u32; KEYED];
    for (i, (ki, si)) in key.iter().zip(same).enumerate() {
        // the later pairs with the same key (fewer than the pairs: fits T)
        let mut row = [T::default(); KEYED];
        let mut j = i + 1;
        while j < key.len() {
            let kj = &key[j];
            for l in 0..KEYED {
                row[l] = row[l].plus(T::bit(ki[l] == kj[l]));
            }
            j += 1;
        }
        for l in 0..KEYED {
            sum[l] += (1 + si[l].get()) * (1 + 2 * row[l].get());
        }
    }
    sum
}

/// The unordered key {a, z} of each lane's pair, and 1 where a = z.
#[inline(always)]
fn unordered_keys<T: Tally>(
    a: &[T; KEYED],
    z: &[T; KEYED],
    levels: T,
    key: &mut [T; KEYED],
    same: &mut [T; KEYED],
) {
    for l in 0..KEYED {
        let (x, y) = (a[l], z[l]);
        let (lo, hi) = if x < y { (x, y) } else { (y, x) };
        key[l] = T::key(lo, hi, levels);
        same[l] = T::bit(x == y);
    }
}

/// How many pairs share each pair's unordered key, four pairs at a time
/// against each loaded one, with the counts in registers. Written so that
/// the compiler vectorises across the lanes and not across the pairs.
#[inline(always)]
fn count_matches<T: Tally>(key: &[[T; KEYED]], count: &mut Vec<[T; KEYED]>) {
    const BLOCK: usize = 4;
    count.clear();
    let n = key.len();
    for i in (0..n).step_by(BLOCK) {
        // past the end, repeat the last pair and drop its counts
        let ks: [&[T; KEYED]; BLOCK] = std::array::from_fn(|b| &key[(i + b).min(n - 1)]);
        let mut cs = [[T::default(); KEYED]; BLOCK];
        let mut j = 0;
        while j < n {
            let kj = &key[j];
            for (ki, ci) in ks.iter().zip(cs.iter_mut()) {
                for l in 0..KEYED {
                    ci[l] = ci[l].plus(T::bit(ki[l] == kj[l]));
                }
            }
            j += 1;
        }
        count.extend_from_slice(&cs[..BLOCK.min(n - i)]);
    }
}

/// Energy or entropy of lane `l`'s matrix for these pairs: the counts,
/// then one pass that sums each cell's term (from `term`, indexed by the
/// count, made by [`cell_terms`]) at its first visit and clears it, in the
/// order the scalar path sums them.
fn matrix_property(
    pairs: &[(usize, usize)],
    q: &[[f32; LANES]],
    l: usize,
    levels: usize,
    prop: Prop,
    counts: &mut [u32],
    term: &[f64],
) -> f64 {
    let cells = |&(u, v): &(usize, usize)| {
        let (a, z) = (q[u][l] as usize, q[v][l] as usize);
        [a * levels + z, z * levels + a]
    };
    for pair in pairs {
        for cell in cells(pair) {
            counts[cell] += 1;
        }
    }
    let mut sum = 0f64;
    for pair in pairs {
        for cell in cells(pair) {
            if counts[cell] != 0 {
                sum += term[counts[cell] as usize];
                counts[cell] = 0;
            }
        }
    }
    if prop == Prop::Energy {
        sum.sqrt()
    } else {
        sum
    }
}

/// Each possible count's term for `pairs` pairs: p² (energy) or −p·ln p
/// (entropy), p = count / 2·pairs, as the scalar path computes it.
fn cell_terms(pairs: usize, prop: Prop) -> Vec<f64> {
    let inv = 1.0 / (2.0 * pairs as f64);
    (0..=2 * pairs)
        .map(|c| {
            let p = c as f64 * inv;
            if prop == Prop::Energy {
                p * p
            } else {
                -p * p.ln()
            }
        })
        .collect()
}

/// A property that is a mean over the symmetric pairs (a, z) and (z, a),
/// computed from the pairs without the matrix.
fn pair_property(pairs: &[(usize, usize)], q: &[usize], prop: Prop) -> f64 {
    let n = pairs.len() as f64;
    let (mut sq, mut ab, mut hom, mut sum, mut sum2, mut prod) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    for &(u, v) in pairs {
        let (a, z) = (q[u] as f64, q[v] as f64);
        let d = a - z;
        sq += d * d;
        ab += d.abs();
        hom += 1.0 / (1.0 + d * d);
        sum += a + z;
        sum2 += a * a + z * z;
        prod += a * z;
    }
    let mean = sum / (2.0 * n);
    let var = (sum2 / (2.0 * n) - mean * mean).max(0.0);
    match prop {
        Prop::Contrast => sq / n,
        Prop::Dissimilarity => ab / n,
        Prop::Homogeneity => hom / n,
        Prop::Mean => mean,
        Prop::Variance => var,
        Prop::Correlation => {
            if var.sqrt() < 1e-15 {
                1.0
            } else {
                (prod / n - mean * mean) / var
            }
        }
        Prop::Energy | Prop::Entropy => unreachable!("from the matrix"),
    }
}

macro_rules! glcm {
    ($const:ident, $name:literal, $prop:expr, $unit:literal, $desc:literal) => {
        pub const $const: Spec = Spec {
            name: $name,
            family: FAMILY,
            description: $desc,
            reference: REFERENCE,
            unit: $unit,
            params: PARAMS,
            build: |p, _| build(p, $prop),
        };
    };
}

glcm!(
    GLCM_CONTRAST,
    "glcm_contrast",
    Prop::Contrast,
    "levels²",
    "GLCM contrast Σ P(i,j)(i − j)²: local grey-level variation; high in chaotic facies."
);
glcm!(
    GLCM_DISSIMILARITY,
    "glcm_dissimilarity",
    Prop::Dissimilarity,
    "levels",
    "GLCM dissimilarity Σ P(i,j)|i − j|: like contrast, growing linearly."
);
glcm!(
    GLCM_HOMOGENEITY,
    "glcm_homogeneity",
    Prop::Homogeneity,
    "ratio 0-1",
    "GLCM homogeneity Σ P(i,j)/(1 + (i − j)²): high in smooth, continuous reflections."
);
glcm!(
    GLCM_ENERGY,
    "glcm_energy",
    Prop::Energy,
    "ratio 0-1",
    "GLCM energy √(Σ P(i,j)²) (skimage's 'energy', the root of the angular second moment): \
       high for uniform texture."
);
glcm!(
    GLCM_ENTROPY,
    "glcm_entropy",
    Prop::Entropy,
    "nats",
    "GLCM entropy −Σ P(i,j)·ln P(i,j): disorder of the texture."
);
glcm!(
    GLCM_MEAN,
    "glcm_mean",
    Prop::Mean,
    "levels",
    "GLCM mean Σ i·P(i,j): the average grey level of the pairs."
);
glcm!(
    GLCM_VARIANCE,
    "glcm_variance",
    Prop::Variance,
    "levels²",
    "GLCM variance Σ P(i,j)(i − μ)²: spread of the grey levels of the pairs."
);
glcm!(
    GLCM_CORRELATION,
    "glcm_correlation",
    Prop::Correlation,
    "ratio -1..1",
    "GLCM correlation Σ P(i,j)(i − μ)(j − μ)/σ²: linear dependence of neighbouring grey \
       levels (1 where the window is uniform, as skimage has it)."
);

/// This family's attributes, in the order `attr list` shows them.
pub(crate) const ATTRIBUTES: &[&dyn crate::Attribute] = &[
    &GLCM_CONTRAST,
    &GLCM_DISSIMILARITY,
    &GLCM_HOMOGENEITY,
    &GLCM_ENERGY,
    &GLCM_ENTROPY,
    &GLCM_MEAN,
    &GLCM_VARIANCE,
    &GLCM_CORRELATION,
];

#[cfg(test)]
mod tests {
    use super::*;

    /// The property of a symmetric, normalised co-occurrence matrix given by
    /// its non-zero cells (i, j, p).
    fn property(cells: &[(usize, usize, f64)], prop: Prop) -> f64 {
        let mean: f64 = cells.iter().map(|&(i, _, p)| i as f64 * p).sum();
        let var: f64 = cells
            .iter()
            .map(|&(i, _, p)| p * (i as f64 - mean).powi(2))
            .sum();
        match prop {
            Prop::Contrast => cells
                .iter()
                .map(|&(i, j, p)| p * (i as f64 - j as f64).powi(2))
                .sum(),
            Prop::Dissimilarity => cells
                .iter()
                .map(|&(i, j, p)| p * (i as f64 - j as f64).abs())
                .sum(),
            Prop::Homogeneity => cells
                .iter()
                .map(|&(i, j, p)| p / (1.0 + (i as f64 - j as f64).powi(2)))
                .sum(),
            Prop::Energy => cells.iter().map(|&(_, _, p)| p * p).sum::<f64>().sqrt(),
            Prop::Entropy => cells.iter().map(|&(_, _, p)| -p * p.ln()).sum(),
            Prop::Mean => mean,
            Prop::Variance => var,
            Prop::Correlation => {
                // symmetric: the row and column statistics are equal
                if var.sqrt() < 1e-15 {
                    1.0
                } else {
                    cells
                        .iter()
                        .map(|&(i, j, p)| p * (i as f64 - mean) * (j as f64 - mean))
                        .sum::<f64>()
                        / var
                }
            }
        }
    }

    #[test]
    fn keyed_sums_equal_counting_into_the_matrix() {
        let mut seed = 7u64;
        let mut rand = |n: usize| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            (seed >> 33) as usize % n
        };
        for (levels, wx, wt) in [(2, 3, 3), (16, 7, 7), (16, 5, 9), (64, 11, 13), (256, 7, 7)] {
            for &dir in &OFFSETS {
                let pairs = direction_pairs(&[dir], wx, wt);
                let mut keyed = Keyed::new(&pairs, levels, wx * wt).expect("keyed");
                for _ in 0..5 {
                    // few distinct levels as well as many, so cells repeat
                    let spread = [levels, 3.min(levels)][rand(2)];
                    let qs: Vec<Vec<[f32; LANES]>> = (0..4)
                        .map(|_| {
                            (0..wx * wt)
                                .map(|_| std::array::from_fn(|_| rand(spread) as f32))
                                .collect()
                        })
                        .collect();
                    for (g, q) in qs.iter().enumerate() {
                        keyed.take(g, q);
                    }
                    for prop in [Prop::Energy, Prop::Entropy] {
                        let mut got = [0f64; KEYED];
                        keyed.add(&pairs[0], levels, prop, &mut got);
                        let term = cell_terms(pairs[0].len(), prop);
                        let mut counts = vec![0u32; levels * levels];
                        for (l, got) in got.iter().enumerate() {
                            let (q, l) = (&qs[l / LANES], l % LANES);
                            let want =
                                matrix_property(&pairs[0], q, l, levels, prop, &mut counts, &term);
                            assert!((got - want).abs() < 1e-12, "{got} {want}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn pair_sums_equal_the_matrix_formulas() {
        let mut seed = 99u64;
        for levels in [2usize, 5, 16] {
            for _ in 0..200 {
                let q: Vec<usize> = (0..49)
                    .map(|_| {
                        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                        (seed >> 33) as usize % levels
                    })
                    .collect();
                let pairs: Vec<(usize, usize)> =
                    (0..42).map(|p| (p + p / 6, p + p / 6 + 1)).collect();
                let mut counts = vec![0f64; levels * levels];
                for &(u, v) in &pairs {
                    counts[q[u] * levels + q[v]] += 1.0;
                    counts[q[v] * levels + q[u]] += 1.0;
                }
                let cells: Vec<(usize, usize, f64)> = (0..levels * levels)
                    .filter(|&c| counts[c] > 0.0)
                    .map(|c| {
                        (
                            c / levels,
                            c % levels,
                            counts[c] / (2.0 * pairs.len() as f64),
                        )
                    })
                    .collect();
                for prop in [
                    Prop::Contrast,
                    Prop::Dissimilarity,
                    Prop::Homogeneity,
                    Prop::Mean,
                    Prop::Variance,
                    Prop::Correlation,
                ] {
                    let (a, b) = (pair_property(&pairs, &q, prop), property(&cells, prop));
                    assert!((a - b).abs() < 1e-9 * (1.0 + b.abs()), "{a} {b}");
                }
            }
        }
    }
}
