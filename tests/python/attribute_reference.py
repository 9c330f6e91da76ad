"""Independent implementations of every attribute in numpy / scipy /
scikit-image, for the reference tests in test_attributes.py.

Each function takes the volume padded by the attribute's halo (numpy
`symmetric`, the engine's `reflect` boundary; no padding on an axis whose
halo is the whole trace), computes on it with scipy's mode='reflect', and
returns the same shape; the caller crops the halo. `dt` is the sample
interval in ms. Parameters are the attribute's defaults unless given.
"""
import numpy as np
import scipy.ndimage as ndi
import scipy.signal
from numpy.lib.stride_tricks import sliding_window_view

TAU = 2 * np.pi


# ---- complex trace -------------------------------------------------------

def analytic(x):
    """z, x′ and y′ (spectral derivatives per sample) of every trace."""
    n = x.shape[-1]
    z = scipy.signal.hilbert(x, axis=-1)
    h = np.zeros(n)
    h[0] = 1
    h[1:(n + 1) // 2] = 2
    if n % 2 == 0:
        h[n // 2] = 1
    hd = h.copy()
    if n % 2 == 0:
        hd[n // 2] = 0
    X = np.fft.fft(x, axis=-1)
    dz = np.fft.ifft(X * hd * 1j * TAU * np.fft.fftfreq(n), axis=-1)
    return z, dz.real, dz.imag


def safe_div(a, b):
    return np.where(b != 0, a / np.where(b != 0, b, 1), 0.0)


def rates(x):
    """(instantaneous frequency in cycles/sample, A′/A per sample)."""
    z, dx, dy = analytic(x)
    y = z.imag
    den = x * x + y * y
    return safe_div(x * dy - y * dx, den) / TAU, safe_div(x * dx + y * dy, den)


def cosine_of_phase(x, dt):
    a = np.abs(scipy.signal.hilbert(x, axis=-1))
    return safe_div(x, a)


def quadrature(x, dt):
    return np.imag(scipy.signal.hilbert(x, axis=-1))


def phase_rotation(x, dt, angle=90.0):
    t = np.deg2rad(angle)
    return x * np.cos(t) - quadrature(x, dt) * np.sin(t)


def instantaneous_bandwidth(x, dt):
    return np.abs(rates(x)[1]) / TAU * 1000 / dt


def relative_amplitude_change(x, dt):
    return rates(x)[1] * 1000 / dt


def dominant_frequency(x, dt):
    f, r = rates(x)
    return np.hypot(f, r / TAU) * 1000 / dt


def sweetness(x, dt, min_frequency=5.0):
    f = rates(x)[0] * 1000 / dt
    return np.abs(scipy.signal.hilbert(x, axis=-1)) / np.sqrt(np.maximum(np.abs(f), min_frequency))


def envelope_weighted_frequency(x, dt, window=11):
    a = np.abs(scipy.signal.hilbert(x, axis=-1))
    f = rates(x)[0] * 1000 / dt
    num = ndi.uniform_filter1d(a * f, window, axis=-1, mode="reflect")
    den = ndi.uniform_filter1d(a, window, axis=-1, mode="reflect")
    return safe_div(num, den)


def thin_bed_indicator(x, dt, window=11):
    return rates(x)[0] * 1000 / dt - envelope_weighted_frequency(x, dt, window)


def held_at_peaks(x, value):
    """value[k] at the envelope maximum of each lobe between troughs
    (scipy.signal.find_peaks of −A), held over the lobe."""
    a = np.abs(scipy.signal.hilbert(x, axis=-1))
    out = np.zeros_like(x)
    for idx in np.ndindex(x.shape[:-1]):
        env = a[idx].astype(np.float32)   # the kernel finds troughs in f32
        troughs, _ = scipy.signal.find_peaks(-env)
        edges = [0, *troughs, len(env)]
        for s, e in zip(edges[:-1], edges[1:]):
            p = s + int(np.argmax(env[s:e]))
            out[idx + (slice(s, e),)] = value[idx + (p,)] if env[p] > 0 else 0
    return out


def apparent_polarity(x, dt):
    a = np.abs(scipy.signal.hilbert(x, axis=-1))
    return held_at_peaks(x, np.sign(x) * a)


def response_phase(x, dt):
    return held_at_peaks(x, np.angle(scipy.signal.hilbert(x, axis=-1)))


def response_frequency(x, dt):
    return held_at_peaks(x, rates(x)[0] * 1000 / dt)


# ---- amplitude -----------------------------------------------------------

def mean_amplitude(x, dt, window=9):
    return ndi.uniform_filter1d(x, window, axis=-1, mode="reflect")


def mean_absolute_amplitude(x, dt, window=9):
    return ndi.uniform_filter1d(np.abs(x), window, axis=-1, mode="reflect")


def energy(x, dt, window=9):
    return ndi.uniform_filter1d(x * x, window, axis=-1, mode="reflect")


def max_absolute_amplitude(x, dt, window=9):
    return ndi.maximum_filter1d(np.abs(x), window, axis=-1, mode="reflect")


def reflection_intensity(x, dt, window=9):
    r = window // 2
    p = np.pad(x, ((0, 0), (0, 0), (r, r)), mode="symmetric")
    return np.trapezoid(sliding_window_view(p, window, axis=-1), axis=-1)


def agc(x, dt, window=63):
    e = ndi.uniform_filter1d(x * x, window, axis=-1, mode="reflect")
    return safe_div(x, np.sqrt(e))


def first_derivative(x, dt):
    # the boundary mode supplies the sample beyond each end (here the
    # padding), so the central difference applies everywhere
    return np.gradient(np.pad(x, ((0, 0), (0, 0), (1, 1)), mode="symmetric"), axis=-1)[..., 1:-1]


def second_derivative(x, dt):
    return ndi.correlate1d(x, [1.0, -2.0, 1.0], axis=-1, mode="reflect")


def relative_acoustic_impedance(x, dt, low_cut_window=101):
    c = np.cumsum(x, axis=-1)
    return c - ndi.uniform_filter1d(c, low_cut_window, axis=-1, mode="reflect")


def gradient_magnitude(x, dt, sigma=(1.0, 1.0, 1.0)):
    return ndi.gaussian_gradient_magnitude(x, sigma, mode="reflect")


def volume_statistics(x, dt, statistic="mean", window=(3, 3, 9)):
    w = tuple(window)
    f = {
        "mean": lambda: ndi.uniform_filter(x, w, mode="reflect"),
        "sum": lambda: ndi.uniform_filter(x, w, mode="reflect") * np.prod(w),
        "rms": lambda: np.sqrt(ndi.uniform_filter(x * x, w, mode="reflect")),
        "min": lambda: ndi.minimum_filter(x, w, mode="reflect"),
        "max": lambda: ndi.maximum_filter(x, w, mode="reflect"),
        "median": lambda: ndi.median_filter(x, w, mode="reflect"),
        "variance": lambda: ndi.generic_filter(x, np.var, w, mode="reflect"),
        "std": lambda: ndi.generic_filter(x, np.std, w, mode="reflect"),
    }
    return f[statistic]()


# ---- frequency -----------------------------------------------------------

def trapezoid(f, c):
    f1, f2, f3, f4 = c
    up = np.clip((f - f1) / max(f2 - f1, 1e-300), 0, 1) if f2 > f1 else (f >= f1).astype(float)
    down = np.clip((f4 - f) / max(f4 - f3, 1e-300), 0, 1) if f4 > f3 else (f <= f4).astype(float)
    return np.where((f < f1) | (f > f4), 0.0, np.minimum(up, down))


def ormsby(x, dt, corners):
    n = x.shape[-1]
    f = np.fft.rfftfreq(n, dt / 1000)
    return np.fft.irfft(np.fft.rfft(x, axis=-1) * trapezoid(f, corners), n=n, axis=-1)


def bandpass(x, dt, corners=(5, 10, 40, 60)):
    return ormsby(x, dt, corners)


def lowpass(x, dt, corners=(40, 60)):
    return ormsby(x, dt, (0, 0, *corners))


def highpass(x, dt, corners=(5, 10)):
    return ormsby(x, dt, (*corners, np.inf, np.inf))


def local_windows(x, taps):
    r = len(taps) // 2
    p = np.pad(x, ((0, 0), (0, 0), (r, r)), mode="symmetric")
    return sliding_window_view(p, len(taps), axis=-1)


def spectral_decomposition(x, dt, frequency=30.0, method="stft", window=31, cycles=5.0):
    if method == "morlet":
        sigma = cycles / (TAU * frequency) * 1000 / dt
        r = int(np.ceil(4 * sigma))
        w = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    else:
        w = np.hanning(window)
    r = len(w) // 2
    lag = np.arange(len(w)) - r
    kern = w * np.exp(-1j * TAU * frequency * dt / 1000 * lag)
    return np.abs(local_windows(x, w) @ kern) * 2 / w.sum()


def peak_spectrum(x, dt, window=31):
    w = np.hanning(window)
    nfft = 1 << int(np.ceil(np.log2(4 * window)))
    mags = np.abs(np.fft.rfft(local_windows(x, w) * w, n=nfft, axis=-1)) * 2 / w.sum()
    m = mags[..., 1:]
    b = np.argmax(m, axis=-1) + 1
    top = np.take_along_axis(mags, b[..., None], -1)[..., 0]
    a = np.take_along_axis(mags, (b - 1)[..., None], -1)[..., 0]
    c = np.take_along_axis(mags, np.minimum(b + 1, mags.shape[-1] - 1)[..., None], -1)[..., 0]
    den = a - 2 * top + c
    ok = (den < 0) & (b + 1 < mags.shape[-1])
    delta = np.where(ok, np.clip(0.5 * (a - c) / np.where(ok, den, -1), -0.5, 0.5), 0)
    height = np.where(ok, top - 0.25 * (a - c) * delta, top)
    f = (b + delta) * 1000 / (nfft * dt)
    live = top > 0
    return np.where(live, f, 0), np.where(live, height, 0)


def peak_frequency(x, dt, window=31):
    return peak_spectrum(x, dt, window)[0]


def peak_amplitude(x, dt, window=31):
    return peak_spectrum(x, dt, window)[1]


# ---- structure -----------------------------------------------------------

def semblance(x, dt, window=(3, 3, 9)):
    tm = ndi.uniform_filter(x, (window[0], window[1], 1), mode="reflect")
    num = ndi.uniform_filter1d(tm * tm, window[2], axis=2, mode="reflect")
    den = ndi.uniform_filter(x * x, window, mode="reflect")
    live = den > 1e-12 * max(den.max(), 1e-30)
    return np.where(live, num / np.where(live, den, 1), 0.0)


def eigenstructure_coherence(x, dt, window=(3, 3, 9)):
    r = [w // 2 for w in window]
    p = np.pad(x, [(q, q) for q in r], mode="symmetric")
    win = sliding_window_view(p, window)                  # (..., wi, wx, wt)
    d = win.reshape(*win.shape[:3], window[0] * window[1], window[2])
    c = np.einsum("...at,...bt->...ab", d, d)
    lam = np.linalg.eigvalsh(c)[..., -1]
    tr = np.trace(c, axis1=-2, axis2=-1)
    return np.clip(safe_div(lam, tr), 0, 1)


def variance_edge(x, dt, window=(3, 3, 9)):
    lat = (window[0], window[1], 1)
    var = ndi.uniform_filter(x * x, lat, mode="reflect") - ndi.uniform_filter(x, lat, mode="reflect") ** 2
    num = ndi.uniform_filter1d(var, window[2], axis=2, mode="reflect")
    den = ndi.uniform_filter(x * x, window, mode="reflect")
    live = den > 1e-12 * max(den.max(), 1e-30)
    return np.where(live, np.clip(num / np.where(live, den, 1), 0, 1), 0.0)


def sobel_edge(x, dt):
    return np.sqrt(sum(ndi.sobel(x, axis=a, mode="reflect") ** 2 for a in range(3)))


def gst(x, sigma_gradient=1.0, sigma_tensor=2.0):
    """λ1 ≥ λ2 ≥ λ3 and the dips (samples/trace) of the structure tensor."""
    g = [ndi.gaussian_filter(x, sigma_gradient, order=[int(a == b) for b in range(3)], mode="reflect")
         for a in range(3)]
    t = np.empty(x.shape + (3, 3))
    for a in range(3):
        for b in range(a, 3):
            t[..., a, b] = t[..., b, a] = ndi.gaussian_filter(g[a] * g[b], sigma_tensor, mode="reflect")
    return decompose(t)


def decompose(t):
    """λ1 ≥ λ2 ≥ λ3 and the dips of tensors t (..., 3, 3); 0 where t is 0."""
    lam, vec = np.linalg.eigh(t)
    lam = np.maximum(lam[..., ::-1], 0)
    n = vec[..., :, 2]
    nt = np.where(np.abs(n[..., 2]) < 1e-6, np.copysign(1e-6, n[..., 2]), n[..., 2])
    dead = np.trace(t, axis1=-2, axis2=-1) <= 0
    p = np.where(dead, 0, np.clip(-n[..., 0] / nt, -100, 100))
    q = np.where(dead, 0, np.clip(-n[..., 1] / nt, -100, 100))
    lam[dead] = 0
    return lam[..., 0], lam[..., 1], lam[..., 2], p, q


def gst_planarity(x, dt):
    l1, l2, _, _, _ = gst(x)
    return safe_div(l1 - l2, l1 + l2)


def gst_linearity(x, dt):
    _, l2, l3, _, _ = gst(x)
    return safe_div(l2 - l3, l2 + l3)


def chaos(x, dt):
    l1, l2, l3, _, _ = gst(x)
    return safe_div(2 * l2, l1 + l3)


def inline_dip(x, dt):
    return gst(x)[3]


def crossline_dip(x, dt):
    return gst(x)[4]


def dip_angle(x, dt):
    _, _, _, p, q = gst(x)
    return np.degrees(np.arctan(np.hypot(p, q)))


def dip_azimuth(x, dt):
    _, _, _, p, q = gst(x)
    return np.where((p == 0) & (q == 0), 0, np.degrees(np.arctan2(q, p)) % 360)


def curvatures(x):
    _, _, _, p, q = gst(x)
    return curvatures_of(p, q, lambda f, axis: ndi.correlate1d(f, [-0.5, 0, 0.5], axis=axis, mode="reflect"))


def curvatures_of(p, q, d):
    """Roberts' curvatures from the dip fields p, q and a derivative d(f, axis)."""
    a, b = d(p, 0) / 2, d(q, 1) / 2
    c = (d(p, 1) + d(q, 0)) / 2
    w = 1 + p * p + q * q
    mean = (a * (1 + q * q) + b * (1 + p * p) - c * p * q) / w ** 1.5
    gauss = (4 * a * b - c * c) / w ** 2
    root = np.sqrt(np.maximum(mean * mean - gauss, 0))
    kmax, kmin = mean + root, mean - root
    spread = np.sqrt((a - b) ** 2 + c * c)
    with np.errstate(divide="ignore", invalid="ignore"):
        shape = np.where(kmax == kmin, np.sign(kmax),
                         2 / np.pi * np.arctan((kmax + kmin) / np.where(kmax == kmin, 1, kmax - kmin)))
    return {"curvature_mean": mean, "curvature_gaussian": gauss, "curvature_maximum": kmax,
            "curvature_minimum": kmin, "curvature_most_positive": a + b + spread,
            "curvature_most_negative": a + b - spread, "shape_index": shape,
            "curvedness": np.sqrt((kmax ** 2 + kmin ** 2) / 2)}


def curvature(name):
    return lambda x, dt: curvatures(x)[name]


# ---- filters -------------------------------------------------------------

def gaussian_smooth(x, dt, sigma=(1.0, 1.0, 1.0)):
    return ndi.gaussian_filter(x, sigma, mode="reflect")


def median_filter(x, dt, window=(3, 3, 3)):
    return ndi.median_filter(x, tuple(window), mode="reflect")


def mean_filter(x, dt, window=(3, 3, 3)):
    return ndi.uniform_filter(x, tuple(window), mode="reflect")


def dip_steered_mean(x, dt, window=(5, 5), max_dip=2.0):
    _, _, _, p, q = gst(x)
    p, q = np.clip(p, -max_dip, max_dip), np.clip(q, -max_dip, max_dip)
    n0, n1, n2 = x.shape
    i, j, k = np.meshgrid(np.arange(n0), np.arange(n1), np.arange(n2), indexing="ij")
    total = np.zeros_like(x)
    for di in range(-(window[0] // 2), window[0] // 2 + 1):
        for dj in range(-(window[1] // 2), window[1] // 2 + 1):
            t = np.clip(k + p * di + q * dj, 0, n2 - 1)
            coords = [np.clip(i + di, 0, n0 - 1), np.clip(j + dj, 0, n1 - 1), t]
            total += ndi.map_coordinates(x, coords, order=1, mode="nearest")
    return total / (window[0] * window[1])


# ---- texture (scikit-image) ----------------------------------------------

def glcm_at(x, i, j, k, prop, window=(7, 7), levels=16):
    """skimage's GLCM property of the window around (i, j, k) on the inline
    section, rows = samples, columns = crosslines, quantised to the window's
    own range, symmetric, normed, averaged over 0/45/90/135°."""
    from skimage.feature import graycomatrix, graycoprops
    rx, rt = window[0] // 2, window[1] // 2
    sec = x[i]
    xi = np.array([abs(v) if v >= 0 else -v - 1 for v in range(j - rx, j + rx + 1)])
    xi = np.where(xi >= sec.shape[0], 2 * sec.shape[0] - 1 - xi, xi)
    ti = np.array([abs(v) if v >= 0 else -v - 1 for v in range(k - rt, k + rt + 1)])
    ti = np.where(ti >= sec.shape[1], 2 * sec.shape[1] - 1 - ti, ti)
    win = sec[np.ix_(xi, ti)].T.astype(np.float32)
    lo, hi = win.min(), win.max()
    scale = np.float32(levels) / (hi - lo) if hi > lo else np.float32(0)
    q = np.minimum(np.maximum((win - lo) * scale, 0).astype(np.int64), levels - 1).astype(np.uint8)
    m = graycomatrix(q, [1], [0, np.pi / 4, np.pi / 2, 3 * np.pi / 4], levels=levels, symmetric=True, normed=True)
    return float(np.mean(graycoprops(m, prop)))


REFERENCES = {f.__name__: f for f in [
    cosine_of_phase, quadrature, phase_rotation, instantaneous_bandwidth, relative_amplitude_change,
    dominant_frequency, sweetness, envelope_weighted_frequency, thin_bed_indicator, apparent_polarity,
    response_phase, response_frequency, mean_amplitude, mean_absolute_amplitude, energy,
    max_absolute_amplitude, reflection_intensity, agc, first_derivative, second_derivative,
    relative_acoustic_impedance, gradient_magnitude, bandpass, lowpass, highpass, spectral_decomposition,
    peak_frequency, peak_amplitude, semblance, eigenstructure_coherence, variance_edge, sobel_edge,
    gst_planarity, gst_linearity, chaos, inline_dip, crossline_dip, dip_angle, dip_azimuth,
    gaussian_smooth, median_filter, mean_filter, dip_steered_mean, volume_statistics]}
REFERENCES.update({n: curvature(n) for n in [
    "curvature_mean", "curvature_gaussian", "curvature_maximum", "curvature_minimum",
    "curvature_most_positive", "curvature_most_negative", "shape_index", "curvedness"]})
