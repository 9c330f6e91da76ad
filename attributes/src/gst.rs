//! The gradient structure tensor of a block: Gaussian-derivative gradients
//! (σ_gradient), their outer product smoothed by a Gaussian (σ_tensor),
//! and per sample its eigenvalues λ1 ≥ λ2 ≥ λ3 and the dips of the principal
//! eigenvector (the normal to the reflectors). Computed once per block and
//! shared: the structure attributes and the dip-steered filters depend on
//! this module, not on each other.

use crate::convolve::{gaussian, gaussian_radius};
use crate::{AttrError, Halo, ParamKind, ParamSpec, Params, Shared};
use ndarray::{Array3, ArrayView3};

/// Dips are limited to this many samples per trace (near-vertical normals).
const MAX_DIP: f32 = 100.0;

/// Eigen-decomposition of the smoothed structure tensor, per sample.
pub struct Gst {
    pub l1: Array3<f32>,
    pub l2: Array3<f32>,
    pub l3: Array3<f32>,
    /// Dips from the principal eigenvector: samples per trace along the
    /// inline and crossline axes (t grows by p per trace).
    pub p_inline: Array3<f32>,
    pub p_crossline: Array3<f32>,
}

impl Gst {
    fn zeros(shape: ndarray::Ix3) -> Gst {
        Gst {
            l1: Array3::zeros(shape),
            l2: Array3::zeros(shape),
            l3: Array3::zeros(shape),
            p_inline: Array3::zeros(shape),
            p_crossline: Array3::zeros(shape),
        }
    }
}

pub fn structure_tensor(block: ArrayView3<f32>, sg: f64, st: f64) -> Gst {
    let b = block.to_owned();
    let s = [sg; 3];
    let g: Vec<Array3<f32>> = (0..3)
        .map(|a| {
            let mut order = [0; 3];
            order[a] = 1;
            gaussian(&b, s, order)
        })
        .collect();
    let pairs = [(0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2)];
    let t: Vec<Array3<f32>> = pairs
        .iter()
        .map(|&(a, c)| gaussian(&(&g[a] * &g[c]), [st; 3], [0; 3]))
        .collect();
    let mut out = Gst::zeros(b.raw_dim());
    decompose(&t, &mut out);
    out
}

/// The tensor of a block with null samples: the gradients of the
/// normalised smoothing of the live samples, themselves smoothed over the
/// live samples only (normalised convolution G(m·∇x∇xᵀ)/G(m)). NaN at the
/// null samples themselves.
pub fn structure_tensor_masked(block: ArrayView3<f32>, sg: f64, st: f64) -> Gst {
    let m = crate::nulls::live(block);
    let g: Vec<Array3<f32>> = crate::nulls::normalized_gradient(block, [sg; 3])
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
    let g_m = gaussian(&m, [st; 3], [0; 3]);
    let pairs = [(0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2)];
    let t: Vec<Array3<f32>> = pairs
        .iter()
        .map(|&(a, c)| crate::nulls::normalized_with(&(&g[a] * &g[c]), &m, &g_m, st))
        .collect();
    let mut out = Gst::zeros(block.raw_dim());
    decompose(&t, &mut out);
    for field in [
        &mut out.l1,
        &mut out.l2,
        &mut out.l3,
        &mut out.p_inline,
        &mut out.p_crossline,
    ] {
        field.zip_mut_with(&m, |v, &live| {
            if live == 0.0 {
                *v = f32::NAN
            }
        });
    }
    out
}

/// Eigenvalues and dips of the six tensor components, sample by sample.
fn decompose(t: &[Array3<f32>], out: &mut Gst) {
    let t: Vec<&[f32]> = t
        .iter()
        .map(|a| a.as_slice().expect("standard layout"))
        .collect();
    let l1 = out.l1.as_slice_mut().expect("standard layout");
    let l2 = out.l2.as_slice_mut().expect("standard layout");
    let l3 = out.l3.as_slice_mut().expect("standard layout");
    let pi = out.p_inline.as_slice_mut().expect("standard layout");
    let px = out.p_crossline.as_slice_mut().expect("standard layout");
    for q in 0..l1.len() {
        let (xx, yy, zz) = (t[0][q] as f64, t[1][q] as f64, t[2][q] as f64);
        let (xy, xz, yz) = (t[3][q] as f64, t[4][q] as f64, t[5][q] as f64);
        // a dead window, or NaN where the tensor is unknown
        let energy = xx + yy + zz;
        if energy.is_nan() || energy <= 0.0 {
            continue;
        }
        let (lam, n) = eigen3([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]]);
        l1[q] = lam[0].max(0.0) as f32;
        l2[q] = lam[1].max(0.0) as f32;
        l3[q] = lam[2].max(0.0) as f32;
        let (ni, nx, nt) = (n[0] as f32, n[1] as f32, n[2] as f32);
        // a near-vertical normal (a vertical event) has an unbounded dip
        let nt = if nt.abs() < 1e-6 {
            1e-6f32.copysign(nt)
        } else {
            nt
        };
        pi[q] = (-ni / nt).clamp(-MAX_DIP, MAX_DIP);
        px[q] = (-nx / nt).clamp(-MAX_DIP, MAX_DIP);
    }
}

/// Eigenvalues (descending) of a symmetric 3 × 3 matrix in closed form
/// (Smith 1961, the trigonometric solution of the characteristic cubic), and
/// the unit eigenvector of the largest as the longest cross product of two
/// rows of A − λ1·I. Some 20× faster than an iterative solver, which made
/// the decomposition most of the family's cost.
pub fn eigen3(a: [[f64; 3]; 3]) -> ([f64; 3], [f64; 3]) {
    let p1 = a[0][1] * a[0][1] + a[0][2] * a[0][2] + a[1][2] * a[1][2];
    let q = (a[0][0] + a[1][1] + a[2][2]) / 3.0;
    let d = [a[0][0] - q, a[1][1] - q, a[2][2] - q];
    let p2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2] + 2.0 * p1;
    let p = (p2 / 6.0).sqrt();
    let lam = if p == 0.0 {
        [q; 3]
    } else {
        let b = |i: usize, j: usize| (a[i][j] - if i == j { q } else { 0.0 }) / p;
        let det = b(0, 0) * (b(1, 1) * b(2, 2) - b(1, 2) * b(2, 1))
            - b(0, 1) * (b(1, 0) * b(2, 2) - b(1, 2) * b(2, 0))
            + b(0, 2) * (b(1, 0) * b(2, 1) - b(1, 1) * b(2, 0));
        let phi = (det / 2.0).clamp(-1.0, 1.0).acos() / 3.0;
        let e1 = q + 2.0 * p * phi.cos();
        let e3 = q + 2.0 * p * (phi + 2.0 * std::f64::consts::PI / 3.0).cos();
        [e1, 3.0 * q - e1 - e3, e3]
    };
    let r = [0, 1, 2].map(|i| {
        let mut row = a[i];
        row[i] -= lam[0];
        row
    });
    let cross = |u: [f64; 3], v: [f64; 3]| {
        [
            u[1] * v[2] - u[2] * v[1],
            u[2] * v[0] - u[0] * v[2],
            u[0] * v[1] - u[1] * v[0],
        ]
    };
    let norm2 = |u: [f64; 3]| u[0] * u[0] + u[1] * u[1] + u[2] * u[2];
    let best = [cross(r[0], r[1]), cross(r[0], r[2]), cross(r[1], r[2])]
        .into_iter()
        .max_by(|u, v| norm2(*u).total_cmp(&norm2(*v)))
        .expect("three candidates");
    let n = norm2(best).sqrt();
    let v = if n > 0.0 {
        best.map(|c| c / n)
    } else {
        // λ1 is repeated: every vector of its plane is an eigenvector; the
        // diagonal's largest axis is one when the matrix is diagonal
        let k = (0..3)
            .max_by(|&i, &j| a[i][i].total_cmp(&a[j][j]))
            .expect("three");
        let mut e = [0.0; 3];
        e[k] = 1.0;
        e
    };
    (lam, v)
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

/// The block's tensor for these sigmas, once per block.
pub(crate) fn shared_gst<'a>(b: ArrayView3<f32>, sh: &'a mut Shared, sg: f64, st: f64) -> &'a Gst {
    let masked = crate::nulls::has_nulls(b, sh);
    sh.get_or_insert(&format!("gst:{sg}:{st}"), || {
        if masked {
            structure_tensor_masked(b, sg, st)
        } else {
            structure_tensor(b, sg, st)
        }
    })
}

/// The halo of the tensor's two Gaussians, plus `extra` samples.
pub(crate) fn gst_halo(sg: f64, st: f64, extra: usize) -> [Halo; 3] {
    [Halo::Depth(gaussian_radius(sg) + gaussian_radius(st) + extra); 3]
}
