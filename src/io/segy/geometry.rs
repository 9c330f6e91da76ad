//! The grid traces sit on: each axis a regular progression from its
//! smallest value by the common step of the values present, traces placed
//! by their (inline, crossline, offset) numbers, and the checks that catch a
//! wrong guess of where those numbers are (duplicates, a far too sparse grid).

use anyhow::{bail, Result};
use std::collections::BTreeMap;

/// The trace numbers per cell of a regular grid.
#[derive(Debug, Default)]
pub struct Geometry {
    pub inlines: Vec<i32>,
    pub crosslines: Vec<i32>,
    /// Offsets of a pre-stack file (one 0 for post-stack).
    pub offsets: Vec<i32>,
    /// (inline index, crossline index, offset index) -> trace number.
    cells: BTreeMap<(usize, usize, usize), usize>,
}

/// How the keys were read, for the hints of an error.
pub struct Reading<'a> {
    /// The file, as errors name it.
    pub name: &'a str,
    /// "inline at byte 189 / crossline at byte 193", or a line's key.
    pub at: String,
    /// The line's trace key field, described (for a 2-D line's hint).
    pub key: String,
    /// A 2-D line: one key per trace.
    pub line: bool,
    /// An offset field was given.
    pub offsets: bool,
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 {
        a.abs()
    } else {
        gcd(b, a % b)
    }
}

/// First value, step and length of the regular axis through `values`.
fn axis(mut v: Vec<i32>) -> (i64, i64, usize) {
    v.sort_unstable();
    v.dedup();
    let step = v
        .windows(2)
        .map(|w| w[1] as i64 - w[0] as i64)
        .fold(0, gcd)
        .max(1);
    let len = ((v[v.len() - 1] as i64 - v[0] as i64) / step + 1) as usize;
    (v[0] as i64, step, len)
}

impl Geometry {
    /// The grid of `keys` (per trace: inline, crossline, offset), or an
    /// error saying which header bytes to check.
    pub fn build(keys: &[(i32, i32, i32)], r: &Reading) -> Result<Geometry> {
        let name = r.name;
        let traces = keys.len();
        let mut offsets: Vec<i32> = keys.iter().map(|k| k.2).collect();
        offsets.sort_unstable();
        offsets.dedup();
        let (il0, ils, nil) = axis(keys.iter().map(|k| k.0).collect());
        let (xl0, xls, nxl) = axis(keys.iter().map(|k| k.1).collect());
        let cells = nil as f64 * nxl as f64 * offsets.len() as f64;
        let ratio = cells / traces as f64;
        if cells > 20.0 * traces as f64 + 100.0 {
            bail!(
                "'{name}': inline {il0}.. step {ils} × crossline {xl0}.. step {xls} makes a {nil} × {nxl} grid, {ratio:.0}× more cells than the {traces} traces: the geometry is not at {}, or the survey is too sparse for a cube",
                r.at
            );
        }
        if cells > 2.0 * traces as f64 + 100.0 {
            crate::noteln!(
                "attr: warning: '{name}' is sparse: a {nil} × {nxl} grid holds {traces} traces ({ratio:.1} cells per trace); the rest are filled as missing"
            );
        }
        let mut g = Geometry {
            inlines: (0..nil).map(|i| (il0 + i as i64 * ils) as i32).collect(),
            crosslines: (0..nxl).map(|i| (xl0 + i as i64 * xls) as i32).collect(),
            offsets,
            cells: BTreeMap::new(),
        };
        for (t, &(a, b, c)) in keys.iter().enumerate() {
            let cell = (
                ((a as i64 - il0) / ils) as usize,
                ((b as i64 - xl0) / xls) as usize,
                g.offsets.binary_search(&c).expect("own key"),
            );
            if g.cells.insert(cell, t).is_some() {
                let hint = if r.offsets {
                    "check --iline-byte, --xline-byte and --offset-byte".to_string()
                } else if nil == 1 && nxl == 1 {
                    format!(
                        "every trace has the same inline and crossline ({}): a 2-D line? give --preset cdp",
                        r.at
                    )
                } else if r.line {
                    format!(
                        "is the trace key at {}? (--preset cdp reads byte 21)",
                        r.key
                    )
                } else {
                    format!(
                        "pre-stack gathers? give --offset-byte (usually 37); or check the geometry ({})",
                        r.at
                    )
                };
                let what = if r.line {
                    format!("trace key {a}")
                } else {
                    format!("inline {a} crossline {b}")
                };
                bail!("'{name}': {what} offset {c} occurs twice (trace {t}): {hint}");
            }
        }
        Ok(g)
    }

    /// The trace at (inline, crossline, offset) indices, if present.
    pub fn trace_at(&self, i: usize, j: usize, o: usize) -> Option<usize> {
        self.cells.get(&(i, j, o)).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading() -> Reading<'static> {
        Reading {
            name: "t.sgy",
            at: "byte 189 / byte 193".into(),
            key: "byte 189".into(),
            line: false,
            offsets: false,
        }
    }

    #[test]
    fn steps_and_gaps() {
        // inlines 10, 14, 18 (step 4, 14 absent on one crossline)
        let keys = [(10, 1, 0), (10, 2, 0), (18, 1, 0), (18, 2, 0), (14, 1, 0)];
        let g = Geometry::build(&keys, &reading()).unwrap();
        assert_eq!(g.inlines, [10, 14, 18]);
        assert_eq!(g.crosslines, [1, 2]);
        assert_eq!(g.trace_at(1, 0, 0), Some(4));
        assert_eq!(g.trace_at(1, 1, 0), None);
    }

    #[test]
    fn duplicates_and_sparse_grids_are_refused() {
        let e = Geometry::build(&[(1, 1, 0), (1, 1, 0), (2, 2, 0)], &reading()).unwrap_err();
        assert!(e.to_string().contains("occurs twice"), "{e}");
        let far: Vec<_> = (0..30).map(|k| (k * 1000, k * 7, 0)).collect();
        let e = Geometry::build(&far, &reading()).unwrap_err();
        assert!(e.to_string().contains("too sparse"), "{e}");
    }
}
