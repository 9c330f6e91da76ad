"""Shared helpers: run the `attr` binary on job specs written as YAML,
make synthetic volumes, run the Dask baseline, and skip (by name, with the
reason) what this machine cannot run."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
F3 = REPO / "sample-data" / "f3.zarr"
DASK_BASELINE = REPO / "bench" / "dask_baseline.py"
HPC = REPO / "tests" / "hpc"


def cannot_run(group: str, why: str):
    """Skip a test this machine cannot run, and name it for tests/run.sh's
    last lines; under ATTR_REQUIRE_ALL=1 (CI) that is a failure."""
    if os.environ.get("ATTR_REQUIRE_ALL") == "1":
        pytest.fail(f"{group} cannot run here ({why}), and ATTR_REQUIRE_ALL=1 requires it")
    note = os.environ.get("ATTR_NOT_RUN")
    if note:
        with open(note, "a") as f:
            f.write(f"{group}: {why}\n")
    pytest.skip(f"{group}: {why}")


def needs_root(group: str):
    if os.geteuid() != 0:
        cannot_run(group, "needs root")


def synth(path: Path, shape: str, chunks: str, full=False, seed=0) -> Path:
    """`attr synth`: a deterministic survey; `full` has no missing traces."""
    run_attr("synth", path, "--shape", shape, "--chunks", chunks, "--seed", seed, "--overwrite", "-q",
             *(["--full"] if full else []))
    return path


def dask_baseline(attr: str, src: Path, out: Path, *args) -> str:
    """bench/dask_baseline.py: the attribute as a Dask user computes it."""
    p = subprocess.run([sys.executable, str(DASK_BASELINE), attr, str(src), str(out), *map(str, args)],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


def attr_bin() -> str:
    path = os.environ.get("ATTR_BIN", str(REPO / "target" / "release" / "attr"))
    if not Path(path).is_file():
        raise RuntimeError(f"attr binary not found at {path}: build it (tests/run.sh does) or set ATTR_BIN")
    return path


def run_attr(*args, check=True, cwd=None):
    p = subprocess.run([attr_bin(), *map(str, args)], capture_output=True, text=True, cwd=cwd)
    assert "panicked" not in p.stderr, p.stderr
    if check and p.returncode != 0:
        raise AssertionError(f"attr {' '.join(map(str, args))} failed ({p.returncode}):\n{p.stderr}")
    return p


def run_job(tmp_path: Path, spec: dict, *extra, check=True):
    """Write `spec` as a job file (JSON is YAML) and run it."""
    job = tmp_path / f"job{len(list(tmp_path.glob('job*.yaml')))}.yaml"
    job.write_text(json.dumps(spec, indent=1))
    return run_attr("run", job, "--overwrite", *extra, check=check)


@pytest.fixture
def f3():
    return F3
