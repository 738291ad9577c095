"""Host frame numbers <-> record frames (frames at the exact timeline rate counted from the
timecode origin, as ``ClipInfo.record_start``). Integer maths only.

Each host counts differently:
- Resolve: absolute timeline frames; ``GetStartFrame()`` is the frame of ``GetStartTimecode()``.
- Hiero: ``TrackItem.timelineIn()`` counts from the sequence start (0); ``Sequence.timecodeStart()``
  is the record frame of that start.
- Blender: scene frames; ``scene.frame_start`` sits at the scene's start timecode (an add-on
  setting, 00:00:00:00 by default), the rate is ``render.fps / render.fps_base``.
The start timecode is the truth for the origin (a host's own frame numbering of a drop-frame
start is then irrelevant as long as it is linear).
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from maskvat_foley.core.timeline import rates


@dataclass(frozen=True)
class HostClock:
    """record frame = origin + (host frame - host_origin), at ``rate``."""

    rate: Fraction
    origin: int
    host_origin: int = 0
    drop_frame: bool = False

    def to_record(self, host_frame: int | float) -> int:
        return self.origin + whole_frame(host_frame, "host frame") - self.host_origin

    def to_host(self, record_frame: int) -> int:
        return self.host_origin + whole_frame(record_frame, "record frame") - self.origin

    def timecode(self, host_frame: int | float) -> str:
        return rates.to_timecode(self.to_record(host_frame), self.rate, self.drop_frame)


def whole_frame(value: int | float | str, what: str = "frame") -> int:
    """Hosts hand frames back as ints, floats (86400.0) or strings; anything not whole is an error."""
    try:
        f = Fraction(str(value).strip()) if isinstance(value, str) else Fraction(value)
    except (ValueError, TypeError, ZeroDivisionError):
        raise ValueError(f"{what} {value!r} is not a number") from None
    if f.denominator != 1:
        raise ValueError(f"{what} {value!r} is not a whole frame")
    return int(f)


def _flag(value: object) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def parse_start_timecode(timecode: str, rate: Fraction, drop_frame: bool | None = None) -> tuple[int, bool]:
    """(record frame, drop frame) of a start timecode; ``drop_frame`` forces DF where the host
    writes ':' everywhere but says elsewhere that the timeline is drop frame."""
    tc = timecode.strip()
    df = ";" in tc or "." in tc if drop_frame is None else bool(drop_frame)
    if df and not rates.is_drop_frame_rate(rate):
        raise ValueError(f"drop-frame timecode {timecode!r} at {rates.rate_str(rate)} fps: drop frame "
                         "exists only at 29.97 and 59.94")
    if df and ";" not in tc:
        tc = tc[:8] + ";" + tc[9:]
    return rates.from_timecode(tc, rate), df


def resolve_clock(start_frame: int | float, start_timecode: str, frame_rate: str | float,
                  drop_frame: object = None) -> HostClock:
    """From ``Timeline.GetStartFrame()``, ``GetStartTimecode()``, ``GetSetting('timelineFrameRate')``
    and ``GetSetting('timelineDropFrameTimecode')`` ('1' or '0')."""
    rate = rates.exact_rate(frame_rate)
    df = None if drop_frame in (None, "") else _flag(drop_frame)
    origin, df = parse_start_timecode(str(start_timecode), rate, df)
    return HostClock(rate, origin, whole_frame(start_frame, "Resolve start frame"), df)


def hiero_clock(timecode_start: int | float, frame_rate: float | str, drop_frame: bool = False) -> HostClock:
    """From ``Sequence.timecodeStart()`` (frames), ``Sequence.framerate().toFloat()`` and
    ``Sequence.dropFrame()``; host frames are ``timelineIn()`` values (0 = sequence start)."""
    rate = rates.exact_rate(frame_rate)
    if drop_frame and not rates.is_drop_frame_rate(rate):
        raise ValueError(f"Hiero sequence is drop frame at {rates.rate_str(rate)} fps")
    return HostClock(rate, whole_frame(timecode_start, "Hiero timecodeStart"), 0, bool(drop_frame))


def blender_rate(fps: int, fps_base: float) -> Fraction:
    """Blender stores 29.97 as fps=30, fps_base=1.001 (a float32, 1.0010000467...): snap it."""
    if fps <= 0 or fps_base <= 0:
        raise ValueError(f"Blender scene rate fps={fps}, fps_base={fps_base} is not positive")
    return rates.exact_rate(fps / fps_base)


def blender_clock(fps: int, fps_base: float, frame_start: int, start_timecode: str = "00:00:00:00") -> HostClock:
    """From ``scene.render.fps``, ``scene.render.fps_base``, ``scene.frame_start`` and the add-on's
    start timecode of ``frame_start``."""
    rate = blender_rate(fps, fps_base)
    origin, df = parse_start_timecode(start_timecode, rate)
    return HostClock(rate, origin, whole_frame(frame_start, "Blender frame_start"), df)
