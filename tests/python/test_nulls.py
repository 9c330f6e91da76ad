"""Irregular surveys: missing traces, muted zones, fill values, CF-scaled
integers and dead traces, for every attribute, on the real F3 cube with
traces removed in several patterns. Each result is checked against the
complete cube (far from the gaps), against an independent null-aware
numpy/scipy reference (everywhere), for nulls at the missing traces and
finite values on every live trace, and for independence of the chunking."""
import json

import numpy as np
import pytest
import scipy.ndimage as ndi
import xarray as xr
import zarr

import null_reference as nref
from conftest import F3, run_attr, run_job
from test_attributes import DT, HALO, ILL_CONDITIONED, LIST, NAMES, crop, pad_for, run_all, write_volume

AS_ZEROS = {a["name"]: a["nulls"] == "as zeros" for a in LIST}
GLCM = [n for n in NAMES if n.startswith("glcm_")]
NO_NUMPY_REFERENCE: set = set()


def gap_patterns(shape):
    ni, nx = shape[:2]
    i, x = np.meshgrid(np.arange(ni), np.arange(nx), indexing="ij")
    rng = np.random.default_rng(7)
    scattered = np.zeros((ni, nx), bool)
    scattered.flat[rng.choice(ni * nx, 14, replace=False)] = True
    hole = np.zeros((ni, nx), bool)
    hole[9:13, 6:10] = True
    inline = np.zeros((ni, nx), bool)
    inline[8] = True   # on a chunk edge of the 8×8×32 chunking
    return {
        # a survey outline: a staircase along one side (175 of 414 traces in
        # the trial; here 2 traces per inline step)
        "outline": x >= nx - 2 - (i // 2),
        "hole": hole,
        "inline": inline,
        "scattered": scattered,
    }


def write_gappy(path, x, missing, chunks, mask=True):
    """A dataset as `attr convert segy` writes one: NaN traces plus trace_mask."""
    y = x.copy()
    y[missing] = np.nan
    g = zarr.open_group(str(path), mode="w", zarr_format=3)
    a = g.create_array("amplitude", shape=y.shape, chunks=chunks, dtype="float32",
                       dimension_names=("inline", "crossline", "time"), fill_value=np.nan)
    a[...] = y
    if mask:
        m = g.create_array("trace_mask", shape=missing.shape, chunks=missing.shape, dtype="uint8",
                           dimension_names=("inline", "crossline"))
        m[...] = (~missing).astype(np.uint8)
    g.attrs["sample_interval_ms"] = DT
    return path


@pytest.fixture(scope="module")
def f3():
    return xr.open_zarr(F3).amplitude.values


@pytest.fixture(scope="module")
def complete(tmp_path_factory, f3):
    tmp = tmp_path_factory.mktemp("complete")
    return run_all(tmp, write_volume(tmp / "f3.zarr", f3, f3.shape), f3.shape)


@pytest.fixture(scope="module")
def gappy(tmp_path_factory, f3):
    """Every attribute on each gap pattern, as one block."""
    out = {}
    for name, missing in gap_patterns(f3.shape).items():
        tmp = tmp_path_factory.mktemp(name)
        src = write_gappy(tmp / "in.zarr", f3, missing, f3.shape)
        out[name] = (missing, run_all(tmp, src, f3.shape))
    return out


def lateral_halo(name):
    return [0 if h == "full" else int(h) for h in HALO[name][:2]]


def compare(name, got, want, what):
    """The reference tests' tolerance, on the samples where `want` is finite;
    NaN exactly where the reference is NaN."""
    assert np.array_equal(np.isnan(got), np.isnan(want)), \
        f"{name} ({what}): {np.sum(np.isnan(got) != np.isnan(want))} samples null in one and not the other"
    ok = np.isfinite(want)
    if not ok.any():
        return
    g, w = got[ok].astype(np.float64), want[ok]
    scale = max(np.abs(w).max(), 1e-12)
    diff = np.abs((g - w + 180) % 360 - 180) if name == "dip_azimuth" else np.abs(g - w)
    share = (diff <= 1e-3 * np.abs(w) + 2e-4 * scale).mean()
    need = 0.99 if name in ILL_CONDITIONED else 1.0
    assert share >= need, f"{name} ({what}): {share:.4f} of samples match; worst {diff.max()} (scale {scale})"


def test_every_attribute_declares_how_it_takes_nulls():
    assert all(a["nulls"] in ("as zeros", "excluded") for a in LIST)
    excluded = {n for n in NAMES if not AS_ZEROS[n]}
    assert excluded - set(GLCM) == set(nref.EXCLUDING)


@pytest.mark.parametrize("pattern", ["outline", "hole", "inline", "scattered"])
@pytest.mark.parametrize("name", NAMES)
def test_missing_traces(gappy, complete, f3, pattern, name):
    missing, ds = gappy[pattern]
    got = ds[name].values
    # at missing traces: null; on every live trace: finite
    assert np.isnan(got[missing]).all(), f"{name}: a missing trace is not null"
    assert np.isfinite(got[~missing]).all(), \
        f"{name}: {np.sum(~np.isfinite(got[~missing]))} live samples are not finite"
    # live traces whose window holds no gap: the complete cube's value
    h = lateral_halo(name)
    near = ndi.maximum_filter(missing, size=(2 * h[0] + 1, 2 * h[1] + 1), mode="reflect")
    far = ~near
    compare(name, got[far], complete[name].values[far], "far from the gaps vs the complete cube")
    # everywhere: the independent null-aware reference
    if name in GLCM:
        return  # sampled in test_glcm_over_live_pairs
    if name in NO_NUMPY_REFERENCE:
        return
    y = f3.astype(np.float64).copy()
    y[missing] = np.nan
    x, widths = pad_for(name, y)
    want = crop(nref.reference(name, x, DT, AS_ZEROS[name]), widths)
    compare(name, got, want, f"{pattern} vs the null-aware reference")


@pytest.mark.parametrize("pattern", ["outline", "hole", "scattered"])
def test_glcm_over_live_pairs(gappy, f3, pattern):
    missing, ds = gappy[pattern]
    y = f3.copy()
    y[missing] = np.nan
    # the samples next to the gaps, where pairs are dropped
    near = ndi.maximum_filter(missing, size=(1, 7), mode="reflect") & ~missing
    cand = np.argwhere(near)
    rng = np.random.default_rng(1)
    for name in GLCM:
        prop = name.removeprefix("glcm_")
        for n in rng.choice(len(cand), 12):
            i, j = cand[n]
            k = rng.integers(0, y.shape[2])
            want = nref.glcm_at(y, i, j, k, prop)
            got = float(ds[name].values[i, j, k])
            assert abs(got - want) <= 1e-4 * max(1, abs(want)), f"{name} at {(i, j, k)}: {got} vs {want}"


def test_chunking_puts_gaps_on_chunk_edges_and_in_halos(tmp_path, gappy, f3):
    """8×8×32 chunks: the missing inline 8 is a chunk edge, the hole and the
    outline cross chunks and halos. The same result as one block."""
    for pattern in ["inline", "outline"]:
        missing, whole = gappy[pattern]
        src = write_gappy(tmp_path / f"{pattern}.zarr", f3, missing, (8, 8, 32))
        (tmp_path / pattern).mkdir()
        ds = run_all(tmp_path / pattern, src, (8, 8, 32))
        for name in NAMES:
            a, b = ds[name].values, whole[name].values
            assert np.array_equal(np.isnan(a), np.isnan(b)), name
            ok = np.isfinite(b)
            np.testing.assert_allclose(a[ok], b[ok], rtol=1e-4, atol=1e-5 * max(np.abs(b[ok]).max(), 1e-9),
                                       err_msg=f"{pattern}: {name}")


def muted(f3):
    """NaN samples inside live traces: a mute whose depth varies, plus a hole."""
    y = f3.astype(np.float32).copy()
    ni, nx, _ = y.shape
    for i in range(ni):
        for j in range(nx):
            y[i, j, :3 + (i + j) // 4] = np.nan
    y[10:13, 5:9] = np.nan
    return y


@pytest.fixture(scope="module")
def muted_run(tmp_path_factory, f3):
    tmp = tmp_path_factory.mktemp("muted")
    y = muted(f3)
    return y, run_all(tmp, write_volume(tmp / "m.zarr", y, y.shape), y.shape)


@pytest.mark.parametrize("name", [n for n in NAMES if n not in GLCM and n not in NO_NUMPY_REFERENCE])
def test_muted_zone_inside_live_traces(muted_run, name):
    y, ds = muted_run
    got = ds[name].values
    x, widths = pad_for(name, y.astype(np.float64))
    want = crop(nref.reference(name, x, DT, AS_ZEROS[name]), widths)
    compare(name, got, want, "muted zone")
    assert np.isnan(got[np.isnan(y)]).all()


SOME = ["rms_amplitude", "semblance", "gst_planarity", "gaussian_smooth", "envelope", "median_filter",
        "eigenstructure_coherence", "curvature_mean"]


def run_some(tmp_path, src, extra=None, names=SOME, tag="o"):
    out = tmp_path / f"{tag}.zarr"
    outputs = [{"attribute": n, "path": str(out)} for n in names]
    run_job(tmp_path, {"input": str(src), **(extra or {}), "outputs": outputs}, "--quiet")
    return xr.open_zarr(out)


def test_null_value_cf_int16_and_dead_traces_mean_the_same_as_nan(tmp_path, f3):
    missing = gap_patterns(f3.shape)["outline"]
    base = run_some(tmp_path, write_gappy(tmp_path / "nan.zarr", f3, missing, (8, 8, 32), mask=False), tag="out_nan")
    # an explicit null value
    y = f3.copy()
    y[missing] = -999.25
    g = zarr.open_group(str(tmp_path / "nv.zarr"), mode="w", zarr_format=3)
    g.create_array("amplitude", data=y, chunks=(8, 8, 32), dimension_names=("inline", "crossline", "time"))
    g.attrs["sample_interval_ms"] = DT
    nv = run_some(tmp_path, tmp_path / "nv.zarr", {"null_value": -999.25}, tag="out_nv")
    # dead traces (zeros), taken as missing
    y = f3.copy()
    y[missing] = 0
    g = zarr.open_group(str(tmp_path / "dead.zarr"), mode="w", zarr_format=3)
    g.create_array("amplitude", data=y, chunks=(8, 8, 32), dimension_names=("inline", "crossline", "time"))
    g.attrs["sample_interval_ms"] = DT
    dead = run_some(tmp_path, tmp_path / "dead.zarr", {"dead_traces": "missing"}, tag="out_dead")
    assert (dead.trace_mask.values == (~missing)).all()
    for ds in (nv, dead):
        for n in SOME:
            np.testing.assert_allclose(ds[n].values, base[n].values, rtol=1e-6, atol=1e-6, err_msg=n)
    # by default, dead traces are data: zeros in, and their neighbours see them
    data = run_some(tmp_path, tmp_path / "dead.zarr", tag="out_data")
    assert np.isfinite(data.semblance.values).all() and "trace_mask" not in data
    assert (data.envelope.values[missing] == 0).all()


def test_cf_scaled_int16_is_decoded_as_xarray_does(tmp_path, f3):
    missing = gap_patterns(f3.shape)["hole"]
    y = f3.copy()
    y[missing] = np.nan
    ds = xr.Dataset({"amplitude": (("inline", "crossline", "time"), y)}, attrs={"sample_interval_ms": DT})
    scale = float(np.nanmax(np.abs(f3))) / 30000
    enc = {"amplitude": {"dtype": "int16", "scale_factor": scale, "add_offset": 1.5, "_FillValue": -32768,
                         "chunks": (8, 8, 32)}}
    ds.to_zarr(tmp_path / "cf.zarr", mode="w", zarr_format=3, encoding=enc, consolidated=False)
    decoded = xr.open_zarr(tmp_path / "cf.zarr").amplitude.values
    assert np.isnan(decoded[missing]).all()
    got = run_some(tmp_path, tmp_path / "cf.zarr", names=["copy", "mean_filter"], tag="out_cf")
    np.testing.assert_allclose(got["copy"].values, decoded, rtol=1e-6, atol=1e-6 * scale)
    x, widths = pad_for("mean_filter", decoded.astype(np.float64))
    want = crop(nref.reference("mean_filter", x, DT, False), widths)
    compare("mean_filter", got.mean_filter.values, want, "CF int16")


def test_outputs_declare_their_nulls_to_xarray(tmp_path, f3):
    missing = gap_patterns(f3.shape)["scattered"]
    src = write_gappy(tmp_path / "in.zarr", f3, missing, (8, 8, 32))
    out = tmp_path / "o.zarr"
    run_job(tmp_path, {"input": str(src), "outputs": [
        {"attribute": "semblance", "path": str(out)},
        {"attribute": "rms_amplitude", "path": str(out), "dtype": "int16", "name": "rms16"},
        {"attribute": "rms_amplitude", "path": str(out), "format": 3}]}, "--quiet")
    ds = xr.open_zarr(out)
    assert (ds.trace_mask.values == (~missing)).all()
    assert ds.trace_mask.dims == ("inline", "crossline")
    assert np.isnan(ds.semblance.values[missing]).all()
    # an integer output: its fill value, masked by xarray
    raw = zarr.open_group(str(out))["rms16"][...]
    assert (raw[missing] == -32768).all()
    assert ds.rms16.dtype.kind == "f" and np.isnan(ds.rms16.values[missing]).all()
    assert np.isfinite(ds.rms16.values[~missing]).all()


def test_export_segy_skips_missing_traces(tmp_path, f3):
    import segyio
    missing = gap_patterns(f3.shape)["hole"]
    src = write_gappy(tmp_path / "in.zarr", f3, missing, (8, 8, 32))
    out = tmp_path / "o.zarr"
    run_job(tmp_path, {"input": str(src), "outputs": [{"attribute": "envelope", "path": str(out)}]}, "--quiet")
    run_attr("export", "segy", out, tmp_path / "o.sgy", "--variable", "envelope")
    with segyio.open(tmp_path / "o.sgy", ignore_geometry=True) as f:
        assert f.tracecount == int((~missing).sum())
        assert all(np.isfinite(t).all() for t in f.trace)


def test_bad_null_input_is_one_line(tmp_path, f3):
    src = write_gappy(tmp_path / "in.zarr", f3, gap_patterns(f3.shape)["hole"], (8, 8, 32))
    job = tmp_path / "bad.yaml"
    job.write_text(f"input: {src}\nnull_value: lots\noutputs:\n  - {{attribute: copy, path: {tmp_path / 'o.zarr'}}}\n")
    p = run_attr("run", job, check=False)
    assert p.returncode != 0 and "null_value" in p.stderr and "line 2" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr
    # a mask of the wrong shape
    zarr.open_group(str(src))["trace_mask"]  # exists
    g = zarr.open_group(str(src), mode="a")
    del g["trace_mask"]
    g.create_array("trace_mask", data=np.ones((5, 5), np.uint8))
    p = run_job(tmp_path, {"input": str(src), "outputs": [{"attribute": "copy", "path": str(tmp_path / "o.zarr")}]},
                check=False)
    assert p.returncode != 0 and "trace_mask" in p.stderr and "[5, 5]" in p.stderr, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert not (tmp_path / "o.zarr").exists()


@pytest.mark.parametrize("how", ["mask", "nan"])
def test_an_entirely_null_volume_is_refused_before_any_work(tmp_path, f3, how):
    everything = np.ones(f3.shape[:2], bool)
    if how == "mask":
        src = write_gappy(tmp_path / "in.zarr", f3, everything, (8, 8, 32))
    else:
        g = zarr.open_group(str(tmp_path / "in.zarr"), mode="w", zarr_format=3)
        g.create_array("amplitude", shape=f3.shape, chunks=(8, 8, 32), dtype="float32", fill_value=np.nan,
                       dimension_names=("inline", "crossline", "time"))
        src = tmp_path / "in.zarr"
    out = tmp_path / "o.zarr"
    p = run_job(tmp_path, {"input": str(src), "outputs": [{"attribute": "semblance", "path": str(out)}]}, check=False)
    assert p.returncode != 0 and "no live sample" in p.stderr, p.stderr
    assert not out.exists() and not list(tmp_path.glob("o.zarr*"))


def test_convert_segy_dead_as_missing(tmp_path, f3):
    """A Petrel-style export pads the outline with traces of zeros:
    --dead-as-missing makes them missing, as absent traces are."""
    import segyio
    missing = gap_patterns(f3.shape)["outline"]
    y = f3.copy()
    y[missing] = 0
    segyio.tools.from_array(str(tmp_path / "dead.sgy"), y, format=segyio.SegySampleFormat.IEEE_FLOAT_4_BYTE, dt=4000)
    run_attr("convert", "segy", tmp_path / "dead.sgy", tmp_path / "as_data.zarr", "--quiet")
    run_attr("convert", "segy", tmp_path / "dead.sgy", tmp_path / "as_missing.zarr", "--dead-as-missing", "--quiet")
    data = xr.open_zarr(tmp_path / "as_data.zarr")
    gone = xr.open_zarr(tmp_path / "as_missing.zarr")
    assert data.trace_mask.values.all()
    assert (gone.trace_mask.values == (~missing)).all()
    assert np.isnan(gone.amplitude.values[missing]).all()
    np.testing.assert_array_equal(gone.amplitude.values[~missing], f3[~missing])
    # and an attribute run on it equals the run on the NaN volume
    out = run_some(tmp_path, tmp_path / "as_missing.zarr", names=["semblance"], tag="out_sgy")
    base = run_some(tmp_path, write_gappy(tmp_path / "nan.zarr", f3, missing, (64, 64, 128)), names=["semblance"],
                    tag="out_nan")
    np.testing.assert_allclose(out.semblance.values, base.semblance.values, rtol=1e-6, atol=1e-6)


def test_synth_makes_a_deterministic_irregular_survey(tmp_path):
    """`attr synth`: the same seed gives the same values whatever the chunks;
    the outline's traces are missing; attributes run on it null-aware, and
    coherence drops at its faults."""
    run_attr("synth", tmp_path / "a.zarr", "--shape", "48,40,128", "--seed", "5", "-q")
    run_attr("synth", tmp_path / "b.zarr", "--shape", "48,40,128", "--seed", "5", "--chunks", "7,9,50", "-q")
    run_attr("synth", tmp_path / "c.zarr", "--shape", "48,40,128", "--seed", "6", "-q")
    a, b, c = (xr.open_zarr(tmp_path / f"{n}.zarr") for n in "abc")
    x = a.amplitude.values
    np.testing.assert_array_equal(x, b.amplitude.values)
    assert not np.array_equal(np.nan_to_num(x), np.nan_to_num(c.amplitude.values))
    missing = a.trace_mask.values == 0
    assert 0.02 < missing.mean() < 0.5 and np.isnan(x[missing]).all() and np.isfinite(x[~missing]).all()
    assert a.attrs["sample_interval_ms"] == 4.0 and a.time.attrs["units"] == "ms"
    ds = run_some(tmp_path, tmp_path / "a.zarr", names=["semblance", "gst_planarity", "envelope"], tag="out_syn")
    for n in ("semblance", "gst_planarity", "envelope"):
        v = ds[n].values
        assert np.isnan(v[missing]).all() and np.isfinite(v[~missing]).all(), n
    # faults: low coherence on a few percent of live samples, high elsewhere
    s = ds.semblance.values[~missing]
    assert np.median(s) > 0.75 and (s < 0.5).mean() > 0.005
    p = run_attr("synth", tmp_path / "a.zarr", "--shape", "48,40", check=False)
    assert p.returncode != 0 and "three sizes" in p.stderr
