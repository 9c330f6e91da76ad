"""Horizons and maps on real data (F3), checked against tools no one here
wrote: xtgeo reads the same SEG-Y file and slices it at the horizon
(`RegularSurface.slice_cube`) and computes window statistics
(`Cube.compute_attributes_in_window`); numpy and scipy give the rest.
xtgeo also writes the IRAP and ZMAP+ grids the import reads."""
import json
import warnings

import numpy as np
import pytest
import scipy.signal
import zarr

from conftest import REPO, run_attr

xtgeo = pytest.importorskip("xtgeo")
F3 = REPO / "tests" / "data" / "segy" / "f3.sgy"


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    d = tmp_path_factory.mktemp("maps")
    vol = d / "f3.zarr"
    run_attr("convert", "segy", F3, vol, "-q")
    g = zarr.open_group(str(vol), mode="r")
    a = g["amplitude"][:].astype(np.float64)
    t = g["time"][:]
    il, xl = g["inline"][:], g["crossline"][:]
    x, y = g["cdp_x"][:], g["cdp_y"][:]
    # a horizon picked from the data: the strongest peak between 100 and 200 ms
    k0, k1 = np.searchsorted(t, 100), np.searchsorted(t, 200)
    picked = t[k0 + np.argmax(a[:, :, k0:k1], axis=2)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cube = xtgeo.cube_from_file(str(F3))
    return {"d": d, "vol": vol, "a": a, "t": t, "il": il, "xl": xl, "x": x, "y": y,
            "picked": picked, "cube": cube}


def write_columns(path, rows, header="inline crossline time"):
    with open(path, "w") as f:
        f.write(f"# {header}\n")
        for r in rows:
            f.write(" ".join(f"{v:.4f}" if isinstance(v, float) else str(v) for v in r) + "\n")


def horizon(path):
    return zarr.open_group(str(path), mode="r")["z"][:].astype(np.float64)


def run_maps(s, maps, name="maps.zarr"):
    out = s["d"] / name
    job = s["d"] / (name + ".yaml")
    for m in maps:
        m["path"] = str(out)
    job.write_text(json.dumps({"input": str(s["vol"]), "maps": maps}))
    run_attr("run", job, "--overwrite", "-q")
    return zarr.open_group(str(out), mode="r")


def surface(s, values):
    sf = xtgeo.surface_from_cube(s["cube"], 0.0)
    sf.values = np.ma.masked_invalid(values)
    return sf


def test_column_horizons_land_on_their_traces(survey):
    s = survey
    h = s["picked"] + 1.3
    h[2, 3] = np.nan
    ni, nx = h.shape
    # inline crossline z, with a null, a left-out row and Petrel's negative times
    rows = [(int(s["il"][i]), int(s["xl"][j]), -999.25 if np.isnan(h[i, j]) else -float(h[i, j]))
            for i in range(ni) for j in range(nx) if not (i == 5 and j < 4)]
    write_columns(s["d"] / "h_lines.txt", rows)
    p = run_attr("horizon", "import", s["d"] / "h_lines.txt", s["d"] / "h_lines.zarr", "--survey", s["vol"])
    assert "negative times read as positive" in p.stderr, p.stderr
    want = h.copy()
    want[5, :4] = np.nan
    got = horizon(s["d"] / "h_lines.zarr")
    assert np.array_equal(np.isnan(got), np.isnan(want))
    assert np.nanmax(np.abs(got - want)) < 1e-3
    # x y z: through the affine transform fitted from cdp_x/cdp_y
    rows = [(float(s["x"][i, j]), float(s["y"][i, j]), float(h[i, j]) if not np.isnan(h[i, j]) else 1e30)
            for i in range(ni) for j in range(nx)]
    write_columns(s["d"] / "h_xy.txt", rows, "x y z")
    run_attr("horizon", "import", s["d"] / "h_xy.txt", s["d"] / "h_xy.zarr", "--survey", s["vol"], "-q")
    got = horizon(s["d"] / "h_xy.zarr")
    assert np.array_equal(np.isnan(got), np.isnan(h)) and np.nanmax(np.abs(got - h)) < 1e-3
    g = zarr.open_group(str(s["d"] / "h_xy.zarr"), mode="r")
    assert np.allclose(g["cdp_x"][:], s["x"], atol=1.0) and list(g["inline"][:]) == list(s["il"])


@pytest.mark.parametrize("fmt", ["irap_ascii", "irap_binary", "zmap_ascii"])
def test_grids_written_by_xtgeo_are_sampled_at_the_traces(survey, fmt):
    s = survey
    # a plane in x/y, on a grid of its own spacing (and, for IRAP, rotation),
    # so that bilinear sampling is exact wherever the grid covers a trace
    x0, y0 = s["x"].min() - 100, s["y"].min() - 100
    rot = 0.0 if fmt == "zmap_ascii" else 30.0
    # its centre on the survey's centre: the survey lies well inside it
    w, h = 100 * 20.0, 100 * 25.0
    c, sn = np.cos(np.radians(rot)), np.sin(np.radians(rot))
    cx, cy = s["x"].mean(), s["y"].mean()
    sf = xtgeo.RegularSurface(ncol=101, nrow=101, xinc=20.0, yinc=25.0, rotation=rot, values=0.0,
                              xori=cx - (c * w / 2 - sn * h / 2), yori=cy - (sn * w / 2 + c * h / 2))
    gx, gy = (np.ma.filled(v, np.nan) for v in sf.get_xy_values())
    plane = lambda x, y: 150.0 + 0.01 * (x - x0) - 0.02 * (y - y0)
    sf.values = plane(gx, gy)
    path = s["d"] / f"grid.{fmt}"
    sf.to_file(str(path), fformat=fmt)
    out = s["d"] / f"grid_{fmt}.zarr"
    run_attr("horizon", "import", path, out, "--survey", s["vol"], "-q")
    got = horizon(out)
    want = plane(s["x"], s["y"])
    assert np.isfinite(got).all()
    # (the formats keep the grid's corners to about 0.1 m: f32 in IRAP
    # binary, a few decimals in the text formats)
    assert np.max(np.abs(got - want)) < 5e-3, np.max(np.abs(got - want))


def test_values_at_a_horizon_equal_xtgeo_slices(survey):
    s = survey
    h = s["picked"] + 1.3
    write_columns(s["d"] / "h.txt", [(int(s["il"][i]), int(s["xl"][j]), float(h[i, j]))
                                     for i in range(h.shape[0]) for j in range(h.shape[1])])
    m = run_maps(s, [{"horizon": str(s["d"] / "h.txt"), "interpolation": "nearest", "name": "nearest"},
                     {"horizon": str(s["d"] / "h.txt"), "interpolation": "linear", "name": "linear"},
                     {"horizon": str(s["d"] / "h.txt"), "interpolation": "cubic", "name": "cubic"}])
    for sampling, name in [("nearest", "nearest"), ("trilinear", "linear")]:
        sl = xtgeo.surface_from_cube(s["cube"], 0.0)
        sl.slice_cube(s["cube"], zsurf=surface(s, h), sampling=sampling)
        want = np.ma.filled(sl.values, np.nan)
        got = m[name][:]
        assert np.nanmax(np.abs(got - want)) <= 1e-5 * np.nanmax(np.abs(want)), name
    # cubic: Keys' cubic convolution, by hand
    a, t = s["a"], s["t"]
    u = (h - t[0]) / (t[1] - t[0])
    k = np.floor(u).astype(int)
    f = u - k
    w = lambda d: np.where(np.abs(d) <= 1, 1.5 * np.abs(d) ** 3 - 2.5 * d ** 2 + 1,
                           np.where(np.abs(d) < 2, -0.5 * np.abs(d) ** 3 + 2.5 * d ** 2 - 4 * np.abs(d) + 2, 0))
    ii, jj = np.indices(h.shape)
    want = sum(a[ii, jj, k + o] * w(f - o) for o in (-1, 0, 1, 2))
    assert np.max(np.abs(m["cubic"][:] - want)) <= 1e-5 * np.max(np.abs(want))


def test_window_statistics_equal_xtgeo_and_numpy(survey):
    s = survey
    h = s["picked"].astype(np.float64)  # on samples: xtgeo's ndiv=1 reads the same samples
    h[4, 4] = np.nan
    write_columns(s["d"] / "hs.txt", [(int(s["il"][i]), int(s["xl"][j]), -999.25 if np.isnan(h[i, j]) else float(h[i, j]))
                                      for i in range(h.shape[0]) for j in range(h.shape[1])])
    stats = ["mean", "rms", "min", "max", "maxabs", "variance", "stdev", "sum", "mean_positive",
             "mean_negative", "mean_absolute", "sum_positive", "sum_negative", "sum_absolute",
             "z_of_max", "z_of_min", "count"]
    m = run_maps(s, [{"horizon": str(s["d"] / "hs.txt"), "window": [-20, 40], "statistics": stats, "name": "w"},
                     {"horizon": str(s["d"] / "hs.txt"), "window": [-12, 12], "attribute": "envelope",
                      "statistics": "mean", "name": "env"}], "window.zarr")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        xt = s["cube"].compute_attributes_in_window(surface(s, h - 20), surface(s, h + 40), ndiv=1,
                                                     interpolation="linear")
    a, t = s["a"], s["t"]
    # xtgeo counts zeros among the positive values; here zero is neither
    zeros = np.array([[np.any(a[i, j, (t >= h[i, j] - 20) & (t <= h[i, j] + 40)] == 0) if np.isfinite(h[i, j])
                       else False for j in range(h.shape[1])] for i in range(h.shape[0])])
    for ours, theirs in [("mean", "mean"), ("rms", "rms"), ("min", "min"), ("max", "max"), ("maxabs", "maxabs"),
                         ("variance", "var"), ("mean_absolute", "meanabs"), ("mean_positive", "meanpos"),
                         ("mean_negative", "meanneg")]:
        want = np.ma.filled(xt[theirs].values, np.nan).astype(np.float64)
        got = m[f"w_{ours}"][:]
        if theirs in ("meanpos", "meanneg"):
            assert (~zeros & np.isfinite(h)).sum() > 0.5 * h.size
            want[zeros], got = np.nan, np.where(zeros, np.nan, got)
        both = np.isfinite(got) & np.isfinite(want)
        assert both.sum() > 0.9 * got.size, ours
        assert np.array_equal(np.isnan(got), np.isnan(want)), ours
        assert np.nanmax(np.abs(got - want)) <= 1e-5 * np.nanmax(np.abs(want)), ours
    # the rest, with numpy
    env = np.abs(scipy.signal.hilbert(a, axis=2))
    for i in range(h.shape[0]):
        for j in range(h.shape[1]):
            if np.isnan(h[i, j]):
                assert np.isnan(m["w_mean"][i, j]) and np.isnan(m["env"][i, j])
                continue
            sel = (t >= h[i, j] - 20 - 1e-6) & (t <= h[i, j] + 40 + 1e-6)
            v, z = a[i, j, sel], t[sel]
            want = {"sum": v.sum(), "stdev": v.std(), "sum_positive": v[v > 0].sum(), "sum_negative": v[v < 0].sum(),
                    "sum_absolute": np.abs(v).sum(), "z_of_max": z[np.argmax(v)], "z_of_min": z[np.argmin(v)],
                    "count": len(v)}
            for k, w in want.items():
                assert abs(m[f"w_{k}"][i, j] - w) <= 1e-5 * max(1.0, abs(w)), (k, i, j)
            sel = (t >= h[i, j] - 12 - 1e-6) & (t <= h[i, j] + 12 + 1e-6)
            assert abs(m["env"][i, j] - env[i, j, sel].mean()) <= 1e-5 * env.max()


def test_a_map_is_drawn_whole_with_its_holes_transparent(survey):
    from PIL import Image
    s = survey
    h = s["picked"] + 1.3
    h[3, 4] = np.nan
    write_columns(s["d"] / "hv.txt", [(int(s["il"][i]), int(s["xl"][j]), -999.25 if np.isnan(h[i, j]) else float(h[i, j]))
                                      for i in range(h.shape[0]) for j in range(h.shape[1])])
    run_maps(s, [{"horizon": str(s["d"] / "hv.txt"), "name": "amp"}], "view.zarr")
    png = s["d"] / "map.png"
    p = run_attr("view", s["d"] / "view.zarr", "--variable", "amp", "-o", png)
    # "data at x X0..X1, y Y0..Y1, SXxSY px per cell"
    words = p.stdout.split("data at x ")[1]
    x0 = int(words.split("..")[0])
    y0 = int(words.split("y ")[1].split("..")[0])
    sx, sy = map(int, words.split(", ")[2].split(" px")[0].split("x"))
    img = np.asarray(Image.open(png).convert("RGBA"))
    # inline along x, crossline down the rows; the hole at inline 3, crossline 4
    cell = lambda i, j: img[y0 + j * sy + sy // 2, x0 + i * sx + sx // 2]
    assert cell(3, 4)[3] == 0 and cell(3, 5)[3] == 255 and cell(0, 0)[3] == 255


def test_horizons_are_drawn_on_sections(survey):
    from PIL import Image
    s = survey
    h = s["picked"] + 1.3
    write_columns(s["d"] / "hline.txt", [(int(s["il"][i]), int(s["xl"][j]), float(h[i, j]))
                                         for i in range(h.shape[0]) for j in range(h.shape[1])])
    png = s["d"] / "section.png"
    p = run_attr("view", s["vol"], "--index-inline", "7", "--horizon", s["d"] / "hline.txt", "-o", png)
    words = p.stdout.split("data at x ")[1]
    x0, y0 = int(words.split("..")[0]), int(words.split("y ")[1].split("..")[0])
    sx, sy = map(int, words.split(", ")[2].split(" px")[0].split("x"))
    img = np.asarray(Image.open(png).convert("RGBA"))
    t0, dt = s["t"][0], s["t"][1] - s["t"][0]
    for j in range(h.shape[1]):
        x = x0 + j * sx + sx // 2
        y = int(round(y0 + ((h[7, j] - t0) / dt + 0.5) * sy))
        assert (img[y, x, :3] == 0).all(), (j, img[y, x])
    p = run_attr("view", s["vol"], "--sample", "200", "--horizon", s["d"] / "hline.txt", "-o", png, check=False)
    assert p.returncode != 0 and "sections" in p.stderr and p.stderr.count("\n") == 1, p.stderr


@pytest.mark.parametrize("fmt", ["irap", "irap-binary", "zmap", "xyz"])
def test_exported_maps_read_back_in_xtgeo(survey, fmt):
    s = survey
    # a smooth horizon (a plane in x/y, with a hole), so that ZMAP+'s
    # resampling onto a north-aligned grid is exact too
    plane = lambda x, y: 150.0 + 0.01 * (x - s["x"].min()) - 0.02 * (y - s["y"].min())
    h = plane(s["x"], s["y"])
    h[3, 4] = np.nan
    rows = [(float(s["x"][i, j]), float(s["y"][i, j]), -999.25 if np.isnan(h[i, j]) else float(h[i, j]))
            for i in range(h.shape[0]) for j in range(h.shape[1])]
    write_columns(s["d"] / "plane.txt", rows, "x y z")
    run_attr("horizon", "import", s["d"] / "plane.txt", s["d"] / "plane.zarr", "--survey", s["vol"], "-q",
             "--overwrite")
    out = s["d"] / f"plane.{fmt}"
    run_attr("export", "map", s["d"] / "plane.zarr", out, "--format", fmt, "--overwrite")
    if fmt == "xyz":
        xyz = np.loadtxt(out)
        live = np.isfinite(h)
        assert len(xyz) == live.sum()
        assert np.allclose(xyz[:, 2], plane(xyz[:, 0], xyz[:, 1]), atol=1e-3)
        return
    sf = xtgeo.surface_from_file(str(out), fformat={"irap": "irap_ascii", "irap-binary": "irap_binary",
                                                    "zmap": "zmap_ascii"}[fmt])
    if fmt.startswith("irap"):
        # the survey's own grid: every node lies on a trace and holds its value
        values = np.ma.filled(sf.values, np.nan)
        for i in range(sf.ncol):
            for j in range(sf.nrow):
                x, y, _ = sf.get_xy_value_from_ij(i + 1, j + 1)  # (xtgeo counts from 1)
                v = values[i, j]
                d = np.hypot(s["x"] - x, s["y"] - y)
                k = np.unravel_index(np.argmin(d), d.shape)
                assert d[k] < 1.0, (i, j, d[k])  # (IRAP binary keeps positions as f32)
                assert (np.isnan(v) and np.isnan(h[k])) or abs(v - h[k]) < 1e-4, (i, j, v, h[k])
        return
    # ZMAP+ has no rotation: resampled, then read between its nodes
    got = np.array([[sf.get_value_from_xy(point=(s["x"][i, j], s["y"][i, j])) or np.nan
                     for j in range(h.shape[1])] for i in range(h.shape[0])], dtype=float)
    assert np.isfinite(got).sum() > 0.6 * h.size
    assert np.nanmax(np.abs(got - h)) < 5e-3, np.nanmax(np.abs(got - h))


def test_synth_writes_the_horizons_of_its_reflectors(tmp_path):
    vol = tmp_path / "s.zarr"
    run_attr("synth", vol, "--shape", "48,40,256", "--noise", "0", "-q")
    hz = zarr.open_group(str(tmp_path / "s_horizons.zarr"), mode="r")
    names = sorted(k for k in hz.array_keys() if k.startswith("h"))
    g = zarr.open_group(str(vol), mode="r")
    a, mask = g["amplitude"][:].astype(np.float64), g["trace_mask"][:] == 1
    t = np.arange(a.shape[2]) * 4.0
    assert len(names) > 10 and list(hz["inline"][:]) == list(g["inline"][:])
    # on the reflections: the amplitude is larger on the horizons than
    # halfway between them, everywhere in the survey
    at = lambda z: np.array([[np.interp(z[i, j], t, a[i, j]) if mask[i, j] and 0 <= z[i, j] <= t[-1] else np.nan
                              for j in range(a.shape[1])] for i in range(a.shape[0])])
    on, between = [], []
    for h0, h1 in zip(names[2:-3], names[3:-2]):
        z0, z1 = hz[h0][:], hz[h1][:]
        assert np.array_equal(np.isnan(z0), ~mask)
        on.append(np.nanmean(np.abs(at(z0))))
        between.append(np.nanmean(np.abs(at((z0 + z1) / 2))))
    assert np.mean(on) > 1.5 * np.mean(between), (np.mean(on), np.mean(between))
    # a job names one of them as DATASET:VARIABLE
    job = tmp_path / "m.yaml"
    job.write_text(json.dumps({"input": str(vol), "maps": [
        {"horizon": f"{tmp_path / 's_horizons.zarr'}:{names[5]}", "path": str(tmp_path / "m.zarr"), "name": "v"}]}))
    run_attr("run", job, "-q")
    got = zarr.open_group(str(tmp_path / "m.zarr"), mode="r")["v"][:]
    want = at(hz[names[5]][:].astype(np.float64))
    assert np.array_equal(np.isnan(got), np.isnan(want))
    assert np.nanmax(np.abs(got - want)) <= 1e-5 * np.nanmax(np.abs(want))


def test_a_volume_flattened_on_a_horizon(survey):
    import xarray as xr
    s = survey
    h = s["picked"] + 1.3
    h[6, 2] = np.nan
    write_columns(s["d"] / "hf.txt", [(int(s["il"][i]), int(s["xl"][j]), -999.25 if np.isnan(h[i, j]) else float(h[i, j]))
                                      for i in range(h.shape[0]) for j in range(h.shape[1])])
    run_maps(s, [{"horizon": str(s["d"] / "hf.txt"), "window": [-20, 40], "statistics": "samples",
                  "interpolation": "linear", "name": "flat"}], "flat.zarr")
    ds = xr.open_zarr(s["d"] / "flat.zarr")
    assert ds["flat"].dims == ("inline", "crossline", "relative_time")
    off = ds["relative_time"].values
    assert list(off) == list(np.arange(-20, 41, 4.0)) and list(ds["inline"].values) == list(s["il"])
    a, t = s["a"], s["t"]
    want = np.full(ds["flat"].shape, np.nan)
    for i in range(h.shape[0]):
        for j in range(h.shape[1]):
            if np.isfinite(h[i, j]) and h[i, j] - 20 >= t[0] and h[i, j] + 40 <= t[-1]:
                want[i, j] = np.interp(h[i, j] + off, t, a[i, j])
    got = ds["flat"].values
    assert np.array_equal(np.isnan(got), np.isnan(want))
    assert np.nanmax(np.abs(got - want)) <= 1e-5 * np.nanmax(np.abs(want))
    # a volume needs a dataset of its own
    job = s["d"] / "mixed.yaml"
    out = str(s["d"] / "mixed.zarr")
    job.write_text(json.dumps({"input": str(s["vol"]), "maps": [
        {"horizon": str(s["d"] / "hf.txt"), "window": [-8, 8], "statistics": "samples", "path": out},
        {"horizon": str(s["d"] / "hf.txt"), "path": out, "name": "v"}]}))
    p = run_attr("run", job, check=False)
    assert p.returncode != 0 and "of its own" in p.stderr and p.stderr.count("\n") == 1, p.stderr


def test_a_plain_zarr_array_is_a_horizon(survey):
    s = survey
    h = (s["picked"] + 1.0).astype(np.float32)
    h[1, 1] = np.nan
    zarr.create_array(str(s["d"] / "plain.zarr"), data=h, dimension_names=("inline", "crossline"))
    m = run_maps(s, [{"horizon": str(s["d"] / "plain.zarr"), "interpolation": "nearest", "name": "v"}], "plain_map.zarr")
    a, t = s["a"], s["t"]
    k = np.rint((h - t[0]) / (t[1] - t[0]))
    want = np.array([[a[i, j, int(k[i, j])] if np.isfinite(h[i, j]) else np.nan for j in range(h.shape[1])]
                     for i in range(h.shape[0])])
    got = m["v"][:]
    assert np.array_equal(np.isnan(got), np.isnan(want)) and np.nanmax(np.abs(got - want)) == 0


def test_zarr_horizons_are_imported_by_their_line_numbers(survey):
    s = survey
    h = s["picked"] + 0.5
    # a dataset on part of the survey, with its line numbers
    g = zarr.open_group(str(s["d"] / "part.zarr"), mode="w")
    g.create_array("z", data=h[3:10, 2:], dimension_names=("inline", "crossline"))
    g.create_array("inline", data=s["il"][3:10], dimension_names=("inline",))
    g.create_array("crossline", data=s["xl"][2:], dimension_names=("crossline",))
    run_attr("horizon", "import", s["d"] / "part.zarr", s["d"] / "part_on.zarr", "--survey", s["vol"], "-q")
    got = horizon(s["d"] / "part_on.zarr")
    want = np.full(h.shape, np.nan)
    want[3:10, 2:] = h[3:10, 2:]
    assert np.array_equal(np.isnan(got), np.isnan(want)) and np.nanmax(np.abs(got - want)) < 1e-3
    # a plain array of the survey's shape
    zarr.create_array(str(s["d"] / "whole.zarr"), data=h.astype(np.float32))
    run_attr("horizon", "import", s["d"] / "whole.zarr", s["d"] / "whole_on.zarr", "--survey", s["vol"], "-q")
    assert np.nanmax(np.abs(horizon(s["d"] / "whole_on.zarr") - h)) < 1e-3


def test_a_window_down_to_a_base_horizon(survey):
    s = survey
    h = s["picked"].astype(np.float64)
    base = h + 28
    base[0, :] = h[0, :] - 8  # above the top there: null
    for name, z in [("top.txt", h), ("base.txt", base)]:
        write_columns(s["d"] / name, [(int(s["il"][i]), int(s["xl"][j]), float(z[i, j]))
                                      for i in range(h.shape[0]) for j in range(h.shape[1])])
    job_maps = [{"horizon": str(s["d"] / "top.txt"), "base": {"horizon": str(s["d"] / "base.txt"), "offset": 4},
                 "statistics": ["rms", "count"], "name": "b"}]
    m = run_maps(s, job_maps, "base.zarr")
    a, t = s["a"], s["t"]
    assert np.isnan(m["b_rms"][0, :]).all()
    for i in range(1, h.shape[0]):
        for j in range(h.shape[1]):
            sel = (t >= h[i, j] - 1e-6) & (t <= base[i, j] + 4 + 1e-6)
            assert m["b_count"][i, j] == sel.sum()
            assert abs(m["b_rms"][i, j] - np.sqrt(np.mean(a[i, j, sel] ** 2))) <= 1e-5 * np.abs(a).max()


def test_a_map_reads_only_the_chunks_its_windows_touch(tmp_path):
    vol = tmp_path / "s.zarr"
    run_attr("synth", vol, "--shape", "64,48,512", "--chunks", "32,16,64", "-q")
    lines = [f"{1000 + i} {2000 + j} {400 + 0.5 * i:.1f}" for i in range(64) for j in range(48)]
    (tmp_path / "h.txt").write_text("\n".join(lines) + "\n")
    job = tmp_path / "m.yaml"
    job.write_text(json.dumps({"input": str(vol), "maps": [
        {"horizon": str(tmp_path / "h.txt"), "window": [-20, 20], "statistics": "rms", "path": str(tmp_path / "m.zarr")}]}))
    plan = run_attr("plan", job).stdout
    # windows 400..452 ms span samples 95..118: chunks 1 of 8 along time, with the margin 2
    assert "reads     6 of 48 input chunks" in plan, plan
    p = run_attr("run", job)
    assert "6 decodes of 6 input chunks" in p.stderr, p.stderr


@pytest.mark.parametrize("case", [
    "empty", "unknown", "unparsable", "columns", "outside", "seconds", "duplicates", "no overlap"])
def test_bad_horizon_files_get_one_line(survey, case):
    s = survey
    f = s["d"] / f"bad_{case.replace(' ', '_')}.txt"
    il, xl = int(s["il"][0]), int(s["xl"][0])
    text = {
        "empty": "\n\n",
        "unparsable": f"{il} {xl} 150\n{il} {xl + 1} 1x0\n",
        "columns": f"{il} {xl}\n",
        "outside": f"{il} {xl} 5000\n",
        "seconds": f"{il} {xl} 0.15\n{il} {xl + 1} 0.16\n",
        "duplicates": f"{il} {xl} 150\n{il} {xl} 190\n",
        "no overlap": "-996 2 25.0 25.0\n0 25 0 25\n2 0 0 0\n0 0 0 0 0 0 0\n1 2 3 4\n",
    }.get(case)
    if case == "unknown":
        f.write_bytes(bytes(range(256)) * 4)
    else:
        f.write_text(text)
    p = run_attr("horizon", "import", f, s["d"] / "bad.zarr", "--survey", s["vol"], check=False)
    err = [l for l in p.stderr.splitlines() if l.startswith("error")]
    assert p.returncode != 0 and len(err) == 1, p.stderr
    assert f.name in err[0], err
    assert {"empty": "empty", "unknown": "format", "unparsable": "line 2", "columns": "--columns",
            "outside": "wholly outside", "seconds": "seconds", "duplicates": "disagree",
            "no overlap": "does not overlap"}[case] in err[0], err
    assert not (s["d"] / "bad.zarr").exists()


@pytest.mark.parametrize("case", ["negative window", "base above top", "statistic without window", "refine zero"])
def test_bad_map_jobs_get_one_line(survey, case):
    s = survey
    h = s["picked"].astype(np.float64)
    write_columns(s["d"] / "hb.txt", [(int(s["il"][i]), int(s["xl"][j]), float(h[i, j]))
                                      for i in range(h.shape[0]) for j in range(h.shape[1])])
    m = {"horizon": str(s["d"] / "hb.txt"), "path": str(s["d"] / "bad_map.zarr")}
    m.update({"negative window": {"window": [20, -20], "statistics": "mean"},
              "base above top": {"base": {"horizon": str(s["d"] / "hb.txt"), "offset": -8}, "statistics": "mean"},
              "statistic without window": {"statistics": "rms"},
              "refine zero": {"window": [-8, 8], "statistics": "mean", "refine": 0}}[case])
    job = s["d"] / "bad_map.yaml"
    job.write_text(json.dumps({"input": str(s["vol"]), "maps": [m]}))
    p = run_attr("run", job, check=False)
    err = [l for l in p.stderr.splitlines() if l.startswith("error")]
    assert p.returncode != 0 and len(err) == 1 and "maps[0]" in err[0], p.stderr
    assert {"negative window": "negative length", "base above top": "above the horizon everywhere",
            "statistic without window": "needs a window", "refine zero": "refine: 0"}[case] in err[0], err
    assert not (s["d"] / "bad_map.zarr").exists()


def test_maps_beside_volumes_come_from_the_same_pass(survey):
    """A job with `outputs:` and `maps:` writes what the two jobs write
    alone, bit for bit, and decodes each input chunk once for both."""
    s = survey
    h = s["picked"].astype(np.float64)
    rows = [(int(s["il"][i]), int(s["xl"][j]), float(h[i, j]))
            for i in range(h.shape[0]) for j in range(h.shape[1]) if not (i < 6 and j < 10)]  # a hole
    rows.append((int(s["il"][-1]) + 40, int(s["xl"][0]), 150.0))  # a point off the survey
    write_columns(s["d"] / "h_pass.txt", rows)
    maps = [{"horizon": str(s["d"] / "h_pass.txt"), "attribute": "semblance", "window": [-12, 20],
             "statistics": ["mean", "max"]},
            {"horizon": str(s["d"] / "h_pass.txt"), "name": "amp", "interpolation": "cubic"}]
    outputs = [{"attribute": "semblance"}, {"attribute": "envelope"}]

    def job(name, with_outputs, with_maps):
        spec = {"input": str(s["vol"]), "workers": 2}
        if with_outputs:
            spec["outputs"] = [dict(o, path=str(s["d"] / f"{name}_vol.zarr")) for o in outputs]
        if with_maps:
            spec["maps"] = [dict(m, path=str(s["d"] / f"{name}_maps.zarr")) for m in maps]
        path = s["d"] / f"{name}.yaml"
        path.write_text(json.dumps(spec))
        err = run_attr("run", path, "--overwrite").stderr
        return int(err.split(" decodes of ")[0].rsplit(" ", 1)[1]), err

    both, err = job("both", True, True)
    volumes, _ = job("vol_alone", True, False)
    job("maps_alone", False, True)
    assert both == volumes, err
    plan = run_attr("plan", s["d"] / "both.yaml").stdout
    assert "the maps read in the volumes' pass" in plan, plan
    for kind, names in (("vol", ["semblance", "envelope"]), ("maps", ["semblance_mean", "semblance_max", "amp"])):
        a = zarr.open_group(str(s["d"] / f"both_{kind}.zarr"), mode="r")
        b = zarr.open_group(str(s["d"] / f"{'vol' if kind == 'vol' else 'maps'}_alone_{kind}.zarr"), mode="r")
        for n in names:
            x, y = a[n][:], b[n][:]
            assert np.isfinite(x).any() and (kind == "vol" or np.isnan(x).any()), n  # maps: the hole
            assert np.array_equal(x.view(np.uint32), y.view(np.uint32)), n


def test_a_map_null_everywhere_is_warned_of(survey):
    s = survey
    h = s["picked"].astype(np.float64)
    write_columns(s["d"] / "h_deep.txt", [(int(s["il"][i]), int(s["xl"][j]), float(s["t"][-1]) - 1.0)
                                          for i in range(h.shape[0]) for j in range(h.shape[1])])
    job = s["d"] / "deep.yaml"
    job.write_text(json.dumps({"input": str(s["vol"]), "maps": [
        {"horizon": str(s["d"] / "h_deep.txt"), "window": [0, 40], "statistics": "rms",
         "path": str(s["d"] / "deep.zarr")}]}))
    err = run_attr("run", job, "--overwrite").stderr
    assert "null everywhere" in err and "window" in err, err


def test_refined_window_statistics_equal_xtgeo_ndiv(survey):
    """`refine: N` reads the window N times per sample interval, as xtgeo's
    ndiv does (here linearly, which both define alike), off the samples and
    with a hole; sums stay at the samples in both."""
    s = survey
    h = s["picked"].astype(np.float64) + 1.3
    h[2:5, 7:9] = np.nan
    write_columns(s["d"] / "hr.txt", [(int(s["il"][i]), int(s["xl"][j]), float(h[i, j]))
                                      for i in range(h.shape[0]) for j in range(h.shape[1]) if np.isfinite(h[i, j])])
    stats = ["mean", "rms", "min", "max", "maxabs", "variance", "mean_absolute", "sum_absolute"]
    m = run_maps(s, [{"horizon": str(s["d"] / "hr.txt"), "window": [-10, 17], "statistics": stats, "name": "r",
                      "refine": 5, "interpolation": "linear"}], "refined.zarr")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        xt = s["cube"].compute_attributes_in_window(surface(s, h - 10), surface(s, h + 17), ndiv=5,
                                                     interpolation="linear")
    for ours, theirs in [("mean", "mean"), ("rms", "rms"), ("min", "min"), ("max", "max"), ("maxabs", "maxabs"),
                         ("variance", "var"), ("mean_absolute", "meanabs"), ("sum_absolute", "sumabs")]:
        want = np.ma.filled(xt[theirs].values, np.nan).astype(np.float64)
        got = m[f"r_{ours}"][:]
        assert np.isnan(got[3, 8]) and np.isfinite(got).sum() > 0.9 * got.size, ours
        assert np.array_equal(np.isnan(got), np.isnan(want)), ours
        assert np.nanmax(np.abs(got - want)) <= 1e-5 * np.nanmax(np.abs(want)), ours
    # and refining changes what it should: means weigh the readings between samples
    plain = run_maps(s, [{"horizon": str(s["d"] / "hr.txt"), "window": [-10, 17], "statistics": "mean",
                          "name": "p"}], "plain.zarr")["p"][:]
    assert np.nanmax(np.abs(plain - m["r_mean"][:])) > 1e-3 * np.nanmax(np.abs(plain))
