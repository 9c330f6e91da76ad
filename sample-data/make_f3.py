#!/usr/bin/env python3
"""Build sample-data/f3.zarr from the segyio test file f3.sgy (LGPL-3.0).

    python sample-data/make_f3.py PATH/TO/f3.sgy sample-data/f3.zarr

The result is an xarray dataset: `amplitude` (inline, crossline, time) as
float32, coordinates inline / crossline / time (ms), and the sample interval
in the attributes. Chunks (8, 8, 32) are deliberately smaller than the volume
on every axis so that the quickstart exercises halos across chunks.
"""
import sys

import numpy as np
import segyio
import xarray as xr

src, dst = sys.argv[1], sys.argv[2]
with segyio.open(src, iline=189, xline=193) as f:
    cube = segyio.tools.cube(f).astype(np.float32)
    ilines = np.asarray(f.ilines, dtype=np.int32)
    xlines = np.asarray(f.xlines, dtype=np.int32)
    dt_ms = segyio.tools.dt(f) / 1000.0
    t0 = float(f.header[0][segyio.TraceField.DelayRecordingTime])
times = (t0 + dt_ms * np.arange(cube.shape[2])).astype(np.float64)
ds = xr.Dataset(
    {"amplitude": (("inline", "crossline", "time"), cube)},
    coords={"inline": ilines, "crossline": xlines, "time": ("time", times, {"units": "ms"})},
    attrs={
        "sample_interval_ms": dt_ms,
        "source": "f3.sgy from the segyio test data (F3 block, Dutch North Sea), LGPL-3.0",
    },
)
enc = {"amplitude": {"chunks": (8, 8, 32)}}
ds.to_zarr(dst, mode="w", zarr_format=3, encoding=enc, consolidated=False)
print(dst, cube.shape)
