//! The gradient structure tensor family: Gaussian-derivative gradients
//! (σ_gradient), their outer product smoothed by a Gaussian (σ_tensor),
//! and per sample its eigenvalues λ1 ≥ λ2 ≥ λ3 and principal eigenvector
//! (the normal to the reflectors). One tensor per block serves every
//! attribute of the family with the same sigmas; volumetric curvature is
//! built from its dips.
//!
//! Units are index units: a dip is samples per trace, a curvature is per
//! trace with time in samples (multiply by the sample interval and trace
//! spacing for physical units).

use crate::convolve::{correlate_axis, crop, dilate, Region};
use crate::family::STRUCTURE as FAMILY;
use crate::gst::{gst_halo, shared_gst, sigmas, Gst, SIGMA_GRADIENT, SIGMA_TENSOR};
use crate::window::symmetric_index;
use crate::{masked_region_kernel, AttrError, ParamSpec, Params, Setup, Shared, Spec};

use ndarray::{Array3, ArrayView3, Zip};

const GST_PARAMS: &[ParamSpec] = &[SIGMA_GRADIENT, SIGMA_TENSOR];

const REFERENCE: &str = "Bakker (2002), Image structure analysis for seismic interpretation, \
                         PhD thesis, TU Delft; Randen et al. (2000), Three-dimensional texture \
                         attributes for seismic data analysis, SEG Expanded Abstracts";
const CURVATURE_REFERENCE: &str = "al-Dossary & Marfurt (2006), 3D volumetric multispectral \
                                   estimates of reflector curvature and rotation, Geophysics \
                                   71(5); Roberts (2001), Curvature attributes and their \
                                   application to 3D interpreted horizons, First Break 19(2)";

/// A kernel computing `f` from the shared tensor.
fn from_gst<F>(p: &Params, f: F) -> Result<Box<dyn crate::Kernel>, AttrError>
where
    F: Fn(&Gst) -> Array3<f32> + Send + Sync + 'static,
{
    let (sg, st) = sigmas(p)?;
    // gradients, six tensor components, eigenvalues and dips, streamed
    // (measured: about 16 blocks at 64³ chunks)
    crate::with_copies(
        16.0,
        masked_region_kernel(gst_halo(sg, st, 0), p, move |b, core, sh| {
            let at = shared_gst(b, sh, sg, st, core);
            let all = f(at.g);
            let part = at.fields(core);
            if all.shape() == part.clone().map(|r| r.len()) {
                all
            } else {
                crop(all.view(), &part).to_owned()
            }
        }),
    )
}

fn ratio(n: f32, d: f32) -> f32 {
    if d > 0.0 {
        n / d
    } else {
        0.0
    }
}

macro_rules! gst_attribute {
    ($const:ident, $name:literal, $unit:literal, $desc:literal, $f:expr) => {
        pub const $const: Spec = Spec {
            name: $name,
            family: FAMILY,
            description: $desc,
            reference: REFERENCE,
            unit: $unit,
            params: GST_PARAMS,
            build: |p, _: &Setup| from_gst(p, $f),
        };
    };
}

gst_attribute!(
    GST_PLANARITY,
    "gst_planarity",
    "ratio 0-1",
    "Planarity (λ1 − λ2)/(λ1 + λ2) of the gradient structure tensor: 1 on clean planar \
     reflectors, low across faults, noise and chaotic facies. 0 where the tensor is 0.",
    |g| Zip::from(&g.l1)
        .and(&g.l2)
        .map_collect(|&a, &b| ratio(a - b, a + b))
);
gst_attribute!(
    GST_LINEARITY,
    "gst_linearity",
    "ratio 0-1",
    "Linearity (λ2 − λ3)/(λ2 + λ3) of the gradient structure tensor: high where the \
     structure is a line (e.g. a fault-reflector intersection), not a plane.",
    |g| Zip::from(&g.l2)
        .and(&g.l3)
        .map_collect(|&a, &b| ratio(a - b, a + b))
);
gst_attribute!(
    CHAOS,
    "chaos",
    "ratio 0-2",
    "Chaos 2λ2/(λ1 + λ3) of the gradient structure tensor, as d2geo defines it: near 0 for \
     planar reflectors (one dominant eigenvalue), about 1 for isotropic noise.",
    |g| Zip::from(&g.l1)
        .and(&g.l2)
        .and(&g.l3)
        .map_collect(|&a, &b, &c| ratio(2.0 * b, a + c))
);
const DIP_PARAMS: &[ParamSpec] = &[SIGMA_GRADIENT, SIGMA_TENSOR, crate::units::DIP_UNITS];

/// A dip along lateral axis `axis` in the units its parameters ask for.
fn dip(p: &Params, setup: &Setup, axis: usize) -> Result<Box<dyn crate::Kernel>, AttrError> {
    let units = crate::units::dip_scale(p, setup, axis)?;
    let p = p.with("units", serde_json::json!(units.name));
    from_gst(&p, move |g| {
        let d = if axis == 0 {
            g.p_inline()
        } else {
            g.p_crossline()
        };
        if units.name == "samples" {
            d.clone()
        } else {
            d.mapv(|v| units.apply(v))
        }
    })
}

pub const INLINE_DIP: Spec = Spec {
    name: "inline_dip",
    family: FAMILY,
    description: "Reflector dip along the inline axis, −n_i/n_t from the principal eigenvector n \
                  of the structure tensor: how far the reflector moves down per trace of \
                  increasing inline number (limited to ±100 samples per trace). In samples per \
                  trace, or as a time dip in µs/m or ms/m through the sample interval and the \
                  distance between inlines (from cdp_x/cdp_y or the job's `geometry:`).",
    reference: REFERENCE,
    unit: "samples/trace, µs/m or ms/m (units)",
    params: DIP_PARAMS,
    build: |p, setup| dip(p, setup, 0),
};

pub const CROSSLINE_DIP: Spec = Spec {
    name: "crossline_dip",
    family: FAMILY,
    description: "Reflector dip along the crossline axis, −n_x/n_t from the principal \
                  eigenvector n of the structure tensor, per trace of increasing crossline \
                  number: in samples per trace, or in µs/m or ms/m as inline_dip.",
    reference: REFERENCE,
    unit: "samples/trace, µs/m or ms/m (units)",
    params: DIP_PARAMS,
    build: |p, setup| dip(p, setup, 1),
};
gst_attribute!(
    DIP_ANGLE,
    "dip_angle",
    "degrees",
    "True dip angle atan(√(p_i² + p_x²)) in degrees, from the inline and crossline dips in \
     index units (one sample per trace is 45°).",
    |g| Zip::from(g.p_inline())
        .and(g.p_crossline())
        .map_collect(|&a, &b| a.hypot(b).atan().to_degrees())
);
pub const DIP_AZIMUTH: Spec = Spec {
    name: "dip_azimuth",
    family: FAMILY,
    description: "Azimuth of steepest descent in degrees over the full 0–360° range, 0 on flat \
                  reflectors: clockwise from grid north through the survey geometry (from \
                  cdp_x/cdp_y or the job's `geometry:`), or from true north with the grid \
                  `convergence`, or, from the inline axis, atan2(p_x, p_i): 0° down-dip towards \
                  increasing inline, 90° towards increasing crossline.",
    reference: REFERENCE,
    unit: "degrees 0-360",
    params: &[
        SIGMA_GRADIENT,
        SIGMA_TENSOR,
        crate::units::AZIMUTH_FROM,
        crate::units::CONVERGENCE,
    ],
    build: |p, setup| {
        let g = crate::units::azimuth_geometry(p, setup)?;
        let true_north = p.text("azimuth") == Some("true_north");
        let from = match (g.is_some(), true_north) {
            (true, true) => "true_north",
            (true, false) => "grid_north",
            _ => "inline_axis",
        };
        // degrees added to an azimuth from grid north
        let turn = if true_north {
            p.to_json()["convergence"].as_f64().unwrap_or(0.0) as f32
        } else {
            0.0
        };
        let p = p.with("azimuth", serde_json::json!(from));
        from_gst(&p, move |gst| {
            Zip::from(gst.p_inline())
                .and(gst.p_crossline())
                .map_collect(|&a, &b| {
                    let az = crate::units::descent_azimuth(a, b, g.as_ref());
                    if turn == 0.0 || (a == 0.0 && b == 0.0) {
                        az
                    } else {
                        (az + turn).rem_euclid(360.0)
                    }
                })
        })
    },
};

/// Roberts' quadratic coefficients from the dip fields: a = ½∂p/∂i,
/// b = ½∂q/∂x, c = ½(∂p/∂x + ∂q/∂i), d = p, e = q (central differences;
/// where the dips are null, from the dips that exist).
fn quadric(g: &Gst) -> [Array3<f32>; 5] {
    let masked = g.p_inline().iter().any(|v| v.is_nan());
    let d = |a: &Array3<f32>, axis| {
        if masked {
            crate::nulls::masked_difference(a, axis)
        } else {
            correlate_axis(a, axis, &[-0.5, 0.0, 0.5])
        }
    };
    let a = d(g.p_inline(), 0).mapv(|v| v * 0.5);
    let b = d(g.p_crossline(), 1).mapv(|v| v * 0.5);
    let c = (d(g.p_inline(), 1) + d(g.p_crossline(), 0)).mapv(|v| v * 0.5);
    [a, b, c, g.p_inline().clone(), g.p_crossline().clone()]
}

/// [`quadric`] at `at` (a region of the tensor's fields) only: each
/// coefficient from the dips one trace around it, in one pass and no
/// field-sized temporaries, the differences reflected at the fields' edges
/// and summed as `correlate_axis` sums them. Where the dips are null, the
/// whole-field version.
fn quadric_at(g: &Gst, at: &Region) -> [Array3<f32>; 5] {
    let (p, q) = (g.p_inline(), g.p_crossline());
    if p.iter().any(|v| v.is_nan()) {
        return quadric(g).map(|a| crop(a.view(), at).to_owned());
    }
    let (n0, n1, n2) = p.dim();
    let (ps, qs) = (
        p.as_slice().expect("standard layout"),
        q.as_slice().expect("standard layout"),
    );
    let len = at[2].len();
    // where trace (i, j) of a field starts at the region's first sample
    let at_trace = |i: usize, j: usize| (i * n1 + j) * n2 + at[2].start;
    // (−½)·(left − right), started from zero as the filter's sum is
    let slope = |l: f32, r: f32| 0.0f32 + (-0.5f32) * (l - r);
    let mut out: [Vec<f32>; 5] =
        std::array::from_fn(|_| Vec::with_capacity(at.iter().map(|r| r.len()).product()));
    for i in at[0].clone() {
        let (im, ip) = (
            symmetric_index(i as isize - 1, n0),
            symmetric_index(i as isize + 1, n0),
        );
        for j in at[1].clone() {
            let (jm, jp) = (
                symmetric_index(j as isize - 1, n1),
                symmetric_index(j as isize + 1, n1),
            );
            let (p_im, p_ip, p_jm, p_jp) = (
                &ps[at_trace(im, j)..][..len],
                &ps[at_trace(ip, j)..][..len],
                &ps[at_trace(i, jm)..][..len],
                &ps[at_trace(i, jp)..][..len],
            );
            let (q_im, q_ip, q_jm, q_jp) = (
                &qs[at_trace(im, j)..][..len],
                &qs[at_trace(ip, j)..][..len],
                &qs[at_trace(i, jm)..][..len],
                &qs[at_trace(i, jp)..][..len],
            );
            let [a, b, c, d, e] = &mut out;
            for k in 0..len {
                a.push(slope(p_im[k], p_ip[k]) * 0.5);
                b.push(slope(q_jm[k], q_jp[k]) * 0.5);
                c.push((slope(p_jm[k], p_jp[k]) + slope(q_im[k], q_ip[k])) * 0.5);
            }
            d.extend_from_slice(&ps[at_trace(i, j)..][..len]);
            e.extend_from_slice(&qs[at_trace(i, j)..][..len]);
        }
    }
    let dim = (at[0].len(), at[1].len(), len);
    out.map(|v| Array3::from_shape_vec(dim, v).expect("sized"))
}

/// All eight curvatures of one sample from its coefficients.
#[cfg(test)]
pub fn curvatures(a: f32, b: f32, c: f32, d: f32, e: f32) -> [f32; 8] {
    std::array::from_fn(|which| curvature(which, a, b, c, d, e))
}

/// Curvature `which` (mean, Gaussian, maximum, minimum, most positive,
/// most negative, shape index, curvedness) of one sample from its
/// coefficients, computing only what that one needs.
#[inline(always)]
pub fn curvature(which: usize, a: f32, b: f32, c: f32, d: f32, e: f32) -> f32 {
    let (a, b, c, d, e) = (a as f64, b as f64, c as f64, d as f64, e as f64);
    let w = 1.0 + d * d + e * e;
    let mean = || (a * (1.0 + e * e) + b * (1.0 + d * d) - c * d * e) / (w * w.sqrt());
    let gauss = || (4.0 * a * b - c * c) / (w * w);
    let principal = || {
        let m = mean();
        let root = (m * m - gauss()).max(0.0).sqrt();
        (m + root, m - root)
    };
    let spread = || ((a - b) * (a - b) + c * c).sqrt();
    let v = match which {
        0 => mean(),
        1 => gauss(),
        2 => principal().0,
        3 => principal().1,
        4 => a + b + spread(),
        5 => a + b - spread(),
        6 => {
            let (kmax, kmin) = principal();
            if kmax == kmin {
                if kmax == 0.0 {
                    0.0
                } else {
                    kmax.signum()
                }
            } else {
                // atan(y/x) for x = kmax − kmin > 0, in single precision
                // (the result is f32): libm's f64 atan was most of this loop
                2.0 / std::f64::consts::PI
                    * crate::dsp::atan2((kmax + kmin) as f32, (kmax - kmin) as f32) as f64
            }
        }
        _ => {
            let (kmax, kmin) = principal();
            ((kmax * kmax + kmin * kmin) / 2.0).sqrt()
        }
    };
    v as f32
}

/// Roberts' coefficients at `core`, from the tensor's dips one trace
/// around it (the lateral derivatives read them): shared by the eight
/// curvatures.
fn shared_quadric<'a>(
    b: ArrayView3<f32>,
    sh: &'a mut Shared,
    sg: f64,
    st: f64,
    core: &Region,
) -> &'a [Array3<f32>; 5] {
    let key = format!("quadric:{sg}:{st}:{core:?}");
    if sh.get::<[Array3<f32>; 5]>(&key).is_none() {
        let around = dilate(core, [1, 1, 0], b.dim());
        let g = shared_gst(b, sh, sg, st, &around);
        let q = quadric_at(g.g, &g.fields(core));
        sh.get_or_insert(&key, || q);
    }
    sh.get::<[Array3<f32>; 5]>(&key).expect("just inserted")
}

/// Curvature `which` at every sample of the coefficients. The choice is
/// made once, outside the loop, so that each curvature's loop is its own
/// straight-line code and vectorises (a `match` per sample did not).
fn curvature_field(which: usize, q: &[Array3<f32>; 5]) -> Array3<f32> {
    fn field<const W: usize>(q: &[Array3<f32>; 5]) -> Array3<f32> {
        let [qa, qb, qc, qd, qe] = q;
        let slices = q.iter().map(|a| a.as_slice()).collect::<Option<Vec<_>>>();
        match slices.as_deref() {
            Some([a, b, c, d, e]) => {
                let n = a.len();
                let (a, b, c, d, e) = (&a[..n], &b[..n], &c[..n], &d[..n], &e[..n]);
                let v: Vec<f32> = (0..n)
                    .map(|k| curvature(W, a[k], b[k], c[k], d[k], e[k]))
                    .collect();
                Array3::from_shape_vec(qa.raw_dim(), v).expect("sized")
            }
            _ => Zip::from(qa)
                .and(qb)
                .and(qc)
                .and(qd)
                .and(qe)
                .map_collect(|&a, &b, &c, &d, &e| curvature(W, a, b, c, d, e)),
        }
    }
    match which {
        0 => field::<0>(q),
        1 => field::<1>(q),
        2 => field::<2>(q),
        3 => field::<3>(q),
        4 => field::<4>(q),
        5 => field::<5>(q),
        6 => field::<6>(q),
        _ => field::<7>(q),
    }
}

fn curvature_kernel(
    p: &Params,
    setup: &Setup,
    which: usize,
) -> Result<Box<dyn crate::Kernel>, AttrError> {
    let (sg, st) = sigmas(p)?;
    let scale = crate::units::curvature_scale(p, setup)?;
    let units = match (scale, which) {
        (None, _) => "index",
        (Some(_), 6) => "1",
        (Some(_), 1) => "1/km2",
        (Some((_, u)), _) => u,
    };
    let p = p.with("units", serde_json::json!(units));
    // 1/m to 1/km (1/m² to 1/km² for the Gaussian); the shape index has none
    let per_km = match which {
        1 => 1e6,
        6 => 1.0,
        _ => 1e3,
    };
    // the tensor's and the quadric's fields (measured: about 16 blocks)
    crate::with_copies(
        16.0,
        masked_region_kernel(gst_halo(sg, st, 1), &p, move |b, core, sh| {
            let q = shared_quadric(b, sh, sg, st, core);
            match scale {
                None => curvature_field(which, q),
                Some((s, _)) => {
                    // the shared coefficients scaled to metres, for this kernel alone
                    let q: [Array3<f32>; 5] = std::array::from_fn(|i| q[i].mapv(|v| v * s[i]));
                    curvature_field(which, &q).mapv(|v| v * per_km)
                }
            }
        }),
    )
}

const CURVATURE_PARAMS: &[ParamSpec] = &[
    SIGMA_GRADIENT,
    SIGMA_TENSOR,
    crate::units::CURVATURE_UNITS,
    crate::units::VELOCITY,
];

macro_rules! curvature {
    ($const:ident, $name:literal, $which:literal, $unit:literal, $desc:literal) => {
        pub const $const: Spec = Spec {
            name: $name,
            family: FAMILY,
            description: $desc,
            reference: CURVATURE_REFERENCE,
            unit: $unit,
            params: CURVATURE_PARAMS,
            build: |p, setup: &Setup| curvature_kernel(p, setup, $which),
        };
    };
}

curvature!(
    CURVATURE_MEAN,
    "curvature_mean",
    0,
    "1/trace",
    "Mean curvature (Roberts 2001) of the reflector through each sample, from the \
     structure-tensor dips p, q and their lateral derivatives (volumetric curvature, \
     al-Dossary & Marfurt 2006): [a(1+e²) + b(1+d²) − cde]/(1+d²+e²)^{3/2}. Positive on \
     anticlines (crests shallower), negative in synclines; index units."
);
curvature!(
    CURVATURE_GAUSSIAN,
    "curvature_gaussian",
    1,
    "1/trace²",
    "Gaussian curvature (4ab − c²)/(1+d²+e²)²: positive on domes and bowls, negative on \
     saddles, 0 on planes and cylinders."
);
curvature!(
    CURVATURE_MAXIMUM,
    "curvature_maximum",
    2,
    "1/trace",
    "Maximum curvature k_mean + √(k_mean² − k_gauss)."
);
curvature!(
    CURVATURE_MINIMUM,
    "curvature_minimum",
    3,
    "1/trace",
    "Minimum curvature k_mean − √(k_mean² − k_gauss)."
);
curvature!(
    CURVATURE_MOST_POSITIVE,
    "curvature_most_positive",
    4,
    "1/trace",
    "Most positive curvature (a + b) + √((a − b)² + c²): lineaments on the up-thrown side."
);
curvature!(
    CURVATURE_MOST_NEGATIVE,
    "curvature_most_negative",
    5,
    "1/trace",
    "Most negative curvature (a + b) − √((a − b)² + c²): lineaments on the down-thrown side."
);
curvature!(
    SHAPE_INDEX,
    "shape_index",
    6,
    "-1..1",
    "Shape index (2/π)·atan((k_max + k_min)/(k_max − k_min)): +1 dome, +0.5 ridge, 0 saddle, \
     −0.5 valley, −1 bowl (the sign of k_mean); 0 on planes."
);
curvature!(
    CURVEDNESS,
    "curvedness",
    7,
    "1/trace",
    "Curvedness √((k_max² + k_min²)/2): how strongly the reflector bends, whatever the shape."
);

/// This family's attributes, in the order `attr list` shows them.
pub(crate) const ATTRIBUTES: &[&dyn crate::Attribute] = &[
    &GST_PLANARITY,
    &GST_LINEARITY,
    &CHAOS,
    &INLINE_DIP,
    &CROSSLINE_DIP,
    &DIP_ANGLE,
    &DIP_AZIMUTH,
    &CURVATURE_MEAN,
    &CURVATURE_GAUSSIAN,
    &CURVATURE_MAXIMUM,
    &CURVATURE_MINIMUM,
    &CURVATURE_MOST_POSITIVE,
    &CURVATURE_MOST_NEGATIVE,
    &SHAPE_INDEX,
    &CURVEDNESS,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gst::{eigen3, structure_tensor};

    /// A reflector (a Gaussian pulse in time) on the surface t(i, x).
    pub fn reflector(n: usize, ns: usize, t: impl Fn(f64, f64) -> f64) -> Array3<f32> {
        Array3::from_shape_fn((n, n, ns), |(i, j, k)| {
            let d = k as f64 - t(i as f64, j as f64);
            ((-0.5 * (d / 2.0).powi(2)).exp() * (0.7 * d).cos()) as f32
        })
    }

    #[test]
    fn planar_dipping_reflector_gives_its_dip_and_azimuth() {
        // t = 20 + 0.5·i − 0.3·x
        let v = reflector(21, 48, |i, x| 20.0 + 0.5 * i - 0.3 * x);
        let g = structure_tensor(v.view(), 1.0, 2.0);
        let (pi, px) = (g.p_inline()[[10, 10, 20]], g.p_crossline()[[10, 10, 20]]);
        assert!(
            (pi - 0.5).abs() < 0.02 && (px + 0.3).abs() < 0.02,
            "{pi} {px}"
        );
        let plan =
            (g.l1[[10, 10, 20]] - g.l2[[10, 10, 20]]) / (g.l1[[10, 10, 20]] + g.l2[[10, 10, 20]]);
        assert!(plan > 0.95, "planarity {plan}");
        // azimuth of steepest descent: atan2(−0.3, 0.5) → 329.04°, not
        // folded into 0–90°
        let az = crate::lookup("dip_azimuth")
            .unwrap()
            .build(&Default::default(), &Default::default())
            .unwrap()
            .compute(v.view(), &mut crate::Shared::new())[[10, 10, 20]];
        assert!((az - 329.04).abs() < 1.0, "{az}");
    }

    #[test]
    fn coefficients_at_a_region_equal_the_whole_field_cropped() {
        // a region inside, and one against the fields' faces (reflected)
        let v = Array3::from_shape_fn((14, 15, 20), |(i, j, k)| {
            ((k as f32 - 0.3 * i as f32 + 0.02 * (j * j) as f32) * 0.5).sin() * 40.0
        });
        let g = structure_tensor(v.view(), 1.0, 1.5);
        let whole = quadric(&g);
        for at in [[3..9, 4..12, 5..15], [0..14, 0..6, 0..20]] {
            let part = quadric_at(&g, &at);
            for (p, w) in part.iter().zip(&whole) {
                let w = crop(w.view(), &at);
                let scale = w.iter().fold(0f32, |m, x| m.max(x.abs()));
                for (x, y) in p.iter().zip(w.iter()) {
                    assert!((x - y).abs() <= 1e-6 * scale, "{x} vs {y}");
                }
            }
        }
    }

    #[test]
    fn paraboloid_has_the_curvature_built_in() {
        // t = 24 + α(i − 12)² + α(x − 12)²: at the apex k_mean = 2α
        let alpha = 0.02;
        let v = reflector(25, 56, |i, x| {
            24.0 + alpha * ((i - 12.0).powi(2) + (x - 12.0).powi(2))
        });
        let g = structure_tensor(v.view(), 1.0, 1.5);
        let [a, b, c, d, e] = quadric(&g);
        let k = curvatures(
            a[[12, 12, 24]],
            b[[12, 12, 24]],
            c[[12, 12, 24]],
            d[[12, 12, 24]],
            e[[12, 12, 24]],
        );
        assert!(
            (k[0] - 2.0 * alpha as f32).abs() < 0.1 * 2.0 * alpha as f32,
            "mean {}",
            k[0]
        );
        assert!(
            k[1] > 0.0 && k[6] > 0.9,
            "dome: gaussian {} shape {}",
            k[1],
            k[6]
        );
    }

    #[test]
    fn closed_form_eigen_matches_nalgebra() {
        let mut seed = 12345u64;
        let mut r = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        for _ in 0..2000 {
            let g = [r(), r(), r()];
            let h = [r(), r(), r()];
            // positive semi-definite, like a structure tensor
            let a: [[f64; 3]; 3] = std::array::from_fn(|i| {
                std::array::from_fn(|j| {
                    3.0 * g[i] * g[j] + h[i] * h[j] + if i == j { 0.01 } else { 0.0 }
                })
            });
            // the family stores the tensor in f32
            let a = a.map(|r| r.map(|v| v as f32 as f64));
            let (lam, v) = eigen3(a);
            let m = nalgebra::Matrix3::from_fn(|i, j| a[i][j]);
            let e = nalgebra::SymmetricEigen::new(m);
            let mut want: Vec<f64> = e.eigenvalues.iter().copied().collect();
            want.sort_by(|x, y| y.total_cmp(x));
            for k in 0..3 {
                // λ2 and λ3 are written in f32
                assert!(
                    (lam[k] - want[k]).abs() < 1e-7 * want[0],
                    "{lam:?} {want:?}"
                );
            }
            // A v = λ1 v, v from the dips (in f32; unless clipped)
            if v[2] < 1.0 / 100.0 {
                continue;
            }
            for i in 0..3 {
                let av: f64 = (0..3).map(|j| a[i][j] * v[j]).sum();
                assert!((av - lam[0] * v[i]).abs() < 1e-5 * lam[0], "{a:?}");
            }
        }
    }

    #[test]
    fn dead_blocks_give_zeros() {
        let g = structure_tensor(Array3::<f32>::zeros((5, 5, 9)).view(), 1.0, 1.0);
        assert!(g.l1.iter().chain(g.p_inline().iter()).all(|v| *v == 0.0));
    }
}

#[cfg(test)]
mod sharing {
    use super::*;
    use crate::Shared;

    #[test]
    fn the_family_reads_one_tensor_per_block() {
        // plant a tensor with known eigenvalues under the key the family
        // uses: every GST attribute must compute from it, not recompute
        let block = Array3::<f32>::from_elem((4, 4, 8), 1.0);
        let planted = Gst::planted(
            [4.0, 2.0, 1.0].map(|v| Array3::from_elem((4, 4, 8), v)),
            [Array3::from_elem((4, 4, 8), 0.25), Array3::zeros((4, 4, 8))],
        );
        let mut shared = Shared::new();
        shared
            .block_entry::<Vec<(Region, Gst)>>("gst:1:2:false")
            .push((crate::convolve::whole(block.dim()), planted));
        let run = |name: &str, shared: &mut Shared| {
            crate::lookup(name)
                .unwrap()
                .build(&Default::default(), &Default::default())
                .unwrap()
                .compute(block.view(), shared)[[1, 1, 1]]
        };
        assert_eq!(run("gst_planarity", &mut shared), (4.0 - 2.0) / 6.0);
        assert_eq!(run("chaos", &mut shared), 4.0 / 5.0);
        assert_eq!(run("inline_dip", &mut shared), 0.25);
        assert!((run("dip_angle", &mut shared) - 0.25f32.atan().to_degrees()).abs() < 1e-5);
    }

    #[test]
    fn a_shallower_halo_reuses_the_wider_tensor_of_a_deeper_one() {
        // as the engine runs a group: the curvature (halo one trace deeper)
        // first on the whole block, then planarity on its own, narrower
        // view of the same block, sharing one memo
        let block = Array3::from_shape_fn((30, 31, 40), |(i, j, k)| {
            ((k as f32 - 0.3 * i as f32 + 0.2 * j as f32) * 0.4).sin() * 50.0
                + ((i * 31 + j * 17 + k * 7) % 13) as f32
        });
        let kernel = |name: &str| {
            crate::lookup(name)
                .unwrap()
                .build(&Default::default(), &Default::default())
                .unwrap()
        };
        let core: Region = [13..17, 13..18, 13..27];
        let mut shared = Shared::new();
        shared.set_view([0; 3], [30, 31, 40]);
        kernel("curvature_mean").compute_region(block.view(), &core, &mut shared);
        let inner = block.slice(ndarray::s![1..29, 1..30, 1..39]);
        let inner_core: Region = [12..16, 12..17, 12..26];
        shared.set_view([1; 3], [28, 29, 38]);
        let planarity = kernel("gst_planarity");
        let (shared_result, at) = planarity.compute_region(inner, &inner_core, &mut shared);
        let made = shared.block_entry::<Vec<(Region, Gst)>>("gst:1:2:false");
        assert_eq!(made.len(), 1, "one tensor for the block");
        // the same numbers as planarity computing its own tensor
        let (own, own_at) = planarity.compute_region(inner, &inner_core, &mut Shared::new());
        let pick = |a: &Array3<f32>, o: [usize; 3]| {
            a.slice(ndarray::s![o[0].., o[1].., o[2]..])
                .slice(ndarray::s![..4, ..5, ..14])
                .to_owned()
        };
        let off = |o: [usize; 3]| [0, 1, 2].map(|x| inner_core[x].start - o[x]);
        assert_eq!(pick(&shared_result, off(at)), pick(&own, off(own_at)));
    }
}
