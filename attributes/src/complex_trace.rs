//! Complex-trace attributes (Taner, Koehler & Sheriff 1979): everything
//! derived from the analytic signal z = x + i·H[x], computed by an FFT over
//! the whole trace. All kernels of this family share the quadrature trace
//! H[x] of a block, so a job asking for several computes it once.

use crate::dsp::{gradient_along_trace, quadrature};
use crate::{AttrError, Attribute, Halo, Kernel, ParamKind, ParamSpec, Params, Setup, Shared};
use ndarray::{Array3, ArrayView3, Zip};

const FAMILY: &str = "complex_trace";
const REFERENCE: &str =
    "Taner, Koehler & Sheriff (1979), Complex seismic trace analysis, Geophysics 44(6)";
const HALO: [Halo; 3] = [Halo::Depth(0), Halo::Depth(0), Halo::Full];

/// H[x] of this block, computed once per block for the whole family.
fn shared_quadrature<'a>(block: ArrayView3<f32>, shared: &'a mut Shared) -> &'a Array3<f32> {
    shared.get_or_insert("complex_trace.quadrature", || quadrature(block))
}

pub struct Envelope;

struct EnvelopeKernel;

impl Attribute for Envelope {
    fn name(&self) -> &'static str {
        "envelope"
    }
    fn family(&self) -> &'static str {
        FAMILY
    }
    fn description(&self) -> &'static str {
        "Instantaneous amplitude |z| = sqrt(x² + H[x]²) of the analytic trace; the Hilbert transform \
         is an FFT over the whole trace, equal to scipy.signal.hilbert."
    }
    fn reference(&self) -> &'static str {
        REFERENCE
    }
    fn unit(&self) -> &'static str {
        "input amplitude"
    }
    fn params(&self) -> &'static [ParamSpec] {
        &[]
    }
    fn configure(&self, _: &Params, _: &Setup) -> Result<Box<dyn Kernel>, AttrError> {
        Ok(Box::new(EnvelopeKernel))
    }
}

impl Kernel for EnvelopeKernel {
    fn halo(&self) -> [Halo; 3] {
        HALO
    }
    fn compute(&self, block: ArrayView3<f32>, shared: &mut Shared) -> Array3<f32> {
        let q = shared_quadrature(block, shared);
        Zip::from(&block).and(q).map_collect(|&x, &y| x.hypot(y))
    }
    fn resolved(&self) -> serde_json::Value {
        serde_json::json!({})
    }
}

pub struct InstantaneousPhase;

struct PhaseKernel {
    degrees: bool,
}

const PHASE_PARAMS: &[ParamSpec] = &[ParamSpec {
    name: "degrees",
    kind: ParamKind::Bool,
    default: "false",
    unit: "",
    help: "output degrees instead of radians",
}];

impl Attribute for InstantaneousPhase {
    fn name(&self) -> &'static str {
        "instantaneous_phase"
    }
    fn family(&self) -> &'static str {
        FAMILY
    }
    fn description(&self) -> &'static str {
        "Instantaneous phase atan2(H[x], x) of the analytic trace, in (-π, π] (or degrees). \
         0 on dead traces."
    }
    fn reference(&self) -> &'static str {
        REFERENCE
    }
    fn unit(&self) -> &'static str {
        "rad"
    }
    fn params(&self) -> &'static [ParamSpec] {
        PHASE_PARAMS
    }
    fn configure(&self, p: &Params, _: &Setup) -> Result<Box<dyn Kernel>, AttrError> {
        Ok(Box::new(PhaseKernel {
            degrees: p.bool("degrees"),
        }))
    }
}

impl Kernel for PhaseKernel {
    fn halo(&self) -> [Halo; 3] {
        HALO
    }
    fn compute(&self, block: ArrayView3<f32>, shared: &mut Shared) -> Array3<f32> {
        let q = shared_quadrature(block, shared);
        let scale = if self.degrees {
            180.0 / std::f32::consts::PI
        } else {
            1.0
        };
        Zip::from(&block)
            .and(q)
            .map_collect(|&x, &y| y.atan2(x) * scale)
    }
    fn resolved(&self) -> serde_json::Value {
        serde_json::json!({ "degrees": self.degrees })
    }
}

pub struct InstantaneousFrequency;

struct FrequencyKernel {
    sample_interval_ms: f64,
}

const FREQ_PARAMS: &[ParamSpec] = &[ParamSpec {
    name: "sample_interval",
    kind: ParamKind::Float {
        min: 0.0,
        max: f64::INFINITY,
    },
    default: "null",
    unit: "ms",
    help: "sample interval; default: from the input's metadata",
}];

impl Attribute for InstantaneousFrequency {
    fn name(&self) -> &'static str {
        "instantaneous_frequency"
    }
    fn family(&self) -> &'static str {
        FAMILY
    }
    fn description(&self) -> &'static str {
        "Rate of change of the instantaneous phase, in Hz, computed without phase unwrapping as \
         (1/2π)·(x·y′ − y·x′)/(x² + y²) with y = H[x] and derivatives by central differences \
         (one-sided at the trace ends, as numpy.gradient). 0 where the envelope is 0."
    }
    fn reference(&self) -> &'static str {
        REFERENCE
    }
    fn unit(&self) -> &'static str {
        "Hz"
    }
    fn params(&self) -> &'static [ParamSpec] {
        FREQ_PARAMS
    }
    fn configure(&self, p: &Params, setup: &Setup) -> Result<Box<dyn Kernel>, AttrError> {
        let dt = p.float("sample_interval").or(setup.sample_interval_ms).ok_or_else(|| AttrError::BadParam {
            param: "sample_interval".into(),
            message: "the input's metadata has no sample interval: give sample_interval (ms) in params or at the job level"
                .into(),
        })?;
        Ok(Box::new(FrequencyKernel {
            sample_interval_ms: dt,
        }))
    }
}

impl Kernel for FrequencyKernel {
    fn halo(&self) -> [Halo; 3] {
        HALO
    }
    fn compute(&self, block: ArrayView3<f32>, shared: &mut Shared) -> Array3<f32> {
        let x = block.to_owned();
        let dx = gradient_along_trace(&x);
        let y = shared_quadrature(block, shared);
        let dy = gradient_along_trace(y);
        let scale = 1000.0 / (2.0 * std::f64::consts::PI * self.sample_interval_ms);
        let mut out = Array3::<f32>::zeros(x.raw_dim());
        Zip::from(&mut out)
            .and(&x)
            .and(y)
            .and(&dx)
            .and(&dy)
            .for_each(|o, &x, &y, &dx, &dy| {
                let (x, y, dx, dy) = (x as f64, y as f64, dx as f64, dy as f64);
                let den = x * x + y * y;
                *o = if den > 0.0 {
                    ((x * dy - y * dx) / den * scale) as f32
                } else {
                    0.0
                };
            });
        out
    }
    fn resolved(&self) -> serde_json::Value {
        serde_json::json!({ "sample_interval": self.sample_interval_ms })
    }
}
