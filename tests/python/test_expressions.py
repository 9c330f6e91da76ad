"""Attribute arithmetic: `expression:` outputs combine the input, the job's
other outputs (with their parameters) and attributes of the registry, with
sample shifts, functions and comparisons. Checked against numpy on the
job's own outputs, on a survey with missing traces; nulls propagate; an
attribute named only in an expression is not written; errors name the
column."""
import numpy as np
import pytest
import xarray as xr

from conftest import run_job, synth


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    d = tmp_path_factory.mktemp("expr")
    return synth(d / "vol.zarr", "24,20,120", "8,8,40", seed=4)


def job(vol, out, exprs, chunks=None):
    outs = [{"attribute": "envelope", "path": str(out)},
            {"attribute": "semblance", "name": "coh", "params": {"window": [3, 3, 5]}, "path": str(out)}]
    outs += [{"expression": e, "name": n, "path": str(out)} for n, e in exprs.items()]
    if chunks:
        for o in outs:
            o["chunks"] = chunks
    return {"input": str(vol), "outputs": outs}


def reflect_shift(x, s):
    """x[s] along the traces, the volume's ends padded by reflection (the
    job's boundary mode, as for every window)."""
    n = x.shape[-1]
    idx = np.arange(n) + s
    idx = np.where(idx < 0, -idx - 1, idx)
    idx = np.where(idx >= n, 2 * n - idx - 1, idx)
    return x[..., idx]


EXPRS = {
    "edges": "envelope * (1 - coh)",
    "rms_ratio": "envelope / rms_amplitude",
    "grad": "x[+1] − x[-1]",
    "gate": "where(coh >= 0.8, clip(x, -1, 1), min(abs(x), 2) ^ 2)",
    "funcs": "sqrt(envelope) + log(1 + envelope) - exp(-envelope) + max(x, 0) / 2",
}


def test_expressions_equal_numpy_on_the_jobs_own_outputs(tmp_path, survey):
    out = tmp_path / "o.zarr"
    run_job(tmp_path, job(survey, out, EXPRS))
    ds = xr.open_zarr(out)
    x = xr.open_zarr(survey).amplitude.values.astype(np.float64)
    env, coh = ds.envelope.values.astype(np.float64), ds.coh.values.astype(np.float64)
    # rms_amplitude is computed for the expression, not written
    assert "rms_amplitude" not in ds
    run_job(tmp_path, {"input": str(survey), "outputs": [{"attribute": "rms_amplitude", "path": str(tmp_path / "r.zarr")}]})
    rms = xr.open_zarr(tmp_path / "r.zarr").rms_amplitude.values.astype(np.float64)
    want = {
        "edges": env * (1 - coh),
        "rms_ratio": env / rms,
        "grad": reflect_shift(x, 1) - reflect_shift(x, -1),
        "gate": np.where(coh >= 0.8, np.clip(x, -1, 1), np.minimum(np.abs(x), 2) ** 2),
        "funcs": np.sqrt(env) + np.log(1 + env) - np.exp(-env) + np.maximum(x, 0) / 2,
    }
    null = np.isnan(x)
    assert null.any() and (~null).mean() > 0.5   # the survey has missing traces
    for name, w in want.items():
        got = ds[name].values
        np.testing.assert_array_equal(np.isnan(got), null | np.isnan(w), err_msg=name)
        ok = ~np.isnan(got)
        np.testing.assert_allclose(got[ok], w[ok], rtol=2e-6, atol=2e-6 * np.abs(w[ok]).max(), err_msg=name)
        assert ds[name].attrs["long_name"] == "expression"
        assert EXPRS[name] in str(ds[name].attrs["provenance"])


def test_chunking_and_nulls_in_comparisons(tmp_path, survey):
    a, b = tmp_path / "a.zarr", tmp_path / "b.zarr"
    exprs = {"grad": EXPRS["grad"], "gate": EXPRS["gate"], "cmp": "where(x[-3] > 0, 1, 0)"}
    run_job(tmp_path, job(survey, a, exprs))
    run_job(tmp_path, job(survey, b, exprs, chunks=[8, 8, 40]))
    da, db = xr.open_zarr(a), xr.open_zarr(b)
    for n in exprs:
        np.testing.assert_allclose(da[n].values, db[n].values, rtol=1e-6, atol=1e-6, err_msg=n)
    # a comparison with a null is null, not false
    x = xr.open_zarr(survey).amplitude.values
    live = ~np.isnan(x).all(axis=-1)
    assert np.isnan(da.cmp.values[~live]).all() and not np.isnan(da.cmp.values[live]).any()
    assert set(np.unique(da.cmp.values[live])) <= {0.0, 1.0}


@pytest.mark.parametrize("expr, says", [
    ("envelope + * 2", "column 12"),
    ("envelope + foo", "column 12: 'foo'"),
    ("sqrt(envelope, 2)", "column 1"),
    ("x[0.5]", "column 3"),
    ("edges + 1", "another expression"),
    ("envelope + (coh", "column 16"),
])
def test_bad_expressions_are_one_line_naming_the_column(tmp_path, survey, expr, says):
    out = tmp_path / "o.zarr"
    spec = job(survey, out, {"edges": "envelope * 2", "bad": expr})
    p = run_job(tmp_path, spec, check=False)
    err = [line for line in p.stderr.splitlines() if line.startswith("error")]
    assert p.returncode != 0 and len(err) == 1, p.stderr
    assert "outputs[3]" in err[0] and says in err[0], err[0]
    assert not out.exists()


@pytest.mark.parametrize("output, says", [
    ({"expression": "x * 2"}, "give it a `name:`"),
    ({"expression": "x * 2", "attribute": "envelope", "name": "y"}, "give one"),
    ({"name": "y"}, "names no `attribute`"),
    ({"expression": "x * 2", "name": "y", "params": {"window": [3, 3, 3]}}, "takes no `params`"),
])
def test_expression_outputs_are_declared_whole(tmp_path, survey, output, says):
    p = run_job(tmp_path, {"input": str(survey), "outputs": [{**output, "path": str(tmp_path / "o.zarr")}]},
                check=False)
    err = [line for line in p.stderr.splitlines() if line.startswith("error")]
    assert p.returncode != 0 and len(err) == 1 and says in err[0] and "outputs[0]" in err[0], p.stderr
