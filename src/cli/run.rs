use std::path::PathBuf;

/// Run a job spec: compute its attributes and write its outputs, or
/// classify facies (a job with a `classify:` section).
#[derive(clap::Args)]
pub struct Args {
    /// The YAML job spec (docs/job-spec.md).
    job: PathBuf,
    /// Worker threads (default: the job's `workers`, else all cores).
    #[arg(long)]
    workers: Option<usize>,
    /// Memory the run may use, in MiB (default: the job's memory_mb, else
    /// 3/4 of the Slurm allocation or cgroup limit, else half the
    /// machine's available memory). Large chunks are computed in tiles
    /// to fit; `attr plan` shows the estimate.
    #[arg(long, value_name = "MB")]
    memory: Option<u64>,
    /// Replace outputs that already exist.
    #[arg(long)]
    overwrite: bool,
    /// Check the job and show the work without writing anything.
    #[arg(long)]
    dry_run: bool,
    /// No progress and no summary.
    #[arg(long, short)]
    quiet: bool,
    /// Compute only shard I of N (0-based). Without it, a Slurm or LSF
    /// array task takes its shard from the environment.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// Number of shards, for an array task whose environment does not
    /// give it (an LSF array that is not [1-N]).
    #[arg(long, value_name = "N")]
    shards: Option<usize>,
    /// Skip chunks a previous run completed (default when the scheduler
    /// requeued the job: LSB_RESTART=Y or SLURM_RESTART_COUNT > 0).
    #[arg(long)]
    resume: bool,
    /// Check a published output's chunks against their recorded
    /// checksums and rewrite those that are damaged or missing
    /// (`--resume` does the same on a published output).
    #[arg(long)]
    repair: bool,
    /// Refuse input chunks missing from the store, instead of reading them
    /// as the fill value (Zarr's rule); also the job key `strict_input`.
    #[arg(long)]
    strict_input: bool,
    /// Write more chunk files than a job writes without it (2,000,000):
    /// each chunk is a file, and a file system has only so many.
    #[arg(long)]
    force: bool,
}

impl Args {
    pub fn execute(self) -> anyhow::Result<()> {
        crate::console::keep_going();
        crate::lifecycle::run(
            &self.job,
            crate::lifecycle::Flags {
                workers: self.workers,
                memory_mb: self.memory,
                overwrite: self.overwrite,
                dry_run: self.dry_run,
                quiet: self.quiet,
                shard: self.shard,
                shards: self.shards,
                resume: self.resume,
                repair: self.repair,
                strict_input: self.strict_input,
                force: self.force,
            },
        )
    }
}
