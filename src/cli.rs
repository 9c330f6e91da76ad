//! Command-line interface: each subcommand is documented here, so `--help`
//! is the manual.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "attr",
    version,
    about = "Seismic attributes on Zarr volumes, block by block, in parallel",
    long_about = "Seismic attributes on Zarr volumes, block by block, in parallel.\n\n\
        A YAML job names the input volume, the attributes and the outputs; `attr run` reads each \
        output chunk plus the halo its kernel needs, pads the volume faces like Dask's \
        map_overlap, computes and writes xarray-readable Zarr datasets."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a job spec: compute its attributes and write its outputs.
    Run {
        /// The YAML job spec (see README: "Job spec reference").
        job: PathBuf,
        /// Worker threads (default: the job's `workers`, else all cores).
        #[arg(long)]
        workers: Option<usize>,
        /// Replace outputs that already exist.
        #[arg(long)]
        overwrite: bool,
        /// Check the job and show the work without writing anything.
        #[arg(long)]
        dry_run: bool,
        /// No progress and no summary.
        #[arg(long, short)]
        quiet: bool,
    },
    /// List the attributes with their parameters, defaults, halos and units.
    List {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Describe a Zarr array or dataset: shape, dtype, chunks, codecs, dims, attributes.
    Info {
        /// Path of a Zarr array or group.
        path: PathBuf,
    },
}

pub fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Run {
            job,
            workers,
            overwrite,
            dry_run,
            quiet,
        } => crate::runner::run(
            &job,
            &crate::runner::RunOptions {
                workers,
                overwrite,
                dry_run,
                quiet,
            },
        ),
        Command::List { json } => crate::list::print(json),
        Command::Info { path } => crate::info::print(&path),
    }
}
