//! `attr submit`: job-array scripts for LSF and Slurm, plus a finalize job
//! that runs after the whole array and verifies the result.

use anyhow::{anyhow, bail, Context, Result};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Scheduler {
    Lsf,
    Slurm,
}

/// Everything a script depends on (so scripts are a pure function of it).
#[derive(Clone, Debug)]
pub struct Request {
    pub scheduler: Scheduler,
    pub name: String,
    pub attr: PathBuf,
    pub job: PathBuf,
    pub workdir: PathBuf,
    pub shards: usize,
    pub queue: Option<String>,
    pub cores: Option<usize>,
    pub memory_gb: Option<u32>,
    pub walltime: Option<String>,
    pub project: Option<String>,
    pub max_running: Option<usize>,
    pub gpus: Option<usize>,
}

/// LSF's default maximum array size (MAX_JOB_ARRAY_SIZE).
pub const LSF_DEFAULT_MAX_ARRAY: usize = 1000;

fn check_walltime(w: &str) -> Result<()> {
    let ok = w.split_once(':').is_some_and(|(h, m)| {
        !h.is_empty()
            && h.chars().all(|c| c.is_ascii_digit())
            && m.len() == 2
            && m.chars().all(|c| c.is_ascii_digit())
    });
    if !ok {
        bail!("--walltime '{w}': expected HH:MM, e.g. 04:00");
    }
    Ok(())
}

fn quote(p: &Path) -> String {
    let s = p.display().to_string();
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,".contains(c))
    {
        s
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The array script: each element runs one shard.
pub fn array_script(r: &Request) -> String {
    let mut s = String::from("#!/bin/bash\n");
    let run = format!(
        "{} run {} --shards {}",
        quote(&r.attr),
        quote(&r.job),
        r.shards
    );
    match r.scheduler {
        Scheduler::Lsf => {
            let limit = r.max_running.map(|k| format!("%{k}")).unwrap_or_default();
            let _ = writeln!(s, "#BSUB -J \"{}[1-{}]{limit}\"", r.name, r.shards);
            let _ = writeln!(s, "#BSUB -o logs/%J.%I.out");
            let _ = writeln!(s, "#BSUB -cwd {}", quote(&r.workdir));
            if let Some(c) = r.cores {
                let _ = writeln!(s, "#BSUB -n {c}");
            }
            let _ = writeln!(s, "#BSUB -R \"span[hosts=1]\"");
            if let Some(m) = r.memory_gb {
                let _ = writeln!(s, "#BSUB -M {m}GB");
                let _ = writeln!(s, "#BSUB -R \"rusage[mem={m}GB]\"");
            }
            if let Some(w) = &r.walltime {
                let _ = writeln!(s, "#BSUB -W {w}");
            }
            if let Some(p) = &r.project {
                let _ = writeln!(s, "#BSUB -P {p}");
            }
            if let Some(q) = &r.queue {
                let _ = writeln!(s, "#BSUB -q {q}");
            }
            if let Some(g) = r.gpus {
                let _ = writeln!(s, "#BSUB -gpu \"num={g}\"");
            }
            let _ = writeln!(s, "#BSUB -r");
            let _ = writeln!(s, "# element LSB_JOBINDEX (1..{}) computes shard LSB_JOBINDEX-1; a requeued element resumes", r.shards);
        }
        Scheduler::Slurm => {
            let limit = r.max_running.map(|k| format!("%{k}")).unwrap_or_default();
            let _ = writeln!(s, "#SBATCH --job-name={}", r.name);
            let _ = writeln!(s, "#SBATCH --array=0-{}{limit}", r.shards - 1);
            let _ = writeln!(s, "#SBATCH --output=logs/%A_%a.out");
            let _ = writeln!(s, "#SBATCH --chdir={}", quote(&r.workdir));
            let _ = writeln!(s, "#SBATCH --nodes=1");
            let _ = writeln!(s, "#SBATCH --ntasks=1");
            if let Some(c) = r.cores {
                let _ = writeln!(s, "#SBATCH --cpus-per-task={c}");
            }
            if let Some(m) = r.memory_gb {
                let _ = writeln!(s, "#SBATCH --mem={m}G");
            }
            if let Some(w) = &r.walltime {
                let _ = writeln!(s, "#SBATCH --time={w}:00");
            }
            if let Some(p) = &r.project {
                let _ = writeln!(s, "#SBATCH -A {p}");
            }
            if let Some(q) = &r.queue {
                let _ = writeln!(s, "#SBATCH -p {q}");
            }
            if let Some(g) = r.gpus {
                let _ = writeln!(s, "#SBATCH --gpus={g}");
            }
            let _ = writeln!(s, "#SBATCH --requeue");
            let _ = writeln!(
                s,
                "# task SLURM_ARRAY_TASK_ID (0..{}) computes that shard; a requeued task resumes",
                r.shards - 1
            );
        }
    }
    let _ = writeln!(s, "exec {run}");
    s
}

/// The finalize script: runs after every element succeeded, checks the
/// result chunk by chunk. `array_id` is the array's job id.
pub fn finalize_script(r: &Request, array_id: &str) -> String {
    let mut s = String::from("#!/bin/bash\n");
    match r.scheduler {
        Scheduler::Lsf => {
            let _ = writeln!(s, "#BSUB -J \"{}-finalize\"", r.name);
            let _ = writeln!(s, "#BSUB -w 'done({array_id})'");
            let _ = writeln!(s, "#BSUB -o logs/%J.finalize.out");
            let _ = writeln!(s, "#BSUB -cwd {}", quote(&r.workdir));
            let _ = writeln!(s, "#BSUB -n 1");
            if let Some(p) = &r.project {
                let _ = writeln!(s, "#BSUB -P {p}");
            }
            if let Some(q) = &r.queue {
                let _ = writeln!(s, "#BSUB -q {q}");
            }
        }
        Scheduler::Slurm => {
            let _ = writeln!(s, "#SBATCH --job-name={}-finalize", r.name);
            let _ = writeln!(s, "#SBATCH --dependency=afterok:{array_id}");
            let _ = writeln!(s, "#SBATCH --output=logs/%j.finalize.out");
            let _ = writeln!(s, "#SBATCH --chdir={}", quote(&r.workdir));
            let _ = writeln!(s, "#SBATCH --ntasks=1");
            if let Some(p) = &r.project {
                let _ = writeln!(s, "#SBATCH -A {p}");
            }
            if let Some(q) = &r.queue {
                let _ = writeln!(s, "#SBATCH -p {q}");
            }
        }
    }
    let _ = writeln!(
        s,
        "exec {} status {} --verify",
        quote(&r.attr),
        quote(&r.job)
    );
    s
}

/// The numeric job id in `bsub`'s `Job <123> is submitted to queue <q>.`
pub fn parse_lsf_id(out: &str) -> Option<String> {
    let start = out.find("Job <")? + 5;
    let end = out[start..].find('>')? + start;
    let id = &out[start..end];
    (!id.is_empty() && id.chars().all(|c| c.is_ascii_digit())).then(|| id.to_string())
}

/// The job id in `sbatch --parsable`'s "123" or "123;cluster".
pub fn parse_slurm_id(out: &str) -> Option<String> {
    let id = out.trim().split(';').next()?.trim();
    (!id.is_empty() && id.chars().all(|c| c.is_ascii_digit())).then(|| id.to_string())
}

fn submit_script(r: &Request, script: &Path) -> Result<String> {
    let (program, out) = match r.scheduler {
        Scheduler::Lsf => {
            let f = std::fs::File::open(script)?;
            (
                "bsub",
                Command::new("bsub")
                    .stdin(f)
                    .current_dir(&r.workdir)
                    .output(),
            )
        }
        Scheduler::Slurm => (
            "sbatch",
            Command::new("sbatch")
                .arg("--parsable")
                .arg(script)
                .current_dir(&r.workdir)
                .output(),
        ),
    };
    let out =
        out.map_err(|e| anyhow!("cannot run {program}: {e} (is the scheduler's client on PATH?)"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        bail!(
            "{program} refused {}: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let id = match r.scheduler {
        Scheduler::Lsf => parse_lsf_id(&text),
        Scheduler::Slurm => parse_slurm_id(&text),
    };
    id.ok_or_else(|| {
        anyhow!(
            "cannot find a job id in {program}'s answer: {}",
            text.trim()
        )
    })
}

/// Write the scripts; print them (`dry_run`) or submit them.
pub fn submit(r: &Request, dry_run: bool) -> Result<()> {
    if r.shards == 0 {
        bail!("--shards must be at least 1");
    }
    if let Some(w) = &r.walltime {
        check_walltime(w)?;
    }
    if r.scheduler == Scheduler::Lsf && r.shards > LSF_DEFAULT_MAX_ARRAY {
        crate::noteln!(
            "attr: warning: {} shards exceed LSF's default maximum array size ({LSF_DEFAULT_MAX_ARRAY}, MAX_JOB_ARRAY_SIZE in lsb.params): the submission may be refused",
            r.shards
        );
    }
    let array = array_script(r);
    if dry_run {
        crate::outln!("# ---- array job ({} shards) ----\n{array}", r.shards);
        crate::outln!(
            "# ---- finalize job ----\n{}",
            finalize_script(r, "<ARRAY_JOB_ID>")
        );
        return Ok(());
    }
    let dir = r.workdir.join("attr-jobs");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create '{}'", dir.display()))?;
    std::fs::create_dir_all(r.workdir.join("logs")).context("cannot create logs/")?;
    let array_path = dir.join(format!("{}.array.sh", r.name));
    std::fs::write(&array_path, &array)?;
    let id = submit_script(r, &array_path)?;
    let fin_path = dir.join(format!("{}.finalize.sh", r.name));
    std::fs::write(&fin_path, finalize_script(r, &id))?;
    let fin = submit_script(r, &fin_path)?;
    crate::outln!(
        "array job {id} ({} shards): {}",
        r.shards,
        array_path.display()
    );
    crate::outln!(
        "finalize job {fin} (after the array succeeds): {}",
        fin_path.display()
    );
    crate::outln!(
        "logs in {}/logs; progress: attr status {}",
        r.workdir.display(),
        r.job.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(s: Scheduler) -> Request {
        Request {
            scheduler: s,
            name: "f3".into(),
            attr: "/opt/attr/bin/attr".into(),
            job: "/data/jobs/f3.yaml".into(),
            workdir: "/data/jobs".into(),
            shards: 4,
            queue: Some("normal".into()),
            cores: Some(8),
            memory_gb: Some(16),
            walltime: Some("02:30".into()),
            project: Some("seis".into()),
            max_running: Some(2),
            gpus: None,
        }
    }

    fn golden(name: &str, got: &str) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden")
            .join(name);
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, got).unwrap();
        }
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(
            got, want,
            "{name} differs (UPDATE_GOLDEN=1 rewrites it after a deliberate change)"
        );
    }

    #[test]
    fn golden_scripts() {
        for (s, tag) in [(Scheduler::Lsf, "lsf"), (Scheduler::Slurm, "slurm")] {
            let r = request(s);
            golden(&format!("{tag}.array.sh"), &array_script(&r));
            golden(&format!("{tag}.finalize.sh"), &finalize_script(&r, "12345"));
        }
        let minimal = Request {
            queue: None,
            cores: None,
            memory_gb: None,
            walltime: None,
            project: None,
            max_running: None,
            gpus: Some(1),
            ..request(Scheduler::Slurm)
        };
        golden("slurm-minimal.array.sh", &array_script(&minimal));
    }

    #[test]
    fn job_ids() {
        assert_eq!(
            parse_lsf_id("Job <4242> is submitted to queue <normal>.\n").as_deref(),
            Some("4242")
        );
        assert_eq!(parse_lsf_id("Request aborted by esub."), None);
        assert_eq!(parse_slurm_id("77\n").as_deref(), Some("77"));
        assert_eq!(parse_slurm_id("77;cluster1").as_deref(), Some("77"));
        assert_eq!(parse_slurm_id("sbatch: error"), None);
    }

    #[test]
    fn walltime_format() {
        assert!(check_walltime("04:00").is_ok());
        assert!(check_walltime("100:30").is_ok());
        assert!(check_walltime("4h").is_err());
        assert!(check_walltime("04:0").is_err());
    }
}
