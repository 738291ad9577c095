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
