//! Trace-wise signal processing helpers shared by several families.

use ndarray::{Array3, ArrayView3, Axis};
use realfft::num_complex::Complex;
use realfft::{num_traits::Zero, RealFftPlanner};
use rustfft::FftPlanner;

/// The analytic signal of every trace, as `scipy.signal.hilbert` computes
/// it: an FFT over the whole trace with no zero padding, positive
/// frequencies doubled, negative ones zeroed, DC and (for even lengths)
/// Nyquist kept.
pub struct Analytic {
    /// H[x], the imaginary part.
    pub quadrature: Array3<f32>,
    /// (x′, H[x]′) per sample, by spectral differentiation (exact for
    /// band-limited traces), when asked for.
    pub derivatives: Option<(Array3<f32>, Array3<f32>)>,
}

pub fn analytic(block: ArrayView3<f32>, with_derivatives: bool) -> Analytic {
    let n = block.len_of(Axis(2));
    if n == 0 {
        let empty = || Array3::<f32>::zeros(block.raw_dim());
        return Analytic {
            quadrature: empty(),
            derivatives: with_derivatives.then(|| (empty(), empty())),
        };
    }
    // the results grow trace by trace, in the block's logical order (no
    // block-sized zero fill before they are written)
    let mut quadrature = Vec::with_capacity(block.len());
    let derived = if with_derivatives { block.len() } else { 0 };
    let (mut dx, mut dy) = (Vec::with_capacity(derived), Vec::with_capacity(derived));
    let mut planner = RealFftPlanner::<f64>::new();
    let fwd = planner.plan_fft_forward(n);
    // H[x] is real: the inverse of −i·X over the doubled bins, a real
    // transform (half the work of the complex inverse of the one-sided
    // spectrum, whose imaginary part it equals)
    let real_inv = planner.plan_fft_inverse(n);
    let inv = FftPlanner::<f64>::new().plan_fft_inverse(n);
    let mut input = fwd.make_input_vec();
    let mut spectrum = fwd.make_output_vec();
    let mut turned = real_inv.make_input_vec();
    let mut hilbert = real_inv.make_output_vec();
    let mut dfull = vec![Complex::<f64>::zero(); n];
    let mut scratch = vec![
        Complex::<f64>::zero();
        inv.get_inplace_scratch_len()
            .max(fwd.get_scratch_len())
            .max(real_inv.get_scratch_len())
    ];
    // the doubled bins end before Nyquist (even n) or after the last one
    let doubled_end = n.div_ceil(2);
    let scale = 1.0 / n as f64;
    let omega = 2.0 * std::f64::consts::PI / n as f64;
    for x in block.lanes(Axis(2)) {
        match x.as_slice() {
            Some(x) => input.iter_mut().zip(x).for_each(|(d, s)| *d = *s as f64),
            None => input
                .iter_mut()
                .zip(x.iter())
                .for_each(|(d, s)| *d = *s as f64),
        }
        fwd.process_with_scratch(&mut input, &mut spectrum, &mut scratch)
            .expect("buffer sizes from the plan");
        // DC and Nyquist are real and add nothing to H[x]
        turned.fill(Complex::zero());
        for k in 1..doubled_end {
            turned[k] = Complex::new(spectrum[k].im, -spectrum[k].re);
        }
        if with_derivatives {
            // d/dk of a component e^{iωk} is iω e^{iωk}; Nyquist has no
            // well-defined derivative and is dropped
            dfull.fill(Complex::zero());
            for k in 1..doubled_end {
                dfull[k] = spectrum[k] * 2.0 * Complex::new(0.0, omega * k as f64);
            }
            inv.process_with_scratch(&mut dfull, &mut scratch);
            dx.extend(dfull.iter().map(|d| (d.re * scale) as f32));
            dy.extend(dfull.iter().map(|d| (d.im * scale) as f32));
        }
        real_inv
            .process_with_scratch(&mut turned, &mut hilbert, &mut scratch)
            .expect("buffer sizes from the plan");
        quadrature.extend(hilbert.iter().map(|h| (h * scale) as f32));
    }
    let shaped =
        |v: Vec<f32>| Array3::from_shape_vec(block.raw_dim(), v).expect("one value a sample");
    Analytic {
        quadrature: shaped(quadrature),
        derivatives: with_derivatives.then(|| (shaped(dx), shaped(dy))),
    }
}

/// √(x² + y²) for f32 inputs, through f64 (where the squares and their
/// sum cannot overflow and are rounded once): the same value as `hypot`
/// to the last bit in practice, and, unlike libm's `hypotf`, it vectorises.
#[inline]
pub fn magnitude(x: f32, y: f32) -> f32 {
    let (x, y) = (x as f64, y as f64);
    (x * x + y * y).sqrt() as f32
}

/// atan2 for the phase of every sample: Cephes' single-precision arctangent
/// (range reduction to |t| <= tan(π/8), then a degree-9 odd polynomial,
/// relative error ~2e-7), several times faster than libm's atan2f, which
/// otherwise dominates the phase attributes. Same quadrant conventions as
/// `f32::atan2`: the result is in (−π, π] and atan2(0, 0) = 0.
#[inline]
pub fn atan2(y: f32, x: f32) -> f32 {
    use std::f32::consts::{FRAC_PI_2, FRAC_PI_4, PI};
    if x == 0.0 && y == 0.0 {
        return if x.is_sign_negative() {
            PI.copysign(y)
        } else {
            0.0f32.copysign(y)
        };
    }
    let (ax, ay) = (x.abs(), y.abs());
    // angle of (ax, ay) in [0, π/2]
    let (num, den, swap) = if ay > ax {
        (ax, ay, true)
    } else {
        (ay, ax, false)
    };
    let t = num / den; // in [0, 1]
    let (base, t) = if t > 0.414_213_57 {
        (FRAC_PI_4, (t - 1.0) / (t + 1.0))
    } else {
        (0.0, t)
    };
    let z = t * t;
    let p =
        (((8.053_744_5e-2 * z - 1.387_768_6e-1) * z + 1.997_771_1e-1) * z - 3.333_295e-1) * z * t
            + t;
    let mut a = base + p;
    if swap {
        a = FRAC_PI_2 - a;
    }
    if x < 0.0 {
        a = PI - a;
    }
    a.copysign(y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_atan2_matches_std() {
        let mut worst = 0f32;
        for i in -200..=200 {
            for j in -200..=200 {
                let (y, x) = (i as f32 * 0.37, j as f32 * 0.53);
                let d = (atan2(y, x) - y.atan2(x)).abs();
                worst = worst.max(d);
            }
        }
        for (y, x) in [
            (1e-30f32, 1.0f32),
            (1.0, 1e-30),
            (-1.0, -1e-30),
            (3e7, -2.0),
            (0.0, -1.0),
            (-0.0, -1.0),
            (0.0, 1.0),
        ] {
            worst = worst.max((atan2(y, x) - y.atan2(x)).abs());
        }
        assert!(worst < 1e-6, "max error {worst}");
    }
}
