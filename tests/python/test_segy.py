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
# post-stack files with inline/crossline at 189/193 that the converter does
# not read yet: format 4, rev 2 extended sample counts and additional trace
# headers, and a variable number of extended textual headers
NOT_YET = {"multiformats/Format4lsb.sgy", "multiformats/Format4msb.sgy", "rotated-small-rev2.sgy",
           "stanzas-unknown-count.sgy", "trace-header-extension1.sgy", "trace-header-extensions.sgy"}
POST_STACK = sorted(k for k, v in MANIFEST.items()
                    if k.endswith(".sgy") and v["axes"] == ["inline", "crossline", "sample"]
                    and v["iline_byte"] == 189 and k not in NOT_YET)


def test_covers_most_post_stack_files():
    assert len(POST_STACK) >= 48


@pytest.mark.parametrize("name", POST_STACK)
def test_converts_bit_for_bit(tmp_path, name):
    v = MANIFEST[name]
    out = tmp_path / "out.zarr"
    run_attr("convert", "segy", DATA / name, out, "--dtype", "native", "-q")
    g = zarr.open_group(str(out), mode="r")
    got, want = g["amplitude"][...], np.load(DATA / v["npy"])
    assert got.shape == want.shape
    assert got.dtype == want.dtype and got.tobytes() == want.tobytes()
    assert list(g["inline"][...]) == v["ilines"] and list(g["crossline"][...]) == v["xlines"]
    np.testing.assert_allclose(g["time"][...], v["t0_ms"] + np.arange(want.shape[-1]) * v["dt_us"] / 1000)
    assert g["trace_mask"][...].all()


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
                                         ("multiformats/Format4msb.sgy", "obsolete")])
def test_bad_files_get_one_clear_line(tmp_path, name, needle):
    out = tmp_path / "x.zarr"
    p = run_attr("convert", "segy", DATA / name, out, check=False)
    assert p.returncode != 0
    assert p.stderr.count("\n") == 1 and needle in p.stderr, p.stderr
    assert not out.exists() and not (tmp_path / "x.zarr.partial").exists()
