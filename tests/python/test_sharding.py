"""Sharded outputs (Zarr V3 `sharding_indexed`): a shard file holds many
chunks and is written whole by one task, so a survey is a few files. The
values are those of the same job written in chunks of the shard's shape,
bit for bit; zarr-python and xarray read them chunk by chunk; a run killed
with SIGKILL resumes to the same bytes; bad requests are one line."""
import json
import random
import signal
import subprocess
import time

import numpy as np
import pytest
import xarray as xr
import zarr

from conftest import attr_bin, run_attr, run_job, synth

ATTRS = ["semblance", "envelope", "rms_amplitude", "gst_planarity"]


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    """An irregular survey (outline of missing traces) whose shape is no
    multiple of the chunks, so shards at its edges are partial."""
    d = tmp_path_factory.mktemp("sharding")
    return synth(d / "vol.zarr", "70,52,200", "16,16,64", seed=5)


def job(vol, out, sharding=None, chunks=None, workers=2):
    outs = []
    for a in ATTRS:
        o = {"attribute": a, "path": str(out)}
        if sharding is not None:
            o["sharding"] = sharding
        if chunks is not None:
            o["chunks"] = chunks
        outs.append(o)
    return {"input": str(vol), "workers": workers, "outputs": outs}


def shard_files(ds, name):
    return sorted(p for p in (ds / name / "c").rglob("*") if p.is_file())


def test_shards_equal_chunks_of_the_shard_shape_bit_for_bit(tmp_path, survey):
    run_job(tmp_path, job(survey, tmp_path / "s.zarr", sharding=[32, 32, 128]))
    run_job(tmp_path, job(survey, tmp_path / "c.zarr", chunks=[32, 32, 128]))
    run_job(tmp_path, job(survey, tmp_path / "p.zarr"))
    run_job(tmp_path, job(survey, tmp_path / "s2.zarr", sharding=[32, 32, 128]))
    s, c, p = (xr.open_zarr(tmp_path / n) for n in ("s.zarr", "c.zarr", "p.zarr"))
    for a in ATTRS:
        got = s[a].values
        assert np.isnan(got).any() and np.isfinite(got).mean() > 0.5, a  # the outline is null
        np.testing.assert_array_equal(got, c[a].values, err_msg=a)
        # and the chunked job's own chunks, to the kernels' tolerance
        np.testing.assert_allclose(got, p[a].values, rtol=1e-5, atol=1e-5 * np.nanmax(np.abs(got)), err_msg=a)
        z = zarr.open_array(tmp_path / "s.zarr" / a, mode="r")
        assert z.shards == (32, 32, 128) and z.chunks == (16, 16, 64), a
        # one file per shard: 3 × 2 × 2 shards (70, 52, 200 over 32, 32, 128)
        assert len(shard_files(tmp_path / "s.zarr", a)) == 3 * 2 * 2, a
        # the chunks of a shard in order, whatever order they were encoded in
        assert [f.read_bytes() for f in shard_files(tmp_path / "s.zarr", a)] == \
            [f.read_bytes() for f in shard_files(tmp_path / "s2.zarr", a)], a
    # a chunk outside the volume is not stored: the last shards are smaller
    sizes = {f.relative_to(tmp_path / "s.zarr" / "envelope").as_posix(): f.stat().st_size
             for f in shard_files(tmp_path / "s.zarr", "envelope")}
    assert sizes["c/2/1/1"] < sizes["c/0/0/0"] / 2, sizes


def test_auto_shards_and_what_attr_itself_reads_back(tmp_path, survey):
    out = tmp_path / "a.zarr"
    run_job(tmp_path, job(survey, out, sharding="auto"))
    z = zarr.open_array(out / "envelope", mode="r")
    # auto gathers chunks (16 × 16 × 64 float32: 64 KiB) into shards of at
    # least 16 MiB or the whole volume: here the whole volume, one file
    assert z.chunks == (16, 16, 64) and len(shard_files(out, "envelope")) == 1
    ref = xr.open_zarr(survey)
    np.testing.assert_array_equal(np.isnan(xr.open_zarr(out).envelope.values), np.isnan(ref.amplitude.values))
    # attr reads its sharded output: as the input of another job, and in info
    info = run_attr("info", out).stdout
    assert "shards       [80, 64, 256] (1 files, grid [1, 1, 1]) of chunks [16,16,64]" in info, info
    run_job(tmp_path, {"input": str(out), "variable": "envelope", "workers": 2,
                       "outputs": [{"attribute": "copy", "path": str(tmp_path / "copy.zarr")}]})
    np.testing.assert_array_equal(xr.open_zarr(tmp_path / "copy.zarr")["copy"].values, xr.open_zarr(out).envelope.values)
    p = run_attr("status", "--verify", out)
    assert "complete" in p.stdout, p.stdout


def test_plan_and_dry_run_name_the_shards(tmp_path, survey):
    j = tmp_path / "j.yaml"
    j.write_text(json.dumps(job(survey, tmp_path / "o.zarr", sharding=[32, 32, 128])))
    plan = run_attr("plan", j).stdout
    assert "shards [32, 32, 128] (12 files) of chunks [16, 16, 64]" in plan, plan
    dry = run_attr("run", j, "--dry-run").stdout
    assert "shards [32, 32, 128] of chunks [16, 16, 64]" in dry, dry


def test_kill_9_at_random_moments_then_resume_is_identical(tmp_path):
    vol = synth(tmp_path / "big.zarr", "128,128,384", "16,16,64", seed=3)
    spec = {"input": str(vol), "workers": 1, "outputs": [
        {"attribute": "gst_planarity", "path": str(tmp_path / "REF"), "sharding": [32, 32, 128]},
        {"attribute": "envelope", "path": str(tmp_path / "REF"), "sharding": [48, 32, 256]}]}
    ref = tmp_path / "ref.zarr"
    run_job(tmp_path, json.loads(json.dumps(spec).replace("REF", "ref.zarr")))
    j = tmp_path / "killed.yaml"
    out = tmp_path / "killed.zarr"
    j.write_text(json.dumps(spec).replace("REF", "killed.zarr"))
    rng = random.Random(5)
    killed = 0
    for _ in range(3):
        p = subprocess.Popen([attr_bin(), "run", "-q", "--resume", str(j)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.2, 1.2))
        p.send_signal(signal.SIGKILL)
        p.wait()
        killed += p.returncode == -signal.SIGKILL
        if not out.exists():
            # nothing half-published: a reader finds no dataset yet
            with pytest.raises(Exception):
                zarr.open_group(out, mode="r")
    assert killed >= 1
    run_attr("run", "-q", "--resume", j)
    for name in ("gst_planarity", "envelope"):
        want = {f.relative_to(ref).as_posix(): f.read_bytes() for f in shard_files(ref, name)}
        got = {f.relative_to(out).as_posix(): f.read_bytes() for f in shard_files(out, name)}
        assert got == want and len(got) > 4, name
    assert run_attr("status", "--verify", out).returncode == 0


@pytest.mark.parametrize("sharding, extra, says", [
    ([30, 32, 128], {}, "multiple of the chunks"),
    ([32, 32], {}, "3 dimensions"),
    ("big", {}, "'big'"),
    ([0, 32, 128], {}, "multiple of the chunks"),
    ([32, 32, 128], {"format": 2}, "format 3"),
])
def test_bad_sharding_is_one_line_and_writes_nothing(tmp_path, survey, sharding, extra, says):
    out = tmp_path / "o.zarr"
    spec = {"input": str(survey), "outputs": [{"attribute": "envelope", "path": str(out), "sharding": sharding,
                                               **extra}]}
    p = run_job(tmp_path, spec, check=False)
    err = [line for line in p.stderr.splitlines() if line.startswith("error")]
    assert p.returncode != 0 and len(err) == 1, p.stderr
    assert "outputs[0]" in err[0] and "sharding" in err[0] and says in err[0], err[0]
    assert not out.exists()
