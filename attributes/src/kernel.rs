//! The `Kernel` trait, a configured attribute ready to run on blocks, and
//! the ways a family makes one from a closure: whole blocks or only the
//! core, null samples as zeros or as NaN, with its working memory and the
//! shared intermediates it will ask for declared.

use crate::convolve::{self, Region};
use crate::{AttrError, Halo, Params, Shared};
use ndarray::{Array3, ArrayView3};

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
/// itself (with the helpers of [`crate::nulls`]).
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
