"""Null-aware references: every attribute on a volume whose null samples
(missing traces, mutes) are NaN, written with numpy / scipy / scikit-image
independently of the Rust code, to the rule the engine documents:

- attributes computed trace by trace through a transform (`attr list`
  says "as zeros") see null samples as zeros;
- the others ("excluded") compute each window over its live samples:
  normalised convolution G(x·m)/G(m), coherence over the traces present,
  nan-statistics, GLCM over live pairs; a derivative filter reads the
  normalised mean of the live samples where it reaches past the live region;
- every output is NaN where the input sample is NaN.

Functions take the padded volume (as attribute_reference.py does) and return
the same shape.
"""
from functools import lru_cache

import numpy as np
import scipy.ndimage as ndi

import attribute_reference as ref


def live(x):
    return (~np.isnan(x)).astype(np.float64)


def zero(x):
    return np.nan_to_num(x, nan=0.0)


def ratio(num, den):
    ok = den > 0
    return np.where(ok, num / np.where(ok, den, 1), np.nan)


def masked_mean(f, x, size):
    m = live(x)
    return ratio(ndi.uniform_filter(zero(f) * m, size, mode="reflect"), ndi.uniform_filter(m, size, mode="reflect"))


def normalized_gaussian(x, sigma):
    m = live(x)
    return ratio(ndi.gaussian_filter(zero(x), sigma, mode="reflect"), ndi.gaussian_filter(m, sigma, mode="reflect"))


def normalized_gradient(x, sigma):
    """∂ of G(x·m)/G(m): [D(x·m)G(m) − G(x·m)D(m)]/G(m)² per axis (the
    smoothing itself on an axis of zero sigma, which scipy does not
    differentiate)."""
    sigma = np.broadcast_to(np.asarray(sigma, float), (3,))
    m, z = live(x), zero(x)
    gx = ndi.gaussian_filter(z, sigma, mode="reflect")
    gm = ndi.gaussian_filter(m, sigma, mode="reflect")
    out = []
    for a in range(3):
        if sigma[a] == 0:
            out.append(ratio(gx, gm))
            continue
        order = [int(a == c) for c in range(3)]
        dx = ndi.gaussian_filter(z, sigma, order=order, mode="reflect")
        dm = ndi.gaussian_filter(m, sigma, order=order, mode="reflect")
        out.append(ratio(dx * gm - gx * dm, gm * gm))
    return out


# ---- amplitude -------------------------------------------------------------

def rms_amplitude(x, dt, window=9):
    return np.sqrt(masked_mean(x * x, x, (1, 1, window)))


def mean_amplitude(x, dt, window=9):
    return masked_mean(x, x, (1, 1, window))


def mean_absolute_amplitude(x, dt, window=9):
    return masked_mean(np.abs(x), x, (1, 1, window))


def energy(x, dt, window=9):
    return masked_mean(x * x, x, (1, 1, window))


def agc(x, dt, window=63):
    e = masked_mean(x * x, x, (1, 1, window))
    return np.where(e > 0, x / np.sqrt(np.where(e > 0, e, 1)), 0.0)


def gradient_magnitude(x, dt, sigma=(1.0, 1.0, 1.0)):
    return np.sqrt(sum(g * g for g in normalized_gradient(x, sigma)))


def nan_window(x, window, f):
    return ndi.generic_filter(x, f, tuple(window), mode="reflect")


def volume_statistics(x, dt, statistic="mean", window=(3, 3, 9)):
    w = tuple(window)
    if statistic == "mean":
        return masked_mean(x, x, w)
    if statistic == "rms":
        return np.sqrt(masked_mean(x * x, x, w))
    if statistic == "sum":
        return masked_mean(x, x, w) * ndi.uniform_filter(live(x), w, mode="reflect") * np.prod(w)
    f = {"median": np.nanmedian, "min": np.nanmin, "max": np.nanmax, "variance": np.nanvar, "std": np.nanstd}[statistic]
    def safe(v):
        return f(v) if np.isfinite(v).any() else np.nan
    return nan_window(x, w, safe)


# ---- coherence -------------------------------------------------------------

def live_traces(x, wi, wx):
    return np.round(ndi.uniform_filter(live(x), (wi, wx, 1), mode="reflect") * wi * wx)


def require(out, x, window, min_live=2):
    n = live_traces(x, window[0], window[1])
    return np.where(n < min(min_live, window[0] * window[1]), np.nan, out)


def semblance(x, dt, window=(3, 3, 9)):
    z = zero(x)
    lat = (window[0], window[1], 1)
    tm = ndi.uniform_filter(z, lat, mode="reflect")
    frac = ndi.uniform_filter(live(x), lat, mode="reflect")
    num = ndi.uniform_filter1d(tm * tm, window[2], axis=2, mode="reflect")
    den = ndi.uniform_filter1d(ndi.uniform_filter(z * z, lat, mode="reflect") * frac, window[2], axis=2, mode="reflect")
    ok = den > 1e-12 * max(den.max(), 1e-30)
    return require(np.where(ok, np.clip(num / np.where(ok, den, 1), 0, 1), 0.0), x, window)


def variance_edge(x, dt, window=(3, 3, 9)):
    z = zero(x)
    lat = (window[0], window[1], 1)
    mean = ndi.uniform_filter(z, lat, mode="reflect")
    e = ndi.uniform_filter(z * z, lat, mode="reflect")
    frac = ndi.uniform_filter(live(x), lat, mode="reflect")
    var = np.where(frac > 1e-9, e - mean * mean / np.where(frac > 1e-9, frac, 1), 0.0)
    num = ndi.uniform_filter1d(var, window[2], axis=2, mode="reflect")
    den = ndi.uniform_filter1d(e, window[2], axis=2, mode="reflect")
    ok = den > 1e-12 * max(den.max(), 1e-30)
    return require(np.where(ok, np.clip(num / np.where(ok, den, 1), 0, 1), 0.0), x, window)


def eigenstructure_coherence(x, dt, window=(3, 3, 9)):
    # missing traces as zero rows and columns of the covariance: λ1 and the
    # trace of C are those of the traces present
    return require(ref.eigenstructure_coherence(zero(x), dt, window), x, window)


def sobel_edge(x, dt):
    """Per axis: the [1, 2, 1] smoothing across it normalised by the live
    weights, then [−1, 0, 1] along it, one-sided next to a null."""
    m, z = live(x), zero(x)
    total = 0
    for a in range(3):
        num, den = z, m
        for o in range(3):
            if o != a:
                num = ndi.correlate1d(num, [1, 2, 1], axis=o, mode="reflect")
                den = ndi.correlate1d(den, [1, 2, 1], axis=o, mode="reflect")
        s = 16 * ratio(num, den)
        total = total + (2 * masked_difference(s, a)) ** 2
    return np.sqrt(total)


# ---- structure tensor ------------------------------------------------------

@lru_cache(maxsize=4)
def _gst(key):
    x = _VOLUMES[key]
    sg, st = 1.0, 2.0
    m = live(x)
    g = [np.where((m > 0) & np.isfinite(d), d, 0.0) for d in normalized_gradient(x, sg)]
    gm = ndi.gaussian_filter(m, st, mode="reflect")
    t = np.zeros(x.shape + (3, 3))
    for a in range(3):
        for c in range(a, 3):
            t[..., a, c] = t[..., c, a] = ratio(ndi.gaussian_filter(g[a] * g[c], st, mode="reflect"), gm)
    out = ref.decompose(np.nan_to_num(t))
    return tuple(np.where(m == 0, np.nan, a) for a in out)


_VOLUMES = {}


def gst(x):
    key = (x.shape, hash(x.tobytes()))
    _VOLUMES[key] = x
    return _gst(key)


def _tensor(f):
    return lambda x, dt: f(*gst(x))


def sd(a, b):
    return np.where(b != 0, a / np.where(b != 0, b, 1), 0.0)


gst_planarity = _tensor(lambda l1, l2, l3, p, q: sd(l1 - l2, l1 + l2))
gst_linearity = _tensor(lambda l1, l2, l3, p, q: sd(l2 - l3, l2 + l3))
chaos = _tensor(lambda l1, l2, l3, p, q: sd(2 * l2, l1 + l3))
inline_dip = _tensor(lambda l1, l2, l3, p, q: p)
crossline_dip = _tensor(lambda l1, l2, l3, p, q: q)
dip_angle = _tensor(lambda l1, l2, l3, p, q: np.degrees(np.arctan(np.hypot(p, q))))
dip_azimuth = _tensor(lambda l1, l2, l3, p, q: np.where((p == 0) & (q == 0), 0, np.degrees(np.arctan2(q, p)) % 360))


def masked_difference(f, axis):
    """Central differences of a field that is NaN where unknown: one-sided
    next to an unknown neighbour, 0 between two."""
    width = [(0, 0)] * 3
    width[axis] = (1, 1)
    pad = np.pad(f, width, mode="symmetric")
    n = f.shape[axis]
    lo = np.take(pad, range(0, n), axis=axis)
    hi = np.take(pad, range(2, n + 2), axis=axis)
    out = np.where(np.isnan(lo) & np.isnan(hi), 0.0,
                   np.where(np.isnan(lo), hi - f, np.where(np.isnan(hi), f - lo, 0.5 * (hi - lo))))
    return np.where(np.isnan(f), np.nan, out)


def curvatures(x):
    _, _, _, p, q = gst(x)
    return ref.curvatures_of(p, q, masked_difference)


def curvature(name):
    return lambda x, dt: curvatures(x)[name]


# ---- filters ---------------------------------------------------------------

def gaussian_smooth(x, dt, sigma=(1.0, 1.0, 1.0)):
    return normalized_gaussian(x, sigma)


def median_filter(x, dt, window=(3, 3, 3)):
    return nan_window(x, window, lambda v: np.nanmedian(v) if np.isfinite(v).any() else np.nan)


def mean_filter(x, dt, window=(3, 3, 3)):
    return masked_mean(x, x, tuple(window))


def dip_steered_mean(x, dt, window=(5, 5), max_dip=2.0):
    _, _, _, p, q = gst(x)
    p, q = np.clip(np.nan_to_num(p), -max_dip, max_dip), np.clip(np.nan_to_num(q), -max_dip, max_dip)
    n0, n1, n2 = x.shape
    i, j, k = np.meshgrid(np.arange(n0), np.arange(n1), np.arange(n2), indexing="ij")
    total = np.zeros_like(x)
    count = np.zeros_like(x)
    for di in range(-(window[0] // 2), window[0] // 2 + 1):
        for dj in range(-(window[1] // 2), window[1] // 2 + 1):
            t = np.clip(k + p * di + q * dj, 0, n2 - 1)
            ii, jj = np.clip(i + di, 0, n0 - 1), np.clip(j + dj, 0, n1 - 1)
            k0 = np.floor(t).astype(int)
            k1 = np.minimum(k0 + 1, n2 - 1)
            f = t - k0
            v = np.where(f == 0, x[ii, jj, k0], x[ii, jj, k0] * (1 - f) + x[ii, jj, k1] * f)
            ok = ~np.isnan(v)
            total += np.where(ok, v, 0)
            count += ok
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


# ---- texture ---------------------------------------------------------------

def glcm_at(x, i, j, k, prop, window=(7, 7), levels=16):
    """skimage's property over the live pairs only: null samples get an extra
    grey level whose rows and columns are dropped before normalising."""
    from skimage.feature import graycomatrix, graycoprops
    rx, rt = window[0] // 2, window[1] // 2
    sec = x[i]
    def sym(v, n):
        v = np.array([abs(a) if a >= 0 else -a - 1 for a in v])
        return np.where(v >= n, 2 * n - 1 - v, v)
    xi = sym(range(j - rx, j + rx + 1), sec.shape[0])
    ti = sym(range(k - rt, k + rt + 1), sec.shape[1])
    win = sec[np.ix_(xi, ti)].T.astype(np.float32)
    ok = ~np.isnan(win)
    lo, hi = win[ok].min(), win[ok].max()
    scale = np.float32(levels) / (hi - lo) if hi > lo else np.float32(0)
    q = np.minimum(np.maximum(np.nan_to_num((win - lo) * scale), 0).astype(np.int64), levels - 1)
    q = np.where(ok, q, levels).astype(np.uint8)
    m = graycomatrix(q, [1], [0, np.pi / 4, np.pi / 2, 3 * np.pi / 4], levels=levels + 1, symmetric=True)
    m = m[:levels, :levels].astype(np.float64)
    sums = m.sum(axis=(0, 1))
    keep = sums[0] > 0
    m = m[..., keep] / sums[..., keep]
    return float(np.mean(graycoprops(m, prop)))


EXCLUDING = {f.__name__: f for f in [
    rms_amplitude, mean_amplitude, mean_absolute_amplitude, energy, agc, gradient_magnitude,
    volume_statistics, semblance, variance_edge, eigenstructure_coherence, sobel_edge,
    gaussian_smooth, median_filter, mean_filter, dip_steered_mean]}
EXCLUDING.update({"first_derivative": ref.first_derivative, "second_derivative": ref.second_derivative})
EXCLUDING.update({n: globals()[n] for n in [
    "gst_planarity", "gst_linearity", "chaos", "inline_dip", "crossline_dip", "dip_angle", "dip_azimuth"]})
EXCLUDING.update({n: curvature(n) for n in [
    "curvature_mean", "curvature_gaussian", "curvature_maximum", "curvature_minimum",
    "curvature_most_positive", "curvature_most_negative", "shape_index", "curvedness"]})


def reference(name, x, dt, as_zeros):
    """The null-aware reference of attribute `name` on padded `x`."""
    if name in EXCLUDING:
        assert not as_zeros, name
        out = EXCLUDING[name](x, dt)
    else:
        assert as_zeros, f"{name}: `attr list` says it excludes nulls, but it has no null reference"
        base = {"copy": lambda v, dt: v, "envelope": lambda v, dt: np.abs(ref.scipy.signal.hilbert(v, axis=-1)),
                "instantaneous_phase": lambda v, dt: np.angle(ref.scipy.signal.hilbert(v, axis=-1)),
                "instantaneous_frequency": lambda v, dt: ref.rates(v)[0] * 1000 / dt,
                **ref.REFERENCES}[name]
        out = base(zero(x), dt)
    return np.where(np.isnan(x), np.nan, out)
