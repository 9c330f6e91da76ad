//! The identity attribute: re-chunk, re-compress or change format, and the
//! I/O floor for benchmarks.

use crate::{AttrError, Attribute, Halo, Kernel, ParamSpec, Params, Setup, Shared};
use ndarray::{Array3, ArrayView3};

pub struct Copy;

struct CopyKernel;

impl Attribute for Copy {
    fn name(&self) -> &'static str {
        "copy"
    }
    fn family(&self) -> &'static str {
        crate::family::IDENTITY
    }
    fn description(&self) -> &'static str {
        "The input unchanged (converted to the output dtype): re-chunk, re-compress or change \
         the Zarr format; also the I/O floor for benchmarks."
    }
    fn reference(&self) -> &'static str {
        "-"
    }
    fn unit(&self) -> &'static str {
        "input amplitude"
    }
    fn params(&self) -> &'static [ParamSpec] {
        &[]
    }
    fn configure(&self, _: &Params, _: &Setup) -> Result<Box<dyn Kernel>, AttrError> {
        Ok(Box::new(CopyKernel))
    }
}

impl Kernel for CopyKernel {
    fn halo(&self) -> [Halo; 3] {
        [Halo::Depth(0); 3]
    }
    fn compute(&self, block: ArrayView3<f32>, _: &mut Shared) -> Array3<f32> {
        block.to_owned()
    }
    fn resolved(&self) -> serde_json::Value {
        serde_json::json!({})
    }
    fn working_copies(&self) -> f32 {
        1.0
    }
}

/// This family's attributes, in the order `attr list` shows them.
pub(crate) const ATTRIBUTES: &[&dyn crate::Attribute] = &[&Copy];
