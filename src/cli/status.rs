use std::path::PathBuf;

/// How far a job has got: chunks done per output, incomplete shards;
/// exits non-zero unless everything is complete.
#[derive(clap::Args)]
pub struct Args {
    /// The job spec, or an output dataset (a directory or s3://bucket/prefix).
    target: PathBuf,
    /// Check that every chunk is present and decodes.
    #[arg(long)]
    verify: bool,
    /// Report incomplete shards for this shard count (default: the
    /// count the last sharded run used).
    #[arg(long, value_name = "N")]
    shards: Option<usize>,
}

impl Args {
    pub fn execute(self) -> anyhow::Result<()> {
        if crate::lifecycle::status_report::report(&self.target, self.verify, self.shards)? {
            return Ok(());
        }
        anyhow::bail!(
            "{} is not complete{}",
            self.target.display(),
            if self.verify { " or not verified" } else { "" }
        )
    }
}
