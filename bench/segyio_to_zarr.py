#!/usr/bin/env python3
"""The baseline SEG-Y -> Zarr conversion a Python user writes: segyio reads the
cube (inline-sorted, bytes 189/193), zarr-python writes it chunk-aligned.

    segyio_to_zarr.py IN.sgy OUT.zarr CHUNK none|zstd

Writes OUT.zarr/seismic (float32, CHUNK^3 chunks, zstd level 3 or none),
one inline slab of chunks at a time, so memory stays at one slab.
"""
import sys

import numpy as np
import segyio
import zarr
from zarr.codecs import ZstdCodec


def main():
    src, dst, chunk, codec = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    with segyio.open(src, iline=189, xline=193) as f:
        shape = (len(f.ilines), len(f.xlines), len(f.samples))
        root = zarr.open_group(dst, mode="w")
        out = root.create_array("seismic", shape=shape, chunks=(chunk,) * 3, dtype="float32",
                                compressors=[ZstdCodec(level=3)] if codec == "zstd" else None)
        for i0 in range(0, shape[0], chunk):
            lines = f.ilines[i0:i0 + chunk]
            out[i0:i0 + len(lines)] = np.stack([f.iline[il] for il in lines]).astype(np.float32)


if __name__ == "__main__":
    main()
