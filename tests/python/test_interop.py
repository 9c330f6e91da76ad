"""Zarr interop both ways: we read what zarr-python / dask / xarray write
(every codec and dtype users meet), and they read what we write, value for
value, with dimension names and coordinates."""
import dask.array as da
import numpy as np
import pytest
import scipy.ndimage as ndi
import xarray as xr
import zarr
from zarr.codecs import BloscCodec, GzipCodec, ShardingCodec, ZstdCodec, BytesCodec
from numcodecs import Blosc, GZip, Zstd

from conftest import F3, run_job

SHAPE, CHUNKS = (11, 13, 37), (4, 5, 16)


def data(dtype):
    rng = np.random.default_rng(7)
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "iu" else None
    if info is not None:
        lo, hi = max(info.min, -30000), min(info.max, 30000)
        return rng.integers(lo, hi, SHAPE, endpoint=True).astype(dtype)
    return (rng.standard_normal(SHAPE) * 1000).astype(dtype)


V2_COMPRESSORS = {
    "blosc-lz4": Blosc(cname="lz4", clevel=5, shuffle=Blosc.SHUFFLE),
    "blosc-zstd": Blosc(cname="zstd", clevel=3, shuffle=Blosc.SHUFFLE),
    "zstd": Zstd(level=3),
    "gzip": GZip(level=5),
    "none": None,
}
V3_CODECS = {
    "zstd": dict(compressors=[ZstdCodec(level=3)]),
    "gzip": dict(compressors=[GzipCodec(level=5)]),
    "blosc": dict(compressors=[BloscCodec(cname="lz4", clevel=5, shuffle="shuffle")]),
    "sharding": dict(shards=(8, 10, 32), compressors=[ZstdCodec(level=1)]),
}


def copy_back(tmp_path, src, variable=None):
    out = tmp_path / "copy.zarr"
    spec = {"input": str(src), "outputs": [{"attribute": "copy", "path": str(out), "dtype": "float64"}]}
    if variable:
        spec["variable"] = variable
    run_job(tmp_path, spec, "-q")
    return zarr.open_group(str(out), mode="r")["copy"][...]


@pytest.mark.parametrize("codec", list(V2_COMPRESSORS))
def test_reads_v2_codecs(tmp_path, codec):
    x = data("float32")
    z = zarr.create_array(str(tmp_path / "in.zarr"), shape=SHAPE, chunks=CHUNKS, dtype="float32",
                          zarr_format=2, compressors=V2_COMPRESSORS[codec])
    z[...] = x
    np.testing.assert_array_equal(copy_back(tmp_path, tmp_path / "in.zarr"), x.astype(np.float64))


@pytest.mark.parametrize("codec", list(V3_CODECS))
def test_reads_v3_codecs(tmp_path, codec):
    x = data("float32")
    z = zarr.create_array(str(tmp_path / "in.zarr"), shape=SHAPE, chunks=CHUNKS, dtype="float32",
                          zarr_format=3, **V3_CODECS[codec])
    z[...] = x
    np.testing.assert_array_equal(copy_back(tmp_path, tmp_path / "in.zarr"), x.astype(np.float64))


@pytest.mark.parametrize("fmt", [2, 3])
@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "uint8", "uint16", "uint32", "float32", "float64"])
def test_reads_every_dtype(tmp_path, fmt, dtype):
    x = data(dtype)
    z = zarr.create_array(str(tmp_path / "in.zarr"), shape=SHAPE, chunks=CHUNKS, dtype=dtype, zarr_format=fmt)
    z[...] = x
    # kernels compute in f32
    np.testing.assert_array_equal(copy_back(tmp_path, tmp_path / "in.zarr"), x.astype(np.float32).astype(np.float64))


@pytest.mark.parametrize("fmt", [2, 3])
def test_reads_dask_to_zarr_and_xarray_datasets(tmp_path, fmt):
    x = data("float32")
    da.from_array(x, chunks=CHUNKS).to_zarr(str(tmp_path / "dask.zarr"), zarr_format=fmt)
    np.testing.assert_array_equal(copy_back(tmp_path, tmp_path / "dask.zarr"), x)
    ds = xr.Dataset({"amp": (("il", "xl", "t"), x), "other": (("il", "xl", "t"), x * 2)},
                    coords={"il": np.arange(SHAPE[0]) + 100, "xl": np.arange(SHAPE[1]) * 2, "t": np.arange(SHAPE[2]) * 4.0})
    ds.to_zarr(str(tmp_path / "ds.zarr"), zarr_format=fmt, encoding={"amp": {"chunks": CHUNKS}})
    np.testing.assert_array_equal(copy_back(tmp_path, tmp_path / "ds.zarr", variable="other"), x * 2)


@pytest.mark.parametrize("fmt", [2, 3])
@pytest.mark.parametrize("compression", ["zstd", "blosc", "gzip", "none"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_python_reads_what_we_write(tmp_path, fmt, compression, dtype):
    out = tmp_path / "o.zarr"
    run_job(tmp_path, {"input": str(F3), "outputs": [
        {"attribute": "copy", "path": str(out), "format": fmt, "compression": compression, "dtype": dtype},
        {"attribute": "rms_amplitude", "name": "rms", "path": str(out), "format": fmt,
         "compression": compression, "dtype": dtype, "chunks": [10, 9, 40]},
    ]}, "-q")
    src = xr.open_zarr(F3)
    ds = xr.open_zarr(out)               # consolidated metadata: no fallback warning
    assert ds["copy"].dims == ("inline", "crossline", "time")
    assert ds["copy"].dtype == np.dtype(dtype)
    for c in ("inline", "crossline", "time"):
        np.testing.assert_array_equal(ds[c].values, src[c].values)
        assert ds[c].dtype == src[c].dtype
    np.testing.assert_array_equal(ds["copy"].values, src.amplitude.values.astype(dtype))
    assert ds.attrs["sample_interval_ms"] == 4.0
    prov = ds.rms.attrs["provenance"]
    assert prov["attribute"] == "rms_amplitude" and prov["parameters"] == {"window": 9}
    assert prov["boundary"] == "reflect" and prov["engine"].startswith("attr ")
    assert ds.rms.encoding["chunks"] == (10, 9, 40)
    x = src.amplitude.values.astype(np.float64)
    want = np.sqrt(ndi.uniform_filter1d(x * x, 9, axis=2, mode="reflect"))
    np.testing.assert_allclose(ds.rms.values, want.astype(dtype), rtol=1e-4, atol=1e-2)
    z = zarr.open_group(str(out), mode="r")
    assert z.metadata.zarr_format == fmt
    np.testing.assert_array_equal(z["copy"][...], src.amplitude.values.astype(dtype))


def test_plain_array_input_gives_default_dims(tmp_path):
    x = data("float32")
    z = zarr.create_array(str(tmp_path / "in.zarr"), shape=SHAPE, chunks=CHUNKS, dtype="float32", zarr_format=3)
    z[...] = x
    out = tmp_path / "o.zarr"
    run_job(tmp_path, {"input": str(tmp_path / "in.zarr"), "outputs": [{"attribute": "copy", "path": str(out)}]}, "-q")
    assert xr.open_zarr(out)["copy"].dims == ("inline", "crossline", "sample")
