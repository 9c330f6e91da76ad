//! Statistics of one trace at a horizon or over a window: pure functions of
//! the samples and the sample axis, on which every map is built.

use crate::job::{Interpolation, Statistic};

/// A regular sample axis: sample k lies at `first + k·step`.
#[derive(Clone, Copy, Debug)]
pub struct Axis {
    pub first: f64,
    pub step: f64,
    pub len: usize,
}

impl Axis {
    /// The fractional sample index of position `z`.
    pub fn index(&self, z: f64) -> f64 {
        (z - self.first) / self.step
    }

    /// The samples from `top` to `base` inclusive (positions on the axis),
    /// or `None` when the window leaves the axis or has no sample.
    pub fn window(&self, top: f64, base: f64) -> Option<std::ops::Range<usize>> {
        let eps = 1e-6;
        let (a, b) = (self.index(top), self.index(base));
        if !(a.is_finite() && b.is_finite()) || a < -eps || b > (self.len - 1) as f64 + eps || b < a
        {
            return None;
        }
        let (k0, k1) = (
            (a - eps).ceil().max(0.0) as usize,
            ((b + eps).floor() as usize).min(self.len - 1),
        );
        (k0 <= k1).then_some(k0..k1 + 1)
    }
}

/// The value of `trace` at position `z`, read as `how` says (NaN where a
/// sample it needs is null or lies outside the trace).
pub fn value_at(trace: &[f32], axis: &Axis, z: f64, how: Interpolation) -> f32 {
    let x = axis.index(z);
    let n = trace.len() as f64;
    if !x.is_finite() || x < -1e-6 || x > n - 1.0 + 1e-6 {
        return f32::NAN;
    }
    let x = x.clamp(0.0, n - 1.0);
    let at = |k: isize| -> f64 {
        if k < 0 || k as usize >= trace.len() {
            f64::NAN
        } else {
            trace[k as usize] as f64
        }
    };
    let k = x.floor() as isize;
    let f = x - k as f64;
    let v = match how {
        Interpolation::Nearest => at(x.round() as isize),
        Interpolation::Linear if f < 1e-9 => at(k),
        Interpolation::Linear => at(k) * (1.0 - f) + at(k + 1) * f,
        Interpolation::Cubic if f < 1e-9 => at(k),
        Interpolation::Cubic => {
            // Keys' cubic convolution; at the trace's ends the missing
            // neighbour is extrapolated linearly, as Keys does
            let (p1, p2) = (at(k), at(k + 1));
            let p0 = if k >= 1 { at(k - 1) } else { 2.0 * p1 - p2 };
            let p3 = if (k + 2) < trace.len() as isize {
                at(k + 2)
            } else {
                2.0 * p2 - p1
            };
            let w = |t: f64| {
                let t = t.abs();
                if t <= 1.0 {
                    1.5 * t.powi(3) - 2.5 * t.powi(2) + 1.0
                } else if t < 2.0 {
                    -0.5 * t.powi(3) + 2.5 * t.powi(2) - 4.0 * t + 2.0
                } else {
                    0.0
                }
            };
            p0 * w(1.0 + f) + p1 * w(f) + p2 * w(1.0 - f) + p3 * w(2.0 - f)
        }
    };
    v as f32
}

/// Statistic `s` of the live samples `trace[window]` (positions from
/// `axis`); NaN without live samples (`count` is then 0).
pub fn of_window(trace: &[f32], axis: &Axis, window: std::ops::Range<usize>, s: Statistic) -> f32 {
    let first = window.start;
    let points: Vec<(f64, f64)> = trace[window]
        .iter()
        .enumerate()
        .filter(|(_, v)| !v.is_nan())
        .map(|(k, &v)| (axis.first + (first + k) as f64 * axis.step, v as f64))
        .collect();
    of_points(&points, s)
}

/// Statistic `s` over the window from `top` to `base` (positions) with
/// the trace read `refine` times per sample interval, as `how` says, at
/// the axis' positions `first + m·step/refine` (xtgeo's `ndiv`). Sums and
/// counts stay at the samples: they measure the samples, and a finer
/// reading would multiply them.
#[allow(clippy::too_many_arguments)]
pub fn of_refined(
    trace: &[f32],
    axis: &Axis,
    window: std::ops::Range<usize>,
    (top, base): (f64, f64),
    refine: u32,
    how: Interpolation,
    s: Statistic,
) -> f32 {
    use Statistic::*;
    if refine <= 1 || matches!(s, Sum | SumPositive | SumNegative | SumAbsolute | Count) {
        return of_window(trace, axis, window, s);
    }
    let n = refine as f64;
    let eps = 1e-6;
    let (a, b) = (axis.index(top) * n, axis.index(base) * n);
    let (m0, m1) = ((a - eps).ceil() as i64, (b + eps).floor() as i64);
    let points: Vec<(f64, f64)> = (m0..=m1)
        .map(|m| axis.first + m as f64 / n * axis.step)
        .map(|z| (z, value_at(trace, axis, z, how) as f64))
        .filter(|(_, v)| !v.is_nan())
        .collect();
    of_points(&points, s)
}

/// Statistic `s` of live points (position, value).
fn of_points(points: &[(f64, f64)], s: Statistic) -> f32 {
    let live = points.iter().copied();
    let fold = |init: f64, f: &dyn Fn(f64, f64) -> f64, pick: &dyn Fn(f64) -> bool| {
        let (mut acc, mut n) = (init, 0usize);
        for (_, v) in live.clone().filter(|(_, v)| pick(*v)) {
            acc = f(acc, v);
            n += 1;
        }
        (acc, n)
    };
    let all = |_: f64| true;
    let mean_of = |pick: &dyn Fn(f64) -> bool, map: &dyn Fn(f64) -> f64| {
        let (sum, n) = fold(0.0, &|a, v| a + map(v), pick);
        if n == 0 {
            f64::NAN
        } else {
            sum / n as f64
        }
    };
    let sum_of = |pick: &dyn Fn(f64) -> bool, map: &dyn Fn(f64) -> f64| {
        let (sum, n) = fold(0.0, &|a, v| a + map(v), pick);
        if n == 0 && live.clone().count() == 0 {
            f64::NAN
        } else {
            sum
        }
    };
    let z_of = |better: &dyn Fn(f64, f64) -> bool| {
        let mut best: Option<(f64, f64)> = None;
        for (z, v) in live.clone() {
            if best.is_none_or(|(_, b)| better(v, b)) {
                best = Some((z, v));
            }
        }
        best.map_or(f64::NAN, |(z, _)| z)
    };
    use Statistic::*;
    let v = match s {
        Value | Samples => f64::NAN, // not window statistics
        Count => live.clone().count() as f64,
        Mean => mean_of(&all, &|v| v),
        Rms => mean_of(&all, &|v| v * v).sqrt(),
        Min => fold(f64::INFINITY, &f64::min, &all).0,
        Max => fold(f64::NEG_INFINITY, &f64::max, &all).0,
        Maxabs => fold(f64::NEG_INFINITY, &|a, v| a.max(v.abs()), &all).0,
        Sum => sum_of(&all, &|v| v),
        Variance | Stdev => {
            let m = mean_of(&all, &|v| v);
            let var = mean_of(&all, &|v| (v - m) * (v - m));
            if s == Variance {
                var
            } else {
                var.sqrt()
            }
        }
        MeanPositive => mean_of(&|v| v > 0.0, &|v| v),
        MeanNegative => mean_of(&|v| v < 0.0, &|v| v),
        MeanAbsolute => mean_of(&all, &|v| v.abs()),
        SumPositive => sum_of(&|v| v > 0.0, &|v| v),
        SumNegative => sum_of(&|v| v < 0.0, &|v| v),
        SumAbsolute => sum_of(&all, &|v| v.abs()),
        ZOfMax => z_of(&|v, b| v > b),
        ZOfMin => z_of(&|v, b| v < b),
    };
    match s {
        Count => v as f32,
        _ if live.clone().count() == 0 => f32::NAN,
        _ if v.is_infinite() => f32::NAN,
        _ => v as f32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AXIS: Axis = Axis {
        first: 100.0,
        step: 4.0,
        len: 6,
    };

    #[test]
    fn windows_are_inclusive_and_stay_on_the_axis() {
        assert_eq!(AXIS.window(104.0, 112.0), Some(1..4));
        assert_eq!(AXIS.window(101.0, 111.0), Some(1..3));
        assert_eq!(AXIS.window(96.0, 112.0), None);
        assert_eq!(AXIS.window(112.0, 121.0), None);
        assert_eq!(AXIS.window(112.0, 104.0), None);
        assert_eq!(AXIS.window(101.0, 103.0), None);
    }

    #[test]
    fn values_between_samples() {
        let t = [0.0, 1.0, 4.0, 9.0, 16.0, 25.0];
        assert_eq!(value_at(&t, &AXIS, 106.0, Interpolation::Linear), 2.5);
        assert_eq!(value_at(&t, &AXIS, 106.0, Interpolation::Nearest), 4.0);
        // cubic convolution reproduces a quadratic in the interior
        assert!((value_at(&t, &AXIS, 110.0, Interpolation::Cubic) - 6.25).abs() < 1e-6);
        assert!(value_at(&t, &AXIS, 99.0, Interpolation::Linear).is_nan());
        let holed = [0.0, f32::NAN, 4.0, 9.0, 16.0, 25.0];
        assert!(value_at(&holed, &AXIS, 106.0, Interpolation::Linear).is_nan());
        assert_eq!(value_at(&holed, &AXIS, 108.0, Interpolation::Linear), 4.0);
    }

    #[test]
    fn statistics_skip_nulls() {
        let t = [1.0, -2.0, f32::NAN, 3.0, -4.0, 5.0];
        let w = 0..5;
        let s = |st| of_window(&t, &AXIS, w.clone(), st);
        assert_eq!(s(Statistic::Count), 4.0);
        assert_eq!(s(Statistic::Mean), -0.5);
        assert_eq!(s(Statistic::Sum), -2.0);
        assert_eq!(s(Statistic::Maxabs), 4.0);
        assert_eq!(s(Statistic::ZOfMax), 112.0);
        assert_eq!(s(Statistic::ZOfMin), 116.0);
        assert_eq!(s(Statistic::MeanPositive), 2.0);
        assert_eq!(s(Statistic::SumNegative), -6.0);
        assert!((s(Statistic::Rms) - (30.0f32 / 4.0).sqrt()).abs() < 1e-6);
        assert!((s(Statistic::Variance) - 7.25).abs() < 1e-6);
        assert!(of_window(&t, &AXIS, 2..3, Statistic::Mean).is_nan());
        assert_eq!(of_window(&t, &AXIS, 2..3, Statistic::Count), 0.0);
    }
}
