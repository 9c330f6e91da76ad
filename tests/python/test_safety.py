"""An output never destroys or aliases its input, and allocations that
depend on the job are bounded by the volume."""
import json
import os
import shutil
import time

import numpy as np
import pytest
import xarray as xr
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


def sh(cmd, tmp_path):
    import subprocess
    from conftest import attr_bin
    p = subprocess.run(["bash", "-c", cmd.replace("ATTR", attr_bin())], capture_output=True, text=True, cwd=tmp_path)
    assert "panicked" not in p.stderr, p.stderr
    return p


@pytest.mark.parametrize("cmd", ["list", f"info {F3}", "list --json", "list --markdown"])
def test_a_closed_stdout_pipe_ends_listings_quietly(tmp_path, cmd):
    p = sh(f"ATTR {cmd} | head -c 10 > /dev/null; echo ${{PIPESTATUS[0]}}", tmp_path)
    assert p.stdout.strip() == "0", p
    assert p.stderr == "", p.stderr
    p = sh(f"ATTR {cmd} > /dev/full", tmp_path)
    assert p.returncode == 1 and p.stderr.startswith("error: cannot write to standard output"), p


@pytest.mark.parametrize("streams", ["2>&1 | head -c 20 > /dev/null", "2>/dev/full", "2>&- >&-", "> /dev/full"])
def test_failing_streams_never_stop_a_run(tmp_path, streams):
    out = tmp_path / "o.zarr"
    job = tmp_path / "j.yaml"
    job.write_text(json.dumps({"input": str(F3), "outputs": [{"attribute": "semblance", "path": str(out)},
                                                              {"attribute": "envelope", "path": str(out)}]}))
    p = sh(f"ATTR run {job} --workers 2 {streams}; echo rc=${{PIPESTATUS[0]}}", tmp_path)
    assert "rc=0" in p.stdout, p
    ds = zarr.open_group(str(out), mode="r")
    assert ds["semblance"].shape == (23, 18, 75)
    assert run_attr("status", out, "--verify").returncode == 0


def test_a_changed_input_is_noticed_on_resume_and_rerun(tmp_path):
    src = copy_input(tmp_path)
    out = tmp_path / "o.zarr"
    job = tmp_path / "j.yaml"
    job.write_text(json.dumps({"input": str(src), "outputs": [{"attribute": "semblance", "path": str(out)}]}))
    run_attr("run", job, "--shard", "0/2", "-q")          # half done, staged
    a = zarr.open_group(str(src), mode="r+")["amplitude"]
    a[0:8, 0:8, 0:32] = a[0:8, 0:8, 0:32] * 2             # rewrite one chunk
    p = run_attr("run", job, "--shard", "1/2", "--resume", check=False)
    assert p.returncode != 0 and "another state of the input" in p.stderr, p.stderr
    assert "amplitude/c/0/0/0" in p.stderr and p.stderr.count("error:") == 1, p.stderr
    assert not out.exists()
    run_attr("run", job, "--overwrite", "-q")
    clean = tmp_path / "clean.zarr"
    run_job(tmp_path, {"input": str(src), "outputs": [{"attribute": "semblance", "path": str(clean)}]}, "-q")
    assert (zarr.open_group(str(out))["semblance"][...] == zarr.open_group(str(clean))["semblance"][...]).all()
    # published, then the input changes: a rerun says so instead of "complete"
    a[0:8, 0:8, 32:64] = 0
    p = run_attr("run", job, check=False)
    assert p.returncode != 0 and "amplitude/c/0/0/1" in p.stderr and "--overwrite" in p.stderr, p.stderr


@pytest.mark.parametrize("damage", ["truncate", "bitflip", "delete"])
def test_a_damaged_published_chunk_is_named_and_repaired(tmp_path, damage):
    out = tmp_path / "o.zarr"
    job = tmp_path / "j.yaml"
    job.write_text(json.dumps({"input": str(F3), "outputs": [{"attribute": "semblance", "path": str(out)},
                                                              {"attribute": "envelope", "path": str(out)}]}))
    run_attr("run", job, "-q")
    clean = {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file() and ".attr" not in p.parts}
    chunk = out / "semblance" / "c" / "1" / "0" / "2"
    data = chunk.read_bytes()
    if damage == "truncate":
        chunk.write_bytes(data[: len(data) // 2])
    elif damage == "bitflip":
        chunk.write_bytes(data[:10] + bytes([data[10] ^ 0x10]) + data[11:])
    else:
        chunk.unlink()
    p = run_attr("status", out, "--verify", check=False)
    assert p.returncode != 0 and "semblance chunk 1.0.2" in p.stdout, p.stdout
    if damage != "bitflip":   # a plain rerun notices what a size check can
        p = run_attr("run", job, check=False)
        assert p.returncode != 0 and "--repair" in p.stderr and "1.0.2" in p.stderr, p.stderr
    p = run_attr("run", job, "--repair")
    assert "repairing 1 damaged" in p.stderr, p.stderr
    now = {str(q.relative_to(out)): q.read_bytes() for q in out.rglob("*") if q.is_file() and ".attr" not in q.parts}
    assert now == clean
    assert run_attr("status", out, "--verify").returncode == 0
    assert "already complete" in run_attr("run", job, "--resume").stderr


def test_silent_nonsense_is_refused_or_warned(tmp_path):
    def job(**o):
        j = tmp_path / "n.yaml"
        j.write_text(json.dumps({"input": str(F3), "outputs": [{"path": str(tmp_path / "o.zarr"), **o}]}))
        return j
    # a ratio in whole numbers: refused, unless scaled explicitly
    p = run_attr("run", job(attribute="semblance", dtype="int8"), check=False)
    assert p.returncode != 0 and "scale" in p.stderr and "ratio" in p.stderr, p.stderr
    run_attr("run", job(attribute="semblance", dtype="int8", scale=100), "--overwrite", "-q")
    ds = xr.open_zarr(tmp_path / "o.zarr")
    raw = zarr.open_group(str(tmp_path / "o.zarr"))["semblance"][...]
    assert raw.dtype == np.int8 and raw.max() > 50           # percent
    ref = tmp_path / "ref.zarr"
    run_job(tmp_path, {"input": str(F3), "outputs": [{"attribute": "semblance", "path": str(ref)}]}, "-q")
    np.testing.assert_allclose(ds.semblance.values, xr.open_zarr(ref).semblance.values, atol=0.006)
    # a band above Nyquist (4 ms: 125 Hz)
    p = run_attr("run", job(attribute="bandpass", params={"corners": [150, 160, 170, 180]}), check=False)
    assert p.returncode != 0 and "Nyquist" in p.stderr, p.stderr
    # an output that is 0 everywhere: written, with a warning
    z = tmp_path / "zero.zarr"
    g = zarr.open_group(str(z), mode="w", zarr_format=3)
    g.create_array("amplitude", data=np.zeros((8, 8, 32), np.float32))
    j = tmp_path / "z.yaml"
    j.write_text(json.dumps({"input": str(z), "outputs": [{"attribute": "envelope", "path": str(tmp_path / "z_out.zarr")}]}))
    p = run_attr("run", j, "-q")
    assert "warning" in p.stderr and "0 everywhere" in p.stderr, p.stderr


def test_memory_beyond_the_machine_is_refused_before_any_work(tmp_path):
    big = tmp_path / "big.zarr"
    g = zarr.open_group(str(big), mode="w", zarr_format=3)
    g.create_array("amplitude", shape=(4000, 4000, 4000), chunks=(4000, 4000, 4000), dtype="float32")
    j = tmp_path / "b.yaml"
    j.write_text(json.dumps({"input": str(big), "outputs": [{"attribute": "semblance", "path": str(tmp_path / "o.zarr")}]}))
    p = run_attr("run", j, check=False)
    assert p.returncode != 0 and "MiB of memory" in p.stderr and p.stderr.count("\n") == 1, p.stderr
    # and a plan of too many chunks is refused at once, in bounded memory
    g.create_array("huge", shape=(10**6, 10**6, 10**6), chunks=(8, 8, 8), dtype="float32")
    j.write_text(json.dumps({"input": str(big), "variable": "huge",
                             "outputs": [{"attribute": "copy", "path": str(tmp_path / "o.zarr")}]}))
    p = run_attr("plan", j, check=False)
    assert p.returncode != 0 and "larger `chunks:`" in p.stderr, p.stderr


def test_private_directories_are_reaped_only_when_provably_dead(tmp_path):
    """Two hosts share a filesystem and pids: another host's build is never
    taken for dead because of a local pid; this host's dead ones are reaped,
    and anything an hour old is."""
    import subprocess
    dead = subprocess.Popen(["true"])
    dead.wait()
    names = {
        "o.zarr.building.nodeb.1.5": True,             # other host, pid 1 alive here: kept
        f"o.zarr.building.nodeb.{dead.pid}.5": True,    # other host, pid dead here: kept
        f"o.zarr.building.nodea.{dead.pid}.5": False,   # this host, dead pid: reaped
        "o.zarr.building.nodea.1.5": True,              # this host, live pid: kept
        "o.zarr.building.nodec.1.6": False,             # an hour old, whatever its host: reaped
    }
    for n in names:
        (tmp_path / n / ".attr").mkdir(parents=True)
    old = time.time() - 7200
    os.utime(tmp_path / "o.zarr.building.nodec.1.6", (old, old))
    env = {**os.environ, "ATTR_HOSTNAME": "nodea"}
    job = tmp_path / "j.yaml"
    job.write_text(json.dumps({"input": str(F3), "outputs": [{"attribute": "envelope", "path": "o.zarr"}]}))
    from conftest import attr_bin
    p = subprocess.run([attr_bin(), "run", str(job), "-q"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    for n, kept in names.items():
        assert (tmp_path / n).exists() == kept, n


@pytest.mark.parametrize("flag", ["--sample", "--inline", "--crossline"])
@pytest.mark.parametrize("value", ["NaN", "nan", "inf", "-inf"])
def test_a_slice_at_no_number_is_refused(tmp_path, flag, value):
    p = run_attr("view", F3, f"{flag}={value}", "-o", tmp_path / "v.png", check=False)
    assert p.returncode != 0 and "finite number" in p.stderr, p.stderr
    assert not (tmp_path / "v.png").exists()


def test_a_float_trace_mask_is_live_only_at_half_or_more(tmp_path):
    vol = tmp_path / "v.zarr"
    x = np.ones((4, 5, 16), np.float32)
    g = zarr.open_group(str(vol), mode="w")
    g.create_array("amplitude", data=x, dimension_names=("inline", "crossline", "time"))
    mask = np.array([[1, 0.5, 0.49, np.nan, 0]] * 4, np.float32)
    g.create_array("trace_mask", data=mask, dimension_names=("inline", "crossline"))
    out = tmp_path / "o.zarr"
    run_job(tmp_path, {"input": str(vol), "outputs": [{"attribute": "copy", "path": str(out)}]}, "-q")
    got = zarr.open_group(str(out), mode="r")["copy"][...]
    live = np.isfinite(got).all(axis=2)
    np.testing.assert_array_equal(live, np.array([[True, True, False, False, False]] * 4))


@pytest.mark.parametrize("what", ["/dev/zero", "/dev/urandom", "directory", "big"])
def test_a_job_file_that_is_no_job_is_refused_at_once(tmp_path, what):
    path = {"/dev/zero": "/dev/zero", "/dev/urandom": "/dev/urandom", "directory": str(tmp_path),
            "big": str(tmp_path / "big.yaml")}[what]
    if what == "big":
        (tmp_path / "big.yaml").write_text("# " + "x" * (5 << 20) + "\n")
    for cmd in ("run", "plan", "status"):
        t0 = time.time()
        p = run_attr(cmd, path, check=False)
        assert p.returncode != 0 and p.stderr.count("\n") == 1 and p.stderr.startswith("error"), p.stderr
        assert time.time() - t0 < 10


def test_a_job_file_from_a_pipe_is_read_once(tmp_path):
    import subprocess
    from conftest import attr_bin
    out = tmp_path / "o.zarr"
    text = json.dumps({"input": str(F3), "outputs": [{"attribute": "envelope", "path": str(out)}]})
    for cmd in (["run", "-q"], ["plan"], ["status"]):
        p = subprocess.run(["bash", "-c", f"{attr_bin()} {cmd[0]} <(printf '%s' \"$JOB\") {' '.join(cmd[1:])}"],
                           capture_output=True, text=True, env={**os.environ, "JOB": text})
        if cmd[0] == "status":
            assert "complete" in p.stdout, p.stdout + p.stderr
        else:
            assert p.returncode == 0, p.stderr
    assert out.exists()


def test_missing_input_chunks_are_counted_or_refused(tmp_path):
    from conftest import synth
    vol = synth(tmp_path / "v.zarr", "32,32,128", "16,16,64", full=True)
    lost = sorted((vol / "amplitude" / "c").rglob("*"))
    lost = [f for f in lost if f.is_file()][3]
    lost.unlink()
    out = tmp_path / "o.zarr"
    spec = {"input": str(vol), "outputs": [{"attribute": "envelope", "path": str(out)}]}
    p = run_job(tmp_path, spec)
    warn = [l for l in p.stderr.splitlines() if "missing from the store" in l]
    assert len(warn) == 1 and "1 input chunk(s)" in warn[0] and "strict" in warn[0], p.stderr
    info = run_attr("info", vol).stdout
    assert "stored       7 of 8 chunks (1 missing" in info, info
    for how in (["--strict-input"], []):
        shutil.rmtree(out, ignore_errors=True)
        p = run_job(tmp_path, {**spec, **({} if how else {"strict_input": True})}, *how, check=False)
        err = [l for l in p.stderr.splitlines() if l.startswith("error")]
        assert p.returncode != 0 and len(err) == 1 and "1 of 8 chunks are missing" in err[0], p.stderr
        assert not out.exists() and not list(tmp_path.glob("o.zarr.*"))


def test_more_chunk_files_than_sane_need_force_and_inodes(tmp_path):
    import subprocess
    from conftest import needs_root, synth
    vol = synth(tmp_path / "v.zarr", "64,64,256", "16,16,64")
    out = tmp_path / "o.zarr"
    tiny = {"input": str(vol), "outputs": [{"attribute": a, "path": str(out), "chunks": [1, 1, 1]}
                                           for a in ("copy", "envelope")]}
    job = tmp_path / "tiny.yaml"
    job.write_text(json.dumps(tiny))
    for cmd in (["run", job], ["plan", job], ["run", job, "--dry-run"]):
        t0 = time.time()
        p = run_attr(*cmd, check=False)
        err = [l for l in p.stderr.splitlines() if l.startswith("error")]
        assert p.returncode != 0 and len(err) == 1 and "2097152 chunk files" in err[0] and "--force" in err[0], p.stderr
        assert time.time() - t0 < 5 and not out.exists()
    assert "2097152 output chunks" in run_attr("plan", job, "--force").stdout
    # a file system with fewer free inodes than the chunks: said before any work
    needs_root("inode shortage (mounts a small tmpfs)")
    mnt = tmp_path / "few"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64M,nr_inodes=200", "tmpfs", str(mnt)], check=True)
    try:
        spec = {"input": str(vol), "outputs": [{"attribute": "copy", "path": str(mnt / "o.zarr"),
                                                "chunks": [8, 8, 64]}]}
        p = run_job(tmp_path, spec, check=False)
        err = [l for l in p.stderr.splitlines() if l.startswith("error")]
        assert p.returncode != 0 and len(err) == 1 and "free inodes" in err[0], p.stderr
        assert list(mnt.iterdir()) == []
    finally:
        subprocess.run(["umount", str(mnt)], check=False)
