//! What a kind of job supplies to the lifecycle: what it reads, what it
//! writes, how its work splits into tasks, and how a task is computed.
//! Everything else (dry runs, signals, staging, shards, resume, repair,
//! leases, publishing, the summary) is the lifecycle's, the same for every
//! kind.

use crate::batch::memory_budget::Budget;
use crate::engine::{ChunkSink, Stats};
use crate::store::{Format, Input, Layout, Location, VariableSpec};
use anyhow::Result;
use serde_json::{Map, Value};
use std::path::Path;
use std::sync::atomic::AtomicBool;

/// One variable a job writes.
#[derive(Clone)]
pub struct Output {
    /// The dataset it belongs to.
    pub location: Location,
    pub format: Format,
    pub spec: VariableSpec,
    /// Its number of chunks.
    pub total: usize,
    /// The job's field that names the dataset, for messages.
    pub field: String,
}

/// A kind of job (attributes, facies, ...), resolved against its inputs.
pub trait JobKind: Sync {
    /// The job file, which messages name.
    fn job_path(&self) -> &Path;
    /// The volume the job reads (its identity guards the outputs).
    fn grid(&self) -> &Input;
    /// The grid the variables of the dataset at `path` lie on: by default
    /// the volume's.
    fn layout(&self, _path: &Path) -> Layout {
        Layout::of(self.grid())
    }
    /// Every store the job reads: no output may be, hold or lie inside one.
    fn reads(&self) -> Vec<Location>;
    /// The variables written, in a fixed order (sinks are passed in it).
    fn outputs(&self) -> &[Output];
    /// What must match for two processes (or a rerun) to share the
    /// dataset at `path`; known before any data is read.
    fn fingerprint(&self, path: &Path) -> Value;
    /// The number of tasks: the unit of sharding and resuming.
    fn task_count(&self) -> usize;
    /// The chunks task `task` writes, as (output index, chunk index).
    fn task_chunks(&self, task: usize) -> Vec<(usize, [u64; 3])>;
    /// The peak memory the run is estimated to need, and its budget.
    fn estimate(&self) -> u64;
    fn budget(&self) -> &Budget;
    /// The run's first line: what it reads and computes.
    fn describe(&self) -> String;
    /// What `--dry-run` shows.
    fn dry_run(&self);
    /// The work before anything is written (dead traces, a fit); stops
    /// early when `stop` is set.
    fn prepare(&mut self, quiet: bool, stop: &AtomicBool) -> Result<()>;
    /// The attributes of the dataset at `path` (after `prepare`).
    fn dataset_attributes(&self, path: &Path) -> Map<String, Value>;
    /// Compute the tasks `selected`, writing output `i` to `sinks[i]`;
    /// stops between chunks when `stop` is set ([`crate::engine::Interrupted`]).
    fn compute(
        &self,
        selected: &[usize],
        sinks: &[&dyn ChunkSink],
        quiet: bool,
        stop: &AtomicBool,
    ) -> Result<Stats>;
    /// Warnings on what was computed (a whole run only).
    fn finished(&self, _stats: &Stats) {}
    /// `attr plan`: the work without doing it.
    fn plan(&self, shards: Option<usize>, graph: Option<&Path>) -> Result<()>;
}

/// The distinct datasets of a job's outputs, in first-mention order.
pub fn datasets(outputs: &[Output]) -> Vec<Location> {
    let mut v: Vec<Location> = Vec::new();
    for o in outputs {
        if !v.iter().any(|l| l.path() == o.location.path()) {
            v.push(o.location.clone());
        }
    }
    v
}

impl Output {
    /// Whether it is written to the dataset at `at`.
    pub fn is_in(&self, at: &Location) -> bool {
        self.location.path() == at.path()
    }
}
