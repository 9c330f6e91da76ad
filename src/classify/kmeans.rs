//! The arithmetic of facies classification, on samples in memory: the
//! scalers, k-means++ and Lloyd's iterations as scikit-learn's `KMeans`
//! (algorithm "lloyd") runs them, and the nearest and second-nearest centre
//! of a sample. Rows are samples, columns features; all in f64.

pub use crate::job::ScalerKind;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;

/// A fitted scaler: x_scaled = (x − centre) / scale, per feature.
#[derive(Clone, Debug, PartialEq)]
pub struct Scaler {
    pub centre: Vec<f64>,
    pub scale: Vec<f64>,
}

impl Scaler {
    /// Fitted on `x` (n × f, row-major). A feature that does not vary gets
    /// scale 1, as scikit-learn does.
    pub fn fit(kind: ScalerKind, x: &[f64], f: usize) -> Scaler {
        let n = x.len() / f;
        let column = |j: usize| -> Vec<f64> { (0..n).map(|i| x[i * f + j]).collect() };
        let (centre, scale): (Vec<f64>, Vec<f64>) = (0..f)
            .map(|j| match kind {
                ScalerKind::None => (0.0, 1.0),
                ScalerKind::Standard => {
                    let c = column(j);
                    let mean = c.iter().sum::<f64>() / n as f64;
                    let var = c.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
                    (mean, nonzero(var.sqrt()))
                }
                ScalerKind::Robust => {
                    let mut c = column(j);
                    c.sort_by(f64::total_cmp);
                    let q = |p: f64| quantile(&c, p);
                    (q(0.5), nonzero(q(0.75) - q(0.25)))
                }
            })
            .unzip();
        Scaler { centre, scale }
    }

    pub fn apply(&self, row: &mut [f64]) {
        for (j, v) in row.iter_mut().enumerate() {
            *v = (*v - self.centre[j]) / self.scale[j];
        }
    }

    pub fn invert(&self, row: &mut [f64]) {
        for (j, v) in row.iter_mut().enumerate() {
            *v = *v * self.scale[j] + self.centre[j];
        }
    }
}

fn nonzero(s: f64) -> f64 {
    if s > 0.0 && s.is_finite() {
        s
    } else {
        1.0
    }
}

/// numpy's default (linear) quantile of sorted values.
fn quantile(sorted: &[f64], p: f64) -> f64 {
    let pos = p * (sorted.len() - 1) as f64;
    let (lo, frac) = (pos.floor() as usize, pos.fract());
    if lo + 1 < sorted.len() {
        sorted[lo] + frac * (sorted[lo + 1] - sorted[lo])
    } else {
        sorted[lo]
    }
}

fn dist2(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Index of the nearest centre and the squared distance to it (ties: the
/// lowest index).
fn nearest(row: &[f64], centres: &[f64], f: usize) -> (usize, f64) {
    let mut best = (0, f64::INFINITY);
    for (c, centre) in centres.chunks_exact(f).enumerate() {
        let d = dist2(row, centre);
        if d < best.1 {
            best = (c, d);
        }
    }
    best
}

/// The nearest centre, the distance to it and to the second nearest.
pub fn nearest_two(row: &[f64], centres: &[f64], f: usize) -> (usize, f64, f64) {
    let (mut b1, mut d1, mut d2) = (0, f64::INFINITY, f64::INFINITY);
    for (c, centre) in centres.chunks_exact(f).enumerate() {
        let d = dist2(row, centre);
        if d < d1 {
            (d2, b1, d1) = (d1, c, d);
        } else if d < d2 {
            d2 = d;
        }
    }
    (b1, d1.sqrt(), d2.sqrt())
}

/// Greedy k-means++ (as scikit-learn: 2 + ln k candidates per step, the
/// one that lowers the potential most), from `seed`.
pub fn kmeans_plus_plus(x: &[f64], f: usize, k: usize, seed: u64) -> Vec<f64> {
    let n = x.len() / f;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let trials = 2 + (k as f64).ln().floor() as usize;
    let row = |i: usize| &x[i * f..(i + 1) * f];
    let mut centres = row(rng.random_range(0..n)).to_vec();
    let mut closest: Vec<f64> = (0..n)
        .into_par_iter()
        .map(|i| dist2(row(i), &centres[..f]))
        .collect();
    let mut potential: f64 = closest.iter().sum();
    for _ in 1..k {
        let mut best: Option<(f64, Vec<f64>, usize)> = None;
        for _ in 0..trials {
            // a candidate drawn with probability proportional to D²
            let target = rng.random::<f64>() * potential;
            let mut acc = 0.0;
            let mut pick = n - 1;
            for (i, d) in closest.iter().enumerate() {
                acc += d;
                if acc >= target {
                    pick = i;
                    break;
                }
            }
            let cand = row(pick);
            let d: Vec<f64> = (0..n)
                .into_par_iter()
                .map(|i| closest[i].min(dist2(row(i), cand)))
                .collect();
            let pot: f64 = d.iter().sum();
            if best.as_ref().is_none_or(|b| pot < b.0) {
                best = Some((pot, d, pick));
            }
        }
        let (pot, d, pick) = best.expect("at least one trial");
        centres.extend_from_slice(row(pick));
        closest = d;
        potential = pot;
    }
    centres
}

/// A fitted k-means: centres (k × f, scaled units), inertia, iterations.
#[derive(Clone, Debug)]
pub struct Fit {
    pub centres: Vec<f64>,
    pub inertia: f64,
    pub iterations: usize,
}

/// Lloyd's iterations from `init` until the centres move less than `tol`
/// (relative to the mean feature variance, as scikit-learn) or the labels
/// no longer change, at most `max_iter` times. An empty cluster takes the
/// sample farthest from its centre, so the result depends only on the data.
pub fn lloyd(x: &[f64], f: usize, init: &[f64], max_iter: usize, tol: f64) -> Fit {
    let n = x.len() / f;
    let k = init.len() / f;
    let row = |i: usize| &x[i * f..(i + 1) * f];
    let tol = tol * mean_variance(x, f);
    let mut centres = init.to_vec();
    let assign = |centres: &[f64]| -> Vec<(usize, f64)> {
        (0..n)
            .into_par_iter()
            .map(|i| nearest(row(i), centres, f))
            .collect()
    };
    let mut labels = assign(&centres);
    let mut iterations = 0;
    let mut strict = false;
    for it in 0..max_iter {
        iterations = it + 1;
        let mut sums = vec![0.0; k * f];
        let mut counts = vec![0usize; k];
        for (i, &(c, _)) in labels.iter().enumerate() {
            counts[c] += 1;
            for (s, v) in sums[c * f..(c + 1) * f].iter_mut().zip(row(i)) {
                *s += v;
            }
        }
        let mut new = centres.clone();
        let mut taken = Vec::new();
        for c in 0..k {
            if counts[c] > 0 {
                for j in 0..f {
                    new[c * f + j] = sums[c * f + j] / counts[c] as f64;
                }
            } else {
                // the farthest sample not already moved
                let far = (0..n)
                    .filter(|i| !taken.contains(i))
                    .max_by(|&a, &b| labels[a].1.total_cmp(&labels[b].1).then(b.cmp(&a)))
                    .expect("more samples than clusters");
                taken.push(far);
                new[c * f..(c + 1) * f].copy_from_slice(row(far));
            }
        }
        let shift: f64 = dist2(&new, &centres);
        centres = new;
        let next = assign(&centres);
        if next.iter().zip(&labels).all(|(a, b)| a.0 == b.0) {
            labels = next;
            strict = true;
            break;
        }
        labels = next;
        if shift <= tol {
            break;
        }
    }
    let _ = strict;
    let inertia = labels.iter().map(|l| l.1).sum();
    Fit {
        centres,
        inertia,
        iterations,
    }
}

fn mean_variance(x: &[f64], f: usize) -> f64 {
    let n = (x.len() / f) as f64;
    (0..f)
        .map(|j| {
            let m = x.iter().skip(j).step_by(f).sum::<f64>() / n;
            x.iter()
                .skip(j)
                .step_by(f)
                .map(|v| (v - m).powi(2))
                .sum::<f64>()
                / n
        })
        .sum::<f64>()
        / f as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalers_match_scikit_learn_definitions() {
        let x = [1.0, 10.0, 2.0, 10.0, 3.0, 10.0, 10.0, 10.0];
        let s = Scaler::fit(ScalerKind::Standard, &x, 2);
        assert_eq!(s.centre, [4.0, 10.0]);
        assert!((s.scale[0] - 3.5355339059327378).abs() < 1e-12);
        assert_eq!(s.scale[1], 1.0, "a constant feature keeps scale 1");
        let r = Scaler::fit(ScalerKind::Robust, &x, 2);
        // np.percentile([1,2,3,10], [25, 50, 75]) = 1.75, 2.5, 4.75
        assert_eq!(r.centre[0], 2.5);
        assert_eq!(r.scale[0], 3.0);
    }

    #[test]
    fn two_blobs_are_found_and_nearest_two_is_consistent() {
        let mut x = Vec::new();
        for i in 0..50 {
            let e = (i % 5) as f64 * 0.01;
            x.extend_from_slice(&[e, e]);
            x.extend_from_slice(&[5.0 + e, 5.0 - e]);
        }
        let init = kmeans_plus_plus(&x, 2, 2, 7);
        let fit = lloyd(&x, 2, &init, 100, 1e-4);
        let mut c: Vec<f64> = fit.centres.chunks(2).map(|c| c[0]).collect();
        c.sort_by(f64::total_cmp);
        assert!(
            (c[0] - 0.02).abs() < 1e-9 && (c[1] - 5.02).abs() < 1e-9,
            "{c:?}"
        );
        let (_, d1, d2) = nearest_two(&[0.0, 0.0], &fit.centres, 2);
        assert!(d1 < d2);
    }

    #[test]
    fn an_empty_cluster_takes_the_farthest_sample() {
        let x = [0.0, 0.1, 0.2, 10.0];
        // the third centre attracts nothing
        let fit = lloyd(&x, 1, &[0.0, 10.0, 100.0], 10, 0.0);
        let mut c = fit.centres.clone();
        c.sort_by(f64::total_cmp);
        assert!(c.iter().all(|v| v.is_finite()) && c[2] <= 10.0, "{c:?}");
    }
}
