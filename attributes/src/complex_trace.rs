//! Complex-trace attributes (Taner, Koehler & Sheriff 1979): everything
//! derived from the analytic signal z = x + i·H[x], computed by an FFT over
//! the whole trace. All kernels of this family share the quadrature trace
//! H[x] of a block, so a job asking for several computes it once.

use crate::dsp::{analytic, Analytic};
use crate::{AttrError, Attribute, Halo, Kernel, ParamKind, ParamSpec, Params, Setup, Shared};
use ndarray::{Array3, ArrayView3, Zip};

pub(crate) const FAMILY: &str = "complex_trace";
pub(crate) const REFERENCE: &str =
    "Taner, Koehler & Sheriff (1979), Complex seismic trace analysis, Geophysics 44(6)";
pub(crate) const HALO: [Halo; 3] = [Halo::Depth(0), Halo::Depth(0), Halo::Full];

const WITH_DERIVATIVES: &str = "complex_trace.analytic+derivatives";
const PLAIN: &str = "complex_trace.analytic";

/// The analytic trace with spectral derivatives, once per block.
pub(crate) fn with_derivatives<'a>(block: ArrayView3<f32>, shared: &'a mut Shared) -> &'a Analytic {
    shared.get_or_insert(WITH_DERIVATIVES, || analytic(block, true))
}

/// The envelope |z|, once per block.
pub(crate) fn envelope(block: ArrayView3<f32>, shared: &mut Shared) -> Array3<f32> {
    if let Some(e) = shared.get::<Array3<f32>>("complex_trace.envelope") {
        return e.clone();
    }
    let q = shared_quadrature(block, shared);
    let e = Zip::from(&block).and(q).map_collect(|&x, &y| x.hypot(y));
    shared.get_or_insert("complex_trace.envelope", || e).clone()
}

/// Instantaneous frequency in cycles per sample, (x·y′ − y·x′)/(2π(x² + y²)),
/// and the relative amplitude change per sample, (x·x′ + y·y′)/(x² + y²):
/// both 0 where the envelope is 0. Once per block.
pub(crate) fn rates<'a>(
    block: ArrayView3<f32>,
    shared: &'a mut Shared,
) -> &'a (Array3<f32>, Array3<f32>) {
    if shared
        .get::<(Array3<f32>, Array3<f32>)>("complex_trace.rates")
        .is_none()
    {
        let a = with_derivatives(block, shared);
        let y = &a.quadrature;
        let (dx, dy) = a.derivatives.as_ref().expect("asked for derivatives");
        let mut f = Array3::<f32>::zeros(block.raw_dim());
        let mut r = Array3::<f32>::zeros(block.raw_dim());
        let tau = 2.0 * std::f64::consts::PI;
        Zip::from(&mut f)
            .and(&mut r)
            .and(&block)
            .and(y)
            .and(dx)
            .and(dy)
            .for_each(|f, r, &x, &y, &dx, &dy| {
                let (x, y, dx, dy) = (x as f64, y as f64, dx as f64, dy as f64);
                let den = x * x + y * y;
                if den > 0.0 {
                    *f = ((x * dy - y * dx) / den / tau) as f32;
                    *r = ((x * dx + y * dy) / den) as f32;
                }
            });
        shared.get_or_insert("complex_trace.rates", || (f, r));
    }
    shared
        .get::<(Array3<f32>, Array3<f32>)>("complex_trace.rates")
        .expect("just inserted")
}

/// H[x] of this block, computed once per block for the whole family.
pub(crate) fn shared_quadrature<'a>(
    block: ArrayView3<f32>,
    shared: &'a mut Shared,
) -> &'a Array3<f32> {
    if shared.get::<Analytic>(WITH_DERIVATIVES).is_some() {
        return &shared
            .get::<Analytic>(WITH_DERIVATIVES)
            .expect("checked")
            .quadrature;
    }
    &shared
        .get_or_insert(PLAIN, || analytic(block, false))
        .quadrature
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
            .map_collect(|&x, &y| crate::dsp::atan2(y, x) * scale)
    }
    fn resolved(&self) -> serde_json::Value {
        serde_json::json!({ "degrees": self.degrees })
    }
}

pub struct InstantaneousFrequency;

struct FrequencyKernel {
    sample_interval_ms: f64,
}

const FREQ_PARAMS: &[ParamSpec] = &[crate::SAMPLE_INTERVAL];

impl Attribute for InstantaneousFrequency {
    fn name(&self) -> &'static str {
        "instantaneous_frequency"
    }
    fn family(&self) -> &'static str {
        FAMILY
    }
    fn description(&self) -> &'static str {
        "Rate of change of the instantaneous phase, in Hz, computed without phase unwrapping as \
         (1/2π)·(x·y′ − y·x′)/(x² + y²) with y = H[x]; the derivatives are spectral (iω in the \
         same FFT as the Hilbert transform), so a pure tone gives its frequency exactly. \
         0 where the envelope is 0."
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
        let dt = crate::sample_interval(p, setup)?;
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
        let scale = (1000.0 / self.sample_interval_ms) as f32;
        rates(block, shared).0.mapv(|f| f * scale)
    }
    fn resolved(&self) -> serde_json::Value {
        serde_json::json!({ "sample_interval": self.sample_interval_ms })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    fn tone(freq_hz: f64, dt_ms: f64, n: usize) -> Array3<f32> {
        Array3::from_shape_fn((2, 1, n), |(i, _, k)| {
            ((2.0 * std::f64::consts::PI * freq_hz * k as f64 * dt_ms / 1000.0) + i as f64).cos()
                as f32
                * 3.0
        })
    }

    fn run(name: &str, params: serde_json::Value, block: &Array3<f32>) -> Array3<f32> {
        let a = crate::lookup(name).unwrap();
        let k = a
            .build(
                params.as_object().unwrap(),
                &Setup {
                    sample_interval_ms: Some(4.0),
                },
            )
            .unwrap();
        k.compute(block.view(), &mut Shared::new())
    }

    #[test]
    fn pure_30_hz_cosine_has_frequency_30_hz_and_flat_envelope() {
        // 250 samples at 4 ms = 1 s: a whole number of periods
        let x = tone(30.0, 4.0, 250);
        let f = run("instantaneous_frequency", serde_json::json!({}), &x);
        assert!(f.iter().all(|v| (v - 30.0).abs() < 1e-3), "{f:?}");
        let e = run("envelope", serde_json::json!({}), &x);
        assert!(e.iter().all(|v| (v - 3.0).abs() < 1e-4));
        // not a whole number of periods: exact away from the trace ends
        let x = tone(30.0, 4.0, 301);
        let f = run("instantaneous_frequency", serde_json::json!({}), &x);
        let mid = f.slice(ndarray::s![.., .., 100..200]);
        assert!(mid.iter().all(|v| (v - 30.0).abs() < 0.5), "{mid:?}");
    }

    #[test]
    fn dead_traces_give_zeros_not_nan() {
        let x = Array3::<f32>::zeros((2, 2, 64));
        for name in ["envelope", "instantaneous_phase", "instantaneous_frequency"] {
            let y = run(name, serde_json::json!({}), &x);
            assert!(y.iter().all(|v| *v == 0.0), "{name}");
        }
    }

    #[test]
    fn family_shares_the_analytic_trace() {
        let x = tone(20.0, 4.0, 128);
        let mut shared = Shared::new();
        let setup = Setup {
            sample_interval_ms: Some(4.0),
        };
        let f = crate::lookup("instantaneous_frequency")
            .unwrap()
            .build(&Default::default(), &setup)
            .unwrap();
        let e = crate::lookup("envelope")
            .unwrap()
            .build(&Default::default(), &setup)
            .unwrap();
        f.compute(x.view(), &mut shared);
        assert!(shared.get::<Analytic>(PLAIN).is_none());
        e.compute(x.view(), &mut shared);
        // envelope reused the frequency kernel's analytic trace
        assert!(shared.get::<Analytic>(PLAIN).is_none());
    }
}
