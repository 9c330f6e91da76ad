use crate::io::horizon_files::{Column, HorizonFormat};
use std::path::PathBuf;

#[derive(clap::Subcommand)]
pub enum What {
    Import(Import),
}

impl What {
    pub fn execute(self) -> anyhow::Result<()> {
        match self {
            What::Import(a) => a.execute(),
        }
    }
}

/// A horizon file placed on a survey's traces, stored as a 2-D dataset
/// (inline, crossline): variable `z` in the survey's sample unit (NaN where
/// missing), the survey's inline/crossline numbers and cdp_x/cdp_y.
///
/// Formats: column text (inline crossline z; x y z; inline crossline x y z,
/// as Petrel, OpendTect, IESX and OpenWorks export them; header and comment
/// lines skipped), IRAP classic ASCII and binary grids, ZMAP+ grids, and
/// 2-D Zarr arrays or datasets on (inline, crossline): a dataset's `z` (or
/// DATASET:VARIABLE) on its inline/crossline coordinates, or a plain array
/// of the survey's shape.
/// Points land on their nearest trace; x/y points and grids go through the
/// survey's affine transform fitted from its cdp_x/cdp_y, and grids are
/// sampled bilinearly at each trace. Null values (-999.25, -999, 1e30 and
/// above, 9999900, ±99999, NaN) stay missing; Petrel's negative times are
/// read as positive.
#[derive(clap::Args)]
pub struct Import {
    /// The horizon file.
    file: PathBuf,
    /// The dataset to write.
    output: PathBuf,
    /// The survey the horizon belongs to (a dataset with the volume).
    #[arg(long)]
    survey: PathBuf,
    /// The file's format (default: detected from its first bytes).
    #[arg(long, value_enum)]
    format: Option<HorizonFormat>,
    /// What each column of a text file holds, comma-separated: il, xl, x,
    /// y, z, or skip (-). Default: five columns are il,xl,x,y,z; three are
    /// il,xl,z when the first two are the survey's line numbers, else
    /// x,y,z.
    #[arg(long, value_delimiter = ',')]
    columns: Option<Vec<Column>>,
    #[arg(long)]
    overwrite: bool,
    /// No summary.
    #[arg(short, long)]
    quiet: bool,
}

impl Import {
    fn execute(self) -> anyhow::Result<()> {
        crate::io::horizon_import::import(
            &self.file,
            &self.output,
            &self.survey,
            &crate::io::horizon_import::ImportOptions {
                format: self.format,
                columns: self.columns,
                overwrite: self.overwrite,
                quiet: self.quiet,
            },
        )
    }
}
