//! Which share of the work this process does, and with how many threads,
//! from the command line or from the batch scheduler's environment.
//!
//! Slurm job arrays: `SLURM_ARRAY_TASK_ID` − `SLURM_ARRAY_TASK_MIN` of
//! `SLURM_ARRAY_TASK_COUNT`. LSF job arrays: `LSB_JOBINDEX` − 1 (LSF indices
//! start at 1; 0 means not an array) of `--shards N` or `LSB_JOBINDEX_END`.

use anyhow::{bail, Result};

/// Shard `index` of `count` (0-based), and where that came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
    pub source: String,
}

/// Parse `I/N`.
pub fn parse(text: &str) -> Result<Shard> {
    let bad =
        || anyhow::anyhow!("--shard '{text}': expected I/N with 0 <= I < N, e.g. --shard 0/4");
    let (i, n) = text.split_once('/').ok_or_else(bad)?;
    let (index, count): (usize, usize) = (
        i.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if count == 0 || index >= count {
        return Err(bad());
    }
    Ok(Shard {
        index,
        count,
        source: "--shard".into(),
    })
}

fn num(env: &dyn Fn(&str) -> Option<String>, key: &str) -> Result<Option<i64>> {
    match env(key) {
        None => Ok(None),
        Some(v) if v.trim().is_empty() => Ok(None),
        Some(v) => match v.trim().parse::<i64>() {
            Ok(n) => Ok(Some(n)),
            Err(_) => bail!("environment variable {key}='{v}' is not a number"),
        },
    }
}

/// The shard given by the scheduler's environment, if this is an array task.
/// `shards` is `--shards N` when given.
pub fn from_env(
    env: &dyn Fn(&str) -> Option<String>,
    shards: Option<usize>,
) -> Result<Option<Shard>> {
    // LSF first: a real LSF job has no Slurm variables, and where both are
    // set (Slurm running an LSF-style script through a shim) LSF's are meant
    if let Some(idx) = num(env, "LSB_JOBINDEX")? {
        if idx == 0 {
            return Ok(None); // LSF: not an array job
        }
        if let Some(step) = num(env, "LSB_JOBINDEX_STEP")? {
            if step > 1 {
                bail!("this LSF array has step {step}: attr needs consecutive indices (-J \"name[1-N]\")");
            }
        }
        let count = match (shards, num(env, "LSB_JOBINDEX_END")?) {
            (Some(n), _) => n as i64,
            (None, Some(end)) => end,
            (None, None) => {
                bail!("LSB_JOBINDEX is set but LSB_JOBINDEX_END is not: pass --shards N")
            }
        };
        return checked(
            idx - 1,
            count,
            format!("LSF array element {idx} (LSB_JOBINDEX − 1)"),
        );
    }
    if let Some(id) = num(env, "SLURM_ARRAY_TASK_ID")? {
        if let Some(step) = num(env, "SLURM_ARRAY_TASK_STEP")? {
            if step != 1 {
                bail!(
                    "this Slurm array has step {step}: attr needs consecutive task ids (--array=0-{}) to split the work",
                    shards.map_or("N-1".to_string(), |n| (n - 1).to_string())
                );
            }
        }
        let min = num(env, "SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
        let count = match (shards, num(env, "SLURM_ARRAY_TASK_COUNT")?) {
            (Some(n), _) => n as i64,
            (None, Some(c)) => c,
            (None, None) => bail!(
                "SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not: pass --shards N"
            ),
        };
        return checked(
            id - min,
            count,
            format!("Slurm array task {id} (SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN)"),
        );
    }
    Ok(None)
}

fn checked(index: i64, count: i64, source: String) -> Result<Option<Shard>> {
    if count < 1 || index < 0 || index >= count {
        bail!("{source}: shard {index} is outside 0..{count}: submit the array with as many tasks as --shards");
    }
    Ok(Some(Shard {
        index: index as usize,
        count: count as usize,
        source,
    }))
}

/// Threads to use: the slots the scheduler granted, else the cores here.
pub fn default_workers(env: &dyn Fn(&str) -> Option<String>) -> (usize, String) {
    for key in ["LSB_DJOB_NUMPROC", "SLURM_CPUS_PER_TASK"] {
        if let Some(n) = env(key)
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|&n| n > 0)
        {
            return (n, key.to_string());
        }
    }
    (
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        "cores available".into(),
    )
}

/// Whether the scheduler says this job was requeued (so it should resume).
pub fn requeued(env: &dyn Fn(&str) -> Option<String>) -> bool {
    env("LSB_RESTART").is_some_and(|v| v.trim().eq_ignore_ascii_case("y"))
        || env("SLURM_RESTART_COUNT")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .is_some_and(|n| n > 0)
}

/// The real process environment.
pub fn process_env(key: &str) -> Option<String> {
    std::env::var(key).ok()
}

/// Tasks `start..end` of `total` for shard `index` of `count`: contiguous
/// (so neighbouring shards share few halo reads) and balanced to within one.
pub fn task_range(total: usize, index: usize, count: usize) -> std::ops::Range<usize> {
    (total * index / count)..(total * (index + 1) / count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k: &str| m.get(k).cloned()
    }

    #[test]
    fn explicit_shard() {
        assert_eq!(parse("2/4").unwrap().index, 2);
        assert!(parse("4/4").is_err());
        assert!(parse("1/0").is_err());
        assert!(parse("a/b").is_err());
        assert!(parse("3").is_err());
    }

    #[test]
    fn slurm_array() {
        let e = env(&[
            ("SLURM_ARRAY_TASK_ID", "7"),
            ("SLURM_ARRAY_TASK_MIN", "5"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        let s = from_env(&e, None).unwrap().unwrap();
        assert_eq!((s.index, s.count), (2, 4));
        assert!(s.source.contains("Slurm"));
        // --shards overrides the count
        assert_eq!(from_env(&e, Some(3)).unwrap().unwrap().count, 3);
        // a step other than 1 is refused
        let e = env(&[
            ("SLURM_ARRAY_TASK_ID", "2"),
            ("SLURM_ARRAY_TASK_STEP", "2"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert!(from_env(&e, None)
            .unwrap_err()
            .to_string()
            .contains("step 2"));
        // outside the range
        let e = env(&[
            ("SLURM_ARRAY_TASK_ID", "4"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert!(from_env(&e, None).is_err());
        // garbage
        let e = env(&[("SLURM_ARRAY_TASK_ID", "x")]);
        assert!(from_env(&e, None)
            .unwrap_err()
            .to_string()
            .contains("SLURM_ARRAY_TASK_ID"));
    }

    #[test]
    fn lsf_array() {
        let e = env(&[("LSB_JOBINDEX", "1"), ("LSB_JOBINDEX_END", "4")]);
        let s = from_env(&e, None).unwrap().unwrap();
        assert_eq!((s.index, s.count), (0, 4));
        let e = env(&[
            ("LSB_JOBINDEX", "4"),
            ("LSB_JOBINDEX_END", "4"),
            ("LSB_JOBINDEX_STEP", "1"),
        ]);
        assert_eq!(from_env(&e, None).unwrap().unwrap().index, 3);
        // index 0: not an array job
        assert_eq!(
            from_env(&env(&[("LSB_JOBINDEX", "0")]), None).unwrap(),
            None
        );
        // --shards N when the array is not [1-N]
        let e = env(&[("LSB_JOBINDEX", "2")]);
        assert!(from_env(&e, None).is_err());
        assert_eq!(from_env(&e, Some(8)).unwrap().unwrap().count, 8);
        let e = env(&[
            ("LSB_JOBINDEX", "3"),
            ("LSB_JOBINDEX_END", "9"),
            ("LSB_JOBINDEX_STEP", "3"),
        ]);
        assert!(from_env(&e, None).is_err());
        assert_eq!(from_env(&env(&[]), None).unwrap(), None);
        // both set: the LSF variables win
        let e = env(&[
            ("LSB_JOBINDEX", "2"),
            ("LSB_JOBINDEX_END", "4"),
            ("SLURM_ARRAY_TASK_ID", "2"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert_eq!(from_env(&e, None).unwrap().unwrap().index, 1);
    }

    #[test]
    fn workers_and_restart() {
        assert_eq!(
            default_workers(&env(&[
                ("LSB_DJOB_NUMPROC", "6"),
                ("SLURM_CPUS_PER_TASK", "3")
            ]))
            .0,
            6
        );
        assert_eq!(default_workers(&env(&[("SLURM_CPUS_PER_TASK", "3")])).0, 3);
        assert!(default_workers(&env(&[("SLURM_CPUS_PER_TASK", "zero")])).0 >= 1);
        assert!(requeued(&env(&[("LSB_RESTART", "Y")])));
        assert!(requeued(&env(&[("SLURM_RESTART_COUNT", "2")])));
        assert!(!requeued(&env(&[("SLURM_RESTART_COUNT", "0")])));
        assert!(!requeued(&env(&[])));
    }

    #[test]
    fn partition_is_balanced_contiguous_and_complete() {
        for total in [0, 1, 7, 64, 1000] {
            for count in [1, 3, 4, 8, 13] {
                let ranges: Vec<_> = (0..count).map(|i| task_range(total, i, count)).collect();
                assert_eq!(ranges[0].start, 0);
                assert_eq!(ranges[count - 1].end, total);
                for w in ranges.windows(2) {
                    assert_eq!(w[0].end, w[1].start);
                }
                let sizes: Vec<usize> = ranges.iter().map(|r| r.len()).collect();
                assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1);
            }
        }
    }
}
