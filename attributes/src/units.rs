//! Dips and azimuths in the units interpreters use: from samples per trace
//! and the grid's index axes to ms/m or µs/m (time) and degrees from grid
//! north, through the survey's geometry and sample interval.

use crate::{AttrError, Geometry, ParamKind, ParamSpec, Params, Setup};

/// `units` of a dip along one lateral axis.
pub const DIP_UNITS: ParamSpec = ParamSpec {
    name: "units",
    kind: ParamKind::Choice(&["auto", "samples", "ms/m", "us/m"]),
    default: "\"auto\"",
    unit: "",
    help: "samples per trace, or time dip in ms/m or µs/m (needs the survey geometry and the sample interval); auto: µs/m where both are known, else samples",
};

/// `azimuth` of a dip azimuth.
pub const AZIMUTH_FROM: ParamSpec = ParamSpec {
    name: "azimuth",
    kind: ParamKind::Choice(&["auto", "inline_axis", "grid_north"]),
    default: "\"auto\"",
    unit: "",
    help: "measured from the inline axis (index space), or clockwise from grid north (needs the survey geometry); auto: grid north where the geometry is known",
};

/// The factor from samples per trace along lateral axis `axis` to the
/// units asked for, and the units resolved (`auto` decided).
pub fn dip_scale(p: &Params, setup: &Setup, axis: usize) -> Result<(f32, &'static str), AttrError> {
    let known = match (setup.geometry, setup.sample_interval_ms) {
        (Some(g), Some(dt)) => Some(dt / g.spacing(axis)),
        _ => None,
    };
    let units = match p.text("units").unwrap_or("auto") {
        "auto" if known.is_some() => "us/m",
        "auto" | "samples" => "samples",
        "ms/m" => "ms/m",
        _ => "us/m",
    };
    let need = |u: &str| {
        known.ok_or_else(|| AttrError::BadParam {
            param: "units".into(),
            message: format!(
                "{u} needs the survey geometry (the input's cdp_x/cdp_y, or `geometry:` in the job) and the sample interval; give them, or units: samples"
            ),
        })
    };
    Ok(match units {
        "samples" => (1.0, "samples"),
        "ms/m" => (need("ms/m")? as f32, "ms/m"),
        _ => ((need("us/m")? * 1000.0) as f32, "us/m"),
    })
}

/// Whether azimuths are from grid north (with the geometry) or from the
/// inline axis, `auto` decided.
pub fn azimuth_geometry(p: &Params, setup: &Setup) -> Result<Option<Geometry>, AttrError> {
    match (p.text("azimuth").unwrap_or("auto"), setup.geometry) {
        ("inline_axis", _) | ("auto", None) => Ok(None),
        (_, Some(g)) => Ok(Some(g)),
        (_, None) => Err(AttrError::BadParam {
            param: "azimuth".into(),
            message: "grid_north needs the survey geometry (the input's cdp_x/cdp_y, or `geometry:` in the job); give it, or azimuth: inline_axis".into(),
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
        };
        let p = Params::validate(&[DIP_UNITS], &Default::default()).unwrap();
        let (s, u) = dip_scale(&p, &setup, 0).unwrap();
        assert_eq!(u, "us/m");
        // the apparent dip along the inlines, in µs/m
        let want = per(0) / 25.0 * 1000.0;
        assert!(
            ((p0 * s) as f64 - want).abs() < 1e-3 * want.abs(),
            "{} {want}",
            p0 * s
        );
        // without geometry: samples, and physical units refused
        let bare = Setup {
            sample_interval_ms: Some(dt),
            geometry: None,
        };
        assert_eq!(dip_scale(&p, &bare, 0).unwrap(), (1.0, "samples"));
        let ms = p.with("units", serde_json::json!("ms/m"));
        assert!(dip_scale(&ms, &bare, 0).is_err());
    }
}
