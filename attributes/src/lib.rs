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

mod attribute;
pub mod convolve;
mod dsp;
mod error;
pub mod expression;
mod families;
mod halo;
mod intermediates;
mod kernel;
pub mod nulls;
mod params;
mod registry;
pub mod units;
pub mod window;

pub(crate) use attribute::{family, sample_interval, SAMPLE_INTERVAL};
pub use attribute::{Attribute, Build, Geometry, Setup, Spec};
pub use convolve::Region;
pub use error::AttrError;
pub use halo::{centred, Halo};
pub(crate) use intermediates::{analytic, gst, gst_stream, shared};
pub(crate) use kernel::announcing;
pub use kernel::{
    kernel, masked_kernel, masked_region_kernel, region_kernel, with_copies, FnKernel, Kernel,
};
pub use params::{closest, ParamKind, ParamSpec, Params};
pub use registry::{lookup, registry};
pub use shared::Shared;
