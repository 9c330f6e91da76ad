"""`classify:` jobs against scikit-learn: StandardScaler + KMeans (lloyd) on
the same samples, predict with a fitted model, nulls never counted, the
same bytes whatever the workers or chunking, and one clear line for each
bad input."""
import json

import numpy as np
import pytest
import xarray as xr
import zarr
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import RobustScaler, StandardScaler

from conftest import F3, run_job

FEATURES = ["envelope", "semblance", "instantaneous_frequency"]


@pytest.fixture(scope="module")
def f3_features(tmp_path_factory):
    """Three attributes of the real F3 sample, one dataset."""
    d = tmp_path_factory.mktemp("features")
    out = d / "attrs.zarr"
    run_job(d, {"input": str(F3), "outputs": [{"attribute": a, "path": str(out)} for a in FEATURES]}, "-q")
    return out


def matrix(ds_path, names=FEATURES):
    ds = xr.open_zarr(ds_path)
    cols = [ds[n].values.astype(np.float64).ravel() for n in names]
    return np.stack(cols, axis=1)


def facies(out):
    """The stored labels, -1 where null (xarray masks them as NaN)."""
    return zarr.open_group(str(out), mode="r")["facies"][...]


def classify(tmp_path, features_path, out, **kw):
    spec = {"input": str(features_path), "classify": {"features": FEATURES, "path": str(out), **kw}}
    return run_job(tmp_path, spec, "-q")


def test_matches_scikit_learn_from_the_same_centres(tmp_path, f3_features):
    x = matrix(f3_features)
    scaler = StandardScaler().fit(x)
    xs = scaler.transform(x)
    init = xs[[10, 4000, 9000, 20000, 30000]]
    out = tmp_path / "facies.zarr"
    classify(tmp_path, f3_features, out, sample="all", init=init.tolist(), max_iter=300, tol=1e-4)
    km = KMeans(n_clusters=5, init=init, n_init=1, algorithm="lloyd", max_iter=300, tol=1e-4).fit(xs)
    ds = xr.open_zarr(out)
    np.testing.assert_allclose(ds.attrs["scaler"]["centre"], scaler.mean_, rtol=1e-12)
    np.testing.assert_allclose(ds.attrs["scaler"]["scale"], scaler.scale_, rtol=1e-12)
    np.testing.assert_allclose(np.array(ds.attrs["centres_scaled"]), km.cluster_centers_, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(np.array(ds.attrs["centres"]), scaler.inverse_transform(km.cluster_centers_),
                               rtol=1e-4, atol=1e-6)
    labels = facies(out).ravel()
    assert (labels == km.labels_).mean() >= 0.999
    assert ds.attrs["inertia"] == pytest.approx(km.inertia_, rel=1e-6)
    # distance and match from the centres written
    c = np.array(ds.attrs["centres_scaled"])
    d = np.sqrt(((xs[:, None, :] - c[None]) ** 2).sum(-1))
    d.sort(axis=1)
    np.testing.assert_allclose(ds.distance.values.ravel(), d[:, 0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ds["match"].values.ravel(), 1 - d[:, 0] / d[:, 1], rtol=1e-4, atol=1e-5)
    assert facies(out).dtype == np.int16 and ds.attrs["features"] == FEATURES
    assert list(ds.facies.dims) == ["inline", "crossline", "time"] and "inline" in ds.coords


def test_robust_scaler_is_scikit_learns(tmp_path, f3_features):
    x = matrix(f3_features)
    out = tmp_path / "r.zarr"
    classify(tmp_path, f3_features, out, sample="all", clusters=3, scaler="robust")
    r = RobustScaler().fit(x)
    s = xr.open_zarr(out).attrs["scaler"]
    np.testing.assert_allclose(s["centre"], r.center_, rtol=1e-12)
    np.testing.assert_allclose(s["scale"], r.scale_, rtol=1e-12)


def test_real_f3_inertia_near_scikit_learns_best_of_ten(tmp_path, f3_features):
    xs = StandardScaler().fit_transform(matrix(f3_features))
    best = min(KMeans(n_clusters=6, n_init=1, random_state=r, algorithm="lloyd").fit(xs).inertia_ for r in range(10))
    out = tmp_path / "f.zarr"
    classify(tmp_path, f3_features, out, sample="all", clusters=6, n_init=10, seed=3)
    ours = xr.open_zarr(out).attrs["inertia"]
    print(f"inertia: attr {ours:.3f}, scikit-learn best of 10 {best:.3f}")
    assert ours <= best * 1.01


def test_separable_facies_are_found(tmp_path):
    rng = np.random.default_rng(1)
    shape = (24, 20, 40)
    truth = np.zeros(shape, int)
    truth[12:, :10] = 1
    truth[:, 10:, :20] = 2
    truth[:12, :10, 25:] = 3
    centres = np.array([[0, 0, 0], [4, 0, 1], [0, 5, -2], [3, 3, 3]], float)
    path = tmp_path / "feat.zarr"
    g = zarr.open_group(str(path), mode="w")
    for j, name in enumerate(["a", "b", "c"]):
        v = centres[truth, j] + rng.normal(0, 0.3, shape)
        g.create_array(name, data=v.astype(np.float32), chunks=(8, 8, 16), dimension_names=["inline", "crossline", "time"])
    out = tmp_path / "f.zarr"
    run_job(tmp_path, {"input": str(path), "classify": {"features": ["a", "b", "c"], "clusters": 4, "sample": 5000,
                                                           "n_init": 4, "path": str(out)}}, "-q")
    labels = facies(out)
    assert adjusted_rand_score(truth.ravel(), labels.ravel()) >= 0.95
    assert xr.open_zarr(out).attrs["sample"]["used"] == 5000


def test_same_bytes_whatever_the_workers_and_chunks(tmp_path, f3_features):
    # the same features, stored with other chunks
    other = tmp_path / "rechunked.zarr"
    src = zarr.open_group(str(f3_features), mode="r")
    g = zarr.open_group(str(other), mode="w")
    for n in FEATURES:
        g.create_array(n, data=src[n][...], chunks=(5, 7, 11), dimension_names=["inline", "crossline", "time"])
    runs = []
    for i, (feat, workers) in enumerate([(f3_features, 1), (f3_features, 2), (other, 2), (f3_features, 2)]):
        out = tmp_path / f"o{i}.zarr"
        run_job(tmp_path, {"input": str(feat), "workers": workers,
                           "classify": {"features": FEATURES, "clusters": 5, "sample": 8000, "seed": 11,
                                        "path": str(out), "chunks": [8, 8, 32]}}, "-q")
        runs.append(out)
    first = zarr.open_group(str(runs[0]), mode="r")
    for r in runs[1:]:
        other_g = zarr.open_group(str(r), mode="r")
        assert other_g.attrs["centres"] == first.attrs["centres"]
        for v in ("facies", "distance", "match"):
            a = (runs[0] / v)
            b = (r / v)
            fa = {str(f.relative_to(a)): f.read_bytes() for f in a.rglob("*") if f.is_file()}
            fb = {str(f.relative_to(b)): f.read_bytes() for f in b.rglob("*") if f.is_file()}
            assert fa == fb, (r, v)


def test_a_fitted_model_classifies_another_volume_as_scikit_learn_predicts(tmp_path, f3_features):
    model = tmp_path / "model.zarr"
    classify(tmp_path, f3_features, model, sample="all", clusters=5, seed=2)
    # another volume on its own grid: the features shifted and scaled
    other = tmp_path / "other.zarr"
    src = zarr.open_group(str(f3_features), mode="r")
    g = zarr.open_group(str(other), mode="w")
    rng = np.random.default_rng(5)
    for n in FEATURES:
        v = src[n][:12, :9, :40] * 1.1 + rng.normal(0, 0.01, (12, 9, 40)).astype(np.float32)
        g.create_array(n, data=v.astype(np.float32), chunks=(4, 4, 16), dimension_names=["inline", "crossline", "time"])
    out = tmp_path / "applied.zarr"
    run_job(tmp_path, {"input": str(other), "classify": {"model": str(model), "path": str(out)}}, "-q")
    m = xr.open_zarr(model).attrs
    x = matrix(other)
    xs = (x - np.array(m["scaler"]["centre"])) / np.array(m["scaler"]["scale"])
    km = KMeans(n_clusters=5, init=np.array(m["centres_scaled"]), n_init=1, max_iter=1)
    km.fit(np.array(m["centres_scaled"]))      # a model whose centres are exactly those
    km.cluster_centers_ = np.array(m["centres_scaled"])
    want = km.predict(xs)
    got = xr.open_zarr(out)
    assert (facies(out).ravel() == want).all()
    assert got.attrs["features"] == FEATURES and got.attrs["centres"] == m["centres"]


def test_missing_traces_and_nulls_are_never_counted(tmp_path, f3_features):
    src = zarr.open_group(str(f3_features), mode="r")
    path = tmp_path / "gappy.zarr"
    g = zarr.open_group(str(path), mode="w")
    mask = np.ones((23, 18), np.uint8)
    mask[3:9, 4:7] = 0
    for n in FEATURES:
        v = src[n][...].copy()
        v[3:9, 4:7] = 1e6            # garbage under missing traces
        if n == "semblance":
            v[15:20, :, 30:40] = np.nan   # a null zone in one feature
        g.create_array(n, data=v, chunks=(8, 8, 32), dimension_names=["inline", "crossline", "time"])
    g.create_array("trace_mask", data=mask, dimension_names=["inline", "crossline"])
    out = tmp_path / "f.zarr"
    run_job(tmp_path, {"input": str(path), "classify": {"features": FEATURES, "clusters": 4, "sample": "all",
                                                           "seed": 1, "path": str(out)}}, "-q")
    ds = xr.open_zarr(out)
    fac, dist = facies(out), ds.distance.values
    null = np.zeros(fac.shape, bool)
    null[3:9, 4:7] = True
    null[15:20, :, 30:40] = True
    assert (fac[null] == -1).all() and np.isnan(dist[null]).all()
    assert np.isnan(ds.facies.values[null]).all(), "xarray masks the declared fill -1"
    assert (fac[~null] >= 0).all() and np.isfinite(dist[~null]).all()
    assert ds.attrs["sample"]["live"] == (~null).sum() == ds.attrs["sample"]["used"]
    # the fit saw only live samples: its scaler is theirs
    x = matrix(path)[~null.ravel()]
    np.testing.assert_allclose(ds.attrs["scaler"]["centre"], x.mean(axis=0), rtol=1e-9)
    assert (ds.trace_mask.values == mask).all()


@pytest.mark.parametrize("change,needle", [
    ({"features": ["envelope", "semblence"]}, "did you mean 'semblance'"),
    ({"clusters": 1}, "at least 2"),
    ({"clusters": 40000}, "training samples"),
    ({"clusters": None}, "give `clusters`"),
    ({"init": [[0, 0]]}, "clusters is 3"),
])
def test_bad_input_gets_one_line_and_writes_nothing(tmp_path, f3_features, change, needle):
    c = {"features": FEATURES, "clusters": 3, "sample": "all", "path": str(tmp_path / "x.zarr"), **change}
    c = {k: v for k, v in c.items() if v is not None}
    p = run_job(tmp_path, {"input": str(f3_features), "classify": c}, check=False)
    err = [l for l in p.stderr.splitlines() if l.startswith("error")]
    assert p.returncode != 0 and len(err) == 1 and needle in err[0], p.stderr
    assert not (tmp_path / "x.zarr").exists()


def test_other_bad_inputs(tmp_path, f3_features):
    out = tmp_path / "x.zarr"
    # features on different grids
    other = tmp_path / "small.zarr"
    zarr.open_group(str(other), mode="w").create_array("v", data=np.zeros((3, 3, 3), np.float32))
    p = run_job(tmp_path, {"input": str(f3_features), "classify": {
        "features": ["envelope", {"path": str(other), "variable": "v"}], "clusters": 2, "path": str(out)}}, check=False)
    assert p.returncode != 0 and "one grid" in p.stderr and not out.exists()
    # a model fitted on other features
    model = tmp_path / "m.zarr"
    classify(tmp_path, f3_features, model, sample=2000, clusters=3)
    p = run_job(tmp_path, {"input": str(f3_features), "classify": {
        "features": ["envelope", "semblance"], "model": str(model), "path": str(out)}}, check=False)
    assert p.returncode != 0 and "fitted on features" in p.stderr and not out.exists()
    # all-null features
    empty = tmp_path / "empty.zarr"
    zarr.open_group(str(empty), mode="w").create_array("v", data=np.full((4, 4, 8), np.nan, np.float32))
    p = run_job(tmp_path, {"input": str(empty), "classify": {"features": ["v"], "clusters": 2, "path": str(out)}},
                check=False)
    assert p.returncode != 0 and "no live sample" in p.stderr and not out.exists()
    # a sample larger than the live samples: all of them, with a warning
    p = run_job(tmp_path, {"input": str(f3_features), "classify": {
        "features": FEATURES, "clusters": 3, "sample": 10**8, "path": str(out)}})
    assert "warning" in p.stderr and xr.open_zarr(out).attrs["sample"]["used"] == 23 * 18 * 75
    # outputs and classify together
    p = run_job(tmp_path, {"input": str(f3_features), "outputs": [{"attribute": "copy", "path": str(tmp_path / "c")}],
                           "classify": {"features": FEATURES, "clusters": 2, "path": str(out)}}, check=False)
    assert p.returncode != 0 and "computes facies alone" in p.stderr and "another job" in p.stderr


def stored(ds):
    """Chunk and metadata files of a dataset (no run records)."""
    return {str(p.relative_to(ds)): p.read_bytes() for p in sorted(ds.rglob("*"))
            if p.is_file() and ".attr" not in p.parts}


def test_shards_resume_status_and_plan(tmp_path):
    import shutil
    import signal
    import subprocess
    import time
    from conftest import attr_bin, run_attr, synth
    vol = synth(tmp_path / "vol.zarr", "64,64,256", "16,16,64")
    def job(name, out):
        p = tmp_path / name
        p.write_text(json.dumps({"input": str(vol), "workers": 2, "classify": {
            "features": ["amplitude"], "clusters": 3, "sample": 20000, "seed": 4, "path": str(out)}}))
        return p
    ref = tmp_path / "ref.zarr"
    run_attr("run", job("ref.yaml", ref), "-q")
    assert "already complete" in run_attr("run", job("ref.yaml", ref)).stderr
    plan = run_attr("plan", job("ref.yaml", ref), "--shards", "3").stdout
    assert "fit " in plan and "predict " in plan and "shard 2" in plan, plan
    # three shards, one after another, into one dataset: the same bytes
    sharded = tmp_path / "sharded.zarr"
    j = job("s.yaml", sharded)
    for i in range(3):
        run_attr("run", j, "--shard", f"{i}/3", "-q")
    assert stored(sharded) == stored(ref)
    assert run_attr("status", j, "--verify").returncode == 0
    # killed mid-run (the first sleep that leaves it unpublished), then
    # resumed: the same bytes
    big = synth(tmp_path / "big.zarr", "128,128,512", "32,32,128", full=True)
    def big_job(name, out):
        p = tmp_path / name
        p.write_text(json.dumps({"input": str(big), "workers": 2, "classify": {
            "features": ["amplitude"], "clusters": 3, "sample": 20000, "seed": 4, "path": str(out)}}))
        return p
    big_ref = tmp_path / "big_ref.zarr"
    run_attr("run", big_job("br.yaml", big_ref), "-q")
    killed = tmp_path / "killed.zarr"
    j = big_job("k.yaml", killed)
    for pause in (0.5, 0.3, 0.15, 0.05):
        p = subprocess.Popen([attr_bin(), "run", str(j), "-q"], stderr=subprocess.PIPE)
        time.sleep(pause)
        p.send_signal(signal.SIGKILL)
        p.wait()
        if not killed.exists():
            break
        shutil.rmtree(killed)
    assert not killed.exists(), "every run finished before the kill"
    assert run_attr("status", j, "--verify", check=False).returncode != 0
    run_attr("run", j, "--resume", "-q")
    assert stored(killed) == stored(big_ref)
    assert run_attr("status", j, "--verify").returncode == 0


def test_view_draws_classes_with_a_legend(tmp_path, f3_features):
    from PIL import Image
    from conftest import run_attr
    out = tmp_path / "f.zarr"
    classify(tmp_path, f3_features, out, sample="all", clusters=4, seed=0)
    png = tmp_path / "f.png"
    p = run_attr("view", out, "--variable", "facies,match", "--inline", "120", "-o", png)
    img = np.asarray(Image.open(png).convert("RGBA"))
    # the facies panel: as many distinct colours as classes on the slice
    import re
    x0, x1, y0, y1 = map(int, re.search(r"data at x (\d+)\.\.(\d+), y (\d+)\.\.(\d+)", p.stdout).groups())
    plot = img[y0:y1, x0:x1].reshape(-1, 4)
    colours = {tuple(c) for c in plot if c[3] == 255}
    classes = np.unique(facies(out)[list(xr.open_zarr(out).inline.values).index(120)])
    assert len(colours) == len(classes[classes >= 0])


def test_features_computed_on_the_fly_equal_stored_ones(tmp_path, f3_features):
    stored_out = tmp_path / "stored.zarr"
    classify(tmp_path, f3_features, stored_out, sample=9000, clusters=4, seed=5)
    fly = tmp_path / "fly.zarr"
    run_job(tmp_path, {"input": str(F3), "classify": {
        "features": [{"attribute": "envelope"}, {"attribute": "semblance", "params": {"window": [3, 3, 9]}},
                     {"attribute": "instantaneous_frequency"}],
        "clusters": 4, "sample": 9000, "seed": 5, "path": str(fly)}}, "-q")
    a, b = xr.open_zarr(stored_out), xr.open_zarr(fly)
    assert a.attrs["centres"] == b.attrs["centres"] and a.attrs["features"] == b.attrs["features"]
    assert (facies(stored_out) == facies(fly)).all()
    np.testing.assert_array_equal(a.distance.values, b.distance.values)
    assert "computed with" in b.attrs["provenance"]["inputs"][0]
    # and a model fitted that way classifies the same features
    again = tmp_path / "again.zarr"
    run_job(tmp_path, {"input": str(F3), "classify": {
        "features": [{"attribute": "envelope"}, {"attribute": "semblance"}, {"attribute": "instantaneous_frequency"}],
        "model": str(fly), "path": str(again)}}, "-q")
    assert (facies(again) == facies(fly)).all()
    p = run_job(tmp_path, {"input": str(F3), "classify": {
        "features": [{"attribute": "envelop"}], "clusters": 2, "path": str(tmp_path / "x.zarr")}}, check=False)
    assert p.returncode != 0 and "did you mean 'envelope'" in p.stderr


def test_dead_traces_are_missing_when_the_job_says_so(tmp_path, f3_features):
    src = zarr.open_group(str(f3_features), mode="r")
    path = tmp_path / "dead.zarr"
    g = zarr.open_group(str(path), mode="w")
    for n in FEATURES:
        v = src[n][...].copy()
        v[2:5, 3:6] = 0.0            # traces of only zeros, as Petrel pads an outline
        g.create_array(n, data=v, chunks=(8, 8, 32), dimension_names=["inline", "crossline", "time"])
    dead = np.zeros((23, 18, 75), bool)
    dead[2:5, 3:6] = True
    for mode, expect_null in [("data", False), ("missing", True)]:
        out = tmp_path / f"{mode}.zarr"
        run_job(tmp_path, {"input": str(path), "dead_traces": mode, "classify": {
            "features": FEATURES, "clusters": 3, "sample": "all", "seed": 1, "path": str(out)}}, "-q")
        fac = facies(out)
        assert ((fac[dead] == -1).all()) == expect_null
        live = xr.open_zarr(out).attrs["sample"]["live"]
        assert live == dead.size - (dead.sum() if expect_null else 0)


def test_computed_features_keep_the_survey_outline(tmp_path):
    from conftest import synth
    vol = synth(tmp_path / "v.zarr", "40,32,96", "16,16,48")
    out = tmp_path / "f.zarr"
    run_job(tmp_path, {"input": str(vol), "classify": {
        "features": [{"attribute": "envelope"}, {"attribute": "semblance"}], "clusters": 3,
        "sample": "all", "path": str(out)}}, "-q")
    mask = zarr.open_group(str(vol), mode="r")["trace_mask"][...].astype(bool)
    fac = facies(out)
    assert (~mask).any() and (fac[~mask] == -1).all() and (fac[mask] >= 0).all()
    assert (zarr.open_group(str(out), mode="r")["trace_mask"][...] == mask).all()
    assert xr.open_zarr(out).attrs["sample"]["live"] == mask.sum() * 96
