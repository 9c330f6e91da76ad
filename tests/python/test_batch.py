"""Sharded, crash-safe, resumable runs: many processes, one result.

Every scenario is compared with one uninterrupted single-process run of the
same job: the chunk files must be byte for byte identical."""
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import zarr

from conftest import HPC, attr_bin, cannot_run, needs_root, run_attr, synth

VARS = ("semblance", "envelope", "rms_amplitude")


def job_text(vol, out, workers=1):
    return (f"input: {vol}\nworkers: {workers}\nsample_interval: 4\noutputs:\n"
            + "".join(f"  - {{attribute: {v}, path: {out}}}\n" for v in VARS))


def files(ds: Path):
    """Chunk and metadata files of a dataset, path -> bytes (no ledger)."""
    return {str(p.relative_to(ds)): p.read_bytes() for p in sorted(ds.rglob("*"))
            if p.is_file() and ".attr" not in p.parts}


def assert_identical(out: Path, ref: Path):
    assert out.is_dir(), f"{out} was not published"
    assert not list(out.parent.glob(out.name + ".partial*")), "a staged dataset was left behind"
    a, b = files(out), files(ref)
    assert sorted(a) == sorted(b)
    differ = [k for k in a if a[k] != b[k]]
    assert not differ, differ[:5]
    for v in VARS:
        np.testing.assert_array_equal(zarr.open_group(str(out), mode="r")[v][...],
                                      zarr.open_group(str(ref), mode="r")[v][...])


def verify(job, cwd):
    p = run_attr("status", job, "--verify", check=False, cwd=cwd)
    return p.returncode, p.stdout


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("batch")
    vol = synth(d / "vol.zarr", "96,96,256", "16,16,64")
    ref = d / "ref.zarr"
    job = d / "ref.yaml"
    job.write_text(job_text(vol, ref))
    t0 = time.time()
    run_attr("run", job, "-q")
    duration = time.time() - t0
    assert (ref / "semblance").is_dir()
    return {"vol": vol, "ref": ref, "duration": duration}


def fresh_job(tmp_path, setup, name="out.zarr", workers=1):
    out = tmp_path / name
    job = tmp_path / "job.yaml"
    job.write_text(job_text(setup["vol"], out, workers))
    return job, out


def test_eight_processes_at_once(tmp_path, setup):
    job, out = fresh_job(tmp_path, setup)
    procs = [subprocess.Popen([attr_bin(), "run", str(job), "--shard", f"{i}/8", "-q"], cwd=tmp_path,
                              stderr=subprocess.PIPE, text=True) for i in range(8)]
    errs = [p.communicate()[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), errs
    assert_identical(out, setup["ref"])
    assert verify(job, tmp_path)[0] == 0
    # a rerun of any shard finds it complete
    p = run_attr("run", job, "--shard", "3/8", cwd=tmp_path)
    assert "already complete" in p.stderr


def test_kill_9_at_random_moments_then_resume(tmp_path, setup):
    rng = random.Random(20261126)
    duration = setup["duration"]
    killed = 0
    for attempt in range(40):
        if killed >= 22:
            break
        (tmp_path / f"k{attempt}").mkdir()
        job, out = fresh_job(tmp_path / f"k{attempt}", setup)
        p = subprocess.Popen([attr_bin(), "run", str(job), "-q"], cwd=job.parent,
                             stderr=subprocess.PIPE, text=True)
        time.sleep(rng.uniform(0.0, 1.1 * duration))
        p.send_signal(signal.SIGKILL)
        p.communicate()
        if p.returncode == -signal.SIGKILL:
            killed += 1
            # the killed run left no result, only resumable state
            assert not out.exists() or (out / "semblance").is_dir()
            if not out.exists():
                assert verify(job, job.parent)[0] != 0
            # sometimes kill the resume too
            if rng.random() < 0.3:
                p = subprocess.Popen([attr_bin(), "run", str(job), "--resume", "-q"], cwd=job.parent)
                time.sleep(rng.uniform(0.0, 0.5 * duration))
                p.kill()
                p.wait()
        run_attr("run", job, "--resume", "-q", cwd=job.parent)
        assert_identical(out, setup["ref"])
        code, report = verify(job, job.parent)
        assert code == 0, report
        assert not list(job.parent.glob("*.building.*")), "leftover build directories"
        assert not [f for f in out.rglob("*") if ".attr-tmp." in f.name], "leftover temporary chunk files"
    print(f"kill -9 + resume: {killed} kills, all identical")
    assert killed >= 20


def test_sigterm_stops_cleanly_and_resumes(tmp_path, setup):
    # the run must be caught mid-way: on a loaded machine the reference
    # duration overestimates it, so try earlier moments until one lands
    # before the run ends (a run that ends first must be complete)
    for fraction in [0.4, 0.2, 0.1, 0.05, 0.02]:
        d = tmp_path / str(fraction)
        d.mkdir()
        job, out = fresh_job(d, setup)
        p = subprocess.Popen([attr_bin(), "run", str(job), "-q"], cwd=job.parent, stderr=subprocess.PIPE, text=True)
        time.sleep(fraction * setup["duration"])
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate()
        if p.returncode != 0:
            break
        assert_identical(out, setup["ref"])
    tmp_path = job.parent
    assert p.returncode != 0, "a stopped run must not report success"
    assert "--resume" in err and err.count("\n") == 1, err
    assert not out.exists()
    code, report = verify(job, tmp_path)
    assert code != 0 and "in progress" in report
    p = run_attr("run", job, "--resume", cwd=tmp_path)
    assert "already done" in p.stderr
    assert_identical(out, setup["ref"])


def wait_jobs(ids, timeout=240):
    deadline = time.time() + timeout
    while time.time() < deadline:
        q = subprocess.run(["squeue", "-h", "-j", ",".join(ids)], capture_output=True, text=True)
        if not q.stdout.strip():
            return
        time.sleep(0.3)
    raise AssertionError(f"jobs {ids} still queued after {timeout} s")


def slurm_env():
    """The test cluster tests/run.sh started (tests/hpc/slurm.sh), or a skip
    naming why there is none."""
    if not os.environ.get("SLURM_CONF"):
        cannot_run("batch under Slurm and LSF", os.environ.get("ATTR_NO_SLURM", "no Slurm cluster (SLURM_CONF unset)"))
    return Path(os.environ["SLURM_CONF"]).parent.parent


def completed(slurm_dir, job_id):
    log = (slurm_dir / "log" / "jobcomp.log").read_text()
    return [l for l in log.splitlines() if f"JobId={job_id}" in l or f"JobId={job_id}_" in l]


def test_slurm_submit_four_shards(tmp_path, setup):
    sdir = slurm_env()
    job, out = fresh_job(tmp_path, setup, workers=0)
    t0 = time.time()
    p = run_attr("submit", job, "--scheduler", "slurm", "--shards", "4", "--cores", "1", "--walltime", "00:10",
                 cwd=tmp_path)
    ids = [l.split()[2] for l in p.stdout.splitlines() if l.startswith(("array job", "finalize job"))]
    assert len(ids) == 2, p.stdout
    wait_jobs(ids)
    wall = time.time() - t0
    logs = "\n".join(f.read_text() for f in (tmp_path / "logs").glob("*"))
    assert_identical(out, setup["ref"])
    fin = completed(sdir, ids[1])
    assert fin and "JobState=COMPLETED" in fin[-1], (fin, logs)
    assert "all" in logs and "present and intact" in logs, logs
    assert "shard" in logs and "of 4 (from Slurm array task" in logs, logs
    print(f"slurm 4 shards: {wall:.1f} s wall (submit to finalize), single process {setup['duration']:.1f} s")


def test_slurm_submit_classification(tmp_path, setup):
    """A classify job as a 3-element array: every element fits the same
    model, predicts its share; the finalize job verifies; the same bytes as
    one process."""
    sdir = slurm_env()
    import json
    def job(name, out):
        p = tmp_path / name
        p.write_text(json.dumps({"input": str(setup["ref"]), "classify": {
            "features": list(VARS), "clusters": 4, "sample": 20000, "seed": 3, "path": str(out)}}))
        return p
    ref = tmp_path / "facies_ref.zarr"
    run_attr("run", job("ref.yaml", ref), "-q", cwd=tmp_path)
    out = tmp_path / "facies.zarr"
    p = run_attr("submit", job("f.yaml", out), "--scheduler", "slurm", "--shards", "3", "--cores", "1",
                 "--walltime", "00:10", cwd=tmp_path)
    ids = [l.split()[2] for l in p.stdout.splitlines() if l.startswith(("array job", "finalize job"))]
    wait_jobs(ids)
    fin = completed(sdir, ids[1])
    logs = "\n".join(f.read_text() for f in (tmp_path / "logs").glob("*"))
    assert fin and "JobState=COMPLETED" in fin[-1], (fin, logs)
    assert files(out) == files(ref)


def test_lsf_code_path_under_slurm(tmp_path, setup):
    slurm_env()
    job, out = fresh_job(tmp_path, setup, workers=0)
    shim = HPC / "lsf-shim.sh"
    a = subprocess.run(["sbatch", "--parsable", "--array=1-4", "-o", str(tmp_path / "lsf-%a.out"),
                        "--wrap", f"{shim} {attr_bin()} run {job}"], capture_output=True, text=True, cwd=tmp_path)
    assert a.returncode == 0, a.stderr
    wait_jobs([a.stdout.strip().split(";")[0]])
    logs = "\n".join(f.read_text() for f in tmp_path.glob("lsf-*.out"))
    assert "(from LSF array element" in logs, logs
    assert_identical(out, setup["ref"])


def test_full_disk_mid_run_is_resumable(tmp_path, setup):
    """A filesystem that fills up mid-run: one clear error, every chunk on disk
    whole, and after space is freed --resume finishes identically."""
    needs_root("full disk (mounts a small tmpfs)")
    mnt = tmp_path / "small"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3M", "tmpfs", str(mnt)], check=True)
    try:
        out = mnt / "out.zarr"
        job = tmp_path / "job.yaml"
        job.write_text(job_text(setup["vol"], out, workers=2))
        p = run_attr("run", job, check=False, cwd=tmp_path)
        assert p.returncode != 0
        err = [l for l in p.stderr.splitlines() if l.startswith("error:")]
        assert len(err) == 1 and "No space left" in err[0] and "--resume" in err[0], p.stderr
        assert not out.exists()
        report = run_attr("status", job, "--verify", check=False, cwd=tmp_path).stdout
        assert "in progress" in report and " 0 damaged" in report, report
        subprocess.run(["mount", "-o", "remount,size=64M", str(mnt)], check=True)
        run_attr("run", job, "--resume", "-q", cwd=tmp_path)
        assert_identical(out, setup["ref"])
    finally:
        subprocess.run(["umount", str(mnt)], check=False)
