"""A clip's media, checked before the engine spends anything on it.

Order matters: the job's numbers are bounded first (limits), then the media must be a regular
file (never opened otherwise: a named pipe would block the engine's only worker), then its real
length, from the container, must hold the span asked for; only then are frames listed and decoded.

The engine reads frames through a frame source: ``MediaFiles`` (media files decoded with PyAV, the
normal path) or ``MemoryFrames`` (pictures already in memory, for machines without PyAV).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from maskvat_foley.core.engine.limits import ClipOutOfBounds, check_clip
from maskvat_foley.core.jobs import ClipJob


class ClipFailed(Exception):
    """This clip cannot be generated (bad media, unusable range); others go on."""


def check_clip_media(job: ClipJob) -> str:
    """The clip's media path once the job is in bounds and the media is a regular file."""
    from maskvat_foley.core.media.video import MediaError, regular_file

    try:
        check_clip(job)
    except ClipOutOfBounds as exc:
        raise ClipFailed(f"clip {job.clip_id}: {exc}") from None
    if job.media_path is None:
        raise ClipFailed(f"clip {job.clip_id} ({job.name}) has no media file")
    try:
        return regular_file(job.media_path)
    except MediaError as exc:
        raise ClipFailed(str(exc)) from None


@dataclass(frozen=True)
class ClipSpan:
    """Where a clip's frames are: its media (probed) and the source frame of the file's start."""

    path: str
    info: object  # core.media.video.VideoInfo
    origin: int


def clip_span(job: ClipJob) -> ClipSpan:
    """Probe the clip's media and check that it is long enough for the clip's frames."""
    from maskvat_foley.core.media.video import MediaError, file_origin, probe

    path = check_clip_media(job)
    try:
        info = probe(path)
    except MediaError as exc:
        raise ClipFailed(str(exc)) from None
    origin = file_origin(info, job.media_rate, job.media_origin, job.source_start)
    check_span(job, info, origin)
    return ClipSpan(path, info, origin)


def read_clip_frames(job: ClipJob, span: ClipSpan, size: tuple[int, int]):
    """The clip's source frames (core.media.video.Frames) at ``size``."""
    from maskvat_foley.core.media.video import MediaError, read_frames

    try:
        return read_frames(span.path, job.source_start, job.source_duration, job.media_rate,
                           size=size, time_scalar=job.time_scalar, origin_frame=span.origin)
    except MediaError as exc:
        raise ClipFailed(str(exc)) from None


def check_span(job: ClipJob, info, origin: int) -> None:
    """ClipFailed when the last frame the clip samples lies past the media's end (by more than
    one frame of the file, which absorbs containers that round their duration)."""
    if not info.duration_frames:
        return  # the container does not say; decoding will tell
    from maskvat_foley.core.media.video import runs_past_end

    last = Fraction(job.source_start - origin + (job.source_duration - 1) * job.time_scalar)
    last_seconds = last / job.media_rate
    media_seconds = Fraction(info.duration_frames) / info.rate
    if runs_past_end(last_seconds, info.duration_frames, info.rate):
        last_frame = math.ceil(last_seconds * info.rate)
        raise ClipFailed(f"{info.path}: the clip samples up to media frame {last_frame} "
                         f"({float(last_seconds):.3f} s) but the file holds {info.duration_frames} "
                         f"frames ({float(media_seconds):.3f} s)")


# -- where the engine gets a clip's frames ---------------------------------------------------------
class MediaFiles:
    """The engine's frame source: each job's media file, decoded with PyAV (the normal path)."""

    kind = "pyav"

    def media_hash(self, job: ClipJob) -> str:
        """The job in bounds and its media a regular file, then a hash of the media's content
        (what the feature cache keys on)."""
        from maskvat_foley.core.engine.feature_cache import content_hash

        return content_hash(check_clip_media(job))

    def locate(self, job: ClipJob) -> ClipSpan:
        """Where the clip's frames are, once the media is known to hold them (ClipFailed if not)."""
        return clip_span(job)

    def read(self, job: ClipJob, span: ClipSpan, size: tuple[int, int]):
        """The clip's source frames (core.media.video.Frames) at ``size``."""
        return read_clip_frames(job, span, size)


class MemoryFrames:
    """A frame source of pictures held in memory, by media name: no file, no PyAV.

    ``clips`` maps a job's ``media_path`` (any name) to (uint8 RGB frames [N, H, W, 3], their
    rate); file frame k is shown at k / rate, and source frame s of a job at (s - media_origin) /
    media_rate, as in a file. Used where PyAV is not installed (benchmarks on a GPU machine) and
    by callers that render their pictures themselves.
    """

    kind = "memory"

    def __init__(self, clips: dict | None = None):
        self.clips: dict[str, tuple] = {}
        for name, (rgb, rate) in (clips or {}).items():
            self.add(name, rgb, rate)

    def add(self, name: str, rgb, rate) -> None:
        import numpy as np

        from maskvat_foley.core.timeline.rates import exact_rate

        a = np.asarray(rgb)
        if a.dtype != np.uint8 or a.ndim != 4 or a.shape[-1] != 3 or not a.shape[0]:
            raise ValueError(f"frames of {name!r} must be uint8 [N, H, W, 3] with N > 0, got {a.dtype} {a.shape}")
        self.clips[name] = (a, exact_rate(rate))

    def _clip(self, job: ClipJob):
        try:
            check_clip(job)
        except ClipOutOfBounds as exc:
            raise ClipFailed(f"clip {job.clip_id}: {exc}") from None
        if job.media_path not in self.clips:
            raise ClipFailed(f"clip {job.clip_id} ({job.name}): no frames in memory for {job.media_path!r}")
        return self.clips[job.media_path]

    def media_hash(self, job: ClipJob) -> str:
        """The job in bounds and its frames here (ClipFailed if not), then a hash of them."""
        import hashlib

        import numpy as np

        rgb, rate = self._clip(job)
        h = hashlib.blake2b(digest_size=20)
        h.update(f"memory:{rgb.shape}:{rate}".encode())
        for frame in rgb[::max(1, len(rgb) // 16)]:  # a sample of the pictures, like content_hash's
            h.update(memoryview(np.ascontiguousarray(frame)).cast("B"))
        return h.hexdigest()

    def locate(self, job: ClipJob) -> list[int]:
        """The index of the picture shown at each of the clip's source frames (the one whose
        interval [k/rate, (k+1)/rate) holds its time, as decoding picks); ClipFailed past the end."""
        rgb, rate = self._clip(job)
        origin, ts = job.media_origin, Fraction(job.time_scalar)
        if job.source_start < origin:
            raise ClipFailed(f"clip {job.clip_id}: source frame {job.source_start} is before the media's "
                             f"first frame {origin}")
        index = [math.floor((job.source_start - origin + i * ts) / job.media_rate * rate)
                 for i in range(job.source_duration)]
        if index[-1] >= len(rgb):
            raise ClipFailed(f"clip {job.clip_id}: the clip samples up to frame {index[-1]} but "
                             f"{job.media_path!r} holds {len(rgb)} frames")
        return index

    def read(self, job: ClipJob, index: list[int], size: tuple[int, int]):
        """The clip's frames (core.media.video.Frames, as a file would give them) at ``size``."""
        import numpy as np

        from maskvat_foley.core.media.resize import resize_frames
        from maskvat_foley.core.media.video import Frames

        rgb, rate = self._clip(job)
        n, origin, ts = job.source_duration, job.media_origin, Fraction(job.time_scalar)
        return Frames(rgb=resize_frames(rgb[np.asarray(index)], size),
                      times=[Fraction(i) / job.media_rate for i in range(n)],
                      media_times=[(job.source_start - origin + i * ts) / job.media_rate for i in range(n)],
                      pts=list(index), rate=job.media_rate, decoded=len(set(index)), path=str(job.media_path))

