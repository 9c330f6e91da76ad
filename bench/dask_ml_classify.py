#!/usr/bin/env python3
"""The dask-ml baseline for facies: StandardScaler + KMeans as a Python user
writes them, on feature variables of one Zarr dataset.

    dask_ml_classify.py FEATURES.zarr OUT.zarr NAME [NAME ...] --clusters K --sample N [--workers W]

Reads the variables with da.from_zarr, keeps the finite rows, fits the
scaler and KMeans (k-means||, dask-ml's default) on N rows drawn at random,
predicts every row and writes the labels (int16, -1 where null) with the
features' chunks, on the threads scheduler. Prints one line:

    RESULT <seconds>
"""
import argparse
import time

import dask
import dask.array as da
import numpy as np
import zarr
from dask_ml.cluster import KMeans
from dask_ml.preprocessing import StandardScaler


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("features")
    ap.add_argument("output")
    ap.add_argument("names", nargs="+")
    ap.add_argument("--clusters", type=int, required=True)
    ap.add_argument("--sample", type=int, required=True)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    t0 = time.perf_counter()
    with dask.config.set(scheduler="threads", num_workers=a.workers):
        cols = [da.from_zarr(a.features, component=n) for n in a.names]
        shape, chunks = cols[0].shape, cols[0].chunks
        x = da.stack([c.ravel() for c in cols], axis=1).rechunk({1: -1})
        live = da.isfinite(x).all(axis=1)
        rows = np.flatnonzero(live.compute())
        pick = np.sort(np.random.default_rng(0).choice(rows, min(a.sample, rows.size), replace=False))
        sample = x[pick].rechunk({0: 100_000})
        scaler = StandardScaler().fit(sample)
        km = KMeans(n_clusters=a.clusters, random_state=0).fit(scaler.transform(sample))
        labels = km.predict(scaler.transform(da.nan_to_num(x))).astype(np.int16)
        labels = da.where(live, labels, np.int16(-1)).reshape(shape).rechunk(chunks)
        out = zarr.create_array(a.output, shape=shape, chunks=cols[0].chunksize, dtype="int16",
                                fill_value=-1, overwrite=True)
        da.store(labels, out, lock=False)
    print(f"RESULT {time.perf_counter() - t0:.3f}")


if __name__ == "__main__":
    main()
