"""Audio embedders: per-frame audio features for the model's auxiliary losses and for evaluation.

``embed(wave [B,1,T], sample_rate, n_frames) -> [B, n_frames, dim]``: output frame j summarises the
samples [j*T/n_frames, (j+1)*T/n_frames), so with T = F*hop and n_frames = F it lines up with the
codec frames.
"""
from __future__ import annotations

import math
from typing import Any, Callable, TypeVar

import torch
from torch import nn

__all__ = ["AudioEmbedder", "register_audio", "create_audio", "available_audio", "LogMelEmbedder",
           "mel_filterbank"]


class AudioEmbedder(nn.Module):
    """Per-frame audio features; subclasses set ``dim`` and implement ``embed``."""

    name: str = ""

    def __init__(self, **config: Any) -> None:
        super().__init__()
        self._config = dict(config)
        self.dim: int = 0

    def config(self) -> dict[str, Any]:
        return dict(self._config)

    def embed(self, wave: torch.Tensor, sample_rate: int, n_frames: int) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def forward(self, wave: torch.Tensor, sample_rate: int, n_frames: int) -> torch.Tensor:
        return self.embed(wave, sample_rate, n_frames)


_AUDIO: dict[str, type[AudioEmbedder]] = {}
A = TypeVar("A", bound=type[AudioEmbedder])


def register_audio(name: str) -> Callable[[A], A]:
    """Class decorator: make an audio embedder available to ``create_audio(name)``."""
    def deco(cls: A) -> A:
        if name in _AUDIO and _AUDIO[name] is not cls:
            raise ValueError(f"audio embedder name {name!r} is already registered")
        cls.name = name
        _AUDIO[name] = cls
        return cls
    return deco


def available_audio() -> list[str]:
    return sorted(_AUDIO)


def create_audio(name: str, **kwargs: Any) -> AudioEmbedder:
    try:
        cls = _AUDIO[name]
    except KeyError:
        raise ValueError(f"unknown audio embedder {name!r}; available: {', '.join(available_audio())}") from None
    return cls(**kwargs)


def _hz_to_mel(f: torch.Tensor) -> torch.Tensor:
    return 2595.0 * torch.log10(1.0 + f / 700.0)


def _mel_to_hz(m: torch.Tensor) -> torch.Tensor:
    return 700.0 * (10.0 ** (m / 2595.0) - 1.0)


def mel_filterbank(n_fft: int, n_mels: int, sample_rate: int, f_min: float = 0.0,
                   f_max: float | None = None) -> torch.Tensor:
    """Triangular HTK-mel filters [n_fft//2 + 1, n_mels], each normalised to unit area (Slaney)."""
    f_max = sample_rate / 2 if f_max is None else f_max
    freqs = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1, dtype=torch.float64)
    pts = _mel_to_hz(torch.linspace(float(_hz_to_mel(torch.tensor(f_min))),
                                    float(_hz_to_mel(torch.tensor(f_max))), n_mels + 2, dtype=torch.float64))
    lo, mid, hi = pts[:-2], pts[1:-1], pts[2:]
    up = (freqs[:, None] - lo) / (mid - lo)
    down = (hi - freqs[:, None]) / (hi - mid)
    fb = torch.clamp(torch.minimum(up, down), min=0.0) * (2.0 / (hi - lo))
    return fb.float()


def pool_frames(x: torch.Tensor, centres: torch.Tensor, n_samples: int, n_frames: int) -> torch.Tensor:
    """Average STFT frames [B, M, D] (centred at sample ``centres`` [M]) into ``n_frames`` equal spans.

    A span with no frame centre in it (more output frames than STFT frames) takes the frame nearest
    to its middle.
    """
    b, m, d = x.shape
    bins = torch.div(centres * n_frames, n_samples, rounding_mode="floor").clamp_(0, n_frames - 1)
    sums = x.new_zeros(b, n_frames, d).index_add_(1, bins, x)
    counts = torch.zeros(n_frames, dtype=x.dtype, device=x.device).index_add_(
        0, bins, torch.ones(m, dtype=x.dtype, device=x.device))
    out = sums / counts.clamp(min=1)[None, :, None]
    empty = counts == 0
    if bool(empty.any()):
        hop = (centres[1] - centres[0]).item() if m > 1 else 1
        mids = (torch.arange(n_frames, device=x.device, dtype=torch.float64) + 0.5) * n_samples / n_frames
        nearest = torch.round(mids / hop).long().clamp_(0, m - 1)
        out[:, empty] = x[:, nearest[empty]]
    return out


@register_audio("logmel")
class LogMelEmbedder(AudioEmbedder):
    """Log mel spectrogram pooled to the requested frames; parameter-free.

    The STFT window is about ``window_s`` (1024 samples at 44.1 kHz) with a hop of a
    ``hop_div``-th of it (256 samples), so each 512-sample codec frame averages two STFT frames.
    """

    def __init__(self, dim: int = 64, window_s: float = 0.023, hop_div: int = 4,
                 f_min: float = 0.0, f_max: float | None = None, eps: float = 1e-5) -> None:
        if dim < 1 or window_s <= 0 or hop_div < 1 or eps <= 0:
            raise ValueError(f"logmel: bad settings dim={dim}, window_s={window_s}, hop_div={hop_div}, eps={eps}")
        super().__init__(dim=dim, window_s=window_s, hop_div=hop_div, f_min=f_min, f_max=f_max, eps=eps)
        self.dim, self.window_s, self.hop_div = int(dim), float(window_s), int(hop_div)
        self.f_min, self.f_max, self.eps = float(f_min), f_max, float(eps)
        self._fb: dict[tuple, torch.Tensor] = {}

    def _bank(self, n_fft: int, sample_rate: int, device: torch.device) -> torch.Tensor:
        key = (n_fft, sample_rate, str(device))
        if key not in self._fb:
            self._fb[key] = mel_filterbank(n_fft, self.dim, sample_rate, self.f_min, self.f_max).to(device)
        return self._fb[key]

    def embed(self, wave: torch.Tensor, sample_rate: int, n_frames: int) -> torch.Tensor:
        if wave.dim() == 2:
            wave = wave[:, None]
        if wave.dim() != 3 or wave.shape[1] != 1 or wave.shape[-1] == 0:
            raise ValueError(f"logmel: audio must be [B, 1, T] with T > 0, got {tuple(wave.shape)}")
        if n_frames < 1 or sample_rate < 1:
            raise ValueError(f"logmel: n_frames ({n_frames}) and sample_rate ({sample_rate}) must be >= 1")
        x = wave[:, 0].float()
        n_fft = 2 ** max(4, math.ceil(math.log2(self.window_s * sample_rate)))
        hop = max(1, n_fft // self.hop_div)
        window = torch.hann_window(n_fft, device=x.device)
        if x.shape[-1] <= n_fft // 2:  # reflect padding needs more samples than half a window
            x = nn.functional.pad(x, (0, n_fft // 2 + 1 - x.shape[-1]))
        spec = torch.stft(x, n_fft, hop, window=window, center=True, pad_mode="reflect",
                          return_complex=True).abs().pow(2)  # [B, F, M]
        mel = torch.log(spec.transpose(1, 2) @ self._bank(n_fft, sample_rate, x.device) + self.eps)
        centres = torch.arange(mel.shape[1], device=x.device) * hop
        return pool_frames(mel, centres, wave.shape[-1], n_frames)
