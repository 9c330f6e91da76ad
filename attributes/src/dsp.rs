//! Trace-wise signal processing helpers shared by several families.

use ndarray::{Array3, ArrayView3, Axis, Zip};
use realfft::num_complex::Complex;
use realfft::{num_traits::Zero, RealFftPlanner};
use rustfft::FftPlanner;

/// The quadrature trace H[x] of every trace (the imaginary part of the
/// analytic signal), as `scipy.signal.hilbert` computes it: an FFT over the
/// whole trace with no zero padding, positive frequencies doubled, negative
/// ones zeroed, DC and (for even lengths) Nyquist kept.
pub fn quadrature(block: ArrayView3<f32>) -> Array3<f32> {
    let n = block.len_of(Axis(2));
    let mut out = Array3::<f32>::zeros(block.raw_dim());
    if n == 0 {
        return out;
    }
    let fwd = RealFftPlanner::<f64>::new().plan_fft_forward(n);
    let inv = FftPlanner::<f64>::new().plan_fft_inverse(n);
    let mut input = fwd.make_input_vec();
    let mut spectrum = fwd.make_output_vec();
    let mut full = vec![Complex::<f64>::zero(); n];
    let mut scratch =
        vec![Complex::<f64>::zero(); inv.get_inplace_scratch_len().max(fwd.get_scratch_len())];
    let half = n / 2;
    let scale = 1.0 / n as f64;
    Zip::from(block.lanes(Axis(2)))
        .and(out.lanes_mut(Axis(2)))
        .for_each(|x, mut y| {
            for (d, s) in input.iter_mut().zip(x.iter()) {
                *d = *s as f64;
            }
            fwd.process_with_scratch(&mut input, &mut spectrum, &mut scratch)
                .expect("buffer sizes from the plan");
            full.fill(Complex::zero());
            full[0] = spectrum[0];
            let doubled_end = if n % 2 == 0 { half } else { half + 1 };
            for k in 1..doubled_end {
                full[k] = spectrum[k] * 2.0;
            }
            if n % 2 == 0 {
                full[half] = spectrum[half];
            }
            inv.process_with_scratch(&mut full, &mut scratch);
            for (d, z) in y.iter_mut().zip(full.iter()) {
                *d = (z.im * scale) as f32;
            }
        });
    out
}

/// Derivative along the trace as `numpy.gradient` computes it: central
/// differences inside, one-sided first differences at the two ends.
pub fn gradient_along_trace(a: &Array3<f32>) -> Array3<f32> {
    let mut out = Array3::<f32>::zeros(a.raw_dim());
    let n = a.len_of(Axis(2));
    if n < 2 {
        return out;
    }
    Zip::from(a.lanes(Axis(2)))
        .and(out.lanes_mut(Axis(2)))
        .for_each(|x, mut d| {
            d[0] = x[1] - x[0];
            d[n - 1] = x[n - 1] - x[n - 2];
            for k in 1..n - 1 {
                d[k] = (x[k + 1] - x[k - 1]) * 0.5;
            }
        });
    out
}
