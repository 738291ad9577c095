"""Clip-level metrics: AV-Align, spectral distances, SI-SDR, a Frechet distance over audio
embeddings, the codec's reconstruction quality and the synchrony scorer's offset estimate.

Audio is mono float at one sample rate; a generated clip and its reference must have the same
number of samples (the run fits them exactly; a mismatch here is an error, not a silent trim).
"""
from __future__ import annotations

from fractions import Fraction
from typing import Any, Sequence

import numpy as np

from maskvat_foley.core.eval.onsets import DEFAULT, OnsetParams, detect_onsets
from maskvat_foley.core.eval.spectra import mel_power, stft_mag

LOG_EPS = 1e-7  # mel power floor before log10: about FoleyWorld's room noise in one band
MEL = dict(n_fft=2048, hop=512, n_mels=80)
ENVELOPE_FLOOR_DB = -80.0  # a take's RMS floor in frame_levels_db: a codec's silence, not noise to rank
PEAK_MADS = 3.0  # a video peak must exceed the median motion by this many MADs (see video_peaks)
STFT_RESOLUTIONS: tuple[tuple[int, int], ...] = ((512, 128), (1024, 256), (2048, 512))


def _mono(x: Any, what: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 2 and 1 in a.shape:
        a = a.reshape(-1)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{what}: expected non-empty mono audio, got shape {np.shape(x)}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{what}: audio contains NaN or infinite samples")
    return a


def _pair(pred: Any, truth: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    p, t = _mono(pred, f"{what} (estimate)"), _mono(truth, f"{what} (reference)")
    if p.size != t.size:
        raise ValueError(f"{what}: estimate has {p.size} samples but the reference {t.size}")
    return p, t


# -- AV-Align ---------------------------------------------------------------------------------
def motion_signal(frames: np.ndarray, block: int = 4, shots: Sequence[int] = ()) -> np.ndarray:
    """Frame-difference energy per frame, our stand-in for optical-flow magnitude: mean squared
    change of the grey picture (averaged over ``block`` x ``block`` pixels first, which damps
    sensor noise) between frame i-1 and i; frame 0 takes the 0 -> 1 change, as AV-Align does.
    ``shots``: frames that start a new shot (core.media.cuts); each takes its own shot's first
    change in the same way, since the change across a cut is a new picture, not motion (scored
    as motion, it would reward the sound at a cut that the cut share counts against a take)."""
    f = np.asarray(frames)
    if f.ndim != 4 or f.shape[0] < 2:
        raise ValueError(f"motion needs frames [N>=2, H, W, C], got shape {f.shape}")
    g = f.astype(np.float32).mean(axis=3)
    h, w = (g.shape[1] // block) * block, (g.shape[2] // block) * block
    if h and w and block > 1:
        g = g[:, :h, :w].reshape(len(g), h // block, block, w // block, block).mean(axis=(2, 4))
    d = ((g[1:] - g[:-1]) ** 2).mean(axis=(1, 2))
    m = np.concatenate([d[:1], d]).astype(np.float64)
    for c in sorted(int(c) for c in shots):
        if 0 < c < len(m):
            m[c] = m[c + 1] if c + 1 < len(m) and c + 1 not in shots else 0.0
    return m


def video_peaks(motion: Sequence[float], rate: Fraction, min_rise: float = PEAK_MADS,
                floor: float = 0.0) -> list[Fraction]:
    """Times (exact s) of AV-Align's video peaks: strict local maxima of the motion signal that
    also exceed its median by ``min_rise`` median absolute deviations. The reference keeps every
    local maximum (``min_rise=0``); FoleyWorld's sensor noise and flicker put one every few frames,
    which would let any audio score, so only maxima that stand out count. ``floor``: the motion a
    peak must reach besides (on real footage, the still line: on a still picture the maxima that
    stand out of the sensor noise are still noise, and there is no motion for a sound to meet)."""
    x = np.asarray(motion, dtype=np.float64)
    if x.size < 3:
        return []
    inner = x[1:-1]
    keep = ((inner > x[:-2]) & (inner > x[2:]) & (inner > peak_threshold(x, min_rise))
            & (inner >= floor))
    return [Fraction(int(i) + 1) / Fraction(rate) for i in np.flatnonzero(keep)]


def peak_threshold(motion: Sequence[float], min_rise: float = PEAK_MADS) -> float:
    """The level a video peak must exceed (``video_peaks``): the motion's median plus ``min_rise`` MADs."""
    x = np.asarray(motion, dtype=np.float64)
    med = float(np.median(x))
    return med + min_rise * float(np.median(np.abs(x - med)))


def av_align_score(audio_peaks: Sequence[Fraction], vid_peaks: Sequence[Fraction],
                   rate: Fraction) -> float | None:
    """AV-Align (Yariv et al. 2024): audio peaks with a video peak strictly within one frame,
    over |A| + |V| - matched. Both sets empty: None (nothing to agree on; left out of means, so
    silence does not score on clips whose motion shows no peak)."""
    win = 1 / Fraction(rate)
    v = sorted(Fraction(x) for x in vid_peaks)
    hits = 0
    for a in audio_peaks:
        i = int(np.searchsorted([float(x) for x in v], float(a)))
        if any(abs(Fraction(a) - v[j]) < win for j in (i - 1, i) if 0 <= j < len(v)):
            hits += 1
    denom = len(audio_peaks) + len(v) - hits
    return hits / denom if denom else None


def av_align(audio: np.ndarray, sample_rate: int, motion: Sequence[float], rate: Fraction,
             params: OnsetParams = DEFAULT) -> float | None:
    """AV-Align of audio against a clip's motion signal (``motion_signal(frames)``)."""
    peaks = detect_onsets(_mono(audio, "av_align"), sample_rate, params)
    return av_align_score(peaks, video_peaks(motion, rate), rate)


def frame_levels_db(audio: np.ndarray, sample_rate: int, n_frames: int, rate: Fraction,
                    floor_db: float = ENVELOPE_FLOOR_DB) -> np.ndarray:
    """A take's RMS in each of ``n_frames`` video frames at ``rate``, in dB floored at ``floor_db``. A
    take fitted to its frames may end a sample short of the last frame's edge, not a frame short."""
    a = _mono(audio, "frame levels")
    edges = [round(Fraction(i * sample_rate) / Fraction(rate)) for i in range(n_frames + 1)]
    if n_frames < 1 or edges[-2] >= a.size:
        raise ValueError(f"frame levels: {n_frames} frames at {rate} fps need {edges[-1]} samples, "
                         f"the audio has {a.size}")
    edges[-1] = min(edges[-1], a.size)
    rms = np.array([np.sqrt(np.mean(np.square(a[lo:hi]))) if hi > lo else 0.0 for lo, hi in zip(edges, edges[1:])])
    return np.maximum(20 * np.log10(np.maximum(rms, 1e-12)), floor_db)


def envelope_motion_corr(levels_db: np.ndarray, motion: Sequence[float]) -> float | None:
    """Whether a take's level follows the picture's motion frame by frame: the rank correlation of its
    ``frame_levels_db`` with the motion curve (``motion_signal``, one value a frame). AV-Align counts
    attacks on motion peaks, so a sound that swells and fades with a movement (a sleeve, a passing
    bike) scores nothing there; this measure hears it. A take that is silent against a moving picture
    scores 0; None when the motion does not vary (nothing to follow)."""
    from scipy.stats import spearmanr

    level, m = np.asarray(levels_db, dtype=np.float64), np.asarray(motion, dtype=np.float64)
    if level.shape != m.shape:
        raise ValueError(f"envelope_motion_corr: {level.size} frame levels against {m.size} motion values")
    if m.size < 3 or np.ptp(m) == 0:
        return None
    return 0.0 if np.ptp(level) == 0 else float(spearmanr(level, m).statistic)


# -- spectral distances and SI-SDR --------------------------------------------------------------
def mel_distance(pred: np.ndarray, truth: np.ndarray, sample_rate: int) -> float:
    """Mean |log10 mel power difference| (80 bands, 2048/512 STFT, power floored at LOG_EPS): 0 is identical."""
    p, t = _pair(pred, truth, "mel distance")
    mp = np.log10(np.maximum(mel_power(p, sample_rate, **MEL), LOG_EPS))
    mt = np.log10(np.maximum(mel_power(t, sample_rate, **MEL), LOG_EPS))
    return float(np.abs(mp - mt).mean())


def stft_distance(pred: np.ndarray, truth: np.ndarray, sample_rate: int | None = None) -> float:
    """Multi-resolution STFT distance (Parallel WaveGAN's loss): per resolution, spectral
    convergence ||T - P||_F / ||T||_F plus mean |log T - log P|, averaged over resolutions."""
    p, t = _pair(pred, truth, "STFT distance")
    total = 0.0
    for n_fft, hop in STFT_RESOLUTIONS:
        sp, st = stft_mag(p, n_fft, hop), stft_mag(t, n_fft, hop)
        sc = np.linalg.norm(st - sp) / max(np.linalg.norm(st), 1e-7)
        mag = np.abs(np.log(np.maximum(st, 1e-7)) - np.log(np.maximum(sp, 1e-7))).mean()
        total += sc + mag
    return float(total / len(STFT_RESOLUTIONS))


def si_sdr(estimate: np.ndarray, reference: np.ndarray, eps: float = 1e-12) -> float:
    """Scale-invariant SDR in dB (Le Roux et al. 2019), both zero-meaned first."""
    e, r = _pair(estimate, reference, "SI-SDR")
    e, r = e - e.mean(), r - r.mean()
    target = (np.dot(e, r) / (np.dot(r, r) + eps)) * r
    noise = e - target
    return float(10 * np.log10((np.dot(target, target) + eps) / (np.dot(noise, noise) + eps)))


# -- Frechet distance over log-mel embeddings ---------------------------------------------------
def logmel_embedding(audio: np.ndarray, sample_rate: int, frame_hop: int = 512) -> np.ndarray:
    """One clip's embedding: the "logmel" audio embedder's frames (one per ``frame_hop`` samples)
    pooled as mean and std [2 * 64]. A weak embedding: it sees spectral envelope and level, not
    sound identity, so its Frechet distance is a rough proxy for FAD, comparable only within this
    project."""
    import torch

    a = _mono(audio, "logmel embedding")
    emb = _logmel_embedder()
    n = max(1, -(-a.size // frame_hop))
    with torch.inference_mode():
        x = emb.embed(torch.from_numpy(a.astype(np.float32))[None, None], sample_rate, n)[0].double()
    std = x.std(dim=0, unbiased=False)
    return torch.cat([x.mean(dim=0), std]).numpy()


_EMBEDDER: list[Any] = []


def _logmel_embedder() -> Any:
    from maskvat_foley.core.features.audio import create_audio

    if not _EMBEDDER:
        _EMBEDDER.append(create_audio("logmel"))
    return _EMBEDDER[0]


def _psd_sqrt(m: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((m + m.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to two embedding sets [N, D] and [M, D]:
    |mu_a - mu_b|^2 + tr(Ca + Cb - 2 (Ca^1/2 Cb Ca^1/2)^1/2); the symmetric form stays real and
    stable when the covariances are singular (fewer clips than dimensions)."""
    a, b = np.atleast_2d(np.asarray(a, np.float64)), np.atleast_2d(np.asarray(b, np.float64))
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"Frechet distance: embedding sizes differ ({a.shape[1]} vs {b.shape[1]})")
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"Frechet distance needs at least 2 embeddings per set, got {len(a)} and {len(b)}")
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    ra = _psd_sqrt(ca)
    cross = np.trace(_psd_sqrt(ra @ cb @ ra))
    d = float(np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(ca) + np.trace(cb) - 2 * cross)
    return max(d, 0.0)


# -- codec and scorer -------------------------------------------------------------------------
def codec_roundtrip(tokenizer: Any, audio: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Encode and decode true audio with the model's codec: (round trip, truth) both at the
    codec's rate and of the truth's length there, and that rate."""
    import torch

    from maskvat_foley.core.media.resample import resample

    a = _mono(audio, "codec quality").astype(np.float32)
    sr = tokenizer.sample_rate
    if sample_rate != sr:
        a = resample(a, sample_rate, sr)
    with torch.inference_mode():
        x = torch.from_numpy(a).to(tokenizer.device)[None, None]
        codes = tokenizer.encode_long(x)
        y = tokenizer.decode_long(codes)[0, 0, :a.size].float().cpu().numpy()
    if y.size < a.size:
        y = np.pad(y, (0, a.size - y.size))
    return y, a, sr


def roundtrip_quality(roundtrip: np.ndarray, truth: np.ndarray, sample_rate: int) -> dict[str, float | None]:
    """SI-SDR, mel and multi-resolution STFT distances of a codec's round trip, and its level in
    the truth's silent stretches (core.eval.levels.silence_level_dbfs)."""
    from maskvat_foley.core.eval.levels import silence_level_dbfs

    y, a = _pair(roundtrip, truth, "codec quality")
    return {"codec_si_sdr": si_sdr(y, a), "codec_mel_distance": mel_distance(y, a, sample_rate),
            "codec_stft_distance": stft_distance(y, a, sample_rate),
            "codec_silence_dbfs": silence_level_dbfs(y, a, sample_rate)}


def codec_quality(tokenizer: Any, audio: np.ndarray, sample_rate: int,
                  onsets: Sequence[Fraction] | None = None, tolerance: Fraction | None = None) -> dict[str, Any]:
    """The codec's round trip of true audio scored against it at the codec's rate (the ceiling on
    what generation can sound like), see ``roundtrip_quality``. With the clip's true ``onsets``
    (and matching ``tolerance``), also the onset F1 (and counts, for pooling over clips) of the
    round trip, detected at ``sample_rate`` as the take and the true audio are."""
    from maskvat_foley.core.eval.onsets import match_onsets
    from maskvat_foley.core.media.resample import resample

    y, a, sr = codec_roundtrip(tokenizer, audio, sample_rate)
    out: dict[str, Any] = dict(roundtrip_quality(y, a, sr))
    if onsets is not None:
        if tolerance is None:
            raise ValueError("codec onset F1: a matching tolerance is needed with the onsets")
        n = np.asarray(audio).reshape(-1).size
        back = y if sr == sample_rate else resample(y, sr, sample_rate, num_samples=n)
        match = match_onsets(detect_onsets(back, sample_rate), onsets, tolerance)
        out.update(codec_onset_f1=match.f1, codec_onset_tp=match.tp, codec_onset_fp=match.fp,
                   codec_onset_fn=match.fn)
    return out


def scorer_offset_ms(scorer: Any, audio: np.ndarray, sample_rate: int, visual: Any,
                     step_samples: int, max_shift_s: float = 0.25) -> float:
    """The synchrony scorer's estimate of how late the audio is (ms, positive = late): the audio
    is shifted by whole ``step_samples`` (one codec frame) up to +/- ``max_shift_s`` and the
    shift the scorer likes best, negated, is the offset. A scorer with ``estimate_offset`` is
    asked directly. Indicative only: scorers are trained to rank, not to measure."""
    import torch

    a = _mono(audio, "scorer offset").astype(np.float32)
    vis = torch.as_tensor(visual).float()
    vis = vis[None] if vis.dim() == 2 else vis
    if hasattr(scorer, "estimate_offset"):
        return float(scorer.estimate_offset(torch.from_numpy(a)[None, None], sample_rate, vis))
    n = max(1, int(max_shift_s * sample_rate) // step_samples)
    shifts = list(range(-n, n + 1))
    scores: list[float] = []
    for i in range(0, len(shifts), 8):  # a few shifted copies at a time bounds memory
        batch = shifts[i:i + 8]
        waves = np.zeros((len(batch), 1, a.size), np.float32)
        for j, s in enumerate(batch):
            d = s * step_samples
            if d >= 0:
                waves[j, 0, d:] = a[:a.size - d]
            else:
                waves[j, 0, :d] = a[-d:]
        with torch.inference_mode():
            out = scorer.score(torch.from_numpy(waves).to(vis.device), sample_rate, vis)
        scores += out.float().cpu().tolist()
    best = shifts[int(np.argmax(scores))]
    return float(-best * step_samples * 1000 / sample_rate)
