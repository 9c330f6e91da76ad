//! Amplitude attributes over vertical windows.

use crate::window::box_mean_axis;
use crate::{AttrError, Attribute, Halo, Kernel, ParamKind, ParamSpec, Params, Setup, Shared};
use ndarray::{Array3, ArrayView3};

pub struct RmsAmplitude;

struct RmsKernel {
    window: usize,
}

const RMS_PARAMS: &[ParamSpec] = &[ParamSpec {
    name: "window",
    kind: ParamKind::OddInt { min: 1 },
    default: "9",
    unit: "samples",
    help: "length of the vertical window, centred on the sample",
}];

impl Attribute for RmsAmplitude {
    fn name(&self) -> &'static str {
        "rms_amplitude"
    }
    fn family(&self) -> &'static str {
        "amplitude"
    }
    fn description(&self) -> &'static str {
        "Root mean square of the amplitudes in a centred vertical window: sqrt(Σx²/n), \
         the same as sqrt(scipy.ndimage.uniform_filter1d(x², window)) with the block edges \
         handled by the job's boundary mode."
    }
    fn reference(&self) -> &'static str {
        "Chopra & Marfurt (2007), Seismic Attributes for Prospect Identification, SEG"
    }
    fn unit(&self) -> &'static str {
        "input amplitude"
    }
    fn params(&self) -> &'static [ParamSpec] {
        RMS_PARAMS
    }
    fn configure(&self, p: &Params, _: &Setup) -> Result<Box<dyn Kernel>, AttrError> {
        Ok(Box::new(RmsKernel {
            window: p.int("window"),
        }))
    }
}

impl Kernel for RmsKernel {
    fn halo(&self) -> [Halo; 3] {
        [Halo::Depth(0), Halo::Depth(0), Halo::Depth(self.window / 2)]
    }
    fn compute(&self, block: ArrayView3<f32>, _: &mut Shared) -> Array3<f32> {
        let mut sq = block.mapv(|x| x * x);
        box_mean_axis(&mut sq, 2, self.window);
        sq.mapv_inplace(|v| v.max(0.0).sqrt());
        sq
    }
    fn resolved(&self) -> serde_json::Value {
        serde_json::json!({ "window": self.window })
    }
}
