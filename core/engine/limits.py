"""Bounds on one clip job, checked before anything is sized from it.

A clip job's numbers decide how much the engine allocates (a frame list, decoded frames, codec
tokens), so they are bounded here, once, for the server (a 422 naming the field) and for the
in-process engine (a failed clip): rates, the span's length, and where it starts.
"""
from __future__ import annotations

from fractions import Fraction

from maskvat_foley.core.jobs import ClipJob

# The longest clip the engine takes, record span and media span alike. Five minutes is a very long
# shot, and its decoded frames stay in memory at once (7,200 frames at 24 fps; about 1 GB at the
# 224x224 input of paper-scale features). Longer clips are cut into parts in the editor.
MAX_CLIP_SECONDS = 300
MIN_RATE, MAX_RATE = Fraction(1), Fraction(1000)  # frames per second, timeline and media
MAX_TIME_SCALAR = 100  # media frames advanced per record frame (speed effects)
# Where a span may start: timecode past a week is a corrupt number, not an edit.
MAX_POSITION_SECONDS = 7 * 86400


class ClipOutOfBounds(ValueError):
    """A clip job whose numbers the engine refuses; the message names the field."""


def check_clip(job: ClipJob) -> None:
    """Raise ClipOutOfBounds naming the first field of ``job`` out of bounds."""
    for name in ("media_rate", "timeline_rate"):
        rate = Fraction(getattr(job, name))
        if not MIN_RATE <= rate <= MAX_RATE:
            raise ClipOutOfBounds(f"{name} must be between {MIN_RATE} and {MAX_RATE} frames per "
                                  f"second, got {float(rate):.6g}")
    if not 0 < job.time_scalar <= MAX_TIME_SCALAR:
        raise ClipOutOfBounds(f"time_scalar must be above 0 and at most {MAX_TIME_SCALAR}, "
                              f"got {float(job.time_scalar):.6g}")
    for name in ("source_start", "record_start", "media_origin"):
        if getattr(job, name) < 0:
            raise ClipOutOfBounds(f"{name} must not be negative, got {getattr(job, name)}")
    for name in ("source_duration", "record_duration"):
        if getattr(job, name) <= 0:
            raise ClipOutOfBounds(f"{name} must be positive, got {getattr(job, name)}")
    spans = (("record_duration", Fraction(job.record_duration) / job.timeline_rate),
             ("source_duration", job.source_duration * job.time_scalar / job.media_rate))
    for name, seconds in spans:
        if seconds > MAX_CLIP_SECONDS:
            raise ClipOutOfBounds(f"{name} spans {float(seconds):.6g} s; the engine takes clips "
                                  f"of at most {MAX_CLIP_SECONDS} s (cut longer ones into parts)")
    starts = (("record_start", job.record_start, job.timeline_rate),
              ("source_start", job.source_start, job.media_rate),
              ("media_origin", job.media_origin, job.media_rate))
    for name, frames, rate in starts:
        if frames / rate > MAX_POSITION_SECONDS:
            raise ClipOutOfBounds(f"{name} {frames} is past {MAX_POSITION_SECONDS // 86400} days "
                                  f"at {rate} fps")
