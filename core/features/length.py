"""Length adaptation: per-video-frame features -> features at the codec frame rate.

Output frame j stands for time j / out_rate (where its audio frame starts). Each video frame k is
known at its own presentation time t_k (seconds from the clip start), so variable frame rate works
and no frame rate is ever assumed. Times are compared exactly (Fractions), so an output time that
falls exactly on a video frame picks that frame in both modes.

Modes:
- "linear" (default): interpolate between the two video frames around the output time, hold the
  first/last frame outside them. A visible event happened somewhere between the last frame that
  does not show it and the first that does; a ramp over that interval states exactly this, and it
  makes the features a smooth function of time whatever the frame rate and the phase of the frame
  grid against the codec grid, so a model sees the same kind of signal at 23.976, 25 or 30 fps.
- "hold": the frame on screen at the output time (the last with t_k <= t): steps at frame times,
  one video frame of quantisation that depends on the frame rate; useful for cuts and comparisons.
"""
from __future__ import annotations

from fractions import Fraction
from typing import Sequence

import numpy as np
import torch

MODES = ("linear", "hold")


def _exact_times(frame_times: Sequence[Fraction] | np.ndarray, n: int) -> list[Fraction]:
    if len(frame_times) != n:
        raise ValueError(f"adapt_length: {n} feature frames but {len(frame_times)} frame times")
    times = []
    for i, t in enumerate(frame_times):
        if isinstance(t, (Fraction, int, np.integer)):
            times.append(Fraction(int(t)) if isinstance(t, np.integer) else Fraction(t))
        else:
            f = float(t)
            if not np.isfinite(f):
                raise ValueError(f"adapt_length: frame {i} has time {t!r}, not a finite number")
            times.append(Fraction(f))  # exact value of the float
    for i in range(1, n):
        if times[i] <= times[i - 1]:
            raise ValueError(f"adapt_length: frame times must increase; frame {i} is at "
                             f"{float(times[i]):.6f} s, not after frame {i - 1} at {float(times[i - 1]):.6f} s")
    return times


def adapt_length(features: torch.Tensor, frame_times: Sequence[Fraction] | np.ndarray, n_out: int,
                 out_rate: Fraction | int, mode: str = "linear") -> torch.Tensor:
    """features [N, D] at ``frame_times`` -> [n_out, D] at times j / out_rate, j = 0..n_out-1."""
    if features.dim() != 2 or features.shape[0] == 0:
        raise ValueError(f"adapt_length: features must be [N, D] with N >= 1, got {tuple(features.shape)}")
    if mode not in MODES:
        raise ValueError(f"adapt_length: mode must be one of {MODES}, got {mode!r}")
    if n_out < 0:
        raise ValueError(f"adapt_length: n_out must be >= 0, got {n_out}")
    out_rate = Fraction(out_rate)
    if out_rate <= 0:
        raise ValueError(f"adapt_length: out_rate must be positive, got {out_rate}")
    n = features.shape[0]
    times = _exact_times(frame_times, n)

    left = np.zeros(n_out, dtype=np.int64)      # index of the frame at or before each output time
    weight = np.zeros(n_out, dtype=np.float64)  # share of the next frame (linear mode)
    k = 0
    for j in range(n_out):  # both sequences increase: one sweep, exact comparisons
        t = Fraction(j) / out_rate
        while k + 1 < n and times[k + 1] <= t:
            k += 1
        left[j] = k
        if mode == "linear" and k + 1 < n and t > times[k]:
            weight[j] = float((t - times[k]) / (times[k + 1] - times[k]))

    idx = torch.from_numpy(left).to(features.device)
    out = features.index_select(0, idx)
    if mode == "linear" and n > 1:
        w = torch.from_numpy(weight).to(device=features.device, dtype=features.dtype)[:, None]
        nxt = features.index_select(0, (idx + 1).clamp_(max=n - 1))
        out = out + w * (nxt - out)
    return out


def frame_times_for_rate(n: int, rate: Fraction | int) -> list[Fraction]:
    """Times of ``n`` frames at a constant exact rate from the clip start: k / rate."""
    rate = Fraction(rate)
    if rate <= 0:
        raise ValueError(f"frame rate must be positive, got {rate}")
    return [Fraction(k) / rate for k in range(n)]
