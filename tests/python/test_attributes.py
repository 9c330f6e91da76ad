"""The attribute library: every registered attribute against an independent
numpy / scipy / scikit-image implementation (attribute_reference.py) on
the real F3 data, physical checks with known answers on synthetic volumes,
no NaN/Inf on dead or flat data, and results independent of the chunking."""
import json

import numpy as np
import pytest
import xarray as xr
import zarr

import attribute_reference as ref
from conftest import F3, run_attr, run_job

DT = 4.0
LIST = json.loads(run_attr("list", "--json").stdout)
NAMES = [a["name"] for a in LIST]
HALO = {a["name"]: a["halo_default"] for a in LIST}
# GST-derived values are ratios of nearly equal numbers where the tensor is
# nearly isotropic: compare them on most samples, not all
ILL_CONDITIONED = {"inline_dip", "crossline_dip", "dip_angle", "dip_azimuth", "shape_index", "chaos",
                   "gst_linearity", "dip_steered_mean", "apparent_polarity", "response_phase",
                   "response_frequency", "peak_frequency"} | {n for n in NAMES if n.startswith("curv")}
# (peak_frequency: where two spectral peaks are nearly equal, which one is
# larger is decided by rounding)


def write_volume(path, x, chunks):
    g = zarr.open_group(str(path), mode="w", zarr_format=3)
    a = g.create_array("amplitude", shape=x.shape, chunks=chunks, dtype="float32",
                       dimension_names=("inline", "crossline", "time"))
    a[...] = x
    g.attrs["sample_interval_ms"] = DT
    return path


def run_all(tmp_path, src, chunks, names=NAMES, params=None):
    out = tmp_path / f"all_{'_'.join(map(str, chunks))}.zarr"
    outputs = [{"attribute": n, "path": str(out), "chunks": list(chunks), **({"params": params[n]} if params and n in params else {})}
               for n in names]
    run_job(tmp_path, {"input": str(src), "boundary": "reflect", "outputs": outputs}, "--quiet")
    return xr.open_zarr(out)


@pytest.fixture(scope="module")
def f3():
    return xr.open_zarr(F3).amplitude.values


@pytest.fixture(scope="module")
def whole(tmp_path_factory, f3):
    """Every attribute on F3 as one block (its chunk is the whole volume)."""
    tmp = tmp_path_factory.mktemp("whole")
    return run_all(tmp, write_volume(tmp / "f3.zarr", f3, f3.shape), f3.shape)


def pad_for(name, x):
    widths = [(0, 0) if h == "full" else (int(h), int(h)) for h in HALO[name]]
    return np.pad(x, widths, mode="symmetric"), widths


def crop(a, widths):
    return a[tuple(slice(lo, a.shape[k] - hi) for k, (lo, hi) in enumerate(widths))]


def test_every_attribute_has_a_reference_or_is_checked_elsewhere():
    elsewhere = {"copy", "envelope", "instantaneous_phase", "instantaneous_frequency", "rms_amplitude"}
    glcm = {n for n in NAMES if n.startswith("glcm_")}
    assert set(NAMES) == set(ref.REFERENCES) | elsewhere | glcm, set(NAMES) ^ (set(ref.REFERENCES) | elsewhere | glcm)
    assert len(NAMES) >= 65


def synthetic_volume():
    """Dipping, curved reflectors of two frequencies plus noise (seeded)."""
    i, j, k = np.meshgrid(np.arange(20), np.arange(16), np.arange(96), indexing="ij")
    t = k - 0.4 * i + 0.25 * j - 0.03 * (i - 10) ** 2
    rng = np.random.default_rng(3)
    x = 100 * np.sin(0.35 * t) + 60 * np.cos(0.12 * t) + 15 * rng.standard_normal(t.shape)
    return x.astype(np.float32)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("synthetic")
    x = synthetic_volume()
    return x, run_all(tmp, write_volume(tmp / "syn.zarr", x, x.shape), x.shape)


@pytest.mark.parametrize("volume", ["f3", "synthetic"])
@pytest.mark.parametrize("name", sorted(ref.REFERENCES))
def test_matches_the_reference(request, f3, volume, name):
    if volume == "f3":
        data, result = f3, request.getfixturevalue("whole")
    else:
        data, result = request.getfixturevalue("synthetic")
    x, widths = pad_for(name, data.astype(np.float64))
    want = crop(ref.REFERENCES[name](x, DT), widths)
    got = result[name].values.astype(np.float64)
    assert got.shape == want.shape
    scale = max(np.abs(want).max(), 1e-12)
    if name == "dip_azimuth":
        diff = np.abs((got - want + 180) % 360 - 180)
    else:
        diff = np.abs(got - want)
    close = diff <= 1e-3 * np.abs(want) + 2e-4 * scale
    share = close.mean()
    need = 0.99 if name in ILL_CONDITIONED else 1.0
    assert share >= need, f"{name}: {share:.4f} of samples match; worst {diff.max()} (scale {scale})"


@pytest.mark.parametrize("statistic", ["median", "min", "max", "variance", "std", "rms", "sum"])
def test_volume_statistics_each_statistic(tmp_path, f3, statistic):
    src = write_volume(tmp_path / "f3.zarr", f3, f3.shape)
    ds = run_all(tmp_path, src, f3.shape, ["volume_statistics"], {"volume_statistics": {"statistic": statistic}})
    x, widths = pad_for("volume_statistics", f3.astype(np.float64))
    want = crop(ref.volume_statistics(x, DT, statistic), widths)
    np.testing.assert_allclose(ds.volume_statistics.values, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


def test_morlet_spectral_decomposition(tmp_path, f3):
    src = write_volume(tmp_path / "f3.zarr", f3, f3.shape)
    params = {"spectral_decomposition": {"method": "morlet", "frequency": 25, "cycles": 4}}
    ds = run_all(tmp_path, src, f3.shape, ["spectral_decomposition"], params)
    r = int(np.ceil(4 * 4 / (2 * np.pi * 25) * 1000 / DT))
    x = np.pad(f3.astype(np.float64), ((0, 0), (0, 0), (r, r)), mode="symmetric")
    want = ref.spectral_decomposition(x, DT, 25.0, "morlet", cycles=4.0)[..., r:-r]
    np.testing.assert_allclose(ds.spectral_decomposition.values, want, rtol=1e-4, atol=1e-4 * want.max())


@pytest.mark.parametrize("prop", ["contrast", "dissimilarity", "homogeneity", "energy", "entropy", "mean",
                                  "variance", "correlation"])
def test_glcm_matches_scikit_image(whole, f3, prop):
    rng = np.random.default_rng(7)
    got = whole[f"glcm_{prop}"].values
    for _ in range(60):
        i, j, k = (rng.integers(0, n) for n in f3.shape)
        want = ref.glcm_at(f3, i, j, k, prop)
        assert abs(got[i, j, k] - want) <= 1e-4 * max(1.0, abs(want)), (prop, i, j, k, got[i, j, k], want)


def test_dead_and_flat_data_give_no_nan(tmp_path, f3):
    x = f3.copy()
    x[3] = 0                       # a dead inline
    x[10, 5:7] = 0                 # dead traces
    x[15:20, 10:15] = 100.0        # flat data
    src = write_volume(tmp_path / "dead.zarr", x, (8, 8, 32))
    ds = run_all(tmp_path, src, (8, 8, 32))
    bad = [n for n in NAMES if not np.isfinite(ds[n].values).all()]
    assert not bad, bad


def test_chunking_does_not_change_results(tmp_path, whole, f3):
    src = write_volume(tmp_path / "f3.zarr", f3, (8, 8, 32))
    ds = run_all(tmp_path, src, (8, 8, 32))
    for n in NAMES:
        a, b = ds[n].values, whole[n].values
        scale = max(np.abs(b).max(), 1e-12)
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5 * scale, err_msg=n)


# ---- physical checks with known answers ----------------------------------

def tone(freq, n=250, amp=3.0, shape=(3, 3)):
    t = np.arange(n) * DT / 1000
    return np.broadcast_to(amp * np.cos(2 * np.pi * freq * t), shape + (n,)).astype(np.float32).copy()


def test_a_30_hz_cosine(tmp_path):
    x = tone(30.0) + tone(80.0, amp=1.0)
    src = write_volume(tmp_path / "tone.zarr", x, x.shape)
    ds = run_all(tmp_path, src, x.shape, ["bandpass", "spectral_decomposition", "peak_frequency", "lowpass"],
                 {"spectral_decomposition": {"frequency": 30}})
    mid = slice(60, 190)
    # the 5-10-40-60 passband keeps the 30 Hz tone and removes the 80 Hz one
    np.testing.assert_allclose(ds.bandpass.values[..., mid], tone(30.0)[..., mid], atol=1e-3)
    np.testing.assert_allclose(ds.lowpass.values[..., mid], tone(30.0)[..., mid], atol=1e-3)
    assert np.abs(ds.spectral_decomposition.values[..., mid] - 3.0).max() < 0.15
    assert np.abs(ds.peak_frequency.values[..., mid] - 30.0).max() < 1.0


def reflector_volume(surface, n=(24, 24, 64)):
    i, j, k = np.meshgrid(*map(np.arange, n), indexing="ij")
    d = k - surface(i, j)
    return (np.exp(-0.5 * (d / 2.0) ** 2) * np.cos(0.7 * d)).astype(np.float32)


def test_planar_dipping_reflector(tmp_path):
    x = reflector_volume(lambda i, j: 20 + 0.5 * i - 0.3 * j)
    src = write_volume(tmp_path / "plane.zarr", x, (12, 12, 64))
    ds = run_all(tmp_path, src, (12, 12, 64), ["inline_dip", "crossline_dip", "gst_planarity", "dip_azimuth",
                                               "dip_steered_mean", "mean_filter"])
    c = (slice(8, 16), slice(8, 16))
    on = np.array([[ds.inline_dip.values[i, j, 20 + int(0.5 * i - 0.3 * j)] for j in range(8, 16)] for i in range(8, 16)])
    assert np.abs(on - 0.5).max() < 0.03
    on = np.array([[ds.crossline_dip.values[i, j, 20 + int(0.5 * i - 0.3 * j)] for j in range(8, 16)] for i in range(8, 16)])
    assert np.abs(on + 0.3).max() < 0.03
    plan = np.array([[ds.gst_planarity.values[i, j, 20 + int(0.5 * i - 0.3 * j)] for j in range(8, 16)] for i in range(8, 16)])
    assert plan.min() > 0.95
    az = np.degrees(np.arctan2(-0.3, 0.5)) % 360
    got = np.array([[ds.dip_azimuth.values[i, j, 20 + int(0.5 * i - 0.3 * j)] for j in range(8, 16)] for i in range(8, 16)])
    assert np.abs(got - az).max() < 2.0
    # smoothing along the dip keeps the reflector; a plain mean smears it
    steered = np.abs(ds.dip_steered_mean.values[c] - x[c]).max()
    plain = np.abs(ds.mean_filter.values[c] - x[c]).max()
    assert steered < 0.1 and plain > 2 * steered, (steered, plain)


def test_paraboloid_curvature(tmp_path):
    alpha = 0.02
    x = reflector_volume(lambda i, j: 24 + alpha * ((i - 12) ** 2 + (j - 12) ** 2), n=(25, 25, 56))
    src = write_volume(tmp_path / "bowl.zarr", x, (25, 25, 56))
    ds = run_all(tmp_path, src, (25, 25, 56), ["curvature_mean", "curvature_gaussian", "curvedness", "shape_index"],
                 {n: {"sigma_tensor": 1.5} for n in ["curvature_mean", "curvature_gaussian", "curvedness", "shape_index"]})
    assert abs(ds.curvature_mean.values[12, 12, 24] - 2 * alpha) < 0.1 * 2 * alpha
    assert abs(ds.curvedness.values[12, 12, 24] - 2 * alpha) < 0.1 * 2 * alpha
    assert ds.curvature_gaussian.values[12, 12, 24] > 0 and ds.shape_index.values[12, 12, 24] > 0.9


def test_coherence_drops_at_a_fault(tmp_path):
    # flat reflectors thrown down by 6 samples across crossline 12
    x = reflector_volume(lambda i, j: 30 + 6.0 * (j >= 12), n=(16, 24, 64))
    x += reflector_volume(lambda i, j: 12 + 6.0 * (j >= 12), n=(16, 24, 64))
    src = write_volume(tmp_path / "fault.zarr", x, (8, 8, 64))
    ds = run_all(tmp_path, src, (8, 8, 64), ["eigenstructure_coherence", "semblance", "variance_edge", "gst_planarity"])
    for n in ["eigenstructure_coherence", "semblance"]:
        c = ds[n].values[:, :, 26:40]
        away, at = c[:, 2:8].mean(), c[:, 11:13].mean()
        assert away > 0.95 and at < away - 0.1, (n, away, at)
    v = ds.variance_edge.values[:, :, 26:40]
    assert v[:, 11:13].mean() > 5 * v[:, 2:8].mean() + 0.05


# ---- registry, docs, configs ---------------------------------------------

def test_every_attribute_runs_with_defaults_and_documents_itself():
    for a in LIST:
        assert a["halo_default"] is not None, a["name"]        # the defaults build a kernel
        assert a["description"] and a["unit"] and a["family"]
        assert a["name"] == "copy" or a["reference"] not in ("", "-"), a["name"]
        for p in a["parameters"]:
            assert p["valid"] and p["help"], (a["name"], p)


def test_attribute_table_is_the_registry():
    from conftest import REPO
    readme = (REPO / "docs" / "attributes.md").read_text()
    block = readme.split("<!-- attributes:begin -->\n")[1].split("<!-- attributes:end -->")[0]
    assert block == run_attr("list", "--markdown").stdout, "regenerate with `attr list --markdown`"


def test_configs_cover_every_family_and_run(tmp_path):
    from conftest import REPO
    (tmp_path / "sample-data").symlink_to(REPO / "sample-data")
    run_attr("synth", tmp_path / "out" / "synth.zarr", "--quiet")   # configs/synth.yaml's input
    seen = set()
    for cfg in sorted((REPO / "configs").glob("*.yaml")):
        run_attr("run", cfg, "--overwrite", "--quiet", cwd=tmp_path)
        seen |= {line.split("attribute:")[1].strip().split()[0] for line in cfg.read_text().splitlines()
                 if "attribute:" in line}
    families = {a["family"] for a in LIST}
    assert families == {a["family"] for a in LIST if a["name"] in seen}
    assert seen == set(NAMES), set(NAMES) - seen


@pytest.mark.parametrize("name,params,needle", [
    ("bandpass", {"corners": [10, 5, 40, 60]}, "must not decrease"),
    ("bandpass", {"corners": [5, 10, 40]}, "list of 4 numbers"),
    ("volume_statistics", {"statistic": "meen"}, "did you mean 'mean'"),
    ("glcm_energy", {"levels": 1}, "integer in [2, 256]"),
    ("glcm_energy", {"amplitude_range": [5, 1]}, "high end must exceed"),
    ("spectral_decomposition", {"frequency": 400}, "above the Nyquist"),
    ("dip_steered_mean", {"window": [4, 5]}, "odd integer"),
    ("sweetness", {"min_freq": 3}, "did you mean 'min_frequency'"),
])
def test_bad_parameters_get_one_clear_line(tmp_path, name, params, needle):
    out = tmp_path / "o.zarr"
    p = run_job(tmp_path, {"input": str(F3), "outputs": [{"attribute": name, "params": params, "path": str(out)}]},
                check=False)
    assert p.returncode != 0 and needle in p.stderr and p.stderr.count("\n") == 1, p.stderr
    assert not out.exists()
