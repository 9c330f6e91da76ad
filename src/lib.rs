//! `attr`: seismic attributes on Zarr volumes, block by block, in parallel.
//!
//! The library behind the `attr` command. Its layers, from the top:
//! [`cli`] (the command line) → [`lifecycle`] (the life of every job:
//! settings, staging, shards, resume, repair, publishing), [`maps`]
//! (horizons on a survey, window statistics) over [`io`] (SEG-Y, image
//! stacks, horizons, synthetics), and [`viz`] → [`job`] (the YAML spec and
//! its resolution), [`classify`] and [`batch`] (what a scheduler says) →
//! [`engine`] (blocks with halos in parallel) and [`store`] (Zarr datasets,
//! local, zip or S3) → the `attributes` crate (the kernels).

pub mod allocator;
pub mod batch;
pub mod catalog;
pub mod classify;
pub mod cli;
pub mod console;
pub mod engine;
pub mod io;
pub mod job;
pub mod lifecycle;
pub mod maps;
pub mod progress;
pub mod store;
pub mod viz;

use std::process::ExitCode;

/// The `attr` command: parse the command line, run it, and report an
/// error on one line.
pub fn main() -> ExitCode {
    allocator::keep_freed_pages();
    // every chunk is written, even all-zero ones, so that a finished dataset
    // can be verified chunk by chunk
    zarrs::config::global_config_mut().set_store_empty_chunks(true);
    match cli::main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let msg = format!("{e:#}");
            crate::noteln!("error: {}", msg.lines().collect::<Vec<_>>().join(" "));
            ExitCode::FAILURE
        }
    }
}
