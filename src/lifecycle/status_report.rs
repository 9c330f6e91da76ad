//! `attr status`: how far a job (or a dataset) has got, and `--verify`
//! that every chunk is present and decodes.

use crate::batch::shards::task_range;
use crate::store::chunk_check::damaged_chunks;
use crate::store::{node_kind, staging_path, stagings, Input, Ledger, Location, NodeKind};
use anyhow::{bail, Result};
use std::path::Path;

/// Prints the report; returns whether everything is complete (and verified).
pub fn report(target: &Path, verify: bool, shards: Option<usize>) -> Result<bool> {
    use std::os::unix::fs::FileTypeExt;
    let job_file =
        std::fs::metadata(target).is_ok_and(|m| m.file_type().is_file() || m.file_type().is_fifo());
    if job_file {
        job_report(target, verify, shards)
    } else {
        // no job: the AWS environment alone says how to reach s3://
        let at = Location::parse(target, &Default::default())?;
        dataset_report(&at, verify)
    }
}

fn print_verify(dataset: &Location, variable: &str) -> Result<bool> {
    let (n, bad) = damaged_chunks(dataset, variable, true)?;
    if bad.is_empty() {
        crate::outln!("    verify {variable}: all {n} chunks present and intact");
        return Ok(true);
    }
    let missing = bad.iter().filter(|b| b.1.ends_with(": missing")).count();
    crate::outln!(
        "    verify {variable}: {missing} of {n} chunks missing, {} damaged: {}{}",
        bad.len() - missing,
        bad.iter()
            .take(5)
            .map(|b| b.1.as_str())
            .collect::<Vec<_>>()
            .join("; "),
        if bad.len() > 5 { "; ..." } else { "" }
    );
    Ok(false)
}

fn job_report(job_path: &Path, verify: bool, shards: Option<usize>) -> Result<bool> {
    let settings = crate::lifecycle::Settings::inspect(Some(1), None, false)?;
    let job = crate::lifecycle::open(job_path, &settings)?;
    let job = job.as_ref();
    let outputs = job.outputs();
    let mut all_ok = true;
    for at in crate::lifecycle::datasets(outputs) {
        let path = at.path();
        let outs: Vec<usize> = (0..outputs.len())
            .filter(|&i| outputs[i].is_in(&at))
            .collect();
        let fp = job.fingerprint(path);
        let staging = match at.is_remote() {
            true => at.clone(),
            false => Location::local(staging_path(path, &fp)),
        };
        for other in stagings(path).into_iter().filter(|s| s != staging.path()) {
            crate::outln!(
                "{}: an unfinished run of a different job is in {}",
                path.display(),
                other.display()
            );
        }
        if staged(&staging) {
            let ledger = Ledger::at(&staging);
            crate::outln!("{}: in progress (in {staging})", path.display());
            let mut done_sets = std::collections::HashMap::new();
            for &o in &outs {
                let done = ledger.done(&outputs[o].spec.name);
                crate::outln!(
                    "  {}: {} of {} chunks done",
                    outputs[o].spec.name,
                    done.len(),
                    outputs[o].total
                );
                done_sets.insert(o, done);
            }
            if let Some(n) = shards.or_else(|| ledger.recorded_shards()) {
                let incomplete: Vec<usize> = (0..n)
                    .filter(|&s| {
                        task_range(job.task_count(), s, n).any(|i| {
                            job.task_chunks(i)
                                .iter()
                                .any(|(o, c)| done_sets.get(o).is_some_and(|set| !set.contains(c)))
                        })
                    })
                    .collect();
                crate::outln!(
                    "  shards of {n}: {} incomplete{}",
                    incomplete.len(),
                    if incomplete.is_empty() {
                        String::new()
                    } else {
                        format!(": {incomplete:?}")
                    }
                );
            }
            if verify {
                for &o in &outs {
                    print_verify(&staging, &outputs[o].spec.name)?;
                }
            }
            all_ok = false;
        } else if published(&at) {
            let same = Ledger::at(&at).fingerprint().ok().as_ref() == Some(&fp);
            crate::outln!(
                "{}: complete{}",
                path.display(),
                if same {
                    ""
                } else {
                    " (but written by a different job or version)"
                }
            );
            for &o in &outs {
                let (name, total) = (&outputs[o].spec.name, outputs[o].total);
                crate::outln!("  {name}: {total} of {total} chunks done");
                if verify {
                    all_ok &= print_verify(&at, name)?;
                }
            }
            all_ok &= same;
        } else {
            crate::outln!("{}: not started", path.display());
            all_ok = false;
        }
    }
    Ok(all_ok)
}

/// Whether a run is writing `staging` (a local staging directory, or an
/// unpublished dataset in an object store).
fn staged(staging: &Location) -> bool {
    if staging.is_remote() {
        return !published(staging) && Ledger::at(staging).fingerprint().is_ok();
    }
    staging.path().exists()
}

/// Whether a dataset is published at `at`.
fn published(at: &Location) -> bool {
    if at.is_remote() {
        return node_kind(at).is_ok();
    }
    at.path().exists()
}

fn dataset_report(at: &Location, verify: bool) -> Result<bool> {
    let path = at.path();
    let staged_remote = at.is_remote() && staged(at);
    let staged = stagings(path);
    let (dir, complete) = if staged_remote {
        (at.clone(), false)
    } else if published(at) {
        (at.clone(), true)
    } else if let [one] = staged.as_slice() {
        (Location::local(one), false)
    } else if staged.is_empty() {
        bail!(
            "'{}' does not exist, and no run of a job is writing it",
            path.display()
        );
    } else {
        bail!(
            "'{}' is not published, and {} jobs have unfinished runs for it ({}): ask about a job with `attr status JOB.yaml`",
            path.display(),
            staged.len(),
            staged
                .iter()
                .map(|s| s.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    };
    if complete && !matches!(node_kind(&dir)?, NodeKind::Group(_)) {
        bail!("'{dir}' is not a dataset group written by attr");
    }
    let ledger = Ledger::at(&dir);
    let fp = ledger.fingerprint()?;
    // the variables its job wrote, else those with recorded chunks
    let mut names: Vec<String> = fp["variables"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    if names.is_empty() {
        names = ledger.checksums().into_keys().collect();
    }
    crate::outln!(
        "{}: {}",
        path.display(),
        if complete { "complete" } else { "in progress" }
    );
    let mut ok = complete;
    for name in names {
        let total: u64 = Input::open(&dir.join(&name)?, None)?
            .grid()
            .iter()
            .product();
        let done = if complete {
            total as usize
        } else {
            ledger.done(&name).len()
        };
        crate::outln!("  {name}: {done} of {total} chunks done");
        if verify {
            ok &= print_verify(&dir, &name)?;
        }
    }
    Ok(ok)
}
