//! What a run was asked to do, decided once at the entrance from the
//! command line and the scheduler's environment, and passed down.

use crate::batch::shards::{self as shard, Shard};
use anyhow::{bail, Result};

/// The command line's wishes, as parsed.
#[derive(Default)]
pub struct Flags {
    pub workers: Option<usize>,
    /// `--memory MB`.
    pub memory_mb: Option<u64>,
    pub overwrite: bool,
    pub dry_run: bool,
    pub quiet: bool,
    /// `--shard I/N`.
    pub shard: Option<String>,
    /// `--shards N`, for an array task whose environment lacks it.
    pub shards: Option<usize>,
    pub resume: bool,
    pub repair: bool,
    /// `--strict-input`: refuse input chunks missing from the store.
    pub strict_input: bool,
    /// `--force`: write more chunk files than a job writes without it.
    pub force: bool,
}

/// How this process runs a job: decided from the flags and the environment.
pub struct Settings {
    /// `--workers` (0 is no wish), else None: the job's, else the machine's.
    pub workers: Option<usize>,
    /// The machine's or scheduler's worker count, and where it came from.
    pub default_workers: (usize, String),
    pub memory_mb: Option<u64>,
    pub overwrite: bool,
    pub dry_run: bool,
    pub quiet: bool,
    /// This process's share of the tasks; None: all of them.
    pub shard: Option<Shard>,
    /// `--resume`, or a requeued array task.
    pub resume: bool,
    pub repair: bool,
    /// Input chunks missing from the store are refused.
    pub strict_input: bool,
    /// More chunk files than [`crate::store::file_budget::WITHOUT_FORCE`] are allowed.
    pub force: bool,
}

impl Settings {
    pub fn decide(flags: Flags) -> Result<Settings> {
        Self::decide_with(flags, &shard::process_env)
    }

    /// [`Settings::decide`] with the environment given (tests).
    pub fn decide_with(flags: Flags, env: &dyn Fn(&str) -> Option<String>) -> Result<Settings> {
        let shard = match &flags.shard {
            Some(text) => Some(shard::parse(text)?),
            None => {
                let s = shard::from_env(env, flags.shards)?;
                if s.is_none() && flags.shards.is_some() {
                    bail!("--shards N needs a Slurm or LSF array task (or give --shard I/N)");
                }
                s
            }
        };
        Ok(Settings {
            workers: flags.workers.filter(|&w| w > 0),
            default_workers: shard::default_workers(env),
            memory_mb: flags.memory_mb,
            overwrite: flags.overwrite,
            dry_run: flags.dry_run,
            quiet: flags.quiet,
            shard,
            resume: flags.resume || shard::requeued(env),
            repair: flags.repair,
            strict_input: flags.strict_input,
            force: flags.force,
        })
    }

    /// For commands that look at a job without running it.
    pub fn inspect(
        workers: Option<usize>,
        memory_mb: Option<u64>,
        force: bool,
    ) -> Result<Settings> {
        Self::decide(Flags {
            workers,
            memory_mb,
            force,
            dry_run: true,
            quiet: true,
            ..Flags::default()
        })
    }

    /// The worker count for a job that asks for `job_workers` (0: no wish),
    /// and where it came from.
    pub fn workers_for(&self, job_workers: usize) -> (usize, String) {
        match (self.workers, job_workers) {
            (Some(w), _) => (w, "--workers".into()),
            (None, w) if w > 0 => (w, "the job's workers".into()),
            _ => self.default_workers.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheduler_environment_decides_shard_and_resume() {
        let env = |k: &str| match k {
            "SLURM_ARRAY_TASK_ID" => Some("2".to_string()),
            "SLURM_ARRAY_TASK_COUNT" => Some("4".to_string()),
            "SLURM_ARRAY_TASK_MIN" => Some("0".to_string()),
            "SLURM_RESTART_COUNT" => Some("1".to_string()),
            _ => None,
        };
        let s = Settings::decide_with(Flags::default(), &env).unwrap();
        let shard = s.shard.expect("a shard from the array");
        assert_eq!((shard.index, shard.count), (2, 4));
        assert!(s.resume, "a requeued task resumes");
        let s = Settings::decide_with(
            Flags {
                shard: Some("1/3".into()),
                ..Flags::default()
            },
            &env,
        )
        .unwrap();
        let shard = s.shard.unwrap();
        assert_eq!((shard.index, shard.count), (1, 3));
        let none = |_: &str| None;
        let s = Settings::decide_with(Flags::default(), &none).unwrap();
        assert_eq!(s.workers_for(3), (3, "the job's workers".into()));
    }
}
