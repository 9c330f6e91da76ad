//! Separable filters along one axis with `scipy.ndimage` semantics
//! (`correlate1d`, `gaussian_filter1d`, `minimum_filter1d`,
//! `maximum_filter1d`), edges extended half-sample symmetrically as scipy's
//! `mode='reflect'` does (the engine pads at the volume faces itself, so
//! inside a padded block the rule never matters).

use crate::window::symmetric_index;
use ndarray::{Array3, Axis};

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

/// `scipy.ndimage.correlate1d(a, w, axis)`: out[i] = Σ_m w[m]·a[i + m − r]
/// with r = len/2, summed in f32 (within ~1e-7 of scipy's f64). Written as one scaled sum of whole
/// rows (or planes) per tap, so the inner loops run over contiguous memory
/// and vectorise whichever axis is filtered.
pub fn correlate_axis(a: &Array3<f32>, axis: usize, w: &[f64]) -> Array3<f32> {
    let a = a.as_standard_layout();
    let shape = a.shape().to_vec();
    let n = shape[axis];
    let mut out = Array3::<f32>::zeros(a.raw_dim());
    if a.is_empty() {
        return out;
    }
    let r = (w.len() / 2) as isize;
    let src = a.as_slice().expect("standard layout");
    let dst = out.as_slice_mut().expect("standard layout");
    if axis == 2 {
        let mut line = vec![0f32; n + 2 * r as usize];
        let mut acc = vec![0f32; n];
        for (s, d) in src.chunks_exact(n).zip(dst.chunks_exact_mut(n)) {
            for (t, v) in line.iter_mut().enumerate() {
                *v = s[symmetric_index(t as isize - r, n)];
            }
            acc.fill(0.0);
            for (m, &wm) in w.iter().enumerate() {
                let wm = wm as f32;
                for (o, &v) in acc.iter_mut().zip(&line[m..m + n]) {
                    *o += wm * v;
                }
            }
            d.copy_from_slice(&acc);
        }
        return out;
    }
    let inner: usize = shape[axis + 1..].iter().product();
    let mut acc = vec![0f32; inner];
    for (s, d) in src
        .chunks_exact(n * inner)
        .zip(dst.chunks_exact_mut(n * inner))
    {
        for i in 0..n {
            acc.fill(0.0);
            for (m, &wm) in w.iter().enumerate() {
                let p = symmetric_index(i as isize + m as isize - r, n) * inner;
                let wm = wm as f32;
                for (o, &v) in acc.iter_mut().zip(&s[p..p + inner]) {
                    *o += wm * v;
                }
            }
            d[i * inner..(i + 1) * inner].copy_from_slice(&acc);
        }
    }
    out
}

/// `scipy.ndimage.gaussian_filter1d(a, sigma, axis, order)`. A zero sigma
/// leaves the axis alone whatever the order, as `scipy.ndimage.gaussian_filter`
/// skips such axes.
pub fn gaussian_axis(a: &Array3<f32>, axis: usize, sigma: f64, order: usize) -> Array3<f32> {
    if sigma <= 1e-15 {
        return a.clone();
    }
    let mut k = gaussian_kernel(sigma, order);
    k.reverse();
    correlate_axis(a, axis, &k)
}

/// `scipy.ndimage.gaussian_filter(a, sigma, order)`, one axis at a time.
pub fn gaussian(a: &Array3<f32>, sigma: [f64; 3], order: [usize; 3]) -> Array3<f32> {
    let mut out = gaussian_axis(a, 0, sigma[0], order[0]);
    for axis in 1..3 {
        out = gaussian_axis(&out, axis, sigma[axis], order[axis]);
    }
    out
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
