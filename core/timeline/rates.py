"""Exact rates, frame/sample arithmetic and timecodes.

OTIO stores rates as floats; everything here turns them into exact Fractions first (23.976 ->
24000/1001) and does the maths on integers and Fractions. Samples are computed once, from frame
numbers counted from the timecode origin, so adjacent clips tile with no gap and no overlap.
"""
from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # OTIO is imported where a function needs it: FoleyWorld, training and the engine
    import opentimelineio as otio  # use this module's exact arithmetic on machines without OTIO

# Integer and NTSC (n*1000/1001) rates that editors use; float rates within SNAP_TOLERANCE of one
# of these are taken to mean it.
STANDARD_RATES: tuple[Fraction, ...] = tuple(sorted(
    [Fraction(n) for n in (8, 10, 12, 15, 16, 18, 24, 25, 30, 48, 50, 60, 72, 90, 96, 100, 120)]
    + [Fraction(n * 1000, 1001) for n in (24, 30, 48, 60, 120)]))
SNAP_TOLERANCE = 0.01
# The rates OTIO's SMPTE timecode takes (opentime.to_timecode refuses any other); to_timecode labels
# the others itself.
SMPTE_RATES: frozenset[Fraction] = frozenset(
    [Fraction(n) for n in (24, 25, 30, 48, 50, 60)] + [Fraction(n * 1000, 1001) for n in (24, 30, 48, 60)])


def exact_rate(rate: float | int | str | Fraction) -> Fraction:
    """The exact rate a host's float (or a string like '24000/1001', '29.97') stands for.

    Rates near a standard rate snap to it; any other rate is kept as the closest fraction with a
    small denominator (a 44100 or 48000 audio rate stays itself).
    """
    if isinstance(rate, str):
        rate = rate.strip()
        value = Fraction(rate) if "/" in rate else float(rate)
    else:
        value = rate
    if isinstance(value, Fraction) and value.denominator in (1, 1001):
        return value
    f = float(value)
    if not f > 0:
        raise ValueError(f"frame rate must be positive, got {rate!r}")
    best = min(STANDARD_RATES, key=lambda s: abs(float(s) - f))
    if abs(float(best) - f) < SNAP_TOLERANCE:
        return best
    return Fraction(f).limit_denominator(1001)


def rate_str(rate: Fraction | int) -> str:
    """Exact spelling: '24000/1001' or '24'."""
    rate = Fraction(rate)
    return str(rate.numerator) if rate.denominator == 1 else f"{rate.numerator}/{rate.denominator}"


def round_half_up(x: Fraction) -> int:
    """Round to nearest, halves up: one rule everywhere, independent of float and banker's rounding."""
    return (x.numerator * 2 + x.denominator) // (x.denominator * 2)


def frames(t: otio.opentime.RationalTime, rate: Fraction) -> int:
    """A RationalTime as a whole number of frames at an exact rate."""
    value = Fraction(t.value) if t.value == int(t.value) else Fraction(t.value).limit_denominator(1_000_000)
    return round_half_up(value * rate / exact_rate(t.rate))


def seconds(t: otio.opentime.RationalTime) -> Fraction:
    """A RationalTime as exact seconds (its float rate snapped with exact_rate)."""
    value = Fraction(t.value) if t.value == int(t.value) else Fraction(t.value).limit_denominator(1_000_000)
    return value / exact_rate(t.rate)


def frame_to_sample(frame: int, rate: Fraction, sample_rate: int) -> int:
    """The first sample of a frame: round(frame * SR / rate)."""
    return round_half_up(Fraction(frame) * sample_rate / rate)


def sample_span(start_frame: int, end_frame: int, rate: Fraction, sample_rate: int) -> tuple[int, int]:
    """(TimeReference, sample count) of audio covering record frames [start, end).

    The count is round(end*SR/r) - round(start*SR/r); the TimeReference is round(start*SR/r) of
    the start's timecode within its day (see ``frames_per_day``): a start at or past 24:00:00:00
    wraps to the timecode it is shown at, as editors and DAWs do.
    """
    if end_frame < start_frame:
        raise ValueError(f"end frame {end_frame} is before start frame {start_frame}")
    count = frame_to_sample(end_frame, rate, sample_rate) - frame_to_sample(start_frame, rate, sample_rate)
    return frame_to_sample(start_frame % frames_per_day(rate), rate, sample_rate), count


def frames_per_day(rate: Fraction, drop_frame: bool | None = None) -> int:
    """Frames in 24 hours of timecode at ``rate``: timecode frames, so 23.976 counts 24 a second
    (2,073,600), and drop frame (the default at 29.97 and 59.94) leaves out its dropped labels."""
    nominal = nominal_fps(rate)  # timecode counts whole frames: 24000/1001 -> 24
    day = nominal * 24 * 3600
    if is_drop_frame_rate(rate) if drop_frame is None else drop_frame:
        # Labels 0 and 1 (0-3 at 59.94) are skipped each minute except every tenth minute.
        day -= (nominal // 15) * (24 * 60 - 24 * 6)
    return day


def is_drop_frame_rate(rate: Fraction) -> bool:
    return rate in (Fraction(30000, 1001), Fraction(60000, 1001))


def to_timecode(frame: int, rate: Fraction, drop_frame: bool | None = None) -> str:
    """SMPTE timecode of a frame number; drop frame by default at 29.97 and 59.94. A frame at or past
    24 hours wraps, as OTIO's does. Rates SMPTE does not define (10, 12, 15, 120 fps, a phone's 26.78)
    count ``nominal_fps`` frames a second, non-drop, as editors label such footage."""
    import opentimelineio as otio

    if drop_frame is None:
        drop_frame = is_drop_frame_rate(rate)
    if drop_frame or Fraction(rate) in SMPTE_RATES:
        return otio.opentime.to_timecode(otio.opentime.RationalTime(frame, float(rate)), float(rate),
                                         drop_frame)
    if frame < 0:
        raise ValueError(f"a timecode cannot be negative (frame {frame})")
    fps = nominal_fps(rate)
    f = frame % frames_per_day(rate, False)
    return f"{f // (fps * 3600):02d}:{f // (fps * 60) % 60:02d}:{f // fps % 60:02d}:{f % fps:02d}"


def nominal_fps(rate: Fraction) -> int:
    """Frames a second of timecode at ``rate``: the rate rounded up (24000/1001 counts 24)."""
    rate = Fraction(rate)
    return -(-rate.numerator // rate.denominator)


def from_timecode(timecode: str, rate: Fraction) -> int:
    """Frame number of a timecode ('01:00:00:00', or '01:00:00;00' for drop frame); at rates SMPTE
    does not define, counted as ``to_timecode`` labels them."""
    import opentimelineio as otio

    if Fraction(rate) not in SMPTE_RATES:
        return _count_timecode(timecode, rate)
    try:
        t = otio.opentime.from_timecode(timecode.strip(), float(rate))
    except Exception as exc:  # OTIO raises plain ValueError/RuntimeError with terse text
        raise ValueError(f"not a valid timecode at {rate_str(rate)} fps: {timecode!r} ({exc})") from None
    return round_half_up(Fraction(t.value).limit_denominator(1_000_000))


def _count_timecode(timecode: str, rate: Fraction) -> int:
    fps = nominal_fps(rate)
    parts = timecode.strip().split(":")
    if len(parts) != 4 or not all(p.isdigit() for p in parts):
        raise ValueError(f"not a valid timecode at {rate_str(rate)} fps: {timecode!r} (HH:MM:SS:FF, non-drop "
                         "at this rate)")
    h, m, sec, f = (int(p) for p in parts)
    if f >= fps:
        raise ValueError(f"not a valid timecode at {rate_str(rate)} fps: {timecode!r} (frames count 0 to {fps - 1})")
    return ((h * 60 + m) * 60 + sec) * fps + f
