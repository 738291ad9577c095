"""Real audio files for the reference-sound tests, written with PyAV (WAV, FLAC, AIFF), and the
samples a reader must get back from them."""
from __future__ import annotations

from pathlib import Path

import numpy as np

# container suffix -> (encoder, sample format); every one stores 16-bit integer samples
FORMATS = {".wav": ("pcm_s16le", "s16"), ".flac": ("flac", "s16"), ".aiff": ("pcm_s16be", "s16")}


def quantized(audio: np.ndarray) -> np.ndarray:
    """``audio`` as 16-bit files hold it (float [-1, 1) -> int16 -> float)."""
    a = np.atleast_2d(np.asarray(audio, np.float64))
    return (np.clip(np.rint(a * 32768), -32768, 32767) / 32768).astype(np.float32)


def write_audio(path, audio: np.ndarray, rate: int) -> Path:
    """Write float ``audio`` ([samples] mono or [channels, samples]) as 16-bit PCM/FLAC by suffix."""
    import av

    path = Path(path)
    codec, fmt = FORMATS[path.suffix.lower()]
    pcm = (quantized(audio) * 32768).astype(np.int16)
    layout = {1: "mono", 2: "stereo"}[pcm.shape[0]]
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate, layout=layout)
        stream.format = fmt
        for i in range(0, pcm.shape[1], 1024):
            block = np.ascontiguousarray(pcm[:, i:i + 1024].T.reshape(1, -1))  # packed: interleaved
            frame = av.AudioFrame.from_ndarray(block, format=fmt, layout=layout)
            frame.sample_rate, frame.pts = rate, i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def noise(seconds: float, rate: int, channels: int = 1, level: float = 0.2, seed: int = 0) -> np.ndarray:
    """Gaussian noise [channels, samples] at ``level`` RMS, clipped to [-0.9, 0.9]."""
    rng = np.random.default_rng(seed)
    return np.clip(rng.standard_normal((channels, round(seconds * rate))) * level, -0.9, 0.9).astype(np.float32)
