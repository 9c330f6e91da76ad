"""`attr convert segy` against the expected cubes of the segyio test data
(bit for bit, with the listed inlines, crosslines, t0 and dt), and Python
reading the result."""
import json

import numpy as np
import pytest
import xarray as xr
import zarr

from conftest import REPO, run_attr

DATA = REPO.parent / "shared" / "data" / "segy"
MANIFEST = json.loads((DATA / "expected" / "MANIFEST.json").read_text())
# every post-stack file whose inline/crossline positions are byte numbers
# (the XML-layout files are not read yet); SU files use bytes 5/21
POST_STACK = sorted(k for k, v in MANIFEST.items()
                    if v["axes"] == ["inline", "crossline", "sample"] and isinstance(v["iline_byte"], int))
PRE_STACK = sorted(k for k, v in MANIFEST.items() if v["axes"] == ["inline", "crossline", "offset", "sample"])


def test_covers_the_post_stack_files():
    assert len(POST_STACK) >= 56 and len(PRE_STACK) >= 11


@pytest.mark.parametrize("name", POST_STACK + PRE_STACK)
def test_converts_bit_for_bit(tmp_path, name):
    v = MANIFEST[name]
    out = tmp_path / "out.zarr"
    extra = ["--offset-byte", "37"] if "offset" in v["axes"] else []
    run_attr("convert", "segy", DATA / name, out, "--dtype", "native", "-q",
             "--iline-byte", v["iline_byte"], "--xline-byte", v["xline_byte"], *extra)
    g = zarr.open_group(str(out), mode="r")
    got, want = g["amplitude"][...], np.load(DATA / v["npy"])
    assert got.shape == want.shape
    assert got.dtype == want.dtype and got.tobytes() == want.tobytes()
    assert list(g["inline"][...]) == v["ilines"] and list(g["crossline"][...]) == v["xlines"]
    np.testing.assert_allclose(g["time"][...], v["t0_ms"] + np.arange(want.shape[-1]) * v["dt_us"] / 1000)
    assert g["trace_mask"][...].all()
    if "offset" in v["axes"]:
        assert list(g["offset"][...]) == v["offsets"]


def test_float32_dataset_opens_in_xarray_and_runs(tmp_path):
    out = tmp_path / "f3.zarr"
    run_attr("convert", "segy", DATA / "f3.sgy", out, "-q")
    ds = xr.open_zarr(out)
    assert ds.amplitude.dims == ("inline", "crossline", "time") and ds.amplitude.dtype == np.float32
    np.testing.assert_array_equal(ds.amplitude.values, np.load(DATA / "expected" / "f3.npy").astype(np.float32))
    assert ds.attrs["sample_interval_ms"] == 4.0 and ds.attrs["t0_ms"] == 4.0
    assert ds.attrs["textual_header"].startswith("C 1 Cropped F3")
    assert ds.trace_headers.shape == (23, 18, 240)
    # coordinate scalar -10 applied
    assert np.isfinite(ds.cdp_x.values).all() and ds.cdp_x.values.max() > 600000
    job = tmp_path / "j.yaml"
    job.write_text(f"input: {out}\noutputs:\n  - {{attribute: instantaneous_frequency, path: {tmp_path / 'a.zarr'}}}\n")
    run_attr("run", job, "-q")
    assert xr.open_zarr(tmp_path / "a.zarr").instantaneous_frequency.attrs["provenance"]["parameters"]["sample_interval"] == 4.0


@pytest.mark.parametrize("name,needle", [("broken.sgy", "truncated"), ("text.sgy", "text.sgy"),
                                         ("long.sgy", "long.sgy"), ("mapping-empty.sgy", "mapping-empty.sgy")])
def test_bad_files_get_one_clear_line(tmp_path, name, needle):
    out = tmp_path / "x.zarr"
    p = run_attr("convert", "segy", DATA / name, out, check=False)
    assert p.returncode != 0
    assert p.stderr.count("\n") == 1 and needle in p.stderr, p.stderr
    assert not out.exists() and not (tmp_path / "x.zarr.partial").exists()


def test_missing_traces_and_non_unit_steps(tmp_path):
    """small.sgy with inline numbers doubled (step 2) and one trace removed:
    the gap is NaN (or --fill) and marked in trace_mask."""
    raw = bytearray((DATA / "small.sgy").read_bytes())
    trace_len = 240 + 50 * 4
    traces = [bytearray(raw[3600 + t * trace_len:3600 + (t + 1) * trace_len]) for t in range(25)]
    for tr in traces:
        il = int.from_bytes(tr[188:192], "big", signed=True)
        tr[188:192] = (il * 2).to_bytes(4, "big", signed=True)
    del traces[7]                                   # inline 2 (now 4), crossline 22
    path = tmp_path / "gappy.sgy"
    path.write_bytes(bytes(raw[:3600]) + b"".join(bytes(t) for t in traces))
    out = tmp_path / "g.zarr"
    run_attr("convert", "segy", path, out, "-q")
    g = zarr.open_group(str(out), mode="r")
    assert list(g["inline"][...]) == [2, 4, 6, 8, 10]
    a, mask = g["amplitude"][...], g["trace_mask"][...]
    want = np.load(DATA / "expected" / "small.npy")
    assert np.isnan(a[1, 2]).all() and mask[1, 2] == 0 and mask.sum() == 24
    a[1, 2] = want[1, 2]
    assert np.array_equal(a, want)
    p = run_attr("convert", "segy", path, tmp_path / "n.zarr", "--dtype", "native", check=False)
    assert p.returncode == 0  # IBM floats: native is float32, NaN allowed
    run_attr("convert", "segy", path, tmp_path / "f.zarr", "--fill", "0", "-q")
    assert (zarr.open_group(str(tmp_path / "f.zarr"), mode="r")["amplitude"][1, 2] == 0).all()


def test_info_and_summary(tmp_path):
    info = run_attr("info", DATA / "f3-lsb.sgy").stdout
    assert "little-endian" in info and "format       3 (int16)" in info, info
    assert "111..133 step 1 (23 lines)" in info and "75 at 4 ms from 4 ms" in info, info
    assert "C 1 Cropped F3" in info
    ps = run_attr("info", DATA / "small-ps.sgy").stdout
    assert "--offset-byte 37" in ps and "[1, 2]" in ps, ps
    p = run_attr("convert", "segy", DATA / "f3.sgy", tmp_path / "f3.zarr")
    want = np.load(DATA / "expected" / "f3.npy")
    assert "414 live traces" in p.stderr and f"amplitudes {want.min()} .. {want.max()}" in p.stderr, p.stderr


@pytest.mark.parametrize("name,fmt", [("small.sgy", 1), ("small-lsb.sgy", 1), ("tiny.sgy", 1),
                                      ("multiformats/Format1msb.sgy", 1), ("multiformats/Format1lsb.sgy", 1),
                                      ("multiformats/Format5msb.sgy", 5), ("multiformats/Format5lsb.sgy", 5)])
def test_round_trip_is_identical(tmp_path, name, fmt):
    run_attr("convert", "segy", DATA / name, tmp_path / "rt.zarr", "-q")
    run_attr("export", "segy", tmp_path / "rt.zarr", tmp_path / "rt.sgy", "--format", fmt)
    assert (tmp_path / "rt.sgy").read_bytes() == (DATA / name).read_bytes()


@pytest.mark.parametrize("fmt", [5, 1])
def test_segyio_reads_an_exported_attribute(tmp_path, fmt):
    import segyio
    run_attr("convert", "segy", DATA / "f3.sgy", tmp_path / "f3.zarr", "-q")
    job = tmp_path / "j.yaml"
    job.write_text(f"input: {tmp_path / 'f3.zarr'}\noutputs:\n  - {{attribute: envelope, path: {tmp_path / 'e.zarr'}}}\n")
    run_attr("run", job, "-q")
    out = tmp_path / "env.sgy"
    run_attr("export", "segy", tmp_path / "e.zarr", out, "--format", fmt)
    ds = xr.open_zarr(tmp_path / "e.zarr")
    with segyio.open(str(out), iline=189, xline=193) as f:
        assert list(f.ilines) == list(ds.inline.values) and list(f.xlines) == list(ds.crossline.values)
        assert f.bin[segyio.BinField.Format] == fmt and segyio.tools.dt(f) == 4000
        cube = segyio.tools.cube(f)
    want = ds.envelope.values
    if fmt == 5:
        assert np.array_equal(cube, want)
    else:   # IBM keeps 24 bits of mantissa in hex steps: within 2^-20 relative
        np.testing.assert_allclose(cube, want, rtol=2 ** -20)


def test_presets_and_extended_headers(tmp_path):
    # .su files default to the su preset (5/21); --preset and explicit bytes agree
    run_attr("convert", "segy", DATA / "small.su", tmp_path / "a.zarr", "-q")
    run_attr("convert", "segy", DATA / "small.su", tmp_path / "b.zarr", "--preset", "su", "-q")
    run_attr("convert", "segy", DATA / "small.su", tmp_path / "c.zarr", "--iline-byte", "5", "--xline-byte", "21", "-q")
    a, b, c = (zarr.open_group(str(tmp_path / n), mode="r")["amplitude"][...] for n in ("a.zarr", "b.zarr", "c.zarr"))
    assert np.array_equal(a, np.load(DATA / "expected" / "small.npy")) and np.array_equal(a, b) and np.array_equal(a, c)
    run_attr("convert", "segy", DATA / "multi-text.sgy", tmp_path / "m.zarr", "-q")
    ds = xr.open_zarr(tmp_path / "m.zarr")
    ext = ds.attrs["extended_textual_headers"]
    assert len(ext) >= 1 and all(isinstance(t, str) for t in ext)
