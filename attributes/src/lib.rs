//! Seismic attribute kernels and their registry.
//!
//! Every attribute is a pure function on an `ndarray` view of one block
//! (inline × crossline × sample, the sample axis last). This crate knows
//! nothing about files, Zarr or threads: the engine gathers a block plus the
//! halo each kernel declares, calls [`Kernel::compute`], and trims the halo.
//!
//! Adding an attribute means one item in its family's file (the `Spec` and a
//! line in that file's `ATTRIBUTES`) and one reference test. Intermediates
//! several attributes share per block (the analytic trace, the structure
//! tensor) live in their own modules, which families depend on downwards.

mod amplitude;
mod analytic;
mod coherence;
mod complex_trace;
pub mod convolve;
mod dsp;
mod filters;
mod glcm;
mod gst;
mod gst_stream;
mod identity;
mod instantaneous;
pub mod nulls;
mod params;
mod response;
mod shared;
mod spectral;
mod structure;
mod tensor;
pub mod window;

use ndarray::{Array3, ArrayView3};

pub use convolve::Region;
pub use params::{closest, ParamKind, ParamSpec, Params};

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
pub use shared::Shared;

/// How much context a kernel needs around the output region on one axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Halo {
    /// This many samples on each side.
    Depth(usize),
    /// The whole axis (e.g. an FFT over the whole trace).
    Full,
}

/// The halo of a centred window of these (odd) sizes.
pub fn centred(window: [usize; 3]) -> [Halo; 3] {
    window.map(|w| Halo::Depth(w / 2))
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

/// A kernel made of a halo, its resolved parameters and a closure.
pub struct FnKernel<F> {
    halo: [Halo; 3],
    resolved: serde_json::Value,
    null_aware: bool,
    f: F,
}

impl<F> Kernel for FnKernel<F>
where
    F: Fn(ArrayView3<f32>, &mut Shared) -> Array3<f32> + Send + Sync,
{
    fn halo(&self) -> [Halo; 3] {
        self.halo
    }
    fn compute(&self, block: ArrayView3<f32>, shared: &mut Shared) -> Array3<f32> {
        (self.f)(block, shared)
    }
    fn resolved(&self) -> serde_json::Value {
        self.resolved.clone()
    }
    fn null_aware(&self) -> bool {
        self.null_aware
    }
}

/// Box a closure as a kernel that sees null samples as zeros (see
/// [`Kernel::null_aware`]).
pub fn kernel<F>(halo: [Halo; 3], resolved: &Params, f: F) -> Result<Box<dyn Kernel>, AttrError>
where
    F: Fn(ArrayView3<f32>, &mut Shared) -> Array3<f32> + Send + Sync + 'static,
{
    Ok(Box::new(FnKernel {
        halo,
        resolved: resolved.to_json(),
        null_aware: false,
        f,
    }))
}

/// Box a closure as a kernel that sees null samples as NaN and excludes them
/// itself (with the helpers of [`nulls`]).
pub fn masked_kernel<F>(
    halo: [Halo; 3],
    resolved: &Params,
    f: F,
) -> Result<Box<dyn Kernel>, AttrError>
where
    F: Fn(ArrayView3<f32>, &mut Shared) -> Array3<f32> + Send + Sync + 'static,
{
    Ok(Box::new(FnKernel {
        halo,
        resolved: resolved.to_json(),
        null_aware: true,
        f,
    }))
}

/// A kernel that computes only the core it is asked for (see
/// [`Kernel::compute_region`]): `f` returns an array of the core's shape.
struct RegionKernel<F> {
    halo: [Halo; 3],
    resolved: serde_json::Value,
    null_aware: bool,
    f: F,
}

impl<F> RegionKernel<F> {
    fn new(halo: [Halo; 3], resolved: &Params, null_aware: bool, f: F) -> Self {
        RegionKernel {
            halo,
            resolved: resolved.to_json(),
            null_aware,
            f,
        }
    }
}

impl<F> Kernel for RegionKernel<F>
where
    F: Fn(ArrayView3<f32>, &Region, &mut Shared) -> Array3<f32> + Send + Sync,
{
    fn halo(&self) -> [Halo; 3] {
        self.halo
    }
    fn compute(&self, block: ArrayView3<f32>, shared: &mut Shared) -> Array3<f32> {
        (self.f)(block, &convolve::whole(block.dim()), shared)
    }
    fn compute_region(
        &self,
        block: ArrayView3<f32>,
        core: &Region,
        shared: &mut Shared,
    ) -> (Array3<f32>, [usize; 3]) {
        ((self.f)(block, core, shared), convolve::origin(core))
    }
    fn resolved(&self) -> serde_json::Value {
        self.resolved.clone()
    }
    fn null_aware(&self) -> bool {
        self.null_aware
    }
}

/// Box a closure of (block, core, shared) as a null-aware kernel that
/// computes only the core (see [`masked_kernel`]).
pub fn masked_region_kernel<F>(
    halo: [Halo; 3],
    resolved: &Params,
    f: F,
) -> Result<Box<dyn Kernel>, AttrError>
where
    F: Fn(ArrayView3<f32>, &Region, &mut Shared) -> Array3<f32> + Send + Sync + 'static,
{
    Ok(Box::new(RegionKernel::new(halo, resolved, true, f)))
}

/// Box a closure of (block, core, shared) as a kernel that sees null
/// samples as zeros and computes only the core (see [`kernel`]).
pub fn region_kernel<F>(
    halo: [Halo; 3],
    resolved: &Params,
    f: F,
) -> Result<Box<dyn Kernel>, AttrError>
where
    F: Fn(ArrayView3<f32>, &Region, &mut Shared) -> Array3<f32> + Send + Sync + 'static,
{
    Ok(Box::new(RegionKernel::new(halo, resolved, false, f)))
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

/// A configured attribute, ready to run on blocks.
pub trait Kernel: Send + Sync {
    /// Context needed per axis (inline, crossline, sample).
    fn halo(&self) -> [Halo; 3];
    /// Compute on `block` (output region plus halo); returns an array of the
    /// same shape. `shared` holds intermediates computed by other kernels of
    /// the same family on this same block.
    fn compute(&self, block: ArrayView3<f32>, shared: &mut Shared) -> Array3<f32>;
    /// Compute at least `core` of `block` (the output region the caller
    /// keeps). Returns the values and the block index of their first
    /// sample. The default computes the whole block; a kernel with a deep
    /// halo computes only the core, which is most of the saving a halo
    /// allows.
    fn compute_region(
        &self,
        block: ArrayView3<f32>,
        core: &Region,
        shared: &mut Shared,
    ) -> (Array3<f32>, [usize; 3]) {
        let _ = core;
        (self.compute(block, shared), [0; 3])
    }
    /// The parameters as resolved (defaults filled in), for provenance.
    fn resolved(&self) -> serde_json::Value;
    /// How the kernel takes null samples (missing traces, muted zones).
    /// `false`: it sees them as 0, which is right for attributes computed
    /// trace by trace through a transform (Hilbert, FFT), where a mute is a
    /// run of zeros. `true`: it sees them as NaN and computes every window
    /// over its live samples only. Either way the engine writes null where
    /// the input sample is null.
    fn null_aware(&self) -> bool {
        false
    }
    /// About how many block-sized f32 arrays the kernel holds at its peak
    /// (its result, temporaries and shared intermediates): the planner's
    /// memory estimate.
    fn working_copies(&self) -> f32 {
        4.0
    }
    /// Announce, before any kernel of the block runs, the shared
    /// intermediates this kernel will ask for ([`Shared::announce`]).
    fn announce(&self, shared: &mut Shared) {
        let _ = shared;
    }
}

/// A kernel with what it declares beside its computation: its working
/// memory (see [`Kernel::working_copies`]) and the shared intermediates it
/// will ask for (see [`Kernel::announce`]).
struct Declared {
    inner: Box<dyn Kernel>,
    copies: Option<f32>,
    announces: &'static [&'static str],
}

impl Kernel for Declared {
    fn halo(&self) -> [Halo; 3] {
        self.inner.halo()
    }
    fn compute(&self, block: ArrayView3<f32>, shared: &mut Shared) -> Array3<f32> {
        self.inner.compute(block, shared)
    }
    fn compute_region(
        &self,
        block: ArrayView3<f32>,
        core: &Region,
        shared: &mut Shared,
    ) -> (Array3<f32>, [usize; 3]) {
        self.inner.compute_region(block, core, shared)
    }
    fn resolved(&self) -> serde_json::Value {
        self.inner.resolved()
    }
    fn null_aware(&self) -> bool {
        self.inner.null_aware()
    }
    fn working_copies(&self) -> f32 {
        self.copies.unwrap_or_else(|| self.inner.working_copies())
    }
    fn announce(&self, shared: &mut Shared) {
        self.announces.iter().for_each(|k| shared.announce(k));
        self.inner.announce(shared)
    }
}

/// Declare that a kernel holds about `copies` block-sized arrays at its peak.
pub fn with_copies(
    copies: f32,
    kernel: Result<Box<dyn Kernel>, AttrError>,
) -> Result<Box<dyn Kernel>, AttrError> {
    kernel.map(|inner| {
        Box::new(Declared {
            inner,
            copies: Some(copies),
            announces: &[],
        }) as Box<dyn Kernel>
    })
}

/// Declare that a kernel will ask for the shared intermediates `keys`.
pub(crate) fn announcing(
    keys: &'static [&'static str],
    kernel: Result<Box<dyn Kernel>, AttrError>,
) -> Result<Box<dyn Kernel>, AttrError> {
    kernel.map(|inner| {
        Box::new(Declared {
            inner,
            copies: None,
            announces: keys,
        }) as Box<dyn Kernel>
    })
}

/// All attributes, in the order `attr list` shows them.
/// Every family's attributes: a family lists its own, in its file.
const FAMILIES: &[&[&dyn Attribute]] = &[
    identity::ATTRIBUTES,
    complex_trace::ATTRIBUTES,
    instantaneous::ATTRIBUTES,
    response::ATTRIBUTES,
    amplitude::ATTRIBUTES,
    spectral::ATTRIBUTES,
    structure::ATTRIBUTES,
    coherence::ATTRIBUTES,
    tensor::ATTRIBUTES,
    filters::ATTRIBUTES,
    glcm::ATTRIBUTES,
];

/// All attributes, in the order `attr list` shows them.
pub fn registry() -> impl Iterator<Item = &'static dyn Attribute> {
    FAMILIES.iter().flat_map(|f| f.iter().copied())
}

/// Look an attribute up by name; the error suggests the closest names.
pub fn lookup(name: &str) -> Result<&'static dyn Attribute, AttrError> {
    if let Some(a) = registry().find(|a| a.name() == name) {
        return Ok(a);
    }
    let names: Vec<&'static str> = registry().map(|a| a.name()).collect();
    let hint = match params::closest(name, &names) {
        Some(s) => format!(" (did you mean '{s}'? `attr list` shows them all)"),
        None => " (`attr list` shows the available attributes)".to_string(),
    };
    Err(AttrError::UnknownAttribute {
        name: name.to_string(),
        hint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every family's list reaches the registry once, and every attribute
    /// deserialises its defaults into its typed parameters.
    #[test]
    fn every_attribute_builds_from_its_defaults() {
        let setup = Setup {
            sample_interval_ms: Some(4.0),
        };
        let mut names: Vec<&str> = registry().map(|a| a.name()).collect();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!((n, names.len()), (65, 65));
        for a in registry() {
            let k = a
                .build(&serde_json::Map::new(), &setup)
                .unwrap_or_else(|e| panic!("{}: {e}", a.name()));
            assert!(k.resolved().is_object(), "{}", a.name());
            assert!(lookup(a.name()).is_ok());
        }
        let e = lookup("envelop").err().expect("no such attribute");
        assert!(e.to_string().contains("'envelope'"), "{e}");
    }
}
