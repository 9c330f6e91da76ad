//! The block engine: for each task, gather the block, run the kernels, trim,
//! and write the output chunks — in parallel, with decoding shared through
//! the chunk cache. It knows kernels only through the `Kernel` trait and
//! storage only through [`ChunkSource`] and [`ChunkSink`].

mod api;
pub mod boundary;
pub mod cache;
pub mod gather;
pub mod work;
pub mod work_plan;

use crate::progress::Progress;
pub use api::{ChunkSink, ChunkSource, Interrupted, RunOptions, Stats, Target};
use attributes::{Halo, Shared};
use cache::ChunkCache;
use ndarray::{s, Array3};
use std::sync::atomic::AtomicBool;
use std::time::Instant;
pub use work::{Seen, Work};
use work_plan::{Plan, Task};

/// Run the tasks `selected` (indices into `plan.tasks`), in the order of
/// [`Plan::sweep`].
/// `targets[i]` is output `i` of the plan. Stops between tasks when `stop`
/// is set: every chunk is then either written whole or not at all.
pub fn run(
    plan: &Plan,
    selected: &[usize],
    source: &dyn ChunkSource,
    targets: &[Target],
    options: &RunOptions,
    progress: &Progress,
    stop: &AtomicBool,
) -> anyhow::Result<Stats> {
    let started = Instant::now();
    let tasks = VolumeTasks::new(plan, selected, targets);
    let order = work::alone(&tasks);
    let pass = work::run(
        &[&tasks],
        &order,
        source,
        options.cache_bytes,
        options.workers,
        progress,
        stop,
    )?;
    Ok(pass.stats(selected.len(), started, tasks.seen.flags()))
}

/// The tasks of a volume plan as a [`Work`]: `selected` in the order of
/// [`Plan::sweep`], each gathered, computed and written to its targets.
pub struct VolumeTasks<'a> {
    plan: &'a Plan,
    swept: Vec<usize>,
    targets: &'a [Target<'a>],
    pub seen: Seen,
}

impl<'a> VolumeTasks<'a> {
    pub fn new(plan: &'a Plan, selected: &[usize], targets: &'a [Target<'a>]) -> Self {
        let mut swept = selected.to_vec();
        plan.sweep(&mut swept);
        VolumeTasks {
            plan,
            swept,
            targets,
            seen: Seen::new(targets.len()),
        }
    }
}

impl Work for VolumeTasks<'_> {
    fn len(&self) -> usize {
        self.swept.len()
    }
    fn reads(&self, n: usize, out: &mut Vec<[u64; 3]>) {
        let [a, b, c] = self
            .plan
            .input_chunks_per_axis(&self.plan.task(self.swept[n]));
        for &i in &a {
            for &j in &b {
                out.extend(c.iter().map(|&k| [i, j, k]));
            }
        }
    }
    fn run(&self, n: usize, cache: &ChunkCache) -> anyhow::Result<(u64, u64)> {
        let task = self.plan.task(self.swept[n]);
        run_task(self.plan, &task, cache, self.targets, &self.seen)
    }
}

/// Local index range of a kernel's view on one axis of the block.
fn view_range(halo: Halo, region: (u64, u64), block: (i64, i64)) -> (usize, usize) {
    let (rs, re) = (region.0 as i64, region.1 as i64);
    let (lo, hi) = match halo {
        Halo::Full => (rs, re),
        Halo::Depth(d) => ((rs - d as i64).max(block.0), (re + d as i64).min(block.1)),
    };
    ((lo - block.0) as usize, (hi - block.0) as usize)
}

/// Gather, compute every output of the task's group (tile by tile when
/// the plan splits it), write its chunks. Returns the chunks and
/// uncompressed bytes written.
fn run_task(
    plan: &Plan,
    task: &Task,
    cache: &ChunkCache,
    targets: &[Target],
    seen: &Seen,
) -> anyhow::Result<(u64, u64)> {
    let group = &plan.groups[task.group];
    let tiles = plan.tiles(task);
    let mut used = Vec::new();
    let results = if let [tile] = tiles.as_slice() {
        compute(plan, task, tile, cache, targets, &mut used)?
    } else {
        // each output's whole task region, assembled from the tiles' cores
        let len = task.region.len();
        let mut whole: Vec<Array3<f32>> = group
            .outputs
            .iter()
            .map(|_| Array3::zeros((len[0], len[1], len[2])))
            .collect();
        for tile in &tiles {
            let at = [0, 1, 2].map(|a| (tile.start[a] - task.region.start[a]) as usize);
            let n = tile.len();
            for (out, (data, origin)) in whole
                .iter_mut()
                .zip(compute(plan, task, tile, cache, targets, &mut used)?)
            {
                out.slice_mut(s![
                    at[0]..at[0] + n[0],
                    at[1]..at[1] + n[1],
                    at[2]..at[2] + n[2]
                ])
                .assign(&data.slice(s![
                    origin[0]..origin[0] + n[0],
                    origin[1]..origin[1] + n[1],
                    origin[2]..origin[2] + n[2]
                ]));
            }
        }
        whole.into_iter().map(|a| (a, [0; 3])).collect()
    };
    used.sort_unstable();
    used.dedup();
    for idx in used {
        cache.release(idx);
    }
    let mut written = 0u64;
    let mut bytes = 0u64;
    let len = task.region.len();
    for (&out, (result, at)) in group.outputs.iter().zip(&results) {
        let core = result.slice(s![
            at[0]..at[0] + len[0],
            at[1]..at[1] + len[1],
            at[2]..at[2] + len[2]
        ]);
        seen.note(out, core);
        for chunk in task.chunks() {
            let cs =
                [0, 1, 2].map(|a| (chunk[a] * group.chunks[a] - task.region.start[a]) as usize);
            let ce = [0, 1, 2].map(|a| {
                (((chunk[a] + 1) * group.chunks[a]).min(plan.shape[a]) - task.region.start[a])
                    as usize
            });
            let piece = core.slice(s![cs[0]..ce[0], cs[1]..ce[1], cs[2]..ce[2]]);
            targets[out].sink.write_chunk(chunk, piece)?;
            written += 1;
            bytes += (piece.len() * 4) as u64;
        }
    }
    Ok((written, bytes))
}

/// Gather the block of `tile` (its region plus the group's halo) and run
/// every output's kernel on it. Returns, per output of the group, the
/// values and where the tile's first sample is in them; null input
/// samples are null in the result. The input chunks read are added to
/// `used`.
fn compute(
    plan: &Plan,
    task: &Task,
    tile: &work_plan::Region,
    cache: &ChunkCache,
    targets: &[Target],
    used: &mut Vec<[u64; 3]>,
) -> anyhow::Result<Vec<(Array3<f32>, [usize; 3])>> {
    let group = &plan.groups[task.group];
    let (bstart, bend) = plan.block_extent_of(task.group, tile);
    let (block, read) = gather::gather(
        cache,
        plan.shape,
        cache_chunks(plan),
        bstart,
        bend,
        plan.boundary,
    )?;
    used.extend(read);
    // null samples (missing traces, muted zones, fill values) are NaN in
    // the block; kernels that are not null-aware see them as zeros
    let has_nulls = attributes::nulls::any_null(block.view());
    let as_zeros = group
        .outputs
        .iter()
        .any(|&o| !targets[o].kernel.null_aware());
    let filled = (has_nulls && as_zeros).then(|| attributes::nulls::zero_filled(block.view()));
    // one memo per kind of view (nulls as zeros, or as they are), each
    // kernel's own view placed in the block, so that kernels of different
    // halos share what they compute in block coordinates; the deepest
    // halos first, so that such an intermediate is made over the widest
    // region the group needs and serves the others
    let (mut shared, slots) = memos(&group.outputs, targets, has_nulls);
    let mut order: Vec<usize> = (0..group.outputs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(reach(&group.halos[i])));
    let mut results: Vec<Option<(Array3<f32>, [usize; 3])>> = vec![None; group.outputs.len()];
    for i in order {
        let (out, halo) = (group.outputs[i], &group.halos[i]);
        let kernel = targets[out].kernel;
        let aware = kernel.null_aware();
        let ranges = [0, 1, 2]
            .map(|a| view_range(halo[a], (tile.start[a], tile.end[a]), (bstart[a], bend[a])));
        let src = match &filled {
            Some(f) if !aware => f,
            _ => &block,
        };
        let view = src.slice(s![
            ranges[0].0..ranges[0].1,
            ranges[1].0..ranges[1].1,
            ranges[2].0..ranges[2].1
        ]);
        let memo = &mut shared[slots[i]].1;
        let dim = view.shape();
        memo.set_view(ranges.map(|r| r.0), [dim[0], dim[1], dim[2]]);
        // the tile, within the view
        let off =
            [0, 1, 2].map(|a| (tile.start[a] as i64 - (bstart[a] + ranges[a].0 as i64)) as usize);
        let len = tile.len();
        let core: attributes::Region = [0, 1, 2].map(|a| off[a]..off[a] + len[a]);
        let (mut result, origin) = kernel.compute_region(view, &core, memo);
        let at = [0, 1, 2].map(|a| off[a] - origin[a]);
        debug_assert!((0..3).all(|a| at[a] + len[a] <= result.shape()[a]));
        if has_nulls {
            // null in, null out
            let input = block.slice(s![
                ranges[0].0 + off[0]..ranges[0].0 + off[0] + len[0],
                ranges[1].0 + off[1]..ranges[1].0 + off[1] + len[1],
                ranges[2].0 + off[2]..ranges[2].0 + off[2] + len[2]
            ]);
            null_where_null(&mut result, at, input);
        }
        results[i] = Some((result, at));
    }
    Ok(results
        .into_iter()
        .map(|r| r.expect("every output computed"))
        .collect())
}

/// One memo per kind of view the kernels of `outputs` take (nulls as
/// zeros, or as they are), told what each kernel will ask for; and each
/// kernel's memo.
fn memos(
    outputs: &[usize],
    targets: &[Target],
    has_nulls: bool,
) -> (Vec<(bool, Shared)>, Vec<usize>) {
    let mut shared: Vec<(bool, Shared)> = Vec::new();
    let mut memo_for = |aware: bool| -> usize {
        match shared.iter().position(|(a, _)| *a == aware) {
            Some(i) => i,
            None => {
                shared.push((aware, Shared::with_nulls(has_nulls)));
                shared.len() - 1
            }
        }
    };
    let slots: Vec<usize> = outputs
        .iter()
        .map(|&o| memo_for(targets[o].kernel.null_aware()))
        .collect();
    // what each kernel will ask for, before any runs
    for (&out, &slot) in outputs.iter().zip(&slots) {
        targets[out].kernel.announce(&mut shared[slot].1);
    }
    (shared, slots)
}

/// Null the samples of `result` (the tile at `at`) where `input` is null.
fn null_where_null(result: &mut Array3<f32>, at: [usize; 3], input: ndarray::ArrayView3<f32>) {
    let len = input.shape();
    result
        .slice_mut(s![
            at[0]..at[0] + len[0],
            at[1]..at[1] + len[1],
            at[2]..at[2] + len[2]
        ])
        .zip_mut_with(&input, |o, &i| {
            if i.is_nan() {
                *o = f32::NAN;
            }
        });
}

/// One kernel over `block` (nulls are NaN), for the samples `core` of it
/// (block coordinates): its values there, the engine's rules on nulls
/// applied (a kernel that is not null-aware sees them as zeros; null in,
/// null out). For work units that are not output chunks (maps).
pub fn compute_core(
    kernel: &dyn attributes::Kernel,
    block: &Array3<f32>,
    core: [std::ops::Range<usize>; 3],
) -> Array3<f32> {
    let has_nulls = attributes::nulls::any_null(block.view());
    let filled =
        (has_nulls && !kernel.null_aware()).then(|| attributes::nulls::zero_filled(block.view()));
    let src = filled.as_ref().unwrap_or(block);
    let mut memo = Shared::with_nulls(has_nulls);
    kernel.announce(&mut memo);
    let dim = src.dim();
    memo.set_view([0; 3], [dim.0, dim.1, dim.2]);
    let region: attributes::Region = core.clone();
    let (result, origin) = kernel.compute_region(src.view(), &region, &mut memo);
    let at = [0, 1, 2].map(|a| core[a].start - origin[a]);
    let len = [0, 1, 2].map(|a| core[a].len());
    let mut out = result
        .slice(s![
            at[0]..at[0] + len[0],
            at[1]..at[1] + len[1],
            at[2]..at[2] + len[2]
        ])
        .to_owned();
    if has_nulls {
        let input = block.slice(s![core[0].clone(), core[1].clone(), core[2].clone()]);
        null_where_null(&mut out, [0; 3], input);
    }
    out
}

/// How far a halo reaches, summed over the axes (a whole axis counts as
/// further than any depth): the order in which a group's kernels run.
fn reach(halo: &[Halo; 3]) -> usize {
    halo.iter()
        .map(|h| match h {
            Halo::Depth(d) => *d,
            Halo::Full => 1 << 20,
        })
        .sum()
}

fn cache_chunks(plan: &Plan) -> [u64; 3] {
    plan.input_chunks
}

#[cfg(test)]
mod tests {
    //! Tiles are an implementation detail: a task computed in tiles writes
    //! what it writes computed whole, on an irregular survey too.
    use super::gather::tests::Memory;
    use super::*;
    use ndarray::ArrayView3;
    use std::sync::Mutex;
    use work_plan::OutputNeeds;

    struct Collect(Mutex<Array3<f32>>, [u64; 3]);

    impl ChunkSink for Collect {
        fn write_chunk(&self, idx: [u64; 3], data: ArrayView3<f32>) -> anyhow::Result<()> {
            let s = [0, 1, 2].map(|a| (idx[a] * self.1[a]) as usize);
            let (a, b, c) = data.dim();
            self.0
                .lock()
                .unwrap()
                .slice_mut(s![s[0]..s[0] + a, s[1]..s[1] + b, s[2]..s[2] + c])
                .assign(&data);
            Ok(())
        }
    }

    /// Dipping layers with an outline (missing traces) and a muted wedge.
    fn survey(shape: (usize, usize, usize)) -> Array3<f32> {
        Array3::from_shape_fn(shape, |(i, j, k)| {
            if i + j < 6 || (i > 20 && j < 4) || (k < 8 && i % 7 == 3) {
                f32::NAN
            } else {
                ((k as f32 - 0.4 * i as f32 + 0.2 * j as f32) * 0.3).sin() * 50.0
                    + ((i * 31 + j * 17 + k * 7) % 13) as f32
            }
        })
    }

    fn run_job(names: &[&str], data: &Array3<f32>, worker_bytes: Option<u64>) -> Vec<Array3<f32>> {
        let chunks = [64, 64, 48];
        let source = Memory {
            data: data.clone(),
            chunks,
        };
        let kernels: Vec<Box<dyn attributes::Kernel>> = names
            .iter()
            .map(|n| {
                attributes::lookup(n)
                    .unwrap()
                    .build(&Default::default(), &Default::default())
                    .unwrap()
            })
            .collect();
        let needs: Vec<OutputNeeds> = kernels
            .iter()
            .map(|k| OutputNeeds {
                chunks,
                halo: k.halo(),
                copies: k.working_copies(),
            })
            .collect();
        let shape = source.shape();
        let mut plan = Plan::new(shape, chunks, boundary::Boundary::Reflect, &needs);
        if let Some(b) = worker_bytes {
            plan.fit_tiles(b);
            let tiles: usize = (0..plan.task_count())
                .map(|i| plan.tiles(&plan.task(i)).len())
                .sum();
            assert!(tiles > plan.task_count(), "{tiles} tiles");
        }
        let sinks: Vec<Collect> = kernels
            .iter()
            .map(|_| Collect(Mutex::new(Array3::zeros(data.raw_dim())), chunks))
            .collect();
        let targets: Vec<Target> = kernels
            .iter()
            .zip(&sinks)
            .map(|(k, s)| Target {
                kernel: k.as_ref(),
                sink: s,
            })
            .collect();
        let all: Vec<usize> = (0..plan.task_count()).collect();
        let options = RunOptions {
            workers: 2,
            cache_bytes: 1 << 20,
        };
        let stats = run(
            &plan,
            &all,
            &source,
            &targets,
            &options,
            &Progress::new(0, "", true),
            &AtomicBool::new(false),
        )
        .unwrap();
        let chunks: u64 = (0..plan.task_count())
            .map(|i| plan.task(i).chunk_count())
            .sum();
        assert_eq!(stats.chunks_written, chunks * names.len() as u64);
        sinks
            .into_iter()
            .map(|s| s.0.into_inner().unwrap())
            .collect()
    }

    #[test]
    fn outputs_of_one_job_equal_each_run_alone() {
        // kernels of different halos share one memo per block (the
        // curvature's tensor, one trace wider than the core, serves
        // planarity and the dips), on a survey with an outline and nulls
        let data = survey((70, 66, 100));
        let names = ["gst_planarity", "curvature_mean", "inline_dip", "semblance"];
        let together = run_job(&names, &data, None);
        for (name, t) in names.iter().zip(&together) {
            let alone = run_job(&[name], &data, None).remove(0);
            assert!(t.iter().any(|v| v.is_nan()) && t.iter().any(|v| v.is_finite() && *v != 0.0));
            for (a, b) in t.iter().zip(&alone) {
                assert_eq!(a.to_bits(), b.to_bits(), "{name}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn tiled_tasks_write_what_whole_tasks_write() {
        let data = survey((70, 66, 100));
        let names = [
            "gst_planarity",
            "inline_dip",
            "curvature_mean",
            "semblance",
            "envelope",
        ];
        let whole = run_job(&names, &data, None);
        let tiled = run_job(&names, &data, Some(20_000_000));
        for ((name, w), t) in names.iter().zip(&whole).zip(&tiled) {
            assert!(w.iter().any(|v| v.is_nan()) && w.iter().any(|v| v.is_finite() && *v != 0.0));
            for (a, b) in w.iter().zip(t) {
                let same = a.to_bits() == b.to_bits() || (a - b).abs() <= 1e-6 * a.abs().max(1.0);
                assert!(same, "{name}: {a} vs {b}");
            }
        }
    }
}
