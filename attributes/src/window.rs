//! Moving-window means along one axis, with scipy's `mode='reflect'` edges.
//!
//! The engine pads blocks at the volume faces itself, so inside a padded block
//! the edge rule never matters. With `boundary: none` the kernel sees an
//! unpadded block, and then it extends it like `scipy.ndimage` does
//! (half-sample symmetric: `d c b a | a b c d | d c b a`), which is what a
//! Dask user's `map_overlap(..., boundary='none')` with scipy filters gets.

use ndarray::{Array3, ArrayView1, ArrayViewMut1, Axis};

/// The samples `first..first + rows.len()` of `trace`, extended
/// symmetrically beyond its ends (`rows` maps each position to its sample,
/// as [`symmetric_index`] does): the trace's own slice when the run lies
/// inside a contiguous trace, else copied into `buf`.
pub fn reflected_run<'a>(
    trace: ArrayView1<'a, f32>,
    first: isize,
    rows: &[usize],
    buf: &'a mut Vec<f32>,
) -> &'a [f32] {
    match trace.to_slice() {
        Some(t) => reflected_slice(t, first, rows, buf),
        None => {
            buf.clear();
            buf.extend(rows.iter().map(|&k| trace[k]));
            buf
        }
    }
}

/// [`reflected_run`] of a trace that is a slice.
pub fn reflected_slice<'a>(
    trace: &'a [f32],
    first: isize,
    rows: &[usize],
    buf: &'a mut Vec<f32>,
) -> &'a [f32] {
    if first >= 0 && first as usize + rows.len() <= trace.len() {
        &trace[first as usize..first as usize + rows.len()]
    } else {
        buf.clear();
        buf.extend(rows.iter().map(|&k| trace[k]));
        buf
    }
}

/// The positions `c − r..=c + r` as indices into `0..n`, reflected as
/// [`symmetric_index`] reflects them: a window's rows, made once per
/// position instead of per read (each costs an integer division).
pub fn symmetric_window(c: usize, r: isize, n: usize) -> Vec<usize> {
    (-r..=r)
        .map(|d| symmetric_index(c as isize + d, n))
        .collect()
}

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
    if axis < 2 && a.is_standard_layout() {
        box_mean_planes(a, axis, size);
        return;
    }
    let mut line = Vec::new();
    for lane in a.lanes_mut(Axis(axis)) {
        box_mean_line(lane, size, &mut line);
    }
}

/// The same moving mean along a non-contiguous axis, done a whole
/// contiguous plane at a time (running sums of planes), so that memory is
/// read in order and the inner loops vectorise.
fn box_mean_planes(a: &mut Array3<f32>, axis: usize, size: usize) {
    let shape = a.shape().to_vec();
    let n = shape[axis];
    let outer: usize = shape[..axis].iter().product();
    let inner: usize = shape[axis + 1..].iter().product();
    let r = (size / 2) as isize;
    let inv = 1.0 / size as f64;
    let data = a.as_slice_mut().expect("standard layout");
    let mut src = vec![0f32; n * inner];
    let mut sum = vec![0f64; inner];
    let mut live = vec![0u32; inner];
    for slab in data.chunks_exact_mut(n * inner).take(outer) {
        src.copy_from_slice(slab);
        sum.fill(0.0);
        live.fill(0);
        let plane = |j: isize| symmetric_index(j, n) * inner;
        for d in -r..=r {
            let p = &src[plane(d)..plane(d) + inner];
            for ((s, l), &v) in sum.iter_mut().zip(live.iter_mut()).zip(p) {
                *s += v as f64;
                *l += u32::from(v != 0.0);
            }
        }
        for i in 0..n as isize {
            if i > 0 {
                let (add, drop) = (plane(i + r), plane(i - r - 1));
                let (pa, pd) = (&src[add..add + inner], &src[drop..drop + inner]);
                for (((s, l), &va), &vd) in sum.iter_mut().zip(live.iter_mut()).zip(pa).zip(pd) {
                    *s += va as f64 - vd as f64;
                    *l = *l + u32::from(va != 0.0) - u32::from(vd != 0.0);
                }
            }
            let out = &mut slab[i as usize * inner..(i as usize + 1) * inner];
            for ((o, &s), &l) in out.iter_mut().zip(&sum).zip(&live) {
                *o = if l == 0 { 0.0 } else { (s * inv) as f32 };
            }
        }
    }
}

fn box_mean_line(mut lane: ArrayViewMut1<f32>, size: usize, scratch: &mut Vec<f64>) {
    let n = lane.len();
    let r = size / 2;
    // the line with its symmetric extension, so the sweep needs no index mapping
    scratch.clear();
    scratch.extend((0..r).map(|t| lane[symmetric_index(t as isize - r as isize, n)] as f64));
    scratch.extend(lane.iter().map(|&v| v as f64));
    scratch.extend((0..r).map(|t| lane[symmetric_index((n + t) as isize, n)] as f64));
    let inv = 1.0 / size as f64;
    let mut sum: f64 = scratch[..size].iter().sum();
    let mut live: usize = scratch[..size].iter().filter(|v| **v != 0.0).count();
    for i in 0..n {
        if i > 0 {
            let (add, drop) = (scratch[i + size - 1], scratch[i - 1]);
            sum += add - drop;
            live = live + usize::from(add != 0.0) - usize::from(drop != 0.0);
        }
        lane[i] = if live == 0 { 0.0 } else { (sum * inv) as f32 };
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
        for axis in 0..3 {
            let mut shape = [2, 2, 2];
            shape[axis] = 40;
            let mut a = Array3::<f32>::zeros(shape);
            for i in 0..10 {
                let mut idx = [0, 0, 0];
                idx[axis] = i;
                a[idx] = 12345.678 + i as f32;
            }
            box_mean_axis(&mut a, axis, 9);
            let tail = a.slice_axis(Axis(axis), (14..40).into());
            assert!(tail.iter().all(|&v| v == 0.0), "axis {axis}");
        }
    }

    #[test]
    fn every_axis_against_brute_force() {
        let orig = Array3::from_shape_fn((6, 7, 9), |(i, j, k)| {
            ((i * 13 + j * 7 + k * 3) % 11) as f32 - 4.0
        });
        for axis in 0..3 {
            for size in [3, 5, 15] {
                let mut a = orig.clone();
                box_mean_axis(&mut a, axis, size);
                let n = orig.len_of(Axis(axis)) as isize;
                for ((i, j, k), v) in a.indexed_iter() {
                    let r = (size / 2) as isize;
                    let want: f32 = (-r..=r)
                        .map(|d| {
                            let mut idx = [i, j, k];
                            idx[axis] = symmetric_index(idx[axis] as isize + d, n as usize);
                            orig[idx]
                        })
                        .sum::<f32>()
                        / size as f32;
                    assert!(
                        (v - want).abs() < 1e-5,
                        "axis {axis} size {size} at {:?}",
                        (i, j, k)
                    );
                }
            }
        }
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
