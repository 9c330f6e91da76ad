#!/usr/bin/env python3
"""The Dask baseline: seismic attributes as a Dask user computes them today.

    dask_baseline.py ATTR IN.zarr OUT.zarr [--variable amplitude] [--workers N] [--dt SECONDS]

IN is a 3-D float Zarr array (or a group, with --variable naming the array),
sample axis last. The attribute is built with `map_overlap` (or, for the
analytic-trace attributes, whole-trace `map_blocks` after a rechunk, as a
Dask user must), and written with the input's chunks and compressors through
`da.store` on the threaded scheduler. Prints one line:

    RESULT <attr> <seconds> <MB/s of input>

The definitions (scipy.ndimage, mode 'reflect' = Dask's boundary 'reflect'):
  copy            x
  envelope        |hilbert(x)|                      (scipy.signal.hilbert, whole trace)
  inst_phase      angle(hilbert(x))
  inst_freq       gradient(unwrap(angle(hilbert(x)))) / (2 pi dt)
  rms             sqrt(uniform_filter1d(x^2, 9))    along the samples
  semblance       U9_t(U3x3(x)^2) / U3x3x9(x^2)     0 where the energy is 0
  gst_coherence   (l1 - l2) / (l1 + l2) of the structure tensor: Gaussian
                  derivative gradients (sigma 1), products smoothed (sigma 2),
                  eigvalsh per sample; halo 12 on every axis
"""
from __future__ import annotations

import argparse
import functools
import time

import dask
import dask.array as da
import numpy as np
import scipy.ndimage as ndi
import scipy.signal
import zarr

F32 = np.empty((0, 0, 0), np.float32)
GST_HALO = 4 + 8   # gradient and smoothing radii at scipy's truncate 4


def analytic(x):
    return scipy.signal.hilbert(x.astype(np.float64), axis=2)


def envelope(x):
    return np.abs(analytic(x)).astype(np.float32)


def inst_phase(x):
    return np.angle(analytic(x)).astype(np.float32)


def inst_freq(x, dt):
    if x.shape[2] < 2:
        return np.zeros(x.shape, np.float32)
    phase = np.unwrap(np.angle(analytic(x)), axis=2)
    return (np.gradient(phase, axis=2) / (2 * np.pi * dt)).astype(np.float32)


def rms(x):
    x = x.astype(np.float64)
    return np.sqrt(ndi.uniform_filter1d(x * x, 9, axis=2, mode="reflect")).astype(np.float32)


def semblance(x):
    x = x.astype(np.float64)
    stack = ndi.uniform_filter(x, size=(3, 3, 1), mode="reflect")
    num = ndi.uniform_filter1d(stack * stack, 9, axis=2, mode="reflect")
    den = ndi.uniform_filter(x * x, size=(3, 3, 9), mode="reflect")
    out = np.zeros_like(num)
    np.divide(num, den, out=out, where=den > 0)
    return out.astype(np.float32)


def gst_coherence(x):
    x = x.astype(np.float64)
    grads = [ndi.gaussian_filter(x, 1.0, order=o, mode="reflect") for o in ((1, 0, 0), (0, 1, 0), (0, 0, 1))]
    # the halo is trimmed by map_overlap: decompose the interior only
    inner = tuple(slice(GST_HALO, n - GST_HALO) if n > 2 * GST_HALO else slice(None) for n in x.shape)
    t = np.empty(x[inner].shape + (3, 3))
    for a in range(3):
        for b in range(a, 3):
            t[..., a, b] = t[..., b, a] = ndi.gaussian_filter(grads[a] * grads[b], 2.0, mode="reflect")[inner]
    lam = np.linalg.eigvalsh(t)
    l1, l2 = lam[..., 2], lam[..., 1]
    out = np.zeros(x.shape, np.float32)
    coh = np.zeros(l1.shape)
    np.divide(l1 - l2, l1 + l2, out=coh, where=(l1 + l2) > 0)
    out[inner] = coh
    return out


def graph(attr: str, x: da.Array, dt: float) -> da.Array:
    if attr == "copy":
        return x
    if attr in ("envelope", "inst_phase", "inst_freq"):
        fn = {"envelope": envelope, "inst_phase": inst_phase,
              "inst_freq": functools.partial(inst_freq, dt=dt)}[attr]
        return x.rechunk({2: -1}).map_blocks(fn, dtype=np.float32, meta=F32).rechunk(x.chunks)
    depth = {"rms": (0, 0, 4), "semblance": (1, 1, 4), "gst_coherence": (GST_HALO,) * 3}[attr]
    fn = {"rms": rms, "semblance": semblance, "gst_coherence": gst_coherence}[attr]
    return x.map_overlap(fn, depth=dict(enumerate(depth)), boundary="reflect", dtype=np.float32, meta=F32)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("attr", choices=["copy", "envelope", "inst_phase", "inst_freq", "rms", "semblance",
                                     "gst_coherence"])
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--variable", help="the array inside a group (e.g. amplitude)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--dt", type=float, default=1.0, help="sample interval in seconds (inst_freq in Hz)")
    a = ap.parse_args()

    t0 = time.perf_counter()
    src = zarr.open_array(a.input, path=a.variable or "", mode="r")
    x = da.from_zarr(src)
    dst = zarr.create_array(a.output, shape=src.shape, chunks=src.chunks, dtype="float32",
                            compressors=src.compressors, zarr_format=src.metadata.zarr_format,
                            overwrite=True)
    with dask.config.set(scheduler="threads", num_workers=a.workers):
        da.store(graph(a.attr, x, a.dt), dst, lock=False)
    dt = time.perf_counter() - t0
    print(f"RESULT {a.attr} {dt:.3f} {src.nbytes / dt / 1e6:.1f}")


if __name__ == "__main__":
    main()
