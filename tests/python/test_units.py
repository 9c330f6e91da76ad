"""Dips in the units interpreters use: a planar reflector dipping a known
number of ms/m towards a known azimuth, on a rotated grid with known bin
sizes, gives its apparent dips in µs/m and ms/m and its azimuth from grid
north, whether the geometry comes from cdp_x/cdp_y or from the job; without
a geometry the run says so in one line and keeps samples per trace."""
import json
import subprocess

import numpy as np
import pytest
import xarray as xr
import zarr

from conftest import run_attr, run_job

DT = 4.0                      # ms
STEPS = {0: (25.0, 30.0), 1: (12.5, 120.0)}  # (spacing m, azimuth of increasing index, degrees from north)
DIP, TOWARDS = 0.15, 75.0     # ms/m, degrees from north
SHAPE = (32, 32, 96)


def step(a):
    d, az = STEPS[a]
    return np.array([d * np.sin(np.radians(az)), d * np.cos(np.radians(az))])


def per_step(a):
    """The reflector's time change (ms) per step of lateral axis a."""
    g = DIP * np.array([np.sin(np.radians(TOWARDS)), np.cos(np.radians(TOWARDS))])
    return float(g @ step(a))


def surface(i, j):
    return 40 + (per_step(0) * (i - 16) + per_step(1) * (j - 16)) / DT   # in samples


def write(path, with_coordinates=True):
    i, j, k = np.meshgrid(*map(np.arange, SHAPE), indexing="ij")
    d = k - surface(i, j)
    x = (np.exp(-0.5 * (d / 2.0) ** 2) * np.cos(0.7 * d)).astype(np.float32)
    g = zarr.open_group(str(path), mode="w", zarr_format=3)
    g.create_array("amplitude", data=x, chunks=(16, 16, 96), dimension_names=("inline", "crossline", "time"))
    g.create_array("inline", data=np.arange(100, 100 + SHAPE[0], dtype=np.int32), dimension_names=("inline",))
    g.create_array("crossline", data=np.arange(500, 500 + SHAPE[1], dtype=np.int32), dimension_names=("crossline",))
    if with_coordinates:
        ii, jj = np.meshgrid(np.arange(SHAPE[0]), np.arange(SHAPE[1]), indexing="ij")
        xy = np.array([600000.0, 6800000.0])[:, None, None] + step(0)[:, None, None] * ii + step(1)[:, None, None] * jj
        g.create_array("cdp_x", data=xy[0], dimension_names=("inline", "crossline"))
        g.create_array("cdp_y", data=xy[1], dimension_names=("inline", "crossline"))
    return path


def dips_job(vol, out, **extra):
    outs = [{"attribute": "inline_dip", "path": str(out)}, {"attribute": "crossline_dip", "path": str(out)},
            {"attribute": "dip_azimuth", "path": str(out)},
            {"attribute": "inline_dip", "name": "inline_dip_ms", "params": {"units": "ms/m"}, "path": str(out)},
            {"attribute": "inline_dip", "name": "inline_dip_samples", "params": {"units": "samples"},
             "path": str(out)},
            {"attribute": "dip_azimuth", "name": "azimuth_true", "params": {"azimuth": "true_north",
                                                                            "convergence": -1.5},
             "path": str(out)}]
    return {"input": str(vol), "sample_interval": DT, "outputs": outs, **extra}


def on_reflector(ds, name):
    v = ds[name].values
    return np.array([[v[i, j, int(round(surface(i, j)))] for j in range(10, 22)] for i in range(10, 22)])


def check_physical(ds, source):
    want = {0: per_step(0) / STEPS[0][0] * 1000, 1: per_step(1) / STEPS[1][0] * 1000}   # µs/m
    for name, a in (("inline_dip", 0), ("crossline_dip", 1)):
        got = on_reflector(ds, name)
        assert np.abs(got - want[a]).max() < 0.05 * abs(want[a]), (name, got.mean(), want[a])
        assert ds[name].attrs["units"] == "us/m"
        prov = json.loads(ds[name].attrs["provenance"]) if isinstance(ds[name].attrs["provenance"], str) \
            else ds[name].attrs["provenance"]
        assert prov["geometry"]["source"] == source
        assert abs(prov["geometry"]["inline_spacing_m"] - 25.0) < 1e-6
        assert abs(prov["geometry"]["inline_azimuth_deg"] - 30.0) < 1e-6
    ms = on_reflector(ds, "inline_dip_ms")
    assert np.abs(ms - want[0] / 1000).max() < 0.05 * abs(want[0] / 1000)
    assert ds["inline_dip_ms"].attrs["units"] == "ms/m"
    samples = on_reflector(ds, "inline_dip_samples")
    assert np.abs(samples - per_step(0) / DT).max() < 0.05 * abs(per_step(0) / DT)
    az = on_reflector(ds, "dip_azimuth")
    assert np.abs(az - TOWARDS).max() < 3.0, az.mean()
    # from true north: grid north lies 1.5° anticlockwise of it
    true = on_reflector(ds, "azimuth_true")
    np.testing.assert_allclose(true, (az - 1.5) % 360, atol=1e-3)


def test_dips_in_us_per_m_and_azimuth_from_north_from_cdp_coordinates(tmp_path):
    vol = write(tmp_path / "rotated.zarr")
    p = run_job(tmp_path, dips_job(vol, tmp_path / "o.zarr"))
    assert "no survey geometry" not in p.stderr
    check_physical(xr.open_zarr(tmp_path / "o.zarr"), "cdp_x/cdp_y")
    info = run_attr("info", vol).stdout
    assert "inline spacing 25.00 m at 30.00°, crossline spacing 12.50 m at 120.00°" in info, info


def test_the_same_from_the_jobs_geometry(tmp_path):
    vol = write(tmp_path / "bare.zarr", with_coordinates=False)
    geometry = {"inline_spacing": 25.0, "crossline_spacing": 12.5, "inline_azimuth": 30.0}
    run_job(tmp_path, dips_job(vol, tmp_path / "o.zarr", geometry=geometry))
    check_physical(xr.open_zarr(tmp_path / "o.zarr"), "job")


def test_without_geometry_dips_stay_in_samples_and_the_run_says_so(tmp_path):
    vol = write(tmp_path / "bare.zarr", with_coordinates=False)
    spec = dips_job(vol, tmp_path / "o.zarr")
    spec["outputs"] = spec["outputs"][:3] + spec["outputs"][4:5]   # not the ms/m nor the true-north one
    p = run_job(tmp_path, spec)
    notes = [line for line in p.stderr.splitlines() if "no survey geometry" in line]
    assert len(notes) == 1 and "inline_dip, crossline_dip, dip_azimuth" in notes[0], p.stderr
    ds = xr.open_zarr(tmp_path / "o.zarr")
    assert ds.inline_dip.attrs["units"] == "1"   # samples per trace: a number
    np.testing.assert_array_equal(ds.inline_dip.values, ds.inline_dip_samples.values)
    got = on_reflector(ds, "inline_dip")
    assert np.abs(got - per_step(0) / DT).max() < 0.05 * abs(per_step(0) / DT)
    # from the inline axis: the direction of the dip vector in index space
    want = np.degrees(np.arctan2(per_step(1), per_step(0))) % 360
    assert np.abs(on_reflector(ds, "dip_azimuth") - want).max() < 3.0


@pytest.mark.parametrize("params, says", [
    ({"attribute": "inline_dip", "params": {"units": "ms/m"}}, "units"),
    ({"attribute": "dip_azimuth", "params": {"azimuth": "grid_north"}}, "azimuth"),
    ({"attribute": "inline_dip", "params": {"units": "furlongs"}}, "units"),
    ({"attribute": "dip_azimuth", "params": {"azimuth": "true_north"}}, "convergence"),
])
def test_physical_units_without_geometry_are_one_line(tmp_path, params, says):
    vol = write(tmp_path / "bare.zarr", with_coordinates=False)
    out = tmp_path / "o.zarr"
    p = run_job(tmp_path, {"input": str(vol), "sample_interval": DT, "outputs": [{**params, "path": str(out)}]},
                check=False)
    err = [line for line in p.stderr.splitlines() if line.startswith("error")]
    assert p.returncode != 0 and len(err) == 1, p.stderr
    assert "outputs[0]" in err[0] and says in err[0], err[0]
    assert not out.exists()


@pytest.mark.parametrize("geometry, says", [
    ({"inline_spacing": 0, "crossline_spacing": 12.5, "inline_azimuth": 30}, "inline_spacing"),
    ({"inline_spacing": 25, "crossline_spacing": 12.5, "inline_azimuth": 30, "crossline_azimuth": 210}, "differ"),
    ({"inline_spacing": 25, "crossline_spacing": 12.5}, "inline_azimuth"),
])
def test_a_bad_geometry_is_one_line(tmp_path, geometry, says):
    vol = write(tmp_path / "bare.zarr", with_coordinates=False)
    p = run_job(tmp_path, dips_job(vol, tmp_path / "o.zarr", geometry=geometry), check=False)
    err = [line for line in p.stderr.splitlines() if line.startswith("error")]
    assert p.returncode != 0 and len(err) == 1 and says in err[0], p.stderr


R = 2000.0   # m, the sphere's radius
DZ = 5.0     # m per sample in depth (or 4 ms at 2500 m/s two-way)
SPH = (48, 48, 96)


def write_sphere(path, axis="depth"):
    """A dome: the top of a sphere of radius R whose crest is at the grid's
    centre, on the rotated grid, with a depth axis in metres (5 m) or a
    time axis in ms (4 ms)."""
    i, j, k = np.meshgrid(*map(np.arange, SPH), indexing="ij")
    xy = step(0)[:, None, None, None] * (i - 24) + step(1)[:, None, None, None] * (j - 24)
    r2 = xy[0] ** 2 + xy[1] ** 2
    z = 150.0 + R - np.sqrt(R ** 2 - r2)          # deeper away from the crest
    d = k - z / DZ
    x = (np.exp(-0.5 * (d / 2.0) ** 2) * np.cos(0.7 * d)).astype(np.float32)
    g = zarr.open_group(str(path), mode="w", zarr_format=3)
    g.create_array("amplitude", data=x, chunks=(24, 24, 96), dimension_names=("inline", "crossline", axis))
    g.create_array("inline", data=np.arange(SPH[0], dtype=np.int32), dimension_names=("inline",))
    g.create_array("crossline", data=np.arange(SPH[1], dtype=np.int32), dimension_names=("crossline",))
    samples = g.create_array(axis, data=np.arange(SPH[2], dtype=np.float64) * (DZ if axis == "depth" else 4.0),
                             dimension_names=(axis,))
    samples.attrs["units"] = "m" if axis == "depth" else "ms"
    return path


GEOMETRY = {"inline_spacing": 25.0, "crossline_spacing": 12.5, "inline_azimuth": 30.0}


def crest(ds, name):
    """Values on the reflector within 150 m of the crest."""
    v = ds[name].values
    out = []
    for i in range(SPH[0]):
        for j in range(SPH[1]):
            xy = step(0) * (i - 24) + step(1) * (j - 24)
            r2 = xy @ xy
            if r2 < 150.0 ** 2:
                out.append(v[i, j, int(round((150.0 + R - np.sqrt(R ** 2 - r2)) / DZ))])
    return np.array(out)


@pytest.mark.parametrize("axis, extra", [("depth", {}), ("time", {"velocity": 2500.0})])
def test_a_sphere_gives_its_curvature_in_per_km(tmp_path, axis, extra):
    vol = write_sphere(tmp_path / "sphere.zarr", axis)
    out = tmp_path / "o.zarr"
    outs = [{"attribute": a, "path": str(out), "params": dict(extra)}
            for a in ("curvature_mean", "curvature_gaussian", "curvature_maximum", "shape_index")]
    outs.append({"attribute": "curvature_mean", "name": "index_units", "path": str(out), "params": {"units": "index"}})
    run_job(tmp_path, {"input": str(vol), "geometry": GEOMETRY, "outputs": outs})
    ds = xr.open_zarr(out)
    assert ds.curvature_mean.attrs["units"] == "1/km" and ds.curvature_gaussian.attrs["units"] == "1/km2"
    k = 1000.0 / R   # 0.5 per km, positive on a dome
    for name, want in (("curvature_mean", k), ("curvature_maximum", k), ("curvature_gaussian", k * k)):
        got = crest(ds, name)
        assert np.abs(got - want).max() < 0.1 * want, (name, got.min(), got.max(), want)
    assert np.abs(crest(ds, "shape_index") - 1.0).max() < 0.1
    # index units are per trace with depth in samples: not per km
    assert ds.index_units.attrs["units"] == "1"
    assert np.abs(crest(ds, "index_units")).max() < 0.2 * k


def test_dips_in_depth_in_m_per_m_and_degrees(tmp_path):
    vol = write_sphere(tmp_path / "sphere.zarr", "depth")
    out = tmp_path / "o.zarr"
    outs = [{"attribute": "inline_dip", "path": str(out)},
            {"attribute": "inline_dip", "name": "deg", "path": str(out), "params": {"units": "degrees"}}]
    run_job(tmp_path, {"input": str(vol), "geometry": GEOMETRY, "outputs": outs})
    ds = xr.open_zarr(out)
    assert ds.inline_dip.attrs["units"] == "m/m" and ds.deg.attrs["units"] == "degree"
    # along the inlines' step from the crest: dz/ds = s/√(R² − s²) at distance s
    i = 24 + 8                                   # 200 m from the crest along the inlines
    s = 8 * 25.0
    want = s / np.sqrt(R ** 2 - s ** 2)
    k = int(round((150.0 + R - np.sqrt(R ** 2 - s ** 2)) / DZ))
    got = ds.inline_dip.values[i, 24, k]
    assert abs(got - want) < 0.05 * want, (got, want)
    assert abs(ds.deg.values[i, 24, k] - np.degrees(np.arctan(got))) < 1e-3


def test_every_output_has_cf_units(tmp_path):
    """Every attribute's `units` parses as UDUNITS (cf-units, as CF
    checkers do), and a stated range holds the values."""
    import cf_units
    from conftest import F3, attr_bin
    names = [a["name"] for a in json.loads(subprocess.run([attr_bin(), "list", "--json"], capture_output=True,
                                                          text=True, check=True).stdout)]
    out = tmp_path / "all.zarr"
    run_job(tmp_path, {"input": str(F3), "outputs": [{"attribute": n, "path": str(out)} for n in names]})
    ds = xr.open_zarr(out)
    ranged = 0
    for n in names:
        a = ds[n].attrs
        cf_units.Unit(a["units"])      # raises where UDUNITS cannot parse it
        if "valid_min" in a:
            ranged += 1
            v = ds[n].values
            v = v[np.isfinite(v)]
            assert v.min() >= a["valid_min"] - 1e-5 and v.max() <= a["valid_max"] + 1e-5, n
    assert ranged >= 3
    assert ds.instantaneous_frequency.attrs["units"] == "Hz" and ds.semblance.attrs["units"] == "1"
    assert ds.dip_azimuth.attrs["units"] == "degree"
