//! Null samples (NaN) in a block: missing traces, muted zones, fill values.
//!
//! The engine hands a null-aware kernel the block with its nulls as NaN and
//! tells it, through [`Shared`], whether the block holds any; a kernel keeps
//! its plain code for blocks without nulls (the common case, at no cost) and
//! takes one of these helpers where nulls occur. The rule they implement:
//! a null sample contributes nothing, and a window is computed over the live
//! samples it holds (normalised convolution: filter(x·m) / filter(m)).

use crate::convolve::{gaussian, gaussian_region, Region};
use crate::window::box_mean_axis;
use crate::Shared;
use ndarray::{Array3, ArrayView3, Zip};

/// Whether the block holds a null sample; asked once per block.
pub fn has_nulls(block: ArrayView3<f32>, shared: &mut Shared) -> bool {
    if let Some(known) = shared.nulls_known() {
        return known;
    }
    let found = any_null(block);
    shared.set_nulls(found);
    found
}

/// Whether any sample of `block` is NaN.
pub fn any_null(block: ArrayView3<f32>) -> bool {
    match block.as_slice_memory_order() {
        // a plain loop over a slice vectorises; NaN is the only value with x != x
        Some(s) => s
            .chunks(4096)
            .any(|c| c.iter().fold(false, |a, v| a | v.is_nan())),
        None => block.iter().any(|v| v.is_nan()),
    }
}

/// The live mask: 1 where the sample holds data, 0 where it is null.
pub fn live(block: ArrayView3<f32>) -> Array3<f32> {
    block.mapv(|v| if v.is_nan() { 0.0 } else { 1.0 })
}

/// The block with its nulls replaced by 0.
pub fn zero_filled(block: ArrayView3<f32>) -> Array3<f32> {
    block.mapv(|v| if v.is_nan() { 0.0 } else { v })
}

/// `num / den` where `den > 0`, else NaN: a window without live samples.
pub fn ratio_or_null(num: &Array3<f32>, den: &Array3<f32>) -> Array3<f32> {
    Zip::from(num)
        .and(den)
        .map_collect(|&n, &d| if d > 0.0 { n / d } else { f32::NAN })
}

/// Moving means over `window` of `f(x)` taken over the live samples only,
/// and the share of the window that is live (0 where none is).
pub fn masked_box_mean(
    block: ArrayView3<f32>,
    window: [usize; 3],
    f: impl Fn(f32) -> f32,
) -> (Array3<f32>, Array3<f32>) {
    let mut m = live(block);
    let mut num = block.mapv(|v| if v.is_nan() { 0.0 } else { f(v) });
    for (axis, &size) in window.iter().enumerate() {
        box_mean_axis(&mut num, axis, size);
        box_mean_axis(&mut m, axis, size);
    }
    (ratio_or_null(&num, &m), m)
}

/// Normalised Gaussian convolution G(x·m) / G(m): the Gaussian mean of the
/// live samples around each sample, NaN where the window holds none.
pub fn normalized_gaussian(block: ArrayView3<f32>, sigma: [f64; 3]) -> Array3<f32> {
    let m = live(block);
    let x = zero_filled(block);
    ratio_or_null(&gaussian(&x, sigma, [0; 3]), &gaussian(&m, sigma, [0; 3]))
}

/// The gradient of the normalised Gaussian smoothing S = G(x·m)/G(m):
/// ∂S = [D(x·m)·G(m) − G(x·m)·D(m)] / G(m)², with D the Gaussian derivative
/// along the axis. It reads only the filter's own reach, so a halo of that
/// radius keeps it independent of the chunking, and it equals the plain
/// Gaussian derivative where the reach holds no null. NaN where the reach
/// holds no live sample. An axis of zero sigma is not differentiated (as
/// scipy skips it): its component is S itself. Only `region` is computed.
pub fn normalized_gradient(
    block: ArrayView3<f32>,
    sigma: [f64; 3],
    region: &Region,
) -> [Array3<f32>; 3] {
    let m = live(block);
    let x = zero_filled(block);
    let smooth = |a: &Array3<f32>, order| gaussian_region(a.view(), sigma, order, region);
    let gx = smooth(&x, [0; 3]);
    let gm = smooth(&m, [0; 3]);
    [0, 1, 2].map(|a| {
        if sigma[a] <= 1e-15 {
            return ratio_or_null(&gx, &gm);
        }
        let mut order = [0; 3];
        order[a] = 1;
        let dx = smooth(&x, order);
        let dm = smooth(&m, order);
        let mut out = Array3::<f32>::zeros(gx.raw_dim());
        Zip::from(&mut out)
            .and(&dx)
            .and(&dm)
            .and(&gx)
            .and(&gm)
            .for_each(|o, &dx, &dm, &gx, &gm| {
                *o = if gm > 0.0 {
                    (dx * gm - gx * dm) / (gm * gm)
                } else {
                    f32::NAN
                }
            });
        out
    })
}

/// The 3-D Sobel operator along `axis` ([−1, 0, 1] across, [1, 2, 1] along
/// the other two) over the live samples: the [1, 2, 1] smoothing normalised
/// by the live weights, the difference one-sided next to a null and 0
/// between two. It equals `scipy.ndimage.sobel` where its 3×3×3 reach holds
/// no null, and reaches no further.
pub fn masked_sobel(block: ArrayView3<f32>, axis: usize) -> Array3<f32> {
    let m = live(block);
    let mut x = zero_filled(block);
    let mut w = m;
    for other in (0..3).filter(|&o| o != axis) {
        x = crate::convolve::correlate_axis(&x, other, &[1.0, 2.0, 1.0]);
        w = crate::convolve::correlate_axis(&w, other, &[1.0, 2.0, 1.0]);
    }
    // the cross-section's live mean, times the 16 the full weights sum to
    let smooth = ratio_or_null(&x, &w).mapv(|v| 16.0 * v);
    // [−1, 0, 1] is twice a central difference
    masked_difference(&smooth, axis).mapv(|v| 2.0 * v)
}

/// Gaussian smoothing of a field known only where `m` is 1 (a normalised
/// convolution with a precomputed G(m)), at `region` of the field.
pub fn normalized_with(
    field: &Array3<f32>,
    m: &Array3<f32>,
    g_m: &Array3<f32>,
    sigma: f64,
    region: &Region,
) -> Array3<f32> {
    let fm = gaussian_region((field * m).view(), [sigma; 3], [0; 3], region);
    ratio_or_null(&fm, g_m)
}

/// Central differences along `axis` of a field that is NaN where unknown:
/// one-sided where one neighbour is unknown, 0 where both are (and NaN
/// where the field itself is). Index units, edges extended symmetrically.
pub fn masked_difference(a: &Array3<f32>, axis: usize) -> Array3<f32> {
    let n = a.len_of(ndarray::Axis(axis));
    let mut out = Array3::<f32>::zeros(a.raw_dim());
    for (src, mut dst) in a
        .lanes(ndarray::Axis(axis))
        .into_iter()
        .zip(out.lanes_mut(ndarray::Axis(axis)))
    {
        for i in 0..n {
            let at = |d: isize| src[crate::window::symmetric_index(i as isize + d, n)];
            let (lo, mid, hi) = (at(-1), src[i], at(1));
            dst[i] = match (lo.is_nan(), hi.is_nan()) {
                _ if mid.is_nan() => f32::NAN,
                (false, false) => 0.5 * (hi - lo),
                (true, false) => hi - mid,
                (false, true) => mid - lo,
                (true, true) => 0.0,
            };
        }
    }
    out
}

/// Null where `count` (live traces in the window) is below `min_live`,
/// capped at the window's `traces`: too few traces for a coherence.
pub fn null_below(out: &mut Array3<f32>, count: &Array3<f32>, min_live: usize, traces: usize) {
    let need = min_live.min(traces) as f32;
    out.zip_mut_with(count, |o, &c| {
        if c < need {
            *o = f32::NAN;
        }
    });
}

/// Number of live traces in a lateral `wi × wx` window at each sample.
pub fn live_traces(block: ArrayView3<f32>, wi: usize, wx: usize) -> Array3<f32> {
    let mut m = live(block);
    box_mean_axis(&mut m, 0, wi);
    box_mean_axis(&mut m, 1, wx);
    let j = (wi * wx) as f32;
    m.mapv_inplace(|v| (v * j).round());
    m
}

/// `volume_statistics` over the live samples of each window (numpy's
/// nan-functions: `nanmedian` averages the two middle values of an even
/// count); NaN where a window holds none.
pub(crate) fn masked_statistic(b: ArrayView3<f32>, window: [usize; 3], stat: &str) -> Array3<f32> {
    match stat {
        "mean" => masked_box_mean(b, window, |x| x).0,
        "rms" => masked_box_mean(b, window, |x| x * x)
            .0
            .mapv(|m| m.max(0.0).sqrt()),
        "sum" => {
            let n = window.iter().product::<usize>() as f64;
            let mut s = zero_filled(b);
            for (axis, &size) in window.iter().enumerate() {
                crate::window::box_mean_axis(&mut s, axis, size);
            }
            let (_, frac) = masked_box_mean(b, window, |x| x);
            ndarray::Zip::from(&s).and(&frac).map_collect(|&m, &f| {
                if f > 0.0 {
                    (m as f64 * n) as f32
                } else {
                    f32::NAN
                }
            })
        }
        _ => crate::convolve::window_map(&b.to_owned(), window, |v| {
            let mut n = 0;
            for i in 0..v.len() {
                if !v[i].is_nan() {
                    v[n] = v[i];
                    n += 1;
                }
            }
            let v = &mut v[..n];
            if v.is_empty() {
                return f32::NAN;
            }
            match stat {
                "min" => v.iter().copied().fold(f32::INFINITY, f32::min),
                "max" => v.iter().copied().fold(f32::NEG_INFINITY, f32::max),
                "median" => {
                    let mid = n / 2;
                    let hi = *v.select_nth_unstable_by(mid, f32::total_cmp).1;
                    if n % 2 == 1 {
                        hi
                    } else {
                        let lo = v[..mid].iter().copied().fold(f32::NEG_INFINITY, f32::max);
                        0.5 * (lo + hi)
                    }
                }
                _ => {
                    let m = v.iter().map(|&x| x as f64).sum::<f64>() / n as f64;
                    let var = v.iter().map(|&x| (x as f64 - m).powi(2)).sum::<f64>() / n as f64;
                    if stat == "std" {
                        var.sqrt() as f32
                    } else {
                        var as f32
                    }
                }
            }
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalised_convolution_of_a_constant_is_the_constant() {
        let mut a = Array3::<f32>::from_elem((7, 6, 9), 3.0);
        a.slice_mut(ndarray::s![2..4, .., ..]).fill(f32::NAN);
        let s = normalized_gaussian(a.view(), [1.0, 1.0, 1.0]);
        assert!(s.iter().all(|v| (v - 3.0).abs() < 1e-5), "{s:?}");
        let (m, frac) = masked_box_mean(a.view(), [3, 3, 3], |v| v);
        assert!(m.iter().all(|v| (v - 3.0).abs() < 1e-5));
        assert!(frac[[0, 0, 0]] == 1.0 && frac[[2, 3, 3]] > 0.0 && frac[[2, 3, 3]] < 1.0);
    }

    #[test]
    fn windows_without_live_samples_are_null() {
        let mut a = Array3::<f32>::from_elem((9, 3, 5), 1.0);
        a.slice_mut(ndarray::s![2..7, .., ..]).fill(f32::NAN);
        let (m, _) = masked_box_mean(a.view(), [3, 1, 1], |v| v);
        assert!(m[[4, 1, 1]].is_nan() && m[[2, 1, 1]] == 1.0);
        let d = masked_difference(&a, 0);
        assert!(d[[4, 0, 0]].is_nan() && d[[1, 0, 0]] == 0.0);
        assert!(any_null(a.view()) && !any_null(Array3::<f32>::zeros((2, 2, 2)).view()));
    }

    #[test]
    fn one_sided_differences_at_the_edge_of_the_live_region() {
        let a = Array3::from_shape_fn(
            (1, 1, 6),
            |(_, _, k)| {
                if k < 2 {
                    f32::NAN
                } else {
                    (k * k) as f32
                }
            },
        );
        let d = masked_difference(&a, 2);
        assert_eq!(d[[0, 0, 2]], 9.0 - 4.0);
        assert_eq!(d[[0, 0, 3]], 0.5 * (16.0 - 4.0));
    }
}
