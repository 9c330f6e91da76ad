//! What several commands share: the flags of every command that writes a
//! dataset, a worker pool, paths as the scheduler's nodes see them.

use anyhow::Context;
use std::path::PathBuf;

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

/// Run `f` on a pool of `threads` workers (default: the cores available).
pub fn with_threads<T: Send>(
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
pub fn absolute(p: &std::path::Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}
