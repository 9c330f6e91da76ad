/// List the attributes with their parameters, defaults, halos and units.
#[derive(clap::Args)]
pub struct Args {
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
    /// The attribute table as Markdown (docs/attributes.md).
    #[arg(long, conflicts_with = "json")]
    markdown: bool,
}

impl Args {
    pub fn execute(self) -> anyhow::Result<()> {
        if self.markdown {
            crate::outln!("{}", crate::catalog::markdown().trim_end_matches('\n'));
            return Ok(());
        }
        crate::catalog::print(self.json)
    }
}
