use super::common::OutputArgs;
use anyhow::bail;
use std::path::PathBuf;

/// Write a deterministic synthetic survey: folded reflectors (random
/// reflectivity convolved with a 30 Hz Ricker wavelet at 4 ms), three
/// normal faults with throw, a meandering channel, noise, and an
/// irregular outline of missing traces (NaN, trace_mask 0). The same
/// seed gives the same bytes, whatever the chunks or threads. Chunks
/// default to 64,64,128.
#[derive(clap::Args)]
pub struct Args {
    /// Output dataset: amplitude, trace_mask, inline/crossline/time.
    output: PathBuf,
    /// inlines,crosslines,samples.
    #[arg(long, value_delimiter = ',', default_value = "128,96,256")]
    shape: Vec<usize>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Noise, relative to a unit reflection coefficient.
    #[arg(long, default_value_t = 0.05)]
    noise: f32,
    /// No outline: every trace live, a plain rectangle (for benchmarks
    /// and comparisons with tools that do not skip missing traces).
    #[arg(long)]
    full: bool,
    #[command(flatten)]
    out: OutputArgs,
}

impl Args {
    pub fn execute(self) -> anyhow::Result<()> {
        let chunks = self.out.chunks.unwrap_or(vec![64, 64, 128]);
        let (&[i, x, t], &[a, b, c]) = (self.shape.as_slice(), chunks.as_slice()) else {
            bail!("--shape and --chunks take three sizes each, e.g. --shape 128,96,256");
        };
        crate::io::synthetic::synth(
            &self.output,
            &crate::io::synthetic::SynthOptions {
                shape: [i, x, t],
                chunks: [a, b, c],
                seed: self.seed,
                noise: self.noise,
                full: self.full,
                format: self.out.format,
                compression: self.out.compression,
                overwrite: self.out.overwrite,
                quiet: self.out.quiet,
            },
        )
    }
}
