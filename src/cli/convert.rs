use super::common::{with_threads, OutputArgs};
use crate::io::segy::{Choice, Field, Keys, Preset};
use crate::io::segy_import::Span;
use std::path::PathBuf;

#[derive(clap::Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process
pub enum What {
    Segy(Segy),
    Images(Images),
}

impl What {
    pub fn execute(self) -> anyhow::Result<()> {
        match self {
            What::Segy(a) => a.execute(),
            What::Images(a) => a.execute(),
        }
    }
}

/// The sample type of the converted volume.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SampleType {
    Float32,
    /// The file's own type (integers stay integers).
    Native,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ByteOrder {
    Big,
    Little,
}

/// A post-stack 3-D SEG-Y file: amplitude (inline, crossline, time),
/// coordinates, trace_mask, cdp_x/cdp_y, raw trace headers, and the
/// textual and binary headers as metadata. Chunks default to 64,64,128
/// (cubes that lateral attribute windows read few of, with traces long
/// enough for FFTs); a 2-D line takes traces,sample (1024,128).
#[derive(clap::Args)]
pub struct Segy {
    /// The SEG-Y or SU file.
    input: PathBuf,
    /// The dataset to write: a directory or an s3://bucket/prefix location.
    output: PathBuf,
    /// Header byte layout. Default: the file's rev 2.1 XML trace-header
    /// layout when it has one, su for .su files, else standard.
    #[arg(long, value_enum)]
    preset: Option<Preset>,
    /// Inline header byte, overriding the preset, as BYTE or BYTE:TYPE
    /// (int4 by default; int2, int8, uint2, uint4, uint8); with --preset
    /// cdp, the line's trace key.
    #[arg(long, value_name = "BYTE[:TYPE]")]
    iline_byte: Option<Field>,
    /// Crossline header byte, overriding the preset: BYTE or BYTE:TYPE.
    #[arg(long, value_name = "BYTE[:TYPE]")]
    xline_byte: Option<Field>,
    /// Offset header byte (usually 37): pre-stack gathers, stored as
    /// (inline, crossline, offset, time). BYTE or BYTE:TYPE.
    #[arg(long, value_name = "BYTE[:TYPE]")]
    offset_byte: Option<Field>,
    /// Only these inlines (cdps for a 2-D line): A:B or A:B:STEP, line
    /// numbers, inclusive.
    #[arg(long, value_name = "A:B[:STEP]")]
    inlines: Option<Span>,
    /// Only these crosslines: A:B or A:B:STEP, inclusive.
    #[arg(long, value_name = "A:B[:STEP]")]
    crosslines: Option<Span>,
    /// Only these samples: indices A:B or A:B:STEP, inclusive, from 0.
    #[arg(long, value_name = "A:B[:STEP]")]
    samples: Option<Span>,
    /// Only the samples between these times, ms, inclusive (e.g. 500:1500).
    #[arg(long, value_name = "A:B", value_parser = parse_time_range)]
    time: Option<(f64, f64)>,
    /// Byte order, instead of detecting it (from the 3297-3300 constant,
    /// else the order that makes the format code valid).
    #[arg(long, value_enum)]
    byte_order: Option<ByteOrder>,
    /// Sample type.
    #[arg(long, value_enum, default_value = "float32")]
    dtype: SampleType,
    /// Value for missing traces (default NaN; needed for native integers).
    #[arg(long)]
    fill: Option<f64>,
    /// Treat traces of only zeros (as Petrel pads a survey's outline) as
    /// missing: filled like absent traces and 0 in trace_mask.
    #[arg(long)]
    dead_as_missing: bool,
    /// Worker threads (default: the cores available to the job).
    #[arg(long)]
    threads: Option<usize>,
    #[command(flatten)]
    out: OutputArgs,
}

fn parse_time_range(v: &str) -> Result<(f64, f64), String> {
    let (a, b) = v
        .split_once(':')
        .ok_or_else(|| format!("'{v}': give START:END in ms, e.g. 500:1500"))?;
    let num = |p: &str| {
        p.trim()
            .parse::<f64>()
            .map_err(|_| format!("'{v}': '{p}' is not a number of ms"))
    };
    let (a, b) = (num(a)?, num(b)?);
    if b < a {
        return Err(format!("'{v}': the end is before the start"));
    }
    Ok((a, b))
}

impl Segy {
    fn execute(self) -> anyhow::Result<()> {
        let options = crate::io::segy_import::ImportOptions {
            keys: Keys::resolve(
                &self.input,
                &Choice {
                    preset: self.preset,
                    iline: self.iline_byte,
                    xline: self.xline_byte,
                    offset: self.offset_byte,
                    big_endian: self.byte_order.map(|b| b == ByteOrder::Big),
                },
            )
            .map_err(anyhow::Error::msg)?,
            inlines: self.inlines,
            crosslines: self.crosslines,
            samples: self.samples,
            time: self.time,
            native: self.dtype == SampleType::Native,
            chunks: self.out.chunks,
            format: self.out.format,
            compression: self.out.compression,
            fill: self.fill,
            dead_as_missing: self.dead_as_missing,
            overwrite: self.out.overwrite,
            quiet: self.out.quiet,
        };
        with_threads(self.threads, || {
            crate::io::segy_import::segy(&self.input, &self.output, &options)
        })
    }
}

/// A stack of PNG or TIFF slices (8/16-bit grey, 32-bit float TIFF,
/// multi-page TIFF) as one 3-D variable `image`, stacked along axis 0
/// in natural order ("slice_2" before "slice_10"), dtype preserved.
/// Chunks default to 16,256,256.
#[derive(clap::Args)]
pub struct Images {
    /// Files, directories or glob patterns, then the output dataset.
    #[arg(required = true, num_args = 2..)]
    paths: Vec<String>,
    /// Dimension names, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "slice,row,column")]
    dims: Vec<String>,
    /// Worker threads (default: the cores available to the job).
    #[arg(long)]
    threads: Option<usize>,
    #[command(flatten)]
    out: OutputArgs,
}

impl Images {
    fn execute(mut self) -> anyhow::Result<()> {
        let output = PathBuf::from(self.paths.pop().expect("clap requires two paths"));
        let dims: [String; 3] = self
            .dims
            .try_into()
            .map_err(|d: Vec<String>| anyhow::anyhow!("--dims needs 3 names, got {}", d.len()))?;
        let options = crate::io::image_stack::StackOptions {
            dims,
            chunks: self.out.chunks,
            format: self.out.format,
            compression: self.out.compression,
            overwrite: self.out.overwrite,
            quiet: self.out.quiet,
        };
        with_threads(self.threads, || {
            crate::io::image_stack::convert(&self.paths, &output, &options)
        })
    }
}
