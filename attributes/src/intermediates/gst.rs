//! The gradient structure tensor of a block: Gaussian-derivative gradients
//! (σ_gradient), their outer product smoothed by a Gaussian (σ_tensor),
//! and per sample its eigenvalues λ1 ≥ λ2 ≥ λ3 and the dips of the principal
//! eigenvector (the normal to the reflectors). Computed once per block and
//! shared: the structure attributes and the dip-steered filters depend on
//! this module, not on each other.

use crate::convolve::{
    crop, dilate, gaussian_product_region, gaussian_radius, gaussian_range, gaussian_region,
    origin, shift, Region,
};
use crate::{AttrError, Halo, ParamKind, ParamSpec, Params, Shared};
use ndarray::{Array3, ArrayView3};
use std::sync::OnceLock;

/// Dips are limited to this many samples per trace (near-vertical normals).
const MAX_DIP: f32 = 100.0;

/// Eigen-decomposition of the smoothed structure tensor, per sample of a
/// region of the block. The eigenvalues are computed at once; the dips
/// (from the principal eigenvector) on first use, so that a job of
/// eigenvalue attributes alone never pays for the vectors.
pub struct Gst {
    pub l1: Array3<f32>,
    pub l2: Array3<f32>,
    pub l3: Array3<f32>,
    /// The six tensor components and λ1 in full precision, for the dips.
    tensor: Vec<Array3<f32>>,
    lambda1: Vec<f64>,
    /// The live mask of the region, where the block has nulls.
    live: Option<Array3<f32>>,
    dips: OnceLock<[Array3<f32>; 2]>,
}

impl Gst {
    /// Dips from the principal eigenvector: samples per trace along the
    /// inline axis (t grows by p per trace).
    pub fn p_inline(&self) -> &Array3<f32> {
        &self.dips()[0]
    }

    /// Dips along the crossline axis, as [`Gst::p_inline`].
    pub fn p_crossline(&self) -> &Array3<f32> {
        &self.dips()[1]
    }

    fn dips(&self) -> &[Array3<f32>; 2] {
        self.dips.get_or_init(|| {
            let mut d = dips(&self.tensor, &self.lambda1, self.l1.raw_dim());
            if let Some(m) = &self.live {
                for field in &mut d {
                    field.zip_mut_with(m, |v, &live| {
                        if live == 0.0 {
                            *v = f32::NAN
                        }
                    });
                }
            }
            d
        })
    }

    /// A tensor with given eigenvalues and dips.
    #[cfg(test)]
    pub fn planted(l: [Array3<f32>; 3], p: [Array3<f32>; 2]) -> Gst {
        let [l1, l2, l3] = l;
        Gst {
            l1,
            l2,
            l3,
            tensor: Vec::new(),
            lambda1: Vec::new(),
            live: None,
            dips: OnceLock::from(p),
        }
    }
}

use crate::gst_stream::PAIRS;

/// The tensor of the whole block.
#[cfg(test)]
pub fn structure_tensor(block: ArrayView3<f32>, sg: f64, st: f64) -> Gst {
    structure_tensor_in(block, sg, st, &crate::convolve::whole(block.dim()))
}

/// The tensor at `region` of the block only. The gradients are needed on
/// the region widened by the tensor's smoothing radius, and each separable
/// pass computes only what the next one reads: with a deep halo this is
/// less than half the work of filtering the whole block.
pub fn structure_tensor_in(block: ArrayView3<f32>, sg: f64, st: f64, region: &Region) -> Gst {
    let t = if sg > 1e-15 && st > 1e-15 {
        crate::gst_stream::smoothed_tensor(block, sg, st, region)
    } else {
        smoothed_tensor_by_arrays(block, sg, st, region)
    };
    decompose(t, None)
}

/// The smoothed tensor's six components by whole-array passes: where a
/// sigma is zero (scipy then skips that axis's passes, whatever the
/// derivative order), and as the reference of the streamed version.
pub(crate) fn smoothed_tensor_by_arrays(
    block: ArrayView3<f32>,
    sg: f64,
    st: f64,
    region: &Region,
) -> Vec<Array3<f32>> {
    let gr = dilate(region, [gaussian_radius(st); 3], block.dim());
    let g = gradients(block, sg, &gr);
    let inner = shift(region, origin(&gr));
    PAIRS
        .iter()
        .map(|&(a, c)| gaussian_product_region(&g[a], &g[c], [st; 3], &inner))
        .collect()
}

/// The three Gaussian-derivative gradients at `region`, sharing passes:
/// ∂x = D₀G₁G₂, ∂y = G₀D₁G₂ and ∂z = G₀G₁D₂ have only two distinct passes
/// along the sample axis (which read the whole block).
fn gradients(block: ArrayView3<f32>, sg: f64, region: &Region) -> [Array3<f32>; 3] {
    let pass = |a: ArrayView3<f32>, axis: usize, order: usize| {
        gaussian_range(a, axis, sg, order, region[axis].clone())
    };
    let smooth2 = pass(block, 2, 0);
    let d2 = pass(block, 2, 1);
    let smooth21 = pass(smooth2.view(), 1, 0);
    let gx = pass(smooth21.view(), 0, 1);
    let gy = pass(pass(smooth2.view(), 1, 1).view(), 0, 0);
    let gz = pass(pass(d2.view(), 1, 0).view(), 0, 0);
    [gx, gy, gz]
}

/// The tensor of a block with null samples: the gradients of the
/// normalised smoothing of the live samples, themselves smoothed over the
/// live samples only (normalised convolution G(m·∇x∇xᵀ)/G(m)). NaN at the
/// null samples themselves. Only `region` is computed, as for
/// [`structure_tensor_in`].
pub fn structure_tensor_masked(block: ArrayView3<f32>, sg: f64, st: f64, region: &Region) -> Gst {
    let gr = dilate(region, [gaussian_radius(st); 3], block.dim());
    let m_block = crate::nulls::live(block);
    let m = crop(m_block.view(), &gr).to_owned();
    let g: Vec<Array3<f32>> = crate::nulls::normalized_gradient(block, [sg; 3], &gr)
        .into_iter()
        .map(|mut d| {
            d.zip_mut_with(&m, |v, &live| {
                if live == 0.0 || v.is_nan() {
                    *v = 0.0
                }
            });
            d
        })
        .collect();
    let inner = shift(region, origin(&gr));
    let g_m = gaussian_region(m.view(), [st; 3], [0; 3], &inner);
    let t: Vec<Array3<f32>> = PAIRS
        .iter()
        .map(|&(a, c)| crate::nulls::normalized_with(&(&g[a] * &g[c]), &m, &g_m, st, &inner))
        .collect();
    let m = crop(m_block.view(), region).to_owned();
    let mut out = decompose(t, Some(m));
    let m = out.live.as_ref().expect("given");
    for field in [&mut out.l1, &mut out.l2, &mut out.l3] {
        field.zip_mut_with(m, |v, &live| {
            if live == 0.0 {
                *v = f32::NAN
            }
        });
    }
    out
}

/// The tensor's eigenvalues, sample by sample.
fn decompose(t: Vec<Array3<f32>>, live: Option<Array3<f32>>) -> Gst {
    let shape = t[0].raw_dim();
    let (mut l1, mut l2, mut l3) = (
        Array3::zeros(shape),
        Array3::zeros(shape),
        Array3::zeros(shape),
    );
    let mut lambda1 = vec![0f64; l1.len()];
    {
        let c: Vec<&[f32]> = t
            .iter()
            .map(|a| a.as_slice().expect("standard layout"))
            .collect();
        let o1 = l1.as_slice_mut().expect("standard layout");
        let o2 = l2.as_slice_mut().expect("standard layout");
        let o3 = l3.as_slice_mut().expect("standard layout");
        let c: [&[f32]; 6] = std::array::from_fn(|i| c[i]);
        let mut start = 0;
        while start < o1.len() {
            let end = (start + BATCH).min(o1.len());
            eigenvalue_batch(
                c.map(|v| &v[start..end]),
                [
                    &mut o1[start..end],
                    &mut o2[start..end],
                    &mut o3[start..end],
                ],
                &mut lambda1[start..end],
            );
            start = end;
        }
    }
    Gst {
        l1,
        l2,
        l3,
        tensor: t,
        lambda1,
        live,
        dips: OnceLock::new(),
    }
}

/// Samples per pass of [`eigenvalue_batch`].
const BATCH: usize = 64;

/// Eigenvalues (descending) of the symmetric 3 × 3 tensors of up to
/// [`BATCH`] samples in closed form (Smith 1961, the trigonometric solution
/// of the characteristic cubic), some 20× faster than an iterative solver.
/// In three passes: the
/// arithmetic before and after the angle runs across samples (vectorised,
/// its square roots and divisions overlapped) instead of as one long
/// chain per sample. Dead windows (zero or NaN energy) give zeros.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2", "aarch64+neon"))]
fn eigenvalue_batch(c: [&[f32]; 6], out: [&mut [f32]; 3], lambda1: &mut [f64]) {
    // lengths the compiler can see, so that the loops vectorise
    let n = lambda1.len().min(BATCH);
    let c = c.map(|v| &v[..n]);
    let (mut q, mut pp, mut det) = ([0f64; BATCH], [0f64; BATCH], [0f64; BATCH]);
    let (mut h, mut s) = ([0f64; BATCH], [0f64; BATCH]);
    for k in 0..n {
        let (xx, yy, zz) = (c[0][k] as f64, c[1][k] as f64, c[2][k] as f64);
        let (xy, xz, yz) = (c[3][k] as f64, c[4][k] as f64, c[5][k] as f64);
        let qk = (xx + yy + zz) / 3.0;
        let d = [xx - qk, yy - qk, zz - qk];
        let p2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2] + 2.0 * (xy * xy + xz * xz + yz * yz);
        let dk = d[0] * (d[1] * d[2] - yz * yz) - xy * (xy * d[2] - yz * xz)
            + xz * (xy * yz - d[1] * xz);
        let ppk = p2 / 6.0;
        let hk = if ppk > 0.0 {
            (dk / (2.0 * ppk * ppk.sqrt())).clamp(-1.0, 1.0)
        } else {
            1.0
        };
        q[k] = qk;
        pp[k] = ppk;
        det[k] = dk;
        h[k] = hk;
        s[k] = ((1.0 - hk) * (1.0 + hk)).sqrt();
    }
    let (mut sin, mut cos) = ([0f64; BATCH], [0f64; BATCH]);
    let (s, h) = (&s[..n], &h[..n]);
    let (sin_n, cos_n) = (&mut sin[..n], &mut cos[..n]);
    for k in 0..n {
        // φ in [0, π/3]: an inlined arctangent and short Taylor series
        // (error < 1e-7, which the Newton step below removes) instead of
        // libm calls, so that this loop vectorises too
        let phi = (angle(s[k] as f32, h[k] as f32) / 3.0) as f64;
        let x2 = phi * phi;
        let f = |d: f64| x2 * (1.0 / d);
        sin_n[k] = phi * (1.0 - f(6.0) * (1.0 - f(20.0) * (1.0 - f(42.0) * (1.0 - f(72.0)))));
        cos_n[k] =
            1.0 - f(2.0) * (1.0 - f(12.0) * (1.0 - f(30.0) * (1.0 - f(56.0) * (1.0 - f(90.0)))));
    }
    let [o1, o2, o3] = out;
    let (o1, o2, o3) = (&mut o1[..n], &mut o2[..n], &mut o3[..n]);
    let lambda1 = &mut lambda1[..n];
    let (q, pp, det, sin, cos) = (&q[..n], &pp[..n], &det[..n], &sin[..n], &cos[..n]);
    for k in 0..n {
        let (qk, ppk, dk) = (q[k], pp[k], det[k]);
        let p = ppk.sqrt();
        let newton = |mu: f64| {
            let slope = 3.0 * (mu * mu - ppk);
            let step = (mu * (mu * mu - 3.0 * ppk) - dk) / slope;
            if slope.abs() > 1e-12 * ppk {
                mu - step
            } else {
                mu
            }
        };
        let e1 = qk + newton(2.0 * p * cos[k]);
        let e3 = qk + newton(-p * (cos[k] + 3f64.sqrt() * sin[k]));
        let e2 = 3.0 * qk - e1 - e3;
        let live = qk > 0.0;
        lambda1[k] = if live { e1 } else { 0.0 };
        o1[k] = if live { e1.max(0.0) as f32 } else { 0.0 };
        o2[k] = if live { e2.max(0.0) as f32 } else { 0.0 };
        o3[k] = if live { e3.max(0.0) as f32 } else { 0.0 };
    }
}

/// `atan2(s, h)` for a point on the upper unit half-circle (s ≥ 0,
/// s² + h² = 1), as [`crate::dsp::atan2`] computes it but with selects
/// instead of branches (the point is never the origin), so that a loop of
/// it vectorises.
#[inline(always)]
fn angle(s: f32, h: f32) -> f32 {
    use std::f32::consts::{FRAC_PI_2, FRAC_PI_4, PI};
    let ax = h.abs();
    let swap = s > ax;
    let (num, den) = if swap { (ax, s) } else { (s, ax) };
    let t = num / den;
    let reduce = t > 0.414_213_57;
    let base = if reduce { FRAC_PI_4 } else { 0.0 };
    let t = if reduce { (t - 1.0) / (t + 1.0) } else { t };
    let z = t * t;
    let p =
        (((8.053_744_5e-2 * z - 1.387_768_6e-1) * z + 1.997_771_1e-1) * z - 3.333_295e-1) * z * t
            + t;
    let a = base + p;
    let a = if swap { FRAC_PI_2 - a } else { a };
    if h < 0.0 {
        PI - a
    } else {
        a
    }
}

/// The dips of the principal eigenvector, sample by sample.
fn dips(t: &[Array3<f32>], lambda1: &[f64], shape: ndarray::Ix3) -> [Array3<f32>; 2] {
    let (mut pi, mut px) = (Array3::zeros(shape), Array3::zeros(shape));
    let c: [&[f32]; 6] = std::array::from_fn(|i| t[i].as_slice().expect("standard layout"));
    dip_batch(
        c,
        lambda1,
        pi.as_slice_mut().expect("standard layout"),
        px.as_slice_mut().expect("standard layout"),
    );
    [pi, px]
}

/// The dips −n_i/n_t and −n_x/n_t of the principal eigenvector n: the
/// longest cross product of two rows of A − λ1·I (the normalisation
/// cancels in the ratios), written so that the loop vectorises. Zero where
/// the window is dead.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2", "aarch64+neon"))]
fn dip_batch(c: [&[f32]; 6], lambda1: &[f64], oi: &mut [f32], ox: &mut [f32]) {
    let cross = |u: [f64; 3], v: [f64; 3]| {
        [
            u[1] * v[2] - u[2] * v[1],
            u[2] * v[0] - u[0] * v[2],
            u[0] * v[1] - u[1] * v[0],
        ]
    };
    let norm2 = |u: [f64; 3]| u[0] * u[0] + u[1] * u[1] + u[2] * u[2];
    let max_dip = MAX_DIP as f64;
    for q in 0..oi.len() {
        let (xx, yy, zz) = (c[0][q] as f64, c[1][q] as f64, c[2][q] as f64);
        let (xy, xz, yz) = (c[3][q] as f64, c[4][q] as f64, c[5][q] as f64);
        let l = lambda1[q];
        let r = [[xx - l, xy, xz], [xy, yy - l, yz], [xz, yz, zz - l]];
        let (c01, c02, c12) = (cross(r[0], r[1]), cross(r[0], r[2]), cross(r[1], r[2]));
        let (n01, n02, n12) = (norm2(c01), norm2(c02), norm2(c12));
        // the last of equal candidates, as max_by picks
        let (v, n) = if n12 >= n01 && n12 >= n02 {
            (c12, n12)
        } else if n02 >= n01 {
            (c02, n02)
        } else {
            (c01, n01)
        };
        // λ1 repeated: the diagonal's largest axis is an eigenvector
        let k = if zz >= yy && zz >= xx {
            2
        } else if yy >= xx {
            1
        } else {
            0
        };
        let unit = [
            (k == 0) as u8 as f64,
            (k == 1) as u8 as f64,
            (k == 2) as u8 as f64,
        ];
        let (v, n) = if n > 0.0 { (v, n) } else { (unit, 1.0) };
        // a near-vertical normal (a vertical event) has an unbounded dip
        let floor = 1e-6 * n.sqrt();
        let vt = if v[2].abs() < floor {
            floor.copysign(v[2])
        } else {
            v[2]
        };
        let live = xx + yy + zz > 0.0;
        oi[q] = if live {
            (-v[0] / vt).clamp(-max_dip, max_dip) as f32
        } else {
            0.0
        };
        ox[q] = if live {
            (-v[1] / vt).clamp(-max_dip, max_dip) as f32
        } else {
            0.0
        };
    }
}

/// The eigenvalues and the principal unit eigenvector of a tensor, as the
/// family computes them (the matrix taken in f32, as the tensor is stored).
#[cfg(test)]
pub fn eigen3(a: [[f64; 3]; 3]) -> ([f64; 3], [f64; 3]) {
    let lam = eigenvalues3(a);
    let c = [a[0][0], a[1][1], a[2][2], a[0][1], a[0][2], a[1][2]].map(|v| [v as f32]);
    let (mut pi, mut px) = ([0f32], [0f32]);
    dip_batch(c.each_ref().map(|v| &v[..]), &[lam[0]], &mut pi, &mut px);
    let v = [-pi[0] as f64, -px[0] as f64, 1.0];
    let n = (v[0] * v[0] + v[1] * v[1] + 1.0).sqrt();
    (lam, v.map(|x| x / n))
}

#[cfg(test)]
pub fn eigenvalues3(a: [[f64; 3]; 3]) -> [f64; 3] {
    let c = [a[0][0], a[1][1], a[2][2], a[0][1], a[0][2], a[1][2]].map(|v| [v as f32]);
    let (mut o1, mut o2, mut o3, mut l1) = ([0f32], [0f32], [0f32], [0f64]);
    eigenvalue_batch(
        c.each_ref().map(|v| &v[..]),
        [&mut o1, &mut o2, &mut o3],
        &mut l1,
    );
    [l1[0], o2[0] as f64, o3[0] as f64]
}

pub(crate) const SIGMA_GRADIENT: ParamSpec = ParamSpec {
    name: "sigma_gradient",
    kind: ParamKind::Float {
        min: 0.0,
        max: 16.0,
    },
    default: "1.0",
    unit: "samples",
    help: "Gaussian derivative scale of the structure tensor's gradients (all axes)",
};

pub(crate) const SIGMA_TENSOR: ParamSpec = ParamSpec {
    name: "sigma_tensor",
    kind: ParamKind::Float {
        min: 0.0,
        max: 16.0,
    },
    default: "2.0",
    unit: "samples",
    help: "Gaussian smoothing of the structure tensor (all axes)",
};

/// The tensor's two scales, as every attribute built on it takes them.
#[derive(serde::Deserialize)]
pub(crate) struct Sigmas {
    pub sigma_gradient: f64,
    pub sigma_tensor: f64,
}

pub(crate) fn sigmas(p: &Params) -> Result<(f64, f64), AttrError> {
    let s: Sigmas = p.typed()?;
    Ok((s.sigma_gradient, s.sigma_tensor))
}

/// The block's tensor for these sigmas where a kernel asked for it: `g`
/// covers at least the region asked, which may be a part of its fields.
pub(crate) struct GstAt<'a> {
    pub g: &'a Gst,
    /// Where the region asked starts, in the asker's view and in g's fields.
    asked: [usize; 3],
    inside: [usize; 3],
}

impl GstAt<'_> {
    /// `r`, a part of the region asked (in the asker's view), in the
    /// coordinates of g's fields.
    pub fn fields(&self, r: &Region) -> Region {
        [0, 1, 2].map(|a| {
            let shift = |v: usize| v - self.asked[a] + self.inside[a];
            shift(r[a].start)..shift(r[a].end)
        })
    }
}

/// The block's tensor for these sigmas at `region` of the view `b`, once
/// per block: kept in block coordinates, so that a kernel of a shallower
/// halo reuses a tensor computed over a wider region for another (the
/// curvatures need it one trace wider than the eigenvalue attributes).
pub(crate) fn shared_gst<'a>(
    b: ArrayView3<f32>,
    sh: &'a mut Shared,
    sg: f64,
    st: f64,
    region: &Region,
) -> GstAt<'a> {
    let masked = crate::nulls::has_nulls(b, sh);
    let at = sh.view_origin();
    let wanted: Region = [0, 1, 2].map(|a| region[a].start + at[a]..region[a].end + at[a]);
    let made: &mut Vec<(Region, Gst)> = sh.block_entry(&format!("gst:{sg}:{st}:{masked}"));
    let covers =
        |r: &Region| (0..3).all(|a| r[a].start <= wanted[a].start && wanted[a].end <= r[a].end);
    let i = match made.iter().position(|(r, _)| covers(r)) {
        Some(i) => i,
        None => {
            let g = if masked {
                structure_tensor_masked(b, sg, st, region)
            } else {
                structure_tensor_in(b, sg, st, region)
            };
            made.push((wanted.clone(), g));
            made.len() - 1
        }
    };
    let (r, g) = &made[i];
    GstAt {
        g,
        asked: origin(region),
        inside: [0, 1, 2].map(|a| wanted[a].start - r[a].start),
    }
}

/// The halo of the tensor's two Gaussians, plus `extra` samples.
pub(crate) fn gst_halo(sg: f64, st: f64, extra: usize) -> [Halo; 3] {
    [Halo::Depth(gaussian_radius(sg) + gaussian_radius(st) + extra); 3]
}
