//! Horizon files as interpretation packages write them: column text
//! (inline crossline z; x y z; inline crossline x y z), IRAP classic ASCII
//! and binary grids, ZMAP+ grids. Read into points or a regular grid; where
//! they land on a survey is [`crate::io::horizon_import`]'s business.

use anyhow::{anyhow, bail, Context, Result};
use std::path::Path;

/// Values that mean "no value" in the formats read here.
pub fn is_null(z: f64) -> bool {
    !z.is_finite()
        || z.abs() >= 1e29
        || [-999.25, 9_999_900.0, -99_999.0, -999.0, 99_999.0]
            .iter()
            .any(|n| (z - n).abs() < 1e-6 * n.abs())
}

/// What a column of a text file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Column {
    Inline,
    Crossline,
    X,
    Y,
    Z,
    Skip,
}

impl std::str::FromStr for Column {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Column, String> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "il" | "inline" | "iline" => Column::Inline,
            "xl" | "crossline" | "xline" => Column::Crossline,
            "x" => Column::X,
            "y" => Column::Y,
            "z" | "t" | "time" | "depth" => Column::Z,
            "-" | "skip" => Column::Skip,
            other => {
                return Err(format!(
                    "'{other}': a column is il, xl, x, y, z or skip (-)"
                ))
            }
        })
    }
}

/// Where a point lies: on the survey's line numbers, or at map x/y.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Position {
    Lines { inline: f64, crossline: f64 },
    Map { x: f64, y: f64 },
}

/// A regular map grid (IRAP, ZMAP+): node (i, j) lies at the origin plus
/// i steps of `xinc` along the grid's x axis and j of `yinc` along its y
/// axis, the x axis turned `rotation` degrees anticlockwise from east.
#[derive(Clone, Debug, PartialEq)]
pub struct MapGrid {
    pub nx: usize,
    pub ny: usize,
    pub xori: f64,
    pub yori: f64,
    pub xinc: f64,
    pub yinc: f64,
    pub rotation: f64,
    /// `nx × ny` values, i (x) fastest; NaN where missing.
    pub values: Vec<f64>,
}

impl MapGrid {
    /// The value at map position (x, y), bilinear between the four nodes
    /// around it (NaN when one is missing or it lies outside the grid).
    pub fn sample(&self, x: f64, y: f64) -> f64 {
        let (s, c) = self.rotation.to_radians().sin_cos();
        let (dx, dy) = (x - self.xori, y - self.yori);
        let u = (dx * c + dy * s) / self.xinc;
        let v = (-dx * s + dy * c) / self.yinc;
        let eps = 1e-6;
        if u < -eps || v < -eps || u > (self.nx - 1) as f64 + eps || v > (self.ny - 1) as f64 + eps
        {
            return f64::NAN;
        }
        let (u, v) = (
            u.clamp(0.0, (self.nx - 1) as f64),
            v.clamp(0.0, (self.ny - 1) as f64),
        );
        let (i0, j0) = (u.floor() as usize, v.floor() as usize);
        let (i1, j1) = ((i0 + 1).min(self.nx - 1), (j0 + 1).min(self.ny - 1));
        let (fu, fv) = (u - i0 as f64, v - j0 as f64);
        let at = |i: usize, j: usize| self.values[j * self.nx + i];
        // a node the point sits on needs no neighbours
        if fu < eps && fv < eps {
            return at(i0, j0);
        }
        let w = [
            (at(i0, j0), (1.0 - fu) * (1.0 - fv)),
            (at(i1, j0), fu * (1.0 - fv)),
            (at(i0, j1), (1.0 - fu) * fv),
            (at(i1, j1), fu * fv),
        ];
        if w.iter().any(|(z, wt)| *wt > eps && z.is_nan()) {
            return f64::NAN;
        }
        w.iter()
            .filter(|(_, wt)| *wt > eps)
            .map(|(z, wt)| z * wt)
            .sum()
    }
}

/// A horizon as read from its file.
#[derive(Clone, Debug)]
pub enum Horizon {
    Points(Vec<(Position, f64)>),
    Grid(MapGrid),
}

/// The formats read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum HorizonFormat {
    /// Columns of text: inline crossline z, x y z, or inline crossline x y z.
    Columns,
    /// IRAP classic ASCII grid (Petrel, RMS).
    IrapAscii,
    /// IRAP binary grid (Petrel, RMS).
    IrapBinary,
    /// ZMAP+ grid.
    Zmap,
}

impl HorizonFormat {
    /// The format of `bytes`, judged from its first bytes.
    pub fn detect(bytes: &[u8]) -> Option<HorizonFormat> {
        if bytes.len() >= 8
            && bytes[..4] == 32u32.to_be_bytes()
            && bytes[4..8] == (-996i32).to_be_bytes()
        {
            return Some(HorizonFormat::IrapBinary);
        }
        let text = std::str::from_utf8(&bytes[..bytes.len().min(4096)])
            .ok()
            .or_else(|| {
                // a cut through a multi-byte character at the end of the sample
                std::str::from_utf8(&bytes[..bytes.len().min(4090)]).ok()
            })?;
        let first = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('!'))?;
        if first.starts_with('@') {
            return Some(HorizonFormat::Zmap);
        }
        if first.split_whitespace().next() == Some("-996") {
            return Some(HorizonFormat::IrapAscii);
        }
        Some(HorizonFormat::Columns)
    }
}

/// Read the horizon in `path`: its format given or detected, its columns
/// (text) given or judged by [`guess_columns`].
pub fn read(
    path: &Path,
    format: Option<HorizonFormat>,
    columns: Option<&[Column]>,
    looks_like_lines: &dyn Fn(f64, f64) -> bool,
) -> Result<Horizon> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read '{}'", path.display()))?;
    let at = |e: anyhow::Error| anyhow!("'{}': {e:#}", path.display());
    if bytes.iter().all(u8::is_ascii_whitespace) {
        bail!("'{}' is empty: no horizon in it", path.display());
    }
    let format = match format.or_else(|| HorizonFormat::detect(&bytes)) {
        Some(f) => f,
        None => bail!(
            "'{}': unknown horizon format (not text, IRAP or ZMAP+): give --format",
            path.display()
        ),
    };
    match format {
        HorizonFormat::IrapBinary => irap_binary(&bytes).map(Horizon::Grid).map_err(at),
        HorizonFormat::IrapAscii => irap_ascii(&text(&bytes).map_err(at)?)
            .map(Horizon::Grid)
            .map_err(at),
        HorizonFormat::Zmap => zmap(&text(&bytes).map_err(at)?)
            .map(Horizon::Grid)
            .map_err(at),
        HorizonFormat::Columns => {
            columns_text(&text(&bytes).map_err(at)?, columns, looks_like_lines).map_err(at)
        }
    }
}

fn text(bytes: &[u8]) -> Result<String> {
    String::from_utf8(bytes.to_vec())
        .map_err(|_| anyhow!("not text: give --format for a binary grid"))
}

/// Whitespace- or comma-separated numbers of a line, `None` if one is not
/// a number.
fn numbers(line: &str) -> Option<Vec<f64>> {
    line.split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .filter(|t| !t.is_empty())
        .map(|t| t.parse::<f64>().ok())
        .collect()
}

/// The columns of a text horizon with `n` numbers per line: five are
/// inline crossline x y z (OpendTect, IESX); three are inline crossline z
/// when the first two are line numbers of the survey, else x y z.
pub fn guess_columns(
    n: usize,
    first: &[f64],
    looks_like_lines: &dyn Fn(f64, f64) -> bool,
) -> Result<Vec<Column>> {
    use Column::*;
    Ok(match n {
        3 if looks_like_lines(first[0], first[1]) => vec![Inline, Crossline, Z],
        3 => vec![X, Y, Z],
        4 => vec![X, Y, Z, Skip],
        5 => vec![Inline, Crossline, X, Y, Z],
        n => bail!("{n} numbers per line: give --columns (e.g. il,xl,z or x,y,z or il,xl,x,y,z)"),
    })
}

/// Column text: header and comment lines skipped (`#`, `!`, `//`, words,
/// Petrel's BEGIN HEADER … END HEADER); once the numbers start, every line
/// must be numbers.
fn columns_text(
    text: &str,
    columns: Option<&[Column]>,
    looks_like_lines: &dyn Fn(f64, f64) -> bool,
) -> Result<Horizon> {
    let mut chosen: Option<Vec<Column>> = columns.map(<[Column]>::to_vec);
    let mut points = Vec::new();
    let mut in_header = false;
    let mut started = false;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.eq_ignore_ascii_case("BEGIN HEADER") {
            in_header = true;
            continue;
        }
        if in_header {
            in_header = !line.eq_ignore_ascii_case("END HEADER");
            continue;
        }
        if line.is_empty()
            || line.starts_with('#')
            || line.starts_with('!')
            || line.starts_with("//")
        {
            continue;
        }
        let Some(v) = numbers(line) else {
            if started {
                bail!("line {}: not numbers: '{}'", n + 1, short(line));
            }
            continue; // a header line
        };
        started = true;
        let cols = match &chosen {
            Some(c) => c,
            None => chosen.insert(guess_columns(v.len(), &v, looks_like_lines)?),
        };
        if v.len() < cols.len() {
            bail!(
                "line {}: {} numbers, but the columns are {} ({cols:?})",
                n + 1,
                v.len(),
                cols.len()
            );
        }
        let get = |c: Column| cols.iter().position(|&k| k == c).map(|i| v[i]);
        let z = get(Column::Z).ok_or_else(|| anyhow!("--columns names no z column"))?;
        let position = match (
            get(Column::Inline),
            get(Column::Crossline),
            get(Column::X),
            get(Column::Y),
        ) {
            (Some(inline), Some(crossline), _, _) => Position::Lines { inline, crossline },
            (_, _, Some(x), Some(y)) => Position::Map { x, y },
            _ => bail!("--columns names neither il and xl nor x and y"),
        };
        points.push((position, if is_null(z) { f64::NAN } else { z }));
    }
    if points.is_empty() {
        bail!("no lines of numbers: is this a horizon file?");
    }
    Ok(Horizon::Points(points))
}

fn short(s: &str) -> String {
    match s.char_indices().nth(60) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

/// IRAP classic ASCII: `-996 ny xinc yinc`, `xmin xmax ymin ymax`,
/// `nx rotation xori yori`, seven zeros, then the values, x fastest.
fn irap_ascii(text: &str) -> Result<MapGrid> {
    let v: Vec<f64> = text
        .split_whitespace()
        .enumerate()
        .map(|(i, t)| {
            t.parse::<f64>().map_err(|_| {
                anyhow!(
                    "IRAP ASCII: value {} is not a number: '{}'",
                    i + 1,
                    short(t)
                )
            })
        })
        .collect::<Result<_>>()?;
    if v.len() < 19 || v[0] != -996.0 {
        bail!("not an IRAP classic ASCII grid (it starts with -996 and a 19-number header)");
    }
    let (ny, xinc, yinc) = (v[1], v[2], v[3]);
    let (nx, rotation, xori, yori) = (v[8], v[9], v[10], v[11]);
    grid(
        nx,
        ny,
        xori,
        yori,
        xinc,
        yinc,
        rotation,
        &v[19..],
        "IRAP ASCII",
    )
}

/// IRAP binary: big-endian Fortran records: (-996, ny, xmin, xmax, ymin,
/// ymax, xinc, yinc), (nx, rotation, xori, yori), seven integers, then
/// the values as f32, x fastest, over as many records as the writer chose.
fn irap_binary(bytes: &[u8]) -> Result<MapGrid> {
    let mut records = Vec::new();
    let mut at = 0usize;
    while at < bytes.len() {
        let len = read_u32(bytes, at)? as usize;
        let end = at + 4 + len;
        if end + 4 > bytes.len() || read_u32(bytes, end)? as usize != len {
            bail!("IRAP binary: record at byte {at} is cut short or its markers disagree");
        }
        records.push(&bytes[at + 4..end]);
        at = end + 4;
    }
    if records.len() < 4 || records[0].len() != 32 || records[1].len() != 16 {
        bail!("not an IRAP binary grid (its first records are 32 and 16 bytes)");
    }
    let f = |r: &[u8], i: usize| {
        f32::from_be_bytes(r[4 * i..4 * i + 4].try_into().expect("4 bytes")) as f64
    };
    let n = |r: &[u8], i: usize| {
        i32::from_be_bytes(r[4 * i..4 * i + 4].try_into().expect("4 bytes")) as f64
    };
    let (h, h2) = (records[0], records[1]);
    if n(h, 0) != -996.0 {
        bail!("not an IRAP binary grid (no -996 at its start)");
    }
    let values: Vec<f64> = records[3..]
        .iter()
        .flat_map(|r| {
            r.chunks_exact(4)
                .map(|b| f32::from_be_bytes(b.try_into().expect("4 bytes")) as f64)
        })
        .collect();
    grid(
        n(h2, 0),
        n(h, 1),
        f(h2, 2),
        f(h2, 3),
        f(h, 6),
        f(h, 7),
        f(h2, 1),
        &values,
        "IRAP binary",
    )
}

fn read_u32(bytes: &[u8], at: usize) -> Result<u32> {
    bytes
        .get(at..at + 4)
        .map(|b| u32::from_be_bytes(b.try_into().expect("4 bytes")))
        .ok_or_else(|| anyhow!("IRAP binary: cut short at byte {at}"))
}

#[allow(clippy::too_many_arguments)]
fn grid(
    nx: f64,
    ny: f64,
    xori: f64,
    yori: f64,
    xinc: f64,
    yinc: f64,
    rotation: f64,
    values: &[f64],
    what: &str,
) -> Result<MapGrid> {
    if !(nx >= 1.0 && ny >= 1.0 && nx.fract() == 0.0 && ny.fract() == 0.0) || nx * ny > 1e9 {
        bail!("{what}: grid size {nx} × {ny} is not a size");
    }
    if !(xinc > 0.0 && yinc > 0.0) {
        bail!("{what}: increments {xinc}, {yinc} must be positive");
    }
    let (nx, ny) = (nx as usize, ny as usize);
    if values.len() != nx * ny {
        bail!(
            "{what}: {} values for a {nx} × {ny} grid ({} expected)",
            values.len(),
            nx * ny
        );
    }
    Ok(MapGrid {
        nx,
        ny,
        xori,
        yori,
        xinc,
        yinc,
        rotation,
        values: values
            .iter()
            .map(|&z| if is_null(z) { f64::NAN } else { z })
            .collect(),
    })
}

/// ZMAP+: `!` comments, a header between `@… HEADER` and `@`: field width,
/// null value, null text, decimals, start column; rows, columns, xmin,
/// xmax, ymin, ymax; three zeros. Values by column from the west, each
/// from the north down.
fn zmap(text: &str) -> Result<MapGrid> {
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('!'));
    let head = lines.next().unwrap_or("");
    if !head.starts_with('@') || !head.to_ascii_uppercase().contains("GRID") {
        bail!("not a ZMAP+ grid (no '@… HEADER, GRID' line)");
    }
    let mut header: Vec<String> = Vec::new();
    for l in lines.by_ref() {
        if l.starts_with('@') {
            break;
        }
        header.extend(l.split(',').map(|t| t.trim().to_string()));
    }
    let num = |i: usize| -> Result<f64> {
        header
            .get(i)
            .and_then(|t| t.parse::<f64>().ok())
            .ok_or_else(|| anyhow!("ZMAP+: header value {} is missing or not a number", i + 1))
    };
    let null = num(1).or_else(|_| {
        header
            .get(2)
            .and_then(|t| t.parse::<f64>().ok())
            .ok_or_else(|| anyhow!("ZMAP+: no null value"))
    })?;
    let (rows, cols) = (num(5)?, num(6)?);
    let (xmin, xmax, ymin, ymax) = (num(7)?, num(8)?, num(9)?, num(10)?);
    let mut by_column = Vec::new();
    for (i, l) in lines.enumerate() {
        let v = numbers(l).ok_or_else(|| anyhow!("ZMAP+: data line {} is not numbers", i + 1))?;
        by_column.extend(v.into_iter().map(|z| if z == null { f64::NAN } else { z }));
    }
    let (nx, ny) = (cols as usize, rows as usize);
    if by_column.len() != nx * ny || nx < 2 || ny < 2 {
        bail!(
            "ZMAP+: {} values for {rows} rows × {cols} columns",
            by_column.len()
        );
    }
    // to rows from the south, x fastest
    let mut values = vec![f64::NAN; nx * ny];
    for i in 0..nx {
        for r in 0..ny {
            values[(ny - 1 - r) * nx + i] = by_column[i * ny + r];
        }
    }
    grid(
        nx as f64,
        ny as f64,
        xmin,
        ymin,
        (xmax - xmin) / (nx - 1) as f64,
        (ymax - ymin) / (ny - 1) as f64,
        0.0,
        &values,
        "ZMAP+",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nulls() {
        for z in [-999.25, 1e30, 9_999_900.0, -99_999.0, f64::NAN] {
            assert!(is_null(z), "{z}");
        }
        for z in [0.0, 1500.0, -999.0 + 0.5, 2000.25] {
            assert!(!is_null(z), "{z}");
        }
    }

    #[test]
    fn columns_with_headers_and_comments() {
        let t = "# exported\nInline Crossline Time\nBEGIN HEADER\nx\nEND HEADER\n100 200 1500.5\n101, 200, -999.25\n";
        let Horizon::Points(p) = columns_text(t, None, &|_, _| true).unwrap() else {
            panic!()
        };
        assert_eq!(p.len(), 2);
        assert_eq!(
            p[0].0,
            Position::Lines {
                inline: 100.0,
                crossline: 200.0
            }
        );
        assert!(p[1].1.is_nan());
        let e = columns_text("1 2 3\nx y z\n", None, &|_, _| true).unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
        let Horizon::Points(p) = columns_text("5000.5 7000.5 12\n", None, &|_, _| false).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            p[0].0,
            Position::Map {
                x: 5000.5,
                y: 7000.5
            }
        );
    }

    #[test]
    fn irap_ascii_and_binary_agree() {
        let text =
            "-996 2 25.0 50.0\n100 125 200 250\n2 30.0 100 200\n0 0 0 0 0 0 0\n1 2 9999900.0 4\n";
        let g = irap_ascii(text).unwrap();
        assert_eq!(
            (g.nx, g.ny, g.xinc, g.yinc, g.rotation),
            (2, 2, 25.0, 50.0, 30.0)
        );
        assert!(g.values[2].is_nan() && g.values[3] == 4.0);
        let rec = |b: Vec<u8>| {
            let mut r = (b.len() as u32).to_be_bytes().to_vec();
            r.extend(&b);
            r.extend((b.len() as u32).to_be_bytes());
            r
        };
        let be = |v: &[f32]| v.iter().flat_map(|x| x.to_be_bytes()).collect::<Vec<u8>>();
        let mut h = (-996i32).to_be_bytes().to_vec();
        h.extend(2i32.to_be_bytes());
        h.extend(be(&[100.0, 125.0, 200.0, 250.0, 25.0, 50.0]));
        let mut h2 = 2i32.to_be_bytes().to_vec();
        h2.extend(be(&[30.0, 100.0, 200.0]));
        let mut bytes = rec(h);
        bytes.extend(rec(h2));
        bytes.extend(rec(vec![0; 28]));
        bytes.extend(rec(be(&[1.0, 2.0])));
        bytes.extend(rec(be(&[9_999_900.0, 4.0])));
        assert_eq!(
            HorizonFormat::detect(&bytes),
            Some(HorizonFormat::IrapBinary)
        );
        let b = irap_binary(&bytes).unwrap();
        assert_eq!(b.nx, g.nx);
        assert_eq!(format!("{:?}", b.values), format!("{:?}", g.values));
    }

    #[test]
    fn zmap_columns_from_the_north() {
        let t = "! c\n@g HEADER, GRID, 5\n15, -99999.0, , 4, 1\n2, 3, 0.0, 20.0, 0.0, 10.0\n0.0, 0.0, 0.0\n@\n1 2 3 4 5 -99999.0\n";
        let g = zmap(t).unwrap();
        assert_eq!((g.nx, g.ny, g.xinc, g.yinc), (3, 2, 10.0, 10.0));
        // column 0 is 1 (north), 2 (south): the south row comes first
        assert_eq!(g.values[..2], [2.0, 4.0]);
        assert!(g.values[2].is_nan());
        assert_eq!(g.values[3..], [1.0, 3.0, 5.0]);
    }

    #[test]
    fn bilinear_on_a_rotated_grid() {
        let g = MapGrid {
            nx: 2,
            ny: 2,
            xori: 10.0,
            yori: 20.0,
            xinc: 2.0,
            yinc: 2.0,
            rotation: 90.0,
            values: vec![0.0, 1.0, 2.0, 3.0],
        };
        // the x axis points north: node (1, 0) is at (10, 22)
        assert!((g.sample(10.0, 22.0) - 1.0).abs() < 1e-9);
        assert!((g.sample(9.0, 21.0) - 1.5).abs() < 1e-9);
        assert!(g.sample(30.0, 30.0).is_nan());
    }
}
