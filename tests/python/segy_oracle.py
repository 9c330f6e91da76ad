"""What the SEG-Y test files hold, decided at test time by segyio.

Every trace is placed at its own (inline, crossline[, offset]) header values
on the sorted axes, so the cube does not depend on the file's sorting. Files
segyio cannot read (sample formats 4, 7 and 15, rev 2.1 trace-header
extensions and XML layouts) are checked through the relation the segyio test
data states for them (see tests/data/segy/segyio-test-data-README.md):
the same samples as another file that segyio does read.
"""
from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import segyio

DATA = Path(__file__).resolve().parents[1] / "data" / "segy"

# the sample formats segyio decodes itself; for others it falls back to IBM
SEGYIO_FORMATS = {1, 2, 3, 5, 6, 8, 9, 10, 11, 12, 16}

# files that hold no cube: broken, headers only, or layouts that must be refused
NOT_A_CUBE = {
    "broken.sgy", "decrement.sgy", "decrement-lsb.sgy", "increment.sgy", "increment-lsb.sgy", "long.sgy",
    "mapping-empty.sgy", "mapping-encoding-private.sgy", "mapping-invalid-attribute.sgy",
    "mapping-invalid-root.sgy", "mapping-invalid-value.sgy", "mapping-unparsable.sgy",
    "mapping-unsupported-type.sgy", "shot-gather.sgy", "text.sgy",
}

# where inline and crossline come from the file's rev 2.1 XML layout
LAYOUT = {
    "mapping-all-types.sgy", "mapping-all-types-lsb.sgy", "mapping-encoding-ext1.sgy", "mapping-minimal.sgy",
    "mapping-mixed-order.sgy", "mapping-no-extension1.sgy", "mapping-shifted.sgy",
}


def _first_inline(c: "Cube") -> "Cube":
    return Cube(c.data[:1], c.ilines[:1], c.xlines, c.offsets, None, c.dt_us)


def _wrap24(c: "Cube") -> "Cube":
    return Cube((c.data.astype(np.int64) % (1 << 24)).astype(np.uint32), c.ilines, c.xlines, c.offsets,
                c.t0_ms, c.dt_us)


# file segyio cannot read -> (file it reads, how the expected cube follows)
RELATED = {
    # code 4 holds IEEE float bit patterns of the same values as format 1
    "multiformats/Format4lsb.sgy": ("multiformats/Format1msb.sgy", None),
    "multiformats/Format4msb.sgy": ("multiformats/Format1msb.sgy", None),
    # int24: f3's integers; uint24: the same integers modulo 2^24
    "multiformats/Format7lsb.sgy": ("multiformats/Format2msb.sgy", None),
    "multiformats/Format7msb.sgy": ("multiformats/Format2msb.sgy", None),
    "multiformats/Format15lsb.sgy": ("multiformats/Format2msb.sgy", _wrap24),
    "multiformats/Format15msb.sgy": ("multiformats/Format2msb.sgy", _wrap24),
    "rotated-small-rev2.sgy": ("small.sgy", None),
    "stanzas-unknown-count.sgy": ("tiny.sgy", None),
    "trace-header-extension1.sgy": ("tiny.sgy", None),
    "mapping-minimal.sgy": ("tiny.sgy", None),
    "mapping-shifted.sgy": ("tiny.sgy", None),
    # one inline of tiny.sgy; the delay time sits where the layout puts it
    "trace-header-extensions.sgy": ("tiny.sgy", _first_inline),
    "mapping-all-types.sgy": ("tiny.sgy", _first_inline),
    "mapping-all-types-lsb.sgy": ("tiny.sgy", _first_inline),
    "mapping-encoding-ext1.sgy": ("tiny.sgy", _first_inline),
    "mapping-mixed-order.sgy": ("tiny.sgy", _first_inline),
    "mapping-no-extension1.sgy": ("tiny.sgy", _first_inline),
}


@dataclass
class Cube:
    data: np.ndarray          # (inline, crossline[, offset], sample), the file's sample type
    ilines: list
    xlines: list
    offsets: list | None      # None for post-stack
    t0_ms: float | None       # None where the oracle cannot tell
    dt_us: float


def cube_files() -> list[str]:
    names = [p.relative_to(DATA).as_posix() for p in DATA.rglob("*") if p.suffix in (".sgy", ".su")]
    return sorted(n for n in names if n not in NOT_A_CUBE)


def keys(name: str) -> tuple[int, int]:
    """Inline and crossline bytes: SU files keep them at 5 and 21."""
    return (5, 21) if name.endswith(".su") else (189, 193)


def _open(path: Path, endian: str):
    il, xl = keys(path.name)
    if path.suffix == ".su":
        return segyio.su.open(str(path), endian=endian, iline=il, xline=xl)
    return segyio.open(str(path), endian=endian, ignore_geometry=True)


@functools.cache
def expected(name: str) -> Cube:
    if name in RELATED:
        other, how = RELATED[name]
        c = expected(other)
        return how(c) if how else c
    return _read(name)


def _read(name: str) -> Cube:
    path = DATA / name
    errors = []
    for endian in ("big", "little"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                f = _open(path, endian)
        except Exception as e:  # the other byte order, or not readable at all
            errors.append(f"{endian}: {e}")
            continue
        with f:
            # SU has no binary header: its samples are IEEE floats
            fmt = 5 if path.suffix == ".su" else int(f.bin[segyio.BinField.Format])
            if fmt not in SEGYIO_FORMATS:
                errors.append(f"{endian}: format {fmt}")
                continue
            il_b, xl_b = keys(name)
            traces = f.trace.raw[:]
            il = np.asarray(f.attributes(il_b)[:])
            xl = np.asarray(f.attributes(xl_b)[:])
            off = np.asarray(f.attributes(segyio.TraceField.offset)[:])
            if path.suffix == ".su":   # the interval is in the trace headers only
                dt = float(f.header[0][segyio.TraceField.TRACE_SAMPLE_INTERVAL])
            else:
                dt = float(segyio.tools.dt(f, fallback_dt=4000.0))
            t0 = float(f.samples[0])
        ilines, xlines, offsets = (np.unique(v) for v in (il, xl, off))
        prestack = len(offsets) > 1
        shape = (len(ilines), len(xlines)) + ((len(offsets),) if prestack else ()) + (traces.shape[1],)
        data = np.zeros(shape, traces.dtype)
        index = (np.searchsorted(ilines, il), np.searchsorted(xlines, xl))
        if prestack:
            index += (np.searchsorted(offsets, off),)
        data[index] = traces
        return Cube(data, ilines.tolist(), xlines.tolist(), offsets.tolist() if prestack else None, t0, dt)
    raise RuntimeError(f"segyio cannot read {name}: {'; '.join(errors)}")
