use std::path::PathBuf;

/// Show the work a job will do, without doing it: chunks, halos, tasks,
/// bytes to read and write, decodes, memory, and the split into shards.
#[derive(clap::Args)]
pub struct Args {
    /// The job spec.
    job: PathBuf,
    /// Workers to plan for (default as `attr run`).
    #[arg(long)]
    workers: Option<usize>,
    /// Memory budget to plan for, in MiB (default as `attr run`).
    #[arg(long, value_name = "MB")]
    memory: Option<u64>,
    /// Show how the work splits over N shards.
    #[arg(long, value_name = "N")]
    shards: Option<usize>,
    /// Draw the block graph: .dot, or .png/.svg/.pdf with Graphviz installed.
    #[arg(long, value_name = "FILE")]
    graph: Option<PathBuf>,
    /// Plan a job that writes more chunk files than a job writes without
    /// it (2,000,000).
    #[arg(long)]
    force: bool,
}

impl Args {
    pub fn execute(self) -> anyhow::Result<()> {
        let settings = crate::lifecycle::Settings::inspect(self.workers, self.memory, self.force)?;
        let job = crate::lifecycle::open(&self.job, &settings)?;
        crate::lifecycle::check(job.as_ref(), &settings)?;
        job.plan(self.shards, self.graph.as_deref())
    }
}
