//! `attr export map`: a 2-D variable on (inline, crossline) — a map or a
//! horizon — as a file that Petrel, RMS and xtgeo import: IRAP classic
//! ASCII (the survey's own rotated grid), ZMAP+ (no rotation: resampled
//! bilinearly onto a north-aligned grid at the smaller bin size), or x y z
//! columns of the live cells.

use super::horizon_files::MapGrid;
use crate::store::{read_whole, Location};
use anyhow::{anyhow, bail, Context, Result};
use std::fmt::Write as _;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum MapFormat {
    /// IRAP classic ASCII grid.
    Irap,
    /// IRAP binary grid (big-endian Fortran records; positions as f32).
    IrapBinary,
    /// ZMAP+ grid (north-aligned).
    Zmap,
    /// x y z columns.
    Xyz,
}

/// The null value each format declares (xtgeo reads them so).
const IRAP_NULL: f64 = 9_999_900.0;
const IRAP_BINARY_NULL: f64 = 1e30;
const ZMAP_NULL: f64 = -99_999.0;

/// `attr export map DATASET:VARIABLE OUT`.
pub fn export(
    dataset: &Path,
    variable: &str,
    output: &Path,
    format: MapFormat,
    overwrite: bool,
) -> Result<()> {
    if output.exists() && !overwrite {
        bail!(
            "output '{}' already exists: pass --overwrite to replace it",
            output.display()
        );
    }
    if output.is_dir() {
        bail!(
            "output '{}' is a directory: give the file's name",
            output.display()
        );
    }
    let at = Location::parse(dataset, &Default::default())?;
    let (shape, values) = read_whole(&at, variable)?
        .ok_or_else(|| anyhow!("'{at}' has no variable '{variable}' (give DATASET:VARIABLE)"))?;
    let [ni, nx] = shape[..] else {
        bail!(
            "'{at}/{variable}' is {}-D: a map is 2-D (inline, crossline)",
            shape.len()
        );
    };
    let (ni, nx) = (ni as usize, nx as usize);
    let (Some((_, xs)), Some((_, ys))) = (read_whole(&at, "cdp_x")?, read_whole(&at, "cdp_y")?)
    else {
        bail!("'{at}' has no cdp_x/cdp_y: a map file needs the traces' positions");
    };
    let grid = rotated_grid(&xs, &ys, &values, ni, nx)
        .ok_or_else(|| anyhow!("'{at}': its cdp_x/cdp_y do not form a regular grid"))?;
    let text: Vec<u8> = match format {
        MapFormat::Irap => irap_ascii(&grid).into_bytes(),
        MapFormat::IrapBinary => irap_binary(&grid),
        MapFormat::Zmap => zmap(&north_aligned(&grid), variable).into_bytes(),
        MapFormat::Xyz => xyz(&xs, &ys, &values).into_bytes(),
    };
    // written beside the output and renamed over it when complete
    let tmp = crate::store::private_sibling(output, "exporting");
    let written = std::fs::write(&tmp, text)
        .with_context(|| format!("cannot write '{}'", output.display()))
        .and_then(|()| {
            std::fs::rename(&tmp, output).with_context(|| {
                format!(
                    "cannot move the export into place as '{}'",
                    output.display()
                )
            })
        });
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    let live = values.iter().filter(|v| v.is_finite()).count();
    crate::noteln!(
        "attr: wrote {}: {variable}, {live} of {} cells",
        output.display(),
        ni * nx
    );
    Ok(())
}

/// The map as a grid on the survey's own axes: its x axis the direction
/// of increasing inline index, its y axis that of the crosslines, which
/// must lie anticlockwise of it (where the survey is left-handed the
/// crosslines are taken from the last).
fn rotated_grid(xs: &[f64], ys: &[f64], values: &[f64], ni: usize, nx: usize) -> Option<MapGrid> {
    let ([x0, xi, xj], [y0, yi, yj]) = super::survey_grid::affine_of(xs, ys, nx)?;
    let right_handed = xi * yj - yi * xj > 0.0;
    let (ox, oy) = match right_handed {
        true => (x0, y0),
        false => (x0 + xj * (nx - 1) as f64, y0 + yj * (nx - 1) as f64),
    };
    let mut v = vec![f64::NAN; ni * nx];
    for i in 0..ni {
        for j in 0..nx {
            let jj = if right_handed { j } else { nx - 1 - j };
            v[jj * ni + i] = values[i * nx + j];
        }
    }
    Some(MapGrid {
        nx: ni,
        ny: nx,
        xori: ox,
        yori: oy,
        xinc: xi.hypot(yi),
        yinc: xj.hypot(yj),
        rotation: yi.atan2(xi).to_degrees().rem_euclid(360.0),
        values: v,
    })
}

/// The grid resampled onto a north-aligned one over its bounding box, at
/// its smaller increment.
fn north_aligned(g: &MapGrid) -> MapGrid {
    let (s, c) = g.rotation.to_radians().sin_cos();
    let corners: Vec<(f64, f64)> = [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0)]
        .iter()
        .map(|&(u, v)| {
            let (a, b) = (
                u * (g.nx - 1) as f64 * g.xinc,
                v * (g.ny - 1) as f64 * g.yinc,
            );
            (g.xori + a * c - b * s, g.yori + a * s + b * c)
        })
        .collect();
    let (x0, x1) = corners
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p.0), b.max(p.0))
        });
    let (y0, y1) = corners
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p.1), b.max(p.1))
        });
    let inc = g.xinc.min(g.yinc);
    let (nx, ny) = (
        ((x1 - x0) / inc).floor() as usize + 1,
        ((y1 - y0) / inc).floor() as usize + 1,
    );
    let mut values = vec![f64::NAN; nx * ny];
    for j in 0..ny {
        for i in 0..nx {
            values[j * nx + i] = g.sample(x0 + i as f64 * inc, y0 + j as f64 * inc);
        }
    }
    MapGrid {
        nx,
        ny,
        xori: x0,
        yori: y0,
        xinc: inc,
        yinc: inc,
        rotation: 0.0,
        values,
    }
}

fn irap_ascii(g: &MapGrid) -> String {
    let xmax = g.xori + (g.nx - 1) as f64 * g.xinc;
    let ymax = g.yori + (g.ny - 1) as f64 * g.yinc;
    let mut s = format!(
        "-996 {} {:.6} {:.6}\n{:.6} {:.6} {:.6} {:.6}\n{} {:.8} {:.6} {:.6}\n0 0 0 0 0 0 0\n",
        g.ny, g.xinc, g.yinc, g.xori, xmax, g.yori, ymax, g.nx, g.rotation, g.xori, g.yori
    );
    for (k, v) in g.values.iter().enumerate() {
        let v = if v.is_finite() { *v } else { IRAP_NULL };
        let _ = write!(s, "{v:.6}{}", if k % 6 == 5 { "\n" } else { " " });
    }
    s.push('\n');
    s
}

/// IRAP binary: records (-996, ny, xmin, xmax, ymin, ymax, xinc, yinc),
/// (nx, rotation, xori, yori), seven zeros, then the values as f32, a row
/// (x fastest) per record.
fn irap_binary(g: &MapGrid) -> Vec<u8> {
    let mut out = Vec::new();
    let mut record = |payload: Vec<u8>| {
        let len = (payload.len() as u32).to_be_bytes();
        out.extend(len);
        out.extend(payload);
        out.extend(len);
    };
    let f = |v: &[f64]| {
        v.iter()
            .flat_map(|x| (*x as f32).to_be_bytes())
            .collect::<Vec<u8>>()
    };
    let xmax = g.xori + (g.nx - 1) as f64 * g.xinc;
    let ymax = g.yori + (g.ny - 1) as f64 * g.yinc;
    let mut head = (-996i32).to_be_bytes().to_vec();
    head.extend((g.ny as i32).to_be_bytes());
    head.extend(f(&[g.xori, xmax, g.yori, ymax, g.xinc, g.yinc]));
    record(head);
    let mut second = (g.nx as i32).to_be_bytes().to_vec();
    second.extend(f(&[g.rotation, g.xori, g.yori]));
    record(second);
    record(vec![0; 28]);
    for row in g.values.chunks(g.nx) {
        let row: Vec<f64> = row
            .iter()
            .map(|v| if v.is_finite() { *v } else { IRAP_BINARY_NULL })
            .collect();
        record(f(&row));
    }
    out
}

fn zmap(g: &MapGrid, name: &str) -> String {
    let (xmax, ymax) = (
        g.xori + (g.nx - 1) as f64 * g.xinc,
        g.yori + (g.ny - 1) as f64 * g.yinc,
    );
    let mut s = format!(
        "! written by attr\n@{name} HEADER, GRID, 5\n 15, {ZMAP_NULL:.4}, , 4, 1\n {}, {}, {:.4}, {:.4}, {:.4}, {:.4}\n 0.0, 0.0, 0.0\n@\n",
        g.ny, g.nx, g.xori, xmax, g.yori, ymax
    );
    // by column from the west, each from the north down
    for i in 0..g.nx {
        for (k, r) in (0..g.ny).rev().enumerate() {
            let v = g.values[r * g.nx + i];
            let v = if v.is_finite() { v } else { ZMAP_NULL };
            let _ = write!(
                s,
                "{v:15.4}{}",
                if k % 5 == 4 || k + 1 == g.ny {
                    "\n"
                } else {
                    ""
                }
            );
        }
    }
    s
}

fn xyz(xs: &[f64], ys: &[f64], values: &[f64]) -> String {
    let mut s = String::new();
    for ((x, y), v) in xs.iter().zip(ys).zip(values) {
        if v.is_finite() && x.is_finite() && y.is_finite() {
            let _ = writeln!(s, "{x:.3} {y:.3} {v:.6}");
        }
    }
    s
}
