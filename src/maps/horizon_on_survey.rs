//! A horizon a job names, on the survey's traces: a horizon dataset (as
//! `attr horizon import` and `attr synth` write them) or a horizon file,
//! placed on the fly.

use crate::io::horizon_import::{place, ImportOptions};
use crate::io::survey_grid::SurveyGrid;
use crate::store::{read_whole, Location};
use anyhow::{bail, Result};

/// z per trace of the survey (inline-major), NaN where missing.
pub fn load(at: &Location, grid: &SurveyGrid) -> Result<Vec<f64>> {
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
    let Some((shape, z)) = read_whole(at, "z")? else {
        bail!("'{at}' has no variable `z`: give a horizon dataset (`attr horizon import`) or a horizon file");
    };
    if shape != [ni as u64, nx as u64] {
        bail!(
            "'{at}' is a horizon on {shape:?} traces, but the survey has [{ni}, {nx}]: import it onto this survey (`attr horizon import FILE OUT --survey SURVEY`)"
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
