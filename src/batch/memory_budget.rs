//! The memory budget of a run: `--memory`, the job's `memory_mb`, else a
//! share of what the scheduler allocated or the machine has. The planner
//! fits its work units into it (tiles of large chunks, stacks of small
//! ones), so a job sized for a workstation does not run a node out of
//! memory.

/// The budget in bytes and where it came from, for `attr plan`.
#[derive(Clone, Debug)]
pub struct Budget {
    pub bytes: u64,
    pub from: String,
}

/// The share of a scheduler's allocation or a cgroup limit a run takes
/// by default (the rest: the process, the allocator, the page cache).
const SHARE_OF_LIMIT: f64 = 0.75;
/// The share of the machine's available memory a run takes by default.
const SHARE_OF_MACHINE: f64 = 0.5;

impl Budget {
    pub fn resolve(cli_mb: Option<u64>, job_mb: Option<u64>) -> Budget {
        Self::resolve_with(cli_mb, job_mb, &|k| std::env::var(k).ok(), &|p| {
            std::fs::read_to_string(p).ok()
        })
    }

    /// [`Budget::resolve`] with the environment and files given (tests).
    pub fn resolve_with(
        cli_mb: Option<u64>,
        job_mb: Option<u64>,
        env: &dyn Fn(&str) -> Option<String>,
        read: &dyn Fn(&str) -> Option<String>,
    ) -> Budget {
        let mb = |v: u64, from: &str| Budget {
            bytes: v << 20,
            from: from.to_string(),
        };
        if let Some(v) = cli_mb {
            return mb(v, "--memory");
        }
        if let Some(v) = job_mb {
            return mb(v, "the job's memory_mb");
        }
        let share = |bytes: u64, share: f64, from: String| Budget {
            bytes: (bytes as f64 * share) as u64,
            from,
        };
        let num = |k: &str| env(k).and_then(|v| v.trim().parse::<u64>().ok());
        if let Some(v) = num("SLURM_MEM_PER_NODE") {
            return share(
                v << 20,
                SHARE_OF_LIMIT,
                format!("{SHARE_OF_LIMIT} of SLURM_MEM_PER_NODE"),
            );
        }
        if let Some(v) = num("SLURM_MEM_PER_CPU") {
            let cpus = num("SLURM_CPUS_PER_TASK")
                .or_else(|| num("SLURM_CPUS_ON_NODE"))
                .unwrap_or(1);
            return share(
                (v << 20) * cpus,
                SHARE_OF_LIMIT,
                format!("{SHARE_OF_LIMIT} of SLURM_MEM_PER_CPU x {cpus} CPUs"),
            );
        }
        // LSF and Slurm enforce memory limits with cgroups
        let limit = read("/sys/fs/cgroup/memory.max")
            .or_else(|| read("/sys/fs/cgroup/memory/memory.limit_in_bytes"))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|&v| v < 1 << 60);
        let available = read("/proc/meminfo").and_then(|info| kib_field(&info, "MemAvailable:"));
        match (limit, available) {
            (Some(l), a) if a.is_none_or(|a| l * 3 / 2 < a) => share(
                l,
                SHARE_OF_LIMIT,
                format!("{SHARE_OF_LIMIT} of the cgroup's memory limit"),
            ),
            (_, Some(a)) => share(
                a,
                SHARE_OF_MACHINE,
                format!("{SHARE_OF_MACHINE} of this machine's available memory"),
            ),
            _ => mb(4096, "a default (the machine's memory is unknown)"),
        }
    }
}

/// A `Key: N kB` line of a /proc file, in bytes.
fn kib_field(text: &str, key: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(key))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb << 10)
}

/// Memory the kernel says is available for new allocations.
pub fn available_memory() -> Option<u64> {
    kib_field(
        &std::fs::read_to_string("/proc/meminfo").ok()?,
        "MemAvailable:",
    )
}

/// Peak resident memory of this process, from the kernel's accounting.
pub fn peak_memory() -> Option<String> {
    let bytes = kib_field(
        &std::fs::read_to_string("/proc/self/status").ok()?,
        "VmHWM:",
    )?;
    Some(format!("{:.0} MiB", bytes as f64 / (1u64 << 20) as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(env: &[(&str, &str)], files: &[(&str, &str)]) -> Budget {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let files: Vec<(String, String)> = files
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Budget::resolve_with(
            None,
            None,
            &|k| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()),
            &|p| files.iter().find(|(n, _)| n == p).map(|(_, v)| v.clone()),
        )
    }

    #[test]
    fn the_budget_comes_from_the_first_source_that_gives_one() {
        let b = Budget::resolve_with(Some(512), Some(2048), &|_| None, &|_| None);
        assert_eq!((b.bytes, b.from.as_str()), (512 << 20, "--memory"));
        let b = Budget::resolve_with(None, Some(2048), &|_| None, &|_| None);
        assert_eq!(b.bytes, 2048 << 20);
        let b = with(&[("SLURM_MEM_PER_NODE", "8000")], &[]);
        assert_eq!(b.bytes, 6000 << 20);
        let b = with(
            &[("SLURM_MEM_PER_CPU", "1000"), ("SLURM_CPUS_PER_TASK", "4")],
            &[],
        );
        assert_eq!(b.bytes, 3000 << 20);
        let meminfo = "MemTotal: 33554432 kB\nMemAvailable: 16777216 kB\n";
        let b = with(&[], &[("/proc/meminfo", meminfo)]);
        assert_eq!(b.bytes, 8 << 30);
        // a cgroup limit well below the machine's memory is the job's share
        let b = with(
            &[],
            &[
                ("/proc/meminfo", meminfo),
                ("/sys/fs/cgroup/memory.max", "4294967296\n"),
            ],
        );
        assert_eq!(b.bytes, 3 << 30);
        assert!(b.from.contains("cgroup"), "{}", b.from);
        // "max" means no limit
        let b = with(
            &[],
            &[
                ("/proc/meminfo", meminfo),
                ("/sys/fs/cgroup/memory.max", "max\n"),
            ],
        );
        assert_eq!(b.bytes, 8 << 30);
    }
}
