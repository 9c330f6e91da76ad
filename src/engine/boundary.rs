//! The boundary mode: how a block's halo is filled beyond the volume's faces.
//!
//! Exactly Dask's `map_overlap` boundary semantics, which per axis are those
//! of `np.pad`: `reflect` is numpy's `symmetric` (edge sample repeated),
//! `periodic` is `wrap`, `nearest` is `edge`, a constant fills, and `none`
//! pads nothing (blocks at the faces are smaller). Because the rule is
//! applied per axis independently, corners come out as `np.pad`'s
//! axis-by-axis padding does.

use attributes::window::symmetric_index;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;
use std::fmt;

/// Boundary modes, with exactly Dask's `map_overlap` meaning.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Boundary {
    /// Mirror with the edge sample repeated (numpy's `symmetric`).
    #[default]
    Reflect,
    /// Wrap around.
    Periodic,
    /// Repeat the edge sample.
    Nearest,
    /// No padding: blocks at the faces are smaller.
    None,
    /// Fill with a value.
    Constant(f32),
}

impl Boundary {
    /// The volume index feeding position `g` of an axis of length `n`, or
    /// `None` where the boundary fills a constant (or, for `none`, where
    /// the block is clipped and nothing is read).
    #[inline]
    pub fn source(self, g: i64, n: u64) -> Option<u64> {
        let ni = n as i64;
        if (0..ni).contains(&g) {
            return Some(g as u64);
        }
        match self {
            Boundary::Reflect => Some(symmetric_index(g as isize, n as usize) as u64),
            Boundary::Periodic => Some(g.rem_euclid(ni) as u64),
            Boundary::Nearest => Some(g.clamp(0, ni - 1) as u64),
            Boundary::Constant(_) | Boundary::None => None,
        }
    }

    /// The extent `start - pad .. end + pad` of a block on an axis of
    /// length `n`: clipped to the volume for `none`, which pads nothing.
    pub fn widen(self, start: i64, end: i64, pad: i64, n: i64) -> (i64, i64) {
        match self {
            Boundary::None => ((start - pad).max(0), (end + pad).min(n)),
            _ => (start - pad, end + pad),
        }
    }

    /// The value a freshly padded block starts from.
    pub fn fill(self) -> f32 {
        match self {
            Boundary::Constant(v) => v,
            _ => 0.0,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Boundary::Reflect => "reflect".into(),
            Boundary::Periodic => "periodic".into(),
            Boundary::Nearest => "nearest".into(),
            Boundary::None => "none".into(),
            Boundary::Constant(v) => format!("constant {v}"),
        }
    }

    pub fn to_json(self) -> Value {
        match self {
            Boundary::Constant(v) => serde_json::json!({ "constant": v }),
            other => Value::String(other.describe()),
        }
    }
}

impl<'de> Deserialize<'de> for Boundary {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        const EXPECTED: &str = "reflect, periodic, nearest, none or {constant: VALUE}";
        impl<'de> Visitor<'de> for V {
            type Value = Boundary;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(EXPECTED)
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Boundary, E> {
                match s {
                    "reflect" => Ok(Boundary::Reflect),
                    "periodic" => Ok(Boundary::Periodic),
                    "nearest" => Ok(Boundary::Nearest),
                    "none" => Ok(Boundary::None),
                    other => Err(E::custom(format!(
                        "unknown boundary '{other}': expected {EXPECTED}"
                    ))),
                }
            }
            fn visit_map<M: MapAccess<'de>>(self, mut m: M) -> Result<Boundary, M::Error> {
                let key: String = m.next_key()?.ok_or_else(|| de::Error::custom(EXPECTED))?;
                if key != "constant" {
                    return Err(de::Error::custom(format!(
                        "unknown boundary '{key}': expected {EXPECTED}"
                    )));
                }
                let v: f64 = m.next_value()?;
                if m.next_key::<String>()?.is_some() {
                    return Err(de::Error::custom("boundary: give only `constant: VALUE`"));
                }
                Ok(Boundary::Constant(v as f32))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(b: Boundary) -> Vec<Option<u64>> {
        (-5..9).map(|g| b.source(g, 4)).collect()
    }

    #[test]
    fn modes_match_np_pad() {
        // np.pad(np.arange(4), 5, mode=...)
        let s = |v: &[u64]| v.iter().map(|&x| Some(x)).collect::<Vec<_>>();
        assert_eq!(
            row(Boundary::Reflect),
            s(&[3, 3, 2, 1, 0, 0, 1, 2, 3, 3, 2, 1, 0, 0])
        );
        assert_eq!(
            row(Boundary::Periodic),
            s(&[3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0])
        );
        assert_eq!(
            row(Boundary::Nearest),
            s(&[0, 0, 0, 0, 0, 0, 1, 2, 3, 3, 3, 3, 3, 3])
        );
        assert_eq!(row(Boundary::Constant(1.0))[4], None);
    }
}
