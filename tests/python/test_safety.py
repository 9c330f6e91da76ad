"""An output never destroys or aliases its input, and allocations that
depend on the job are bounded by the volume."""
import json
import os
import shutil

import pytest
import zarr

from conftest import F3, run_attr, run_job


def copy_input(tmp_path):
    src = tmp_path / "in.zarr"
    shutil.copytree(F3, src)
    return src


def contents(path):
    return sorted(str(p.relative_to(path)) + ":" + str(p.stat().st_size) for p in path.rglob("*") if p.is_file())


@pytest.mark.parametrize("where", ["same", "symlink", "inside", "parent"])
def test_an_output_never_replaces_or_aliases_its_input(tmp_path, where):
    src = copy_input(tmp_path)
    before = contents(src)
    if where == "same":
        out = src
    elif where == "symlink":
        os.symlink(src, tmp_path / "alias.zarr")
        out = tmp_path / "alias.zarr"
    elif where == "inside":
        out = src / "envelope.zarr"
    else:
        out = tmp_path
    for extra in ([], ["--overwrite"]):
        job = tmp_path / "self.yaml"
        job.write_text(json.dumps({"input": str(src), "outputs": [{"attribute": "envelope", "path": str(out)}]}))
        p = run_attr("run", job, *extra, check=False)
        assert p.returncode != 0, p.stderr
        assert "input" in p.stderr and "outputs[0].path" in p.stderr, p.stderr
        assert len(p.stderr.strip().splitlines()) == 1, p.stderr
        assert contents(src) == before


def test_chunks_larger_than_the_volume_are_clipped(tmp_path):
    out = tmp_path / "o.zarr"
    p = run_job(tmp_path, {"input": str(F3), "outputs": [
        {"attribute": "envelope", "path": str(out), "chunks": [3000, 3000, 3000]}]})
    assert zarr.open_group(str(out))["envelope"].chunks == (23, 18, 75)
    peak = [l for l in p.stderr.splitlines() if "peak memory" in l][0]
    assert "MiB" in peak and int(peak.split("peak memory ")[1].split()[0]) < 500, peak


def test_a_window_wider_than_the_volume_is_refused_at_once(tmp_path):
    spec = {"input": str(F3), "outputs": [{"attribute": "semblance", "path": str(tmp_path / "o.zarr"),
                                           "params": {"window": [1000000001, 3, 9]}}]}
    job = tmp_path / "wide.yaml"
    job.write_text(json.dumps(spec))
    for cmd in (["run"], ["plan"]):
        p = run_attr(*cmd, job, check=False)
        assert p.returncode != 0 and "smaller window" in p.stderr, p.stderr
    assert not (tmp_path / "o.zarr").exists()


def test_workers_are_capped_at_the_number_of_tasks(tmp_path):
    p = run_job(tmp_path, {"input": str(F3), "outputs": [
        {"attribute": "envelope", "path": str(tmp_path / "o.zarr")}]}, "--workers", "10000")
    line = p.stderr.splitlines()[0]
    tasks = int(line.split(" task(s)")[0].split()[-1])
    workers = int(line.split(" worker(s)")[0].split()[-1])
    assert workers <= tasks, line
