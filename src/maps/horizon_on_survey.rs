//! A horizon a job names, on the survey's traces: a horizon dataset (as
//! `attr horizon import` and `attr synth` write them; `DATASET:VARIABLE`
//! for one of several), a plain 2-D Zarr array on the survey's
//! (inline, crossline), or a horizon file, placed on the fly.

use crate::io::horizon_import::{place, ImportOptions};
use crate::io::survey_grid::SurveyGrid;
use crate::store::{read_whole, Location};
use anyhow::{bail, Result};

/// z per trace of the survey (inline-major), NaN where missing, from the
/// variable `variable` of a horizon dataset (`z` by default) or a file.
/// z per trace of the survey (inline-major), NaN where missing, from the
/// variable `variable` of a horizon dataset (`z` by default) or a file.
/// `PATH:VARIABLE` as the path and the variable (none when the text has
/// no such suffix, or the part before it does not exist).
pub fn split_variable(text: &std::path::Path) -> (std::path::PathBuf, Option<String>) {
    let s = text.to_string_lossy();
    if let Some((p, v)) = s.rsplit_once(':') {
        let remote = p.starts_with("s3");
        if !v.is_empty()
            && !v.contains('/')
            && (remote || std::path::Path::new(p).exists())
            && p != "s3"
        {
            return (p.into(), Some(v.to_string()));
        }
    }
    (text.to_path_buf(), None)
}

pub fn load(at: &Location, variable: Option<&str>, grid: &SurveyGrid) -> Result<Vec<f64>> {
    let (ni, nx) = (grid.inlines.len(), grid.crosslines.len());
    let path = at.path();
    if !at.is_remote() && path.is_file() {
        let o = ImportOptions {
            format: None,
            columns: None,
            overwrite: false,
            quiet: true,
        };
        return Ok(place(path, grid, &o)?.z);
    }
    // a plain 2-D array is the horizon itself
    let plain = matches!(
        crate::store::node_kind(at),
        Ok(crate::store::NodeKind::Array(_))
    );
    let name = variable.unwrap_or(if plain { "" } else { "z" });
    let Some((shape, z)) = read_whole(at, name)? else {
        bail!("'{at}' has no variable `{name}`: give a horizon dataset (`attr horizon import`), DATASET:VARIABLE, or a horizon file");
    };
    if shape != [ni as u64, nx as u64] {
        bail!(
            "'{at}/{name}' is a horizon on {shape:?} traces, but the survey has [{ni}, {nx}]: import it onto this survey (`attr horizon import FILE OUT --survey SURVEY`)"
        );
    }
    // the same line numbers, not only the same counts
    for (axis, lines) in [("inline", &grid.inlines), ("crossline", &grid.crosslines)] {
        if let Some((_, mine)) = read_whole(at, axis)? {
            if mine.len() != lines.len()
                || mine
                    .iter()
                    .zip(lines.iter())
                    .any(|(a, b)| (a - b).abs() > 1e-6)
            {
                bail!("'{at}' lies on other {axis} numbers than the survey: import it onto this survey");
            }
        }
    }
    Ok(z.into_iter()
        .map(|v| if v.is_finite() { v } else { f64::NAN })
        .collect())
}
