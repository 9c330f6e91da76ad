//! Response attributes (Bodine 1984): a value taken at each envelope peak
//! and held over its lobe, from the envelope trough above to the trough below.

use crate::analytic::{derived_kernel, envelope, rates, shared_quadrature, HALO};
use crate::family::COMPLEX_TRACE as FAMILY;
use crate::{kernel, sample_interval, Spec, SAMPLE_INTERVAL};
use ndarray::{Array3, Axis};

const REFERENCE: &str = "Bodine (1984), Waveform analysis with seismic attributes, SEG \
                         Expanded Abstracts; Taner, Koehler & Sheriff (1979)";

/// Where each lobe of an envelope trace starts. Troughs are local minima as
/// `scipy.signal.find_peaks(-a)` finds them: strictly below the neighbour on
/// each side, a flat bottom counted once at its middle (rounded down); the
/// trace ends are never troughs. Each trough opens the lobe below it.
pub fn lobe_starts(a: &[f32]) -> Vec<usize> {
    let mut starts = vec![0];
    let n = a.len();
    let mut k = 1;
    while k + 1 < n {
        if a[k] < a[k - 1] {
            // walk a flat bottom
            let mut m = k;
            while m + 1 < n && a[m + 1] == a[k] {
                m += 1;
            }
            if m + 1 < n && a[m + 1] > a[k] {
                starts.push((k + m) / 2);
            }
            k = m + 1;
        } else {
            k += 1;
        }
    }
    starts
}

/// For every trace, `value(k)` at the envelope peak of each lobe (the first
/// maximum), written over the whole lobe.
fn hold_at_peaks(env: &Array3<f32>, value: impl Fn(usize, usize, usize) -> f32) -> Array3<f32> {
    let mut out = Array3::<f32>::zeros(env.raw_dim());
    let n = env.len_of(Axis(2));
    let mut line = vec![0f32; n];
    for i in 0..env.len_of(Axis(0)) {
        for j in 0..env.len_of(Axis(1)) {
            for (d, s) in line.iter_mut().zip(env.slice(ndarray::s![i, j, ..])) {
                *d = *s;
            }
            let starts = lobe_starts(&line);
            for (l, &s) in starts.iter().enumerate() {
                let e = starts.get(l + 1).copied().unwrap_or(n);
                let mut peak = s;
                for k in s..e {
                    if line[k] > line[peak] {
                        peak = k;
                    }
                }
                let v = if line[peak] > 0.0 {
                    value(i, j, peak)
                } else {
                    0.0
                };
                out.slice_mut(ndarray::s![i, j, s..e]).fill(v);
            }
        }
    }
    out
}

pub const APPARENT_POLARITY: Spec = Spec {
    name: "apparent_polarity",
    family: FAMILY,
    description: "Apparent polarity: the envelope at each envelope peak, signed by the trace \
                  at that sample, held over the lobe from trough to trough (troughs as \
                  scipy.signal.find_peaks(-A) finds them). Bright spots of either sign stand out.",
    reference: REFERENCE,
    unit: "input amplitude",
    params: &[],
    build: |p, _| {
        kernel(HALO, p, |b, sh| {
            let env = envelope(b, sh);
            hold_at_peaks(&env, |i, j, k| {
                let x = b[[i, j, k]];
                let s = if x > 0.0 {
                    1.0
                } else if x < 0.0 {
                    -1.0
                } else {
                    0.0
                };
                s * env[[i, j, k]]
            })
        })
    },
};

pub const RESPONSE_PHASE: Spec = Spec {
    name: "response_phase",
    family: FAMILY,
    description: "Response phase: the instantaneous phase (radians) at each envelope peak, \
                  held over the lobe from trough to trough: the phase of the wavelet that \
                  makes the reflection.",
    reference: REFERENCE,
    unit: "rad",
    params: &[],
    build: |p, _| {
        kernel(HALO, p, |b, sh| {
            let env = envelope(b, sh);
            let q = shared_quadrature(b, sh);
            hold_at_peaks(&env, |i, j, k| {
                crate::dsp::atan2(q[[i, j, k]], b[[i, j, k]])
            })
        })
    },
};

pub const RESPONSE_FREQUENCY: Spec = Spec {
    name: "response_frequency",
    family: FAMILY,
    description: "Response frequency: the instantaneous frequency (Hz) at each envelope peak, \
                  held over the lobe from trough to trough, where it is most stable.",
    reference: REFERENCE,
    unit: "Hz",
    params: &[SAMPLE_INTERVAL],
    build: |p, setup| {
        let hz = (1000.0 / sample_interval(p, setup)?) as f32;
        derived_kernel(p, move |b, sh| {
            let env = envelope(b, sh);
            let f = &rates(b, sh).0;
            let held = hold_at_peaks(&env, |i, j, k| f[[i, j, k]]);
            held.mapv(|v| v * hz)
        })
    },
};

/// This family's attributes, in the order `attr list` shows them.
pub(crate) const ATTRIBUTES: &[&dyn crate::Attribute] =
    &[&APPARENT_POLARITY, &RESPONSE_PHASE, &RESPONSE_FREQUENCY];

#[cfg(test)]
mod tests {
    use super::lobe_starts;

    #[test]
    fn troughs_split_lobes() {
        assert_eq!(
            lobe_starts(&[1., 2., 1., 3., 0., 0., 2., 1.]),
            vec![0, 2, 4]
        );
        assert_eq!(lobe_starts(&[0., 0., 0.]), vec![0]);
        assert_eq!(lobe_starts(&[3., 2., 1.]), vec![0]);
    }
}
