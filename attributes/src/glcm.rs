//! Grey-level co-occurrence (GLCM) texture (Haralick 1973) on inline
//! sections: around every sample, a window of crosslines × samples is
//! quantised to `levels` grey levels, pairs of neighbours one step apart
//! are counted symmetrically in each direction, and a property of the
//! normalised matrix is averaged over the directions, as
//! `skimage.feature.graycomatrix(..., symmetric=True, normed=True)` and
//! `graycoprops` compute it.

use crate::window::symmetric_index;
use crate::{kernel, AttrError, Halo, ParamKind, ParamSpec, Params, Spec};
use ndarray::Array3;

const FAMILY: &str = "texture";
const REFERENCE: &str = "Haralick, Shanmugam & Dinstein (1973), Textural features for image \
                         classification, IEEE SMC-3(6); Chopra & Alexeev (2006), Applications \
                         of texture attribute analysis to 3D seismic data, The Leading Edge 25(8)";

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "window",
        kind: ParamKind::OddIntList { len: 2 },
        default: "[7, 7]",
        unit: "crosslines, samples",
        help: "window on the inline section around each sample",
    },
    ParamSpec {
        name: "levels",
        kind: ParamKind::Int { min: 2, max: 256 },
        default: "16",
        unit: "",
        help: "grey levels of the quantisation",
    },
    ParamSpec {
        name: "directions",
        kind: ParamKind::Choice(&["all", "0", "45", "90", "135"]),
        default: "\"all\"",
        unit: "degrees",
        help: "neighbour direction on the section (0: next crossline, 90: next sample up), \
               or the mean over all four",
    },
    ParamSpec {
        name: "amplitude_range",
        kind: ParamKind::FloatList {
            len: 2,
            min: f64::NEG_INFINITY,
            max: f64::INFINITY,
        },
        default: "null",
        unit: "input amplitude",
        help: "[low, high] mapped onto the grey levels (values outside clip); default: each \
               window's own minimum and maximum",
    },
];

/// Which co-occurrence property.
#[derive(Clone, Copy, PartialEq)]
pub enum Prop {
    Contrast,
    Dissimilarity,
    Homogeneity,
    Energy,
    Entropy,
    Mean,
    Variance,
    Correlation,
}

/// The property of a symmetric, normalised co-occurrence matrix given by
/// its non-zero cells (i, j, p).
pub fn property(cells: &[(usize, usize, f64)], prop: Prop) -> f64 {
    let mean: f64 = cells.iter().map(|&(i, _, p)| i as f64 * p).sum();
    let var: f64 = cells
        .iter()
        .map(|&(i, _, p)| p * (i as f64 - mean).powi(2))
        .sum();
    match prop {
        Prop::Contrast => cells
            .iter()
            .map(|&(i, j, p)| p * (i as f64 - j as f64).powi(2))
            .sum(),
        Prop::Dissimilarity => cells
            .iter()
            .map(|&(i, j, p)| p * (i as f64 - j as f64).abs())
            .sum(),
        Prop::Homogeneity => cells
            .iter()
            .map(|&(i, j, p)| p / (1.0 + (i as f64 - j as f64).powi(2)))
            .sum(),
        Prop::Energy => cells.iter().map(|&(_, _, p)| p * p).sum::<f64>().sqrt(),
        Prop::Entropy => cells.iter().map(|&(_, _, p)| -p * p.ln()).sum(),
        Prop::Mean => mean,
        Prop::Variance => var,
        Prop::Correlation => {
            // symmetric: the row and column statistics are equal
            if var.sqrt() < 1e-15 {
                1.0
            } else {
                cells
                    .iter()
                    .map(|&(i, j, p)| p * (i as f64 - mean) * (j as f64 - mean))
                    .sum::<f64>()
                    / var
            }
        }
    }
}

/// skimage's offsets for distance 1: (row, column) = (sample, crossline).
const OFFSETS: [(isize, isize); 4] = [(0, 1), (-1, 1), (-1, 0), (-1, -1)];

fn build(p: &Params, prop: Prop) -> Result<Box<dyn crate::Kernel>, AttrError> {
    let w = p.ints("window");
    let (wx, wt) = (w[0], w[1]);
    let levels = p.int("levels");
    let dirs: Vec<(isize, isize)> = match p.word("directions") {
        "all" => OFFSETS.to_vec(),
        d => vec![
            OFFSETS[["0", "45", "90", "135"]
                .iter()
                .position(|x| *x == d)
                .expect("validated")],
        ],
    };
    let range = match p.to_json()["amplitude_range"].as_array() {
        Some(r) => {
            let (lo, hi) = (
                r[0].as_f64().expect("number"),
                r[1].as_f64().expect("number"),
            );
            if hi <= lo {
                return Err(AttrError::BadParam {
                    param: "amplitude_range".into(),
                    message: format!("[{lo}, {hi}]: the high end must exceed the low end"),
                });
            }
            Some((lo as f32, hi as f32))
        }
        None => None,
    };
    kernel(
        [Halo::Depth(0), Halo::Depth(wx / 2), Halo::Depth(wt / 2)],
        p,
        move |b, _| {
            let (n0, n1, n2) = b.dim();
            let (rx, rt) = ((wx / 2) as isize, (wt / 2) as isize);
            let mut out = Array3::<f32>::zeros(b.raw_dim());
            let mut win = vec![0f32; wx * wt];
            let mut q = vec![0usize; wx * wt];
            let mut counts = vec![0u32; levels * levels];
            let mut touched: Vec<usize> = Vec::new();
            let mut cells: Vec<(usize, usize, f64)> = Vec::new();
            for i in 0..n0 {
                for x in 0..n1 {
                    for k in 0..n2 {
                        // the window, row = sample, column = crossline
                        for (r, dt) in (-rt..=rt).enumerate() {
                            let kk = symmetric_index(k as isize + dt, n2);
                            for (c, dx) in (-rx..=rx).enumerate() {
                                let xx = symmetric_index(x as isize + dx, n1);
                                win[r * wx + c] = b[[i, xx, kk]];
                            }
                        }
                        let (lo, hi) = range.unwrap_or_else(|| {
                            win.iter()
                                .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, z), &v| {
                                    (a.min(v), z.max(v))
                                })
                        });
                        let scale = if hi > lo {
                            levels as f32 / (hi - lo)
                        } else {
                            0.0
                        };
                        for (d, &v) in q.iter_mut().zip(&win) {
                            *d = (((v - lo) * scale).max(0.0) as usize).min(levels - 1);
                        }
                        let mut total = 0.0;
                        for &(dr, dc) in &dirs {
                            for t in touched.drain(..) {
                                counts[t] = 0;
                            }
                            let mut pairs = 0u32;
                            for r in 0..wt as isize {
                                for c in 0..wx as isize {
                                    let (r2, c2) = (r + dr, c + dc);
                                    if r2 < 0 || c2 < 0 || r2 >= wt as isize || c2 >= wx as isize {
                                        continue;
                                    }
                                    let a = q[(r * wx as isize + c) as usize];
                                    let z = q[(r2 * wx as isize + c2) as usize];
                                    for cell in [a * levels + z, z * levels + a] {
                                        if counts[cell] == 0 {
                                            touched.push(cell);
                                        }
                                        counts[cell] += 1;
                                    }
                                    pairs += 2;
                                }
                            }
                            cells.clear();
                            for &t in &touched {
                                cells.push((
                                    t / levels,
                                    t % levels,
                                    counts[t] as f64 / pairs as f64,
                                ));
                            }
                            total += property(&cells, prop);
                        }
                        out[[i, x, k]] = (total / dirs.len() as f64) as f32;
                    }
                }
            }
            out
        },
    )
}

macro_rules! glcm {
    ($const:ident, $name:literal, $prop:expr, $unit:literal, $desc:literal) => {
        pub const $const: Spec = Spec {
            name: $name,
            family: FAMILY,
            description: $desc,
            reference: REFERENCE,
            unit: $unit,
            params: PARAMS,
            build: |p, _| build(p, $prop),
        };
    };
}

glcm!(
    GLCM_CONTRAST,
    "glcm_contrast",
    Prop::Contrast,
    "levels²",
    "GLCM contrast Σ P(i,j)(i − j)²: local grey-level variation; high in chaotic facies."
);
glcm!(
    GLCM_DISSIMILARITY,
    "glcm_dissimilarity",
    Prop::Dissimilarity,
    "levels",
    "GLCM dissimilarity Σ P(i,j)|i − j|: like contrast, growing linearly."
);
glcm!(
    GLCM_HOMOGENEITY,
    "glcm_homogeneity",
    Prop::Homogeneity,
    "ratio 0-1",
    "GLCM homogeneity Σ P(i,j)/(1 + (i − j)²): high in smooth, continuous reflections."
);
glcm!(
    GLCM_ENERGY,
    "glcm_energy",
    Prop::Energy,
    "ratio 0-1",
    "GLCM energy √(Σ P(i,j)²) (skimage's 'energy', the root of the angular second moment): \
       high for uniform texture."
);
glcm!(
    GLCM_ENTROPY,
    "glcm_entropy",
    Prop::Entropy,
    "nats",
    "GLCM entropy −Σ P(i,j)·ln P(i,j): disorder of the texture."
);
glcm!(
    GLCM_MEAN,
    "glcm_mean",
    Prop::Mean,
    "levels",
    "GLCM mean Σ i·P(i,j): the average grey level of the pairs."
);
glcm!(
    GLCM_VARIANCE,
    "glcm_variance",
    Prop::Variance,
    "levels²",
    "GLCM variance Σ P(i,j)(i − μ)²: spread of the grey levels of the pairs."
);
glcm!(
    GLCM_CORRELATION,
    "glcm_correlation",
    Prop::Correlation,
    "ratio -1..1",
    "GLCM correlation Σ P(i,j)(i − μ)(j − μ)/σ²: linear dependence of neighbouring grey \
       levels (1 where the window is uniform, as skimage has it)."
);
