"""FoleyWorld's scene description: events, sources, clip specs and generated clips.

Events happen on video frame boundaries, so every ground-truth time is ``frame / rate`` exactly
and the matching sound starts at sample ``round(frame * sr / rate)`` (the project's one rounding
rule, maskvat_foley.core.timeline.rates.frame_to_sample).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from maskvat_foley.core.jobs import fraction_str
from maskvat_foley.core.timeline.rates import frame_to_sample

RATES: tuple[Fraction, ...] = (Fraction(24000, 1001), Fraction(24), Fraction(25),
                               Fraction(30000, 1001), Fraction(30))
SAMPLE_RATE = 44100
KINDS: tuple[str, ...] = ("impact", "strike", "footstep", "door", "water", "tick", "engine", "rain")
# Kinds whose sound is a stream, not a series of separate hits: an engine's tone lasts from its one
# event until the vehicle leaves, and rain's clicks come too densely to be heard one by one. What a
# take must follow for them is the envelope over time more than the onsets (the evaluation reports
# envelope correlation for them); every other kind is impulsive.
CONTINUOUS_KINDS: frozenset[str] = frozenset({"engine", "rain"})
# Kinds made only on request (``kinds``, or plan_clip's ``swish`` chance), never by the default
# mix, so adding one changes no seed's clip: swish is sound from motion that touches nothing.
ON_REQUEST_KINDS: tuple[str, ...] = ("swish",)
MATERIALS: tuple[str, ...] = ("wood", "metal", "glass", "stone")
SURFACES: tuple[str, ...] = ("grass", "gravel", "wood", "tile")

# Seed ranges of the splits; generate_clip(seed) is a pure function of the seed, so disjoint
# ranges give disjoint data.
SPLITS: dict[str, range] = {"train": range(0, 1_000_000), "val": range(1_000_000, 1_010_000),
                            "test": range(2_000_000, 2_010_000)}


def split_seeds(name: str, n: int, offset: int = 0) -> range:
    """The first ``n`` seeds of split ``name`` (after skipping ``offset``)."""
    if name not in SPLITS:
        raise ValueError(f"unknown FoleyWorld split {name!r}; choose one of {', '.join(SPLITS)}")
    r = SPLITS[name]
    if n < 0 or offset < 0 or offset + n > len(r):
        raise ValueError(f"split {name!r} holds {len(r)} seeds; asked for {n} from offset {offset}")
    return r[offset:offset + n]


@dataclass(frozen=True)
class Box:
    """A source's region of the frame in pixels (its scene is drawn inside it)."""

    x: int
    y: int
    w: int
    h: int


@dataclass
class Event:
    """One visible cause with its sound. ``time`` is exactly ``frame / rate`` seconds.

    ``params`` holds the ground truth a model or metric may use: ``source`` (index into
    ClipSpec.sources), ``x``/``y`` (pixel position of the visible cause), ``material`` or
    ``surface`` where the kind has one, and a relative ``strength``.
    """

    kind: str
    time: Fraction
    frame: int
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def at(cls, kind: str, frame: int, rate: Fraction, **params: Any) -> "Event":
        return cls(kind, Fraction(frame) / rate, int(frame), params)

    def sample(self, rate: Fraction, sample_rate: int) -> int:
        """First audio sample of this event's sound."""
        return frame_to_sample(self.frame, rate, sample_rate)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "frame": self.frame, "time": fraction_str(self.time),
                "seconds": float(self.time), **{k: _jsonable(v) for k, v in self.params.items()}}


@dataclass
class Source:
    """One sound-making thing in a clip, active during frames [start, end) of ``window``."""

    kind: str
    box: Box
    window: tuple[int, int]
    params: dict[str, Any] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "box": [self.box.x, self.box.y, self.box.w, self.box.h],
                "window": list(self.window), "params": {k: _jsonable(v) for k, v in self.params.items()}}


@dataclass
class ClipSpec:
    """Everything needed to render one clip, drawn from ``seed``; rendering adds no choices."""

    seed: int
    rate: Fraction
    n_frames: int
    width: int
    height: int
    background: dict[str, Any]
    events: list[Event]
    sources: list[Source]
    camera: dict[str, Any] = field(default_factory=dict)
    audio: dict[str, Any] = field(default_factory=dict)
    look: str = "classic"  # "footage": see footage.py; its world, distractors and optics in ``footage``
    footage: dict[str, Any] = field(default_factory=dict)

    @property
    def seconds(self) -> Fraction:
        return Fraction(self.n_frames) / self.rate

    def num_samples(self, sample_rate: int = SAMPLE_RATE) -> int:
        """Exact audio length: round(n_frames * sr / rate)."""
        return frame_to_sample(self.n_frames, self.rate, sample_rate)

    def to_dict(self) -> dict[str, Any]:
        d = self._base_dict()
        if self.look != "classic":  # classic records stay exactly as they were
            d["look"] = self.look
            d["footage"] = _jsonable(self.footage)
        return d

    def _base_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "rate": fraction_str(self.rate), "n_frames": self.n_frames,
                "seconds": fraction_str(self.seconds), "width": self.width, "height": self.height,
                "kinds": sorted({s.kind for s in self.sources if s.events}),
                "materials": sorted({str(e.params[k]) for e in self.events
                                     for k in ("material", "surface") if k in e.params}),
                "events": [e.to_dict() for e in self.events],
                "sources": [s.to_dict() for s in self.sources],
                "background": {k: _jsonable(v) for k, v in self.background.items()},
                "camera": {k: _jsonable(v) for k, v in self.camera.items()},
                "audio": {k: _jsonable(v) for k, v in self.audio.items()}}


@dataclass
class FoleyClip:
    """A rendered clip: frames uint8 [N, H, W, 3] (None when rendered audio-only) and mono
    float32 audio of exactly ``spec.num_samples(sample_rate)`` samples."""

    spec: ClipSpec
    frames: np.ndarray | None
    audio: np.ndarray
    sample_rate: int = SAMPLE_RATE

    @property
    def events(self) -> list[Event]:
        return self.spec.events

    @property
    def rate(self) -> Fraction:
        return self.spec.rate


def onset_times(clip: FoleyClip | ClipSpec) -> list[Fraction]:
    """Sorted distinct instants (exact seconds) at which a sound starts: the ground truth for
    onset and synchrony metrics."""
    spec = clip.spec if isinstance(clip, FoleyClip) else clip
    return sorted({e.time for e in spec.events})


def onset_samples(clip: FoleyClip | ClipSpec, sample_rate: int = SAMPLE_RATE) -> list[int]:
    """The same instants as first sample indices at ``sample_rate``."""
    spec = clip.spec if isinstance(clip, FoleyClip) else clip
    return sorted({e.sample(spec.rate, sample_rate) for e in spec.events})


def _jsonable(v: Any) -> Any:
    if isinstance(v, Fraction):
        return fraction_str(v)
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    return v
