"""Measuring a model's output level (core.model.level_calibration) from its training audio.

The model generates codec tokens like those of its training audio, so its takes peak where the
codec's reproduction of that audio peaks, not where the audio itself does: the codec smooths
transients (FoleyWorld through the bundled codec: the sample peak falls by about 7 dB while the
loudness falls by about 4). The level a take is brought to is therefore:

    median sample peak of the codec's round trip of training clips with events
    + median loudness lost by that round trip (BS.1770, truth minus round trip)

so that a take with the truth's content plays at the truth's loudness. Measured from the data
and the codec alone, without generating a take: nothing is fitted on the splits the model is
evaluated on. A few hundred clips take about a minute on a CPU.

That assumes the model's takes have the round trip's ratio of peak to loudness. A model trained
further makes peakier takes (sharper hits, quieter between them), which the same peak plays
quieter: ``measure_takes`` generates takes on training-split clips (past those any recipe trains
on) and moves the level by the median loudness they still miss (``train level --takes N``).
"""
from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np

from maskvat_foley.core.media.loudness import sample_peak_dbfs
from maskvat_foley.core.model.level_calibration import LevelCalibration

log = logging.getLogger(__name__)


def measure(tokenizer: Any, n_clips: int = 200, split: str = "train", offset: int = 0) -> LevelCalibration:
    """The calibration of a model with ``tokenizer`` from ``n_clips`` FoleyWorld clips of ``split``
    (those with sound events: the silent scenes are room noise only)."""
    import torch

    from maskvat_foley.core.data import generate_clip, split_seeds
    from maskvat_foley.core.eval.levels import measure_level

    peaks, codec_peaks, losses = [], [], []
    sr = tokenizer.sample_rate
    for seed in split_seeds(split, n_clips, offset=offset):
        clip = generate_clip(seed, video=False, sample_rate=sr)  # rendered at the codec's rate
        if not clip.spec.events:
            continue
        audio = clip.audio.astype(np.float32)
        with torch.inference_mode():
            x = torch.from_numpy(audio).to(tokenizer.device)[None, None]
            y = tokenizer.decode_long(tokenizer.encode_long(x))[0, 0, :audio.size].float().cpu().numpy()
        truth, rt = measure_level(audio, sr).best(), measure_level(y, sr).best()
        peaks.append(sample_peak_dbfs(audio))
        codec_peaks.append(sample_peak_dbfs(y))
        if truth[0] is not None and rt[0] is not None and truth[1] == rt[1]:
            losses.append(truth[0] - rt[0])
    if not peaks:
        raise ValueError(f"no FoleyWorld clip with events among {n_clips} of split {split!r}")
    codec_peak = float(np.median(codec_peaks))
    loss = float(np.median(losses)) if losses else 0.0
    cal = LevelCalibration(peak_dbfs=round(min(codec_peak + loss, 0.0), 2), clips=len(peaks),
                           source=f"foleyworld {split} split", data_peak_dbfs=round(float(np.median(peaks)), 2),
                           codec_peak_dbfs=round(codec_peak, 2), codec_loss_db=round(loss, 2))
    log.info("level: training audio peaks at %.2f dBFS, its codec round trip at %.2f dBFS and %.2f dB "
             "quieter; takes are brought to %.2f dBFS", cal.data_peak_dbfs, codec_peak, loss, cal.peak_dbfs)
    return cal


def measure_into(model_dir: str | os.PathLike, n_clips: int = 200, device: str = "cpu") -> LevelCalibration:
    """``measure`` through the codec of the model folder ``model_dir``, written into its config.json
    (for a model bundled without a level); returns what was written."""
    from pathlib import Path

    from maskvat_foley.core.codec.tokenizer import Tokenizer
    from maskvat_foley.core.model.checkpoint import CODEC_DIR, read_meta, set_level

    read_meta(model_dir)  # not a model folder: said before anything is measured
    codec = Path(model_dir) / CODEC_DIR
    if not codec.is_dir():
        raise FileNotFoundError(f"{model_dir}: has no {CODEC_DIR}/ folder to measure the level through")
    cal = measure(Tokenizer.load(codec, device=device), n_clips)
    set_level(model_dir, cal.to_dict())
    return cal


# Train-split clips the take measurement uses: past the first 10 000 that training recipes render.
TAKES_OFFSET = 10_000


def measure_takes(model_dir: str | os.PathLike, n_clips: int = 40, device: str = "cpu",
                  progress: bool = False) -> tuple[LevelCalibration, list[float]]:
    """The model's calibration moved by the median loudness its takes miss (truth minus take, both
    BS.1770 or both RMS) on ``n_clips`` training-split FoleyWorld clips with events, at the product's
    default settings; returns it and the per-clip differences. Takes the calibration leaves quiet
    (near-silent) are not counted. No file but a temporary folder's is written; no PyAV."""
    import tempfile

    import soundfile
    from tqdm import tqdm

    from maskvat_foley.core.data import generate_clip, split_seeds
    from maskvat_foley.core.engine.clip_media import MemoryFrames
    from maskvat_foley.core.engine.engine import Engine
    from maskvat_foley.core.eval.levels import measure_level
    from maskvat_foley.core.jobs import ClipJob, GenerationParams

    frames = MemoryFrames()
    diffs: list[float] = []
    with tempfile.TemporaryDirectory(prefix="maskvat-level-") as tmp:
        engine = Engine(str(model_dir), device=device, cache_dir=os.path.join(tmp, "features"), frames=frames)
        cal = engine.ckpt.level
        if cal is None:
            raise ValueError(f"{model_dir}: has no level calibration to correct; measure the codec's first "
                             "(train level --clips N)")
        for seed in tqdm(split_seeds("train", n_clips, offset=TAKES_OFFSET), desc="level takes", unit="clip",
                         disable=not progress):
            clip = generate_clip(seed, size=(96, 96))
            if not clip.spec.events:
                continue
            name = f"memory:foleyworld-{seed}"
            frames.add(name, clip.frames, clip.rate)
            job = ClipJob.whole_media(str(seed), name, clip.rate, clip.spec.n_frames, "level")
            params = GenerationParams(seed=0, takes=1, sample_rate=clip.sample_rate, channels=1)
            result = engine.generate([job], params, out_dir=os.path.join(tmp, "takes"))[0]
            frames.clips.pop(name)
            if not result.ok or not result.takes:
                raise RuntimeError(f"level: generating FoleyWorld clip {seed} failed: {result.error}")
            take = result.takes[0]
            if take.metadata.get("model_gain_db") is None:  # left quiet: says nothing about the level
                continue
            audio = soundfile.read(take.path, dtype="float32", always_2d=True)[0].mean(axis=1)
            sr = clip.sample_rate
            got, want = measure_level(audio, sr).best(), measure_level(clip.audio, sr).best()
            if got[0] is not None and want[0] is not None and got[1] == want[1]:
                diffs.append(want[0] - got[0])
    if not diffs:
        raise ValueError(f"level: none of {n_clips} training clips gave a take to measure")
    shift = float(np.median(diffs))
    new = cal.with_takes(shift, len(diffs))
    log.info("level: takes miss their truth by %.2f dB (median of %d); takes are now brought to %.2f dBFS",
             shift, len(diffs), new.peak_dbfs)
    return new, diffs


def measure_takes_into(model_dir: str | os.PathLike, n_clips: int = 40, device: str = "cpu",
                       progress: bool = False) -> LevelCalibration:
    """``measure_takes`` written into the model folder's config.json; returns what was written."""
    from maskvat_foley.core.model.checkpoint import set_level

    cal, _ = measure_takes(model_dir, n_clips, device, progress)
    set_level(model_dir, cal.to_dict())
    return cal
