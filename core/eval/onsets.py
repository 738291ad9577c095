"""Onsets of (generated) audio and their scoring against FoleyWorld's exact event times.

Detector (``detect_onsets``): mel-band spectral flux over a per-band noise floor.

1. Power in ``n_mels`` mel bands from a Hann STFT (``n_fft`` samples, ``hop`` samples), in dB.
2. Each band's noise floor is its ``floor_percentile``-th percentile over the clip; only the part
   of a band more than ``margin_db`` above its floor counts. Stationary background (room noise,
   the codec's hiss) therefore contributes almost nothing, however loud it is.
3. Onset strength at frame k = sum over bands of the rise of that excess above a reference
   taken ``lag`` frames earlier (a lag of a few hops catches attacks spread over several frames).
   The reference is the maximum over ``freq_max`` neighbouring bands (SuperFlux: a gliding
   engine tone is not a new sound) held as a peak that decays by ``hold_db_per_s`` (a rattle or
   ring inside a decaying sound does not re-trigger; a new sound louder than the tail does).
4. Peaks: a local maximum within +/- ``peak_s``, at least ``delta`` above the mean strength over
   [-``mean_before_s``, +``mean_after_s``] around it (adaptive threshold) and at least
   ``min_strength`` in absolute terms (summed dB of rise: quiet fluctuations never count).
5. Onsets closer than ``min_gap_s`` (50 ms) to the previous kept one are dropped (the earlier one
   is the onset); each is reported ``latency_s`` later than its peak frame, because the log-power
   rise reaches its maximum while the window's leading edge meets the sound, before its centre does.

Scoring (``match_onsets``): one-to-one, greedy by distance (closest pairs first), a pair counts
when |pred - truth| <= tolerance; the tolerance is one video frame of the clip (exact Fraction).
- Ground truth: FoleyWorld's distinct event instants, merged when closer than ``min_gap_s``
  (``truth_onsets``): events on adjacent frames (rain) cannot be told apart by any detector
  with a 50 ms minimum gap, so they count as one onset (the earliest, with its kind).
- Continuous sources (engine) have one event, when the sound starts; later changes of the
  sound are not onsets, so detections there are false positives.
- Mixtures: all sources' events form one truth set; ``per_kind`` scoring gives each kind its own
  recall (truth is labelled) and charges a clip's unmatched predictions to every kind in it.
- Empty sets: F1 = 2TP / (2TP + FP + FN) with 0/0 = 1, so a silent clip with no predictions is
  perfect and any one-sided emptiness scores 0. Precision with no predictions is 1 if the truth
  is empty too, else 0; recall with empty truth is 1 if there are no predictions, else 0 (a false
  alarm on a silent clip costs recall as well, so averages never reward a detector that fires on
  silence). The mean offset is None when nothing matched.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Iterable, Sequence

import numpy as np

from maskvat_foley.core.eval.spectra import mel_power

MIN_GAP = Fraction(1, 20)  # 50 ms


@dataclass(frozen=True)
class OnsetParams:
    """Detector settings (see the module docstring); the defaults suit 44.1 kHz audio."""

    n_fft: int = 1024
    hop: int = 128
    n_mels: int = 40
    f_min: float = 40.0
    floor_percentile: float = 20.0
    margin_db: float = 8.0
    lag: int = 2
    freq_max: int = 3
    hold_db_per_s: float = 150.0
    peak_s: float = 0.03
    mean_before_s: float = 0.1
    mean_after_s: float = 0.05
    delta: float = 10.0
    min_strength: float = 30.0
    min_gap_s: Fraction = MIN_GAP
    latency_s: float = 0.005


DEFAULT = OnsetParams()


def onset_strength(audio: np.ndarray, sample_rate: int, p: OnsetParams = DEFAULT) -> np.ndarray:
    """Onset strength per STFT frame (frame k centred on sample k * p.hop)."""
    db = 10 * np.log10(mel_power(audio, sample_rate, p.n_fft, p.hop, p.n_mels, p.f_min) + 1e-12)
    floor = np.percentile(db, p.floor_percentile, axis=0)
    excess = np.maximum(db - floor - p.margin_db, 0.0)
    ref = excess
    if p.freq_max > 1:  # a partial gliding into the next band is not a new sound (SuperFlux)
        from scipy.ndimage import maximum_filter1d

        ref = maximum_filter1d(ref, p.freq_max, axis=1, mode="nearest")
    if p.hold_db_per_s > 0:  # rises count against the recent peak, decaying: no re-triggering
        # held[k] = max over j <= k of ref[j] - decay * (k - j), as one running maximum
        ramp = (p.hold_db_per_s * p.hop / sample_rate) * np.arange(len(ref))[:, None]
        ref = np.maximum.accumulate(ref + ramp, axis=0) - ramp
    rise = np.zeros_like(excess)
    rise[p.lag:] = excess[p.lag:] - ref[:-p.lag]
    return np.maximum(rise, 0.0).sum(axis=1)


def downmix(audio: np.ndarray) -> np.ndarray:
    """float64 samples of ``audio``, channels averaged ([channels, T] or [T, channels])."""
    a = np.asarray(audio, dtype=np.float64)
    return a.mean(axis=0 if a.shape[0] <= 8 else 1) if a.ndim == 2 else a


def detect_onsets(audio: np.ndarray, sample_rate: int, p: OnsetParams = DEFAULT) -> list[Fraction]:
    """Onset times in exact seconds (sample / sample_rate) of mono ``audio``."""
    from scipy.ndimage import maximum_filter1d, uniform_filter1d

    a = downmix(audio)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"onset detection needs non-empty mono audio, got shape {np.shape(audio)}")
    if not np.all(np.isfinite(a)):
        raise ValueError("onset detection: audio contains NaN or infinite samples")
    odf = onset_strength(a, sample_rate, p)
    frames_per_s = sample_rate / p.hop
    w = max(1, round(p.peak_s * frames_per_s))
    before, after = round(p.mean_before_s * frames_per_s), round(p.mean_after_s * frames_per_s)
    size = before + after + 1
    # uniform_filter1d centres its window; shift it so it spans [k - before, k + after]
    local_mean = uniform_filter1d(odf, size, mode="constant", origin=(before - after) // 2)
    is_peak = (odf == maximum_filter1d(odf, 2 * w + 1, mode="constant")) & \
              (odf >= local_mean + p.delta) & (odf >= p.min_strength)
    latency = round(p.latency_s * sample_rate)
    gap = Fraction(p.min_gap_s)
    out: list[Fraction] = []
    for k in np.flatnonzero(is_peak):
        sample = min(max(0, int(k) * p.hop + latency), a.size - 1)
        t = Fraction(sample, sample_rate)
        if not out or t - out[-1] >= gap:
            out.append(t)
    return out


def frame_tolerance(rate: Fraction | int) -> Fraction:
    """One video frame at ``rate``: the matching tolerance."""
    rate = Fraction(rate)
    if rate <= 0:
        raise ValueError(f"frame rate must be positive, got {rate}")
    return 1 / rate


def merge_close(times: Iterable[Fraction], labels: Iterable[str] | None = None,
                min_gap: Fraction = MIN_GAP) -> tuple[list[Fraction], list[str]]:
    """Sorted distinct times with any time closer than ``min_gap`` to the last kept one dropped
    (the kept one keeps its label)."""
    items = sorted(zip(times, labels if labels is not None else _blank()), key=lambda x: x[0])
    out_t: list[Fraction] = []
    out_l: list[str] = []
    for t, lab in items:
        if not out_t or t - out_t[-1] >= min_gap:
            out_t.append(Fraction(t))
            out_l.append(lab)
    return out_t, out_l


def _blank() -> Iterable[str]:
    while True:
        yield ""


def truth_onsets(clip: Any, min_gap: Fraction = MIN_GAP) -> tuple[list[Fraction], list[str]]:
    """Ground-truth onset times (exact seconds) and their event kinds of a FoleyClip or ClipSpec,
    merged like the detector's output (see the module docstring)."""
    spec = getattr(clip, "spec", clip)
    events = sorted(spec.events, key=lambda e: (e.time, e.params.get("source", 0)))
    return merge_close([e.time for e in events], [e.kind for e in events], min_gap)


@dataclass
class OnsetMatch:
    """Counts and matched pairs of one clip (or pooled over clips: ``pool``)."""

    tp: int
    fp: int
    fn: int
    offsets: list[Fraction] = field(default_factory=list)  # |pred - truth| of matched pairs, s
    matched_truth: list[int] = field(default_factory=list)  # truth indices that were matched
    matched_pred: list[int] = field(default_factory=list)   # prediction index of each such pair

    @property
    def precision(self) -> float:
        n = self.tp + self.fp
        return self.tp / n if n else (1.0 if self.fn == 0 else 0.0)

    @property
    def recall(self) -> float:
        n = self.tp + self.fn
        return self.tp / n if n else (1.0 if self.fp == 0 else 0.0)

    @property
    def f1(self) -> float:
        n = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / n if n else 1.0

    @property
    def offset_ms(self) -> float | None:
        """Mean absolute offset of matched pairs in milliseconds (None when nothing matched)."""
        return float(sum(self.offsets) * 1000 / len(self.offsets)) if self.offsets else None

    def summary(self) -> dict[str, Any]:
        return {"onset_precision": self.precision, "onset_recall": self.recall, "onset_f1": self.f1,
                "onset_offset_ms": self.offset_ms, "tp": self.tp, "fp": self.fp, "fn": self.fn}


def pool(matches: Iterable[OnsetMatch]) -> OnsetMatch:
    """Counts and offsets summed over clips (micro average)."""
    out = OnsetMatch(0, 0, 0)
    for m in matches:
        out.tp, out.fp, out.fn = out.tp + m.tp, out.fp + m.fp, out.fn + m.fn
        out.offsets += m.offsets
    return out


def _exact(t: Fraction | float | int, what: str) -> Fraction:
    if isinstance(t, float) and not np.isfinite(t):
        raise ValueError(f"{what} onset time {t!r} is not finite")
    return Fraction(t)


def match_onsets(pred: Sequence[Fraction | float], truth: Sequence[Fraction | float],
                 tolerance: Fraction) -> OnsetMatch:
    """One-to-one greedy matching by distance within +/- ``tolerance`` seconds (inclusive)."""
    tol = Fraction(tolerance)
    if tol < 0:
        raise ValueError(f"onset tolerance must not be negative, got {tolerance}")
    p = [_exact(t, "predicted") for t in pred]
    g = [_exact(t, "true") for t in truth]
    order = np.argsort(np.asarray([float(t) for t in g], dtype=np.float64), kind="stable")
    g_sorted = [float(g[i]) for i in order]
    pairs = []
    for i, t in enumerate(p):  # candidate pairs: truths within the tolerance (binary search)
        lo = np.searchsorted(g_sorted, float(t - tol) - 1e-9, side="left")
        hi = np.searchsorted(g_sorted, float(t + tol) + 1e-9, side="right")
        for j in order[lo:hi]:
            d = abs(t - g[int(j)])
            if d <= tol:
                pairs.append((d, g[int(j)], int(j), i))
    pairs.sort()
    used_p, used_g = set(), set()
    m = OnsetMatch(0, 0, 0)
    for d, _, j, i in pairs:
        if i in used_p or j in used_g:
            continue
        used_p.add(i)
        used_g.add(j)
        m.offsets.append(d)
        m.matched_truth.append(j)
        m.matched_pred.append(i)
    m.tp = len(m.offsets)
    m.fp, m.fn = len(p) - m.tp, len(g) - m.tp
    return m


def per_kind_matches(match: OnsetMatch, truth_kinds: Sequence[str],
                     clip_kinds: Iterable[str]) -> dict[str, OnsetMatch]:
    """Split one clip's match by the kind of each true onset. Recall per kind is exact; the
    clip's false positives are charged to every kind in ``clip_kinds`` (a prediction has no
    kind). A clip with no kinds is reported under "silent"."""
    kinds = sorted(set(clip_kinds) | set(truth_kinds)) or ["silent"]
    out = {k: OnsetMatch(0, match.fp, 0) for k in kinds}
    matched = dict(zip(match.matched_truth, match.offsets))
    for j, k in enumerate(truth_kinds):
        if j in matched:
            out[k].tp += 1
            out[k].offsets.append(matched[j])
        else:
            out[k].fn += 1
    return out
