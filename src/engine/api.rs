//! What the engine takes and gives: where input chunks come from, where
//! output chunks go, its options, and what a run did.

use attributes::Kernel;
use ndarray::{Array3, ArrayView3};

/// Where input chunks come from (a Zarr array, or memory in tests).
pub trait ChunkSource: Sync {
    fn shape(&self) -> [u64; 3];
    fn chunks(&self) -> [u64; 3];
    /// The decoded chunk, full chunk shape.
    fn read_chunk(&self, idx: [u64; 3]) -> anyhow::Result<Array3<f32>>;
    /// Chunk `idx` will be read soon: start fetching it if that helps.
    fn prefetch(&self, _idx: [u64; 3]) {}
    /// How many chunks to fetch ahead of the tasks (0: none; a store with
    /// latency wants many requests in flight).
    fn read_ahead(&self) -> usize {
        0
    }
}

/// Where output chunks go.
pub trait ChunkSink: Sync {
    /// `data` is the part of chunk `idx` inside the volume.
    fn write_chunk(&self, idx: [u64; 3], data: ArrayView3<f32>) -> anyhow::Result<()>;
}

/// One output as the engine sees it.
pub struct Target<'a> {
    pub kernel: &'a dyn Kernel,
    pub sink: &'a dyn ChunkSink,
}

/// What a run did.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub tasks: u64,
    pub chunks_written: u64,
    pub bytes_written: u64,
    pub decodes: u64,
    pub input_chunks_read: u64,
    pub wall_s: f64,
    /// Per output: whether any value written was finite, and non-zero.
    pub seen: Vec<(bool, bool)>,
}

impl Stats {
    pub fn decodes_per_chunk(&self) -> f64 {
        if self.input_chunks_read == 0 {
            0.0
        } else {
            self.decodes as f64 / self.input_chunks_read as f64
        }
    }
}

/// The run was stopped by a signal before all its tasks were done.
#[derive(Debug, thiserror::Error)]
#[error("interrupted after writing {chunks_written} chunks")]
pub struct Interrupted {
    pub chunks_written: u64,
}

pub struct RunOptions {
    pub workers: usize,
    pub cache_bytes: u64,
}
