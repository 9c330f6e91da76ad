//! What counts as a null sample or a missing trace in an input, and the
//! decoding of stored values to the kernels' f32 (CF scale and offset).
//!
//! A sample is null where it is NaN, equals the variable's CF `_FillValue`
//! or `missing_value`, equals a non-zero Zarr `fill_value` (a zero fill
//! value is Zarr's default, not a statement that zeros are missing), or
//! equals the job's `null_value`. A trace is missing where the dataset's
//! `trace_mask` is 0, or (with `dead_traces: missing`) where it holds only
//! zeros. Nulls reach the engine as NaN.

use base64::Engine as _;
use serde_json::{Map, Value};

/// How stored values become kernel values.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Decoding {
    /// Stored values that mean "no data" (compared before scaling).
    pub fill: Vec<f64>,
    /// CF `scale_factor` and `add_offset`, when present.
    pub scale: Option<(f64, f64)>,
    /// The job's `null_value` (compared after scaling).
    pub null_value: Option<f32>,
}

impl Decoding {
    /// From the array's Zarr `fill_value` (as JSON) and its attributes.
    pub fn from_metadata(fill_value: Option<&Value>, attrs: &Map<String, Value>) -> Decoding {
        let mut fill = Vec::new();
        if let Some(v) = fill_value.and_then(json_number) {
            if v != 0.0 && !v.is_nan() {
                fill.push(v);
            }
        }
        for key in ["_FillValue", "missing_value"] {
            let values = match attrs.get(key) {
                Some(Value::Array(items)) => items.iter().filter_map(json_number).collect(),
                Some(v) => json_number(v).into_iter().collect(),
                None => Vec::new(),
            };
            fill.extend(values.into_iter().filter(|v: &f64| !v.is_nan()));
        }
        fill.dedup();
        let num = |k: &str| attrs.get(k).and_then(Value::as_f64);
        let scale = match (num("scale_factor"), num("add_offset")) {
            (None, None) => None,
            (s, o) => Some((s.unwrap_or(1.0), o.unwrap_or(0.0))),
        };
        Decoding {
            fill,
            scale,
            null_value: None,
        }
    }

    /// Whether values pass through unchanged (the fast path).
    pub fn is_identity(&self) -> bool {
        self.fill.is_empty() && self.scale.is_none() && self.null_value.is_none()
    }

    /// The kernel value of stored value `raw`.
    #[inline]
    pub fn decode(&self, raw: f64) -> f32 {
        if self.fill.contains(&raw) {
            return f32::NAN;
        }
        let v = match self.scale {
            Some((s, o)) => (raw * s + o) as f32,
            None => raw as f32,
        };
        if self.null_value == Some(v) {
            f32::NAN
        } else {
            v
        }
    }

    /// For provenance and `attr info`.
    pub fn describe(&self) -> Value {
        serde_json::json!({
            "fill_values": self.fill,
            "scale_offset": self.scale,
            "null_value": self.null_value,
        })
    }
}

/// A number as Zarr and CF metadata write one: a JSON number, "NaN",
/// "Infinity", "-Infinity", a V3 hex bit pattern ("0x7fc00000"), or
/// xarray's base64 of the value's little-endian bytes (4 or 8 bytes: a
/// float; 1, 2 bytes: an integer).
pub fn json_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            hex if hex.starts_with("0x") => {
                let bits = u64::from_str_radix(&hex[2..], 16).ok()?;
                match hex.len() - 2 {
                    8 => Some(f32::from_bits(bits as u32) as f64),
                    16 => Some(f64::from_bits(bits)),
                    _ => None,
                }
            }
            other => {
                let b = base64::engine::general_purpose::STANDARD
                    .decode(other)
                    .ok()?;
                match b.len() {
                    8 => Some(f64::from_le_bytes(b.try_into().ok()?)),
                    4 => Some(f32::from_le_bytes(b.try_into().ok()?) as f64),
                    2 => Some(i16::from_le_bytes(b.try_into().ok()?) as f64),
                    1 => Some(b[0] as i8 as f64),
                    _ => None,
                }
            }
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fill_values_from_zarr_and_cf() {
        let attrs = json!({"_FillValue": -999, "scale_factor": 0.5, "add_offset": 10.0});
        let d = Decoding::from_metadata(Some(&json!(0)), attrs.as_object().unwrap());
        assert_eq!(d.fill, vec![-999.0]);
        assert!(d.decode(-999.0).is_nan());
        assert_eq!(d.decode(4.0), 12.0);
        // a zero Zarr fill value says nothing; a non-zero one marks nulls
        let d = Decoding::from_metadata(Some(&json!(-1.0)), &Map::new());
        assert!(d.decode(-1.0).is_nan() && d.decode(0.0) == 0.0);
        assert!(Decoding::from_metadata(Some(&json!("NaN")), &Map::new()).is_identity());
    }

    #[test]
    fn numbers_as_metadata_writes_them() {
        assert!(json_number(&json!("AAAAAAAA+H8=")).unwrap().is_nan());
        assert_eq!(json_number(&json!("0x3f800000")), Some(1.0));
        assert_eq!(json_number(&json!(-32768)), Some(-32768.0));
        assert_eq!(json_number(&json!("-Infinity")), Some(f64::NEG_INFINITY));
        assert_eq!(json_number(&json!(true)), None);
    }
}
