"""Every job kind lives the same life: a table of job kinds (attributes,
sharded attributes, classify, maps, and volumes with maps in one pass) run through the same cases, with the same expected behaviour —
dry runs write nothing, a SIGTERM stops cleanly and --resume finishes to the
same bytes, a small memory budget is kept, damaged chunks are found and
repaired, shards add up to one run, a second run changes nothing, an
--overwrite takes a live run over, and no output replaces what a job reads."""
import json
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import zarr

from conftest import attr_bin, run_attr


def attributes_job(vol, out, variant):
    window = [3, 3, 9] if variant == "A" else [5, 5, 9]
    return {"input": str(vol), "workers": 1, "outputs": [
        {"attribute": "semblance", "params": {"window": window}, "path": str(out)},
        {"attribute": "envelope", "path": str(out)}]}


def sharded_job(vol, out, variant):
    """Attributes written as Zarr V3 shards: a shard shape, and `auto`."""
    spec = attributes_job(vol, out, variant)
    spec["outputs"][0]["sharding"] = [32, 32, 128]
    spec["outputs"][1]["sharding"] = "auto"
    return spec


def classify_job(vol, out, variant):
    return {"input": str(vol), "workers": 1, "classify": {
        "features": ["amplitude", {"attribute": "semblance"}], "clusters": 3, "sample": 5000,
        "seed": 1 if variant == "A" else 2, "path": str(out)}}


def maps_job(vol, out, variant):
    horizon = str(vol.parent / "horizon.txt")
    window = [-30, 30] if variant == "A" else [-20, 20]
    return {"input": str(vol), "workers": 1, "maps": [
        {"horizon": horizon, "attribute": "semblance", "window": window,
         "statistics": ["mean", "max"], "path": str(out)},
        {"horizon": horizon, "name": "amplitude", "interpolation": "cubic", "path": str(out)}]}


def volumes_and_maps_job(vol, out, variant):
    """Volumes in `out`, maps beside it (`maps_of(out)`), in one pass."""
    spec = attributes_job(vol, out, variant)
    spec["maps"] = maps_job(vol, maps_of(out), variant)["maps"]
    return spec


def maps_of(out: Path) -> Path:
    return out.with_name(out.stem + "_maps.zarr")


KINDS = {"attributes": attributes_job, "sharded": sharded_job, "classify": classify_job, "maps": maps_job,
         "volumes+maps": volumes_and_maps_job}


def chunk_files(ds: Path):
    """The chunk files of a dataset's variables (volumes and maps)."""
    return sorted(p for p in ds.rglob("*")
                  if p.is_file() and "c" in p.relative_to(ds).parts[1:-1] and ".attr" not in p.parts)


def files(ds: Path):
    """Chunk and metadata files of a dataset (no run records), and of the
    maps written beside it in the same job, if any."""
    found = {}
    for d, key in ((ds, ""), (maps_of(ds), "maps/")):
        found.update({f"{key}{p.relative_to(d)}": p.read_bytes() for p in sorted(d.rglob("*"))
                      if p.is_file() and ".attr" not in p.parts})
    return found


def leftovers(d: Path):
    return sorted(p.name for p in d.iterdir() if any(k in p.name for k in (".partial.", ".building.", ".publishing.")))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = tmp_path_factory.mktemp("lifecycle")
    vol = d / "vol.zarr"
    rng = np.random.default_rng(11)
    x = rng.standard_normal((64, 64, 384)).astype(np.float32)
    x[10:20, 30:40] = np.nan  # a hole in the survey
    g = zarr.open_group(str(vol), mode="w", zarr_format=3)
    g.create_array("amplitude", data=x, chunks=(16, 16, 128), dimension_names=("inline", "crossline", "time"))
    # a horizon for the maps, in samples (the volume has no time axis), with a hole
    lines = [f"{i} {j} {150 + 0.5 * i + 0.3 * j:.2f}" for i in range(64) for j in range(64) if not (i == 5 and j < 9)]
    (d / "horizon.txt").write_text("inline crossline z\n" + "\n".join(lines) + "\n")
    refs = {}
    for kind, make in KINDS.items():
        for variant in "AB":
            out = d / f"ref_{kind}_{variant}.zarr"
            job = d / f"ref_{kind}_{variant}.yaml"
            job.write_text(json.dumps(make(vol, out, variant)))
            run_attr("run", job, "-q")
            refs[kind, variant] = files(out)
    return {"vol": vol, "refs": refs}


def job(tmp_path, world, kind, variant="A", name="o.zarr"):
    out = tmp_path / name
    path = tmp_path / f"{kind}_{variant}.yaml"
    path.write_text(json.dumps(KINDS[kind](world["vol"], out, variant)))
    return path, out


kinds = pytest.mark.parametrize("kind", list(KINDS))


@kinds
def test_a_dry_run_writes_nothing(tmp_path, world, kind):
    j, out = job(tmp_path, world, kind)
    p = run_attr("run", j, "--dry-run")
    assert "nothing was written" in p.stdout
    assert not out.exists() and not leftovers(tmp_path)
    # nor replaces a result, even with --overwrite
    run_attr("run", j, "-q")
    before = files(out)
    j2, _ = job(tmp_path, world, kind, "B")
    run_attr("run", j2, "--dry-run", "--overwrite")
    assert files(out) == before and not leftovers(tmp_path)


@kinds
def test_sigterm_stops_cleanly_and_resume_finishes_the_same_bytes(tmp_path, world, kind):
    for attempt in range(6):
        d = tmp_path / str(attempt)
        d.mkdir()
        j, out = job(d, world, kind)
        p = subprocess.Popen([attr_bin(), "run", str(j), "-q"], stderr=subprocess.PIPE, text=True)
        # the moment the first chunk is staged
        while p.poll() is None and not any(s.is_dir() and chunk_files(s) for s in d.glob("o.zarr.partial.*")):
            time.sleep(0.002)
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate()
        if p.returncode != 0:
            break
        assert files(out) == world["refs"][kind, "A"]
    assert p.returncode != 0, "every run ended before the signal"
    assert "--resume" in err and err.count("\n") == 1, err
    assert not out.exists()
    assert run_attr("status", j, check=False).returncode != 0
    p = run_attr("run", j, "--resume")
    assert "already done" in p.stderr
    assert files(out) == world["refs"][kind, "A"]
    assert run_attr("status", j, "--verify").returncode == 0


@kinds
def test_a_small_memory_budget_is_kept(tmp_path, world, kind):
    j, out = job(tmp_path, world, kind)
    plan = run_attr("plan", j, "--memory", "96").stdout
    assert "budget 100.7 MB (--memory)" in plan, plan
    p = run_attr("run", j, "--memory", "96")
    peak = int(p.stderr.split("peak memory ")[1].split(" MiB")[0])
    assert peak <= 96, p.stderr
    assert "more than its memory budget" not in p.stderr, p.stderr
    assert files(out) == world["refs"][kind, "A"]


@kinds
def test_a_damaged_chunk_is_found_and_repaired(tmp_path, world, kind):
    j, out = job(tmp_path, world, kind)
    run_attr("run", j, "-q")
    first = chunk_files(out)[0]
    b = bytearray(first.read_bytes())
    b[len(b) // 2] ^= 0xFF
    first.write_bytes(bytes(b))
    p = run_attr("status", j, "--verify", check=False)
    assert p.returncode != 0 and "checksum mismatch" in p.stdout, p.stdout
    # what a repair killed mid-write would leave: a temporary of a dead process
    host = "".join(c if c.isalnum() or c == "-" else "-" for c in open("/proc/sys/kernel/hostname").read().strip())
    dead = first.with_name(f"{first.name}.attr-tmp.{host}.999999999.0")
    dead.write_bytes(b"half a chunk")
    p = run_attr("run", j, "--repair")
    assert "repairing 1 damaged" in p.stderr, p.stderr
    assert not dead.exists()
    assert files(out) == world["refs"][kind, "A"]
    assert run_attr("status", j, "--verify").returncode == 0
    # a truncated chunk is caught by its size, even without --verify
    first.write_bytes(first.read_bytes()[:7])
    p = run_attr("run", j, check=False)
    assert p.returncode != 0 and "--repair" in p.stderr, p.stderr
    run_attr("run", j, "--repair", "-q")
    assert files(out) == world["refs"][kind, "A"]


@kinds
def test_shards_add_up_to_one_run(tmp_path, world, kind):
    j, out = job(tmp_path, world, kind)
    for i in range(3):
        p = run_attr("run", j, "--shard", f"{i}/3")
        assert (i < 2) == ("waiting for other shards" in p.stderr), p.stderr
    assert files(out) == world["refs"][kind, "A"]
    assert run_attr("status", j, "--verify").returncode == 0


@kinds
def test_the_same_job_twice_is_idempotent(tmp_path, world, kind):
    j, out = job(tmp_path, world, kind)
    run_attr("run", j, "-q")
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    p = run_attr("run", j)
    assert "already complete" in p.stderr
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == stamps
    # and two at once publish one result
    j2, out2 = job(tmp_path, world, kind, name="two.zarr")
    procs = [subprocess.Popen([attr_bin(), "run", str(j2), "-q"], stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    errs = [p.communicate()[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), errs
    assert files(out2) == world["refs"][kind, "A"] and not leftovers(tmp_path)
    # a published dataset keeps no leases
    assert not list(out.glob(".attr/lease.*")) and not list(out2.glob(".attr/lease.*"))


@kinds
def test_overwrite_takes_a_live_run_over(tmp_path, world, kind):
    j, out = job(tmp_path, world, kind)
    j2, _ = job(tmp_path, world, kind, "B")
    pa = subprocess.Popen([attr_bin(), "run", str(j), "-q"], stderr=subprocess.PIPE, text=True)
    while pa.poll() is None and not list(tmp_path.glob("o.zarr.partial.*")):
        time.sleep(0.002)
    pb = subprocess.Popen([attr_bin(), "run", str(j2), "-q", "--overwrite"], stderr=subprocess.PIPE, text=True)
    ea, eb = pa.communicate()[1], pb.communicate()[1]
    assert pb.returncode == 0, eb
    # A finished first (and was replaced) or stopped without publishing
    assert pa.returncode == 0 or "took" in ea, ea
    assert files(out) == world["refs"][kind, "B"]
    assert not leftovers(tmp_path), leftovers(tmp_path)


@kinds
@pytest.mark.parametrize("where", ["the input", "inside the input", "around the input"])
def test_no_output_replaces_what_the_job_reads(tmp_path, world, kind, where):
    import shutil
    vol = tmp_path / "vol.zarr"
    shutil.copytree(world["vol"], vol)
    shutil.copy(world["vol"].parent / "horizon.txt", tmp_path)
    spec = KINDS[kind](vol, vol, "A")
    target = {"the input": vol, "inside the input": vol / "x.zarr", "around the input": tmp_path}[where]
    for o in spec.get("outputs", []):
        o["path"] = str(target)
    if "classify" in spec:
        spec["classify"]["path"] = str(target)
    for m in spec.get("maps", []):
        if "outputs" not in spec:  # beside volumes, the maps keep a dataset of their own
            m["path"] = str(target)
    j = tmp_path / "alias.yaml"
    j.write_text(json.dumps(spec))
    before = files(vol)
    for cmd in (["run", j, "--overwrite"], ["plan", j], ["submit", j, "--scheduler", "slurm", "--shards", "2",
                                                      "--dry-run"]):
        p = run_attr(*cmd, check=False)
        err = [l for l in p.stderr.splitlines() if l.startswith("error")]
        assert p.returncode != 0 and len(err) == 1 and "input" in err[0], p.stderr
        field = {"attributes": "outputs[0].path", "sharded": "outputs[0].path", "classify": "classify.path", "maps": "maps[0].path",
                 "volumes+maps": "outputs[0].path"}[kind]
        assert field in err[0], err
        assert "--overwrite" not in err[0], err
    assert files(vol) == before


def test_classify_settings_are_refused_before_any_data_is_read(tmp_path, world):
    j, out = job(tmp_path, world, "classify")
    spec = json.loads(j.read_text())
    for change, needle in [({"clusters": 0}, "at least 2"), ({"n_init": 0}, "n_init"),
                           ({"tol": -1}, "tol"), ({"sample": -1}, "positive number of samples"),
                           ({"max_iter": 0}, "max_iter")]:
        spec["classify"] = {**json.loads(j.read_text())["classify"], **change}
        j.write_text(json.dumps(spec))
        p = run_attr("run", j, check=False)
        err = [l for l in p.stderr.splitlines() if l.startswith("error")]
        assert p.returncode != 0 and len(err) == 1 and needle in err[0], (change, p.stderr)
        assert "sample:" not in p.stderr.split("error")[0], "refused only after sampling"
        assert not out.exists()
        j, out = job(tmp_path, world, "classify")
    model = tmp_path / "model.zarr"
    run_attr("run", j, "-q")
    (tmp_path / "o.zarr").rename(model)
    spec = json.loads(j.read_text())
    spec["classify"]["model"] = str(model)
    j.write_text(json.dumps(spec))
    p = run_attr("run", j, check=False)
    assert p.returncode != 0 and "not both" in p.stderr, p.stderr


def test_a_classification_never_replaces_a_feature_dataset_or_its_model(tmp_path, world):
    import shutil
    feats = tmp_path / "feats.zarr"
    spec = {"input": str(world["vol"]), "outputs": [{"attribute": "envelope", "path": str(feats)}]}
    (tmp_path / "f.yaml").write_text(json.dumps(spec))
    run_attr("run", tmp_path / "f.yaml", "-q")
    model = tmp_path / "model.zarr"
    j, out = job(tmp_path, world, "classify")
    run_attr("run", j, "-q")
    shutil.move(out, model)
    before = files(feats), files(model)
    feature = {"path": str(feats), "variable": "envelope"}
    cases = [({"features": ["amplitude", feature], "clusters": 3, "sample": 5000, "path": str(feats)}, "feats"),
             ({"features": ["amplitude", {"attribute": "semblance"}], "model": str(model), "path": str(model)},
              "model")]
    for c, what in cases:
        (tmp_path / "c.yaml").write_text(json.dumps({"input": str(world["vol"]), "classify": c}))
        p = run_attr("run", tmp_path / "c.yaml", "--overwrite", check=False)
        err = [l for l in p.stderr.splitlines() if l.startswith("error")]
        assert p.returncode != 0 and len(err) == 1 and "classify.path" in err[0], (what, p.stderr)
    assert (files(feats), files(model)) == before
