"""`attr convert images`: every pixel kept, natural order, dtype preserved,
multi-page TIFF, one clear error for a slice of another size."""
import numpy as np
import pytest
import zarr
from PIL import Image

from conftest import run_attr

H, W = 37, 53


def plane(k, dtype):
    y, x = np.mgrid[0:H, 0:W]
    v = (y * 7 + x * 3 + k * 11) % 251
    if dtype == np.uint16:
        v = v * 257 + k
    return v.astype(dtype) if dtype != np.float32 else (v * 0.5 - 20 + k / 8).astype(np.float32)


def save(path, a):
    if a.dtype == np.uint8:
        Image.fromarray(a, mode="L").save(path)
    elif a.dtype == np.uint16:
        Image.fromarray(a.astype(np.uint16)).save(path)
    else:
        Image.fromarray(a, mode="F").save(path)


@pytest.mark.parametrize("dtype,ext", [(np.uint8, "png"), (np.uint16, "png"), (np.uint16, "tif"), (np.float32, "tif")])
def test_slices_in_natural_order_keep_every_pixel(tmp_path, dtype, ext):
    d = tmp_path / "stack"
    d.mkdir()
    for k in range(12):                      # slice_1 .. slice_12: natural order, not 1, 10, 11, 12, 2
        save(d / f"slice_{k + 1}.{ext}", plane(k, dtype))
    out = tmp_path / "s.zarr"
    run_attr("convert", "images", d, out, "--chunks", "5,16,16", "-q")
    got = zarr.open_group(str(out), mode="r")["image"][...]
    want = np.stack([plane(k, dtype) for k in range(12)])
    assert got.dtype == want.dtype and np.array_equal(got, want)
    # one thread gives the same; a batch log gets plain progress lines
    p = run_attr("convert", "images", d, tmp_path / "t.zarr", "--chunks", "5,16,16", "--threads", "1")
    assert np.array_equal(zarr.open_group(str(tmp_path / "t.zarr"), mode="r")["image"][...], want)
    assert "convert: 12/12 slices (100%)" in p.stderr, p.stderr


def test_multipage_tiff_glob_and_dims(tmp_path):
    pages = [Image.fromarray(plane(k, np.uint16)) for k in range(6)]
    pages[0].save(tmp_path / "a_1.tif", save_all=True, append_images=pages[1:3])
    pages[3].save(tmp_path / "a_2.tif", save_all=True, append_images=pages[4:])
    out = tmp_path / "m.zarr"
    run_attr("convert", "images", str(tmp_path / "a_*.tif"), out, "--dims", "depth,y,x", "-q")
    g = zarr.open_group(str(out), mode="r")
    assert np.array_equal(g["image"][...], np.stack([plane(k, np.uint16) for k in range(6)]))
    assert g["image"].metadata.dimension_names == ("depth", "y", "x")


def test_a_slice_of_another_size_is_named(tmp_path):
    for k in range(3):
        save(tmp_path / f"s{k}.png", plane(k, np.uint8))
    Image.fromarray(np.zeros((H + 1, W), np.uint8), mode="L").save(tmp_path / "s3.png")
    p = run_attr("convert", "images", tmp_path, tmp_path / "x.zarr", check=False)
    assert p.returncode != 0 and p.stderr.count("\n") == 1
    assert "s3.png" in p.stderr and f"{W}×{H + 1}" in p.stderr, p.stderr
    assert not (tmp_path / "x.zarr").exists()
