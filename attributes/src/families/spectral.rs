//! Frequency attributes: zero-phase filters by FFT over the whole trace,
//! and local spectra from short windows (STFT with a Hann window, or a
//! Morlet wavelet).

use crate::{
    kernel, sample_interval, AttrError, Halo, ParamKind, ParamSpec, Params, Setup, Shared, Spec,
    SAMPLE_INTERVAL,
};
use ndarray::{Array3, ArrayView3, Axis};
use realfft::num_complex::Complex;
use realfft::RealFftPlanner;

use crate::family::FREQUENCY as FAMILY;
const FULL: [Halo; 3] = [Halo::Depth(0), Halo::Depth(0), Halo::Full];

/// The Ormsby trapezoid through corners f1 ≤ f2 ≤ f3 ≤ f4 (Hz): 0 outside
/// [f1, f4], 1 on [f2, f3], linear on the flanks.
pub fn trapezoid(f: f64, c: [f64; 4]) -> f64 {
    if f < c[0] || f > c[3] {
        0.0
    } else if f < c[1] {
        (f - c[0]) / (c[1] - c[0])
    } else if f <= c[2] {
        1.0
    } else if c[3] > c[2] {
        (c[3] - f) / (c[3] - c[2])
    } else {
        1.0
    }
}

/// Multiply every trace's spectrum by `gain(f in Hz)`: zero phase.
fn filter_traces(block: ArrayView3<f32>, dt_ms: f64, gain: impl Fn(f64) -> f64) -> Array3<f32> {
    let n = block.len_of(Axis(2));
    let mut out = Array3::<f32>::zeros(block.raw_dim());
    if n == 0 {
        return out;
    }
    let mut planner = RealFftPlanner::<f64>::new();
    let fwd = planner.plan_fft_forward(n);
    let inv = planner.plan_fft_inverse(n);
    let mut input = fwd.make_input_vec();
    let mut spectrum = fwd.make_output_vec();
    let gains: Vec<f64> = (0..spectrum.len())
        .map(|k| gain(k as f64 * 1000.0 / (n as f64 * dt_ms)))
        .collect();
    for (x, mut o) in block.lanes(Axis(2)).into_iter().zip(out.lanes_mut(Axis(2))) {
        for (d, s) in input.iter_mut().zip(x.iter()) {
            *d = *s as f64;
        }
        fwd.process(&mut input, &mut spectrum).expect("plan sizes");
        for (s, g) in spectrum.iter_mut().zip(&gains) {
            *s *= *g;
        }
        // a real inverse needs real DC and Nyquist bins: they are (real gains)
        spectrum[0].im = 0.0;
        if n.is_multiple_of(2) {
            let last = spectrum.len() - 1;
            spectrum[last].im = 0.0;
        }
        inv.process(&mut spectrum, &mut input).expect("plan sizes");
        for (o, v) in o.iter_mut().zip(&input) {
            *o = (*v / n as f64) as f32;
        }
    }
    out
}

/// The Ormsby filter kernel whose four corners `full` makes of the given
/// (validated, non-decreasing) `corners`.
fn ormsby(
    p: &Params,
    setup: &Setup,
    full: fn(&[f64]) -> [f64; 4],
) -> Result<Box<dyn crate::Kernel>, AttrError> {
    let dt = sample_interval(p, setup)?;
    #[derive(serde::Deserialize)]
    struct Corners {
        corners: Vec<f64>,
    }
    let c = p.typed::<Corners>()?.corners;
    if c.windows(2).any(|w| w[1] < w[0]) {
        return Err(AttrError::BadParam {
            param: "corners".into(),
            message: format!("corner frequencies must not decrease, got {c:?}"),
        });
    }
    let c = full(&c);
    let nyquist = 500.0 / dt;
    if c[0] >= nyquist {
        return Err(AttrError::BadParam {
            param: "corners".into(),
            message: format!(
                "the pass band starts at {} Hz, at or above the Nyquist frequency {nyquist} Hz of a {dt} ms sample interval: nothing would pass",
                c[0]
            ),
        });
    }
    // the trace, its spectrum, the filtered spectrum and the result
    // (measured: about 3.8 blocks)
    crate::with_copies(
        3.8,
        kernel(FULL, p, move |b, _| {
            filter_traces(b, dt, |f| trapezoid(f, c))
        }),
    )
}

const fn corner_param(len: usize, default: &'static str, help: &'static str) -> [ParamSpec; 2] {
    [
        ParamSpec {
            name: "corners",
            kind: ParamKind::FloatList {
                len,
                min: 0.0,
                max: f64::INFINITY,
            },
            default,
            unit: "Hz",
            help,
        },
        SAMPLE_INTERVAL,
    ]
}

const BANDPASS_PARAMS: [ParamSpec; 2] = corner_param(
    4,
    "[5, 10, 40, 60]",
    "Ormsby corners f1-f2-f3-f4: zero below f1 and above f4, full from f2 to f3",
);
const LOWPASS_PARAMS: [ParamSpec; 2] = corner_param(
    2,
    "[40, 60]",
    "full up to the first corner, zero above the second",
);
const HIGHPASS_PARAMS: [ParamSpec; 2] = corner_param(
    2,
    "[5, 10]",
    "zero below the first corner, full above the second",
);

const ORMSBY: &str = "Ormsby (1961), Design of numerical filters with applications to missile \
                      data processing, J. ACM 8(3); Yilmaz (2001), Seismic Data Analysis, SEG";

pub const BANDPASS: Spec = Spec {
    name: "bandpass",
    family: FAMILY,
    description: "Zero-phase Ormsby band-pass: the trace's spectrum (FFT over the whole trace) \
                  times the trapezoid f1-f2-f3-f4, transformed back; numpy.fft.irfft(rfft(x) × \
                  trapezoid). The passband lands where the corners say.",
    reference: ORMSBY,
    unit: "input amplitude",
    params: &BANDPASS_PARAMS,
    build: |p, setup| ormsby(p, setup, |c| [c[0], c[1], c[2], c[3]]),
};

pub const LOWPASS: Spec = Spec {
    name: "lowpass",
    family: FAMILY,
    description: "Zero-phase low-pass: the Ormsby trapezoid 0-0-f3-f4 applied by FFT over the \
                  whole trace.",
    reference: ORMSBY,
    unit: "input amplitude",
    params: &LOWPASS_PARAMS,
    build: |p, setup| ormsby(p, setup, |c| [0.0, 0.0, c[0], c[1]]),
};

pub const HIGHPASS: Spec = Spec {
    name: "highpass",
    family: FAMILY,
    description: "Zero-phase high-pass: the Ormsby trapezoid f1-f2-∞-∞ applied by FFT over the \
                  whole trace.",
    reference: ORMSBY,
    unit: "input amplitude",
    params: &HIGHPASS_PARAMS,
    build: |p, setup| ormsby(p, setup, |c| [c[0], c[1], f64::INFINITY, f64::INFINITY]),
};

/// `numpy.hanning(len)`: symmetric, zero at both ends.
pub fn hann(len: usize) -> Vec<f64> {
    if len == 1 {
        return vec![1.0];
    }
    (0..len)
        .map(|m| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * m as f64 / (len - 1) as f64).cos())
        .collect()
}

/// The taps and radius of the analysing window of spectral_decomposition.
fn analysis_window(method: &str, window: usize, cycles: f64, freq: f64, dt_ms: f64) -> Vec<f64> {
    if method == "morlet" {
        // Gaussian of σ_t = cycles/(2πf) seconds, out to 4σ
        let sigma = cycles / (2.0 * std::f64::consts::PI * freq) * 1000.0 / dt_ms;
        let r = (4.0 * sigma).ceil() as i64;
        (-r..=r)
            .map(|m| (-0.5 * (m as f64 / sigma).powi(2)).exp())
            .collect()
    } else {
        hann(window)
    }
}

const DECOMP_PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "frequency",
        kind: ParamKind::Float {
            min: 0.0,
            max: f64::INFINITY,
        },
        default: "30",
        unit: "Hz",
        help: "the frequency to extract",
    },
    ParamSpec {
        name: "method",
        kind: ParamKind::Choice(&["stft", "morlet"]),
        default: "\"stft\"",
        unit: "",
        help: "Hann-windowed short-time Fourier transform, or Morlet continuous wavelet",
    },
    ParamSpec {
        name: "window",
        kind: ParamKind::OddInt { min: 3 },
        default: "31",
        unit: "samples",
        help: "STFT window length (Hann), centred",
    },
    ParamSpec {
        name: "cycles",
        kind: ParamKind::Float {
            min: 0.0,
            max: 100.0,
        },
        default: "5",
        unit: "",
        help: "Morlet: cycles per Gaussian standard deviation × 2π (time-frequency trade-off)",
    },
    SAMPLE_INTERVAL,
];

/// |Σ_m w[m]·x[k + m − r]·e^{−iω(m − r)}| × 2/Σw for every sample.
fn local_amplitude(block: ArrayView3<f32>, w: &[f64], omega: f64) -> Array3<f32> {
    let r = w.len() / 2;
    let norm = 2.0 / w.iter().sum::<f64>();
    let taps: Vec<Complex<f64>> = w
        .iter()
        .enumerate()
        .map(|(m, &v)| Complex::from_polar(v * norm, -omega * (m as f64 - r as f64)))
        .collect();
    let n = block.len_of(Axis(2));
    let mut out = Array3::<f32>::zeros(block.raw_dim());
    let mut line = vec![0f64; n + 2 * r];
    for (x, mut o) in block.lanes(Axis(2)).into_iter().zip(out.lanes_mut(Axis(2))) {
        for (t, v) in line.iter_mut().enumerate() {
            *v = x[crate::window::symmetric_index(t as isize - r as isize, n)] as f64;
        }
        for k in 0..n {
            let mut s = Complex::new(0.0, 0.0);
            for (m, t) in taps.iter().enumerate() {
                s += t * line[k + m];
            }
            o[k] = s.norm() as f32;
        }
    }
    out
}

/// One frequency's analysis: its window and how it is shaped.
#[derive(serde::Deserialize)]
struct Decomposition {
    frequency: f64,
    method: String,
    window: usize,
    cycles: f64,
}

pub const SPECTRAL_DECOMPOSITION: Spec = Spec {
    name: "spectral_decomposition",
    family: FAMILY,
    description: "Amplitude of one frequency in the local spectrum around each sample: \
                  2|Σ w·x·e^{−iωτ}|/Σw with w a Hann window of `window` samples (STFT) or the \
                  Gaussian of a Morlet wavelet with `cycles` (CWT), τ the lag from the centre. \
                  A cosine of amplitude a at that frequency gives a.",
    reference: "Partyka, Gridley & Lopez (1999), Interpretational applications of spectral \
                decomposition in reservoir characterization, The Leading Edge 18(3); \
                Sinha et al. (2005), Spectral decomposition of seismic data with continuous-\
                wavelet transform, Geophysics 70(6)",
    unit: "input amplitude",
    params: DECOMP_PARAMS,
    build: |p, setup| {
        let dt = sample_interval(p, setup)?;
        let Decomposition {
            frequency: freq,
            method,
            window,
            cycles,
        } = p.typed()?;
        let nyquist = 500.0 / dt;
        if freq > nyquist {
            return Err(AttrError::BadParam {
                param: "frequency".into(),
                message: format!("{freq} Hz is above the Nyquist frequency {nyquist} Hz"),
            });
        }
        let w = analysis_window(&method, window, cycles, freq, dt);
        let omega = 2.0 * std::f64::consts::PI * freq * dt / 1000.0;
        kernel(
            [Halo::Depth(0), Halo::Depth(0), Halo::Depth(w.len() / 2)],
            p,
            move |b, _| local_amplitude(b, &w, omega),
        )
    },
};

const PEAK_PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "window",
        kind: ParamKind::OddInt { min: 3 },
        default: "31",
        unit: "samples",
        help: "Hann window of the local spectrum, centred",
    },
    SAMPLE_INTERVAL,
];

/// Peak frequency (Hz) and amplitude of the Hann-windowed local spectrum,
/// zero-padded to a power of two at least 4× the window, the peak refined
/// by a parabola through the three bins around it; DC excluded. Computed
/// at `core` only (the spectra of the halo's samples are never kept), the
/// peak found on squared magnitudes (one square root per sample, not one
/// per bin). Two neighbouring samples share one complex transform, the
/// first as its real part and the second as its imaginary part, in f32:
/// the spectrum's rounding (1e-7 of its peak) is far inside what the
/// parabola resolves.
fn peak(
    block: ArrayView3<f32>,
    window: usize,
    dt: f64,
    core: &crate::Region,
) -> (Array3<f32>, Array3<f32>) {
    let w: Vec<f32> = hann(window).iter().map(|&v| v as f32).collect();
    let norm = 2.0 / w.iter().map(|&v| v as f64).sum::<f64>();
    let r = window / 2;
    let nfft = (4 * window).next_power_of_two();
    let df = 1000.0 / (nfft as f64 * dt);
    let fft = rustfft::FftPlanner::<f32>::new().plan_fft_forward(nfft);
    let mut z = vec![Complex::<f32>::default(); nfft];
    let mut scratch = vec![Complex::<f32>::default(); fft.get_inplace_scratch_len()];
    let bins = nfft / 2 + 1;
    let (mut p1, mut p2) = (vec![0f32; bins], vec![0f32; bins]);
    let n = block.len_of(Axis(2));
    let shape = (core[0].len(), core[1].len(), core[2].len());
    let (mut freq, mut amp) = (Array3::<f32>::zeros(shape), Array3::<f32>::zeros(shape));
    let len = core[2].len();
    // one sample past the core, read by the second half of an odd tail
    let mut line = vec![0f32; len + 2 * r + 1];
    let first = core[2].start as isize - r as isize;
    let part = crate::convolve::crop(block, &[core[0].clone(), core[1].clone(), 0..n]);
    for ((x, mut fo), mut ao) in part
        .lanes(Axis(2))
        .into_iter()
        .zip(freq.lanes_mut(Axis(2)))
        .zip(amp.lanes_mut(Axis(2)))
    {
        for (t, v) in line.iter_mut().enumerate() {
            *v = x[crate::window::symmetric_index(first + t as isize, n)];
        }
        for k in (0..len).step_by(2) {
            let (head, tail) = z.split_at_mut(window);
            let (now, next) = (&line[k..k + window], &line[k + 1..k + 1 + window]);
            for (((zm, &wm), &a), &b) in head.iter_mut().zip(&w).zip(now).zip(next) {
                *zm = Complex::new(a * wm, b * wm);
            }
            tail.fill(Complex::default());
            fft.process_with_scratch(&mut z, &mut scratch);
            // the two real spectra: (Z[b] ± conj Z[N − b]) / 2 and / 2i
            let (z0, zr) = (z[0], z[0].conj());
            p1[0] = (z0 + zr).norm_sqr() * 0.25;
            p2[0] = (z0 - zr).norm_sqr() * 0.25;
            let mirror = z[nfft + 1 - bins..].iter().rev();
            for (((a, b), zb), zm) in p1[1..]
                .iter_mut()
                .zip(&mut p2[1..])
                .zip(&z[1..bins])
                .zip(mirror)
            {
                let zr = zm.conj();
                *a = (zb + zr).norm_sqr() * 0.25;
                *b = (zb - zr).norm_sqr() * 0.25;
            }
            for (o, p) in [(k, &p1), (k + 1, &p2)] {
                if o < len {
                    if let Some((f, a)) = spectral_peak(p, norm, df) {
                        (fo[o], ao[o]) = (f, a);
                    }
                }
            }
        }
    }
    (freq, amp)
}

/// The frequency and amplitude of the largest bin of `power` after DC,
/// refined by a parabola through it and its neighbours; None for a dead
/// spectrum.
fn spectral_peak(power: &[f32], norm: f64, df: f64) -> Option<(f32, f32)> {
    // the largest value, then its first bin: two passes that vectorise
    let top = power[1..].iter().fold(0f32, |a, &p| a.max(p));
    if top <= 0.0 {
        return None;
    }
    let best = 1 + power[1..].iter().position(|&p| p == top)?;
    let mag = |b: usize| (power[b] as f64).sqrt() * norm;
    let top = mag(best);
    let (mut delta, mut height) = (0.0, top);
    if best + 1 < power.len() {
        let (a, c) = (mag(best - 1), mag(best + 1));
        let den = a - 2.0 * top + c;
        if den < 0.0 {
            delta = (0.5 * (a - c) / den).clamp(-0.5, 0.5);
            height = top - 0.25 * (a - c) * delta;
        }
    }
    Some((((best as f64 + delta) * df) as f32, height as f32))
}

fn shared_peak<'a>(
    b: ArrayView3<f32>,
    sh: &'a mut Shared,
    window: usize,
    dt: f64,
    core: &crate::Region,
) -> &'a (Array3<f32>, Array3<f32>) {
    sh.get_or_insert(&format!("frequency.peak:{window}:{dt}:{core:?}"), || {
        peak(b, window, dt, core)
    })
}

fn peak_kernel(
    p: &Params,
    setup: &Setup,
    amplitude: bool,
) -> Result<Box<dyn crate::Kernel>, AttrError> {
    let dt = sample_interval(p, setup)?;
    let crate::params::Window { window } = p.typed()?;
    crate::region_kernel(
        [Halo::Depth(0), Halo::Depth(0), Halo::Depth(window / 2)],
        p,
        move |b, core, sh| {
            let (f, a) = shared_peak(b, sh, window, dt, core);
            if amplitude {
                a.clone()
            } else {
                f.clone()
            }
        },
    )
}

const PEAK_REFERENCE: &str = "Marfurt & Kirlin (2001), Narrow-band spectral analysis and thin-bed \
                              tuning, Geophysics 66(4)";

pub const PEAK_FREQUENCY: Spec = Spec {
    name: "peak_frequency",
    family: FAMILY,
    description: "Frequency of the largest amplitude of the local spectrum (Hann window of \
                  `window` samples, zero-padded to a power of two >= 4× the window, DC \
                  excluded, refined by a parabola through the peak bin and its neighbours). \
                  0 on dead traces.",
    reference: PEAK_REFERENCE,
    unit: "Hz",
    params: PEAK_PARAMS,
    build: |p, setup| peak_kernel(p, setup, false),
};

pub const PEAK_AMPLITUDE: Spec = Spec {
    name: "peak_amplitude",
    family: FAMILY,
    description: "Amplitude of the local spectrum at its peak frequency (same spectrum as \
                  peak_frequency, scaled so a cosine of amplitude a gives about a).",
    reference: PEAK_REFERENCE,
    unit: "input amplitude",
    params: PEAK_PARAMS,
    build: |p, setup| peak_kernel(p, setup, true),
};

/// This family's attributes, in the order `attr list` shows them.
pub(crate) const ATTRIBUTES: &[&dyn crate::Attribute] = &[
    &BANDPASS,
    &LOWPASS,
    &HIGHPASS,
    &SPECTRAL_DECOMPOSITION,
    &PEAK_FREQUENCY,
    &PEAK_AMPLITUDE,
];
