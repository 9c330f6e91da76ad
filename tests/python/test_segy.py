"""`attr convert segy` against the segyio test data (bit for bit, with the
inlines, crosslines, t0 and dt segyio reads from the same files), and Python
reading the result."""
import json

import numpy as np
import pytest
import xarray as xr
import zarr

from conftest import run_attr
from segy_oracle import DATA, LAYOUT, cube_files, expected, keys

CUBES = cube_files()


def cube(name):
    return expected(name).data


def test_covers_the_test_files():
    pre = [n for n in CUBES if expected(n).offsets is not None]
    assert len(CUBES) - len(pre) >= 63 and len(pre) >= 11
    assert len(LAYOUT & set(CUBES)) == 7


@pytest.mark.parametrize("name", CUBES)
def test_converts_bit_for_bit(tmp_path, name):
    v = expected(name)
    out = tmp_path / "out.zarr"
    extra = ["--offset-byte", "37"] if v.offsets is not None else []
    if name not in LAYOUT:
        il, xl = keys(name)
        extra += ["--iline-byte", il, "--xline-byte", xl]
    run_attr("convert", "segy", DATA / name, out, "--dtype", "native", "-q", *extra)
    g = zarr.open_group(str(out), mode="r")
    got, want = g["amplitude"][...], v.data
    assert got.shape == want.shape
    assert got.dtype == want.dtype and got.tobytes() == want.tobytes()
    assert list(g["inline"][...]) == v.ilines and list(g["crossline"][...]) == v.xlines
    t = g["time"][...]
    np.testing.assert_allclose(np.diff(t), v.dt_us / 1000)
    if v.t0_ms is not None:
        assert t[0] == pytest.approx(v.t0_ms)
    assert g["trace_mask"][...].all()
    if v.offsets is not None:
        assert list(g["offset"][...]) == v.offsets


def test_float32_dataset_opens_in_xarray_and_runs(tmp_path):
    out = tmp_path / "f3.zarr"
    run_attr("convert", "segy", DATA / "f3.sgy", out, "-q")
    ds = xr.open_zarr(out)
    assert ds.amplitude.dims == ("inline", "crossline", "time") and ds.amplitude.dtype == np.float32
    np.testing.assert_array_equal(ds.amplitude.values, cube("f3.sgy").astype(np.float32))
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
                                         ("long.sgy", "long.sgy"), ("mapping-empty.sgy", "mapping-empty.sgy"),
                                         ("mapping-invalid-attribute.sgy", "unknown attribute 'FAIL'"),
                                         ("mapping-invalid-root.sgy", "layout does not parse"),
                                         ("mapping-invalid-value.sgy", "byte 666"),
                                         ("mapping-unparsable.sgy", "layout does not parse"),
                                         ("mapping-encoding-private.sgy", "'PRIVATE1' in ASCII"),
                                         ("mapping-unsupported-type.sgy", "'xline' type F32")])
def test_bad_files_get_one_clear_line(tmp_path, name, needle):
    out = tmp_path / "x.zarr"
    p = run_attr("convert", "segy", DATA / name, out, check=False)
    assert p.returncode != 0
    assert p.stderr.count("\n") == 1 and needle in p.stderr, p.stderr
    assert not out.exists() and not list(tmp_path.glob("x.zarr.*")), list(tmp_path.iterdir())


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
    want = cube("small.sgy")
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
    want = cube("f3.sgy")
    assert "convert: 414/414 traces (100%)" in p.stderr, p.stderr
    assert "414 live traces" in p.stderr and f"amplitudes {want.min()} .. {want.max()}" in p.stderr, p.stderr


@pytest.mark.parametrize("name,fmt", [("small.sgy", 1), ("small-lsb.sgy", 1), ("tiny.sgy", 1),
                                      ("multiformats/Format1msb.sgy", 1), ("multiformats/Format1lsb.sgy", 1),
                                      ("multiformats/Format5msb.sgy", 5), ("multiformats/Format5lsb.sgy", 5)])
def test_round_trip_is_identical(tmp_path, name, fmt):
    run_attr("convert", "segy", DATA / name, tmp_path / "rt.zarr", "-q")
    run_attr("export", "segy", tmp_path / "rt.zarr", tmp_path / "rt.sgy", "--format", fmt)
    assert (tmp_path / "rt.sgy").read_bytes() == (DATA / name).read_bytes()
    assert not list(tmp_path.glob("rt.sgy.*")), "the export's private file was left behind"


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
    assert np.array_equal(a, cube("small.sgy")) and np.array_equal(a, b) and np.array_equal(a, c)
    run_attr("convert", "segy", DATA / "multi-text.sgy", tmp_path / "m.zarr", "-q")
    ds = xr.open_zarr(tmp_path / "m.zarr")
    ext = ds.attrs["extended_textual_headers"]
    assert len(ext) >= 1 and all(isinstance(t, str) for t in ext)


def test_layout_moves_the_geometry_and_delay(tmp_path):
    """mapping-all-types keeps inline/crossline at bytes 1/5 and the delay at
    byte 15 with a time scalar of 4 at byte 25 (t0 36 ms), by its XML layout."""
    run_attr("convert", "segy", DATA / "mapping-all-types.sgy", tmp_path / "a.zarr", "-q")
    ds = xr.open_zarr(tmp_path / "a.zarr")
    assert ds.attrs["t0_ms"] == 36.0 and ds.attrs["iline_byte"] == 1 and ds.attrs["xline_byte"] == 5
    assert "XML layout" in ds.attrs["trace_header_layout"]
    info = run_attr("info", DATA / "mapping-shifted.sgy").stdout
    assert "byte 190" in info and "byte 194" in info and "XML" in info, info


def make_line(tmp_path):
    """small.sgy as a 2-D line: cdp (byte 21) 1000, 1002, ..., inline and
    crossline bytes zeroed."""
    raw = bytearray((DATA / "small.sgy").read_bytes())
    n = 240 + 50 * 4
    for t in range(25):
        o = 3600 + t * n
        raw[o + 20:o + 24] = (1000 + 2 * t).to_bytes(4, "big", signed=True)
        raw[o + 188:o + 196] = bytes(8)
    path = tmp_path / "line.sgy"
    path.write_bytes(bytes(raw))
    return path


def test_2d_line(tmp_path):
    import segyio
    path = make_line(tmp_path)
    p = run_attr("convert", "segy", path, tmp_path / "x.zarr", check=False)
    assert p.returncode != 0 and "--preset cdp" in p.stderr, p.stderr
    assert "--preset cdp" in run_attr("info", path).stdout
    run_attr("convert", "segy", path, tmp_path / "l.zarr", "--preset", "cdp", "-q")
    ds = xr.open_zarr(tmp_path / "l.zarr")
    assert ds.amplitude.dims == ("cdp", "time")
    with segyio.open(str(path), ignore_geometry=True) as f:
        want = segyio.tools.collect(f.trace[:])
        cdps = list(f.attributes(segyio.TraceField.CDP)[:])
    assert list(ds.cdp.values) == cdps and np.array_equal(ds.amplitude.values, want)
    assert ds.trace_mask.values.all() and ds.cdp_x.dims == ("cdp",)
    # a subset of the line, and an attribute on it
    run_attr("convert", "segy", path, tmp_path / "s.zarr", "--preset", "cdp", "--inlines", "1010:1030:4",
             "--time", "8:20", "-q")
    sub = xr.open_zarr(tmp_path / "s.zarr")
    assert list(sub.cdp.values) == [1010, 1014, 1018, 1022, 1026, 1030] and list(sub.time.values) == [8, 12, 16, 20]
    np.testing.assert_array_equal(sub.amplitude.values, want[5:16:2, 2:6])
    job = tmp_path / "j.yaml"
    job.write_text(f"input: {tmp_path / 'l.zarr'}\noutputs:\n  - {{attribute: envelope, path: {tmp_path / 'e.zarr'}}}\n")
    run_attr("run", job, "-q")
    import scipy.signal
    np.testing.assert_allclose(xr.open_zarr(tmp_path / "e.zarr").envelope.values,
                               np.abs(scipy.signal.hilbert(want.astype(np.float64), axis=-1)), rtol=1e-4, atol=1e-4)


def test_sub_volume(tmp_path):
    want = cube("f3.sgy")
    out = tmp_path / "s.zarr"
    run_attr("convert", "segy", DATA / "f3.sgy", out, "--inlines", "115:125:2", "--crosslines", "880:890",
             "--time", "100:200", "--dtype", "native", "-q")
    ds = xr.open_zarr(out)
    assert list(ds.inline.values) == list(range(115, 126, 2)) and list(ds.crossline.values) == list(range(880, 891))
    t = 4 + 4 * np.arange(want.shape[-1])
    k = (t >= 100) & (t <= 200)
    np.testing.assert_array_equal(ds.time.values, t[k])
    np.testing.assert_array_equal(ds.amplitude.values, want[4:15:2, 5:16][..., k])
    assert ds.trace_headers.shape == (6, 11, 240) and ds.attrs["t0_ms"] == 100.0
    run_attr("convert", "segy", DATA / "f3.sgy", tmp_path / "k.zarr", "--samples", "0:74:2", "-q")
    k2 = xr.open_zarr(tmp_path / "k.zarr")
    assert k2.attrs["sample_interval_ms"] == 8.0
    np.testing.assert_array_equal(k2.amplitude.values, want[..., ::2].astype(np.float32))
    for args, needle in [(["--inlines", "500:600"], "selects none"), (["--samples", "0:75"], "samples 0..74"),
                         (["--inlines", "5:1"], "A <= B"), (["--time", "900:990"], "records 4 .. 300 ms")]:
        p = run_attr("convert", "segy", DATA / "f3.sgy", tmp_path / "bad.zarr", *args, check=False)
        assert p.returncode != 0 and needle in p.stderr.splitlines()[0], p.stderr
        assert not (tmp_path / "bad.zarr").exists()


def test_rev2_extended_sample_count_and_interval(tmp_path):
    """Rev 2: a non-zero extended sample count (3269) and interval (3273,
    IEEE double) override the 16-bit fields."""
    raw = bytearray((DATA / "tiny.sgy").read_bytes())
    raw[3500] = 2                                              # rev 2.0
    raw[3220:3222] = bytes(2)                                  # 16-bit count 0
    raw[3268:3272] = (4).to_bytes(4, "big")
    raw[3272:3280] = np.array([250.5], ">f8").tobytes()        # µs
    path = tmp_path / "rev2.sgy"
    path.write_bytes(bytes(raw))
    run_attr("convert", "segy", path, tmp_path / "r.zarr", "-q")
    ds = xr.open_zarr(tmp_path / "r.zarr")
    np.testing.assert_array_equal(ds.amplitude.values, cube("tiny.sgy"))
    np.testing.assert_allclose(ds.time.values, np.arange(4) * 0.2505)
    assert ds.attrs["sample_interval_ms"] == 0.2505


def test_threads_and_zstd_level(tmp_path):
    run_attr("convert", "segy", DATA / "f3.sgy", tmp_path / "a.zarr", "-q", "--threads", "1",
             "--compression", "zstd:9")
    meta = json.loads((tmp_path / "a.zarr" / "amplitude" / "zarr.json").read_text())
    assert {"name": "zstd", "configuration": {"level": 9, "checksum": False}} in meta["codecs"]
    np.testing.assert_array_equal(xr.open_zarr(tmp_path / "a.zarr").amplitude.values,
                                  cube("f3.sgy").astype(np.float32))
    p = run_attr("convert", "segy", DATA / "f3.sgy", tmp_path / "b.zarr", "--compression", "zstd:99", check=False)
    assert p.returncode != 0 and "-7 to 22" in p.stderr


def test_export_with_template(tmp_path):
    """A dataset without SEG-Y headers (an attribute result of a copy) takes
    them from --template: the export is byte-identical to the original."""
    run_attr("convert", "segy", DATA / "small.sgy", tmp_path / "s.zarr", "-q")
    job = tmp_path / "j.yaml"
    job.write_text(f"input: {tmp_path / 's.zarr'}\noutputs:\n  - {{attribute: copy, path: {tmp_path / 'c.zarr'}}}\n")
    run_attr("run", job, "-q")
    run_attr("export", "segy", tmp_path / "c.zarr", tmp_path / "c.sgy", "--format", "1",
             "--template", DATA / "small.sgy")
    assert (tmp_path / "c.sgy").read_bytes() == (DATA / "small.sgy").read_bytes()
    # without the template the headers are minimal: not identical
    run_attr("export", "segy", tmp_path / "c.zarr", tmp_path / "d.sgy", "--format", "1")
    assert (tmp_path / "d.sgy").read_bytes() != (DATA / "small.sgy").read_bytes()


def test_sparse_grid_warns_with_its_ratio_and_bad_bytes_are_refused(tmp_path):
    """A grid with a few cells per trace warns with the ratio; one with over
    20 is refused; header bytes outside the 240-byte header are refused."""
    raw = bytearray((DATA / "small.sgy").read_bytes())
    n = 240 + 50 * 4
    for t in range(25):
        o = 3600 + t * n
        il = int.from_bytes(raw[o + 188:o + 192], "big", signed=True)
        raw[o + 188:o + 192] = (il * 8).to_bytes(4, "big", signed=True)
    path = tmp_path / "grid.sgy"
    path.write_bytes(bytes(raw))
    # inlines 8, 16, ..., 40: the common step is 8, so the grid is dense
    p = run_attr("convert", "segy", path, tmp_path / "d.zarr")
    assert "warning" not in p.stderr
    # a lone far inline makes the step 8 grid hold 5 lines of 5 plus gaps
    t0 = 3600
    raw[t0 + 188:t0 + 192] = (8 + 8 * 60).to_bytes(4, "big", signed=True)
    path.write_bytes(bytes(raw))
    p = run_attr("convert", "segy", path, tmp_path / "s.zarr")
    assert "warning" in p.stderr and "sparse" in p.stderr and "cells per trace" in p.stderr, p.stderr
    g = zarr.open_group(str(tmp_path / "s.zarr"), mode="r")
    assert g["trace_mask"][...].sum() == 25
    raw[t0 + 188:t0 + 192] = (8 + 8 * 600).to_bytes(4, "big", signed=True)
    path.write_bytes(bytes(raw))
    p = run_attr("convert", "segy", path, tmp_path / "x.zarr", check=False)
    assert p.returncode != 0 and "too sparse" in p.stderr and not (tmp_path / "x.zarr").exists()
    for byte in ["0", "238"]:
        p = run_attr("convert", "segy", DATA / "small.sgy", tmp_path / "b.zarr", "--iline-byte", byte, check=False)
        assert p.returncode != 0 and "must start between byte 1 and 237" in p.stderr, p.stderr


def test_byte_order_can_be_forced(tmp_path):
    want = cube("small.sgy")
    run_attr("convert", "segy", DATA / "small-lsb.sgy", tmp_path / "l.zarr", "--byte-order", "little", "-q")
    assert np.array_equal(zarr.open_group(str(tmp_path / "l.zarr"), mode="r")["amplitude"][...], want)
    p = run_attr("convert", "segy", DATA / "small-lsb.sgy", tmp_path / "b.zarr", "--byte-order", "big", check=False)
    assert p.returncode != 0 and "--byte-order" in p.stderr and p.stderr.count("\n") == 1, p.stderr
    assert not (tmp_path / "b.zarr").exists()


@pytest.mark.parametrize("name", ["f3.sgy", "f3-lsb.sgy"])
@pytest.mark.parametrize("bytes_", [("9", "21"), ("9", "17")])
def test_f3_geometry_from_other_header_bytes(tmp_path, name, bytes_):
    """f3 repeats the inline at byte 9 and the crossline at 17 and 21."""
    run_attr("convert", "segy", DATA / name, tmp_path / "a.zarr", "--dtype", "native", "-q",
             "--iline-byte", bytes_[0], "--xline-byte", bytes_[1])
    g = zarr.open_group(str(tmp_path / "a.zarr"), mode="r")
    want = cube("f3.sgy")
    assert g["amplitude"][...].tobytes() == want.tobytes()
    assert list(g["inline"][...]) == expected("f3.sgy").ilines
    assert list(g["crossline"][...]) == expected("f3.sgy").xlines
    assert zarr.open_group(str(tmp_path / "a.zarr"), mode="r").attrs["iline_byte"] == int(bytes_[0])


def test_header_field_types_are_configurable(tmp_path):
    """Inline as a 2-byte integer at byte 233, crossline as unsigned 2-byte at 235."""
    raw = bytearray((DATA / "small.sgy").read_bytes())
    n = 240 + 50 * 4
    for t in range(25):
        o = 3600 + t * n
        il = int.from_bytes(raw[o + 188:o + 192], "big", signed=True)
        xl = int.from_bytes(raw[o + 192:o + 196], "big", signed=True)
        raw[o + 188:o + 196] = bytes(8)
        raw[o + 232:o + 234] = il.to_bytes(2, "big", signed=True)
        raw[o + 234:o + 236] = (xl + 40000).to_bytes(2, "big")     # > 32767: unsigned
    path = tmp_path / "typed.sgy"
    path.write_bytes(bytes(raw))
    run_attr("convert", "segy", path, tmp_path / "t.zarr", "--iline-byte", "233:int2", "--xline-byte", "235:uint2", "-q")
    g = zarr.open_group(str(tmp_path / "t.zarr"), mode="r")
    assert np.array_equal(g["amplitude"][...], cube("small.sgy"))
    assert list(g["inline"][...]) == [1, 2, 3, 4, 5] and list(g["crossline"][...]) == list(range(40020, 40025))
    p = run_attr("convert", "segy", path, tmp_path / "x.zarr", "--iline-byte", "233:ieee32", check=False)
    assert p.returncode != 0 and "int2, int4, int8, uint2, uint4 or uint8" in p.stderr


def test_export_onto_a_directory_is_refused_and_leaves_nothing(tmp_path):
    from conftest import F3
    d = tmp_path / "dir"
    d.mkdir()
    p = run_attr("export", "segy", F3, d, "--overwrite", check=False)
    err = [l for l in p.stderr.splitlines() if l.startswith("error")]
    assert p.returncode != 0 and len(err) == 1 and "is a directory" in err[0] and str(d) in err[0], p.stderr
    assert list(tmp_path.iterdir()) == [d] and not list(d.iterdir())


def test_export_streams_into_a_device_or_pipe_and_never_replaces_it(tmp_path):
    import os
    import stat
    import threading
    from conftest import F3
    ref = tmp_path / "ref.sgy"
    run_attr("export", "segy", F3, ref)
    # a pipe: what its reader gets is the file
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = {}
    reader = threading.Thread(target=lambda: got.setdefault("bytes", open(fifo, "rb").read()))
    reader.start()
    run_attr("export", "segy", F3, fifo)
    reader.join(timeout=60)
    assert got["bytes"] == ref.read_bytes()
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    # a device: written into, with or without --overwrite, and still a device
    for extra in ([], ["--overwrite"]):
        run_attr("export", "segy", F3, "/dev/null", *extra)
        assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    p = run_attr("export", "segy", F3, "/dev/full", "--overwrite", check=False)
    err = [l for l in p.stderr.splitlines() if l.startswith("error")]
    assert p.returncode != 0 and len(err) == 1 and "'/dev/full'" in err[0] and "No space left" in err[0], p.stderr
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)
    assert not [f for f in os.listdir("/dev") if ".exporting." in f]


def test_export_onto_a_full_disk_names_the_file_and_leaves_nothing(tmp_path):
    import subprocess
    from conftest import F3, needs_root
    needs_root("full disk (mounts a small tmpfs)")
    mnt = tmp_path / "small"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], check=True)
    try:
        out = mnt / "f3.sgy"
        p = run_attr("export", "segy", F3, out, check=False)
        err = [l for l in p.stderr.splitlines() if l.startswith("error")]
        assert p.returncode != 0 and len(err) == 1 and str(out) in err[0] and "No space left" in err[0], p.stderr
        assert list(mnt.iterdir()) == []
    finally:
        subprocess.run(["umount", str(mnt)], check=False)
