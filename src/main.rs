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
mod list;
mod planview;
mod progress;
mod render;
mod runner;
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

/// Peak resident memory of this process, from the kernel's accounting.
pub fn peak_memory() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(format!("{:.0} MiB", kb / 1024.0))
}

/// Memory the kernel says is available for new allocations.
pub fn available_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb << 10)
}
