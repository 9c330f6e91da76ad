//! The work plan: a pure function of the job and the input's metadata.
//!
//! Outputs that share an output chunk shape form a group; a group's work unit
//! (a task) is one output chunk, widened to the whole axis where some kernel
//! of the group needs the whole axis (an FFT over the trace), so such a
//! kernel runs once per column instead of once per chunk of it.
//!
//! A task whose block and kernel temporaries would exceed the per-worker
//! memory budget is computed in tiles, each with its own halo, assembled
//! into whole output chunks; the tasks themselves never depend on the
//! budget, so shards of one job on different nodes agree on them.

use super::boundary::Boundary;
use attributes::Halo;
use std::collections::BTreeMap;

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
    /// The part of a task computed at once (a tile): the whole task
    /// region unless the memory budget splits it.
    pub tile: [u64; 3],
    /// Block-sized arrays the group's largest kernel holds at its peak
    /// (the others' results are counted at the tile's size: intermediates
    /// are shared).
    pub copies: f32,
    /// The order in which workers take the group's tasks: by first chunk
    /// along these axes, outermost first (see [`Plan::sweep`]).
    pub sweep: [usize; 3],
    /// Input chunks decoded and still needed at once in that order, for
    /// one worker: the cache front.
    pub front: u64,
    /// Tasks along each axis, and the index of the group's first task:
    /// tasks are numbered group by group, inline-major within one.
    pub tasks: [u64; 3],
    pub first_task: usize,
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

/// What a set of tasks reads.
#[derive(Debug, PartialEq, Eq)]
pub struct Totals {
    /// Input chunks read by at least one task.
    pub input_chunks: usize,
    /// Sum over tasks of the input chunks each reads (re-reads included).
    pub chunk_reads: usize,
    /// Elements gathered into blocks (tile + halo), over all tasks.
    pub gathered: u64,
}

/// Tasks are computed from their index ([`Plan::task`]), never stored:
/// a plan of millions of chunks costs its groups, not its tasks.
pub struct Plan {
    pub shape: [u64; 3],
    pub input_chunks: [u64; 3],
    pub boundary: Boundary,
    pub groups: Vec<Group>,
    task_count: usize,
}

/// One output's needs, as the planner sees them.
pub struct OutputNeeds {
    pub chunks: [u64; 3],
    pub halo: [Halo; 3],
    /// Block-sized arrays its kernel holds at its peak
    /// (`Kernel::working_copies`).
    pub copies: f32,
}

/// The process itself, beside its blocks and caches.
pub const PROCESS_BYTES: u64 = 24 << 20;
/// What a run keeps per task: its index in the selection and the sweep,
/// the input chunks it reads first, its chunks' records (about 75 bytes
/// measured with 10 240 and 122 880 tasks).
const TASK_BYTES: u64 = 96;
/// The six orders a group's tasks can be swept in, the plan's own first.
const SWEEP_ORDERS: [[usize; 3]; 6] = [
    [0, 1, 2],
    [0, 2, 1],
    [1, 0, 2],
    [1, 2, 0],
    [2, 0, 1],
    [2, 1, 0],
];
/// Groups of more tasks than this are swept by a count, not a simulation
/// of every task ([`Plan::best_sweep_in_closed_form`]).
const EXACT_SWEEP_TASKS: u64 = 100_000;
/// Tiles are not split below this many samples on an axis, nor below
/// twice the halo (beyond that the halo would cost more than the tile).
const MIN_TILE: u64 = 16;

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
                    tile: [0; 3],
                    copies: 0.0,
                    sweep: [0, 1, 2],
                    front: 0,
                    tasks: [0; 3],
                    first_task: 0,
                }),
            }
        }
        let mut task_count = 0usize;
        for g in groups.iter_mut() {
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
            let most = g
                .outputs
                .iter()
                .map(|&o| outputs[o].copies)
                .fold(0.0, f32::max);
            g.copies = most;
            g.tile = g.task_shape(shape);
            g.tasks = [0, 1, 2].map(|a| grid[a].div_ceil(g.span[a]));
            g.first_task = task_count;
            task_count += g.tasks.iter().product::<u64>() as usize;
        }
        let mut plan = Plan {
            shape,
            input_chunks,
            boundary,
            groups,
            task_count,
        };
        for g in 0..plan.groups.len() {
            (plan.groups[g].sweep, plan.groups[g].front) = plan.best_sweep(g);
        }
        plan
    }

    /// Counted, not collected: a bit per input chunk for the distinct ones,
    /// the reads of a task as the product of its per-axis chunk counts, so a
    /// plan of millions of chunks costs megabytes, not gigabytes.
    pub fn totals(&self, tasks: impl Iterator<Item = usize>) -> Totals {
        let grid = self.input_grid();
        let mut seen = vec![0u64; grid.iter().product::<u64>().div_ceil(64) as usize];
        let mut distinct = 0usize;
        let (mut chunk_reads, mut gathered) = (0, 0u64);
        for i in tasks {
            let t = self.task(i);
            let per_axis = self.input_chunks_per_axis(&t);
            chunk_reads += per_axis.iter().map(Vec::len).product::<usize>();
            for &a in &per_axis[0] {
                for &b in &per_axis[1] {
                    for &c in &per_axis[2] {
                        let bit = ((a * grid[1] + b) * grid[2] + c) as usize;
                        let (word, mask) = (bit / 64, 1u64 << (bit % 64));
                        if seen[word] & mask == 0 {
                            seen[word] |= mask;
                            distinct += 1;
                        }
                    }
                }
            }
            for tile in self.tiles(&t) {
                let (s, e) = self.block_extent_of(t.group, &tile);
                gathered += (0..3).map(|a| (e[a] - s[a]) as u64).product::<u64>();
            }
        }
        Totals {
            input_chunks: distinct,
            chunk_reads,
            gathered,
        }
    }

    /// [`Plan::totals`] of the whole plan, counted axis by axis: a group's tasks,
    /// and so the chunks and samples they read, are a product of its axes.
    pub fn totals_of_all(&self) -> Totals {
        let plan = self;
        let grid = self.input_grid();
        let (mut chunk_reads, mut gathered) = (0u64, 0u64);
        let mut read: Vec<[Vec<u64>; 3]> = Vec::new();
        for gi in 0..plan.groups.len() {
            let reads = [0, 1, 2].map(|a| plan.axis_reads(gi, a));
            chunk_reads += reads
                .iter()
                .map(|r| r.iter().map(|c| c.len() as u64).sum::<u64>())
                .product::<u64>();
            gathered += (0..3)
                .map(|a| plan.axis_gathered(gi, a).iter().sum::<u64>())
                .product::<u64>();
            read.push(reads.map(|r| {
                let mut all: Vec<u64> = r.into_iter().flatten().collect();
                all.sort_unstable();
                all.dedup();
                all
            }));
        }
        // the distinct chunks: one group's are a product; several groups' a
        // union of products, counted on a bit per input chunk
        let input_chunks = match read.as_slice() {
            [one] => one.iter().map(Vec::len).product(),
            _ => {
                let mut seen = vec![0u64; grid.iter().product::<u64>().div_ceil(64) as usize];
                let mut distinct = 0usize;
                for [r0, r1, r2] in &read {
                    for &a in r0 {
                        for &b in r1 {
                            for &c in r2 {
                                let bit = ((a * grid[1] + b) * grid[2] + c) as usize;
                                let (word, mask) = (bit / 64, 1u64 << (bit % 64));
                                if seen[word] & mask == 0 {
                                    seen[word] |= mask;
                                    distinct += 1;
                                }
                            }
                        }
                    }
                }
                distinct
            }
        };
        Totals {
            input_chunks,
            chunk_reads: chunk_reads as usize,
            gathered,
        }
    }

    /// Input chunks per axis.
    fn input_grid(&self) -> [u64; 3] {
        [0, 1, 2].map(|a| self.shape[a].div_ceil(self.input_chunks[a]))
    }

    /// The number of tasks.
    pub fn task_count(&self) -> usize {
        self.task_count
    }

    /// Task `i`: its group's task at position `t` of the group's task grid.
    pub fn task(&self, i: usize) -> Task {
        let gi = self
            .groups
            .iter()
            .rposition(|g| g.first_task <= i)
            .expect("a task of some group");
        let g = &self.groups[gi];
        let local = (i - g.first_task) as u64;
        let [_, n1, n2] = g.tasks;
        self.task_at(gi, [local / (n1 * n2), local / n2 % n1, local % n2])
    }

    /// The task of group `gi` at position `t` of its task grid.
    fn task_at(&self, gi: usize, t: [u64; 3]) -> Task {
        let g = &self.groups[gi];
        let grid = [0, 1, 2].map(|a| self.shape[a].div_ceil(g.chunks[a]));
        let first_chunk = [0, 1, 2].map(|a| t[a] * g.span[a]);
        let nchunks = [0, 1, 2].map(|a| g.span[a].min(grid[a] - first_chunk[a]));
        let start = [0, 1, 2].map(|a| first_chunk[a] * g.chunks[a]);
        let end =
            [0, 1, 2].map(|a| ((first_chunk[a] + nchunks[a]) * g.chunks[a]).min(self.shape[a]));
        Task {
            group: gi,
            region: Region { start, end },
            first_chunk,
            nchunks,
        }
    }

    /// The tasks of group `gi`, in plan order.
    pub fn group_tasks(&self, gi: usize) -> impl Iterator<Item = Task> + '_ {
        let g = &self.groups[gi];
        let n = g.tasks.iter().product::<u64>() as usize;
        (g.first_task..g.first_task + n).map(|i| self.task(i))
    }

    /// The order of a group's tasks that keeps the fewest decoded chunks
    /// waiting for a later task (a chunk waits from its first task to its
    /// last): each of the six axis orders tried on the tasks' chunk sets,
    /// the plan's own order first among equals. Blocks overlapping along
    /// one axis only are best swept along it innermost; overlapping along
    /// all three, across the thinnest slab.
    fn best_sweep(&self, group: usize) -> ([usize; 3], u64) {
        if self.groups[group].tasks.iter().product::<u64>() > EXACT_SWEEP_TASKS {
            return self.best_sweep_in_closed_form(group);
        }
        let grid = [0, 1, 2].map(|a| self.shape[a].div_ceil(self.input_chunks[a]));
        let tasks: Vec<(Task, Vec<u64>)> = self
            .group_tasks(group)
            .map(|t| {
                let [a, b, c] = self.input_chunks_per_axis(&t);
                let mut ids = Vec::with_capacity(a.len() * b.len() * c.len());
                for i in &a {
                    for j in &b {
                        ids.extend(c.iter().map(|k| (i * grid[1] + j) * grid[2] + k));
                    }
                }
                (t, ids)
            })
            .collect();
        let mut span = vec![(usize::MAX, 0); grid.iter().product::<u64>() as usize];
        let mut best = ([0, 1, 2], u64::MAX);
        for order in SWEEP_ORDERS {
            let mut sorted: Vec<&(Task, Vec<u64>)> = tasks.iter().collect();
            sorted.sort_by_key(|(t, _)| order.map(|a| t.first_chunk[a]));
            span.fill((usize::MAX, 0));
            for (n, (_, ids)) in sorted.iter().enumerate() {
                for &id in ids {
                    let s = &mut span[id as usize];
                    *s = (s.0.min(n), n);
                }
            }
            // chunks waiting while each task runs
            let read = span.iter().copied().filter(|s| s.0 != usize::MAX);
            let front = super::work::most_held(read, sorted.len());
            if front < best.1 {
                best = (order, front);
            }
        }
        best
    }

    /// [`Plan::best_sweep`] for a group of many tasks, counted instead of
    /// simulated: the task grid is a product of its axes, so is the set of
    /// chunks each task reads, and a chunk waits (in tasks of the sweep)
    /// from its first reader to its last, axis by axis. The front is the
    /// chunks times their mean wait over the tasks.
    fn best_sweep_in_closed_form(&self, group: usize) -> ([usize; 3], u64) {
        let n = self.groups[group].tasks;
        // per axis: the distinct chunks read, and their mean wait in positions
        let per_axis = [0, 1, 2].map(|a| {
            let mut first_last: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
            for (p, chunks) in self.axis_reads(group, a).into_iter().enumerate() {
                for c in chunks {
                    let e = first_last.entry(c).or_insert((p as u64, p as u64));
                    e.1 = p as u64;
                }
            }
            let waits: u64 = first_last.values().map(|(f, l)| l - f).sum();
            let count = first_last.len().max(1) as f64;
            (count, waits as f64 / count)
        });
        let chunks: f64 = per_axis.iter().map(|a| a.0).product();
        let tasks = n.iter().product::<u64>() as f64;
        let mut best = ([0, 1, 2], u64::MAX);
        for order in SWEEP_ORDERS {
            let [s, m, i] = order;
            let wait = per_axis[s].1 * (n[m] * n[i]) as f64
                + per_axis[m].1 * n[i] as f64
                + per_axis[i].1
                + 1.0;
            let front = (chunks * wait / tasks).ceil() as u64;
            if front < best.1 {
                best = (order, front);
            }
        }
        best
    }

    /// The input chunks read along axis `a` by the tasks of group `gi` at
    /// each position of that axis (the same whatever the other axes).
    pub fn axis_reads(&self, gi: usize, a: usize) -> Vec<Vec<u64>> {
        (0..self.groups[gi].tasks[a])
            .map(|p| {
                let mut t = [0; 3];
                t[a] = p;
                let [r0, r1, r2] = self.input_chunks_per_axis(&self.task_at(gi, t));
                [r0, r1, r2][a].clone()
            })
            .collect()
    }

    /// The samples gathered along axis `a` (halos included, tile by tile)
    /// by the tasks of group `gi` at each position of that axis.
    pub fn axis_gathered(&self, gi: usize, a: usize) -> Vec<u64> {
        let g = &self.groups[gi];
        let tile = g.tile[a].max(1);
        (0..g.tasks[a])
            .map(|p| {
                let mut t = [0; 3];
                t[a] = p;
                let r = self.task_at(gi, t).region;
                (r.start[a]..r.end[a])
                    .step_by(tile as usize)
                    .map(|s| {
                        let e = (s + tile).min(r.end[a]);
                        let (ws, we) = self.axis_extent(g, a, s, e);
                        (we - ws) as u64
                    })
                    .sum()
            })
            .collect()
    }

    /// Split each group's tasks into tiles small enough that a worker
    /// needs at most `worker_bytes` for one (see `Group::cost`).
    pub fn fit_tiles(&mut self, worker_bytes: u64) {
        let shape = self.shape;
        for g in &mut self.groups {
            g.tile = g.fit(g.task_shape(shape), worker_bytes);
        }
    }

    /// Bytes of decoded input chunks the cache should hold so that each is
    /// decoded once: the front of the sweep (see
    /// [`Plan::memory_estimate`]), at most the whole input.
    pub fn cache_front(&self, workers: usize) -> u64 {
        let chunk_bytes = self.input_chunks.iter().product::<u64>() * 4;
        let all: u64 = (0..3)
            .map(|a| self.shape[a].div_ceil(self.input_chunks[a]))
            .product();
        self.memory_parts(workers).1.min(all * chunk_bytes)
    }

    /// The tiles of a task, in order: its region split by its group's tile.
    pub fn tiles(&self, task: &Task) -> Vec<Region> {
        let tile = self.groups[task.group].tile;
        let r = task.region;
        let steps = [0, 1, 2].map(|a| {
            (r.start[a]..r.end[a])
                .step_by(tile[a].max(1) as usize)
                .map(move |s| (s, (s + tile[a]).min(r.end[a])))
                .collect::<Vec<_>>()
        });
        let mut out = Vec::new();
        for &(s0, e0) in &steps[0] {
            for &(s1, e1) in &steps[1] {
                for &(s2, e2) in &steps[2] {
                    out.push(Region {
                        start: [s0, s1, s2],
                        end: [e0, e1, e2],
                    });
                }
            }
        }
        out
    }

    /// Expected peak memory of a run with `workers` over `cache_bytes` of
    /// decoded-chunk cache: per worker, the largest tile's block times its
    /// group's kernels (the largest's working copies, plus a result for
    /// each other output: intermediates are shared), the assembled task
    /// where it is tiled, and an output chunk being encoded; the cache
    /// front (the chunks the sweep keeps, [`Group::front`], and those of
    /// the other workers' tasks in flight); the run's bookkeeping per
    /// task; and the process.
    pub fn memory_estimate(&self, workers: usize, cache_bytes: u64) -> u64 {
        let (per_worker, front) = self.memory_parts(workers);
        let chunk_bytes = self.input_chunks.iter().product::<u64>() * 4;
        per_worker * workers as u64
            + front.min(cache_bytes.max(chunk_bytes))
            + PROCESS_BYTES
            + TASK_BYTES * self.task_count as u64
    }

    /// The per-worker bytes and the cache front of [`Plan::memory_estimate`].
    pub fn memory_parts(&self, workers: usize) -> (u64, u64) {
        let chunk_bytes = self.input_chunks.iter().product::<u64>() * 4;
        let mut per_worker = 0u64;
        let mut front = 0u64;
        for (gi, g) in self.groups.iter().enumerate() {
            // the most chunks a task reads: the product of the most along
            // each axis, as the task grid is a product of its axes
            let most = [0, 1, 2].map(|a| {
                let reads = self.axis_reads(gi, a);
                reads.iter().map(|r| r.len() as u64).max().unwrap_or(0)
            });
            let task_chunks: u64 = most.iter().product();
            let region = g.task_shape(self.shape);
            let tile = [0, 1, 2].map(|a| g.tile[a].min(region[a]));
            per_worker = per_worker.max(g.cost(tile, tile != region));
            // the chunks the sweep keeps, and those the other workers' tasks
            // in flight add to it: the tasks next in the sweep share all but
            // a plane of chunks across its innermost axis
            let plane = task_chunks / most[g.sweep[2]].max(1);
            let others = (workers as u64).saturating_sub(1) * plane;
            let chunks = g.front.max(task_chunks) + others;
            front = front.max(chunks * chunk_bytes);
        }
        (per_worker, front)
    }

    /// The largest cache front of the groups, in chunks.
    pub fn front_chunks(&self) -> u64 {
        self.groups.iter().map(|g| g.front).max().unwrap_or(0)
    }

    /// `selected` (indices into `tasks`) in the order the workers take
    /// them: group by group, each in its [`Group::sweep`] order. The
    /// plan's own order, which shards split, is unchanged.
    pub fn sweep(&self, selected: &mut [usize]) {
        selected.sort_by_key(|&i| {
            let t = self.task(i);
            let [s, m, n] = self.groups[t.group].sweep;
            (
                t.group,
                t.first_chunk[s],
                t.first_chunk[m],
                t.first_chunk[n],
            )
        });
    }

    /// The block gathered for a task: volume coordinates (may reach outside
    /// the volume, where the boundary mode fills in) as `start..end`.
    pub fn block_extent(&self, task: &Task) -> ([i64; 3], [i64; 3]) {
        self.block_extent_of(task.group, &task.region)
    }

    /// The block gathered for `region` of a task of `group`.
    pub fn block_extent_of(&self, group: usize, region: &Region) -> ([i64; 3], [i64; 3]) {
        let g = &self.groups[group];
        let mut start = [0i64; 3];
        let mut end = [0i64; 3];
        for a in 0..3 {
            (start[a], end[a]) = self.axis_extent(g, a, region.start[a], region.end[a]);
        }
        (start, end)
    }

    /// `start..end` on axis `a`, widened by the group's padding.
    fn axis_extent(&self, g: &Group, a: usize, start: u64, end: u64) -> (i64, i64) {
        let (n, p) = (self.shape[a] as i64, g.pad[a] as i64);
        self.boundary.widen(start as i64, end as i64, p, n)
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

impl Group {
    /// The shape of a whole task (its span of chunks) in a volume of `shape`.
    pub fn task_shape(&self, shape: [u64; 3]) -> [u64; 3] {
        [0, 1, 2].map(|a| (self.span[a] * self.chunks[a]).min(shape[a]))
    }

    /// Bytes a worker holds for a tile of this shape, the larger of its
    /// two phases: computing (the block with its halo times the largest
    /// kernel's working copies, and the other outputs' results) and
    /// writing (every output's result, and an output chunk being encoded:
    /// the block is gone by then); and, when the task is tiled, the
    /// assembled outputs of the whole task through both.
    fn cost(&self, tile: [u64; 3], tiled: bool) -> u64 {
        let block: u64 = (0..3).map(|a| tile[a] + 2 * self.pad[a]).product();
        let core: u64 = tile.iter().product();
        let task: u64 = (0..3).map(|a| self.span[a] * self.chunks[a]).product();
        let outputs = self.outputs.len() as u64;
        let assembled = if tiled { task * 4 * outputs } else { 0 };
        let others = core * 4 * outputs.saturating_sub(1);
        let computing = (block as f64 * 4.0 * self.copies as f64) as u64 + others;
        let writing = core * 4 * outputs + 2 * 4 * self.chunks.iter().product::<u64>();
        computing.max(writing) + assembled
    }

    /// The largest tile of `region` within `budget`: halve the longest
    /// axis that has no whole-axis halo until it fits (or cannot shrink:
    /// the run then needs more than its budget, which `attr run` says).
    fn fit(&self, region: [u64; 3], budget: u64) -> [u64; 3] {
        let mut tile = region;
        let whole = [0, 1, 2].map(|a| self.halos.iter().any(|h| h[a] == Halo::Full));
        while self.cost(tile, tile != region) > budget {
            let Some(a) = (0..3)
                .filter(|&a| !whole[a] && tile[a].div_ceil(2) >= MIN_TILE.max(2 * self.pad[a]))
                .max_by_key(|&a| tile[a])
            else {
                break;
            };
            tile[a] = tile[a].div_ceil(2);
        }
        tile
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
                copies: 4.0,
            },
            OutputNeeds {
                chunks: [4, 4, 4],
                halo: [Halo::Depth(1), Halo::Depth(1), Halo::Depth(4)],
                copies: 4.0,
            },
        ];
        let p = Plan::new([10, 8, 12], [4, 4, 4], Boundary::Reflect, &outs);
        assert_eq!(p.groups.len(), 1);
        assert_eq!(p.task_count(), 3 * 2);
        assert_eq!(p.groups[0].pad, [1, 1, 4]);
        let t = p.task(5);
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
    fn the_sweep_keeps_the_fewest_chunks_waiting() {
        let plan = |halo: [Halo; 3]| {
            let outs = [OutputNeeds {
                chunks: [4, 4, 4],
                halo,
                copies: 4.0,
            }];
            Plan::new([8, 8, 40], [4, 4, 4], Boundary::Reflect, &outs)
        };
        // overlapping along every axis: across the thinnest slab (2 × 2
        // chunks), the samples outermost; in plan order the front would
        // hold slabs of 2 × 10
        let p = plan([Halo::Depth(1); 3]);
        assert_eq!(p.groups[0].sweep[0], 2);
        assert!(p.groups[0].front <= 3 * 2 * 2, "{}", p.groups[0].front);
        assert_eq!(p.memory_parts(1).1, p.groups[0].front * 256);
        let mut order: Vec<usize> = (0..p.task_count()).collect();
        p.sweep(&mut order);
        let along: Vec<u64> = order.iter().map(|&i| p.task(i).first_chunk[2]).collect();
        assert!(along.windows(2).all(|w| w[0] <= w[1]), "{along:?}");
        // overlapping along the samples only: down each column, innermost,
        // three chunks at a time
        let p = plan([Halo::Depth(0), Halo::Depth(0), Halo::Depth(2)]);
        assert_eq!(p.groups[0].sweep, [0, 1, 2]);
        assert_eq!(p.groups[0].front, 3);
        // no overlap: the plan's order, a chunk at a time
        let p = plan([Halo::Depth(0); 3]);
        assert_eq!((p.groups[0].sweep, p.groups[0].front), ([0, 1, 2], 1));
    }

    #[test]
    fn boundary_none_clips_blocks() {
        let outs = [OutputNeeds {
            chunks: [4, 4, 4],
            halo: [Halo::Depth(2); 3],
            copies: 4.0,
        }];
        let p = Plan::new([10, 8, 12], [4, 4, 4], Boundary::None, &outs);
        assert_eq!(p.block_extent(&p.task(0)), ([0, 0, 0], [6, 6, 6]));
        assert_eq!(
            p.input_chunks_per_axis(&p.task(0)),
            [vec![0, 1], vec![0, 1], vec![0, 1]]
        );
    }

    #[test]
    fn tiles_fit_the_budget_but_never_split_a_whole_axis() {
        let outs = [OutputNeeds {
            chunks: [200, 200, 300],
            halo: [Halo::Depth(12), Halo::Depth(12), Halo::Full],
            copies: 25.0,
        }];
        let mut p = Plan::new([400, 200, 300], [200, 200, 300], Boundary::Reflect, &outs);
        let whole = p.memory_parts(1).0;
        assert_eq!(p.tiles(&p.task(0)).len(), 1);
        p.fit_tiles(whole / 4);
        let g = &p.groups[0];
        assert_eq!(g.tile[2], 300, "the trace axis is needed whole");
        assert!(
            g.tile[0] < 200 && g.tile[0] >= 24 && g.tile[1] >= 24,
            "{:?}",
            g.tile
        );
        assert!(p.memory_parts(1).0 <= whole / 4);
        // the tiles cover the task once
        let t = p.task(1);
        let covered: u64 = p
            .tiles(&t)
            .iter()
            .map(|r| r.len().iter().product::<usize>() as u64)
            .sum();
        assert_eq!(covered, 200 * 200 * 300);
        // a budget no tile meets leaves tiles at twice the halo, no smaller
        p.fit_tiles(1);
        assert_eq!(&p.groups[0].tile[..2], &[25, 25]);
    }

    /// The counts in closed form agree with task-by-task counts: two
    /// groups (one of whole traces), halos, tiles, every boundary mode.
    #[test]
    fn closed_forms_count_what_the_tasks_do() {
        for boundary in [Boundary::Reflect, Boundary::None, Boundary::Periodic] {
            let outs = [
                OutputNeeds {
                    chunks: [4, 4, 4],
                    halo: [Halo::Depth(3), Halo::Depth(1), Halo::Depth(5)],
                    copies: 4.0,
                },
                OutputNeeds {
                    chunks: [3, 5, 4],
                    halo: [Halo::Depth(0), Halo::Depth(2), Halo::Full],
                    copies: 2.0,
                },
            ];
            let mut p = Plan::new([13, 11, 30], [4, 3, 8], boundary, &outs);
            p.fit_tiles(p.memory_parts(1).0 / 3);
            assert_eq!(
                p.totals_of_all(),
                p.totals(0..p.task_count()),
                "{boundary:?}"
            );
            // the most chunks one task reads, as the tasks say
            let most = (0..p.task_count())
                .map(|i| {
                    let r = p.input_chunks_per_axis(&p.task(i));
                    r.iter().map(|v| v.len() as u64).product::<u64>()
                })
                .max();
            let per_axis = |g: usize| -> u64 {
                (0..3)
                    .map(|a| {
                        p.axis_reads(g, a)
                            .iter()
                            .map(|r| r.len() as u64)
                            .max()
                            .unwrap()
                    })
                    .product()
            };
            assert_eq!(most, Some(per_axis(0).max(per_axis(1))));
        }
    }

    /// For a group of many tasks the front is counted, close to what the
    /// simulation finds, and picks the same order.
    #[test]
    fn the_counted_front_is_close_to_the_simulated_one() {
        for halo in [
            [Halo::Depth(1); 3],
            [Halo::Depth(0), Halo::Depth(0), Halo::Depth(2)],
        ] {
            let outs = [OutputNeeds {
                chunks: [4, 4, 4],
                halo,
                copies: 4.0,
            }];
            let p = Plan::new([40, 32, 80], [4, 4, 4], Boundary::Reflect, &outs);
            let (order, front) = p.best_sweep(0);
            let (counted_order, counted) = p.best_sweep_in_closed_form(0);
            assert_eq!(order[0], counted_order[0], "{halo:?}");
            let ratio = counted as f64 / front as f64;
            assert!(
                (0.75..=1.25).contains(&ratio),
                "{halo:?}: {counted} vs {front}"
            );
        }
    }
}
