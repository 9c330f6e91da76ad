use std::path::PathBuf;

#[derive(clap::Subcommand)]
pub enum What {
    Segy(Segy),
    Map(Map),
}

impl What {
    pub fn execute(self) -> anyhow::Result<()> {
        match self {
            What::Segy(a) => a.execute(),
            What::Map(a) => a.execute(),
        }
    }
}

/// A map or horizon (a 2-D variable on inline, crossline, with cdp_x and
/// cdp_y) as a file Petrel, RMS and xtgeo import: IRAP classic ASCII or
/// IRAP binary on the survey's own rotated grid, ZMAP+ resampled bilinearly onto a
/// north-aligned grid (ZMAP+ has no rotation), or x y z columns of the
/// live cells. Missing cells are the format's null value.
#[derive(clap::Args)]
pub struct Map {
    /// DATASET:VARIABLE, e.g. maps.zarr:top_rms (a horizon dataset: its `z`).
    input: String,
    /// The file to write.
    output: PathBuf,
    #[arg(long, value_enum, default_value = "irap")]
    format: crate::io::map_export::MapFormat,
    #[arg(long)]
    overwrite: bool,
}

impl Map {
    fn execute(self) -> anyhow::Result<()> {
        let (dataset, variable) = crate::store::split_variable(std::path::Path::new(&self.input));
        let variable = variable.unwrap_or_else(|| "z".to_string());
        crate::io::map_export::export(
            &dataset,
            &variable,
            &self.output,
            self.format,
            self.overwrite,
        )
    }
}

/// The sample format of an exported SEG-Y file.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum SegyFormat {
    /// IBM float (format 1).
    #[value(name = "1")]
    Ibm,
    /// IEEE float (format 5).
    #[value(name = "5")]
    Ieee,
}

/// A 3-D variable of a dataset as SEG-Y, with the original textual,
/// binary and trace headers when the dataset came from `attr convert
/// segy` (sample count, interval and format updated); missing traces
/// (trace_mask) are skipped.
#[derive(clap::Args)]
pub struct Segy {
    /// The dataset to export: a directory, a zip file or s3://bucket/prefix.
    input: PathBuf,
    /// The SEG-Y file to write.
    output: PathBuf,
    /// The variable to write (default: the dataset's volume).
    #[arg(long)]
    variable: Option<String>,
    /// Sample format: 5 (IEEE float) or 1 (IBM float).
    #[arg(long, value_enum, default_value = "5")]
    format: SegyFormat,
    /// Reuse this SEG-Y file's textual, binary and trace headers (traces
    /// matched by inline/crossline), e.g. for a dataset made by `attr
    /// convert images` or another tool.
    #[arg(long, value_name = "ORIG.sgy")]
    template: Option<PathBuf>,
    #[arg(long)]
    overwrite: bool,
}

impl Segy {
    fn execute(self) -> anyhow::Result<()> {
        crate::io::segy_export::segy(
            &self.input,
            &self.output,
            &crate::io::segy_export::ExportOptions {
                variable: self.variable,
                format: match self.format {
                    SegyFormat::Ibm => crate::io::segy::SampleFormat::Ibm,
                    SegyFormat::Ieee => crate::io::segy::SampleFormat::Ieee,
                },
                overwrite: self.overwrite,
                template: self.template,
            },
        )
    }
}
