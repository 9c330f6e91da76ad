"""Shared helpers: run the `attr` binary on job specs written as YAML."""
import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PEER = REPO.parent / "shared" / "peer"
F3 = REPO / "sample-data" / "f3.zarr"


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
