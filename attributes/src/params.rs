//! Parameter declarations and their validation.

use crate::AttrError;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};

/// The type and valid range of a parameter.
#[derive(Clone, Copy, Debug)]
pub enum ParamKind {
    /// An odd integer count of samples/traces, at least `min`.
    OddInt {
        min: i64,
    },
    /// A list of `len` odd integers, each at least 1.
    OddIntList {
        len: usize,
    },
    /// A real number in `[min, max]`.
    Float {
        min: f64,
        max: f64,
    },
    Bool,
    /// An integer in `[min, max]`.
    Int {
        min: i64,
        max: i64,
    },
    /// A list of `len` real numbers, each in `[min, max]`.
    FloatList {
        len: usize,
        min: f64,
        max: f64,
    },
    /// One of these words.
    Choice(&'static [&'static str]),
}

/// A declared parameter.
#[derive(Clone, Copy, Debug)]
pub struct ParamSpec {
    pub name: &'static str,
    pub kind: ParamKind,
    /// Default as JSON text; `null` means "from the input's metadata".
    pub default: &'static str,
    pub unit: &'static str,
    pub help: &'static str,
}

impl ParamSpec {
    /// The default in words: "from metadata" for the sample interval, "none"
    /// for other parameters without one.
    pub fn default_text(&self) -> String {
        match (self.default, self.name) {
            ("null", "sample_interval") => "from metadata".to_string(),
            ("null", _) => "none".to_string(),
            (d, _) => d.replace('"', ""),
        }
    }

    pub fn default_value(&self) -> Value {
        serde_json::from_str(self.default).expect("registry defaults are valid JSON")
    }

    /// Human description of the valid values.
    pub fn range(&self) -> String {
        match self.kind {
            ParamKind::OddInt { min } => format!("odd integer >= {min}"),
            ParamKind::OddIntList { len } => format!("list of {len} odd integers >= 1"),
            ParamKind::Float { min, max } => match (min.is_finite(), max.is_finite()) {
                (true, true) => format!("number in [{min}, {max}]"),
                (true, false) => format!("number > {min}"),
                _ => "number".to_string(),
            },
            ParamKind::Bool => "true or false".to_string(),
            ParamKind::Int { min, max } => format!("integer in [{min}, {max}]"),
            ParamKind::FloatList { len, min, max } => match (min.is_finite(), max.is_finite()) {
                (true, true) => format!("list of {len} numbers in [{min}, {max}]"),
                (true, false) => format!("list of {len} numbers >= {min}"),
                _ => format!("list of {len} numbers"),
            },
            ParamKind::Choice(words) => format!("one of {}", words.join(", ")),
        }
    }
}

/// Validated parameters: every declared name present (defaults filled in).
#[derive(Clone, Debug)]
pub struct Params {
    values: Map<String, Value>,
}

impl Params {
    pub fn validate(specs: &[ParamSpec], raw: &Map<String, Value>) -> Result<Params, AttrError> {
        let names: Vec<&str> = specs.iter().map(|s| s.name).collect();
        for key in raw.keys() {
            if !names.contains(&key.as_str()) {
                let message = match closest(key, &names) {
                    Some(s) => format!("unknown parameter (did you mean '{s}'?)"),
                    None if names.is_empty() => "this attribute takes no parameters".to_string(),
                    None => format!("unknown parameter (expected one of: {})", names.join(", ")),
                };
                return Err(AttrError::BadParam {
                    param: key.clone(),
                    message,
                });
            }
        }
        let mut values = Map::new();
        for spec in specs {
            let v = raw
                .get(spec.name)
                .cloned()
                .unwrap_or_else(|| spec.default_value());
            if !v.is_null() {
                check(spec, &v)?;
            }
            values.insert(spec.name.to_string(), v);
        }
        Ok(Params { values })
    }

    /// The parameters as an attribute's own typed struct, deserialised
    /// once from the validated values (defaults filled in).
    pub fn typed<T: DeserializeOwned>(&self) -> Result<T, AttrError> {
        serde_json::from_value(self.to_json()).map_err(|e| {
            AttrError::Other(format!(
                "parameters {} do not fit {}: {e}",
                self.to_json(),
                std::any::type_name::<T>()
            ))
        })
    }

    pub fn to_json(&self) -> Value {
        Value::Object(self.values.clone())
    }

    /// These parameters with `name` resolved to `value` (a default that
    /// depends on the input, such as `auto` units), for provenance.
    pub fn with(&self, name: &str, value: Value) -> Params {
        let mut values = self.values.clone();
        values.insert(name.to_string(), value);
        Params { values }
    }

    /// The text value of parameter `name`, if it is text.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.values.get(name).and_then(|v| v.as_str())
    }
}

fn check(spec: &ParamSpec, v: &Value) -> Result<(), AttrError> {
    let bad = |message: String| AttrError::BadParam {
        param: spec.name.to_string(),
        message,
    };
    let odd = |v: &Value, min: i64| -> Result<(), AttrError> {
        match v.as_i64() {
            Some(n) if n >= min && n % 2 == 1 => Ok(()),
            Some(n) => Err(bad(format!(
                "{n} is not valid: expected an odd integer >= {min}"
            ))),
            None => Err(bad(format!("expected an odd integer >= {min}, got {v}"))),
        }
    };
    match spec.kind {
        ParamKind::OddInt { min } => odd(v, min),
        ParamKind::OddIntList { len } => match v.as_array() {
            Some(items) if items.len() == len => items.iter().try_for_each(|i| odd(i, 1)),
            _ => Err(bad(format!(
                "expected a list of {len} odd integers ({}), got {v}",
                spec.unit
            ))),
        },
        ParamKind::Float { min, max } => match v.as_f64() {
            Some(x) if x > min && x <= max => Ok(()),
            Some(x) => Err(bad(format!(
                "{x} is out of range: expected {}",
                spec.range()
            ))),
            None => Err(bad(format!("expected a number, got {v}"))),
        },
        ParamKind::Bool => match v {
            Value::Bool(_) => Ok(()),
            _ => Err(bad(format!("expected true or false, got {v}"))),
        },
        ParamKind::Int { min, max } => match v.as_i64() {
            Some(n) if n >= min && n <= max => Ok(()),
            _ => Err(bad(format!("expected {}, got {v}", spec.range()))),
        },
        ParamKind::FloatList { len, min, max } => match v.as_array() {
            Some(items)
                if items.len() == len
                    && items
                        .iter()
                        .all(|i| i.as_f64().is_some_and(|x| x >= min && x <= max)) =>
            {
                Ok(())
            }
            _ => Err(bad(format!("expected a {}, got {v}", spec.range()))),
        },
        ParamKind::Choice(words) => match v.as_str() {
            Some(w) if words.contains(&w) => Ok(()),
            Some(w) => {
                let hint = closest(w, words)
                    .map(|c| format!(" (did you mean '{c}'?)"))
                    .unwrap_or_default();
                Err(bad(format!(
                    "'{w}' is not one of {}{hint}",
                    words.join(", ")
                )))
            }
            None => Err(bad(format!(
                "expected one of {}, got {v}",
                words.join(", ")
            ))),
        },
    }
}

/// A centred window of one length (vertical windows).
#[derive(Deserialize)]
pub(crate) struct Window {
    pub window: usize,
}

/// A centred window: inlines × crosslines × samples.
#[derive(Deserialize)]
pub(crate) struct Window3 {
    pub window: [usize; 3],
}

/// A Gaussian standard deviation per axis.
#[derive(Deserialize)]
pub(crate) struct Sigma {
    pub sigma: [f64; 3],
}

/// The window of a coherence attribute and its least count of live traces.
#[derive(Deserialize)]
pub(crate) struct CoherenceWindow {
    pub window: [usize; 3],
    pub min_live: usize,
}

/// The `sample_interval` parameter of attributes in Hz or ms.
#[derive(Deserialize)]
pub(crate) struct SampleInterval {
    pub sample_interval: Option<f64>,
}

/// The least number of live traces a coherence window must hold.
const MIN_LIVE: ParamSpec = ParamSpec {
    name: "min_live",
    kind: ParamKind::Int {
        min: 1,
        max: 1 << 20,
    },
    default: "2",
    unit: "traces",
    help:
        "fewer live traces in the window (at the sample) give null; capped at the window's traces",
};

/// The window and `min_live` of every coherence attribute.
pub(crate) const COHERENCE_WINDOW: &[ParamSpec] = &[
    ParamSpec {
        name: "window",
        kind: ParamKind::OddIntList { len: 3 },
        default: "[3, 3, 9]",
        unit: "traces, traces, samples",
        help: "analysis window: inlines × crosslines × samples",
    },
    MIN_LIVE,
];

/// The candidate closest to `name` by edit distance, if reasonably close.
pub fn closest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (levenshtein(name, c), *c))
        .filter(|(d, c)| *d <= (c.len().max(name.len()) / 3).max(2) || c.contains(name))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_finds_typos() {
        assert_eq!(
            closest("envelop", &["envelope", "semblance"]),
            Some("envelope")
        );
        assert_eq!(closest("zzzzzzzz", &["envelope", "semblance"]), None);
    }
}
