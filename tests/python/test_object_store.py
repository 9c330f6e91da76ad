"""Zarr on object storage (s3://) against a real S3-compatible server
(moto's, started here), and Zarr in zip files: every result is compared with
the same job on the filesystem, chunk by chunk and byte for byte, and read
back with zarr-python, xarray and s3fs."""
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import zarr

from conftest import F3, attr_bin, cannot_run, run_attr, synth

BUCKET = "attr-test"
GROUP = "object storage (s3:// on a local moto server)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto(**env):
    """A moto S3 server on a free port; returns (process, endpoint)."""
    port = free_port()
    p = subprocess.Popen([sys.executable, "-m", "moto.server", "-p", str(port)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env={**os.environ, **env})
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return p, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    p.kill()
    raise RuntimeError("the moto server did not start")


class S3:
    def __init__(self, endpoint, proc):
        import boto3
        self.endpoint = endpoint
        self.proc = proc
        self.env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_ENDPOINT_URL": endpoint, "AWS_ALLOW_HTTP": "true", "AWS_REGION": "us-east-1"}
        self.client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="testing",
                                   aws_secret_access_key="testing", region_name="us-east-1")
        self.client.create_bucket(Bucket=BUCKET)
        self.storage_options = {"key": "testing", "secret": "testing",
                                "client_kwargs": {"endpoint_url": endpoint, "region_name": "us-east-1"}}

    def url(self, prefix: str) -> str:
        return f"s3://{BUCKET}/{prefix}"

    def upload(self, local: Path, prefix: str):
        for f in sorted(local.rglob("*")):
            if f.is_file():
                self.client.upload_file(str(f), BUCKET, f"{prefix}/{f.relative_to(local).as_posix()}")

    def objects(self, prefix: str) -> dict:
        """Every object below `prefix`: relative key -> bytes."""
        out = {}
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix + "/"):
            for o in page.get("Contents", []):
                body = self.client.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read()
                out[o["Key"][len(prefix) + 1:]] = body
        return out

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=BUCKET, Key=key)
            return True
        except Exception:
            return False


@pytest.fixture(scope="module")
def s3():
    try:
        import boto3  # noqa: F401
        import moto  # noqa: F401
        import s3fs  # noqa: F401
    except ImportError as e:
        cannot_run(GROUP, f"{e.name} is not installed (tests/requirements.txt)")
    proc, endpoint = start_moto()
    try:
        yield S3(endpoint, proc)
    finally:
        proc.kill()
        proc.wait()


def attr(s3, *args, check=True, env=None, timeout=300):
    p = subprocess.run([attr_bin(), *map(str, args)], capture_output=True, text=True, timeout=timeout,
                       env={**os.environ, **s3.env, **(env or {})})
    assert "panicked" not in p.stderr, p.stderr
    if check and p.returncode != 0:
        raise AssertionError(f"attr {' '.join(map(str, args))} failed ({p.returncode}):\n{p.stderr}")
    return p


def job(tmp: Path, name: str, text: str) -> Path:
    f = tmp / f"{name}.yaml"
    f.write_text(text)
    return f


def is_chunk(key: str) -> bool:
    """Chunk objects and files, not metadata and not attr's records."""
    name = key.rsplit("/", 1)[-1]
    return not key.startswith(".attr/") and name not in ("zarr.json", ".zarray", ".zattrs", ".zgroup",
                                                         ".zmetadata")


def local_files(d: Path) -> dict:
    return {f.relative_to(d).as_posix(): f.read_bytes() for f in d.rglob("*") if f.is_file()}


def chunks(files: dict) -> dict:
    return {k: v for k, v in files.items() if is_chunk(k)}


def outputs(inp: str, out: str) -> str:
    """Three attributes of the structure-tensor, trace and window kinds in
    one V3 dataset, and one in a V2 dataset with another codec."""
    return f"""input: {inp}
outputs:
  - {{attribute: envelope, path: {out}/a.zarr}}
  - {{attribute: semblance, path: {out}/a.zarr}}
  - {{attribute: gst_planarity, path: {out}/a.zarr}}
  - {{attribute: rms_amplitude, path: {out}/b.zarr, format: 2, compression: blosc}}
"""


@pytest.fixture(scope="module")
def survey(tmp_path_factory, s3):
    """An irregular survey (outline, missing traces, nulls) on disk and on
    s3, with the job's outputs computed on the filesystem as the reference."""
    d = tmp_path_factory.mktemp("survey")
    vol = synth(d / "vol.zarr", "40,36,96", "16,16,32")
    s3.upload(vol, "survey/vol.zarr")
    attr(s3, "run", "-q", job(d, "local", outputs(vol, d / "ref")))
    return d, vol


@pytest.mark.parametrize("inp, out", [("s3", "s3"), ("local", "s3"), ("s3", "local")])
def test_a_job_on_s3_writes_the_chunks_the_filesystem_job_writes(tmp_path, s3, survey, inp, out):
    d, vol = survey
    prefix = f"{inp}-{out}-{random.randrange(1 << 30)}"
    src = s3.url("survey/vol.zarr") if inp == "s3" else vol
    dst = s3.url(prefix) if out == "s3" else tmp_path / "out"
    attr(s3, "run", "-q", job(tmp_path, "j", outputs(src, dst)))
    for name in ("a.zarr", "b.zarr"):
        ref = chunks(local_files(d / "ref" / name))
        got = chunks(s3.objects(f"{prefix}/{name}") if out == "s3" else local_files(tmp_path / "out" / name))
        assert len(ref) > 10 and got.keys() == ref.keys(), name
        assert all(got[k] == ref[k] for k in ref), name
    if out == "s3":
        # published: readable as a consolidated group, and attr says so
        assert s3.exists(f"{prefix}/a.zarr/zarr.json") and s3.exists(f"{prefix}/b.zarr/.zgroup")
        assert s3.exists(f"{prefix}/b.zarr/.zmetadata")
        # a published dataset keeps no leases
        assert not [k for k in s3.objects(prefix) if "/lease." in k]
        p = attr(s3, "status", "--verify", s3.url(f"{prefix}/a.zarr"))
        assert "complete" in p.stdout and "all" in p.stdout
        again = attr(s3, "run", job(tmp_path, "j", outputs(src, dst)))
        assert "already complete" in again.stderr


def test_zarr_python_and_xarray_read_what_attr_wrote_on_s3(tmp_path, s3, survey):
    d, vol = survey
    attr(s3, "run", "-q", job(tmp_path, "j", outputs(s3.url("survey/vol.zarr"), s3.url("read"))))
    for name in ("a.zarr", "b.zarr"):
        ref = xr.open_zarr(d / "ref" / name)
        got = xr.open_zarr(f"s3://{BUCKET}/read/{name}", storage_options=s3.storage_options)
        assert set(got.data_vars) == set(ref.data_vars)
        for v in ref.data_vars:
            np.testing.assert_array_equal(got[v].values, ref[v].values)
            drop = lambda a: {k: x for k, x in a.items() if k != "provenance"}  # noqa: E731
            assert drop(got[v].attrs) == drop(ref[v].attrs), v
        np.testing.assert_array_equal(got["inline"].values, ref["inline"].values)
    g = zarr.open_group(f"s3://{BUCKET}/read/a.zarr", mode="r", storage_options=s3.storage_options)
    assert set(g.array_keys()) >= {"envelope", "semblance", "gst_planarity"}


def test_attr_reads_what_xarray_wrote_on_s3_and_in_zip_files(tmp_path, s3, survey):
    d, vol = survey
    ds = xr.open_zarr(vol)
    for v in ds.variables.values():
        v.encoding = {}  # written in each store's own way
    ds.to_zarr(f"s3://{BUCKET}/by-xarray/vol.zarr", storage_options=s3.storage_options, mode="w",
               zarr_format=2)
    # zarr-python's ZipStore, array by array
    src = zarr.open_group(vol, mode="r")
    z = zarr.storage.ZipStore(tmp_path / "vol.zarr.zip", mode="w")
    dst = zarr.open_group(z, mode="w", attributes=dict(src.attrs))
    for name, a in src.arrays():
        dst.create_array(name, data=a[...], chunks=a.chunks, fill_value=a.fill_value,
                         dimension_names=a.metadata.dimension_names, attributes=dict(a.attrs))
    z.close()
    s3.client.upload_file(str(tmp_path / "vol.zarr.zip"), BUCKET, "zips/vol.zarr.zip")
    ref = xr.open_zarr(d / "ref" / "a.zarr")
    for i, src in enumerate([s3.url("by-xarray/vol.zarr"), tmp_path / "vol.zarr.zip",
                             s3.url("zips/vol.zarr.zip")]):
        info = attr(s3, "info", src).stdout
        assert "[40, 36, 96]" in info, info
        out = tmp_path / f"out{i}"
        attr(s3, "run", "-q", job(tmp_path, f"j{i}", outputs(src, out)))
        got = xr.open_zarr(out / "a.zarr")
        for v in ("envelope", "semblance", "gst_planarity"):
            np.testing.assert_array_equal(got[v].values, ref[v].values, err_msg=f"{src} {v}")


def test_a_zip_of_a_store_folder_reads_as_the_store(tmp_path, s3, survey):
    d, vol = survey
    with zipfile.ZipFile(tmp_path / "vol.zarr.zip", "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(vol.rglob("*")):
            z.write(f, Path("vol.zarr") / f.relative_to(vol))
    attr(s3, "run", "-q", job(tmp_path, "j", outputs(tmp_path / "vol.zarr.zip", tmp_path / "out")))
    assert chunks(local_files(tmp_path / "out" / "a.zarr")) == chunks(local_files(d / "ref" / "a.zarr"))


@pytest.fixture(scope="module")
def bigger(tmp_path_factory, s3):
    """A survey large enough for a run to be killed in the middle."""
    d = tmp_path_factory.mktemp("bigger")
    vol = synth(d / "vol.zarr", "96,96,256", "16,16,64", seed=3)
    s3.upload(vol, "bigger/vol.zarr")
    text = f"input: {s3.url('bigger/vol.zarr')}\nworkers: 2\noutputs:\n" \
           "  - {attribute: gst_planarity, path: OUT}\n  - {attribute: envelope, path: OUT}\n"
    ref = d / "ref.zarr"
    attr(s3, "run", "-q", job(d, "ref", text.replace("OUT", str(ref))))
    return d, text, chunks(local_files(ref))


def test_kill_9_at_random_moments_then_resume_is_identical(tmp_path, s3, bigger):
    d, text, ref = bigger
    j = job(tmp_path, "j", text.replace("OUT", s3.url("killed.zarr")))
    rng = random.Random(7)
    for attempt in range(3):
        p = subprocess.Popen([attr_bin(), "run", "-q", "--resume", j], env={**os.environ, **s3.env},
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 2.0))
        p.send_signal(signal.SIGKILL)
        p.wait()
        if not s3.exists("killed.zarr/zarr.json"):
            # nothing half-published: not a Zarr group for any reader yet
            with pytest.raises(Exception):
                zarr.open_group(f"s3://{BUCKET}/killed.zarr", mode="r", storage_options=s3.storage_options)
    attr(s3, "run", "-q", "--resume", j)
    assert chunks(s3.objects("killed.zarr")) == ref
    assert attr(s3, "status", "--verify", s3.url("killed.zarr")).returncode == 0
    assert not any(k.startswith(".attr/done/") for k in s3.objects("killed.zarr"))


def test_four_shards_at_once_write_one_dataset(tmp_path, s3, bigger):
    d, text, ref = bigger
    j = job(tmp_path, "j", text.replace("OUT", s3.url("sharded.zarr")))
    procs = [subprocess.Popen([attr_bin(), "run", "-q", "--shard", f"{i}/4", j], env={**os.environ, **s3.env},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(4)]
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
    objects = s3.objects("sharded.zarr")
    assert chunks(objects) == ref
    # one publisher sealed every record into the manifest
    import json
    manifest = json.loads(objects[".attr/chunks.json"])
    assert sum(len(v) for v in manifest.values()) == \
        len([k for k in ref if k.startswith(("gst_planarity/", "envelope/"))])
    assert not any(k.startswith((".attr/done/", ".attr/publishing")) for k in objects)
    p = attr(s3, "status", "--verify", j)
    assert p.returncode == 0 and "complete" in p.stdout


def test_the_server_going_away_mid_run_leaves_a_resumable_state(tmp_path, s3, bigger):
    d, text, ref = bigger
    j = job(tmp_path, "j", text.replace("OUT", s3.url("paused.zarr")))
    quick = {"ATTR_S3_TIMEOUT": "2", "ATTR_S3_RETRY_TIMEOUT": "3"}
    p = subprocess.Popen([attr_bin(), "run", "-q", j], env={**os.environ, **s3.env, **quick},
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(400):  # pause once chunks are being written
        listed = s3.client.list_objects_v2(Bucket=BUCKET, Prefix="paused.zarr/.attr/done/", MaxKeys=1)
        if listed.get("KeyCount", 0) or p.poll() is not None:
            break
        time.sleep(0.05)
    s3.proc.send_signal(signal.SIGSTOP)
    try:
        _, err = p.communicate(timeout=120)
    finally:
        s3.proc.send_signal(signal.SIGCONT)
    if p.returncode == 0:
        pytest.fail("the run finished before the server was paused: make the volume larger")
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "stopped answering" in lines[0] and "--resume" in lines[0], err
    assert not s3.exists("paused.zarr/zarr.json")
    attr(s3, "run", "-q", "--resume", j)
    assert chunks(s3.objects("paused.zarr")) == ref


def silent_server():
    """A port that accepts connections and never answers."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    held = []
    threading.Thread(target=lambda: [held.append(s.accept()) for _ in range(64)], daemon=True).start()
    return s, f"http://127.0.0.1:{s.getsockname()[1]}"


def test_bad_locations_and_credentials_are_one_clear_line(tmp_path, s3, survey):
    d, vol = survey
    empty_home = tmp_path / "home"
    empty_home.mkdir()

    def fails(src, dst, expect, env=None, cmd="run"):
        j = job(tmp_path, "bad", f"input: {src}\noutputs:\n  - {{attribute: envelope, path: {dst}}}\n")
        t = time.monotonic()
        p = attr(s3, cmd, "-q", j, check=False, env=env)
        lines = p.stderr.strip().splitlines()
        assert p.returncode != 0 and len(lines) == 1 and expect in lines[0], p.stderr
        assert time.monotonic() - t < 60
        return lines[0]

    out = s3.url("never.zarr")
    fails(s3.url("survey/vol.zarr"), "s3://no-such-bucket-here/o.zarr", "bucket 'no-such-bucket-here' does not exist")
    fails("s3://no-such-bucket-here/vol.zarr", tmp_path / "o.zarr", "does not exist")
    fails(s3.url("survey/nothing-here"), out, "is not a Zarr array or group")
    no_keys = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "HOME": str(empty_home)}
    fails(s3.url("survey/vol.zarr"), out, "no credentials", env=no_keys)
    fails(s3.url("survey/vol.zarr"), out, "AWS_ALLOW_HTTP=true", env={"AWS_ALLOW_HTTP": ""})
    sock, silent = silent_server()
    try:
        fails(s3.url("survey/vol.zarr"), out, "cannot reach the S3 endpoint",
              env={"AWS_ENDPOINT_URL": silent, "ATTR_S3_TIMEOUT": "2", "ATTR_S3_RETRY_TIMEOUT": "3"})
    finally:
        sock.close()
    closed = f"http://127.0.0.1:{free_port()}"
    fails(s3.url("survey/vol.zarr"), out, "cannot reach the S3 endpoint", env={"AWS_ENDPOINT_URL": closed})
    # a server that checks signatures, which knows none of our keys
    strict, endpoint = start_moto(INITIAL_NO_AUTH_ACTION_COUNT="0")
    try:
        fails(s3.url("survey/vol.zarr"), out, "access denied", env={"AWS_ENDPOINT_URL": endpoint})
    finally:
        strict.kill()
    # a profile in the shared credentials file is used
    (empty_home / ".aws").mkdir()
    (empty_home / ".aws" / "credentials").write_text(
        "[other]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    p = attr(s3, "info", s3.url("survey/vol.zarr"), env={**no_keys, "AWS_PROFILE": "other"})
    assert "[40, 36, 96]" in p.stdout
    assert not s3.exists("never.zarr/zarr.json")


def test_an_s3_prefix_holding_other_objects_is_never_written_into(tmp_path, s3, survey):
    d, vol = survey
    s3.client.put_object(Bucket=BUCKET, Key="precious/notes.txt", Body=b"keep me")
    j = job(tmp_path, "j", f"input: {vol}\noutputs:\n  - {{attribute: envelope, path: {s3.url('precious')}}}\n")
    p = attr(s3, "run", j, "--overwrite", check=False)
    assert p.returncode != 0 and "no Zarr store" in p.stderr, p.stderr
    assert s3.objects("precious") == {"notes.txt": b"keep me"}


SEGY = Path(__file__).resolve().parents[1] / "data" / "segy"


def test_conversions_to_s3_equal_the_local_ones_and_export_reads_back(tmp_path, s3):
    from PIL import Image
    stack = tmp_path / "stack"
    stack.mkdir()
    rng = np.random.default_rng(1)
    for k in range(7):
        Image.fromarray(rng.integers(0, 65535, (40, 33), dtype=np.uint16)).save(stack / f"s{k:02}.png")
    for kind, src, extra in [("segy", SEGY / "acute-small.sgy", []), ("segy", SEGY / "f3-lsb.sgy", []),
                             ("images", stack, ["--chunks", "4,16,16"])]:
        name = f"{kind}-{src.stem}"
        attr(s3, "convert", kind, src, tmp_path / f"{name}.zarr", "-q", *extra)
        attr(s3, "convert", kind, src, s3.url(f"conv/{name}.zarr"), "-q", *extra)
        local, remote = local_files(tmp_path / f"{name}.zarr"), s3.objects(f"conv/{name}.zarr")
        assert chunks(remote) == chunks(local) and len(chunks(local)) > 0, name
        assert remote["zarr.json"] == local["zarr.json"], name
        assert attr(s3, "info", s3.url(f"conv/{name}.zarr")).stdout.splitlines()[1:] == \
            attr(s3, "info", tmp_path / f"{name}.zarr").stdout.splitlines()[1:]
        # a second conversion over it is refused, then replaces it whole
        p = attr(s3, "convert", kind, src, s3.url(f"conv/{name}.zarr"), "-q", *extra, check=False)
        assert p.returncode != 0 and "--overwrite" in p.stderr
        attr(s3, "convert", kind, src, s3.url(f"conv/{name}.zarr"), "-q", "--overwrite", *extra)
        assert chunks(s3.objects(f"conv/{name}.zarr")) == chunks(local)
    # export from s3 writes the file the local export writes
    attr(s3, "export", "segy", s3.url("conv/segy-f3-lsb.zarr"), tmp_path / "from-s3.sgy")
    attr(s3, "export", "segy", tmp_path / "segy-f3-lsb.zarr", tmp_path / "from-local.sgy")
    assert (tmp_path / "from-s3.sgy").read_bytes() == (tmp_path / "from-local.sgy").read_bytes()
    # and view draws the same picture
    attr(s3, "view", s3.url("conv/segy-f3-lsb.zarr"), "--output", tmp_path / "s3.png", "--index-inline", "5",
         "--compare", s3.url("conv/segy-f3-lsb.zarr") + ":amplitude")
    attr(s3, "view", tmp_path / "segy-f3-lsb.zarr", "--output", tmp_path / "local.png", "--index-inline", "5",
         "--compare", f"{tmp_path / 'segy-f3-lsb.zarr'}:amplitude")
    assert (tmp_path / "s3.png").read_bytes() == (tmp_path / "local.png").read_bytes()


def test_a_running_job_is_never_taken_over_on_s3(tmp_path, s3, bigger):
    d, text, ref = bigger
    # one worker: the run lasts long enough to be contested (its bytes are the same)
    a = job(tmp_path, "a", text.replace("OUT", s3.url("contested.zarr")).replace("workers: 2", "workers: 1"))
    b = job(tmp_path, "b", f"input: {s3.url('bigger/vol.zarr')}\noutputs:\n"
                           f"  - {{attribute: rms_amplitude, path: {s3.url('contested.zarr')}}}\n")
    p = subprocess.Popen([attr_bin(), "run", "-q", a], env={**os.environ, **s3.env},
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(100):
        if s3.exists("contested.zarr/.attr/job.json"):
            break
        time.sleep(0.05)
    taken = attr(s3, "run", "-q", "--overwrite", b, check=False)
    _, err = p.communicate(timeout=600)
    assert p.returncode == 0, err
    assert taken.returncode != 0 and "being written by a different job" in taken.stderr, taken.stderr
    assert chunks(s3.objects("contested.zarr")) == ref
    # once it is done, --overwrite replaces it whole
    attr(s3, "run", "-q", "--overwrite", b)
    assert set(zarr.open_group(f"s3://{BUCKET}/contested.zarr", mode="r",
                               storage_options=s3.storage_options).array_keys()) >= {"rms_amplitude"}
    assert not any(k.startswith("gst_planarity/") for k in s3.objects("contested.zarr"))


def test_the_job_names_the_endpoint_and_reads_public_buckets_unsigned(tmp_path, s3, survey):
    d, vol = survey
    anonymous = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_ENDPOINT_URL": "",
                 "AWS_ALLOW_HTTP": "", "HOME": str(tmp_path)}
    s3.client.create_bucket(Bucket="attr-public", ACL="public-read")
    for f in sorted(vol.rglob("*")):
        if f.is_file():
            s3.client.upload_file(str(f), "attr-public", f"vol.zarr/{f.relative_to(vol).as_posix()}",
                                  ExtraArgs={"ACL": "public-read"})
    j = job(tmp_path, "j", "input: s3://attr-public/vol.zarr\n"
                           f"storage: {{endpoint: '{s3.endpoint}', region: us-east-1, anonymous: true}}\n"
                           f"outputs:\n  - {{attribute: envelope, path: {tmp_path / 'o.zarr'}}}\n")
    attr(s3, "run", "-q", j, env=anonymous)
    assert chunks(local_files(tmp_path / "o.zarr" / "envelope")) == \
        chunks(local_files(d / "ref" / "a.zarr" / "envelope"))


def test_classification_reads_and_writes_s3_and_its_model_reads_from_s3(tmp_path, s3, survey):
    d, vol = survey
    feats = "[{attribute: envelope}, {attribute: rms_amplitude}]"

    def classify(src, out, model=None):
        what = f"model: {model}, features: {feats}" if model else \
            f"features: {feats}, clusters: 3, sample: 3000, seed: 4"
        attr(s3, "run", "-q", job(tmp_path, "c", f"input: {src}\nclassify: {{{what}, path: {out}}}\n"))

    classify(vol, tmp_path / "local.zarr")
    classify(s3.url("survey/vol.zarr"), s3.url("facies.zarr"))
    local = local_files(tmp_path / "local.zarr")
    assert chunks(s3.objects("facies.zarr")) == chunks(local) and len(chunks(local)) > 3
    classify(vol, tmp_path / "applied-local.zarr", model=tmp_path / "local.zarr")
    classify(vol, tmp_path / "applied-s3.zarr", model=s3.url("facies.zarr"))
    assert chunks(local_files(tmp_path / "applied-s3.zarr")) == chunks(local_files(tmp_path / "applied-local.zarr"))
    assert attr(s3, "status", "--verify", s3.url("facies.zarr")).returncode == 0


def test_a_damaged_chunk_on_s3_is_named_and_repaired(tmp_path, s3, survey):
    d, vol = survey
    j = job(tmp_path, "j", outputs(vol, s3.url("repair")))
    attr(s3, "run", "-q", j)
    good = s3.objects("repair/a.zarr")
    victim = sorted(k for k in chunks(good) if k.startswith("semblance/"))[3]
    s3.client.put_object(Bucket=BUCKET, Key=f"repair/a.zarr/{victim}", Body=good[victim][:-7])
    p = attr(s3, "status", "--verify", s3.url("repair/a.zarr"), check=False)
    assert p.returncode != 0 and "semblance chunk" in p.stdout, p.stdout
    p = attr(s3, "run", "-q", j, check=False)
    assert p.returncode != 0 and "--repair" in p.stderr
    attr(s3, "run", "-q", "--repair", j)
    assert chunks(s3.objects("repair/a.zarr")) == chunks(good)
    assert attr(s3, "status", "--verify", s3.url("repair/a.zarr")).returncode == 0


class FlakyProxy:
    """In front of the S3 server: answers every `every`-th request with 503
    Slow Down (as S3 throttles) instead of passing it on, but never the same
    request more than twice in a row: throttling is transient, and a request
    that met the counter on each of its retries would exhaust them (with
    many requests in flight, one in a few thousand would)."""

    def __init__(self, upstream: str, every: int):
        self.port_up = int(upstream.rsplit(":", 1)[1])
        self.every, self.count, self.refused = every, 0, 0
        self.streak = {}
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.endpoint = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.lock = threading.Lock()
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.handle, args=(conn,), daemon=True).start()

    @staticmethod
    def read_request(conn):
        data = b""
        while b"\r\n\r\n" not in data:
            part = conn.recv(65536)
            if not part:
                return None
            data += part
        head, body = data.split(b"\r\n\r\n", 1)
        length = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                length = int(v.strip())
        while len(body) < length:
            part = conn.recv(65536)
            if not part:
                break
            body += part
        return head, body

    def handle(self, conn):
        with conn:
            req = self.read_request(conn)
            if req is None:
                return
            head, body = req
            line = head.split(b"\r\n", 1)[0]
            with self.lock:
                self.count += 1
                refuse = self.count % self.every == 0 and self.streak.get(line, 0) < 2
                self.streak[line] = self.streak.get(line, 0) + 1 if refuse else 0
                self.refused += refuse
            if refuse:
                msg = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
                conn.sendall(b"HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nConnection: close\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(msg), msg))
                return
            lines = [ln for ln in head.split(b"\r\n") if not ln.lower().startswith(b"connection:")]
            up = socket.create_connection(("127.0.0.1", self.port_up))
            with up:
                up.sendall(b"\r\n".join(lines) + b"\r\nConnection: close\r\n\r\n" + body)
                while part := up.recv(65536):
                    conn.sendall(part)

    def close(self):
        self.sock.close()


def test_throttling_and_server_errors_are_retried(tmp_path, s3, survey):
    d, vol = survey
    flaky = FlakyProxy(s3.endpoint, every=3)
    try:
        attr(s3, "run", "-q", job(tmp_path, "j", outputs(s3.url("survey/vol.zarr"), s3.url("throttled"))),
             env={"AWS_ENDPOINT_URL": flaky.endpoint})
    finally:
        flaky.close()
    assert flaky.refused > 20, flaky.refused
    for name in ("a.zarr", "b.zarr"):
        assert chunks(s3.objects(f"throttled/{name}")) == chunks(local_files(d / "ref" / name)), name


def test_records_left_by_a_publisher_killed_before_sealing_are_sealed(tmp_path, s3, survey):
    d, vol = survey
    j = job(tmp_path, "j", outputs(vol, s3.url("unsealed")))
    attr(s3, "run", "-q", j)
    sealed = s3.objects("unsealed/a.zarr")[".attr/chunks.json"]
    # as a publisher killed after the root metadata and before sealing leaves it
    s3.client.put_object(Bucket=BUCKET, Key="unsealed/a.zarr/.attr/chunks.json", Body=b"{}")
    import json
    for var, sums in json.loads(sealed).items():
        for name, (size, crc) in sums.items():
            s3.client.put_object(Bucket=BUCKET, Key=f"unsealed/a.zarr/.attr/done/{var}/{name}",
                                 Body=f"{size} {crc:08x}".encode())
    p = attr(s3, "run", j)
    assert "already complete" in p.stderr
    objects = s3.objects("unsealed/a.zarr")
    assert not any(k.startswith(".attr/done/") for k in objects)
    assert json.loads(objects[".attr/chunks.json"]) == json.loads(sealed)


def zip_tool() -> str:
    """Info-ZIP's `zip`, installed from Debian's packages when missing."""
    import shutil
    if not shutil.which("zip") and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-q", "zip"], capture_output=True)
    if not shutil.which("zip"):
        cannot_run("zip files made by Info-ZIP", "`zip` is not installed and cannot be (no root)")
    return shutil.which("zip")


def zip_with(how: str, store: Path, archive: Path):
    if how in ("zip -r", "zip -0r"):
        subprocess.run([zip_tool(), "-q", *how.split()[1:], str(archive), store.name], cwd=store.parent,
                       check=True)
    elif how.startswith("zipfile"):
        method = zipfile.ZIP_DEFLATED if how.endswith("deflated") else zipfile.ZIP_STORED
        with zipfile.ZipFile(archive, "w", method) as z:
            for f in sorted(store.rglob("*")):
                z.write(f, f.relative_to(store))
    else:  # zarr-python's ZipStore, array by array
        src = zarr.open_group(store, mode="r")
        z = zarr.storage.ZipStore(archive, mode="w")
        dst = zarr.open_group(z, mode="w", attributes=dict(src.attrs))
        for name, a in src.arrays():
            dst.create_array(name, data=a[...], chunks=a.chunks, fill_value=a.fill_value,
                             compressors=a.compressors, dimension_names=a.metadata.dimension_names,
                             attributes=dict(a.attrs))
        z.close()


@pytest.mark.parametrize("compression", ["none", "zstd"])
@pytest.mark.parametrize("how", ["zip -r", "zip -0r", "zipfile deflated", "zipfile stored", "ZipStore"])
def test_every_kind_of_zip_file_gives_the_numbers_of_its_store(tmp_path, how, compression):
    vol = tmp_path / "z.zarr"
    run_attr("synth", vol, "--shape", "64,48,192", "--chunks", "32,24,96", "--seed", "3",
             "--compression", compression, "-q")
    archive = tmp_path / "z.zarr.zip"
    zip_with(how, vol, archive)
    for src, out in [(vol, tmp_path / "a"), (archive, tmp_path / "b")]:
        run_attr("run", "-q", job(tmp_path, out.name, f"input: {src}\noutputs:\n"
                                        f"  - {{attribute: rms_amplitude, path: {out}/r.zarr}}\n"
                                        f"  - {{attribute: envelope, path: {out}/r.zarr}}\n"))
    a, b = zarr.open_group(tmp_path / "a" / "r.zarr", mode="r"), zarr.open_group(tmp_path / "b" / "r.zarr", mode="r")
    for v in ("rms_amplitude", "envelope"):
        np.testing.assert_array_equal(a[v][...], b[v][...], err_msg=f"{how} {compression} {v}")


def test_a_zip_entry_compressed_another_way_is_refused_in_one_line(tmp_path):
    vol = synth(tmp_path / "z.zarr", "16,16,64", "8,8,32")
    archive = tmp_path / "z.zarr.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_BZIP2) as z:
        for f in sorted(vol.rglob("*")):
            z.write(f, f.relative_to(vol))
    p = run_attr("run", job(tmp_path, "j", f"input: {archive}\noutputs:\n"
                                  f"  - {{attribute: envelope, path: {tmp_path / 'o.zarr'}}}\n"), check=False)
    err = [l for l in p.stderr.splitlines() if l.startswith("error")]
    assert p.returncode != 0 and len(err) == 1 and "Bzip2" in err[0] and "zip -r" in err[0], p.stderr
    assert not (tmp_path / "o.zarr").exists() and not list(tmp_path.glob("o.zarr.*"))



@pytest.mark.parametrize("key", ["a//b.zarr", "a/../b.zarr", "./b.zarr", "b.zarr?x", "b#1.zarr", "b%41.zarr"])
def test_a_location_that_names_no_one_place_is_refused_in_one_line(tmp_path, s3, key):
    url = s3.url(key)
    for args in (["info", url], ["run", job(tmp_path, "j", f"input: {url}\noutputs:\n"
                                            f"  - {{attribute: envelope, path: {tmp_path / 'o.zarr'}}}\n")],
                 ["run", job(tmp_path, "k", f"input: {F3}\noutputs:\n"
                                            f"  - {{attribute: envelope, path: {url}}}\n")]):
        p = attr(s3, *args, check=False)
        err = [l for l in p.stderr.splitlines() if l.startswith("error")]
        assert p.returncode != 0 and len(err) == 1 and "the path has" in err[0] and key in err[0], p.stderr
        assert "holds objects" not in p.stderr
    assert not (tmp_path / "o.zarr").exists()



def test_sharded_outputs_on_s3_equal_the_filesystem_ones_and_resume(tmp_path, s3, survey):
    """Shards are objects like chunks: the same bytes as on disk, read by
    xarray from the bucket, and a killed run resumes to them."""
    d, vol = survey
    text = lambda src, dst: f"""input: {src}
workers: 2
outputs:
  - {{attribute: gst_planarity, path: {dst}/s.zarr, sharding: [32, 32, 64]}}
  - {{attribute: envelope, path: {dst}/s.zarr, sharding: auto}}
"""  # noqa: E731
    attr(s3, "run", "-q", job(tmp_path, "local", text(vol, tmp_path / "ref")))
    ref = chunks(local_files(tmp_path / "ref" / "s.zarr"))
    j = job(tmp_path, "s3", text(s3.url("survey/vol.zarr"), s3.url("sharded")))
    p = subprocess.Popen([attr_bin(), "run", "-q", "--resume", j], env={**os.environ, **s3.env},
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    p.send_signal(signal.SIGKILL)
    p.wait()
    attr(s3, "run", "-q", "--resume", j)
    got = chunks(s3.objects("sharded/s.zarr"))
    assert sorted(got) == sorted(ref), (sorted(got), sorted(ref))
    assert [k for k in ref if got[k] != ref[k]] == []
    shards = [k for k in ref if k.startswith(("gst_planarity/", "envelope/"))]
    assert len(shards) == 2 * 2 * 2 + 1  # (40, 36, 96) in shards of 32 × 32 × 64, and one whole-volume shard
    ds = xr.open_zarr(f"s3://{BUCKET}/sharded/s.zarr", storage_options=s3.storage_options)
    np.testing.assert_array_equal(ds.gst_planarity.values, xr.open_zarr(tmp_path / "ref" / "s.zarr").gst_planarity.values)
    assert attr(s3, "status", "--verify", s3.url("sharded/s.zarr")).returncode == 0
