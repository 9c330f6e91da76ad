//! `attr view`: a slice of a volume (Zarr or SEG-Y) as a PNG, reading only
//! what the slice needs.

use crate::io::segy::Segy;
use crate::store::{node_kind, Input, NodeKind};
use crate::viz::render::{auto_range, fmt_value, render, Cmap, Panel};
use anyhow::{anyhow, bail, Context, Result};
use ndarray::{Array2, Axis};
use std::path::{Path, PathBuf};

/// Which slice: an axis and a position on it.
#[derive(Clone, Copy, Debug)]
pub enum Position {
    /// A coordinate value (inline number, crossline number, time in ms).
    Value(f64),
    /// An index along the axis.
    Index(usize),
}

pub struct Request {
    pub paths: Vec<PathBuf>,
    pub variables: Vec<String>,
    /// 0 = inline, 1 = crossline, 2 = sample/time.
    pub axis: usize,
    pub position: Position,
    pub output: PathBuf,
    pub cmap: Option<Cmap>,
    pub clip: f64,
    pub range: Option<(f32, f32)>,
    /// Horizons drawn on a section as lines.
    pub horizons: Vec<PathBuf>,
    /// Where a SEG-Y file's geometry is.
    pub keys: crate::io::segy::Choice,
}

/// A volume to slice, with its axes.
struct Volume {
    name: String,
    /// Class numbers (a facies volume): drawn with distinct colours.
    classes: bool,
    dims: [String; 3],
    coords: [Vec<f64>; 3],
    units: [String; 3],
    source: Source,
}

enum Source {
    Zarr(Box<Input>, Option<Array2<bool>>),
    Segy(Box<Segy>),
}

fn open_volume(path: &Path, variable: Option<&str>, req: &Request) -> Result<Volume> {
    let is_segy = path.is_file()
        && path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "sgy" | "segy"));
    if is_segy {
        let keys = crate::io::segy::Keys::resolve(path, &req.keys).map_err(anyhow::Error::msg)?;
        let s = Segy::open_keys(path, &keys)?;
        let coords = [
            s.inlines.iter().map(|&v| v as f64).collect(),
            s.crosslines.iter().map(|&v| v as f64).collect(),
            s.times(),
        ];
        return Ok(Volume {
            name: "amplitude".into(),
            classes: false,
            dims: ["inline".into(), "crossline".into(), "time".into()],
            coords,
            units: [String::new(), String::new(), "ms".into()],
            source: Source::Segy(Box::new(s)),
        });
    }
    let at = crate::store::Location::parse(path, &Default::default())?;
    let input = Input::open(&at, variable)?;
    // a 2-D line is one "inline" of a 3-D volume: --index-inline 0 shows it
    let dims = if input.ndim == 2 {
        [
            "line".to_string(),
            input.dims[0].clone(),
            input.dims[1].clone(),
        ]
    } else {
        [
            input.dims[0].clone(),
            input.dims[1].clone(),
            input.dims[2].clone(),
        ]
    };
    let coord = |a: usize| -> (Vec<f64>, String) {
        match input.coords.iter().find(|c| c.name == dims[a]) {
            Some(c) => (
                c.values.clone(),
                c.attributes
                    .get("units")
                    .and_then(|u| u.as_str())
                    .unwrap_or("")
                    .to_string(),
            ),
            None => (
                (0..input.shape[a]).map(|i| i as f64).collect(),
                String::new(),
            ),
        }
    };
    let (c0, u0) = coord(0);
    let (c1, u1) = coord(1);
    let (c2, u2) = coord(2);
    let mask = if matches!(node_kind(&at)?, NodeKind::Group(_)) {
        // (absent: every trace is live)
        let m = Input::open(&at, Some("trace_mask")).ok();
        // a mask per trace of this volume (a map's mask on its own cells
        // adds nothing: they are null already)
        let traces = (input.shape[0] as usize, input.shape[1] as usize);
        m.and_then(|m| read_mask(&m)).filter(|m| m.dim() == traces)
    } else {
        None
    };
    let classes = input.array_attributes.get("units").and_then(|u| u.as_str()) == Some("class");
    Ok(Volume {
        name: input.variable.clone().unwrap_or_else(|| "array".into()),
        classes,
        dims,
        coords: [c0, c1, c2],
        units: [u0, u1, u2],
        source: Source::Zarr(Box::new(input), mask),
    })
}

fn read_mask(m: &Input) -> Option<Array2<bool>> {
    // a 2-D (inline, crossline) mask is read as a 1 × n × m "volume"
    if m.ndim != 2 {
        return None;
    }
    let a = m.read_region([0, 0, 0], m.shape).ok()?;
    Some(a.index_axis(Axis(0), 0).mapv(|v| v != 0.0))
}

fn locate(v: &Volume, axis: usize, pos: Position) -> Result<usize> {
    let c = &v.coords[axis];
    match pos {
        Position::Index(i) if i < c.len() => Ok(i),
        Position::Index(i) => bail!("--index-{} {i} is outside 0..{}", v.dims[axis], c.len()),
        Position::Value(x) => {
            let (best, d) = c
                .iter()
                .enumerate()
                .map(|(i, &y)| (i, (y - x).abs()))
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .ok_or_else(|| anyhow!("empty axis"))?;
            let step = if c.len() > 1 {
                (c[1] - c[0]).abs()
            } else {
                1.0
            };
            if d > step / 2.0 + 1e-9 {
                bail!(
                    "{} {x} is not in '{}': it runs from {} to {} (step {step})",
                    v.dims[axis],
                    v.name,
                    c[0],
                    c[c.len() - 1]
                );
            }
            Ok(best)
        }
    }
}

/// The slice as rows × columns: sections have samples down the rows; a time
/// slice has inlines down the rows and crosslines across.
fn read_slice(v: &Volume, axis: usize, index: usize) -> Result<Array2<f32>> {
    let n = [v.coords[0].len(), v.coords[1].len(), v.coords[2].len()];
    let mut out = match &v.source {
        Source::Zarr(input, _) => {
            let mut start = [0u64; 3];
            let mut end = input.shape;
            start[axis] = index as u64;
            end[axis] = index as u64 + 1;
            let block = input.read_region(start, end)?;
            block.index_axis(Axis(axis), 0).to_owned()
        }
        Source::Segy(s) => {
            let (rows, cols) = match axis {
                0 => (n[1], n[2]),
                1 => (n[0], n[2]),
                _ => (n[0], n[1]),
            };
            let mut a = Array2::<f32>::from_elem((rows, cols), f32::NAN);
            for r in 0..rows {
                let (i, j) = match axis {
                    0 => (index, r),
                    1 => (r, index),
                    _ => (r, 0),
                };
                if axis == 2 {
                    for c in 0..cols {
                        if let Some(t) = s.trace_at(r, c) {
                            a[[r, c]] = s.sample(t, index);
                        }
                    }
                } else if let Some(t) = s.trace_at(i, j) {
                    for c in 0..cols {
                        a[[r, c]] = s.sample(t, c);
                    }
                }
            }
            a
        }
    };
    // missing traces are not data
    if let Source::Zarr(_, Some(mask)) = &v.source {
        for ((r, c), val) in out.indexed_iter_mut() {
            let (i, j) = match axis {
                0 => (index, r),
                1 => (r, index),
                _ => (r, c),
            };
            if mask.get([i, j]) == Some(&false) {
                *val = f32::NAN;
            }
        }
    }
    // sections: samples run down the rows
    Ok(if axis < 2 { out.reversed_axes() } else { out })
}

/// The horizons `req` names, as lines across every panel of a section
/// (inline or crossline) at slice `index`.
fn draw_horizons(
    img: &mut image::RgbaImage,
    layout: &crate::viz::render::Layout,
    req: &Request,
    first: &Volume,
    index: usize,
) -> Result<()> {
    if req.horizons.is_empty() {
        return Ok(());
    }
    if req.axis == 2 {
        bail!("--horizon draws on sections: give --inline or --crossline");
    }
    let Source::Zarr(input, _) = &first.source else {
        bail!("--horizon needs a Zarr volume (its survey places the horizon)");
    };
    let grid = crate::io::survey_grid::SurveyGrid::of(input)?;
    let t = &first.coords[2];
    let (t0, dt) = (t[0], if t.len() > 1 { t[1] - t[0] } else { 1.0 });
    let (sx, sy) = layout.scale;
    let nx = grid.crosslines.len();
    for (k, h) in req.horizons.iter().enumerate() {
        use crate::maps::horizon_on_survey::load;
        use crate::store::split_variable;
        let (p, variable) = split_variable(h);
        let at = crate::store::Location::parse(&p, &Default::default())?;
        let z = load(&at, variable.as_deref(), &grid)
            .with_context(|| format!("--horizon {}", h.display()))?;
        let along: Vec<f64> = match req.axis {
            0 => (0..nx).map(|j| z[index * nx + j]).collect(),
            _ => (0..grid.inlines.len()).map(|i| z[i * nx + index]).collect(),
        };
        let colour =
            crate::viz::render::HORIZON_COLOURS[k % crate::viz::render::HORIZON_COLOURS.len()];
        for &[x0, y0, _, y1] in &layout.plots {
            let points: Vec<Option<(f64, f64)>> = along
                .iter()
                .enumerate()
                .map(|(c, &v)| {
                    let y = y0 as f64 + ((v - t0) / dt + 0.5) * sy as f64;
                    (v.is_finite() && y >= y0 as f64 && y < y1 as f64)
                        .then_some((x0 as f64 + (c as f64 + 0.5) * sx as f64, y))
                })
                .collect();
            crate::viz::render::polyline(img, &points, colour);
        }
    }
    Ok(())
}

fn label(v: &Volume, a: usize) -> String {
    if v.units[a].is_empty() {
        v.dims[a].clone()
    } else {
        format!("{} ({})", v.dims[a], v.units[a])
    }
}

/// The volumes drawn: the variables asked for of the first path, then
/// each `--compare PATH` or `PATH:VARIABLE`.
fn open_volumes(req: &Request) -> Result<Vec<Volume>> {
    let mut volumes = Vec::new();
    for (i, path) in req.paths.iter().enumerate() {
        if i > 0 {
            // --compare PATH or PATH:VARIABLE
            let (p, var) = crate::store::split_variable(path);
            volumes.push(open_volume(&p, var.as_deref(), req)?);
        } else if req.variables.is_empty() {
            volumes.push(open_volume(path, None, req)?);
        } else {
            for var in &req.variables {
                volumes.push(open_volume(path, Some(var), req)?);
            }
        }
    }
    Ok(volumes)
}

pub fn view(req: &Request) -> Result<()> {
    let volumes = open_volumes(req)?;
    let first = &volumes[0];
    let index = locate(first, req.axis, req.position)?;
    let unit = &first.units[req.axis];
    // a 2-D dataset (a map, a line) is drawn whole: no position to name
    let whole_map = first.dims[0] == "line" && first.coords[0].len() == 1;
    let position_text = format!(
        "{} {}{}",
        first.dims[req.axis],
        fmt_value(first.coords[req.axis][index]),
        if unit.is_empty() {
            String::new()
        } else {
            format!(" {unit}")
        }
    );
    let (xa, ya) = match req.axis {
        0 => (1, 2),
        1 => (0, 2),
        _ => (1, 0),
    };
    let mut panels = Vec::new();
    for v in &volumes {
        if v.coords.iter().map(|c| c.len()).collect::<Vec<_>>()
            != first.coords.iter().map(|c| c.len()).collect::<Vec<_>>()
        {
            bail!(
                "'{}' and '{}' have different shapes: --compare needs volumes on the same grid",
                v.name,
                first.name
            );
        }
        let data = read_slice(v, req.axis, index)?;
        let symmetric = data.iter().any(|x| *x < 0.0) && data.iter().any(|x| *x > 0.0);
        let cmap = req.cmap.unwrap_or(if v.classes {
            Cmap::Classes
        } else if symmetric {
            Cmap::Seismic
        } else {
            Cmap::Viridis
        });
        let range = match (req.range, cmap) {
            (Some(r), _) => r,
            // every class present, whatever the clip
            (None, Cmap::Classes) => data
                .iter()
                .filter(|x| x.is_finite())
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &x| {
                    (a.min(x), b.max(x))
                }),
            (None, _) => auto_range(&data, req.clip, symmetric),
        };
        panels.push(Panel {
            data,
            title: match whole_map {
                true => v.name.clone(),
                false => format!("{}, {position_text}", v.name),
            },
            x_label: label(first, xa),
            x_values: first.coords[xa].clone(),
            y_label: label(first, ya),
            y_values: first.coords[ya].clone(),
            cmap,
            range,
        });
    }
    let (mut img, layout) = render(&panels);
    draw_horizons(&mut img, &layout, req, first, index)?;
    img.save_with_format(&req.output, image::ImageFormat::Png)
        .with_context(|| format!("cannot write '{}'", req.output.display()))?;
    let [x0, y0, x1, y1] = layout.plots[0];
    crate::outln!(
        "wrote {} ({}x{} px): {position_text}; data at x {x0}..{x1}, y {y0}..{y1}, {}x{} px per cell; range {}",
        req.output.display(),
        layout.width,
        layout.height,
        layout.scale.0,
        layout.scale.1,
        panels
            .iter()
            .map(|p| format!("{}..{}", fmt_value(p.range.0 as f64), fmt_value(p.range.1 as f64)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}
