//! Moving-window means along one axis, with scipy's `mode='reflect'` edges.
//!
//! The engine pads blocks at the volume faces itself, so inside a padded block
//! the edge rule never matters. With `boundary: none` the kernel sees an
//! unpadded block, and then it extends it like `scipy.ndimage` does
//! (half-sample symmetric: `d c b a | a b c d | d c b a`), which is what a
//! Dask user's `map_overlap(..., boundary='none')` with scipy filters gets.

use ndarray::{Array3, ArrayViewMut1, Axis};

/// Index into `0..n` of position `i` on a symmetric (edge-repeating) extension.
#[inline]
pub fn symmetric_index(i: isize, n: usize) -> usize {
    let n = n as isize;
    let period = 2 * n;
    let m = i.rem_euclid(period);
    (if m < n { m } else { period - 1 - m }) as usize
}

/// Replace every line along `axis` by its centred moving mean over `size`
/// samples (odd). Sums are kept in f64, as scipy's line buffers are; a
/// window holding only zeros gives exactly 0 (a running sum would leave a
/// rounding residue there, which ratios such as semblance turn into noise
/// on dead traces).
pub fn box_mean_axis(a: &mut Array3<f32>, axis: usize, size: usize) {
    if size <= 1 || a.is_empty() {
        return;
    }
    let n = a.len_of(Axis(axis));
    let mut line = vec![0f64; n];
    for lane in a.lanes_mut(Axis(axis)) {
        box_mean_line(lane, size, &mut line);
    }
}

fn box_mean_line(mut lane: ArrayViewMut1<f32>, size: usize, scratch: &mut [f64]) {
    let n = lane.len();
    let r = (size / 2) as isize;
    for (s, v) in scratch.iter_mut().zip(lane.iter()) {
        *s = *v as f64;
    }
    let at = |i: isize| scratch[symmetric_index(i, n)];
    let nonzero = |v: f64| usize::from(v != 0.0);
    let mut sum: f64 = (-r..=r).map(at).sum();
    let mut live: usize = (-r..=r).map(|i| nonzero(at(i))).sum();
    let inv = 1.0 / size as f64;
    let mean = |sum: f64, live: usize| if live == 0 { 0.0 } else { (sum * inv) as f32 };
    lane[0] = mean(sum, live);
    for i in 1..n as isize {
        let (add, drop) = (at(i + r), at(i - r - 1));
        sum += add - drop;
        live = live + nonzero(add) - nonzero(drop);
        lane[i as usize] = mean(sum, live);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symmetric_index_matches_numpy_symmetric() {
        // np.pad(np.arange(3), 7, mode='symmetric')
        let want = [0, 0, 1, 2, 2, 1, 0, 0, 1, 2, 2, 1, 0, 0, 1, 2, 2];
        let got: Vec<usize> = (-7..10).map(|i| symmetric_index(i, 3)).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn zero_windows_are_exactly_zero() {
        let mut a = Array3::<f32>::zeros((1, 1, 40));
        a.slice_mut(ndarray::s![0, 0, ..10]).fill(12345.678);
        box_mean_axis(&mut a, 2, 9);
        assert!(a.iter().skip(14).all(|&v| v == 0.0));
    }

    #[test]
    fn box_mean_against_brute_force() {
        let mut a =
            Array3::from_shape_fn((2, 3, 11), |(i, j, k)| ((i * 7 + j * 3 + k * k) % 5) as f32);
        let orig = a.clone();
        box_mean_axis(&mut a, 2, 5);
        for ((i, j, k), v) in a.indexed_iter() {
            let want: f32 = (-2..=2)
                .map(|d| orig[[i, j, symmetric_index(k as isize + d, 11)]])
                .sum::<f32>()
                / 5.0;
            assert!((v - want).abs() < 1e-6);
        }
    }
}
