//! The command line end to end: success paths and one clear line for each
//! kind of bad input, never a panic.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn attr(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_attr"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn f3() -> String {
    repo().join("sample-data/f3.zarr").display().to_string()
}

/// Run a job text; return (exit code, stderr).
fn run_job(dir: &Path, text: &str, extra: &[&str]) -> (i32, String) {
    let job = dir.join("job.yaml");
    std::fs::write(&job, text).unwrap();
    let mut args = vec!["run", job.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = attr(&args, dir);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (out.status.code().unwrap_or(-1), stderr)
}

/// Assert a failure with exactly one line of error mentioning every `needle`.
fn fails_with(dir: &Path, text: &str, needles: &[&str]) {
    let (code, stderr) = run_job(dir, text, &["--quiet"]);
    assert_ne!(code, 0, "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line expected: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    for n in needles {
        assert!(stderr.contains(n), "'{n}' missing from: {stderr}");
    }
}

/// The staged datasets of `name` in `dir` (one per job: `NAME.partial.<job>`).
fn staged(dir: &std::path::Path, name: &str) -> Vec<std::path::PathBuf> {
    let prefix = format!("{name}.partial.");
    std::fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn quickstart_style_job_runs_and_refuses_to_overwrite() {
    let d = tmp();
    let job = format!(
        "input: {}\noutputs:\n  - attribute: envelope\n    path: out.zarr\n  - attribute: semblance\n    path: out.zarr\n",
        f3()
    );
    let (code, stderr) = run_job(d.path(), &job, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("decodes of"), "summary missing: {stderr}");
    assert!(stderr.contains("peak memory"), "{stderr}");
    assert!(d.path().join("out.zarr/semblance/zarr.json").is_file());
    assert!(staged(d.path(), "out.zarr").is_empty());
    // the same job again: nothing to do
    let (code, stderr) = run_job(d.path(), &job, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("already complete"), "{stderr}");
    assert!(
        !stderr.contains("chunks written"),
        "nothing is recomputed: {stderr}"
    );
    // another job onto the same output: refused unless --overwrite
    let other = job.replace("semblance", "rms_amplitude");
    fails_with(
        d.path(),
        &other,
        &["out.zarr", "already exists", "--overwrite"],
    );
    let (code, stderr) = run_job(d.path(), &other, &["--overwrite", "--quiet"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.is_empty(), "--quiet prints nothing: {stderr}");
    assert!(d.path().join("out.zarr/rms_amplitude").is_dir());
    assert!(!d.path().join("out.zarr/semblance").exists());
}

#[test]
fn stale_partial_of_another_job_is_refused_when_sharded() {
    let d = tmp();
    let a = format!(
        "input: {}
outputs:
  - {{attribute: envelope, path: o.zarr}}
",
        f3()
    );
    let (code, stderr) = run_job(d.path(), &a, &["--shard", "0/3", "--quiet"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        staged(d.path(), "o.zarr").len() == 1,
        "a share alone does not publish"
    );
    // status: incomplete, and which shards are missing
    let out = attr(&["status", "job.yaml"], d.path());
    let report = String::from_utf8_lossy(&out.stdout);
    assert_ne!(out.status.code(), Some(0));
    assert!(report.contains("in progress"), "{report}");
    assert!(
        report.contains("shards of 3: 2 incomplete: [1, 2]"),
        "{report}"
    );
    let b = a.replace("envelope", "semblance");
    let (code, stderr) = run_job(d.path(), &b, &["--shard", "1/3", "--quiet"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("different job"), "{stderr}");
    // the other shares of the first job complete and publish it
    for s in ["1/3", "2/3"] {
        let (code, stderr) = run_job(d.path(), &a, &["--shard", s, "--quiet"]);
        assert_eq!(code, 0, "{stderr}");
    }
    assert!(d.path().join("o.zarr/envelope").is_dir());
    assert!(staged(d.path(), "o.zarr").is_empty());
    let out = attr(&["status", "o.zarr", "--verify"], d.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn bad_shard_arguments() {
    let d = tmp();
    let a = format!(
        "input: {}
outputs:
  - {{attribute: copy, path: o.zarr}}
",
        f3()
    );
    std::fs::write(d.path().join("job.yaml"), &a).unwrap();
    let out = attr(
        &[
            "run",
            d.path().join("job.yaml").to_str().unwrap(),
            "--shard",
            "x",
        ],
        d.path(),
    );
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("I/N"));
    let job = d.path().join("job.yaml");
    for args in [vec!["--shard", "3/3"], vec!["--shards", "4"]] {
        let mut v = vec!["run", job.to_str().unwrap()];
        v.extend(args);
        let out = attr(&v, d.path());
        assert_ne!(out.status.code(), Some(0));
        assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
    }
}

#[test]
fn dry_run_writes_nothing() {
    let d = tmp();
    let job = format!(
        "input: {}\noutputs:\n  - {{attribute: rms_amplitude, path: o.zarr}}\n",
        f3()
    );
    let (code, stderr) = run_job(d.path(), &job, &["--dry-run"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!d.path().join("o.zarr").exists());
    assert!(staged(d.path(), "o.zarr").is_empty());
}

#[test]
fn missing_input() {
    let d = tmp();
    fails_with(
        d.path(),
        "input: nowhere.zarr\noutputs:\n  - {attribute: copy, path: o.zarr}\n",
        &["nowhere.zarr", "does not exist"],
    );
}

#[test]
fn not_a_zarr_store() {
    let d = tmp();
    std::fs::create_dir(d.path().join("plain")).unwrap();
    fails_with(
        d.path(),
        "input: plain\noutputs:\n  - {attribute: copy, path: o.zarr}\n",
        &["plain", "not a Zarr array or group"],
    );
}

#[test]
fn unsupported_dtype() {
    let d = tmp();
    let a = d.path().join("f16.zarr");
    std::fs::create_dir(&a).unwrap();
    std::fs::write(
        a.join("zarr.json"),
        r#"{"zarr_format":3,"node_type":"array","shape":[4,4,4],"data_type":"float16",
            "chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2,2,2]}},
            "chunk_key_encoding":{"name":"default","configuration":{"separator":"/"}},
            "fill_value":0,"codecs":[{"name":"bytes","configuration":{"endian":"little"}}]}"#,
    )
    .unwrap();
    fails_with(
        d.path(),
        "input: f16.zarr\noutputs:\n  - {attribute: copy, path: o.zarr}\n",
        &["float16", "unsupported data type"],
    );
}

#[test]
fn unknown_attribute_suggests_closest() {
    let d = tmp();
    let job = format!(
        "input: {}\noutputs:\n  - {{attribute: envelop, path: o.zarr}}\n",
        f3()
    );
    fails_with(
        d.path(),
        &job,
        &[
            "unknown attribute 'envelop'",
            "did you mean 'envelope'",
            "outputs[0]",
        ],
    );
}

#[test]
fn bad_parameters() {
    let d = tmp();
    let job = format!("input: {}\noutputs:\n  - {{attribute: semblance, params: {{window: [2, 3, 9]}}, path: o.zarr}}\n", f3());
    fails_with(d.path(), &job, &["window", "odd"]);
    let job = format!("input: {}\noutputs:\n  - {{attribute: rms_amplitude, params: {{windw: 5}}, path: o.zarr}}\n", f3());
    fails_with(d.path(), &job, &["windw", "did you mean 'window'"]);
}

#[test]
fn missing_sample_interval_is_explained() {
    let d = tmp();
    // a plain array: no metadata, so no sample interval
    let a = d.path().join("a.zarr");
    std::fs::create_dir(&a).unwrap();
    std::fs::write(
        a.join("zarr.json"),
        r#"{"zarr_format":3,"node_type":"array","shape":[4,4,8],"data_type":"float32",
            "chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2,2,8]}},
            "chunk_key_encoding":{"name":"default","configuration":{"separator":"/"}},
            "fill_value":0.0,"codecs":[{"name":"bytes","configuration":{"endian":"little"}}]}"#,
    )
    .unwrap();
    fails_with(
        d.path(),
        "input: a.zarr\noutputs:\n  - {attribute: instantaneous_frequency, path: o.zarr}\n",
        &["sample_interval", "ms"],
    );
    let (code, stderr) = run_job(
        d.path(),
        "input: a.zarr\nsample_interval: 2\noutputs:\n  - {attribute: instantaneous_frequency, path: o.zarr}\n",
        &["--quiet"],
    );
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn unwritable_output() {
    let d = tmp();
    std::fs::write(d.path().join("afile"), "x").unwrap();
    let job = format!(
        "input: {}\noutputs:\n  - {{attribute: copy, path: afile/o.zarr}}\n",
        f3()
    );
    fails_with(d.path(), &job, &["afile/o.zarr"]);
    assert!(staged(&d.path().join("afile/"), "o.zarr").is_empty());
}

#[test]
fn spec_errors_name_line_and_column() {
    let d = tmp();
    let job = format!(
        "input: {}\noutputs:\n  - attribute: copy\n    path: o.zarr\n    chunk: [1, 2, 3]\n",
        f3()
    );
    fails_with(d.path(), &job, &["job.yaml", "chunk", "line 5"]);
    let job = format!(
        "input: {}\nboundary: mirror\noutputs:\n  - {{attribute: copy, path: o.zarr}}\n",
        f3()
    );
    fails_with(d.path(), &job, &["mirror", "line 2"]);
    let job = format!(
        "input: {}\noutputs:\n  - {{attribute: copy, path: o.zarr, format: 4}}\n",
        f3()
    );
    fails_with(d.path(), &job, &["format", "2 or 3"]);
}

#[test]
fn missing_job_file() {
    let d = tmp();
    let out = attr(&["run", "nope.yaml"], d.path());
    assert_ne!(out.status.code(), Some(0));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("nope.yaml") && e.lines().count() == 1, "{e}");
}

#[test]
fn two_outputs_same_variable_refused() {
    let d = tmp();
    let job = format!("input: {}\noutputs:\n  - {{attribute: copy, path: o.zarr}}\n  - {{attribute: copy, path: o.zarr}}\n", f3());
    fails_with(d.path(), &job, &["copy", "name:"]);
}

#[test]
fn list_and_info() {
    let d = tmp();
    let out = attr(&["list", "--json"], d.path());
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    for n in [
        "copy",
        "envelope",
        "instantaneous_phase",
        "instantaneous_frequency",
        "rms_amplitude",
        "semblance",
    ] {
        assert!(names.contains(&n), "{n}");
    }
    let sem = v
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "semblance")
        .unwrap();
    assert_eq!(
        sem["parameters"][0]["default"],
        serde_json::json!([3, 3, 9])
    );
    assert_eq!(sem["halo_default"], serde_json::json!(["1", "1", "4"]));
    let out = attr(&["info", &f3()], d.path());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        text.contains("[23, 18, 75]") && text.contains("[8, 8, 32]") && text.contains("zstd"),
        "{text}"
    );
    let out = attr(&["info", "missing.zarr"], d.path());
    assert_ne!(out.status.code(), Some(0));
}

#[test]
fn submit_dry_run_prints_both_scripts() {
    let d = tmp();
    let job = format!(
        "input: {}\noutputs:\n  - {{attribute: copy, path: o.zarr}}\n",
        f3()
    );
    std::fs::write(d.path().join("job.yaml"), job).unwrap();
    let slurm = attr(
        &[
            "submit",
            "job.yaml",
            "--scheduler",
            "slurm",
            "--shards",
            "6",
            "--cores",
            "4",
            "--walltime",
            "01:30",
            "--dry-run",
        ],
        d.path(),
    );
    let text = String::from_utf8_lossy(&slurm.stdout);
    assert!(
        slurm.status.success(),
        "{}",
        String::from_utf8_lossy(&slurm.stderr)
    );
    for want in [
        "#SBATCH --array=0-5",
        "--cpus-per-task=4",
        "--time=01:30:00",
        "--dependency=afterok:<ARRAY_JOB_ID>",
        "status",
        "--verify",
        "run",
    ] {
        assert!(text.contains(want), "{want} missing: {text}");
    }
    let lsf = attr(
        &[
            "submit",
            "job.yaml",
            "--scheduler",
            "lsf",
            "--shards",
            "1200",
            "--dry-run",
        ],
        d.path(),
    );
    let text = String::from_utf8_lossy(&lsf.stdout);
    let err = String::from_utf8_lossy(&lsf.stderr);
    assert!(lsf.status.success());
    assert!(
        text.contains("#BSUB -J \"attr-job[1-1200]\"") && text.contains("done(<ARRAY_JOB_ID>)"),
        "{text}"
    );
    assert!(err.contains("warning") && err.contains("1000"), "{err}");
    assert!(
        !d.path().join("attr-jobs").exists(),
        "a dry run writes nothing"
    );
    // a bad job is refused before anything is submitted
    std::fs::write(
        d.path().join("bad.yaml"),
        "input: nowhere.zarr\noutputs:\n  - {attribute: copy, path: o.zarr}\n",
    )
    .unwrap();
    let bad = attr(
        &[
            "submit",
            "bad.yaml",
            "--scheduler",
            "slurm",
            "--shards",
            "2",
            "--dry-run",
        ],
        d.path(),
    );
    assert_ne!(bad.status.code(), Some(0));
    let bad = attr(
        &[
            "submit",
            "job.yaml",
            "--scheduler",
            "slurm",
            "--shards",
            "2",
            "--walltime",
            "3h",
            "--dry-run",
        ],
        d.path(),
    );
    assert!(String::from_utf8_lossy(&bad.stderr).contains("HH:MM"));
}

/// First number after `key` in `text`.
fn number_after(text: &str, key: &str) -> u64 {
    let rest = &text[text
        .find(key)
        .unwrap_or_else(|| panic!("'{key}' not in: {text}"))
        + key.len()..];
    let digits: String = rest
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no number after '{key}' in: {text}"))
}

#[test]
fn plan_agrees_with_run() {
    let d = tmp();
    let job = format!(
        "input: {}\noutputs:\n  - {{attribute: semblance, path: o.zarr}}\n  - {{attribute: envelope, path: o.zarr}}\n  - {{attribute: copy, path: c.zarr, chunks: [5, 6, 75]}}\n",
        f3()
    );
    std::fs::write(d.path().join("job.yaml"), &job).unwrap();
    let plan = attr(
        &["plan", "job.yaml", "--shards", "2", "--graph", "g.dot"],
        d.path(),
    );
    let plan_text = String::from_utf8_lossy(&plan.stdout).into_owned();
    assert!(
        plan.status.success(),
        "{}",
        String::from_utf8_lossy(&plan.stderr)
    );
    assert!(!d.path().join("o.zarr").exists() && staged(d.path(), "o.zarr").is_empty());
    let (code, run) = run_job(d.path(), &job, &[]);
    assert_eq!(code, 0, "{run}");
    assert_eq!(
        number_after(&plan_text, "\ntasks"),
        number_after(&run, "chunks written (")
    );
    assert_eq!(
        number_after(&plan_text, "\nreads"),
        number_after(&run, "decodes of")
    );
    assert_eq!(
        number_after(&plan_text, "\nwrites"),
        number_after(&run, " s: ")
    );
    assert!(plan_text.contains("shard 1: tasks"), "{plan_text}");
    let dot = std::fs::read_to_string(d.path().join("g.dot")).unwrap();
    assert!(
        dot.starts_with("digraph") && dot.contains("semblance") && dot.contains("->"),
        "{dot}"
    );
    // a picture needs Graphviz: drawn when it is installed, a clear error when not
    let png = attr(&["plan", "job.yaml", "--graph", "g.png"], d.path());
    let has_dot = Command::new("dot").arg("-V").output().is_ok();
    if has_dot {
        assert!(png.status.success() && d.path().join("g.png").is_file());
    } else {
        assert_ne!(png.status.code(), Some(0));
        assert!(String::from_utf8_lossy(&png.stderr).contains("Graphviz"));
    }
}

#[test]
fn version_names_the_commit() {
    let out = attr(&["--version"], &repo());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        text.starts_with(&format!("attr {} (commit ", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
}

#[test]
fn completions_and_manual_page() {
    for shell in ["bash", "zsh", "fish"] {
        let out = attr(&["completions", shell], &repo());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{shell}");
        assert!(
            text.contains("convert") && text.contains("overwrite"),
            "{shell}"
        );
    }
    // the bash script loads and registers the command
    let script = attr(&["completions", "bash"], &repo()).stdout;
    let dir = tmp();
    std::fs::write(dir.path().join("attr.bash"), script).unwrap();
    let out = Command::new("bash")
        .args(["-c", "source ./attr.bash && complete -p attr"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("_attr"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let man = attr(&["man"], &repo());
    let text = String::from_utf8_lossy(&man.stdout);
    assert!(
        man.status.success() && text.contains(".TH attr 1") && text.contains("completions"),
        "{text}"
    );
    assert!(!attr(&["completions", "tcsh"], &repo()).status.success());
}
