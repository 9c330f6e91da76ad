//! `attr`: seismic attributes on Zarr volumes, block by block, in parallel.

mod allocator;
mod classify;
mod commands;
mod console;
mod convert;
mod engine;
mod export;
mod images;
mod info;
mod job;
mod lifecycle;
mod list;
mod planview;
mod progress;
mod render;
mod segy;
mod shard;
mod status;
mod store;
mod submit;
mod synth;
mod view;

use std::process::ExitCode;

fn main() -> ExitCode {
    allocator::keep_freed_pages();
    // every chunk is written, even all-zero ones, so that a finished dataset
    // can be verified chunk by chunk
    zarrs::config::global_config_mut().set_store_empty_chunks(true);
    match commands::main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let msg = format!("{e:#}");
            crate::noteln!("error: {}", msg.lines().collect::<Vec<_>>().join(" "));
            ExitCode::FAILURE
        }
    }
}
