//! What attributes know of the input beyond its samples: the sample
//! interval, and the survey's geometry on the map for dips in physical
//! units and azimuths from north. The geometry is given in the job
//! (`geometry:`) or fitted from the input's `cdp_x`/`cdp_y`.

use crate::store::Input;
use anyhow::{bail, Result};
use attributes::{Geometry, Setup};
use serde::Deserialize;

/// `geometry:` of a job.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeometrySpec {
    /// Distance between neighbouring inlines, metres.
    pub inline_spacing: f64,
    /// Distance between neighbouring crosslines, metres.
    pub crossline_spacing: f64,
    /// The direction of increasing inline number, degrees clockwise from
    /// grid north.
    pub inline_azimuth: f64,
    /// The direction of increasing crossline number (default: 90° clockwise
    /// from the inlines', a right-handed grid).
    #[serde(default)]
    pub crossline_azimuth: Option<f64>,
}

impl GeometrySpec {
    fn geometry(&self) -> Result<Geometry> {
        for (name, v) in [
            ("inline_spacing", self.inline_spacing),
            ("crossline_spacing", self.crossline_spacing),
        ] {
            if !(v > 0.0 && v.is_finite()) {
                bail!("geometry.{name} must be a positive distance in metres, got {v}");
            }
        }
        let a0 = self.inline_azimuth;
        let a1 = self.crossline_azimuth.unwrap_or(a0 + 90.0);
        if !(a0.is_finite() && a1.is_finite()) || ((a1 - a0).rem_euclid(180.0)).abs() < 1e-6 {
            bail!("geometry: the inline and crossline azimuths must differ (not by 0° or 180°), got {a0} and {a1}");
        }
        let step = |d: f64, az: f64| {
            let r = az.to_radians();
            [d * r.sin(), d * r.cos()]
        };
        Ok(Geometry {
            steps: [
                step(self.inline_spacing, a0),
                step(self.crossline_spacing, a1),
            ],
        })
    }
}

/// Where the geometry came from, for provenance and the run's notes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeometrySource {
    Job,
    Coordinates,
    Unknown,
}

/// The facts attributes may use about `input`: the job's sample interval
/// or the input's, and the job's geometry or the one its cdp_x/cdp_y give.
pub fn setup(
    sample_interval: Option<f64>,
    geometry: Option<&GeometrySpec>,
    input: &Input,
) -> Result<(Setup, GeometrySource)> {
    let (geometry, source) = match geometry {
        Some(g) => (Some(g.geometry()?), GeometrySource::Job),
        None => match of_coordinates(input) {
            Some(g) => (Some(g), GeometrySource::Coordinates),
            None => (None, GeometrySource::Unknown),
        },
    };
    Ok((
        Setup {
            sample_interval_ms: sample_interval.or_else(|| input.sample_interval_ms()),
            geometry,
            depth_step_m: depth_step(input),
        },
        source,
    ))
}

/// The metres between samples where the sample axis is depth: a regular
/// coordinate in metres, or one named `depth` without units.
pub fn depth_step(input: &Input) -> Option<f64> {
    let dim = input.dims.last()?;
    let c = input.coords.iter().find(|c| &c.name == dim)?;
    let unit = c.attributes.get("units").and_then(|u| u.as_str());
    let metres = match unit {
        Some(u) => matches!(u, "m" | "metre" | "meter" | "metres" | "meters"),
        None => dim == "depth",
    };
    let d = c.values.get(1)? - c.values.first()?;
    (metres && d > 0.0).then_some(d)
}

/// The grid fitted to the input's cdp_x/cdp_y, where it has them (and
/// they are not all one point or one line).
pub fn of_coordinates(input: &Input) -> Option<Geometry> {
    if input.ndim != 3 || input.variable.is_none() {
        return None;
    }
    let (ax, ay) = crate::io::survey_grid::fit_affine(input).ok()??;
    let g = Geometry {
        steps: [[ax[1], ay[1]], [ax[2], ay[2]]],
    };
    (g.map_gradient(1.0, 0.0).is_some() && g.spacing(0) > 0.0 && g.spacing(1) > 0.0).then_some(g)
}

/// The geometry in words, for `attr info` and provenance.
pub fn describe(g: &Geometry) -> String {
    format!(
        "inline spacing {:.2} m at {:.2}°, crossline spacing {:.2} m at {:.2}° (azimuths of increasing line numbers, clockwise from grid north)",
        g.spacing(0),
        g.azimuth(0),
        g.spacing(1),
        g.azimuth(1)
    )
}
