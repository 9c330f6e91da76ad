//! Dips and azimuths in the units interpreters use: from samples per trace
//! and the grid's index axes to ms/m or µs/m (time) and degrees from grid
//! north, through the survey's geometry and sample interval.

use crate::{AttrError, Geometry, ParamKind, ParamSpec, Params, Setup};

/// `units` of a dip along one lateral axis.
pub const DIP_UNITS: ParamSpec = ParamSpec {
    name: "units",
    kind: ParamKind::Choice(&["auto", "samples", "ms/m", "us/m", "m/m", "degrees"]),
    default: "\"auto\"",
    unit: "",
    help: "samples per trace; in time ms/m or µs/m, in depth m/m or degrees (needs the survey geometry and the sample interval or depth step); auto: µs/m in time and m/m in depth where they are known, else samples",
};

/// `units` of a curvature.
pub const CURVATURE_UNITS: ParamSpec = ParamSpec {
    name: "units",
    kind: ParamKind::Choice(&["auto", "index", "1/km"]),
    default: "\"auto\"",
    unit: "",
    help: "per trace with depth in samples, or per km (needs the survey geometry, and in time a velocity); auto: per km where they are known",
};

/// `velocity` of a curvature in time.
pub const VELOCITY: ParamSpec = ParamSpec {
    name: "velocity",
    kind: ParamKind::Float {
        min: 1.0,
        max: 20000.0,
    },
    default: "null",
    unit: "m/s",
    help: "for curvature in 1/km of time data: the velocity that turns two-way time into depth (z = v·t/2)",
};

/// A dip in the units asked for: `value = f(samples per trace)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DipUnits {
    /// Multiplies samples per trace.
    pub factor: f32,
    /// The angle atan(factor · dip), in degrees, instead.
    pub degrees: bool,
    pub name: &'static str,
}

impl DipUnits {
    pub fn apply(&self, v: f32) -> f32 {
        if self.degrees {
            (v * self.factor).atan().to_degrees()
        } else {
            v * self.factor
        }
    }
}

/// `azimuth` of a dip azimuth.
pub const AZIMUTH_FROM: ParamSpec = ParamSpec {
    name: "azimuth",
    kind: ParamKind::Choice(&["auto", "inline_axis", "grid_north", "true_north"]),
    default: "\"auto\"",
    unit: "",
    help: "measured from the inline axis (index space), or clockwise from grid north or true north (needs the survey geometry; true north also `convergence`); auto: grid north where the geometry is known",
};

/// `convergence` of a dip azimuth from true north.
pub const CONVERGENCE: ParamSpec = ParamSpec {
    name: "convergence",
    kind: ParamKind::Float {
        min: -90.0,
        max: 90.0,
    },
    default: "null",
    unit: "degrees",
    help: "grid convergence of the map projection at the survey: the angle from true north to grid north, clockwise; azimuth from true north = azimuth from grid north + convergence",
};

/// How a dip along lateral axis `axis` in samples per trace becomes the
/// units asked for (`auto` decided): time units through the sample
/// interval, depth units through the depth step, both through the
/// distance between traces.
pub fn dip_scale(p: &Params, setup: &Setup, axis: usize) -> Result<DipUnits, AttrError> {
    let spacing = setup.geometry.map(|g| g.spacing(axis));
    let time = spacing.zip(setup.sample_interval_ms).map(|(s, dt)| dt / s);
    let depth = spacing.zip(setup.depth_step_m).map(|(s, dz)| dz / s);
    let units = match p.text("units").unwrap_or("auto") {
        "auto" if depth.is_some() => "m/m",
        "auto" if time.is_some() => "us/m",
        "auto" => "samples",
        u => u,
    };
    let need = |known: Option<f64>, what: &str| {
        known.map(|f| f as f32).ok_or_else(|| AttrError::BadParam {
            param: "units".into(),
            message: format!(
                "{units} needs the survey geometry (the input's cdp_x/cdp_y, or `geometry:` in the job) and {what}; give them, or units: samples"
            ),
        })
    };
    let (factor, degrees, name) = match units {
        "samples" => (1.0, false, "samples"),
        "ms/m" => (need(time, "the sample interval in ms")?, false, "ms/m"),
        "us/m" => (
            need(time, "the sample interval in ms")? * 1000.0,
            false,
            "us/m",
        ),
        "m/m" => (need(depth, "a depth axis (metres)")?, false, "m/m"),
        _ => (need(depth, "a depth axis (metres)")?, true, "degrees"),
    };
    Ok(DipUnits {
        factor,
        degrees,
        name,
    })
}

/// The scale of Roberts' coefficients (a, b, c, d, e) from index units to
/// metres, and the factor from 1/m to the unit given, for curvature
/// `gaussian` or not: `None` in index units. z = samples × dz (dz the
/// depth step, or v·dt/2 in time), x and y the distances between traces.
pub fn curvature_scale(
    p: &Params,
    setup: &Setup,
) -> Result<Option<([f32; 5], &'static str)>, AttrError> {
    let dz = setup.depth_step_m.or_else(|| {
        let v = p.to_json()["velocity"].as_f64()?;
        Some(v * setup.sample_interval_ms? / 2000.0)
    });
    let known = setup.geometry.zip(dz);
    let units = match p.text("units").unwrap_or("auto") {
        "auto" if known.is_some() => "1/km",
        "auto" | "index" => "index",
        u => u,
    };
    if units == "index" {
        return Ok(None);
    }
    let (g, dz) = known.ok_or_else(|| AttrError::BadParam {
        param: "units".into(),
        message: "1/km needs the survey geometry (the input's cdp_x/cdp_y, or `geometry:` in the job) and a depth axis, or in time the sample interval and a `velocity`; give them, or units: index".into(),
    })?;
    let (s0, s1) = (g.spacing(0), g.spacing(1));
    let k = |v: f64| v as f32;
    Ok(Some((
        [
            k(dz / (s0 * s0)),
            k(dz / (s1 * s1)),
            k(dz / (s0 * s1)),
            k(dz / s0),
            k(dz / s1),
        ],
        "1/km",
    )))
}

/// Whether azimuths are from grid north (with the geometry) or from the
/// inline axis, `auto` decided.
pub fn azimuth_geometry(p: &Params, setup: &Setup) -> Result<Option<Geometry>, AttrError> {
    let from = p.text("azimuth").unwrap_or("auto");
    if from == "true_north" && p.to_json()["convergence"].as_f64().is_none() {
        return Err(AttrError::BadParam {
            param: "azimuth".into(),
            message: "true_north needs `convergence` (degrees from true north to grid north, clockwise, from the survey's projection); give it, or azimuth: grid_north".into(),
        });
    }
    match (from, setup.geometry) {
        ("inline_axis", _) | ("auto", None) => Ok(None),
        (_, Some(g)) => Ok(Some(g)),
        (from, None) => Err(AttrError::BadParam {
            param: "azimuth".into(),
            message: format!("{from} needs the survey geometry (the input's cdp_x/cdp_y, or `geometry:` in the job); give it, or azimuth: inline_axis"),
        }),
    }
}

/// Azimuth of steepest descent of a surface dipping `p0`, `p1` samples per
/// trace along the lateral axes: from the inline axis (towards increasing
/// inline 0°, increasing crossline 90°), or from grid north through `g`.
/// 0 where flat.
pub fn descent_azimuth(p0: f32, p1: f32, g: Option<&Geometry>) -> f32 {
    if p0 == 0.0 && p1 == 0.0 {
        return 0.0;
    }
    match g.and_then(|g| g.map_gradient(p0 as f64, p1 as f64)) {
        Some([gx, gy]) => gx.atan2(gy).to_degrees().rem_euclid(360.0) as f32,
        None => p1.atan2(p0).to_degrees().rem_euclid(360.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A grid whose inlines increase towards azimuth 30° every 25 m and
    /// crosslines towards 120° every 12.5 m.
    fn rotated() -> Geometry {
        let step = |d: f64, az: f64| [d * az.to_radians().sin(), d * az.to_radians().cos()];
        Geometry {
            steps: [step(25.0, 30.0), step(12.5, 120.0)],
        }
    }

    #[test]
    fn a_plane_dipping_towards_a_known_azimuth() {
        let g = rotated();
        // a plane dipping 0.2 ms/m towards azimuth 75°: its time changes per
        // inline step by the gradient's component along the inlines' step
        let (az, dip) = (75f64.to_radians(), 0.2);
        let grad = [dip * az.sin(), dip * az.cos()];
        let per = |a: usize| grad[0] * g.steps[a][0] + grad[1] * g.steps[a][1];
        let dt = 4.0;
        let (p0, p1) = ((per(0) / dt) as f32, (per(1) / dt) as f32);
        let got = descent_azimuth(p0, p1, Some(&g));
        assert!((got - 75.0).abs() < 1e-3, "{got}");
        let setup = Setup {
            sample_interval_ms: Some(dt),
            geometry: Some(g),
            ..Default::default()
        };
        let p = Params::validate(&[DIP_UNITS], &Default::default()).unwrap();
        let u = dip_scale(&p, &setup, 0).unwrap();
        assert_eq!(u.name, "us/m");
        // the apparent dip along the inlines, in µs/m
        let want = per(0) / 25.0 * 1000.0;
        let got = u.apply(p0) as f64;
        assert!((got - want).abs() < 1e-3 * want.abs(), "{got} {want}");
        // without geometry: samples, and physical units refused
        let bare = Setup {
            sample_interval_ms: Some(dt),
            ..Default::default()
        };
        assert_eq!(dip_scale(&p, &bare, 0).unwrap().name, "samples");
        assert_eq!(dip_scale(&p, &bare, 0).unwrap().apply(0.7), 0.7);
        let ms = p.with("units", serde_json::json!("ms/m"));
        assert!(dip_scale(&ms, &bare, 0).is_err());
    }
}
