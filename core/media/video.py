"""Decode a clip's frames from a video file with PyAV, addressed in exact media time.

Media time: source frame k at rate r is at k/r seconds, where 0 is the stream's first frame
(its start_time), so files with a non-zero start time work unchanged. A clip whose OTIO source
range is expressed from the file's timecode (available_range starting at 01:00:00:00, as most
hosts write) passes ``origin_frame=media_frame_offset(info, rate)``: source frame k is then read
at (k - origin_frame)/r. ``ClipJob.source_start`` maps to ``start_frame`` the same way.

Each requested time gets the frame whose presentation interval [pts, next pts) contains it,
computed from pts, not by counting frames, so variable frame rate files work: a frame held longer
is repeated, frames closer together than the rate are skipped. Timestamps rounded by the container
(Matroska's 1 ms ticks) are absorbed by a tolerance of one time-base tick.

Pictures come out as they are shown, not as they are stored: a display matrix (a phone held
upright) turns each frame by its multiple of 90 degrees. Interlaced frames are not deinterlaced,
see ``_converter``.
"""
from __future__ import annotations

import collections
import functools
import heapq
import logging
import os
import stat
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Iterator

import numpy as np

from maskvat_foley.core.timeline.rates import exact_rate, from_timecode, rate_str, round_half_up

# Frames held to put decoded frames in presentation order (video.presentation_order). Stamped in
# coding order, a frame's stamp may come up to H.264's largest reorder depth late; stamped right,
# the decoder already hands frames out in order, bar one it guesses out early at a stream's start,
# so a few suffice (held frames are whole decoded pictures: 16 of 4K are 200 MB).
REORDER_DEPTH = 16
EARLY_FRAMES = 4

log = logging.getLogger(__name__)


class MediaError(Exception):
    """A media file is missing, unreadable, corrupt, or shorter than asked."""


@dataclass(frozen=True)
class VideoInfo:
    path: str
    width: int
    height: int
    rate: Fraction  # exact (snapped) average frame rate
    start_time: Fraction  # seconds: the stream's start_time * time_base
    time_base: Fraction
    start_pts: int
    duration_frames: int | None  # frame count (at ``rate``); None when the file does not say
    has_audio: bool
    codec: str
    timecode: str | None = None  # the file's start timecode, if tagged
    timecode_frame: int | None = None  # that timecode as a frame number at ``rate``
    audio_sample_rate: int | None = None
    audio_channels: int | None = None


@dataclass
class Frames:
    """Decoded frames of one request.

    ``times[i]`` is the exact output time of frame i relative to the first requested frame
    (i / rate); ``media_times[i]`` the exact media time sampled for it ((start - origin +
    i*time_scalar) / rate, 0 = the stream's first frame); ``pts[i]`` the stream pts of the decoded
    frame used. ``seconds`` gives ``times`` as float64 for numeric code.
    """

    rgb: np.ndarray  # uint8 [N, H, W, 3]
    times: list[Fraction]
    media_times: list[Fraction]
    pts: list[int]
    rate: Fraction
    padded: int = 0  # trailing frames that repeat the last real one (pad=True only)
    decoded: int = 0  # frames the decoder produced, to show that seeking skipped the rest
    path: str = field(default="")

    @property
    def seconds(self) -> np.ndarray:
        return np.array([float(t) for t in self.times], dtype=np.float64)

    def __len__(self) -> int:
        return len(self.times)


def regular_file(path: str | os.PathLike) -> str:
    """``path`` as a string if it names a regular file (symlinks followed), else MediaError.

    Checked without opening it: opening a named pipe blocks until a writer comes, and a device
    (/dev/zero) never ends, so neither must ever reach a decoder or a hash.
    """
    p = str(path)
    if os.path.isdir(p) or "%" in os.path.basename(p):
        raise MediaError(f"{p}: image sequences are not supported yet; render the clip to a movie file")
    try:
        mode = os.stat(p).st_mode
    except (FileNotFoundError, NotADirectoryError):
        raise MediaError(f"media file not found: {p}") from None
    except OSError as exc:
        raise MediaError(f"{p}: cannot read the media file ({exc.strerror or exc})") from None
    if not stat.S_ISREG(mode):
        raise MediaError(f"{p}: not a regular file (a pipe, socket or device); media must be a file")
    if os.stat(p).st_size == 0:  # FFmpeg's word for it is "Invalid data found", which says less
        raise MediaError(f"{p}: the file is empty (0 bytes)")
    return p


def _why(exc: BaseException) -> str:
    """FFmpeg's reason without PyAV's errno and function name ('Invalid data found when ...')."""
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def _open(path: str):
    import av

    try:
        return av.open(path, "r")
    except (av.error.FFmpegError, OSError) as exc:
        raise MediaError(f"{path}: cannot open as media ({_why(exc)})") from None


def _video_stream(container, path: str):
    if not container.streams.video:
        raise MediaError(f"{path}: has no video stream")
    return container.streams.video[0]


def _stream_timecode(container, stream) -> str | None:
    """The 'timecode' tag of the video stream, a tmcd data stream, or the container."""
    for meta in [stream.metadata, *(s.metadata for s in container.streams.data), container.metadata]:
        for k, v in meta.items():
            if k.lower() == "timecode" and v:
                return str(v)
    return None


def probe(path: str | os.PathLike) -> VideoInfo:
    """What a video file holds: size, exact rate, start time, length, audio, timecode."""
    p = regular_file(path)
    with _open(p) as container:
        vs = _video_stream(container, p)
        raw_rate = vs.average_rate or vs.guessed_rate or vs.base_rate
        if not raw_rate:
            raise MediaError(f"{p}: the video stream has no frame rate")
        rate = exact_rate(Fraction(raw_rate))
        tb = Fraction(vs.time_base)
        start_pts = vs.start_time if vs.start_time is not None else 0
        if vs.frames:
            duration = int(vs.frames)
        elif vs.duration:
            duration = round_half_up(vs.duration * tb * rate)
        elif container.duration:
            duration = round_half_up((Fraction(container.duration, 1_000_000) - start_pts * tb) * rate)
        else:
            duration = None
        tc = _stream_timecode(container, vs)
        tc_frame = None
        if tc is not None:
            try:
                tc_frame = from_timecode(tc, rate)
            except ValueError:
                log.warning("%s: ignoring unreadable timecode %r", p, tc)
                tc = None
        audio = container.streams.audio[0] if container.streams.audio else None
        return VideoInfo(
            path=p, width=vs.codec_context.width, height=vs.codec_context.height, rate=rate,
            start_time=start_pts * tb, time_base=tb, start_pts=start_pts, duration_frames=duration,
            has_audio=audio is not None, codec=vs.codec_context.name, timecode=tc, timecode_frame=tc_frame,
            audio_sample_rate=audio.codec_context.sample_rate if audio else None,
            audio_channels=audio.codec_context.channels if audio else None)


def media_frame_offset(info: VideoInfo, rate: Fraction | int | float | str) -> int:
    """The source frame number (at ``rate``) of the file's first frame: its timecode, or 0.

    Pass it as ``origin_frame`` when a clip's source range counts from the media's timecode.
    """
    rate = exact_rate(rate)
    if info.timecode_frame is None:
        return 0
    return round_half_up(Fraction(info.timecode_frame) * rate / info.rate)


def file_origin(info: VideoInfo, rate: Fraction | int | float | str, media_start: int, source_start: int) -> int:
    """The source frame number of the file's first frame, as clips count it.

    A media reference's available range says where the file starts; without one (start 0), the
    file's timecode counts as the origin when the source range clearly counts from it.
    """
    if media_start != 0:
        return media_start
    tc = media_frame_offset(info, rate)
    return tc if 0 < tc <= source_start else 0


def runs_past_end(last_seconds: Fraction, frames: int, rate: Fraction) -> bool:
    """Whether a frame at ``last_seconds`` lies past a file of ``frames`` frames at ``rate`` by a
    file frame or more; that frame of slack absorbs containers that round their duration."""
    return last_seconds >= Fraction(frames + 1) / rate


class _SeekedPastTarget(Exception):
    pass


def read_frames(path: str | os.PathLike, start_frame: int, num_frames: int,
                rate: Fraction | int | float | str, *, size: tuple[int, int] | None = None,
                time_scalar: Fraction | int = 1, origin_frame: int = 0, pad: bool = False) -> Frames:
    """Decode ``num_frames`` frames from source frame ``start_frame`` at ``rate`` as RGB.

    size: (width, height) of the picture as shown (rotated upright) to scale to, or None for the file's size.
    time_scalar: media frames advanced per output frame (a LinearTimeWarp: 2 = double speed,
      0 = freeze frame); must not be negative.
    origin_frame: the source frame number of the file's first frame (see media_frame_offset).
    pad: if the file ends early, repeat its last frame instead of raising MediaError.
    """
    import av

    p = regular_file(path)
    rate, ts = exact_rate(rate), Fraction(time_scalar)
    if num_frames <= 0:
        raise ValueError(f"{p}: num_frames must be positive, got {num_frames}")
    if ts < 0:
        raise MediaError(f"{p}: reverse playback (time scalar {ts}) is not supported")
    if start_frame < origin_frame:
        raise MediaError(f"{p}: source frame {start_frame} is before the media's first frame {origin_frame}")
    targets = [(start_frame - origin_frame + i * ts) / rate for i in range(num_frames)]
    convert = _converter(size, p)
    st = os.stat(p)
    coding_order = _coding_order_stamps(p, st.st_size, st.st_mtime_ns)
    container, vs = _open_video(p)
    used = False  # a fresh container stands at the file's first packet
    back = Fraction(0)  # how far before the target to seek; grows if the seek lands late
    try:
        while True:
            seek_to = max(Fraction(0), targets[0] - back)
            at_start = seek_to <= 0
            if at_start and used:
                # From the start: decode from a fresh open, never a seek. MPEG-TS/PS demuxers seek by
                # bisecting the file on timestamps and land a packet or a GOP past the first frame,
                # which would then silently stand in for frame 0 (frame 1 or 11 instead).
                container.close()
                container, vs = _open_video(p)
            tb = Fraction(vs.time_base)
            start_pts = vs.start_time if vs.start_time is not None else 0
            tol = min(tb, 1 / (4 * rate))
            if not at_start:
                container.seek(start_pts + int(seek_to / tb), stream=vs, backward=True)
            used = True
            try:
                arrays, pts, decoded = _pick(container, vs, targets, start_pts, tb, rate, tol, at_start, convert,
                                             coding_order)
                break
            except _SeekedPastTarget:
                back = max(2 * back, Fraction(1))
                log.debug("%s: seek landed after %s s; retrying %s s earlier", p, targets[0], back)
    except av.error.FFmpegError as exc:
        raise MediaError(f"{p}: decoding failed ({_why(exc)}); the file may be damaged") from None
    finally:
        container.close()
    got = len(arrays)
    if got < num_frames:
        if not pad or got == 0:
            last = start_frame + num_frames - 1
            raise MediaError(f"{p}: the media ended early: read {got} of {num_frames} frames asked "
                             f"(source frames {start_frame}..{last} at {rate_str(rate)} fps)")
        arrays += [arrays[-1]] * (num_frames - got)
        pts += [pts[-1]] * (num_frames - got)
    return Frames(rgb=np.stack(arrays), times=[Fraction(i) / rate for i in range(num_frames)],
                  media_times=targets, pts=pts, rate=rate, padded=num_frames - got, decoded=decoded, path=p)


def _open_video(path: str):
    """A just opened container and its video stream, set to decode with threads."""
    container = _open(path)
    try:
        vs = _video_stream(container, path)
    except MediaError:
        container.close()
        raise
    vs.thread_type = "AUTO"
    return container, vs


def presentation_order(frames: Iterator[Any], depth: int = REORDER_DEPTH,
                       stamps_in_coding_order: bool = False) -> Iterator[Any]:
    """Decoded frames in presentation order, each with its moment as ``pts``, holding at most
    ``depth`` of them. Normally a frame's pts is its moment and frames are put in its order (a
    decoder that guesses a stream's reorder depth too small hands a frame out early). Some camera
    files stamp frames in coding order (``stamps_in_coding_order``: a phone's H.264 with B-frames in
    a container without composition offsets, every packet's pts its dts): there the decoder's order
    is right and the stamps are not, so the k-th frame out takes the k-th smallest stamp. Picked by
    their own stamps, such a clip's pictures stutter back and forth by frames."""
    held: list[tuple[int, int, Any]] = []
    queue: collections.deque = collections.deque()
    n = 0
    while True:
        try:
            frame = next(frames, None)
        except Exception:  # FFmpegError: the frames before the damage first, then the error
            yield from _release(held, queue, 0)
            raise
        if frame is None:
            break
        n += 1
        key = frame.pts if frame.pts is not None else frame.dts
        if key is None:  # nothing to order by: in turn, after what is held
            yield from _release(held, queue, 0)
            yield frame
            continue
        heapq.heappush(held, (key, n, frame))
        if stamps_in_coding_order:
            queue.append(frame)
        yield from _release(held, queue, depth)
    yield from _release(held, queue, 0)


def _release(held: list, queue: collections.deque, keep: int) -> Iterator[Any]:
    while len(held) > keep:
        key, _, frame = heapq.heappop(held)
        if queue:
            frame = queue.popleft()
            frame.pts = key
        yield frame


def decode_rule(path: str | os.PathLike | None) -> dict:
    """What feature caches record of how a file's frames were read: frames stamped in coding order
    are re-timed (``presentation_order``), so features an older reader made of them are not reused;
    nothing for any other file, so their cached features stay valid."""
    if path is None:
        return {}
    try:
        st = os.stat(path)
        resorted = _coding_order_stamps(os.fspath(path), st.st_size, st.st_mtime_ns)
    except (OSError, ImportError, MediaError):  # no such file, or no PyAV: nothing read by this reader
        return {}
    return {"decode": "coding-order-stamps-resorted"} if resorted else {}


@functools.lru_cache(maxsize=64)
def _coding_order_stamps(path: str, size: int, mtime_ns: int) -> bool:
    """Whether a file's video packets carry coding-order stamps as their pts (``presentation_order``):
    its first packets' pts all equal their dts while the decoder reorders frames. (size and mtime
    key the cache.)"""
    container, vs = _open_video(path)
    try:
        if not vs.codec_context.has_b_frames:
            return False  # no reordering: coding order is presentation order
        stamped = [(pkt.pts, pkt.dts) for _, pkt in zip(range(64), container.demux(vs))
                   if pkt.pts is not None and pkt.dts is not None]
        return len(stamped) > 2 and all(pts == dts for pts, dts in stamped)
    except Exception:  # FFmpegError: read_frames itself says what is wrong with the file
        return False
    finally:
        container.close()


def _pick(container, vs, targets, start_pts, tb, rate, tol, at_start, convert, coding_order=False):
    """The frame holding each target time, decoding forward from the current position.

    Returns (converted arrays, their pts, frames decoded); frames are converted as they are
    picked so no more than one decoded frame is held.
    """
    import av

    arrays: list[np.ndarray] = []
    pts_list: list[int] = []
    prev = prev_arr = None
    prev_dur = Fraction(0)  # ticks
    decoded, i, n = 0, 0, len(targets)

    def take(frame):
        nonlocal prev_arr
        if prev_arr is None or prev_arr[0] is not frame:
            prev_arr = (frame, convert(frame))  # repeated frames (slow motion, freeze) convert once
        arrays.append(prev_arr[1])
        pts_list.append(frame.pts)

    # a stream without B-frames is decoded in its presentation order: nothing to hold
    depth = 0 if not vs.codec_context.has_b_frames else REORDER_DEPTH if coding_order else EARLY_FRAMES
    frames = presentation_order(iter(container.decode(vs)), depth, coding_order)
    while True:
        try:
            frame = next(frames, None)
        except av.error.FFmpegError as exc:  # say where: the damage may lie past the clip's frames
            at = float((prev.pts - start_pts) * tb) if prev is not None else float(targets[0])
            raise MediaError(f"{container.name}: decoding failed after media time {at:.3f} s ({_why(exc)}); "
                             f"the file may be damaged there") from None
        if frame is None:
            break
        decoded += 1
        if frame.pts is None:
            if frame.dts is not None:
                frame.pts = frame.dts
            elif prev is not None:
                frame.pts = prev.pts + round(prev_dur)
            else:
                raise MediaError(f"{container.name}: frames have no timestamps")
        if prev is not None and frame.pts < prev.pts:
            continue  # out of order past REORDER_DEPTH: its moment is gone
        t = (frame.pts - start_pts) * tb
        if prev is None and t > targets[i] + tol and not at_start:
            raise _SeekedPastTarget()
        while i < n and targets[i] + tol < t:
            take(prev if prev is not None else frame)  # before the very first frame: use it
            i += 1
        if i == n:
            return arrays, pts_list, decoded
        prev, prev_dur = frame, Fraction(frame.duration) if frame.duration else 1 / (rate * tb)
    if prev is not None:
        end = (prev.pts - start_pts + prev_dur) * tb
        while i < n and targets[i] + tol < end:
            take(prev)
            i += 1
    return arrays, pts_list, decoded


def _converter(size: tuple[int, int] | None, path: str) -> Callable[[Any], np.ndarray]:
    """frame -> uint8 RGB [H, W, 3] of the picture as shown, ``size`` = (W, H) of the upright picture.

    Rotation: a display matrix (phones store a portrait video as landscape pictures and a matrix
    turning them upright) is applied in quarter turns, so features see the scene the right way up;
    its angle is rounded to a multiple of 90 degrees and a mirror in it is ignored (neither
    changes what is heard, and players only ever meet quarter turns).
    Interlacing: frames are not deinterlaced. Features see the picture scaled down several times
    (64-224 px), which blends a woven frame's two fields as a blend deinterlacer would, and the model
    works at the frame rate, so a deinterlacer (yadif) would cost a filter pass per frame and
    change nothing the model can use.
    """
    width = height = None
    if size is not None:
        width, height = (int(v) for v in size)
        if width <= 0 or height <= 0:
            raise ValueError(f"{path}: size must be positive, got {size}")

    def convert(frame) -> np.ndarray:
        turns = round(getattr(frame, "rotation", 0) / 90) % 4  # PyAV < 13 has no rotation: as stored
        kwargs: dict[str, Any] = {"format": "rgb24"}
        if width is not None:  # a quarter turn swaps the sides: scale to the stored orientation first
            w, h = (height, width) if turns % 2 else (width, height)
            kwargs.update(width=w, height=h)
        rgb = frame.to_ndarray(**kwargs)
        return np.rot90(rgb, turns) if turns else rgb  # rotation is counterclockwise, as np.rot90's

    return convert


def read_audio(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """The first audio stream of a file as float32 [channels, samples] and its sample rate."""
    import av

    p = regular_file(path)
    with _open(p) as container:
        if not container.streams.audio:
            raise MediaError(f"{p}: has no audio stream")
        stream = container.streams.audio[0]
        sr = stream.codec_context.sample_rate
        declared = (round_half_up(stream.duration * Fraction(stream.time_base) * sr)
                    if stream.duration else None)
        resampler = av.AudioResampler(format="fltp", layout=stream.codec_context.layout, rate=sr)
        chunks = []
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray())
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray())
        except av.error.FFmpegError as exc:
            raise MediaError(f"{p}: audio decoding failed ({exc})") from None
    if not chunks:
        raise MediaError(f"{p}: the audio stream holds no samples")
    audio = np.concatenate(chunks, axis=1).astype(np.float32, copy=False)
    if declared is not None and 0 < declared < audio.shape[1]:
        audio = audio[:, :declared]  # drop the encoder's padding after the last real sample (AAC)
    return audio, int(sr)
