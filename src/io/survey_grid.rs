//! A survey's grid on the map: its line numbers and, where the dataset
//! has `cdp_x`/`cdp_y`, the affine transform from (inline index, crossline
//! index) to map x/y, fitted by least squares over the live traces. From
//! it, the bin sizes and the grid's rotation.

use crate::store::{read_whole, Input};
use anyhow::{bail, Result};
use nalgebra::{Matrix3, Vector3};

pub struct SurveyGrid {
    /// Line numbers along each lateral axis.
    pub inlines: Vec<f64>,
    pub crosslines: Vec<f64>,
    /// The sample axis: its values and unit (`ms`, `s`, `m`, or empty).
    pub samples: Vec<f64>,
    pub sample_unit: String,
    pub sample_name: String,
    /// x = ax·(1, i, j), y = ay·(1, i, j) for trace (i, j); `None` without
    /// map coordinates.
    pub affine: Option<([f64; 3], [f64; 3])>,
}

impl SurveyGrid {
    /// The grid of the 3-D volume `input`.
    pub fn of(input: &Input) -> Result<SurveyGrid> {
        if input.ndim != 3 {
            bail!(
                "'{}' is not a 3-D volume (inline, crossline, sample)",
                input.path.display()
            );
        }
        let coord = |a: usize| -> (Vec<f64>, String) {
            match input.coords.iter().find(|c| c.name == input.dims[a]) {
                Some(c) => (
                    c.values.clone(),
                    c.attributes
                        .get("units")
                        .and_then(|u| u.as_str())
                        .unwrap_or("")
                        .to_string(),
                ),
                None => (
                    (0..input.shape[a]).map(|v| v as f64).collect(),
                    String::new(),
                ),
            }
        };
        let (inlines, crosslines) = (coord(0).0, coord(1).0);
        let (mut samples, mut sample_unit) = coord(2);
        if !input.coords.iter().any(|c| c.name == input.dims[2]) {
            if let Some(dt) = input.sample_interval_ms() {
                samples = (0..input.shape[2]).map(|k| k as f64 * dt).collect();
                sample_unit = "ms".into();
            }
        }
        let affine = match input.variable {
            Some(_) => fit_affine(input)?,
            None => None,
        };
        Ok(SurveyGrid {
            inlines,
            crosslines,
            samples,
            sample_unit,
            sample_name: input.dims[2].clone(),
            affine,
        })
    }

    /// Map x/y of trace (i, j) (fractional indices allowed).
    pub fn xy(&self, i: f64, j: f64) -> Option<(f64, f64)> {
        let (ax, ay) = self.affine?;
        Some((ax[0] + ax[1] * i + ax[2] * j, ay[0] + ay[1] * i + ay[2] * j))
    }

    /// The fractional trace indices at map x/y.
    pub fn indices_at(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        let (ax, ay) = self.affine?;
        let det = ax[1] * ay[2] - ax[2] * ay[1];
        let (dx, dy) = (x - ax[0], y - ay[0]);
        Some((
            (dx * ay[2] - ax[2] * dy) / det,
            (ax[1] * dy - dx * ay[1]) / det,
        ))
    }

    /// The fractional index of line number `v` on an axis of `lines`
    /// (regularly numbered).
    pub fn line_index(lines: &[f64], v: f64) -> f64 {
        match lines {
            [] => f64::NAN,
            [only] => v - only,
            [first, second, ..] => (v - first) / (second - first),
        }
    }

    /// Inline and crossline bin sizes (map units) and the azimuth of the
    /// inline axis (the direction of increasing crossline number along an
    /// inline), degrees clockwise from grid north.
    pub fn bins_and_azimuth(&self) -> Option<(f64, f64, f64)> {
        let (ax, ay) = self.affine?;
        let inline_bin = ax[2].hypot(ay[2]);
        let crossline_bin = ax[1].hypot(ay[1]);
        let azimuth = ax[2].atan2(ay[2]).to_degrees().rem_euclid(360.0);
        Some((inline_bin, crossline_bin, azimuth))
    }
}

/// Least squares over the live traces of the dataset's `cdp_x`/`cdp_y`.
pub fn fit_affine(input: &Input) -> Result<Option<([f64; 3], [f64; 3])>> {
    let (Some((sx, xs)), Some((_, ys))) = (
        read_whole(&input.location, "cdp_x")?,
        read_whole(&input.location, "cdp_y")?,
    ) else {
        return Ok(None);
    };
    if sx.len() != 2 || xs.len() != ys.len() {
        return Ok(None);
    }
    Ok(affine_of(&xs, &ys, sx[1] as usize))
}

/// x = a·(1, i, j), y = b·(1, i, j) fitted by least squares to the
/// positions `xs`, `ys` of a grid `nx` traces wide (inline-major), over
/// the live traces; `None` without three of them off one line.
pub fn affine_of(xs: &[f64], ys: &[f64], nx: usize) -> Option<([f64; 3], [f64; 3])> {
    let (mut m, mut bx, mut by) = (Matrix3::<f64>::zeros(), Vector3::zeros(), Vector3::zeros());
    let mut n = 0;
    for (t, (&x, &y)) in xs.iter().zip(ys).enumerate() {
        // (0, 0) is a dead trace's header, not a position
        if !x.is_finite() || !y.is_finite() || (x == 0.0 && y == 0.0) {
            continue;
        }
        let r = Vector3::new(1.0, (t / nx) as f64, (t % nx) as f64);
        m += r * r.transpose();
        bx += r * x;
        by += r * y;
        n += 1;
    }
    if n < 3 {
        return None;
    }
    // every live trace on one line: no plane
    let inv = m.try_inverse()?;
    let (cx, cy) = (inv * bx, inv * by);
    Some(([cx[0], cx[1], cx[2]], [cy[0], cy[1], cy[2]]))
}
