//! The work plan: a pure function of the job and the input's metadata.
//!
//! Outputs that share an output chunk shape form a group; a group's work unit
//! (a task) is one output chunk, widened to the whole axis where some kernel
//! of the group needs the whole axis (an FFT over the trace), so such a
//! kernel runs once per column instead of once per chunk of it.

use super::boundary::Boundary;
use attributes::Halo;

/// A box in volume coordinates: `start..end` per axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    pub start: [u64; 3],
    pub end: [u64; 3],
}

impl Region {
    pub fn len(&self) -> [usize; 3] {
        [0, 1, 2].map(|a| (self.end[a] - self.start[a]) as usize)
    }
}

/// Outputs computed from the same gathered block.
#[derive(Clone, Debug)]
pub struct Group {
    /// Output chunk shape of every member.
    pub chunks: [u64; 3],
    /// Output chunks per task along each axis.
    pub span: [u64; 3],
    /// Indices of the member outputs.
    pub outputs: Vec<usize>,
    /// Halo of each member, in `outputs` order.
    pub halos: Vec<[Halo; 3]>,
    /// Padding gathered around a task: the largest finite depth per axis.
    pub pad: [u64; 3],
}

#[derive(Clone, Copy, Debug)]
pub struct Task {
    pub group: usize,
    pub region: Region,
    /// First output chunk and number of chunks per axis.
    pub first_chunk: [u64; 3],
    pub nchunks: [u64; 3],
}

impl Task {
    pub fn chunk_count(&self) -> u64 {
        self.nchunks.iter().product()
    }

    /// Output chunk indices this task writes.
    pub fn chunks(&self) -> impl Iterator<Item = [u64; 3]> + '_ {
        let [a, b, c] = self.nchunks;
        (0..a)
            .flat_map(move |i| (0..b).flat_map(move |j| (0..c).map(move |k| [i, j, k])))
            .map(move |d| [0, 1, 2].map(|x| self.first_chunk[x] + d[x]))
    }
}

pub struct Plan {
    pub shape: [u64; 3],
    pub input_chunks: [u64; 3],
    pub boundary: Boundary,
    pub groups: Vec<Group>,
    pub tasks: Vec<Task>,
}

/// One output's needs, as the planner sees them.
pub struct OutputNeeds {
    pub chunks: [u64; 3],
    pub halo: [Halo; 3],
}

impl Plan {
    pub fn new(
        shape: [u64; 3],
        input_chunks: [u64; 3],
        boundary: Boundary,
        outputs: &[OutputNeeds],
    ) -> Plan {
        let mut groups: Vec<Group> = Vec::new();
        for (i, o) in outputs.iter().enumerate() {
            // a dummy axis (2-D lines) never needs a halo
            let halo = [0, 1, 2].map(|a| {
                if shape[a] == 1 {
                    Halo::Depth(0)
                } else {
                    o.halo[a]
                }
            });
            match groups.iter_mut().find(|g| g.chunks == o.chunks) {
                Some(g) => {
                    g.outputs.push(i);
                    g.halos.push(halo);
                }
                None => groups.push(Group {
                    chunks: o.chunks,
                    span: [1; 3],
                    outputs: vec![i],
                    halos: vec![halo],
                    pad: [0; 3],
                }),
            }
        }
        let mut tasks = Vec::new();
        for (gi, g) in groups.iter_mut().enumerate() {
            let grid = [0, 1, 2].map(|a| shape[a].div_ceil(g.chunks[a]));
            for a in 0..3 {
                let full = g.halos.iter().any(|h| h[a] == Halo::Full);
                g.span[a] = if full { grid[a] } else { 1 };
                g.pad[a] = g
                    .halos
                    .iter()
                    .map(|h| match h[a] {
                        Halo::Depth(d) => d as u64,
                        Halo::Full => 0,
                    })
                    .max()
                    .unwrap_or(0);
            }
            let tgrid = [0, 1, 2].map(|a| grid[a].div_ceil(g.span[a]));
            for ti in 0..tgrid[0] {
                for tj in 0..tgrid[1] {
                    for tk in 0..tgrid[2] {
                        let t = [ti, tj, tk];
                        let first_chunk = [0, 1, 2].map(|a| t[a] * g.span[a]);
                        let nchunks = [0, 1, 2].map(|a| g.span[a].min(grid[a] - first_chunk[a]));
                        let start = [0, 1, 2].map(|a| first_chunk[a] * g.chunks[a]);
                        let end = [0, 1, 2]
                            .map(|a| ((first_chunk[a] + nchunks[a]) * g.chunks[a]).min(shape[a]));
                        tasks.push(Task {
                            group: gi,
                            region: Region { start, end },
                            first_chunk,
                            nchunks,
                        });
                    }
                }
            }
        }
        Plan {
            shape,
            input_chunks,
            boundary,
            groups,
            tasks,
        }
    }

    /// The block gathered for a task: volume coordinates (may reach outside
    /// the volume, where the boundary mode fills in) as `start..end`.
    /// Expected peak memory of a run with `workers` over `cache_bytes` of
    /// decoded-chunk cache, `copies[i]` being the block-sized arrays output
    /// `i`'s kernel holds (`Kernel::working_copies`): per worker, the largest
    /// block times its group's kernels (the largest, plus a result for each
    /// other output: intermediates are shared); the cache front, which
    /// spans about three slabs of input chunks when blocks overlap across
    /// the first axis and the tasks in flight otherwise; and the process.
    pub fn memory_estimate(&self, workers: usize, cache_bytes: u64, copies: &[f32]) -> u64 {
        let chunk_bytes = self.input_chunks.iter().product::<u64>() * 4;
        let grid = [0, 1, 2].map(|a| self.shape[a].div_ceil(self.input_chunks[a]));
        let mut per_worker = 0u64;
        let mut front = 0u64;
        for (gi, g) in self.groups.iter().enumerate() {
            let (mut block, mut task_chunks) = (0u64, 0u64);
            for t in self.tasks.iter().filter(|t| t.group == gi) {
                let (s, e) = self.block_extent(t);
                block = block.max((0..3).map(|a| (e[a] - s[a]) as u64).product::<u64>());
                let per_axis = self.input_chunks_per_axis(t);
                task_chunks = task_chunks.max(per_axis.iter().map(|v| v.len() as u64).product());
            }
            let most = g.outputs.iter().map(|&o| copies[o]).fold(0.0, f32::max);
            let factor = most + (g.outputs.len() as f32 - 1.0);
            per_worker = per_worker.max((block as f32 * 4.0 * factor) as u64);
            let overlap = g.pad[0] > 0;
            let chunks = if overlap {
                3 * grid[1] * grid[2]
            } else {
                workers as u64 * task_chunks
            };
            front = front.max(chunks * chunk_bytes);
        }
        const PROCESS: u64 = 24 << 20;
        per_worker * workers as u64 + front.min(cache_bytes.max(chunk_bytes)) + PROCESS
    }

    pub fn block_extent(&self, task: &Task) -> ([i64; 3], [i64; 3]) {
        let g = &self.groups[task.group];
        let mut start = [0i64; 3];
        let mut end = [0i64; 3];
        for a in 0..3 {
            let (s, e, n, p) = (
                task.region.start[a] as i64,
                task.region.end[a] as i64,
                self.shape[a] as i64,
                g.pad[a] as i64,
            );
            (start[a], end[a]) = self.boundary.widen(s, e, p, n);
        }
        (start, end)
    }

    /// The input chunks a task's block reads, per axis (sorted, unique).
    pub fn input_chunks_per_axis(&self, task: &Task) -> [Vec<u64>; 3] {
        let (start, end) = self.block_extent(task);
        [0, 1, 2].map(|a| {
            let mut v: Vec<u64> = (start[a]..end[a])
                .filter_map(|g| self.boundary.source(g, self.shape[a]))
                .map(|s| s / self.input_chunks[a])
                .collect();
            v.dedup();
            v.sort_unstable();
            v.dedup();
            v
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_halo_widens_tasks_to_columns() {
        let outs = [
            OutputNeeds {
                chunks: [4, 4, 4],
                halo: [Halo::Depth(0), Halo::Depth(0), Halo::Full],
            },
            OutputNeeds {
                chunks: [4, 4, 4],
                halo: [Halo::Depth(1), Halo::Depth(1), Halo::Depth(4)],
            },
        ];
        let p = Plan::new([10, 8, 12], [4, 4, 4], Boundary::Reflect, &outs);
        assert_eq!(p.groups.len(), 1);
        assert_eq!(p.tasks.len(), 3 * 2);
        assert_eq!(p.groups[0].pad, [1, 1, 4]);
        let t = p.tasks[5];
        assert_eq!(
            t.region,
            Region {
                start: [8, 4, 0],
                end: [10, 8, 12]
            }
        );
        assert_eq!(t.chunks().count(), 3);
        assert_eq!(p.block_extent(&t), ([7, 3, -4], [11, 9, 16]));
    }

    #[test]
    fn boundary_none_clips_blocks() {
        let outs = [OutputNeeds {
            chunks: [4, 4, 4],
            halo: [Halo::Depth(2); 3],
        }];
        let p = Plan::new([10, 8, 12], [4, 4, 4], Boundary::None, &outs);
        assert_eq!(p.block_extent(&p.tasks[0]), ([0, 0, 0], [6, 6, 6]));
        assert_eq!(
            p.input_chunks_per_axis(&p.tasks[0]),
            [vec![0, 1], vec![0, 1], vec![0, 1]]
        );
    }
}
