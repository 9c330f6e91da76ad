//! `attr horizon import`: a horizon file placed on a survey's traces and
//! stored as a 2-D dataset (inline, crossline) with the survey's
//! coordinates. Points land on their nearest trace (by line numbers, or by
//! x/y through the grid's affine transform); grids are sampled bilinearly
//! at each trace's x/y.

use super::horizon_files::{self, Column, Horizon, HorizonFormat, Position};
use super::survey_grid::SurveyGrid;
use crate::store::{read_whole, Dtype, Input, Location, NewDataset};
use anyhow::{anyhow, bail, Result};
use ndarray::{ArrayD, IxDyn};
use serde_json::{json, Map, Value};
use std::path::Path;

pub struct ImportOptions {
    pub format: Option<HorizonFormat>,
    pub columns: Option<Vec<Column>>,
    pub overwrite: bool,
    pub quiet: bool,
}

/// A horizon on a survey's traces: z per trace (inline-major), NaN where
/// missing.
pub struct Placed {
    pub z: Vec<f64>,
    /// Points that fell outside the survey, and negated Petrel times.
    pub outside: usize,
    pub negated: bool,
}

/// Read `file` and place it on `grid`'s traces.
pub fn place(file: &Path, grid: &SurveyGrid, o: &ImportOptions) -> Result<Placed> {
    let (ni, nx) = (grid.inlines.len(), grid.crosslines.len());
    let range = |v: &[f64]| {
        v.iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
                (a.min(x), b.max(x))
            })
    };
    let (il, xl) = (range(&grid.inlines), range(&grid.crosslines));
    let looks_like_lines = |a: f64, b: f64| {
        a.fract() == 0.0
            && b.fract() == 0.0
            && (il.0..=il.1).contains(&a)
            && (xl.0..=xl.1).contains(&b)
    };
    let shown = file.display();
    let horizon = match zarr_horizon(file, grid)? {
        Some(h) => h,
        None => horizon_files::read(file, o.format, o.columns.as_deref(), &looks_like_lines)?,
    };
    let mut z = vec![f64::NAN; ni * nx];
    let mut outside = 0;
    match horizon {
        Horizon::Points(points) => {
            for (position, v) in points {
                let (fi, fj) = match position {
                    Position::Lines { inline, crossline } => (
                        SurveyGrid::line_index(&grid.inlines, inline),
                        SurveyGrid::line_index(&grid.crosslines, crossline),
                    ),
                    Position::Map { x, y } => grid.indices_at(x, y).ok_or_else(|| {
                        anyhow!("'{shown}' gives x/y, but the survey has no cdp_x/cdp_y to place them: give inline and crossline columns (--columns il,xl,z)")
                    })?,
                };
                let (i, j) = (fi.round(), fj.round());
                if !(0.0..ni as f64).contains(&i) || !(0.0..nx as f64).contains(&j) {
                    outside += 1;
                    continue;
                }
                let cell = i as usize * nx + j as usize;
                let old = z[cell];
                if v.is_nan() {
                    continue;
                }
                if !old.is_nan() && (old - v).abs() > 1e-3 * old.abs().max(1.0) {
                    bail!(
                        "'{shown}': two points on inline {} crossline {} disagree: z {old} and {v}",
                        grid.inlines[i as usize],
                        grid.crosslines[j as usize]
                    );
                }
                z[cell] = v;
            }
        }
        Horizon::Grid(g) => {
            if grid.affine.is_none() {
                bail!("'{shown}' is a map grid, but the survey has no cdp_x/cdp_y to place it: convert the survey from SEG-Y with its coordinates");
            }
            for i in 0..ni {
                for j in 0..nx {
                    let (x, y) = grid.xy(i as f64, j as f64).expect("an affine grid");
                    z[i * nx + j] = g.sample(x, y);
                }
            }
            if z.iter().all(|v| v.is_nan()) {
                let corners: Vec<(f64, f64)> = [(0.0, 0.0), ((ni - 1) as f64, (nx - 1) as f64)]
                    .iter()
                    .filter_map(|&(i, j)| grid.xy(i, j))
                    .collect();
                bail!(
                    "'{shown}': the grid ({} × {} nodes from x {:.1} y {:.1}, every {} × {}) does not overlap the survey (corners at {:?})",
                    g.nx, g.ny, g.xori, g.yori, g.xinc, g.yinc, corners
                );
            }
        }
    }
    if z.iter().all(|v| v.is_nan()) {
        bail!("'{shown}': no point of the horizon lies on the survey ({outside} outside it)");
    }
    // Petrel writes time as negative numbers
    let survey = range(&grid.samples);
    let mut negated = false;
    if survey.0 >= 0.0 && z.iter().filter(|v| !v.is_nan()).all(|&v| v <= 0.0) {
        z.iter_mut().for_each(|v| *v = -*v);
        negated = true;
    }
    check_z_range(&z, survey, grid, &shown.to_string())?;
    Ok(Placed {
        z,
        outside,
        negated,
    })
}

/// A 2-D Zarr array or dataset variable on (inline, crossline) at `file`
/// (`DATASET:VARIABLE`, or a dataset's `z`), as points on its line numbers
/// (its `inline`/`crossline` coordinates, else the survey's when its shape
/// is the survey's); `None` when `file` is no Zarr store.
fn zarr_horizon(file: &Path, grid: &SurveyGrid) -> Result<Option<Horizon>> {
    let (store, variable) = crate::store::split_variable(file);
    if !store.is_dir() {
        return Ok(None);
    }
    let at = Location::local(&store);
    let plain = matches!(
        crate::store::node_kind(&at)?,
        crate::store::NodeKind::Array(_)
    );
    let name = variable.as_deref().unwrap_or(if plain { "" } else { "z" });
    let Some((shape, z)) = read_whole(&at, name)? else {
        bail!(
            "'{}' has no variable `{name}`: give DATASET:VARIABLE",
            store.display()
        );
    };
    let [n0, n1] = shape[..] else {
        bail!(
            "'{}' is {}-D: a horizon is 2-D (inline, crossline)",
            file.display(),
            shape.len()
        );
    };
    let (n0, n1) = (n0 as usize, n1 as usize);
    let lines = |axis: &str, n: usize, survey: &[f64]| -> Result<Vec<f64>> {
        match read_whole(&at, axis)? {
            Some((s, v)) if !plain && s == [n as u64] => Ok(v),
            _ if n == survey.len() => Ok(survey.to_vec()),
            _ => bail!(
                "'{}' has no {axis} numbers and another shape than the survey's: give it `{axis}` coordinates",
                file.display()
            ),
        }
    };
    let (inlines, crosslines) = (
        lines("inline", n0, &grid.inlines)?,
        lines("crossline", n1, &grid.crosslines)?,
    );
    let points = (0..n0 * n1)
        .map(|t| {
            let v = z[t];
            let position = Position::Lines {
                inline: inlines[t / n1],
                crossline: crosslines[t % n1],
            };
            (
                position,
                if horizon_files::is_null(v) {
                    f64::NAN
                } else {
                    v
                },
            )
        })
        .collect();
    Ok(Some(Horizon::Points(points)))
}

/// A horizon wholly outside the survey's sample range is an error naming
/// both ranges (and seconds given for a survey in milliseconds).
fn check_z_range(z: &[f64], survey: (f64, f64), grid: &SurveyGrid, shown: &str) -> Result<()> {
    let (lo, hi) = z
        .iter()
        .filter(|v| !v.is_nan())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    let unit = &grid.sample_unit;
    if hi < survey.0 || lo > survey.1 {
        let seconds = unit == "ms" && hi * 1000.0 >= survey.0 && lo * 1000.0 <= survey.1;
        if seconds {
            bail!(
                "'{shown}': z is {lo}..{hi}, seconds it seems, but the survey's {} is {}..{} ms: give the horizon in ms",
                grid.sample_name, survey.0, survey.1
            );
        }
        bail!(
            "'{shown}': z {lo}..{hi} lies wholly outside the survey's {} range {}..{} {unit}",
            grid.sample_name,
            survey.0,
            survey.1
        );
    }
    Ok(())
}

/// `attr horizon import FILE OUT --survey SURVEY`.
pub fn import(file: &Path, output: &Path, survey: &Path, o: &ImportOptions) -> Result<()> {
    let at = Location::parse(survey, &Default::default())?;
    let input = Input::open(&at, None).map_err(|e| anyhow!("--survey: {e:#}"))?;
    let grid = SurveyGrid::of(&input)?;
    let placed = place(file, &grid, o)?;
    write(&placed.z, &grid, &input, file, survey, output, o.overwrite)?;
    if !o.quiet {
        let (ni, nx) = (grid.inlines.len(), grid.crosslines.len());
        let live = placed.z.iter().filter(|v| !v.is_nan()).count();
        crate::noteln!(
            "attr: horizon on {live} of {} traces{}{} -> {}",
            ni * nx,
            if placed.outside > 0 {
                format!(", {} point(s) outside the survey left out", placed.outside)
            } else {
                String::new()
            },
            if placed.negated {
                ", negative times read as positive (Petrel)"
            } else {
                ""
            },
            output.display()
        );
    }
    Ok(())
}

/// The horizon `z` on `grid` as a 2-D dataset at `output`, with the
/// survey's line numbers and (where it has them) trace positions.
fn write(
    z: &[f64],
    grid: &SurveyGrid,
    input: &Input,
    file: &Path,
    survey: &Path,
    output: &Path,
    overwrite: bool,
) -> Result<()> {
    let (ni, nx) = (grid.inlines.len(), grid.crosslines.len());
    let out = Location::parse(output, &Default::default())?;
    let ds = NewDataset::create(
        &out,
        crate::store::Format::V3,
        crate::store::Compression::Zstd,
        overwrite,
    )?;
    let mut attrs = Map::new();
    attrs.insert("source_file".into(), json!(file.display().to_string()));
    attrs.insert("survey".into(), json!(survey.display().to_string()));
    attrs.insert(
        "history".into(),
        json!(format!(
            "attr horizon import {} --survey {}",
            file.display(),
            survey.display()
        )),
    );
    ds.group(&attrs)?;
    let dims = [input.dims[0].clone(), input.dims[1].clone()];
    let mut z_attrs = Map::new();
    z_attrs.insert(
        "long_name".into(),
        json!(format!("horizon {}", grid.sample_name)),
    );
    if !grid.sample_unit.is_empty() {
        z_attrs.insert("units".into(), json!(grid.sample_unit));
    }
    let z32: Vec<f32> = z.iter().map(|&v| v as f32).collect();
    ds.whole(
        "z",
        Dtype::Float32,
        &dims,
        ArrayD::from_shape_vec(IxDyn(&[ni, nx]), z32)?,
        z_attrs,
        None,
    )?;
    for (a, name) in dims.iter().enumerate() {
        let values = if a == 0 {
            &grid.inlines
        } else {
            &grid.crosslines
        };
        let c = input.coords.iter().find(|c| &c.name == name);
        let dtype = c.map_or(Dtype::Float64, |c| c.dtype);
        let attrs = c.map_or_else(Map::new, |c| c.attributes.clone());
        crate::with_dtype!(dtype, T, {
            let v: Vec<T> = values.iter().map(|&x| x as T).collect();
            ds.coordinate(name, dtype, v, attrs, None)?;
        });
    }
    if grid.affine.is_some() {
        for (k, name) in ["cdp_x", "cdp_y"].iter().enumerate() {
            let v: Vec<f64> = (0..ni * nx)
                .map(|t| {
                    let (x, y) = grid.xy((t / nx) as f64, (t % nx) as f64).expect("affine");
                    if k == 0 {
                        x
                    } else {
                        y
                    }
                })
                .collect();
            let mut a = Map::<String, Value>::new();
            a.insert(
                "long_name".into(),
                json!(format!("map {} of the trace", &name[4..])),
            );
            ds.whole(
                name,
                Dtype::Float64,
                &dims,
                ArrayD::from_shape_vec(IxDyn(&[ni, nx]), v)?,
                a,
                None,
            )?;
        }
    }
    ds.publish()?;
    Ok(())
}
