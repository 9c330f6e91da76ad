//! The `Attribute` trait (what `attr list` shows and a factory for
//! kernels), `Spec` (an attribute declared as data), and what attributes
//! share: the facts about the input they may need, the family names, the
//! sample interval parameter.

use crate::params::{self, ParamKind, ParamSpec, Params};
use crate::{AttrError, Kernel};

/// The families `attr list` groups attributes in.
pub(crate) mod family {
    pub const IDENTITY: &str = "identity";
    pub const COMPLEX_TRACE: &str = "complex_trace";
    pub const AMPLITUDE: &str = "amplitude";
    pub const FREQUENCY: &str = "frequency";
    pub const STRUCTURE: &str = "structure";
    pub const FILTER: &str = "filter";
    pub const TEXTURE: &str = "texture";
}

/// Facts about the input that some attributes need.
#[derive(Clone, Debug, Default)]
pub struct Setup {
    /// Sample interval in milliseconds, when known.
    pub sample_interval_ms: Option<f64>,
    /// Where the traces lie on the map, when known.
    pub geometry: Option<Geometry>,
    /// Metres between samples, when the sample axis is depth.
    pub depth_step_m: Option<f64>,
}

/// The survey grid on the map: the map vector (x east, y north, metres)
/// of one step of increasing inline number (axis 0) and of increasing
/// crossline number (axis 1). Rotated, left- or right-handed, even skewed
/// grids are all two vectors.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Geometry {
    pub steps: [[f64; 2]; 2],
}

impl Geometry {
    /// Distance between neighbouring traces along lateral axis `a`.
    pub fn spacing(&self, a: usize) -> f64 {
        self.steps[a][0].hypot(self.steps[a][1])
    }

    /// Azimuth of lateral axis `a` (its increasing index), degrees
    /// clockwise from grid north.
    pub fn azimuth(&self, a: usize) -> f64 {
        self.steps[a][0]
            .atan2(self.steps[a][1])
            .to_degrees()
            .rem_euclid(360.0)
    }

    /// The map gradient (per metre) of a quantity that changes by `d0` per
    /// step of axis 0 and `d1` per step of axis 1: the g with g·e0 = d0 and
    /// g·e1 = d1. `None` for a degenerate grid.
    pub fn map_gradient(&self, d0: f64, d1: f64) -> Option<[f64; 2]> {
        let [[a, b], [c, d]] = self.steps;
        let det = a * d - b * c;
        if det == 0.0 || !det.is_finite() {
            return None;
        }
        Some([(d0 * d - b * d1) / det, (a * d1 - c * d0) / det])
    }
}

/// A registered attribute: its documentation and a factory for configured kernels.
pub trait Attribute: Send + Sync {
    fn name(&self) -> &'static str;
    fn family(&self) -> &'static str;
    /// One paragraph: what it computes and the choices made.
    fn description(&self) -> &'static str;
    fn reference(&self) -> &'static str;
    /// Unit of the output values.
    fn unit(&self) -> &'static str;
    fn params(&self) -> &'static [ParamSpec];
    /// Build a kernel from validated parameters.
    fn configure(&self, params: &Params, setup: &Setup) -> Result<Box<dyn Kernel>, AttrError>;

    /// Validate raw parameters (unknown names, types, ranges) and build the kernel.
    fn build(
        &self,
        raw: &serde_json::Map<String, serde_json::Value>,
        setup: &Setup,
    ) -> Result<Box<dyn Kernel>, AttrError> {
        let params = Params::validate(self.params(), raw)?;
        self.configure(&params, setup)
    }
}

/// Builds a configured kernel from validated parameters.
pub type Build = fn(&Params, &Setup) -> Result<Box<dyn Kernel>, AttrError>;

/// An attribute declared as data: its documentation, parameters and a
/// function that builds its kernel. Most attributes are one `const Spec`.
pub struct Spec {
    pub name: &'static str,
    pub family: &'static str,
    pub description: &'static str,
    pub reference: &'static str,
    pub unit: &'static str,
    pub params: &'static [ParamSpec],
    pub build: Build,
}

impl Attribute for Spec {
    fn name(&self) -> &'static str {
        self.name
    }
    fn family(&self) -> &'static str {
        self.family
    }
    fn description(&self) -> &'static str {
        self.description
    }
    fn reference(&self) -> &'static str {
        self.reference
    }
    fn unit(&self) -> &'static str {
        self.unit
    }
    fn params(&self) -> &'static [ParamSpec] {
        self.params
    }
    fn configure(&self, params: &Params, setup: &Setup) -> Result<Box<dyn Kernel>, AttrError> {
        (self.build)(params, setup)
    }
}

/// The sample interval (ms): the `sample_interval` parameter, else the input's.
pub(crate) fn sample_interval(p: &Params, setup: &Setup) -> Result<f64, AttrError> {
    p.typed::<params::SampleInterval>()?
        .sample_interval
        .or(setup.sample_interval_ms)
        .ok_or_else(|| AttrError::BadParam {
            param: "sample_interval".into(),
            message: "the input's metadata has no sample interval: give sample_interval (ms) in params or at the job level".into(),
        })
}

/// The `sample_interval` parameter every attribute in Hz or ms declares.
pub(crate) const SAMPLE_INTERVAL: ParamSpec = ParamSpec {
    name: "sample_interval",
    kind: ParamKind::Float {
        min: 0.0,
        max: f64::INFINITY,
    },
    default: "null",
    unit: "ms",
    help: "sample interval; default: from the input's metadata",
};
