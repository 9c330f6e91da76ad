//! Complex-trace attributes (Taner, Koehler & Sheriff 1979): everything
//! derived from the analytic signal z = x + i·H[x], computed by an FFT over
//! the whole trace. All kernels of this family share the quadrature trace
//! H[x] of a block, so a job asking for several computes it once.

use crate::{AttrError, Attribute, Halo, Kernel, ParamKind, ParamSpec, Params, Setup, Shared};
use ndarray::{Array3, ArrayView3, Zip};

use crate::analytic::{rates, shared_quadrature, HALO, TANER as REFERENCE, WITH_DERIVATIVES};
use crate::family::COMPLEX_TRACE as FAMILY;

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
        Zip::from(&block)
            .and(q)
            .map_collect(|&x, &y| crate::dsp::magnitude(x, y))
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
        #[derive(serde::Deserialize)]
        struct Phase {
            degrees: bool,
        }
        let Phase { degrees } = p.typed()?;
        Ok(Box::new(PhaseKernel { degrees }))
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
    fn announce(&self, shared: &mut Shared) {
        shared.announce(WITH_DERIVATIVES);
    }
    /// The trace and its quadrature, both derivatives, their spectra and
    /// the rates (measured: about 10 blocks at 64³ chunks).
    fn working_copies(&self) -> f32 {
        10.0
    }
    fn resolved(&self) -> serde_json::Value {
        serde_json::json!({ "sample_interval": self.sample_interval_ms })
    }
}

/// This family's attributes, in the order `attr list` shows them.
pub(crate) const ATTRIBUTES: &[&dyn crate::Attribute] =
    &[&Envelope, &InstantaneousPhase, &InstantaneousFrequency];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytic::PLAIN;
    use crate::dsp::Analytic;
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
                    ..Default::default()
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
            ..Default::default()
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

    #[test]
    fn an_announced_need_for_derivatives_makes_one_transform_serve_all() {
        let x = tone(20.0, 4.0, 128);
        let setup = Setup {
            sample_interval_ms: Some(4.0),
            ..Default::default()
        };
        let build = |name| {
            crate::lookup(name)
                .unwrap()
                .build(&Default::default(), &setup)
                .unwrap()
        };
        let (e, f, s) = (
            build("envelope"),
            build("instantaneous_frequency"),
            build("sweetness"),
        );
        let alone = |k: &dyn Kernel| k.compute(x.view(), &mut Shared::new());
        let plain = |sh: &Shared| sh.get::<Analytic>(PLAIN).is_some();
        // envelope first, as in a job that lists it first
        let mut shared = Shared::new();
        e.announce(&mut shared);
        f.announce(&mut shared);
        let env = e.compute(x.view(), &mut shared);
        assert!(!plain(&shared), "a second transform");
        assert_eq!(env, alone(e.as_ref()));
        assert_eq!(f.compute(x.view(), &mut shared), alone(f.as_ref()));
        // a kernel that needs both, alone
        let mut shared = Shared::new();
        s.announce(&mut shared);
        let sweet = s.compute(x.view(), &mut shared);
        assert!(!plain(&shared), "a second transform");
        assert_eq!(sweet, alone(s.as_ref()));
        // unannounced, envelope makes the plain trace (what the above avoids)
        let mut shared = Shared::new();
        e.compute(x.view(), &mut shared);
        assert!(plain(&shared));
    }
}
