"""Typed data that crosses module boundaries: what to generate, how, and what came back; and the
few names every layer must spell the same way (seed range, take keys, the Foley track's name).

Times are exact: frame counts at an exact rate (Fraction), never float seconds.
"""
from __future__ import annotations

import dataclasses
import numbers
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

# Seeds lie in [0, MAX_SEED): take i of a run uses (seed + i) % MAX_SEED, and every seed fits the
# 32-bit signed spin boxes of Qt and host UIs.
MAX_SEED = 2**31 - 1
FOLEY_TRACK = "Foley (MaskVAT)"  # the audio track(s) placement adds; hosts name theirs the same


def take_key(seed: int) -> str:
    """The media reference key of the take with ``seed`` on its Foley clip."""
    return f"seed-{seed}"


def random_seed(takes: int = 1, avoid: Iterable[int] = ()) -> int:
    """A random first seed whose run (seed .. seed+takes-1) stays below MAX_SEED and uses none of
    ``avoid`` (the seeds a clip already has, so a regenerate never repeats a take)."""
    import secrets

    avoid = set(avoid)
    while True:
        seed = secrets.randbelow(MAX_SEED - takes)
        if not avoid.intersection(range(seed, seed + takes)):
            return seed


@dataclass(frozen=True)
class ClipJob:
    """One video clip to give Foley to.

    record_* are frames at ``timeline_rate`` counted from the timecode origin (the timeline's
    global start included); they are the span the generated audio must cover (the visible range
    when the clip sits under a transition). source_* are frames of the media at ``media_rate``
    that are seen during that span. ``media_origin`` is the source frame number of the media
    file's first frame (the start of the reference's available range, e.g. its start timecode), so
    file frame = source frame - media_origin.
    """

    clip_id: str
    name: str
    media_path: str | None
    media_rate: Fraction
    source_start: int
    source_duration: int
    timeline_rate: Fraction
    record_start: int
    record_duration: int
    timeline_name: str = "timeline"
    flags: tuple[str, ...] = ()
    time_scalar: Fraction = Fraction(1)
    media_origin: int = 0

    @property
    def record_end(self) -> int:
        return self.record_start + self.record_duration

    @property
    def seconds(self) -> Fraction:
        """Exact length of the record span."""
        return Fraction(self.record_duration) / self.timeline_rate

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        for k in ("media_rate", "timeline_rate", "time_scalar"):
            d[k] = fraction_str(d[k])
        d["flags"] = list(self.flags)
        return d

    @classmethod
    def whole_media(cls, clip_id: str, media_path: str, rate: Fraction, n_frames: int,
                    timeline_name: str = "timeline", name: str | None = None) -> "ClipJob":
        """A clip showing all ``n_frames`` of its media at the media's own ``rate``, from the
        timeline's origin (a rendered FoleyWorld clip, a benchmark's)."""
        return cls(clip_id=clip_id, name=name or clip_id, media_path=media_path, media_rate=rate,
                   source_start=0, source_duration=n_frames, timeline_rate=rate, record_start=0,
                   record_duration=n_frames, timeline_name=timeline_name)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ClipJob":
        d = dict(d)
        for k in ("media_rate", "timeline_rate", "time_scalar"):
            if k in d:
                d[k] = Fraction(str(d[k]))
        d["flags"] = tuple(d.get("flags", ()))
        return cls(**d)


# A reference's range as the command line spells it: seconds, digits with an optional decimal part
# ("1.5"); no minutes ("1:30") because ':' already separates the file from its range.
_SECONDS = re.compile(r"\d{1,9}(\.\d{1,9})?", re.ASCII)
_RANGE_SUFFIX = re.compile(r":(?P<start>\d{1,9}(?:\.\d{1,9})?)?-(?P<end>\d{1,9}(?:\.\d{1,9})?)?", re.ASCII)
REFERENCE_SYNTAX = ("FILE[:START-END]: START and END in seconds (1.5), either may be left out "
                    "(clap.wav:2- from 2 s on, clap.wav:-3 the first 3 s)")


def _seconds(value: Any, name: str) -> Fraction | None:
    """An exact, non-negative time in seconds from a Fraction, an int, or a string ("1.5", "3/2").
    Floats are refused: 0.1 is not exactly a tenth, and a range must be what the editor wrote."""
    if value is None:
        return None
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError(f"reference {name} must be exact seconds (a string such as '1.5'), got {value!r}")
    if isinstance(value, str):
        text = value.strip()
        if not (_SECONDS.fullmatch(text) or re.fullmatch(r"\d{1,12}/\d{1,12}", text, re.ASCII)):
            raise ValueError(f"reference {name} must be seconds such as '1.5', got {value!r}")
        value = Fraction(text)
    elif isinstance(value, (int, Fraction)):
        value = Fraction(value)
    else:
        raise ValueError(f"reference {name} must be seconds, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"reference {name} must not be negative, got {value}")
    return value


@dataclass(frozen=True)
class ReferenceSpec:
    """A sound the editor picked to say what the Foley should sound like ("make it sound like
    this"): a file (any audio file, or the audio of a video) and optionally a range of it, in
    exact seconds from the file's first sample. None: from the start / to the end."""

    path: str
    start: Fraction | None = None
    end: Fraction | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.path, str) or not self.path.strip() or "\x00" in self.path:
            raise ValueError(f"reference path must be a non-empty string, got {self.path!r}")
        # Frozen: the exact spellings (strings, ints) become Fractions once, here.
        object.__setattr__(self, "start", _seconds(self.start, "start"))
        object.__setattr__(self, "end", _seconds(self.end, "end"))
        if self.end is not None and self.end <= (self.start or 0):
            raise ValueError(f"reference range {self.range_text()} is empty: END must be after START")

    @classmethod
    def parse(cls, text: str) -> "ReferenceSpec":
        """``FILE[:START-END]`` (see REFERENCE_SYNTAX). The range is read from a last ':' followed
        by START-END only, so Windows paths (C:\\sfx\\clap.wav) and other colons stay in the path;
        a file whose whole name looks like a range (take:1-2) is taken whole when it exists."""
        import os

        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"reference must be {REFERENCE_SYNTAX}")
        cut = text.rfind(":")
        m = _RANGE_SUFFIX.fullmatch(text, cut) if cut > 0 else None
        if m is None or (m["start"] is None and m["end"] is None) or os.path.exists(text):
            return cls(text)
        path = text[:cut]
        if re.search(r":\d{1,9}(\.\d{1,9})?\Z", path) and not os.path.exists(path):
            raise ValueError(f"{text!r}: START and END are seconds (90-125.5), not minutes:seconds")
        return cls(path, m["start"], m["end"])

    def range_text(self) -> str:
        """'1.5-4', '2-' or '' (the whole file), in seconds."""
        if self.start is None and self.end is None:
            return ""
        start = "" if self.start is None else seconds_str(self.start)
        return f"{start}-{'' if self.end is None else seconds_str(self.end)}"

    def __str__(self) -> str:
        return f"{self.path}:{self.range_text()}" if self.range_text() else self.path

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: times as exact strings ('3/2'), None when open."""
        return {"path": self.path, "start": None if self.start is None else fraction_str(self.start),
                "end": None if self.end is None else fraction_str(self.end)}

    @classmethod
    def from_dict(cls, d: Any) -> "ReferenceSpec":
        """From to_dict's JSON (or a request's): ValueError naming what is wrong."""
        if not isinstance(d, dict):
            raise ValueError(f"reference must be an object with path, start, end; got {type(d).__name__}")
        unknown = set(d) - {"path", "start", "end"}
        if unknown:
            raise ValueError(f"reference: unknown field(s) {', '.join(sorted(unknown))}")
        if "path" not in d:
            raise ValueError("reference: missing field path")
        if not isinstance(d["path"], str) or len(d["path"]) > 4096:
            raise ValueError("reference path must be a string of at most 4096 characters")
        return cls(d["path"], d.get("start"), d.get("end"))


# Classifier-free guidance toward the reference: 0 ignores it; more than this is a typo.
REF_GUIDANCE_RANGE = (0.0, 20.0)


@dataclass(frozen=True)
class GenerationParams:
    """How to sample. ``seed`` None means a fresh random seed per take."""

    seed: int | None = None
    takes: int = 2
    steps: int = 16
    # 2.0, measured with the GPU-trained default model on 40 FoleyWorld test clips: against 3.0,
    # onset F1 0.88 -> 0.91, FD logmel 45 -> 12 and the level 4.2 -> 1.5 dB under the truth (3.0
    # overdrove its sharper predictions into peaky takes); 1.5 loses the level again.
    guidance: float = 2.0
    beam: int = 1
    # 0.5, measured with the default model on 40 FoleyWorld test clips: onset F1 0.35 -> 0.48 and
    # mel distance 0.86 -> 0.72 against 1.0, while seeds still give audibly different takes.
    temperature: float = 0.5
    sample_rate: int = 48000
    channels: int = 1
    # The take's level (core.media.gain): an integrated loudness target in LUFS (None: the model's
    # own level) and a gain in dB on top of it, under a -1 dBTP true-peak ceiling.
    loudness: float | None = None
    gain_db: float = 0.0
    # A sound that says what the takes should sound like (the picture still says when), and the
    # guidance scale toward it. Models without reference frames refuse a reference.
    reference: ReferenceSpec | None = None
    ref_guidance: float = 2.0
    # How much of the reference's own sound goes into the take, wet/dry: its hits on the take's
    # hits (core.media.reference_hits), or a steady sound's texture under the take's envelope
    # (core.media.reference_texture); 0 leaves the take as the model made it.
    # 1.0, measured with the bundled model on 90 FoleyWorld reference pairs: the timbre follows
    # the reference in 86% of them (43% without), onset F1 0.891 against 0.901 without.
    ref_mix: float = 1.0

    def __post_init__(self) -> None:
        check_level(self.loudness, self.gain_db)
        if self.reference is not None and not isinstance(self.reference, ReferenceSpec):
            raise ValueError(f"reference must be a ReferenceSpec, got {type(self.reference).__name__}")
        g, (lo, hi) = self.ref_guidance, REF_GUIDANCE_RANGE
        if isinstance(g, bool) or not isinstance(g, numbers.Real) or not lo <= g <= hi:  # NaN fails too
            raise ValueError(f"ref_guidance must be a number between {lo:g} and {hi:g}, got {g!r}")
        h = self.ref_mix
        if isinstance(h, bool) or not isinstance(h, numbers.Real) or not 0.0 <= h <= 1.0:
            raise ValueError(f"ref_mix must be a number between 0 and 1, got {h!r}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe (the reference's times as exact strings)."""
        d = dataclasses.asdict(self)
        d["reference"] = None if self.reference is None else self.reference.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "GenerationParams":
        d = without_retired(d)
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown generation parameters: {', '.join(sorted(unknown))}")
        if d.get("reference") is not None:
            d = dict(d, reference=ReferenceSpec.from_dict(d["reference"]))
        return cls(**d)


# Sane level settings: -70 LUFS is BS.1770's absolute gate (nothing quieter can be measured), and a
# take louder than 0 LUFS would be full-scale noise; a gain beyond -60/+30 dB is a typo, not a trim.
LOUDNESS_RANGE = (-70.0, 0.0)
GAIN_RANGE = (-60.0, 30.0)


def check_level(loudness: float | None, gain_db: float) -> None:
    """ValueError naming the field when the loudness target or the gain is not a number in range."""
    for name, v, (lo, hi), unit in (("loudness", loudness, LOUDNESS_RANGE, "LUFS"),
                                    ("gain_db", gain_db, GAIN_RANGE, "dB")):
        if v is None and name == "loudness":
            continue
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise ValueError(f"{name} must be a number, got {v!r}")
        if not lo <= v <= hi:  # NaN fails too
            raise ValueError(f"{name} must be between {lo:g} and {hi:g} {unit}, got {v:g}")


# Fields GenerationParams had and dropped, still accepted (and ignored) in job records and
# requests written before: "device" never reached the engine, whose device is chosen at start.
RETIRED_PARAMS = frozenset({"device"})


def without_retired(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k not in RETIRED_PARAMS}


@dataclass
class Take:
    """One generated sound for one clip, written to a Broadcast WAV.

    ``num_samples`` and ``time_reference`` follow the rounding rule that makes adjacent takes tile
    (core.timeline.rates.sample_span): a take for record frames [a, b) at rate r holds
    round(b*SR/r) - round(a*SR/r) samples and starts at sample round(a*SR/r) of the timecode day.
    """

    clip_id: str
    seed: int
    path: str
    sample_rate: int
    num_samples: int
    time_reference: int
    sync_score: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """Media reference key of this take on the Foley clip."""
        return take_key(self.seed)

    @property
    def reference(self) -> dict[str, Any] | None:
        """The reference sound this take imitates (core.engine.takes.reference_metadata: name,
        path, sha256, start, end, trimmed, ref_guidance), or None."""
        ref = self.metadata.get("reference")
        return dict(ref) if ref else None

    def reference_spec(self) -> ReferenceSpec | None:
        """The reference to generate with again (Regenerate keeps it), or None."""
        ref = self.reference
        if not ref or not ref.get("path"):
            return None
        # The range used (after any trim): loaded again, it gives the model the same samples.
        return ReferenceSpec(str(ref["path"]), ref.get("start"), ref.get("end"))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Take":
        return cls(**d)


def best_first(takes: Sequence[Take]) -> list[Take]:
    """Takes ordered by sync score, best first, unscored last; equal scores keep their order. The
    first is the one a clip starts with on the timeline, in the panel and in a host."""
    return sorted(takes, key=lambda t: -(t.sync_score if t.sync_score is not None else float("-inf")))


def seconds_str(x: Fraction | int) -> str:
    """Exact seconds for people: '1.5' when a decimal of up to 9 places says it exactly, else '1/3'."""
    x = Fraction(x)
    for places in range(10):
        scaled = x * 10**places
        if scaled.denominator == 1:
            digits = str(abs(scaled.numerator)).rjust(places + 1, "0")
            sign = "-" if scaled < 0 else ""
            return sign + (f"{digits[:-places]}.{digits[-places:]}" if places else digits)
    return fraction_str(x)


def fraction_str(x: Fraction | int) -> str:
    """'24000/1001' or '24': the exact spelling used in JSON and metadata."""
    x = Fraction(x)
    return str(x.numerator) if x.denominator == 1 else f"{x.numerator}/{x.denominator}"


@dataclass
class ClipResult:
    """What generation gave for one clip: its takes (best first), or why it failed."""

    clip_id: str
    takes: list[Take] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        return {"clip_id": self.clip_id, "takes": [t.to_dict() for t in self.takes], "error": self.error}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ClipResult":
        return cls(d["clip_id"], [Take.from_dict(t) for t in d.get("takes", [])], d.get("error"))


@dataclass(frozen=True)
class Progress:
    """A progress report: clip ``index`` of ``total`` is at ``stage`` with ``fraction`` of it done."""

    clip_id: str
    index: int
    total: int
    stage: str  # "decode", "features", "sampling", "codec", "write", "done", "failed"
    fraction: float = 0.0
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
