use std::path::PathBuf;

/// Write and submit an LSF or Slurm job array that runs a job in N
/// shards, plus a finalize job that verifies the result.
#[derive(clap::Args)]
pub struct Args {
    /// The job spec.
    job: PathBuf,
    #[arg(long, value_enum)]
    scheduler: crate::batch::job_array::Scheduler,
    /// Number of array elements (shards).
    #[arg(long)]
    shards: usize,
    /// Queue (LSF -q) or partition (Slurm -p).
    #[arg(long)]
    queue: Option<String>,
    /// Cores per element (LSF -n, Slurm --cpus-per-task); attr uses them all.
    #[arg(long)]
    cores: Option<usize>,
    /// Memory per element, GB.
    #[arg(long, value_name = "GB")]
    memory: Option<u32>,
    /// Wall-clock limit per element, HH:MM.
    #[arg(long, value_name = "HH:MM")]
    walltime: Option<String>,
    /// Project / account to charge (LSF -P, Slurm -A).
    #[arg(long)]
    project: Option<String>,
    /// At most this many elements running at once.
    #[arg(long, value_name = "K")]
    max_running: Option<usize>,
    /// GPUs per element.
    #[arg(long)]
    gpus: Option<usize>,
    /// Print the scripts instead of submitting them.
    #[arg(long)]
    dry_run: bool,
}

impl Args {
    pub fn execute(self) -> anyhow::Result<()> {
        // refuse a bad job now, not in N array elements later
        let settings = crate::lifecycle::Settings::inspect(Some(1), None, false)?;
        crate::lifecycle::check(
            crate::lifecycle::open(&self.job, &settings)?.as_ref(),
            &settings,
        )?;
        let name = self
            .job
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "job".into());
        let request = crate::batch::job_array::Request {
            scheduler: self.scheduler,
            name: format!("attr-{name}"),
            attr: std::env::current_exe()?,
            job: super::common::absolute(&self.job),
            workdir: super::common::absolute(&std::env::current_dir()?),
            shards: self.shards,
            queue: self.queue,
            cores: self.cores,
            memory_gb: self.memory,
            walltime: self.walltime,
            project: self.project,
            max_running: self.max_running,
            gpus: self.gpus,
        };
        crate::batch::job_array::submit(&request, self.dry_run)
    }
}
