//! Complex-trace attributes derived sample by sample from the analytic
//! trace z = x + i·H[x] and its spectral derivatives (shared per block with
//! the rest of the family, see `complex_trace`).

use crate::analytic::{
    derived_kernel, envelope, rates, shared_quadrature, HALO, TANER as REFERENCE,
};
use crate::family::COMPLEX_TRACE as FAMILY;
use crate::params::Window;
use crate::window::box_mean_axis;
use crate::{kernel, sample_interval, ParamKind, ParamSpec, Spec, SAMPLE_INTERVAL};
use ndarray::{Array3, Zip};

const BARNES: &str = "Barnes (2007), Redundant and useless seismic attributes, Geophysics 72(3); \
                      Taner, Koehler & Sheriff (1979), Geophysics 44(6)";

pub const COSINE_OF_PHASE: Spec = Spec {
    name: "cosine_of_phase",
    family: FAMILY,
    description: "Cosine of the instantaneous phase, x/|z|: the trace with its amplitude \
                  normalised away, continuous across the ±180° wrap (unlike the phase itself). \
                  0 where the envelope is 0.",
    reference: REFERENCE,
    unit: "ratio -1..1",
    params: &[],
    build: |p, _| {
        kernel(HALO, p, |b, sh| {
            let q = shared_quadrature(b, sh);
            Zip::from(&b).and(q).map_collect(|&x, &y| {
                let a = crate::dsp::magnitude(x, y);
                if a > 0.0 {
                    x / a
                } else {
                    0.0
                }
            })
        })
    },
};

pub const QUADRATURE: Spec = Spec {
    name: "quadrature",
    family: FAMILY,
    description: "The quadrature trace H[x], the imaginary part of the analytic trace (the \
                  trace rotated by −90°), equal to numpy.imag(scipy.signal.hilbert(x)).",
    reference: REFERENCE,
    unit: "input amplitude",
    params: &[],
    build: |p, _| kernel(HALO, p, |b, sh| shared_quadrature(b, sh).clone()),
};

const ROTATION_PARAMS: &[ParamSpec] = &[ParamSpec {
    name: "angle",
    kind: ParamKind::Float {
        min: -360.0,
        max: 360.0,
    },
    default: "90",
    unit: "degrees",
    help: "phase rotation angle θ",
}];

pub const PHASE_ROTATION: Spec = Spec {
    name: "phase_rotation",
    family: FAMILY,
    description: "Constant phase rotation of the trace, Re(z·e^{iθ}) = x·cosθ − H[x]·sinθ: \
                  90° turns peaks into zero crossings (a quick look at thin-bed tuning, or \
                  matching data of another phase).",
    reference: REFERENCE,
    unit: "input amplitude",
    params: ROTATION_PARAMS,
    build: |p, _| {
        #[derive(serde::Deserialize)]
        struct Rotation {
            angle: f64,
        }
        let t = p.typed::<Rotation>()?.angle.to_radians();
        let (c, s) = (t.cos() as f32, t.sin() as f32);
        kernel(HALO, p, move |b, sh| {
            let q = shared_quadrature(b, sh);
            Zip::from(&b).and(q).map_collect(|&x, &y| x * c - y * s)
        })
    },
};

const HZ_PARAMS: &[ParamSpec] = &[SAMPLE_INTERVAL];

pub const INSTANTANEOUS_BANDWIDTH: Spec = Spec {
    name: "instantaneous_bandwidth",
    family: FAMILY,
    description: "Instantaneous bandwidth (1/2π)·|A′/A| in Hz, A the envelope, from the \
                  spectral derivatives: (x·x′ + y·y′)/(x² + y²) with y = H[x]. 0 where the \
                  envelope is 0.",
    reference: BARNES,
    unit: "Hz",
    params: HZ_PARAMS,
    build: |p, setup| {
        let hz = (1000.0 / sample_interval(p, setup)? / (2.0 * std::f64::consts::PI)) as f32;
        derived_kernel(p, move |b, sh| rates(b, sh).1.mapv(|r| r.abs() * hz))
    },
};

pub const RELATIVE_AMPLITUDE_CHANGE: Spec = Spec {
    name: "relative_amplitude_change",
    family: FAMILY,
    description: "Relative rate of change of the envelope A′/A, per second (positive where \
                  the amplitude grows downwards): the signed instantaneous bandwidth × 2π.",
    reference: BARNES,
    unit: "1/s",
    params: HZ_PARAMS,
    build: |p, setup| {
        let per_s = (1000.0 / sample_interval(p, setup)?) as f32;
        derived_kernel(p, move |b, sh| rates(b, sh).1.mapv(|r| r * per_s))
    },
};

pub const DOMINANT_FREQUENCY: Spec = Spec {
    name: "dominant_frequency",
    family: FAMILY,
    description: "Dominant frequency √(f² + σ²) in Hz, f the instantaneous frequency and σ \
                  the instantaneous bandwidth: the RMS frequency of the local spectrum, always \
                  >= |f|.",
    reference: BARNES,
    unit: "Hz",
    params: HZ_PARAMS,
    build: |p, setup| {
        let hz = (1000.0 / sample_interval(p, setup)?) as f32;
        let tau = 2.0 * std::f32::consts::PI;
        derived_kernel(p, move |b, sh| {
            let (f, r) = rates(b, sh);
            Zip::from(f)
                .and(r)
                .map_collect(|&f, &r| (f * hz).hypot(r / tau * hz))
        })
    },
};

const SWEETNESS_PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "min_frequency",
        kind: ParamKind::Float {
            min: 0.0,
            max: f64::INFINITY,
        },
        default: "5",
        unit: "Hz",
        help: "floor on |f| under the square root, so phase reversals (f near 0) don't blow up",
    },
    SAMPLE_INTERVAL,
];

pub const SWEETNESS: Spec = Spec {
    name: "sweetness",
    family: FAMILY,
    description: "Sweetness A/√f (Hart 2008): the envelope over the square root of the \
                  instantaneous frequency, high for thick, bright (sand-prone) intervals. f is \
                  |f| floored at min_frequency so that the ratio stays finite.",
    reference: "Hart (2008), Channel detection in 3-D seismic data using sweetness, AAPG \
                Bulletin 92(6)",
    unit: "amplitude/√Hz",
    params: SWEETNESS_PARAMS,
    build: |p, setup| {
        let hz = (1000.0 / sample_interval(p, setup)?) as f32;
        #[derive(serde::Deserialize)]
        struct Floor {
            min_frequency: f64,
        }
        let floor = p.typed::<Floor>()?.min_frequency as f32;
        derived_kernel(p, move |b, sh| {
            let a = envelope(b, sh);
            let (f, _) = rates(b, sh);
            Zip::from(&a)
                .and(f)
                .map_collect(|&a, &f| a / (f.abs() * hz).max(floor).sqrt())
        })
    },
};

const WEIGHTED_PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "window",
        kind: ParamKind::OddInt { min: 1 },
        default: "11",
        unit: "samples",
        help: "vertical averaging window, centred",
    },
    SAMPLE_INTERVAL,
];

/// ΣA·f / ΣA over a centred vertical window, Hz (0 where ΣA is 0).
fn weighted_frequency(
    b: ndarray::ArrayView3<f32>,
    sh: &mut crate::Shared,
    window: usize,
    hz: f32,
) -> (Array3<f32>, Array3<f32>) {
    let a = envelope(b, sh);
    let f = rates(b, sh).0.mapv(|f| f * hz);
    let mut af = &a * &f;
    let mut aa = a;
    box_mean_axis(&mut af, 2, window);
    box_mean_axis(&mut aa, 2, window);
    let w = Zip::from(&af)
        .and(&aa)
        .map_collect(|&n, &d| if d > 0.0 { n / d } else { 0.0 });
    (w, f)
}

pub const ENVELOPE_WEIGHTED_FREQUENCY: Spec = Spec {
    name: "envelope_weighted_frequency",
    family: FAMILY,
    description: "Envelope-weighted instantaneous frequency ΣA·f / ΣA over a centred vertical \
                  window (the window's running sums reflect at the trace ends, as \
                  scipy.ndimage.uniform_filter1d does): a smooth, stable estimate of the \
                  local dominant frequency.",
    reference: BARNES,
    unit: "Hz",
    params: WEIGHTED_PARAMS,
    build: |p, setup| {
        let hz = (1000.0 / sample_interval(p, setup)?) as f32;
        let Window { window } = p.typed()?;
        derived_kernel(p, move |b, sh| weighted_frequency(b, sh, window, hz).0)
    },
};

pub const THIN_BED_INDICATOR: Spec = Spec {
    name: "thin_bed_indicator",
    family: FAMILY,
    description: "Thin-bed indicator: the instantaneous frequency minus its envelope-weighted \
                  average over the window; spikes where interfering reflections from thin beds \
                  distort the phase.",
    reference: BARNES,
    unit: "Hz",
    params: WEIGHTED_PARAMS,
    build: |p, setup| {
        let hz = (1000.0 / sample_interval(p, setup)?) as f32;
        let Window { window } = p.typed()?;
        derived_kernel(p, move |b, sh| {
            let (w, f) = weighted_frequency(b, sh, window, hz);
            f - w
        })
    },
};

/// This family's attributes, in the order `attr list` shows them.
pub(crate) const ATTRIBUTES: &[&dyn crate::Attribute] = &[
    &COSINE_OF_PHASE,
    &QUADRATURE,
    &PHASE_ROTATION,
    &INSTANTANEOUS_BANDWIDTH,
    &DOMINANT_FREQUENCY,
    &RELATIVE_AMPLITUDE_CHANGE,
    &SWEETNESS,
    &ENVELOPE_WEIGHTED_FREQUENCY,
    &THIN_BED_INDICATOR,
];
