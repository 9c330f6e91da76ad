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
    fn compute_region(
        &self,
        block: ArrayView3<f32>,
        core: &crate::Region,
        shared: &mut Shared,
    ) -> (Array3<f32>, [usize; 3]) {
        if crate::nulls::has_nulls(block, shared) {
            return (masked_semblance(block, self.window, self.min_live), [0; 3]);
        }
        (
            semblance_core(block, self.window, core),
            crate::convolve::origin(core),
        )
    }
    fn compute(&self, block: ArrayView3<f32>, shared: &mut Shared) -> Array3<f32> {
        let core = crate::convolve::whole(block.dim());
        self.compute_region(block, &core, shared).0
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

/// Semblance at `core` of a block without nulls, one output trace at a
/// time in one pass: the lateral sum and energy of the window's traces at
/// each sample, then both summed down the window as it slides. Nothing
/// outside the core is computed and no block-sized temporaries are made.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2", "aarch64+neon"))]
fn semblance_core(block: ArrayView3<f32>, window: [usize; 3], core: &crate::Region) -> Array3<f32> {
    use crate::window::{reflected_run, symmetric_index};
    let (n0, n1, n2) = block.dim();
    let r = window.map(|w| (w / 2) as isize);
    let len = core[2].len();
    let span = len + 2 * r[2] as usize;
    let first = core[2].start as isize - r[2];
    // the samples each output trace's windows read, reflected at the ends
    let rows: Vec<usize> = (0..span)
        .map(|t| symmetric_index(first + t as isize, n2))
        .collect();
    let j = (window[0] * window[1]) as f64;
    let (mut sum, mut energy) = (vec![0f64; span], vec![0f64; span]);
    let mut line = Vec::with_capacity(span);
    let mut out = Array3::<f32>::zeros((core[0].len(), core[1].len(), len));
    for i in core[0].clone() {
        for x in core[1].clone() {
            sum.fill(0.0);
            energy.fill(0.0);
            for di in -r[0]..=r[0] {
                let ii = symmetric_index(i as isize + di, n0);
                for dx in -r[1]..=r[1] {
                    let xx = symmetric_index(x as isize + dx, n1);
                    let trace = block.slice(ndarray::s![ii, xx, ..]);
                    let values = reflected_run(trace, first, &rows, &mut line);
                    for ((s, e), &v) in sum.iter_mut().zip(energy.iter_mut()).zip(values) {
                        let v = v as f64;
                        *s += v;
                        *e += v * v;
                    }
                }
            }
            // Σ_t (Σ_j x)² / (J·Σ_t Σ_j x²), down the window; a window of
            // zeros is exactly 0, not rounding residue
            let w = window[2];
            let (mut num, mut den, mut live) = (0f64, 0f64, 0usize);
            for t in 0..w {
                num += sum[t] * sum[t];
                den += energy[t];
                live += usize::from(energy[t] != 0.0);
            }
            let mut o = out.slice_mut(ndarray::s![i - core[0].start, x - core[1].start, ..]);
            for k in 0..len {
                if k > 0 {
                    let (add, drop) = (k + w - 1, k - 1);
                    num += sum[add] * sum[add] - sum[drop] * sum[drop];
                    den += energy[add] - energy[drop];
                    live =
                        live + usize::from(energy[add] != 0.0) - usize::from(energy[drop] != 0.0);
                }
                o[k] = if live > 0 && den > 0.0 {
                    (num / (j * den)).clamp(0.0, 1.0) as f32
                } else {
                    0.0
                };
            }
        }
    }
    out
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
