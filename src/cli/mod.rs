//! The command line: one module per subcommand, each with its typed
//! arguments and the few lines that hand them to the library. Every flag is
//! documented here, so `--help` and the man page are the manual.

use anyhow::Context;

mod completions;
mod convert;
mod export;
mod info;
mod list;
mod plan;
mod run;
mod status;
mod submit;
mod synth;
mod view;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "attr",
    version = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("ATTR_COMMIT"), ")"),
    about = "Seismic attributes on Zarr volumes, block by block, in parallel",
    long_about = "Seismic attributes on Zarr volumes, block by block, in parallel.\n\n\
        A YAML job names the input volume, the attributes and the outputs; `attr run` reads each \
        output chunk plus the halo its kernel needs, pads the volume faces like Dask's \
        map_overlap, computes and writes xarray-readable Zarr datasets."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process
enum Command {
    Run(run::Args),
    List(list::Args),
    Plan(plan::Args),
    Status(status::Args),
    Submit(submit::Args),
    Info(info::Args),
    View(view::Args),
    /// Convert data to a Zarr dataset.
    Convert {
        #[command(subcommand)]
        what: convert::What,
    },
    /// Write data out.
    Export {
        #[command(subcommand)]
        what: export::What,
    },
    Synth(synth::Args),
    Completions(completions::Args),
    /// Print the manual page (roff): `attr man > attr.1; man ./attr.1`.
    Man,
}

/// Flags every command that writes a dataset takes.
#[derive(clap::Args)]
pub struct OutputArgs {
    /// Chunk shape, comma-separated (each command's default is in its help).
    #[arg(long, value_delimiter = ',')]
    pub chunks: Option<Vec<u64>>,
    /// Zarr format: 3, or 2 for older Python stacks.
    #[arg(long, default_value = "3")]
    pub format: crate::store::Format,
    /// zstd (level 1), zstd:LEVEL, blosc, gzip or none.
    #[arg(long, default_value = "zstd")]
    pub compression: crate::store::Compression,
    /// Replace the output if it exists.
    #[arg(long)]
    pub overwrite: bool,
    /// No progress and no summary.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Run(a) => a.execute(),
        Command::List(a) => a.execute(),
        Command::Plan(a) => a.execute(),
        Command::Status(a) => a.execute(),
        Command::Submit(a) => a.execute(),
        Command::Info(a) => a.execute(),
        Command::View(a) => a.execute(),
        Command::Convert { what } => what.execute(),
        Command::Export { what } => what.execute(),
        Command::Synth(a) => a.execute(),
        Command::Completions(a) => a.execute(),
        Command::Man => completions::man(),
    }
}

/// Run `f` on a pool of `threads` workers (default: the cores available).
fn with_threads<T: Send>(
    threads: Option<usize>,
    f: impl FnOnce() -> anyhow::Result<T> + Send,
) -> anyhow::Result<T> {
    let n = match threads {
        Some(0) => anyhow::bail!("--threads 0: give at least 1"),
        Some(n) => n,
        None => crate::batch::shards::default_workers(&crate::batch::shards::process_env).0,
    };
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .with_context(|| format!("cannot start {n} threads"))?
        .install(f)
}

/// A path as the scheduler's nodes will see it.
fn absolute(p: &std::path::Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}
