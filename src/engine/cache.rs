//! Decoded input chunks, shared by the tasks that need them.
//!
//! With a 3-D halo every input chunk feeds up to 27 tasks. The cache knows
//! from the plan how many tasks will read each chunk and drops a chunk after
//! its last reader, so with tasks taken roughly in order each chunk is
//! decoded once while memory holds only the sweep front. A byte budget caps
//! that front: past it the least recently used chunk is dropped (and decoded
//! again if needed), so memory never grows with the volume.

use super::api::ChunkSource;
use ndarray::Array3;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

type Cell = Arc<OnceLock<Result<Arc<Array3<f32>>, String>>>;

struct Entry {
    cell: Cell,
    /// Set by the worker that decodes the chunk.
    claimed: Arc<AtomicBool>,
    tick: u64,
}

pub struct ChunkCache<'a> {
    source: &'a dyn ChunkSource,
    grid: [u64; 3],
    entries: Mutex<HashMap<u64, Entry>>,
    remaining: Vec<AtomicU32>,
    max_entries: usize,
    tick: AtomicU64,
    decodes: AtomicU64,
}

impl<'a> ChunkCache<'a> {
    /// `uses[i]` is how many tasks will read linear chunk `i`.
    pub fn new(source: &'a dyn ChunkSource, uses: Vec<u32>, budget_bytes: u64) -> Self {
        let c = source.chunks();
        let chunk_bytes = (c[0] * c[1] * c[2] * 4).max(1);
        let grid = [0, 1, 2].map(|a| source.shape()[a].div_ceil(c[a]));
        ChunkCache {
            source,
            grid,
            entries: Mutex::new(HashMap::new()),
            remaining: uses.into_iter().map(AtomicU32::new).collect(),
            max_entries: (budget_bytes / chunk_bytes).max(1) as usize,
            tick: AtomicU64::new(0),
            decodes: AtomicU64::new(0),
        }
    }

    pub fn linear(&self, idx: [u64; 3]) -> u64 {
        (idx[0] * self.grid[1] + idx[1]) * self.grid[2] + idx[2]
    }

    /// The decoded chunk `idx`, decoding it if no one has yet.
    pub fn get(&self, idx: [u64; 3]) -> anyhow::Result<Arc<Array3<f32>>> {
        let (cell, claimed) = self.entry(idx);
        claimed.store(true, Ordering::Relaxed);
        self.decode(idx, &cell)
    }

    /// Chunk `idx` unless another worker is decoding it now (`None`: ask
    /// [`ChunkCache::get`] later, after other work, instead of waiting).
    pub fn get_unless_busy(&self, idx: [u64; 3]) -> Option<anyhow::Result<Arc<Array3<f32>>>> {
        let (cell, claimed) = self.entry(idx);
        if cell.get().is_none() && claimed.swap(true, Ordering::AcqRel) {
            return None;
        }
        Some(self.decode(idx, &cell))
    }

    fn decode(&self, idx: [u64; 3], cell: &Cell) -> anyhow::Result<Arc<Array3<f32>>> {
        let value = cell.get_or_init(|| {
            self.decodes.fetch_add(1, Ordering::Relaxed);
            self.source
                .read_chunk(idx)
                .map(Arc::new)
                .map_err(|e| format!("{e:#}"))
        });
        value.clone().map_err(|e| anyhow::anyhow!(e))
    }

    /// The entry of chunk `idx`, made if new (evicting the least recently
    /// used past the budget).
    fn entry(&self, idx: [u64; 3]) -> (Cell, Arc<AtomicBool>) {
        let key = self.linear(idx);
        {
            let mut map = self.entries.lock().expect("cache lock");
            let tick = self.tick.fetch_add(1, Ordering::Relaxed);
            if !map.contains_key(&key) && map.len() >= self.max_entries {
                if let Some(oldest) = map.iter().min_by_key(|(_, e)| e.tick).map(|(k, _)| *k) {
                    map.remove(&oldest);
                }
            }
            let e = map.entry(key).or_insert_with(|| Entry {
                cell: Arc::new(OnceLock::new()),
                claimed: Arc::new(AtomicBool::new(false)),
                tick,
            });
            e.tick = tick;
            (e.cell.clone(), e.claimed.clone())
        }
    }

    /// One task is done with chunk `idx`; drop it after its last reader.
    pub fn release(&self, idx: [u64; 3]) {
        let key = self.linear(idx);
        let left = self.remaining[key as usize].fetch_sub(1, Ordering::AcqRel);
        if left <= 1 {
            self.entries.lock().expect("cache lock").remove(&key);
        }
    }

    pub fn decodes(&self) -> u64 {
        self.decodes.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// Chunks of 2³ whose decoding of chunk 0 waits for a signal.
    struct Held {
        started: Mutex<mpsc::Sender<()>>,
        release: Mutex<mpsc::Receiver<()>>,
    }

    impl ChunkSource for Held {
        fn shape(&self) -> [u64; 3] {
            [4, 2, 2]
        }
        fn chunks(&self) -> [u64; 3] {
            [2, 2, 2]
        }
        fn read_chunk(&self, idx: [u64; 3]) -> anyhow::Result<Array3<f32>> {
            if idx == [0, 0, 0] {
                self.started.lock().unwrap().send(()).unwrap();
                // bounded, so that a cache that waits fails the test
                // instead of hanging it
                let wait = std::time::Duration::from_secs(10);
                let _ = self.release.lock().unwrap().recv_timeout(wait);
            }
            Ok(Array3::from_elem((2, 2, 2), idx[0] as f32))
        }
    }

    #[test]
    fn a_chunk_being_decoded_elsewhere_is_skipped_not_waited_on() {
        let (started_tx, started) = mpsc::channel();
        let (release, release_rx) = mpsc::channel();
        let source = Held {
            started: Mutex::new(started_tx),
            release: Mutex::new(release_rx),
        };
        let cache = ChunkCache::new(&source, vec![2, 2], 1 << 20);
        std::thread::scope(|s| {
            let decoding = s.spawn(|| cache.get([0, 0, 0]).unwrap()[[0, 0, 0]]);
            started.recv().unwrap();
            assert!(cache.get_unless_busy([0, 0, 0]).is_none());
            let other = cache.get_unless_busy([1, 0, 0]).expect("not busy").unwrap();
            assert_eq!(other[[0, 0, 0]], 1.0);
            let _ = release.send(());
            assert_eq!(decoding.join().unwrap(), 0.0);
        });
        // decoded now: no longer busy, and not decoded again
        let chunk = cache.get_unless_busy([0, 0, 0]).expect("ready").unwrap();
        assert_eq!(chunk[[1, 1, 1]], 0.0);
        assert_eq!(cache.decodes(), 2);
    }
}
