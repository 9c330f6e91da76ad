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
        6.0
    }
}

/// Semblance at `core` of a block without nulls, one output trace at a
/// time: the lateral sum and energy of the window's traces at each sample,
/// then both summed down each window. Nothing
/// outside the core is computed and no block-sized temporaries are made.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2", "aarch64+neon"))]
fn semblance_core(block: ArrayView3<f32>, window: [usize; 3], core: &crate::Region) -> Array3<f32> {
    use crate::window::{reflected_run, reflected_slice, symmetric_index, symmetric_window};
    let (n0, n1, n2) = block.dim();
    let flat = block.to_slice();
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
    let mut square = vec![0f64; span];
    let (mut num, mut den) = (vec![0f64; len], vec![0f64; len]);
    let mut bufs: Vec<Vec<f32>> = vec![Vec::with_capacity(span); window[0] * window[1]];
    let mut out = Array3::<f32>::zeros((core[0].len(), core[1].len(), len));
    // each lateral position's window rows, once
    let cols: Vec<Vec<usize>> = core[1]
        .clone()
        .map(|x| symmetric_window(x, r[1], n1))
        .collect();
    let mut traces = Vec::with_capacity(bufs.len());
    for i in core[0].clone() {
        let rows0 = symmetric_window(i, r[0], n0);
        for (xo, cols) in cols.iter().enumerate() {
            traces.clear();
            for &ii in &rows0 {
                traces.extend(cols.iter().map(|&xx| ii * n1 + xx));
            }
            // plain slices of a standard-layout block: slicing a view per
            // trace would cost as much as the sums
            let lines: Vec<&[f32]> = traces
                .iter()
                .zip(bufs.iter_mut())
                .map(|(&t, buf)| match flat {
                    Some(f) => reflected_slice(&f[t * n2..(t + 1) * n2], first, &rows, buf),
                    None => {
                        let trace = block.slice_move(ndarray::s![t / n1, t % n1, ..]);
                        reflected_run(trace, first, &rows, buf)
                    }
                })
                .collect();
            lateral_sums(&lines, &mut sum, &mut energy);
            // Σ_t (Σ_j x)² / (J·Σ_t Σ_j x²) over each window, summed
            // afresh (across outputs, so that it vectorises): a window of
            // zeros is exactly 0, never a running sum's rounding residue
            for (q, &v) in square.iter_mut().zip(&sum) {
                *q = v * v;
            }
            let w = window[2];
            num.fill(0.0);
            den.fill(0.0);
            for t in 0..w {
                for ((n, d), (&q, &e)) in num
                    .iter_mut()
                    .zip(den.iter_mut())
                    .zip(square[t..t + len].iter().zip(&energy[t..t + len]))
                {
                    *n += q;
                    *d += e;
                }
            }
            let mut o = out.slice_mut(ndarray::s![i - core[0].start, xo, ..]);
            let o = o.as_slice_mut().expect("a row of a standard-layout array");
            for (o, (&n, &d)) in o.iter_mut().zip(num.iter().zip(&den)) {
                *o = if d > 0.0 {
                    (n / (j * d)).clamp(0.0, 1.0) as f32
                } else {
                    0.0
                };
            }
        }
    }
    out
}

/// Per sample, the sum and the energy of `lines` (traces summed in order),
/// in f64 registers across 16 or 8 samples at once: each sum is stored
/// once, not added to in memory trace after trace.
#[inline(always)]
fn lateral_sums(lines: &[&[f32]], sum: &mut [f64], energy: &mut [f64]) {
    let span = sum.len();
    let mut k = 0;
    while k + 16 <= span {
        lateral_group::<16>(lines, sum, energy, k);
        k += 16;
    }
    if k + 8 <= span {
        lateral_group::<8>(lines, sum, energy, k);
        k += 8;
    }
    for k in k..span {
        let (mut s, mut e) = (0f64, 0f64);
        for line in lines {
            let x = line[k] as f64;
            s += x;
            e += x * x;
        }
        sum[k] = s;
        energy[k] = e;
    }
}

/// The `L` samples of [`lateral_sums`] from `k`.
#[inline(always)]
fn lateral_group<const L: usize>(lines: &[&[f32]], sum: &mut [f64], energy: &mut [f64], k: usize) {
    let (mut s, mut e) = ([0f64; L], [0f64; L]);
    for line in lines {
        let v: &[f32; L] = line[k..k + L].try_into().expect("L long");
        for l in 0..L {
            let x = v[l] as f64;
            s[l] += x;
            e[l] += x * x;
        }
    }
    sum[k..k + L].copy_from_slice(&s);
    energy[k..k + L].copy_from_slice(&e);
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
