//! The `units` attribute in CF's vocabulary (UDUNITS strings that
//! xarray, cf-units and CF checkers parse), from the words `attr list`
//! shows: "ratio 0-1" becomes `1` with a valid range, "degrees 0-360"
//! `degree`, amplitudes the input's own units where it declares them.

/// CF units for a value described as `text`, with the valid range the
/// description states; `input` is the input variable's `units`, if any.
pub fn cf_units(text: &str, input: Option<&str>) -> (String, Option<[f64; 2]>) {
    let t = text.trim();
    let range = |lo: f64, hi: f64| Some([lo, hi]);
    let amplitude = input.map(str::trim).filter(|u| !u.is_empty());
    let (units, valid) = match t {
        "ratio 0-1" => ("1".to_string(), range(0.0, 1.0)),
        "ratio 0-2" => ("1".to_string(), range(0.0, 2.0)),
        "ratio -1..1" | "-1..1" => ("1".to_string(), range(-1.0, 1.0)),
        "degrees 0-360" => ("degree".to_string(), range(0.0, 360.0)),
        "degrees" => ("degree".to_string(), None),
        "Hz" | "rad" | "1/s" | "us/m" | "ms/m" | "m/m" | "1/km" | "1/km2" | "ms" | "m" | "s" => {
            (t.to_string(), None)
        }
        // an amplitude (or its square): the input's units where known
        t if t.starts_with("amplitude²") || t.starts_with("input amplitude (variance") => (
            amplitude.map_or("1".to_string(), |u| format!("({u})2")),
            None,
        ),
        "amplitude/√Hz" => (
            amplitude.map_or("Hz-0.5".to_string(), |u| format!("({u}) Hz-0.5")),
            None,
        ),
        t if t.contains("amplitude") => (amplitude.unwrap_or("1").to_string(), None),
        // ratios, counts, samples, traces, classes, index units: numbers
        _ => ("1".to_string(), None),
    };
    (units, valid)
}

#[cfg(test)]
mod tests {
    use super::cf_units;

    #[test]
    fn words_become_udunits() {
        assert_eq!(cf_units("ratio 0-1", None), ("1".into(), Some([0.0, 1.0])));
        assert_eq!(cf_units("degrees 0-360", None).0, "degree");
        assert_eq!(cf_units("input amplitude", Some("Pa")).0, "Pa");
        assert_eq!(cf_units("input amplitude", None).0, "1");
        assert_eq!(cf_units("amplitude²", Some("Pa")).0, "(Pa)2");
        assert_eq!(cf_units("samples/trace", None).0, "1");
        assert_eq!(cf_units("us/m", None).0, "us/m");
    }
}
