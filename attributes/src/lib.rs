//! Seismic attribute kernels and their registry.
//!
//! Every attribute is a pure function on an `ndarray` view of one block
//! (inline × crossline × sample, the sample axis last). This crate knows
//! nothing about files, Zarr or threads: the engine gathers a block plus the
//! halo each kernel declares, calls [`Kernel::compute`], and trims the halo.
//!
//! Adding an attribute means one file (or one item in a family file), one line
//! in [`registry`], and one reference test.

mod amplitude;
mod complex_trace;
mod dsp;
mod identity;
mod params;
mod shared;
mod structure;
pub mod window;

use ndarray::{Array3, ArrayView3};

pub use params::{ParamKind, ParamSpec, Params};
pub use shared::Shared;

/// How much context a kernel needs around the output region on one axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Halo {
    /// This many samples on each side.
    Depth(usize),
    /// The whole axis (e.g. an FFT over the whole trace).
    Full,
}

impl Halo {
    pub fn describe(&self) -> String {
        match self {
            Halo::Depth(d) => d.to_string(),
            Halo::Full => "full".to_string(),
        }
    }
}

/// Facts about the input that some attributes need.
#[derive(Clone, Debug, Default)]
pub struct Setup {
    /// Sample interval in milliseconds, when known.
    pub sample_interval_ms: Option<f64>,
}

/// Why an attribute could not be configured.
#[derive(Debug, thiserror::Error)]
pub enum AttrError {
    #[error("unknown attribute '{name}'{hint}")]
    UnknownAttribute { name: String, hint: String },
    #[error("parameter '{param}': {message}")]
    BadParam { param: String, message: String },
    #[error("{0}")]
    Other(String),
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

/// A configured attribute, ready to run on blocks.
pub trait Kernel: Send + Sync {
    /// Context needed per axis (inline, crossline, sample).
    fn halo(&self) -> [Halo; 3];
    /// Compute on `block` (output region plus halo); returns an array of the
    /// same shape. `shared` holds intermediates computed by other kernels of
    /// the same family on this same block.
    fn compute(&self, block: ArrayView3<f32>, shared: &mut Shared) -> Array3<f32>;
    /// The parameters as resolved (defaults filled in), for provenance.
    fn resolved(&self) -> serde_json::Value;
}

/// All attributes, in the order `attr list` shows them.
pub fn registry() -> Vec<Box<dyn Attribute>> {
    vec![
        Box::new(identity::Copy),
        Box::new(complex_trace::Envelope),
        Box::new(complex_trace::InstantaneousPhase),
        Box::new(complex_trace::InstantaneousFrequency),
        Box::new(amplitude::RmsAmplitude),
        Box::new(structure::Semblance),
    ]
}

/// Look an attribute up by name; the error suggests the closest names.
pub fn lookup(name: &str) -> Result<Box<dyn Attribute>, AttrError> {
    let all = registry();
    let names: Vec<&'static str> = all.iter().map(|a| a.name()).collect();
    if let Some(i) = names.iter().position(|n| *n == name) {
        return Ok(all.into_iter().nth(i).expect("index from position"));
    }
    let hint = match params::closest(name, &names) {
        Some(s) => format!(" (did you mean '{s}'? `attr list` shows them all)"),
        None => " (`attr list` shows the available attributes)".to_string(),
    };
    Err(AttrError::UnknownAttribute {
        name: name.to_string(),
        hint,
    })
}
