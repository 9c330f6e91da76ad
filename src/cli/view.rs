use crate::viz::slice_view::Position;
use anyhow::bail;
use std::path::PathBuf;

/// Draw a slice of a volume (Zarr array, dataset or SEG-Y file) as a
/// PNG: axes in coordinate units, sample axis downwards, a colour bar.
#[derive(clap::Args)]
pub struct Args {
    /// Zarr array or dataset (a directory, a zip file or s3://bucket/prefix),
    /// or a .sgy/.segy file.
    path: PathBuf,
    /// Variable(s) of a dataset, comma-separated: drawn side by side.
    #[arg(long, value_delimiter = ',')]
    variable: Vec<String>,
    /// Inline slice, by inline number.
    #[arg(long, group = "slice", value_parser = finite)]
    inline: Option<f64>,
    /// Crossline slice, by crossline number.
    #[arg(long, group = "slice", value_parser = finite)]
    crossline: Option<f64>,
    /// Time (or depth) slice, by coordinate value (ms).
    #[arg(long, group = "slice", alias = "time", value_parser = finite)]
    sample: Option<f64>,
    /// Inline slice by index (0-based).
    #[arg(long, group = "slice")]
    index_inline: Option<usize>,
    /// Crossline slice by index.
    #[arg(long, group = "slice")]
    index_crossline: Option<usize>,
    /// Sample slice by index.
    #[arg(long, group = "slice")]
    index_sample: Option<usize>,
    /// Output PNG.
    #[arg(short, long)]
    output: PathBuf,
    /// Colour map (default: seismic for data of both signs, else viridis).
    #[arg(long, value_enum)]
    cmap: Option<crate::viz::render::Cmap>,
    /// Clip at this percentile (symmetric about 0 for amplitude-like data).
    #[arg(long, default_value_t = 99.0)]
    clip: f64,
    /// Fixed colour range LO,HI instead of clipping.
    #[arg(long, value_name = "LO,HI", allow_hyphen_values = true, value_parser = parse_range)]
    range: Option<(f32, f32)>,
    /// Other volumes on the same grid, drawn side by side (PATH, or
    /// PATH:VARIABLE for a variable of a dataset).
    #[arg(long, value_name = "PATH")]
    compare: Vec<PathBuf>,
    /// Horizons drawn as lines on a section: a horizon dataset
    /// (DATASET:VARIABLE for one of several) or a horizon file, placed on
    /// the first volume's survey. Repeatable.
    #[arg(long, value_name = "HORIZON")]
    horizon: Vec<PathBuf>,
    /// SEG-Y inline header byte, BYTE or BYTE:TYPE (default: as `attr
    /// convert segy` finds it).
    #[arg(long, value_name = "BYTE[:TYPE]")]
    iline_byte: Option<crate::io::segy::Field>,
    /// SEG-Y crossline header byte, BYTE or BYTE:TYPE.
    #[arg(long, value_name = "BYTE[:TYPE]")]
    xline_byte: Option<crate::io::segy::Field>,
}

fn parse_range(r: &str) -> Result<(f32, f32), String> {
    let v: Vec<f32> = r.split(',').filter_map(|x| x.trim().parse().ok()).collect();
    match v.as_slice() {
        [lo, hi] if hi > lo => Ok((*lo, *hi)),
        _ => Err(format!("'{r}': expected LO,HI with LO < HI")),
    }
}

impl Args {
    /// The slice asked for: an axis and a position on it.
    fn slice(&self) -> anyhow::Result<(usize, Position)> {
        Ok(match self {
            Args {
                inline: Some(v), ..
            } => (0, Position::Value(*v)),
            Args {
                crossline: Some(v), ..
            } => (1, Position::Value(*v)),
            Args {
                sample: Some(v), ..
            } => (2, Position::Value(*v)),
            Args {
                index_inline: Some(i),
                ..
            } => (0, Position::Index(*i)),
            Args {
                index_crossline: Some(i),
                ..
            } => (1, Position::Index(*i)),
            Args {
                index_sample: Some(i),
                ..
            } => (2, Position::Index(*i)),
            // a 2-D line has one "inline": draw it whole
            _ if crate::store::Location::parse(&self.path, &Default::default())
                .and_then(|at| {
                    crate::store::Input::open(&at, self.variable.first().map(String::as_str))
                })
                .is_ok_and(|i| i.ndim == 2) =>
            {
                (0, Position::Index(0))
            }
            _ => bail!(
                "say which slice: --inline N, --crossline N, --sample MS (or --index-inline I, ...)"
            ),
        })
    }

    pub fn execute(self) -> anyhow::Result<()> {
        let (axis, position) = self.slice()?;
        if !(50.0..=100.0).contains(&self.clip) {
            bail!("--clip {}: give a percentile between 50 and 100", self.clip);
        }
        let mut paths = vec![self.path];
        paths.extend(self.compare);
        crate::viz::slice_view::view(&crate::viz::slice_view::Request {
            paths,
            variables: self.variable,
            axis,
            position,
            output: self.output,
            cmap: self.cmap,
            clip: self.clip,
            range: self.range,
            horizons: self.horizon,
            keys: crate::io::segy::Choice {
                iline: self.iline_byte,
                xline: self.xline_byte,
                ..Default::default()
            },
        })
    }
}

/// A coordinate: a finite number (NaN and infinities name no slice).
fn finite(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(format!(
            "'{text}' is not a coordinate: give a finite number"
        )),
        Err(e) => Err(format!("'{text}': {e}")),
    }
}
