//! Jobs with both `outputs:` and `maps:`: the volumes and the maps in one
//! run and one pass over the input. The volume tasks run in their sweep;
//! each map tile runs just after the task that first reads the last of
//! its chunks, from the same chunk cache, so no input chunk is decoded for
//! the maps that the volumes decode anyway.

use super::attribute_job::AttributeJob;
use super::map_job::MapJob;
use super::{JobKind, Output, Settings};
use crate::batch::memory_budget::Budget;
use crate::engine::work::{self, Work};
use crate::engine::{ChunkSink, Stats, VolumeTasks};
use crate::job::JobSpec;
use crate::progress::Progress;
use crate::store::{Input, Layout, Location};
use anyhow::{bail, Result};
use serde_json::{Map, Value};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

pub struct VolumesAndMaps {
    volumes: AttributeJob,
    maps: MapJob,
    /// The volumes' outputs, then the maps'.
    outputs: Vec<Output>,
}

impl VolumesAndMaps {
    pub fn resolve(job_path: &Path, spec: JobSpec, s: &Settings) -> Result<VolumesAndMaps> {
        let mut volume_spec = spec.clone();
        volume_spec.maps.clear();
        let mut map_spec = spec;
        map_spec.outputs.clear();
        let volumes = AttributeJob::resolve(job_path, volume_spec, s)?;
        let maps = MapJob::resolve(job_path, map_spec, s)?;
        for m in maps.outputs() {
            if let Some(v) = volumes.outputs().iter().find(|v| v.is_in(&m.location)) {
                bail!(
                    "{}: '{}' is also {}'s dataset: maps lie on (inline, crossline), volumes on the survey's grid; give the maps a dataset of their own",
                    m.field,
                    m.location,
                    v.field
                );
            }
        }
        let outputs = volumes
            .outputs()
            .iter()
            .chain(maps.outputs())
            .cloned()
            .collect();
        Ok(VolumesAndMaps {
            volumes,
            maps,
            outputs,
        })
    }

    /// Whether the dataset at `path` holds maps.
    fn holds_maps(&self, path: &Path) -> bool {
        self.maps
            .outputs()
            .iter()
            .any(|o| o.location.path() == path)
    }

    fn volume_tasks(&self) -> usize {
        self.volumes.task_count()
    }
}

impl JobKind for VolumesAndMaps {
    fn job_path(&self) -> &Path {
        self.volumes.job_path()
    }

    fn grid(&self) -> &Input {
        self.volumes.grid()
    }

    fn layout(&self, path: &Path) -> Layout {
        match self.holds_maps(path) {
            true => self.maps.layout(path),
            false => self.volumes.layout(path),
        }
    }

    fn reads(&self) -> Vec<Location> {
        let mut v = self.volumes.reads();
        v.extend(self.maps.reads());
        v
    }

    fn outputs(&self) -> &[Output] {
        &self.outputs
    }

    fn fingerprint(&self, path: &Path) -> Value {
        match self.holds_maps(path) {
            true => self.maps.fingerprint(path),
            false => self.volumes.fingerprint(path),
        }
    }

    fn task_count(&self) -> usize {
        self.volume_tasks() + self.maps.task_count()
    }

    fn task_chunks(&self, task: usize) -> Vec<(usize, [u64; 3])> {
        let v = self.volume_tasks();
        match task.checked_sub(v) {
            None => self.volumes.task_chunks(task),
            Some(m) => {
                let first = self.volumes.outputs().len();
                let chunks = self.maps.task_chunks(m);
                chunks.into_iter().map(|(o, c)| (first + o, c)).collect()
            }
        }
    }

    /// Both at once: the maps' tiles run beside the volumes' tasks.
    fn estimate(&self) -> u64 {
        self.volumes.estimate() + self.maps.estimate() - crate::engine::work_plan::PROCESS_BYTES
    }

    fn budget(&self) -> &Budget {
        self.volumes.budget()
    }

    fn describe(&self) -> String {
        format!(
            "{}; and {} map(s) on horizons in the same pass",
            self.volumes.describe(),
            self.maps.outputs().len()
        )
    }

    fn dry_run(&self) {
        self.volumes.dry_run();
        self.maps.dry_run();
    }

    fn prepare(&mut self, quiet: bool, stop: &AtomicBool) -> Result<()> {
        self.volumes.prepare(quiet, stop)?;
        // traces the volumes take as missing (dead traces) are missing on
        // the maps too
        self.maps
            .set_live_traces(self.volumes.grid().live_traces.clone());
        self.maps.prepare(quiet, stop)
    }

    fn dataset_attributes(&self, path: &Path) -> Map<String, Value> {
        match self.holds_maps(path) {
            true => self.maps.dataset_attributes(path),
            false => self.volumes.dataset_attributes(path),
        }
    }

    fn compute(
        &self,
        selected: &[usize],
        sinks: &[&dyn ChunkSink],
        quiet: bool,
        stop: &AtomicBool,
    ) -> Result<Stats> {
        let started = Instant::now();
        let v = self.volume_tasks();
        let (volume_sel, map_sel): (Vec<usize>, Vec<usize>) =
            selected.iter().partition(|&&t| t < v);
        let map_sel: Vec<usize> = map_sel.iter().map(|t| t - v).collect();
        let (volume_sinks, map_sinks) = sinks.split_at(self.volumes.outputs().len());
        let targets = self.volumes.targets(volume_sinks);
        let volume_work = VolumeTasks::new(self.volumes.work_plan(), &volume_sel, &targets);
        let map_work = self.maps.tiles_of(&map_sel, map_sinks);
        let input = self.volumes.grid();
        let grid = [0, 1, 2].map(|a| input.shape[a].div_ceil(input.chunks[a]));
        let order = work::interleave(&volume_work, &map_work, grid);
        let total = self.volumes.chunk_count(&volume_sel) + map_work.chunk_count();
        let progress = Progress::new(total, "attr run", quiet);
        let (workers, cache_bytes) = self.volumes.resources();
        // the maps' chunks are the volumes' too: a tile's few more at most
        let extra = map_work.most_reads() as u64 * input.chunks.iter().product::<u64>() * 4;
        let works: [&dyn Work; 2] = [&volume_work, &map_work];
        let pass = work::run(
            &works,
            &order,
            input,
            cache_bytes + workers as u64 * extra,
            workers,
            &progress,
            stop,
        );
        progress.finish();
        let mut seen = volume_work.seen.flags();
        seen.extend(map_work.seen.flags());
        Ok(pass?.stats(selected.len(), started, seen))
    }

    fn finished(&self, stats: &Stats) {
        let (volumes, maps) = stats.seen.split_at(self.volumes.outputs().len());
        self.volumes.warn_empty(volumes);
        self.maps.warn_empty(maps);
    }

    fn plan(&self, shards: Option<usize>, graph: Option<&Path>) -> Result<()> {
        self.volumes.plan(shards, graph)?;
        self.maps.plan_maps();
        crate::outln!(
            "          the maps read in the volumes' pass: their chunks are decoded once for both"
        );
        Ok(())
    }
}
