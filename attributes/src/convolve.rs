//! Separable filters along one axis with `scipy.ndimage` semantics
//! (`correlate1d`, `gaussian_filter1d`, `minimum_filter1d`,
//! `maximum_filter1d`), edges extended half-sample symmetrically as scipy's
//! `mode='reflect'` does (the engine pads at the volume faces itself, so
//! inside a padded block the rule never matters).

use crate::window::symmetric_index;
use ndarray::{s, Array3, ArrayView3, Axis};
use std::ops::Range;

/// The taps of `scipy.ndimage.gaussian_filter1d` (truncate 4.0: radius
/// ⌊4σ + 0.5⌋) for derivative `order` 0, 1 or 2, as a convolution kernel
/// indexed −r..=r (so correlating with it reversed is what scipy does).
pub fn gaussian_kernel(sigma: f64, order: usize) -> Vec<f64> {
    let r = (4.0 * sigma + 0.5) as i64;
    let s2 = sigma * sigma;
    let phi: Vec<f64> = (-r..=r)
        .map(|x| (-0.5 / s2 * (x * x) as f64).exp())
        .collect();
    let total: f64 = phi.iter().sum();
    (-r..=r)
        .zip(phi)
        .map(|(x, p)| {
            let p = p / total;
            let x = x as f64;
            match order {
                0 => p,
                1 => -x / s2 * p,
                _ => (x * x / s2 - 1.0) / s2 * p,
            }
        })
        .collect()
}

/// Radius of [`gaussian_kernel`].
pub fn gaussian_radius(sigma: f64) -> usize {
    (4.0 * sigma + 0.5) as usize
}

/// Index ranges per axis: the part of a block an operation produces.
pub type Region = [Range<usize>; 3];

/// The whole of an array of shape `dim`.
pub fn whole(dim: (usize, usize, usize)) -> Region {
    [0..dim.0, 0..dim.1, 0..dim.2]
}

/// `region` widened by `by` on every side, clipped to an array of shape `dim`.
pub fn dilate(region: &Region, by: [usize; 3], dim: (usize, usize, usize)) -> Region {
    let n = [dim.0, dim.1, dim.2];
    [0, 1, 2].map(|a| region[a].start.saturating_sub(by[a])..(region[a].end + by[a]).min(n[a]))
}

/// `region` in the coordinates of an array that starts at `origin`.
pub fn shift(region: &Region, origin: [usize; 3]) -> Region {
    [0, 1, 2].map(|a| region[a].start - origin[a]..region[a].end - origin[a])
}

/// The starts of a region.
pub fn origin(region: &Region) -> [usize; 3] {
    [0, 1, 2].map(|a| region[a].start)
}

/// A view of `a` restricted to `region`.
pub fn crop<'a>(a: ArrayView3<'a, f32>, region: &Region) -> ArrayView3<'a, f32> {
    a.slice_move(s![region[0].clone(), region[1].clone(), region[2].clone()])
}

/// Whether a filter's taps are mirror-symmetric (a Gaussian, its second
/// derivative) or antisymmetric (its first derivative): then each pair of
/// taps costs one multiply.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Parity {
    Even,
    Odd,
    Neither,
}

pub(crate) fn parity(w: &[f32]) -> Parity {
    let n = w.len();
    if n.is_multiple_of(2) {
        return Parity::Neither;
    }
    if (0..n / 2).all(|m| w[m] == w[n - 1 - m]) {
        Parity::Even
    } else if w[n / 2] == 0.0 && (0..n / 2).all(|m| w[m] == -w[n - 1 - m]) {
        Parity::Odd
    } else {
        Parity::Neither
    }
}

/// Writes `Σ_m w[m]·row_m` to `dst`, where row m is
/// `base[offs[m]..offs[m] + dst.len()]`. Output-stationary: each group of
/// [`LANES`] outputs is summed over every tap in registers and written
/// once (no zeroed array to fill in later, no accumulator traffic). The
/// fixed-width inner loops vectorise for the widest vector unit the
/// processor has (chosen at run time). Multiplies and adds stay separate
/// (no fused multiply-add), so every version rounds alike.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2", "aarch64+neon"))]
pub(crate) fn combine(dst: &mut [f32], base: &[f32], offs: &[usize], w: &[f32], parity: Parity) {
    let len = dst.len();
    let mut k = 0;
    while k + 2 * LANES <= len {
        combine_group::<{ 2 * LANES }>(dst, base, offs, w, parity, k);
        k += 2 * LANES;
    }
    if k + LANES <= len {
        combine_group::<LANES>(dst, base, offs, w, parity, k);
        k += LANES;
    }
    // a half group before the slow tail: rows of 80 are common
    if k + LANES / 2 <= len {
        combine_group::<{ LANES / 2 }>(dst, base, offs, w, parity, k);
        k += LANES / 2;
    }
    if k < len {
        let rest = len - k;
        let mut acc = [0f32; LANES];
        let row = |m: usize| -> [f32; LANES] {
            let mut v = [0f32; LANES];
            v[..rest].copy_from_slice(&base[offs[m] + k..offs[m] + len]);
            v
        };
        accumulate(&mut acc, row, w, parity);
        dst[k..].copy_from_slice(&acc[..rest]);
    }
}

/// The `L` outputs of [`combine`] from position `k`.
#[inline(always)]
fn combine_group<const L: usize>(
    dst: &mut [f32],
    base: &[f32],
    offs: &[usize],
    w: &[f32],
    parity: Parity,
    k: usize,
) {
    let mut acc = [0f32; L];
    let row = |m: usize| -> &[f32; L] {
        base[offs[m] + k..offs[m] + k + L]
            .try_into()
            .expect("L long")
    };
    accumulate(&mut acc, row, w, parity);
    dst[k..k + L].copy_from_slice(&acc);
}

/// Output rows computed together by [`combine_rows`].
pub(crate) const ROWS: usize = 4;

/// Writes [`ROWS`] consecutive output rows of `dst.len() / ROWS` samples,
/// row b = `Σ_m w[m]·row_{b+m}`, rows as in [`combine`] (`offs` has `w.len() + ROWS − 1` of them). Each
/// input row is loaded once and used by every output that reads it: along
/// the outer axes the rows are far apart in memory, and loading them, not
/// the arithmetic, is what a row at a time waits for. Mirrored taps are not
/// paired here; each output still sums its taps in order, separately
/// multiplied and added.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2", "aarch64+neon"))]
pub(crate) fn combine_rows(dst: &mut [f32], base: &[f32], offs: &[usize], w: &[f32]) {
    let len = dst.len() / ROWS;
    let mut k = 0;
    while k + LANES <= len {
        rows_group::<LANES>(dst, base, offs, w, k);
        k += LANES;
    }
    if k < len {
        let rest = len - k;
        let row = |u: usize| -> [f32; LANES] {
            let mut v = [0f32; LANES];
            v[..rest].copy_from_slice(&base[offs[u] + k..offs[u] + len]);
            v
        };
        let acc = rows_at(row, w);
        for (b, a) in acc.iter().enumerate() {
            dst[b * len + k..b * len + len].copy_from_slice(&a[..rest]);
        }
    }
}

/// The `L` lanes from position `k` of each output row of [`combine_rows`].
#[inline(always)]
fn rows_group<const L: usize>(dst: &mut [f32], base: &[f32], offs: &[usize], w: &[f32], k: usize) {
    let len = dst.len() / ROWS;
    let row = |u: usize| -> &[f32; L] {
        base[offs[u] + k..offs[u] + k + L]
            .try_into()
            .expect("L long")
    };
    let acc = rows_at(row, w);
    for (b, a) in acc.iter().enumerate() {
        dst[b * len + k..b * len + k + L].copy_from_slice(a);
    }
}

/// The [`ROWS`] outputs of [`combine_rows`] for one group of lanes.
#[inline(always)]
fn rows_at<const L: usize, R: std::borrow::Borrow<[f32; L]>>(
    row: impl Fn(usize) -> R,
    w: &[f32],
) -> [[f32; L]; ROWS] {
    let taps = w.len();
    let mut acc = [[0f32; L]; ROWS];
    // rows read by only the first outputs, then by all, then by the last
    for u in 0..ROWS - 1 {
        let v = row(u);
        for (b, a) in acc.iter_mut().enumerate().take(u + 1) {
            let wb = w[u - b];
            for (x, &y) in a.iter_mut().zip(v.borrow()) {
                *x += wb * y;
            }
        }
    }
    for u in ROWS - 1..taps {
        let v = row(u);
        let v = v.borrow();
        let [a0, a1, a2, a3] = &mut acc;
        let (w0, w1, w2, w3) = (w[u], w[u - 1], w[u - 2], w[u - 3]);
        for l in 0..L {
            a0[l] += w0 * v[l];
            a1[l] += w1 * v[l];
            a2[l] += w2 * v[l];
            a3[l] += w3 * v[l];
        }
    }
    for u in taps..taps + ROWS - 1 {
        let v = row(u);
        for (b, a) in acc.iter_mut().enumerate().skip(u + 1 - taps) {
            let wb = w[u - b];
            for (x, &y) in a.iter_mut().zip(v.borrow()) {
                *x += wb * y;
            }
        }
    }
    acc
}

/// Outputs summed per group in [`combine`].
const LANES: usize = 32;

/// `acc = Σ_m w[m]·row(m)`, pairing mirrored taps where the filter allows.
#[inline(always)]
fn accumulate<const L: usize, R: std::borrow::Borrow<[f32; L]>>(
    acc: &mut [f32; L],
    row: impl Fn(usize) -> R,
    w: &[f32],
    parity: Parity,
) {
    let taps = w.len();
    let r = taps / 2;
    match parity {
        Parity::Even => {
            let (wc, c) = (w[r], row(r));
            for (x, &v) in acc.iter_mut().zip(c.borrow()) {
                *x = wc * v;
            }
            for (m, &wm) in w.iter().enumerate().take(r) {
                let (p, q) = (row(m), row(taps - 1 - m));
                for ((x, &u), &v) in acc.iter_mut().zip(p.borrow()).zip(q.borrow()) {
                    *x += wm * (u + v);
                }
            }
        }
        Parity::Odd => {
            for (m, &wm) in w.iter().enumerate().take(r) {
                let (p, q) = (row(m), row(taps - 1 - m));
                for ((x, &u), &v) in acc.iter_mut().zip(p.borrow()).zip(q.borrow()) {
                    *x += wm * (u - v);
                }
            }
        }
        Parity::Neither => {
            for (m, &wm) in w.iter().enumerate() {
                for (x, &v) in acc.iter_mut().zip(row(m).borrow()) {
                    *x += wm * v;
                }
            }
        }
    }
}

/// Fill `line` with `src[first + t]`, `src` extended half-sample
/// symmetrically beyond its ends (only the overhang takes the slow path).
pub(crate) fn fill_line(line: &mut [f32], src: &[f32], first: isize) {
    let n = src.len() as isize;
    let lo = (-first).clamp(0, line.len() as isize) as usize;
    let hi = (n - first).clamp(lo as isize, line.len() as isize) as usize;
    for (t, v) in line[..lo].iter_mut().enumerate() {
        *v = src[symmetric_index(first + t as isize, src.len())];
    }
    let start = (first + lo as isize) as usize;
    line[lo..hi].copy_from_slice(&src[start..start + hi - lo]);
    for (t, v) in line[hi..].iter_mut().enumerate() {
        *v = src[symmetric_index(first + (hi + t) as isize, src.len())];
    }
}

/// The sample-axis pass: each trace of the source, as `trace(i, j, buf)`
/// fills it, correlated with `w` at positions `out`.
fn sample_axis_pass(
    dim: (usize, usize, usize),
    trace: impl Fn(usize, usize, &mut Vec<f32>),
    w: &[f32],
    out: Range<usize>,
) -> Array3<f32> {
    let (n0, n1, n) = dim;
    let r = (w.len() / 2) as isize;
    let par = parity(w);
    let c = out.len();
    let mut data = vec![0f32; n0 * n1 * c];
    let mut src = Vec::with_capacity(n);
    let mut line = vec![0f32; c + 2 * r as usize];
    let first = out.start as isize - r;
    let offs: Vec<usize> = (0..w.len()).collect();
    if c > 0 {
        for (t, dst) in data.chunks_exact_mut(c).enumerate() {
            src.clear();
            trace(t / n1, t % n1, &mut src);
            fill_line(&mut line, &src, first);
            combine(dst, &line, &offs, w, par);
        }
    }
    Array3::from_shape_vec((n0, n1, c), data).expect("sized")
}

/// `scipy.ndimage.correlate1d(a, w, axis)` at the positions `out` of that
/// axis only (every position of the others): `out[i] = Σ_m w[m]·a[i + m − r]`
/// with r = len/2, edges extended half-sample symmetrically, summed in f32
/// (within ~1e-7 of scipy's f64). Computing only the part a caller keeps is
/// what makes a deep halo cheap: each pass of a separable filter shrinks
/// the block on its own axis.
pub fn correlate_range(
    a: ArrayView3<f32>,
    axis: usize,
    w: &[f32],
    out: Range<usize>,
) -> Array3<f32> {
    let n = a.len_of(Axis(axis));
    if axis == 2 {
        let trace = |i: usize, j: usize, buf: &mut Vec<f32>| {
            let lane = a.slice(s![i, j, ..]);
            match lane.as_slice() {
                Some(v) => buf.extend_from_slice(v),
                None => buf.extend(lane.iter()),
            }
        };
        return sample_axis_pass(a.dim(), trace, w, out);
    }
    let r = (w.len() / 2) as isize;
    let par = parity(w);
    let c = out.len();
    let a = a.as_standard_layout();
    let src = a.as_slice().expect("standard layout");
    let inner: usize = a.shape()[axis + 1..].iter().product();
    let mut shape = a.raw_dim();
    shape[axis] = c;
    let mut data = vec![0f32; shape[0] * shape[1] * shape[2]];
    let mut offs = vec![0; w.len() + ROWS - 1];
    let mut scratch = Vec::new();
    if inner > 0 && c > 0 {
        for (s, dst) in src
            .chunks_exact(n * inner)
            .zip(data.chunks_exact_mut(c * inner))
        {
            let mut i = 0;
            while i < c {
                // along the first axis ROWS output rows at once, each input
                // row loaded once for all of them; every row of that axis
                // is summed so, the last group's missing rows reading a row
                // it reads anyway, so that a sample's value never depends
                // on where the region starts (tiles, shared intermediates)
                let rows = if axis == 0 { ROWS.min(c - i) } else { 1 };
                let at = (out.start + i) as isize - r;
                let reads = if axis == 0 {
                    w.len() + ROWS - 1
                } else {
                    w.len()
                };
                for (m, o) in offs[..reads].iter_mut().enumerate() {
                    let m = m.min(w.len() + rows - 2);
                    *o = symmetric_index(at + m as isize, n) * inner;
                }
                let dst = &mut dst[i * inner..(i + rows) * inner];
                if axis != 0 {
                    combine(dst, s, &offs[..w.len()], w, par);
                } else if rows == ROWS {
                    combine_rows(dst, s, &offs, w);
                } else {
                    scratch.resize(ROWS * inner, 0.0);
                    combine_rows(&mut scratch, s, &offs, w);
                    dst.copy_from_slice(&scratch[..rows * inner]);
                }
                i += rows;
            }
        }
    }
    Array3::from_shape_vec(shape, data).expect("sized")
}

/// `scipy.ndimage.gaussian_filter(a·b, sigma)` at `region`, the product
/// taken trace by trace in the first pass instead of as a whole array.
pub fn gaussian_product_region(
    a: &Array3<f32>,
    b: &Array3<f32>,
    sigma: [f64; 3],
    region: &Region,
) -> Array3<f32> {
    assert_eq!(a.dim(), b.dim());
    if sigma[2] <= 1e-15 {
        return gaussian_region((a * b).view(), sigma, [0; 3], region);
    }
    let (sa, sb) = (
        a.as_slice().expect("standard layout"),
        b.as_slice().expect("standard layout"),
    );
    let n = a.dim().2;
    let trace = |i: usize, j: usize, buf: &mut Vec<f32>| {
        let at = (i * a.dim().1 + j) * n;
        buf.extend(
            sa[at..at + n]
                .iter()
                .zip(&sb[at..at + n])
                .map(|(x, y)| x * y),
        );
    };
    let w: Vec<f32> = gaussian_kernel(sigma[2], 0)
        .into_iter()
        .map(|v| v as f32)
        .collect();
    let mut out = sample_axis_pass(a.dim(), trace, &w, region[2].clone());
    for axis in [1, 0] {
        out = gaussian_range(out.view(), axis, sigma[axis], 0, region[axis].clone());
    }
    out
}

/// `scipy.ndimage.correlate1d(a, w, axis)` over the whole axis.
pub fn correlate_axis(a: &Array3<f32>, axis: usize, w: &[f64]) -> Array3<f32> {
    let w: Vec<f32> = w.iter().map(|&v| v as f32).collect();
    correlate_range(a.view(), axis, &w, 0..a.len_of(Axis(axis)))
}

/// `scipy.ndimage.gaussian_filter1d(a, sigma, axis, order)` at the positions
/// `out` of the axis. A zero sigma leaves the axis alone whatever the
/// order, as `scipy.ndimage.gaussian_filter` skips such axes.
pub fn gaussian_range(
    a: ArrayView3<f32>,
    axis: usize,
    sigma: f64,
    order: usize,
    out: Range<usize>,
) -> Array3<f32> {
    if sigma <= 1e-15 {
        return a.slice_axis(Axis(axis), out.into()).to_owned();
    }
    correlate_range(a, axis, &gaussian_taps(sigma, order), out)
}

/// The taps `correlate_range` takes for `gaussian_filter1d` of this sigma
/// and derivative order: the kernel reversed, in f32.
pub(crate) fn gaussian_taps(sigma: f64, order: usize) -> Vec<f32> {
    gaussian_kernel(sigma, order)
        .into_iter()
        .rev()
        .map(|v| v as f32)
        .collect()
}

/// `scipy.ndimage.gaussian_filter1d(a, sigma, axis, order)`.
pub fn gaussian_axis(a: &Array3<f32>, axis: usize, sigma: f64, order: usize) -> Array3<f32> {
    gaussian_range(a.view(), axis, sigma, order, 0..a.len_of(Axis(axis)))
}

/// `scipy.ndimage.gaussian_filter(a, sigma, order)` at `region` only: the
/// sample axis first (it reads any view), then the others, each pass
/// cropped to the region on its own axis.
pub fn gaussian_region(
    a: ArrayView3<f32>,
    sigma: [f64; 3],
    order: [usize; 3],
    region: &Region,
) -> Array3<f32> {
    let mut out = gaussian_range(a, 2, sigma[2], order[2], region[2].clone());
    for axis in [1, 0] {
        out = gaussian_range(
            out.view(),
            axis,
            sigma[axis],
            order[axis],
            region[axis].clone(),
        );
    }
    out
}

/// `scipy.ndimage.gaussian_filter(a, sigma, order)`.
pub fn gaussian(a: &Array3<f32>, sigma: [f64; 3], order: [usize; 3]) -> Array3<f32> {
    gaussian_region(a.view(), sigma, order, &whole(a.dim()))
}

/// Moving minimum (`max = false`) or maximum over `size` samples along `axis`.
pub fn extreme_axis(a: &Array3<f32>, axis: usize, size: usize, max: bool) -> Array3<f32> {
    let mut out = Array3::<f32>::zeros(a.raw_dim());
    let n = a.len_of(Axis(axis));
    let r = size / 2;
    let mut line = vec![0f32; n + 2 * r];
    for (src, mut dst) in a
        .lanes(Axis(axis))
        .into_iter()
        .zip(out.lanes_mut(Axis(axis)))
    {
        for (t, v) in line.iter_mut().enumerate() {
            *v = src[symmetric_index(t as isize - r as isize, n)];
        }
        for i in 0..n {
            let w = &line[i..i + size];
            dst[i] = if max {
                w.iter().copied().fold(f32::NEG_INFINITY, f32::max)
            } else {
                w.iter().copied().fold(f32::INFINITY, f32::min)
            };
        }
    }
    out
}

/// Apply `f` to the values of the `window` (odd sizes) around every sample,
/// edges extended symmetrically: a generic filter, as
/// `scipy.ndimage.generic_filter` (for statistics with no running form).
pub fn window_map(
    a: &Array3<f32>,
    window: [usize; 3],
    mut f: impl FnMut(&mut [f32]) -> f32,
) -> Array3<f32> {
    let a = a.as_standard_layout();
    let (n0, n1, n2) = a.dim();
    let src = a.as_slice().expect("standard layout");
    // each axis's source indices for each position, once
    let table = |n: usize, w: usize| -> Vec<Vec<usize>> {
        let r = (w / 2) as isize;
        (0..n)
            .map(|i| {
                (-r..=r)
                    .map(|d| symmetric_index(i as isize + d, n))
                    .collect()
            })
            .collect()
    };
    let (t0, t1, t2) = (
        table(n0, window[0]),
        table(n1, window[1]),
        table(n2, window[2]),
    );
    let mut buf = Vec::with_capacity(window.iter().product());
    let mut out = Array3::<f32>::zeros((n0, n1, n2));
    for ((i, j, k), o) in out.indexed_iter_mut() {
        buf.clear();
        for &ii in &t0[i] {
            for &jj in &t1[j] {
                let lane = &src[(ii * n1 + jj) * n2..(ii * n1 + jj + 1) * n2];
                buf.extend(t2[k].iter().map(|&kk| lane[kk]));
            }
        }
        *o = f(&mut buf);
    }
    out
}

/// Halo of Gaussian filters of these sigmas (scipy's truncate 4.0).
pub(crate) fn gaussian_halo(sigma: &[f64]) -> [crate::Halo; 3] {
    [0, 1, 2].map(|a| crate::Halo::Depth(gaussian_radius(sigma[a])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaussian_kernels_sum_and_differentiate() {
        let k0 = gaussian_kernel(1.5, 0);
        assert_eq!(k0.len(), 2 * 6 + 1);
        assert!((k0.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        // the first-derivative filter of a ramp is its slope
        let ramp = Array3::from_shape_fn((1, 1, 40), |(_, _, k)| 3.0 * k as f32);
        let d = gaussian_axis(&ramp, 2, 1.5, 1);
        assert!((d[[0, 0, 20]] - 3.0).abs() < 1e-3, "{}", d[[0, 0, 20]]);
        // a zero sigma leaves the axis alone (scipy skips it), not NaN
        assert_eq!(gaussian_axis(&ramp, 2, 0.0, 1), ramp);
    }

    #[test]
    fn extremes_and_generic_windows() {
        let a = Array3::from_shape_fn((3, 4, 7), |(i, j, k)| ((i * 5 + j * 3 + k * 7) % 11) as f32);
        let mx = extreme_axis(&a, 2, 3, true);
        assert_eq!(
            mx[[1, 1, 3]],
            a[[1, 1, 2]].max(a[[1, 1, 3]]).max(a[[1, 1, 4]])
        );
        let med = window_map(&a, [1, 1, 3], |w| {
            w.sort_by(f32::total_cmp);
            w[1]
        });
        let mut v = [a[[2, 3, 4]], a[[2, 3, 5]], a[[2, 3, 6]]];
        v.sort_by(f32::total_cmp);
        assert_eq!(med[[2, 3, 5]], v[1]);
    }
}
