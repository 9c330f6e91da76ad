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
            p0 * keys(1.0 + f) + p1 * keys(f) + p2 * keys(1.0 - f) + p3 * keys(2.0 - f)
        }
    };
    v as f32
}

/// The live samples `trace[window]` as (position, value) points.
pub fn samples(trace: &[f32], axis: &Axis, window: std::ops::Range<usize>) -> Vec<(f64, f64)> {
    let first = window.start;
    trace[window]
        .iter()
        .enumerate()
        .filter(|(_, v)| !v.is_nan())
        .map(|(k, &v)| (axis.first + (first + k) as f64 * axis.step, v as f64))
        .collect()
}

/// Whether statistic `s` measures the samples themselves (sums and
/// counts), so that reading between them would only multiply it.
pub fn of_samples_only(s: Statistic) -> bool {
    use Statistic::*;
    matches!(s, Sum | SumPositive | SumNegative | SumAbsolute | Count)
}

/// How a trace is read `n` times per sample interval: for each of the
/// `n` fractions, the weights of the samples `k - 1 ..= k + 2` about it.
pub struct Reading {
    n: usize,
    weights: Vec<[f64; 4]>,
}

impl Reading {
    pub fn new(n: u32, how: Interpolation) -> Reading {
        let n = n.max(1) as usize;
        let weights = (0..n)
            .map(|r| {
                let f = r as f64 / n as f64;
                match how {
                    _ if r == 0 => [0.0, 1.0, 0.0, 0.0],
                    Interpolation::Nearest if f < 0.5 => [0.0, 1.0, 0.0, 0.0],
                    Interpolation::Nearest => [0.0, 0.0, 1.0, 0.0],
                    Interpolation::Linear => [0.0, 1.0 - f, f, 0.0],
                    Interpolation::Cubic => [keys(1.0 + f), keys(f), keys(1.0 - f), keys(2.0 - f)],
                }
            })
            .collect();
        Reading { n, weights }
    }

    /// The live readings from `top` to `base` (positions) as (position,
    /// value) points, at `first + m·step/n`; a reading that needs a null
    /// sample is null. Near the trace's ends, [`value_at`] reads.
    pub fn points(
        &self,
        trace: &[f32],
        axis: &Axis,
        (top, base): (f64, f64),
        how: Interpolation,
        out: &mut Vec<(f64, f64)>,
    ) {
        out.clear();
        let n = self.n as i64;
        let eps = 1e-6;
        let (a, b) = (axis.index(top) * n as f64, axis.index(base) * n as f64);
        let (m0, m1) = ((a - eps).ceil() as i64, (b + eps).floor() as i64);
        let len = trace.len() as i64;
        for m in m0.max(0)..=m1 {
            let (k, r) = (m.div_euclid(n), m.rem_euclid(n) as usize);
            let z = axis.first + m as f64 / n as f64 * axis.step;
            let v = if k >= 1 && k + 2 < len {
                let w = &self.weights[r];
                let t = &trace[(k - 1) as usize..(k + 3) as usize];
                let mut v = 0.0;
                for j in 0..4 {
                    if w[j] != 0.0 {
                        v += w[j] * t[j] as f64;
                    }
                }
                // f32, as value_at gives
                v as f32 as f64
            } else {
                value_at(trace, axis, z, how) as f64
            };
            if !v.is_nan() {
                out.push((z, v));
            }
        }
    }
}

/// Keys' cubic convolution kernel (a = -0.5).
fn keys(t: f64) -> f64 {
    let t = t.abs();
    if t <= 1.0 {
        1.5 * t.powi(3) - 2.5 * t.powi(2) + 1.0
    } else if t < 2.0 {
        -0.5 * t.powi(3) + 2.5 * t.powi(2) - 4.0 * t + 2.0
    } else {
        0.0
    }
}

/// Statistic `s` of live points (position, value).
pub fn of_points(points: &[(f64, f64)], s: Statistic) -> f32 {
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

    /// Statistic `s` of the live samples `trace[window]`.
    fn of_window(trace: &[f32], axis: &Axis, window: std::ops::Range<usize>, s: Statistic) -> f32 {
        of_points(&samples(trace, axis, window), s)
    }

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

    #[test]
    fn readings_are_the_values_at_their_positions() {
        let t = [3.0, -1.0, 4.0, f32::NAN, 5.0, -9.0, 2.0, 6.0, 5.0, 3.0];
        let axis = Axis {
            first: 100.0,
            step: 4.0,
            len: t.len(),
        };
        for how in [
            Interpolation::Nearest,
            Interpolation::Linear,
            Interpolation::Cubic,
        ] {
            let mut points = Vec::new();
            Reading::new(7, how).points(&t, &axis, (101.0, 133.5), how, &mut points);
            // from 101 to 133.5 ms every 4/7 ms: those next to the null are null
            let all =
                (101.0f64 * 7.0 / 4.0 - 175.0).ceil() as i64..=((133.5 * 7.0 / 4.0) - 175.0) as i64;
            assert!(points.len() < all.clone().count() && points.len() > all.count() / 2);
            for &(z, v) in &points {
                let want = value_at(&t, &axis, z, how) as f64;
                assert!(
                    (v - want).abs() <= 1e-6 * want.abs().max(1.0),
                    "{how:?} at {z}: {v} vs {want}"
                );
            }
        }
    }
}
