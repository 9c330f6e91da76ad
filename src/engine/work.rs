//! The one worker pool every kind of work runs on: volume tasks, map
//! tiles, or both in one pass. Units are taken in a given order from a
//! shared counter, over one chunk cache that knows how many units read
//! each input chunk, so a chunk that volume tasks and maps both need is
//! decoded once.

use super::api::{ChunkSource, Interrupted};
use super::cache::ChunkCache;
use crate::progress::Progress;
use anyhow::Context;
use ndarray::ArrayView3;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

/// A list of units of work over the input's chunks.
#[allow(clippy::len_without_is_empty)]
pub trait Work: Sync {
    /// How many units.
    fn len(&self) -> usize;
    /// The input chunks unit `n` reads, appended to `out`.
    fn reads(&self, n: usize, out: &mut Vec<[u64; 3]>);
    /// Compute unit `n`, reading through `cache` (and releasing what it
    /// read); the chunks and uncompressed bytes written.
    fn run(&self, n: usize, cache: &ChunkCache) -> anyhow::Result<(u64, u64)>;
}

/// What a pass did.
pub struct Pass {
    pub chunks_written: u64,
    pub bytes_written: u64,
    pub decodes: u64,
    pub input_chunks_read: u64,
}

impl Pass {
    /// The run's statistics: this pass, of `tasks` tasks, since `started`,
    /// with what each output was given.
    pub fn stats(
        self,
        tasks: usize,
        started: std::time::Instant,
        seen: Vec<(bool, bool)>,
    ) -> super::Stats {
        super::Stats {
            tasks: tasks as u64,
            chunks_written: self.chunks_written,
            bytes_written: self.bytes_written,
            decodes: self.decodes,
            input_chunks_read: self.input_chunks_read,
            wall_s: started.elapsed().as_secs_f64(),
            seen,
        }
    }
}

/// The most chunks held at once when each is held from the `first` to the
/// `last` of `units` units that read it (spans as (first, last)).
pub fn most_held(spans: impl Iterator<Item = (usize, usize)>, units: usize) -> u64 {
    // +1 at a chunk's first unit, -1 after its last
    let mut change = vec![0i64; units + 1];
    for (first, last) in spans {
        change[first] += 1;
        change[last + 1] -= 1;
    }
    change
        .iter()
        .scan(0i64, |live, d| {
            *live += d;
            Some(*live)
        })
        .max()
        .unwrap_or(0) as u64
}

/// Run `order` (pairs of a work of `works` and one of its units) on
/// `workers` threads over one cache of `cache_bytes`. Stops between units
/// when `stop` is set ([`Interrupted`]); the first error stops the rest.
pub fn run(
    works: &[&dyn Work],
    order: &[(usize, usize)],
    source: &dyn ChunkSource,
    cache_bytes: u64,
    workers: usize,
    progress: &Progress,
    stop: &AtomicBool,
) -> anyhow::Result<Pass> {
    let (uses, first_reads) = count_reads(works, order, source);
    let workers = workers.max(1);
    let hinted = Mutex::new(0usize);
    let prefetch = |started: usize| read_ahead(source, &first_reads, &hinted, started, workers);
    prefetch(0);
    let input_chunks_read = uses.iter().filter(|&&u| u > 0).count() as u64;
    let cache = ChunkCache::new(source, uses, cache_bytes);
    let next = AtomicUsize::new(0);
    let (chunks, bytes) = (AtomicU64::new(0), AtomicU64::new(0));
    let failure: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    let failed = AtomicBool::new(false);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(workers)
        .build()
        .with_context(|| format!("cannot start {workers} worker threads"))?;
    // a shared counter, not recursive splitting: the workers sweep the
    // volume together and the cache front stays small
    pool.scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|_| loop {
                if stop.load(Ordering::Relaxed) || failed.load(Ordering::Relaxed) {
                    break;
                }
                let n = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(w, unit)) = order.get(n) else {
                    break;
                };
                prefetch(n);
                match works[w].run(unit, &cache) {
                    Ok((c, b)) => {
                        chunks.fetch_add(c, Ordering::Relaxed);
                        bytes.fetch_add(b, Ordering::Relaxed);
                        progress.advance(c, b);
                    }
                    Err(e) => {
                        failed.store(true, Ordering::Relaxed);
                        failure.lock().expect("failure lock").get_or_insert(e);
                        break;
                    }
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().expect("failure lock") {
        return Err(e);
    }
    if stop.load(Ordering::Relaxed) && next.load(Ordering::Relaxed) < order.len() {
        return Err(Interrupted {
            chunks_written: chunks.into_inner(),
        }
        .into());
    }
    Ok(Pass {
        chunks_written: chunks.into_inner(),
        bytes_written: bytes.into_inner(),
        decodes: cache.decodes(),
        input_chunks_read,
    })
}

/// Every unit of one work, in its own order.
pub fn alone(work: &dyn Work) -> Vec<(usize, usize)> {
    (0..work.len()).map(|n| (0, n)).collect()
}

/// The units of `first` (work 0) in their order, with each unit of
/// `second` (work 1) placed just after the unit of `first` that first
/// reads the last of its chunks: all of them are decoded by then and
/// still held for it, so the second work decodes nothing the first does.
/// Units whose chunks the first never reads come at the end.
pub fn interleave(first: &dyn Work, second: &dyn Work, grid: [u64; 3]) -> Vec<(usize, usize)> {
    let linear = |c: [u64; 3]| ((c[0] * grid[1] + c[1]) * grid[2] + c[2]) as usize;
    let mut first_read = vec![usize::MAX; (grid[0] * grid[1] * grid[2]) as usize];
    let mut reads = Vec::new();
    for n in 0..first.len() {
        reads.clear();
        first.reads(n, &mut reads);
        for &c in &reads {
            let f = &mut first_read[linear(c)];
            *f = (*f).min(n);
        }
    }
    let mut after: Vec<(usize, usize)> = (0..second.len())
        .map(|m| {
            reads.clear();
            second.reads(m, &mut reads);
            let at = reads.iter().map(|&c| first_read[linear(c)]).max();
            (at.unwrap_or(0), m)
        })
        .collect();
    after.sort_unstable();
    let mut order = Vec::with_capacity(first.len() + second.len());
    let mut pending = after.into_iter().peekable();
    for n in 0..first.len() {
        order.push((0, n));
        while let Some(&(_, m)) = pending.peek().filter(|(at, _)| *at == n) {
            order.push((1, m));
            pending.next();
        }
    }
    order.extend(pending.map(|(_, m)| (1, m)));
    order
}

/// How many units read each input chunk (by flat index), and the chunks
/// each unit, in order, is the first to read (to fetch them ahead).
fn count_reads(
    works: &[&dyn Work],
    order: &[(usize, usize)],
    source: &dyn ChunkSource,
) -> (Vec<u32>, Vec<Vec<[u64; 3]>>) {
    let (shape, chunks) = (source.shape(), source.chunks());
    let grid = [0, 1, 2].map(|a| shape[a].div_ceil(chunks[a]));
    let mut uses = vec![0u32; (grid[0] * grid[1] * grid[2]) as usize];
    let mut first_reads: Vec<Vec<[u64; 3]>> = vec![Vec::new(); order.len()];
    let mut reads = Vec::new();
    for (n, &(w, unit)) in order.iter().enumerate() {
        reads.clear();
        works[w].reads(unit, &mut reads);
        for &c in &reads {
            let u = &mut uses[((c[0] * grid[1] + c[1]) * grid[2] + c[2]) as usize];
            if *u == 0 {
                first_reads[n].push(c);
            }
            *u += 1;
        }
    }
    (uses, first_reads)
}

/// Hint the source at the first reads of the units after the `started`th:
/// a window of the source's read-ahead, at least two units per worker.
/// `hinted` counts the units already hinted.
fn read_ahead(
    source: &dyn ChunkSource,
    first_reads: &[Vec<[u64; 3]>],
    hinted: &Mutex<usize>,
    started: usize,
    workers: usize,
) {
    let (window, min_units) = (source.read_ahead(), 2 * workers + 2);
    if window == 0 {
        return;
    }
    let Ok(mut upto) = hinted.lock() else { return };
    let mut pending: usize = first_reads[started.min(*upto)..*upto]
        .iter()
        .map(Vec::len)
        .sum();
    while *upto < first_reads.len() && (pending < window || *upto < started + min_units) {
        for &idx in &first_reads[*upto] {
            source.prefetch(idx);
        }
        pending += first_reads[*upto].len();
        *upto += 1;
    }
}

/// Per output: whether any value written was finite, and non-zero (a
/// result null or zero everywhere is almost always a mistake).
pub struct Seen(Vec<[AtomicBool; 2]>);

impl Seen {
    pub fn new(outputs: usize) -> Seen {
        Seen(
            (0..outputs)
                .map(|_| [AtomicBool::new(false), AtomicBool::new(false)])
                .collect(),
        )
    }

    /// Note what output `out` was given.
    pub fn note(&self, out: usize, values: ArrayView3<f32>) {
        let [finite, nonzero] = &self.0[out];
        if nonzero.load(Ordering::Relaxed) {
            return;
        }
        if values.iter().any(|v| v.is_finite() && *v != 0.0) {
            finite.store(true, Ordering::Relaxed);
            nonzero.store(true, Ordering::Relaxed);
        } else if values.iter().any(|v| v.is_finite()) {
            finite.store(true, Ordering::Relaxed);
        }
    }

    pub fn flags(&self) -> Vec<(bool, bool)> {
        self.0
            .iter()
            .map(|[f, n]| (f.load(Ordering::Relaxed), n.load(Ordering::Relaxed)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Units reading the given chunks (of a 1×1×n grid).
    struct Reads(Vec<Vec<u64>>);

    impl Work for Reads {
        fn len(&self) -> usize {
            self.0.len()
        }
        fn reads(&self, n: usize, out: &mut Vec<[u64; 3]>) {
            out.extend(self.0[n].iter().map(|&k| [0, 0, k]));
        }
        fn run(&self, _: usize, _: &ChunkCache) -> anyhow::Result<(u64, u64)> {
            Ok((0, 0))
        }
    }

    #[test]
    fn second_work_runs_once_its_chunks_are_all_read() {
        let first = Reads(vec![vec![0, 1], vec![1, 2], vec![3], vec![4]]);
        let second = Reads(vec![vec![2, 0], vec![9], vec![4], vec![]]);
        let order = interleave(&first, &second, [1, 1, 10]);
        assert_eq!(
            order,
            [
                (0, 0),
                (1, 3),
                (0, 1),
                (1, 0),
                (0, 2),
                (0, 3),
                (1, 2),
                (1, 1)
            ]
        );
    }
}
