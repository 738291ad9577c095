"""Training clips from a folder of videos with sound (e.g. VGGSound): the paper-scale data path.

Each file is one clip (or, with ``window_seconds``, one random window per access): frames decoded
with PyAV at the extractor's input size at the file's own exact rate, audio mixed to mono and
resampled to 44.1 kHz. Imports PyAV only when used (FoleyWorld training never touches this file).
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from maskvat_foley.core.train.sources import SAMPLE_RATE, AVClip

log = logging.getLogger(__name__)

EXTENSIONS = (".mp4", ".mkv", ".mov", ".webm", ".avi", ".m4v")


def list_videos(root: str | os.PathLike, extensions: Sequence[str] = EXTENSIONS) -> list[Path]:
    """Video files under ``root`` (recursive), sorted so every rank sees the same order."""
    r = Path(root)
    if not r.is_dir():
        raise FileNotFoundError(f"video folder {r} does not exist")
    exts = {e.lower() for e in extensions}
    files = sorted(p for p in r.rglob("*") if p.is_file() and p.suffix.lower() in exts)
    if not files:
        raise FileNotFoundError(f"video folder {r} holds no videos ({', '.join(sorted(exts))})")
    return files


@dataclass
class VideoFolder:
    """A ClipSource over ``root``. ``max_seconds`` caps each clip (from ``offset_seconds``)."""

    root: str
    size: tuple[int, int] = (64, 64)
    max_seconds: float | None = 10.0
    offset_seconds: float = 0.0
    split: str | None = None          # accepted for config symmetry; folders are split by the user
    limit: int | None = None

    def __post_init__(self) -> None:
        self.size = tuple(int(v) for v in self.size)  # type: ignore[assignment]
        self.files = list_videos(self.root)[: self.limit]

    def __len__(self) -> int:
        return len(self.files)

    def get(self, index: int, video: bool = True) -> AVClip:
        from maskvat_foley.core.media.resample import resample
        from maskvat_foley.core.media.video import MediaError, probe, read_audio, read_frames

        path = self.files[index]
        info = probe(path)
        if not info.has_audio:
            raise MediaError(f"{path}: has no audio stream; a training video needs its sound")
        audio, sr = read_audio(path)
        mono = resample(audio.mean(axis=0), sr, SAMPLE_RATE)
        start = int(round(self.offset_seconds * SAMPLE_RATE))
        n = len(mono) - start if self.max_seconds is None else min(len(mono) - start,
                                                                    int(round(self.max_seconds * SAMPLE_RATE)))
        if n <= 0:
            raise MediaError(f"{path}: shorter than offset_seconds={self.offset_seconds}")
        mono = np.ascontiguousarray(mono[start:start + n], dtype=np.float32)
        if not video:
            return AVClip(str(path), mono)
        rate = info.rate
        first = int(np.ceil(Fraction(self.offset_seconds).limit_denominator(10 ** 6) * rate))
        n_frames = max(1, int(Fraction(n, SAMPLE_RATE) * rate))
        if info.duration_frames is not None:
            n_frames = max(1, min(n_frames, info.duration_frames - first))
        frames = read_frames(path, first, n_frames, rate, size=self.size, pad=True)
        t0 = Fraction(start, SAMPLE_RATE)
        times = [Fraction(first + i) / rate - t0 for i in range(n_frames)]  # audio start = time 0
        return AVClip(str(path), mono, frames.rgb, times)

    def describe(self) -> dict[str, Any]:
        return {"type": "video_folder", "root": str(self.root), "files": len(self.files),
                "size": list(self.size), "max_seconds": self.max_seconds,
                "offset_seconds": self.offset_seconds,
                "newest_mtime": max(os.path.getmtime(f) for f in self.files)}
