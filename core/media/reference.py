"""A reference sound ("make it sound like this"): read from the editor's own library, never changed.

Any file FFmpeg reads as audio (WAV, AIFF, FLAC, MP3 ...) or the audio track of a video, mono or
multichannel, at any sample rate: its range [start, end) in exact seconds is decoded (seeking near
the start, stopping at the end, so a long file costs only the part used), downmixed to mono,
resampled to the model's rate and trimmed to the model's reference length. The file is opened for
reading only; nothing is written next to it or copied. Problems are one-line ReferenceErrors.
"""
from __future__ import annotations

import functools
import hashlib
import logging
import math
import os
import stat
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from maskvat_foley.core.jobs import ReferenceSpec, seconds_str
from maskvat_foley.core.media.loudness import sample_peak_dbfs

log = logging.getLogger(__name__)

# A reference quieter than this at its loudest sample holds nothing to imitate (a -60 dBFS peak is
# below the noise floor of most field recordings).
SILENCE_DBFS = -60.0
# Seek only this far past the start: closer starts decode from the top, which every format allows.
SEEK_AFTER = Fraction(2)
SEEK_MARGIN = Fraction(1)  # land this much before the start: demuxers seek to a packet at or before
# A range END may run past a file's declared length by this much (containers round their duration).
END_TOLERANCE = Fraction(1, 20)


class ReferenceError(ValueError):
    """A reference sound that cannot be used, said in one line."""


@dataclass
class ReferenceAudio:
    """The reference as the model hears it, and what it came from (for the take's provenance).

    start/end: exact seconds of the file actually used (after trimming); sha256: of the whole
    file's bytes, so a take names the exact sound it imitated even if the file is renamed."""

    samples: np.ndarray  # float32 mono [T] at sample_rate
    sample_rate: int
    name: str  # the file's name, without its folder
    sha256: str
    start: Fraction
    end: Fraction
    trimmed: bool  # cut to the model's reference length
    path: str = ""  # the file as given (absolute when it came from the CLI or the panel)

    @property
    def seconds(self) -> Fraction:
        return self.end - self.start


def load_reference(spec: ReferenceSpec, *, sample_rate: int, max_seconds: float | Fraction | None,
                   min_seconds: float = 0.25) -> ReferenceAudio:
    """Read ``spec`` as float32 mono at ``sample_rate``: its range, trimmed to ``max_seconds``
    (None: no limit) with a logged message. ReferenceError when the file is missing, unreadable,
    holds no audio, the range lies outside it, or what is left is silent or under ``min_seconds``."""
    path = spec.path
    _check_file(path)
    first = spec.start or Fraction(0)
    limit = None if max_seconds is None else Fraction(max_seconds)
    if limit is not None and limit <= 0:
        raise ValueError(f"max_seconds must be positive, got {max_seconds}")
    audio, rate, trimmed = _decode(path, spec, first, limit)
    used = Fraction(audio.shape[1], rate)
    end = spec.end if spec.end is not None and not trimmed else first + used
    where = f" ({seconds_str(first)}-{seconds_str(end)} s)" if spec.start is not None or spec.end is not None else ""
    if used < Fraction(min_seconds):
        raise ReferenceError(f"reference {path}{where} is {float(used):.2f} s long; it needs at least "
                             f"{min_seconds:g} s")
    mono = _downmix(audio)
    peak_db = sample_peak_dbfs(mono)
    if peak_db < SILENCE_DBFS:
        level = "digital silence" if math.isinf(peak_db) else f"peak {peak_db:.0f} dBFS"
        raise ReferenceError(f"reference {path}{where} is silent ({level}); pick a sound to imitate")
    if trimmed:
        log.info("reference %s trimmed to %s-%s s: %s s of a reference are used at most", path,
                 seconds_str(first), seconds_str(end), seconds_str(limit))
    samples = _to_rate(mono, rate, sample_rate)
    return ReferenceAudio(samples=samples, sample_rate=int(sample_rate), name=os.path.basename(path),
                          sha256=file_sha256(path), start=first, end=end, trimmed=trimmed, path=path)


def check_reference(spec: ReferenceSpec, max_seconds: float | Fraction | None = 30) -> ReferenceAudio:
    """The checks of load_reference at a low rate (8 kHz), for callers that want to refuse a bad
    reference before a model is loaded; the engine loads it again at the model's own length."""
    return load_reference(spec, sample_rate=8000, max_seconds=max_seconds)


# -- reading ---------------------------------------------------------------------------------------
def _check_file(path: str) -> None:
    """Refuse what is not a readable regular file, without opening it (a FIFO would block)."""
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise ReferenceError(f"reference file not found: {path}") from None
    except OSError as exc:
        raise ReferenceError(f"reference {path}: cannot read it ({exc.strerror or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise ReferenceError(f"reference {path} is a folder; pick a sound file")
    if not stat.S_ISREG(st.st_mode):
        raise ReferenceError(f"reference {path} is not a regular file (a pipe, socket or device)")
    if st.st_size == 0:
        raise ReferenceError(f"reference {path} is empty (0 bytes)")
    if not os.access(path, os.R_OK):
        raise ReferenceError(f"reference {path}: cannot read it (permission denied)")


def _why(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def _decode(path: str, spec: ReferenceSpec, first: Fraction,
            limit: Fraction | None) -> tuple[np.ndarray, int, bool]:
    """Samples [channels, n] of the range at the file's own rate, and whether they were trimmed."""
    import av

    try:
        container = av.open(path, "r")
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise ReferenceError(f"reference {path}: cannot read it as audio ({_why(exc)})") from None
    with container:
        if not container.streams.audio:
            kind = "video" if container.streams.video else "file"
            raise ReferenceError(f"reference {path}: the {kind} has no audio track")
        stream = container.streams.audio[0]
        rate = int(stream.codec_context.sample_rate or stream.rate or 0)
        if rate <= 0:
            raise ReferenceError(f"reference {path}: the audio track has no sample rate")
        a = round(first * rate)
        b = None if spec.end is None else round(spec.end * rate)
        keep = None if limit is None else round(limit * rate)
        # One sample past the limit tells whether the file goes on (trimmed) or ends there.
        stop = min(x for x in (b, None if keep is None else a + keep + 1, math.inf) if x is not None)
        origin, chunks, eof = _read(container, stream, path, rate, first, stop)
        if origin > a:  # the demuxer seeked past the start: read from the top instead
            try:
                container.seek(0, stream=stream)
            except av.error.FFmpegError as exc:
                raise ReferenceError(f"reference {path}: cannot seek in its audio ({_why(exc)})") from None
            origin, chunks, eof = _read(container, stream, path, rate, Fraction(0), stop)
        declared = _declared_seconds(container, stream)
    audio = np.concatenate(chunks, axis=1) if chunks else np.zeros((1, 0), np.float32)
    have = origin + audio.shape[1]  # samples from the file's start that were decoded
    if eof and declared is not None and origin < round(declared * rate) < have:
        have = round(declared * rate)  # the encoder's padding after the last real sample (AAC)
        audio = audio[:, :have - origin]
    # The decoded end is the file's length, unless a seek landed past the end and nothing came.
    length = Fraction(have, rate) if eof and chunks else declared
    outside = a >= have if eof else False
    if b is not None:
        outside = outside or (b > have if eof else declared is not None and spec.end > declared + END_TOLERANCE)
    if outside:
        known = f"; the file is {float(length):.2f} s long" if length is not None else ""
        raise ReferenceError(f"reference {path}: range {spec.range_text()} s is outside the file{known}")
    cut = audio[:, a - origin:(have if b is None else min(b, have)) - origin]
    trimmed = keep is not None and cut.shape[1] > keep
    return (cut[:, :keep] if trimmed else cut), rate, trimmed


def _read(container, stream, path: str, rate: int, first: Fraction, stop: float):
    """Decode from near ``first`` until sample ``stop``: (sample index of the first decoded
    sample, chunks [channels, n] float32, whether the stream ended)."""
    import av

    tb = stream.time_base
    zero = stream.start_time or 0  # pts of the stream's first sample: the file's time 0
    if first > SEEK_AFTER and tb:
        try:
            container.seek(zero + int((first - SEEK_MARGIN) / tb), stream=stream, backward=True)
        except av.error.FFmpegError as exc:  # an unseekable stream: decode from the top
            log.debug("reference %s: seek failed (%s); decoding from the start", path, _why(exc))
    resampler = av.AudioResampler(format="fltp", rate=rate)  # planar float, layout kept
    origin, count, chunks = None, 0, []
    try:
        for frame in container.decode(stream):
            if origin is None:
                origin = round((frame.pts - zero) * tb * rate) if frame.pts is not None and tb else 0
            for out in resampler.resample(frame):
                arr = out.to_ndarray().astype(np.float32, copy=False)
                chunks.append(arr)
                count += arr.shape[1]
            if origin + count >= stop:
                return origin, chunks, False
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().astype(np.float32, copy=False))
    except av.error.FFmpegError as exc:
        raise ReferenceError(f"reference {path}: cannot decode its audio ({_why(exc)})") from None
    return (origin or 0), chunks, True


def _declared_seconds(container, stream) -> Fraction | None:
    """The length the container says the audio has (None when it does not say)."""
    if stream.duration and stream.time_base:
        return stream.duration * stream.time_base
    if container.duration:
        return Fraction(container.duration, 1_000_000)  # AV_TIME_BASE
    return None


def _downmix(audio: np.ndarray) -> np.ndarray:
    """Mono as the mean of the channels; the loudest channel when the mean cancels (a stereo
    file with one channel's polarity flipped), so a real sound is never called silent."""
    if audio.shape[0] == 1:
        return np.ascontiguousarray(audio[0], dtype=np.float32)
    mean = audio.mean(axis=0)
    loudest = audio[int(np.argmax(np.max(np.abs(audio), axis=1)))]
    if np.max(np.abs(mean), initial=0.0) < 0.5 * np.max(np.abs(loudest), initial=0.0):
        return np.ascontiguousarray(loudest, dtype=np.float32)
    return mean.astype(np.float32)


def _to_rate(mono: np.ndarray, rate: int, sample_rate: int) -> np.ndarray:
    from maskvat_foley.core.media.resample import resample

    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    count = round(Fraction(mono.shape[0] * sample_rate, rate))
    return resample(mono, rate, int(sample_rate), num_samples=count)


# -- identity --------------------------------------------------------------------------------------
def file_sha256(path: str) -> str:
    """sha256 of the file's bytes, remembered while the file is unchanged (size, time, inode):
    auditions and regenerates with the same reference hash a long video once."""
    st = os.stat(path)
    return _sha256(os.path.realpath(path), st.st_size, st.st_mtime_ns, st.st_ino)


@functools.lru_cache(maxsize=64)
def _sha256(path: str, size: int, mtime_ns: int, inode: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
