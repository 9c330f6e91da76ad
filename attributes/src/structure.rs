//! Structural and discontinuity attributes (lateral windows).

use crate::window::box_mean_axis;
use crate::{AttrError, Attribute, Halo, Kernel, ParamSpec, Params, Setup, Shared};
use ndarray::{Array3, ArrayView3, Zip};

pub struct Semblance;

struct SemblanceKernel {
    window: [usize; 3],
    min_live: usize,
}

impl Attribute for Semblance {
    fn name(&self) -> &'static str {
        "semblance"
    }
    fn family(&self) -> &'static str {
        crate::family::STRUCTURE
    }
    fn description(&self) -> &'static str {
        "Zero-dip semblance coherence: Σ_t(Σ_j x)² / (J·Σ_t Σ_j x²) over J = inlines × crosslines \
         traces and a vertical window; 1 for identical traces, near 0 across faults and noise, \
         0 where all amplitudes are 0."
    }
    fn reference(&self) -> &'static str {
        "Marfurt, Kirlin, Farmer & Bahorich (1998), 3-D seismic attributes using a semblance-based \
         coherency algorithm, Geophysics 63(4)"
    }
    fn unit(&self) -> &'static str {
        "ratio 0-1"
    }
    fn params(&self) -> &'static [ParamSpec] {
        crate::params::COHERENCE_WINDOW
    }
    fn configure(&self, p: &Params, _: &Setup) -> Result<Box<dyn Kernel>, AttrError> {
        let crate::params::CoherenceWindow { window, min_live } = p.typed()?;
        Ok(Box::new(SemblanceKernel { window, min_live }))
    }
}

impl Kernel for SemblanceKernel {
    fn halo(&self) -> [Halo; 3] {
        self.window.map(|w| Halo::Depth(w / 2))
    }
    fn compute(&self, block: ArrayView3<f32>, shared: &mut Shared) -> Array3<f32> {
        if crate::nulls::has_nulls(block, shared) {
            return masked_semblance(block, self.window, self.min_live);
        }
        let [wi, wx, wt] = self.window;
        // numerator: vertical mean of the squared lateral mean trace
        let mut num = block.to_owned();
        box_mean_axis(&mut num, 0, wi);
        box_mean_axis(&mut num, 1, wx);
        num.mapv_inplace(|v| v * v);
        box_mean_axis(&mut num, 2, wt);
        // denominator: mean energy over the whole window
        let mut den = block.mapv(|v| v * v);
        for (axis, w) in [wi, wx, wt].into_iter().enumerate() {
            box_mean_axis(&mut den, axis, w);
        }
        Zip::from(&mut num).and(&den).for_each(|n, &d| {
            *n = if d > 0.0 {
                (*n / d).clamp(0.0, 1.0)
            } else {
                0.0
            };
        });
        num
    }
    fn resolved(&self) -> serde_json::Value {
        serde_json::json!({ "window": self.window, "min_live": self.min_live })
    }
    fn null_aware(&self) -> bool {
        true
    }
    fn working_copies(&self) -> f32 {
        8.0
    }
}

/// Semblance over the traces present: with J_t live traces at time t,
/// Σ_t(Σ_j x)² / Σ_t(J_t·Σ_j x²), null where fewer than `min_live` traces
/// are live at the sample.
fn masked_semblance(block: ArrayView3<f32>, window: [usize; 3], min_live: usize) -> Array3<f32> {
    let [wi, wx, wt] = window;
    let x = crate::nulls::zero_filled(block);
    let mut num = x.clone();
    box_mean_axis(&mut num, 0, wi);
    box_mean_axis(&mut num, 1, wx);
    num.mapv_inplace(|v| v * v);
    box_mean_axis(&mut num, 2, wt);
    let count = crate::nulls::live_traces(block, wi, wx);
    let j = (wi * wx) as f32;
    let mut den = x.mapv(|v| v * v);
    box_mean_axis(&mut den, 0, wi);
    box_mean_axis(&mut den, 1, wx);
    den.zip_mut_with(&count, |d, &c| *d *= c / j);
    box_mean_axis(&mut den, 2, wt);
    Zip::from(&mut num).and(&den).for_each(|n, &d| {
        *n = if d > 0.0 {
            (*n / d).clamp(0.0, 1.0)
        } else {
            0.0
        };
    });
    crate::nulls::null_below(&mut num, &count, min_live, wi * wx);
    num
}

/// This family's attributes, in the order `attr list` shows them.
pub(crate) const ATTRIBUTES: &[&dyn crate::Attribute] = &[&Semblance];
