"""Where training clips come from: FoleyWorld (rendered from seeds) or a folder of videos.

Both give ``AVClip``: mono float32 audio at 44.1 kHz and, when asked, uint8 RGB frames at the
extractor's input size with each frame's exact time (seconds from the clip start, Fractions).
The video folder lives in video_folder.py so that FoleyWorld training never imports PyAV.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Protocol, Sequence

import numpy as np

SAMPLE_RATE = 44100


@dataclass
class AVClip:
    key: str
    audio: np.ndarray                      # float32 [T] at SAMPLE_RATE
    frames: np.ndarray | None = None       # uint8 [N, H, W, 3]
    frame_times: list[Fraction] | None = None
    event_times: list[Fraction] | None = None  # exact seconds a sound starts, where the source knows them


class ClipSource(Protocol):
    def __len__(self) -> int: ...
    def get(self, index: int, video: bool = True) -> AVClip: ...
    def describe(self) -> dict[str, Any]: ...


@dataclass
class FoleyWorldSource:
    """Clips ``split_seeds(split, n, offset)``; ``seconds`` fixes the length (None: 2..12 s).

    ``look`` is FoleyWorld's ("classic", "footage" or a mapping), or a list of looks taken in turn
    clip by clip (``["classic", "footage"]``: every other clip filmed). A footage clip is filmed at a
    camera size and then scaled down to ``size`` by area averaging, as a decoded camera picture is
    scaled for the visual features: rendering it small would keep noise and blocks no real picture
    has at that size.
    """

    split: str = "train"
    n: int = 256
    offset: int = 0
    size: tuple[int, int] = (64, 64)
    seconds: float | str | None = None
    kinds: Sequence[str] | None = None
    look: str | dict | list = "classic"
    swish: float = 0.0  # chance of a swinging arm in a clip with events (FoleyWorld's plan_clip)

    def __post_init__(self) -> None:
        from maskvat_foley.core.data import split_seeds

        if isinstance(self.look, (list, tuple)) and not self.look:
            raise ValueError("FoleyWorld source: 'look' is an empty list")

        self.size = tuple(int(v) for v in self.size)  # type: ignore[assignment]
        self.seeds = split_seeds(self.split, self.n, self.offset)

    def __len__(self) -> int:
        return len(self.seeds)

    def _clip_args(self, index: int) -> dict[str, Any]:
        """generate_clip's / plan_clip's arguments for clip ``index``."""
        seconds = Fraction(self.seconds) if isinstance(self.seconds, str) else self.seconds
        look = self.look[index % len(self.look)] if isinstance(self.look, (list, tuple)) else self.look
        return {"seed": self.seeds[index], "size": self.size if look == "classic" else None,
                "seconds": seconds, "kinds": self.kinds, "look": look, "swish": self.swish}

    def spec(self, index: int):
        """Clip ``index``'s plan (its events, sources, materials), without rendering it."""
        from maskvat_foley.core.data import plan_clip

        return plan_clip(**self._clip_args(index))

    def get(self, index: int, video: bool = True) -> AVClip:
        from maskvat_foley.core.data import generate_clip, onset_times
        from maskvat_foley.core.features.length import frame_times_for_rate
        from maskvat_foley.core.media.resize import resize_frames

        args = self._clip_args(index)
        seed, classic = args["seed"], args["look"] == "classic"
        clip = generate_clip(**args, video=video)
        frames = clip.frames if classic or not video else resize_frames(clip.frames, self.size)
        times = frame_times_for_rate(clip.spec.n_frames, clip.rate) if video else None
        return AVClip(f"foleyworld:{seed}", clip.audio.astype(np.float32, copy=False), frames, times,
                      onset_times(clip))

    def describe(self) -> dict[str, Any]:
        return {"type": "foleyworld", "split": self.split, "n": self.n, "offset": self.offset,
                "size": list(self.size), "seconds": self.seconds,
                "kinds": None if self.kinds is None else list(self.kinds),
                "look": list(self.look) if isinstance(self.look, tuple) else self.look,
                # only when asked, so the caches of earlier configs stay current
                **({"swish": self.swish} if self.swish else {})}


def make_source(spec: dict[str, Any], size: tuple[int, int] = (64, 64), *, split: str | None = None) -> ClipSource:
    """A source from a config object: {"type": "foleyworld", ...} or {"type": "video_folder", "root": ...}."""
    spec = dict(spec)
    kind = spec.pop("type", "foleyworld")
    if split is not None and kind == "foleyworld":
        spec["split"] = split
    spec.setdefault("size", size)
    if kind == "foleyworld":
        try:
            return FoleyWorldSource(**spec)
        except TypeError as exc:
            raise ValueError(f"data source {spec}: {exc}") from None
    if kind == "video_folder":
        from maskvat_foley.core.train.video_folder import VideoFolder

        try:
            return VideoFolder(**spec)
        except TypeError as exc:
            raise ValueError(f"data source {spec}: {exc}") from None
    raise ValueError(f"unknown data source type {kind!r}; expected 'foleyworld' or 'video_folder'")


class ClipPool:
    """A small LRU of rendered/decoded clips, so nearby steps reuse work."""

    def __init__(self, source: ClipSource, video: bool, capacity: int = 64) -> None:
        self.source, self.video, self.capacity = source, video, max(1, capacity)
        self._items: dict[int, AVClip] = {}

    def __len__(self) -> int:
        return len(self.source)

    def get(self, index: int) -> AVClip:
        clip = self._items.pop(index, None)
        if clip is None:
            clip = self.source.get(index, video=self.video)
            while len(self._items) >= self.capacity:
                self._items.pop(next(iter(self._items)))
        self._items[index] = clip  # most recent last
        return clip
