"""Short-time spectra shared by the onset detector and the distances (numpy, float64)."""
from __future__ import annotations

from functools import lru_cache

import numpy as np


def stft_mag(audio: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """Magnitude STFT [frames, n_fft//2+1] with a Hann window; frame k is centred on sample k*hop
    (the signal is zero-padded by n_fft//2 at both ends, so frame times need no correction)."""
    x = np.asarray(audio, dtype=np.float64).reshape(-1)
    if x.size == 0:
        raise ValueError("audio is empty (0 samples)")
    pad = n_fft // 2
    x = np.pad(x, (pad, pad + n_fft))
    n = 1 + (len(audio) + hop - 1) // hop  # frames centred on samples 0, hop, ... >= the last sample
    idx = np.arange(n_fft)[None, :] + hop * np.arange(n)[:, None]
    return np.abs(np.fft.rfft(x[idx] * np.hanning(n_fft + 2)[1:-1], axis=1))


@lru_cache(maxsize=16)
def mel_bank(n_fft: int, n_mels: int, sample_rate: int, f_min: float = 0.0) -> np.ndarray:
    """Triangular mel filters [n_fft//2+1, n_mels] (the project's filterbank, as numpy)."""
    from maskvat_foley.core.features.audio import mel_filterbank

    return mel_filterbank(n_fft, n_mels, sample_rate, f_min).double().numpy()


def mel_power(audio: np.ndarray, sample_rate: int, n_fft: int, hop: int, n_mels: int,
              f_min: float = 0.0) -> np.ndarray:
    """Mel band power [frames, n_mels]."""
    return stft_mag(audio, n_fft, hop) ** 2 @ mel_bank(n_fft, n_mels, sample_rate, f_min)
