"""Spectrogram pictures of takes (log-magnitude STFT on a mel-like frequency axis), as PNG."""
from __future__ import annotations

import os

import numpy as np

# A perceptually ordered dark-to-bright colour ramp (anchors of a magma-like map).
_RAMP = np.array([[0, 0, 4], [40, 11, 84], [101, 21, 110], [159, 42, 99], [212, 72, 66],
                  [245, 125, 21], [250, 193, 39], [252, 255, 164]], dtype=np.float64)


def spectrogram_db(audio: np.ndarray, sample_rate: int, *, n_fft: int = 1024, hop: int = 256,
                   bins: int = 128, fmin: float = 30.0, ref_db: float | None = None) -> np.ndarray:
    """[bins, frames] magnitudes in dB on a log-frequency axis from fmin to Nyquist, relative to
    ``ref_db`` (None: the picture's own maximum is 0 dB; pictures to be compared for level share
    one reference, e.g. 0.0 for absolute values)."""
    x = np.asarray(audio, dtype=np.float64)
    x = x.mean(axis=0) if x.ndim == 2 else x
    if len(x) < n_fft:
        x = np.pad(x, (0, n_fft - len(x)))
    n = 1 + (len(x) - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(n)[:, None]
    mag = np.abs(np.fft.rfft(x[idx] * np.hanning(n_fft), axis=1)).T  # [freq, frames]
    freqs = np.fft.rfftfreq(n_fft, 1 / sample_rate)
    edges = np.geomspace(fmin, sample_rate / 2, bins + 1)
    out = np.empty((bins, n))
    for b in range(bins):  # mean power in each log band (bands narrower than a bin take the nearest)
        sel = (freqs >= edges[b]) & (freqs < edges[b + 1])
        band = mag[sel] if sel.any() else mag[[np.argmin(np.abs(freqs - edges[b]))]]
        out[b] = np.sqrt((band ** 2).mean(axis=0))
    db = 20 * np.log10(np.maximum(out, 1e-10))
    return db - (db.max() if ref_db is None else ref_db)


def spectrogram_rgb(audio: np.ndarray, sample_rate: int, *, width: int = 800, height: int = 200,
                    floor_db: float = -80.0, ref_db: float | None = None) -> np.ndarray:
    """uint8 [height, width, 3] picture: time left to right, low frequencies at the bottom."""
    return colourize(spectrogram_db(audio, sample_rate, bins=height, ref_db=ref_db), width, floor_db)


def colourize(db: np.ndarray, width: int, floor_db: float = -80.0) -> np.ndarray:
    """uint8 [bins, width, 3] picture of a ``spectrogram_db`` array: 0 dB brightest, ``floor_db``
    and below black, low frequencies at the bottom, frames stretched to ``width`` columns."""
    level = np.clip(1 - db / floor_db, 0, 1)[::-1]  # low frequencies at the bottom
    cols = np.linspace(0, level.shape[1] - 1, width)
    left = np.floor(cols).astype(int)
    right = np.minimum(left + 1, level.shape[1] - 1)
    frac = cols - left
    level = level[:, left] * (1 - frac) + level[:, right] * frac
    pos = level * (len(_RAMP) - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, len(_RAMP) - 1)
    t = (pos - lo)[..., None]
    return (_RAMP[lo] * (1 - t) + _RAMP[hi] * t).round().astype(np.uint8)


def write_spectrogram_png(path: str, audio: np.ndarray, sample_rate: int, **kw) -> str:
    from PIL import Image

    tmp = f"{path}.partial.png"
    Image.fromarray(spectrogram_rgb(audio, sample_rate, **kw)).save(tmp)
    os.replace(tmp, path)
    return path
