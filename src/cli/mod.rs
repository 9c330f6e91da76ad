//! The command line: one module per subcommand, each with its typed
//! arguments and the few lines that hand them to the library. Every flag is
//! documented here, so `--help` and the man page are the manual.

mod common;
mod completions;
mod convert;
mod export;
mod horizon;
mod info;
mod list;
mod plan;
mod run;
mod status;
mod submit;
mod synth;
mod view;

use clap::{CommandFactory, Parser, Subcommand};

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
    /// Horizons: import a horizon file onto a survey.
    Horizon {
        #[command(subcommand)]
        what: horizon::What,
    },
    Synth(synth::Args),
    Completions(completions::Args),
    /// Print the manual page (roff): `attr man > attr.1; man ./attr.1`.
    Man,
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
        Command::Horizon { what } => what.execute(),
        Command::Synth(a) => a.execute(),
        Command::Completions(a) => a.execute(Cli::command()),
        Command::Man => completions::man(Cli::command()),
    }
}
