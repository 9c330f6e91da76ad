"""Never lose or mix data: concurrent jobs on one output, takeovers,
duplicates, kills and resumes, checked like a storage engine's torture
suite. After every scenario either nothing is published, or the published
dataset equals a clean run of exactly one job, byte for byte, and
`attr status --verify` agrees; nothing is left behind but the resumable
staged dataset of a killed job."""
import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import zarr

from conftest import attr_bin, run_attr

ROUNDS = int(os.environ.get("ATTR_TORTURE_ROUNDS", "24"))
SEED = int(os.environ.get("ATTR_TORTURE_SEED", "20261130"))

JOBS = {
    "A": [{"attribute": "semblance"}, {"attribute": "envelope"}],
    "B": [{"attribute": "rms_amplitude"}, {"attribute": "semblance", "params": {"window": [5, 5, 9]}}],
}


def files(ds: Path):
    return {str(p.relative_to(ds)): p.read_bytes() for p in sorted(ds.rglob("*"))
            if p.is_file() and ".attr" not in p.parts}


def write_job(d: Path, name: str, vol: Path, out: Path, workers=1):
    job = d / f"{name}.yaml"
    job.write_text(json.dumps({"input": str(vol), "workers": workers,
                               "outputs": [{**o, "path": str(out)} for o in JOBS[name]]}))
    return job


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = tmp_path_factory.mktemp("torture")
    vol = d / "vol.zarr"
    rng = np.random.default_rng(5)
    x = rng.standard_normal((64, 64, 384)).astype(np.float32)
    g = zarr.open_group(str(vol), mode="w", zarr_format=3)
    g.create_array("amplitude", data=x, chunks=(8, 8, 64), dimension_names=("inline", "crossline", "time"))
    refs, duration = {}, 0.0
    for name in JOBS:
        out = d / f"ref{name}.zarr"
        t0 = time.time()
        run_attr("run", write_job(d, name, vol, out), "-q")
        duration = max(duration, time.time() - t0)
        refs[name] = files(out)
    print(f"clean run: {duration:.2f} s")
    return {"vol": vol, "refs": refs, "duration": duration}


def published_as(out: Path, refs):
    """Which job's clean result `out` is, byte for byte (None: not published)."""
    if not out.exists():
        return None
    got = files(out)
    for name, ref in refs.items():
        if got == ref:
            return name
    differ = {n: [(k, "missing" if k not in got else "extra" if k not in ref else "bytes")
                  for k in sorted(set(got) | set(ref)) if got.get(k) != ref.get(k)][:6] for n, ref in refs.items()}
    raise AssertionError(f"{out} is not a clean run of one job: {differ}")


def leftovers(d: Path):
    return [p.name for p in d.iterdir() if ".building." in p.name or ".publishing." in p.name]


def start(job, *args, cwd):
    return subprocess.Popen([attr_bin(), "run", str(job), "-q", *args], cwd=cwd,
                            stderr=subprocess.PIPE, text=True)


def test_a_concurrent_overwrite_takes_over_and_never_mixes(tmp_path, world):
    out = tmp_path / "o.zarr"
    a = write_job(tmp_path, "A", world["vol"], out)
    b = write_job(tmp_path, "B", world["vol"], out)
    pa = start(a, cwd=tmp_path)
    time.sleep(0.3 * world["duration"])
    pb = start(b, "--overwrite", cwd=tmp_path)
    ea, eb = pa.communicate()[1], pb.communicate()[1]
    assert pb.returncode == 0, eb
    # A either finished first (and was replaced) or stopped without publishing
    assert pa.returncode == 0 or "took" in ea, ea
    assert published_as(out, world["refs"]) == "B"
    assert not list(tmp_path.glob("o.zarr.partial.*")) and not leftovers(tmp_path)
    assert run_attr("status", b, "--verify", cwd=tmp_path).returncode == 0


def test_a_live_run_of_another_job_is_not_disturbed_without_overwrite(tmp_path, world):
    out = tmp_path / "o.zarr"
    a = write_job(tmp_path, "A", world["vol"], out)
    b = write_job(tmp_path, "B", world["vol"], out)
    pa = start(a, cwd=tmp_path)
    time.sleep(0.3 * world["duration"])
    pb = start(b, cwd=tmp_path)
    eb = pb.communicate()[1]
    ea = pa.communicate()[1]
    assert pa.returncode == 0, ea
    assert published_as(out, world["refs"]) == "A"
    # B was refused: by the live run, or by the published result
    assert pb.returncode != 0 and ("different job" in eb or "already exists" in eb), eb


@pytest.mark.parametrize("n", [2, 4])
def test_the_same_job_started_n_times_at_once(tmp_path, world, n):
    out = tmp_path / "o.zarr"
    a = write_job(tmp_path, "A", world["vol"], out)
    procs = [start(a, cwd=tmp_path) for _ in range(n)]
    errs = [p.communicate()[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), errs
    assert published_as(out, world["refs"]) == "A"
    assert not list(tmp_path.glob("o.zarr.partial.*")) and not leftovers(tmp_path), list(tmp_path.iterdir())
    assert run_attr("status", a, "--verify", cwd=tmp_path).returncode == 0
    # and reruns find it complete
    assert "already complete" in run_attr("run", a, cwd=tmp_path).stderr


CHOICES = [("A", []), ("A", ["--resume"]), ("A", ["--overwrite"]), ("B", []), ("B", ["--overwrite"]),
           ("A", ["--shard", "0/2"]), ("A", ["--shard", "1/2"]), ("B", ["--resume"])]


def test_randomised_concurrency_kills_and_resumes(tmp_path, world):
    """ROUNDS rounds (ATTR_TORTURE_ROUNDS; replay one with ATTR_TORTURE_SEED):
    up to 4 processes of the two jobs with random flags, started at random
    offsets, some killed by SIGKILL or SIGTERM at random moments. Private
    directories left behind must be reaped by the next run."""
    rng = random.Random(SEED)
    outcomes = {"A": 0, "B": 0, None: 0}
    for r in range(ROUNDS):
        d = tmp_path / f"r{r}"
        d.mkdir()
        out = d / "o.zarr"
        jobs = {n: write_job(d, n, world["vol"], out) for n in JOBS}
        procs = []
        for _ in range(rng.randint(2, 4)):
            name, flags = rng.choice(CHOICES)
            time.sleep(rng.uniform(0, 0.4 * world["duration"]))
            procs.append(start(jobs[name], *flags, cwd=d))
        for p in procs:
            if rng.random() < 0.35:
                time.sleep(rng.uniform(0, 0.5 * world["duration"]))
                p.send_signal(rng.choice([signal.SIGKILL, signal.SIGTERM]))
        for p in procs:
            _, err = p.communicate(timeout=120)
            assert "panicked" not in err, err
        what = published_as(out, world["refs"])
        outcomes[what] += 1
        if what is not None:
            report = run_attr("status", out, "--verify", check=False)
            assert report.returncode == 0, f"round {r}: {report.stdout}"
        # a private directory is left only by a process that was killed or
        # lost a race; every process has ended now, so the next run reaps it
        for f in out.rglob("*") if out.exists() else []:
            assert ".attr-tmp." not in f.name, f"round {r}: {f}"
        # whatever is staged can still be finished, and equals a clean run
        for name, job in jobs.items():
            staged = [s for s in d.glob("o.zarr.partial.*")]
            if staged and not out.exists():
                p = run_attr("run", job, "--resume", "-q", check=False, cwd=d)
                if p.returncode == 0 and out.exists():
                    assert published_as(out, world["refs"]) == name, f"round {r}"
        if leftovers(d):
            run_attr("run", jobs["A"], "--overwrite", "-q", cwd=d)
            assert not leftovers(d), f"round {r}: not reaped: {leftovers(d)}"
    print(f"{ROUNDS} rounds (seed {SEED}): published A {outcomes['A']}, B {outcomes['B']}, none {outcomes[None]}")
    assert outcomes["A"] + outcomes["B"] > 0
