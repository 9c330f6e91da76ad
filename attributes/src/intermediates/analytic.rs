//! The analytic trace z = x + i·H[x] of a block and what the complex-trace
//! attributes derive from it, each computed once per block and shared by
//! every kernel that asks (complex_trace, instantaneous and response
//! attributes depend on this module, not on each other).

use crate::dsp::{analytic, Analytic};
use crate::{Halo, Shared};
use ndarray::{Array3, ArrayView3, Zip};

pub(crate) const TANER: &str =
    "Taner, Koehler & Sheriff (1979), Complex seismic trace analysis, Geophysics 44(6)";

/// The whole trace: the transform runs over it.
pub(crate) const HALO: [Halo; 3] = [Halo::Depth(0), Halo::Depth(0), Halo::Full];

/// The analytic trace with its derivatives: what a kernel that calls
/// [`rates`] announces (see [`crate::Shared::announce`]).
pub(crate) const WITH_DERIVATIVES: &str = "complex_trace.analytic+derivatives";
pub(crate) const PLAIN: &str = "complex_trace.analytic";

/// A whole-trace kernel that asks for [`rates`]: it announces the analytic
/// trace with derivatives, so that a kernel of the block that needs only
/// the trace (envelope, say) makes that one.
pub(crate) fn derived_kernel<F>(
    resolved: &crate::Params,
    f: F,
) -> Result<Box<dyn crate::Kernel>, crate::AttrError>
where
    F: Fn(ArrayView3<f32>, &mut Shared) -> Array3<f32> + Send + Sync + 'static,
{
    crate::announcing(&[WITH_DERIVATIVES], crate::kernel(HALO, resolved, f))
}

/// The analytic trace with spectral derivatives, once per block.
pub(crate) fn with_derivatives<'a>(block: ArrayView3<f32>, shared: &'a mut Shared) -> &'a Analytic {
    shared.get_or_insert(WITH_DERIVATIVES, || analytic(block, true))
}

/// The envelope |z|, once per block.
pub(crate) fn envelope(block: ArrayView3<f32>, shared: &mut Shared) -> Array3<f32> {
    if let Some(e) = shared.get::<Array3<f32>>("complex_trace.envelope") {
        return e.clone();
    }
    let q = shared_quadrature(block, shared);
    let e = Zip::from(&block)
        .and(q)
        .map_collect(|&x, &y| crate::dsp::magnitude(x, y));
    shared.get_or_insert("complex_trace.envelope", || e).clone()
}

/// Instantaneous frequency in cycles per sample, (x·y′ − y·x′)/(2π(x² + y²)),
/// and the relative amplitude change per sample, (x·x′ + y·y′)/(x² + y²):
/// both 0 where the envelope is 0. Once per block.
pub(crate) fn rates<'a>(
    block: ArrayView3<f32>,
    shared: &'a mut Shared,
) -> &'a (Array3<f32>, Array3<f32>) {
    if shared
        .get::<(Array3<f32>, Array3<f32>)>("complex_trace.rates")
        .is_none()
    {
        let a = with_derivatives(block, shared);
        let y = &a.quadrature;
        let (dx, dy) = a.derivatives.as_ref().expect("asked for derivatives");
        let mut f = Array3::<f32>::zeros(block.raw_dim());
        let mut r = Array3::<f32>::zeros(block.raw_dim());
        let tau = 2.0 * std::f64::consts::PI;
        Zip::from(&mut f)
            .and(&mut r)
            .and(&block)
            .and(y)
            .and(dx)
            .and(dy)
            .for_each(|f, r, &x, &y, &dx, &dy| {
                let (x, y, dx, dy) = (x as f64, y as f64, dx as f64, dy as f64);
                let den = x * x + y * y;
                if den > 0.0 {
                    *f = ((x * dy - y * dx) / den / tau) as f32;
                    *r = ((x * dx + y * dy) / den) as f32;
                }
            });
        shared.get_or_insert("complex_trace.rates", || (f, r));
    }
    shared
        .get::<(Array3<f32>, Array3<f32>)>("complex_trace.rates")
        .expect("just inserted")
}

/// H[x] of this block, computed once per block for the whole family: with
/// the derivatives where a kernel of the block has announced it will need
/// them, so that the transform is not run twice.
pub(crate) fn shared_quadrature<'a>(
    block: ArrayView3<f32>,
    shared: &'a mut Shared,
) -> &'a Array3<f32> {
    if shared.get::<Analytic>(PLAIN).is_none() && shared.announced(WITH_DERIVATIVES) {
        return &with_derivatives(block, shared).quadrature;
    }
    if shared.get::<Analytic>(WITH_DERIVATIVES).is_some() {
        return &shared
            .get::<Analytic>(WITH_DERIVATIVES)
            .expect("checked")
            .quadrature;
    }
    &shared
        .get_or_insert(PLAIN, || analytic(block, false))
        .quadrature
}
