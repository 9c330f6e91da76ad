//! Batch schedulers (LSF, Slurm): what their environment says — this
//! process's shard of a job array, its cores, its memory, a requeue — and
//! the job-array scripts `attr submit` writes.

pub mod job_array;
pub mod memory_budget;
pub mod shards;
