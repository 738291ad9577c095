"""Write small video files (optionally with audio and a timecode) with PyAV.

Used for demo media, FoleyWorld clips and tests. Frame times are exact: the video stream's time
base is 1/rate (1001/24000 at 23.976), or a common denominator of the given frame times for
variable frame rate files, so every frame's pts is an integer with no rounding.
"""
from __future__ import annotations

import logging
import math
import os
import uuid
from fractions import Fraction
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from maskvat_foley.core.timeline.rates import exact_rate, from_timecode, rate_str

log = logging.getLogger(__name__)

# In preference order; the first one this PyAV build can encode wins.
VIDEO_CODECS = ("libx264", "h264", "mpeg4", "mjpeg")
_MAX_TIME_BASE_DEN = 2**31 - 1
_VFR_FALLBACK_TIME_BASE = Fraction(1, 90000)


def available_encoder(names: Sequence[str]) -> str:
    """The first codec in ``names`` this PyAV build can encode with."""
    import av

    for name in names:
        try:
            av.codec.Codec(name, "w")
            return name
        except Exception:  # noqa: BLE001 - PyAV raises different types per build for unknown codecs
            continue
    raise RuntimeError(f"none of the video encoders {', '.join(names)} is available in this PyAV build")


def write_video(path: str | os.PathLike, frames: Iterable[np.ndarray], rate: Fraction | int | float | str,
                *, audio: np.ndarray | None = None, sample_rate: int | None = None,
                codec: str | None = None, crf: int = 18, timecode: str | None = None,
                times: Sequence[Fraction] | None = None, start_time: Fraction | int = 0,
                gop: int | None = None, audio_codec: str | None = None,
                options: dict[str, str] | None = None, deterministic: bool = False) -> Path:
    """Write ``frames`` (uint8 [H, W, 3] RGB) to ``path`` (.mp4, .mov, .mkv ...) atomically.

    rate: exact frame rate (floats such as 23.976 are snapped to 24000/1001).
    audio: float [samples] or [channels, samples] in [-1, 1] at ``sample_rate``; AAC by default,
      ``audio_codec="pcm_s16le"`` (or pcm_s24le) for uncompressed audio in .mov/.mkv.
    codec: video encoder; default the first available of libx264, h264, mpeg4, mjpeg.
    crf: quality (libx264 CRF, or mpeg4 qscale derived from it); lower is better.
    timecode: start timecode ('01:00:00:00', ';' for drop frame), written as the stream's
      'timecode' tag (a tmcd track in mp4/mov).
    times: exact presentation time in seconds of each frame (strictly increasing) for a variable
      frame rate file; default frame i at i/rate.
    start_time: exact seconds added to every video and audio timestamp (a non-zero start time).
    gop: keyframe interval in frames (default: the encoder's).
    deterministic: the same frames give the same file every run (one thread, and libx264 without
      its assembly paths: with them, measured, two runs of one 96x96 clip decoded to pictures that
      differ in a third of the pixels even on one thread). For evaluation media; slower.
    Returns the final path. On any error nothing is left at ``path`` or under a temporary name.
    """
    import av

    path = Path(path)
    rate = exact_rate(rate)
    start_time = Fraction(start_time)
    if start_time < 0:
        raise ValueError(f"{path}: start_time must not be negative, got {start_time}")
    if timecode is not None:
        from_timecode(timecode, rate)  # validates, raising a clear ValueError
    if audio is not None:
        if not sample_rate or sample_rate <= 0:
            raise ValueError(f"{path}: audio given without a positive sample_rate")
        audio = np.asarray(audio, dtype=np.float32)
        if audio.ndim == 1:
            audio = audio[None, :]
        if audio.ndim != 2 or audio.shape[0] not in (1, 2):
            raise ValueError(f"{path}: audio must be [samples] or [1|2, samples], got shape {audio.shape}")

    codec = codec or available_encoder(VIDEO_CODECS)
    time_base = _time_base(rate, times, start_time)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Keep the real extension last so FFmpeg picks the container format from the name.
    tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.partial{path.suffix}")
    try:
        with av.open(str(tmp), "w") as container:
            n = _encode(container, frames, rate, codec, crf, time_base, times, start_time, gop,
                        timecode, audio, sample_rate, audio_codec, options, path, deterministic)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    log.debug("wrote %s: %d frames at %s fps with %s", path, n, rate_str(rate), codec)
    return path


def _time_base(rate: Fraction, times: Sequence[Fraction] | None, start_time: Fraction) -> Fraction:
    """1/rate when it holds every timestamp exactly, else 1/(a common denominator)."""
    if times is None and (start_time / (1 / rate)).denominator == 1:
        return 1 / rate
    den = math.lcm(rate.numerator, start_time.denominator)  # 1/numerator divides 1/rate
    for t in times or ():
        den = math.lcm(den, Fraction(t).denominator)
        if den > _MAX_TIME_BASE_DEN:
            break
    if den > _MAX_TIME_BASE_DEN:
        log.warning("timestamps need a time base finer than 1/2^31; rounding them to 1/90000")
        return _VFR_FALLBACK_TIME_BASE
    return Fraction(1, den)


def _encode(container, frames, rate, codec, crf, time_base, times, start_time, gop, timecode,
            audio, sample_rate, audio_codec, options, path, deterministic=False) -> int:
    import av

    it = iter(frames)
    first = next(it, None)
    if first is None:
        raise ValueError(f"{path}: no frames to write")
    first = _check_frame(first, 0, None, path)
    h, w = first.shape[:2]

    stream = container.add_stream(codec, rate=rate, time_base=time_base)
    stream.width, stream.height = w, h
    stream.pix_fmt = _pix_fmt(codec, w, h, path)
    if gop:
        stream.codec_context.gop_size = int(gop)
    opts = dict(options or {})
    if codec == "libx264":
        opts.setdefault("crf", str(crf))
        opts.setdefault("preset", "veryfast")
        if deterministic:
            opts["x264-params"] = ":".join(filter(None, [opts.get("x264-params"), "asm=0"]))
    if deterministic:
        stream.codec_context.thread_count = 1
        stream.codec_context.thread_type = "NONE"
    elif codec in ("mpeg4", "mjpeg"):
        # Fixed quantiser 2..31 (CRF 0..51 mapped onto it); qmin = qmax pins the rate control to it.
        q = str(max(2, min(31, crf * 31 // 51)))
        opts.setdefault("qmin", q)
        opts.setdefault("qmax", q)
    stream.options = opts
    if timecode is not None:
        stream.metadata["timecode"] = timecode

    astream = None
    if audio is not None:
        astream = container.add_stream(audio_codec or "aac", rate=int(sample_rate))
        astream.layout = "mono" if audio.shape[0] == 1 else "stereo"
        astream.time_base = Fraction(1, int(sample_rate))

    offset_ticks = round(start_time / time_base)
    last_pts = None
    n = 0
    for i, arr in enumerate(_chain(first, it)):
        arr = _check_frame(arr, i, (h, w), path)
        t = Fraction(times[i]) if times is not None else Fraction(i) / rate
        pts = round(t / time_base) + offset_ticks
        if last_pts is not None and pts <= last_pts:
            raise ValueError(f"{path}: frame {i} time {t} is not after the previous frame")
        last_pts = pts
        frame = av.VideoFrame.from_ndarray(arr, format="rgb24")
        frame.pts, frame.time_base = pts, time_base
        container.mux(stream.encode(frame))
        n += 1
    if times is not None and n != len(times):
        raise ValueError(f"{path}: {len(times)} frame times given for {n} frames")
    container.mux(stream.encode(None))
    if astream is not None:
        _encode_audio(container, astream, audio, int(sample_rate), start_time, path)
    return n


def _encode_audio(container, astream, audio: np.ndarray, sample_rate: int, start_time: Fraction,
                  path: Path) -> None:
    import av

    offset = start_time * sample_rate
    if offset.denominator != 1:
        raise ValueError(f"{path}: start_time {start_time} is not a whole number of audio samples")
    layout = "mono" if audio.shape[0] == 1 else "stereo"
    audio = np.clip(audio, -1.0, 1.0)
    chunk = 4096
    for s in range(0, audio.shape[1], chunk):
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(audio[:, s:s + chunk]), format="fltp",
                                           layout=layout)
        frame.sample_rate = sample_rate
        frame.pts, frame.time_base = s + int(offset), Fraction(1, sample_rate)
        container.mux(astream.encode(frame))
    container.mux(astream.encode(None))


def _chain(first, rest):
    yield first
    yield from rest


def _check_frame(arr, index: int, shape: tuple[int, int] | None, path: Path) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"{path}: frame {index} must be uint8 [H, W, 3], got {arr.dtype} {arr.shape}")
    if shape is not None and arr.shape[:2] != shape:
        raise ValueError(f"{path}: frame {index} is {arr.shape[1]}x{arr.shape[0]}, "
                         f"the first frame was {shape[1]}x{shape[0]}")
    return np.ascontiguousarray(arr)


def _pix_fmt(codec: str, w: int, h: int, path: Path) -> str:
    if codec == "mjpeg":
        return "yuvj420p" if w % 2 == 0 and h % 2 == 0 else "yuvj444p"
    if w % 2 == 0 and h % 2 == 0:
        return "yuv420p"
    if codec in ("libx264",):
        return "yuv444p"  # 4:2:0 needs even sizes; 4:4:4 takes any
    raise ValueError(f"{path}: {codec} needs an even frame size, got {w}x{h}")
