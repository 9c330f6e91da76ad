use std::path::PathBuf;

/// Describe a SEG-Y file (what the converter would find), or a Zarr array
/// or dataset: shape, dtype, chunks, codecs, dims, attributes.
#[derive(clap::Args)]
pub struct Args {
    /// A SEG-Y/SU file, or a Zarr array or group: a directory, a zip file
    /// or an s3://bucket/prefix location.
    path: PathBuf,
}

impl Args {
    pub fn execute(self) -> anyhow::Result<()> {
        crate::io::inspect::print(&self.path)
    }
}
