"""Small OTIO timelines of the kinds editors send, built in code and written to real files.

Every builder takes an exact rate and returns a Timeline; frames are integers at that rate.
"""
from __future__ import annotations

import os
import pathlib
from fractions import Fraction

import numpy as np
import opentimelineio as otio
import soundfile as sf

from maskvat_foley.core.jobs import Take
from maskvat_foley.core.timeline import rates

RATES = {
    "24": Fraction(24), "25": Fraction(25), "23.976": Fraction(24000, 1001),
    "29.97df": Fraction(30000, 1001), "59.94df": Fraction(60000, 1001),
}


def one_hour(rate: Fraction) -> str:
    """01:00:00:00 written the way an editor types it at this rate (drop frame at 29.97 and 59.94)."""
    return "01:00:00;00" if rates.is_drop_frame_rate(rate) else "01:00:00:00"


def rt(frames: int, rate: Fraction) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(frames, float(rate))


def tr(start: int, duration: int, rate: Fraction) -> otio.opentime.TimeRange:
    return otio.opentime.TimeRange(rt(start, rate), rt(duration, rate))


def media_file(folder: str | os.PathLike, name: str) -> str:
    """A stand-in media file (the timeline code only needs it to exist)."""
    path = pathlib.Path(folder) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not really a movie")
    return str(path)


def ext_ref(path: str, rate: Fraction, start: int = 0, duration: int = 2000) -> otio.schema.ExternalReference:
    return otio.schema.ExternalReference(target_url=pathlib.Path(path).absolute().as_uri(),
                                         available_range=tr(start, duration, rate))


def clip(name: str, start: int, duration: int, rate: Fraction, ref: otio.core.MediaReference | None = None
         ) -> otio.schema.Clip:
    return otio.schema.Clip(name=name, media_reference=ref, source_range=tr(start, duration, rate))


def gap(duration: int, rate: Fraction) -> otio.schema.Gap:
    return otio.schema.Gap(source_range=tr(0, duration, rate))


def new_timeline(name: str, rate: Fraction, global_start: str | None = None) -> otio.schema.Timeline:
    timeline = otio.schema.Timeline(name=name)
    if global_start is not None:
        timeline.global_start_time = rt(rates.from_timecode(global_start, rate), rate)
    return timeline


def simple(rate: Fraction, media_dir: str, global_start: str | None = None, markers: bool = True
           ) -> otio.schema.Timeline:
    """V1: A [0,48) from media frame 10, gap 12, B [60,90) from media frame 100 (media starting at
    frame 1000 of its own timecode); an audio track that must not be listed."""
    timeline = new_timeline("simple", rate, global_start)
    video = otio.schema.Track(name="Picture", kind=otio.schema.TrackKind.Video)
    a = clip("A", 10, 48, rate, ext_ref(media_file(media_dir, "a.mov"), rate))
    b = clip("B", 1100, 30, rate, ext_ref(media_file(media_dir, "b.mov"), rate, start=1000))
    video.extend([a, gap(12, rate), b])
    audio = otio.schema.Track(name="Dialogue", kind=otio.schema.TrackKind.Audio)
    audio.append(clip("dialogue", 0, 90, rate, ext_ref(media_file(media_dir, "dia.wav"), rate)))
    timeline.tracks.extend([video, audio])
    if markers:
        # Markers are in the time of what they are attached to; none of them moves anything.
        a.markers.append(otio.schema.Marker(name="hit", marked_range=tr(20, 0, rate)))
        video.markers.append(otio.schema.Marker(name="cue", marked_range=tr(50, 5, rate)))
        timeline.tracks.markers.append(otio.schema.Marker(name="reel", marked_range=tr(0, 10, rate)))
    return timeline


def with_transition(rate: Fraction, media_dir: str, global_start: str | None = None, in_offset: int = 6,
                    out_offset: int = 4) -> otio.schema.Timeline:
    """V1: A [0,48), a dissolve ``in_offset`` frames into A and ``out_offset`` into B, B [48,96) from
    media frame 200 (media starting at 100), gap 4, C [100,124)."""
    timeline = new_timeline("dissolve", rate, global_start)
    video = otio.schema.Track(name="V1")
    video.extend([
        clip("A", 0, 48, rate, ext_ref(media_file(media_dir, "a.mov"), rate)),
        otio.schema.Transition(name="dissolve", in_offset=rt(in_offset, rate), out_offset=rt(out_offset, rate)),
        clip("B", 200, 48, rate, ext_ref(media_file(media_dir, "b.mov"), rate, start=100)),
        gap(4, rate),
        clip("C", 0, 24, rate, ext_ref(media_file(media_dir, "c.mov"), rate)),
    ])
    timeline.tracks.append(video)
    return timeline


def nested(rate: Fraction, media_dir: str) -> otio.schema.Timeline:
    """The timeline-facts example: gap 10, then a stack trimmed to (5, 30) whose inner track holds an
    8-frame gap and clip N (source 100+40): N is seen at record 13 for 27 frames. Also H, a clip cut
    at its head by a second nested stack trimmed to (12, 10), and a clip after the stacks."""
    timeline = new_timeline("nested", rate)
    video = otio.schema.Track(name="V1")
    inner = otio.schema.Track(name="inner")
    inner.extend([gap(8, rate), clip("N", 100, 40, rate, ext_ref(media_file(media_dir, "n.mov"), rate))])
    stack = otio.schema.Stack(name="nest", source_range=tr(5, 30, rate))
    stack.append(inner)
    inner2 = otio.schema.Track(name="inner2")
    inner2.extend([gap(4, rate), clip("H", 0, 20, rate, ext_ref(media_file(media_dir, "h.mov"), rate))])
    stack2 = otio.schema.Stack(name="nest2", source_range=tr(12, 10, rate))
    stack2.append(inner2)
    video.extend([gap(10, rate), stack, stack2, clip("After", 0, 10, rate,
                                                     ext_ref(media_file(media_dir, "after.mov"), rate))])
    timeline.tracks.append(video)
    return timeline


def effects(rate: Fraction, media_dir: str) -> otio.schema.Timeline:
    """V1: Fast (LinearTimeWarp 2), Held (FreezeFrame), Plain (a warp of 1: no speed change)."""
    timeline = new_timeline("effects", rate)
    video = otio.schema.Track(name="V1")
    fast = clip("Fast", 0, 24, rate, ext_ref(media_file(media_dir, "fast.mov"), rate))
    fast.effects.append(otio.schema.LinearTimeWarp(name="speed", time_scalar=2.0))
    held = clip("Held", 0, 24, rate, ext_ref(media_file(media_dir, "held.mov"), rate))
    held.effects.append(otio.schema.FreezeFrame())
    plain = clip("Plain", 0, 24, rate, ext_ref(media_file(media_dir, "plain.mov"), rate))
    plain.effects.append(otio.schema.LinearTimeWarp(name="speed", time_scalar=1.0))
    video.extend([fast, held, plain])
    timeline.tracks.append(video)
    return timeline


def references(rate: Fraction, media_dir: str) -> otio.schema.Timeline:
    """One clip per kind of media reference, each 10 frames: missing, generator, image sequence,
    offline file, relative path, percent-encoded URL of a non-ASCII name with spaces, zero length."""
    timeline = new_timeline("references", rate)
    video = otio.schema.Track(name="V1")
    media_file(media_dir, "sub dir/rel clip.mov")
    odd = media_file(media_dir, "Überblick Szene 1.mov")
    seq = otio.schema.ImageSequenceReference(target_url_base="file:///frames/", name_prefix="f.",
                                             name_suffix=".exr", rate=float(rate))
    video.extend([
        clip("Missing", 0, 10, rate, otio.schema.MissingReference()),
        clip("Generated", 0, 10, rate, otio.schema.GeneratorReference(generator_kind="SolidColor")),
        clip("Frames", 0, 10, rate, seq),
        clip("Offline", 0, 10, rate, otio.schema.ExternalReference(
            target_url=pathlib.Path(media_dir, "gone.mov").absolute().as_uri())),
        clip("Relative", 0, 10, rate, otio.schema.ExternalReference(target_url="sub dir/rel clip.mov")),
        clip("Encoded", 0, 10, rate, otio.schema.ExternalReference(target_url=pathlib.Path(odd).as_uri())),
        clip("Empty", 0, 0, rate, ext_ref(media_file(media_dir, "empty.mov"), rate)),
    ])
    timeline.tracks.append(video)
    return timeline


def two_tracks(rate: Fraction, media_dir: str, global_start: str | None = None) -> otio.schema.Timeline:
    """V1: A [0,48), B [48,72); an audio track; V2 ("Overlay"): gap 24, O [24,60)."""
    timeline = new_timeline("two tracks", rate, global_start)
    v1 = otio.schema.Track(name="Main")
    v1.extend([clip("A", 0, 48, rate, ext_ref(media_file(media_dir, "a.mov"), rate)),
               clip("B", 0, 24, rate, ext_ref(media_file(media_dir, "b.mov"), rate))])
    audio = otio.schema.Track(name="Music", kind=otio.schema.TrackKind.Audio)
    audio.append(clip("music", 0, 72, rate, ext_ref(media_file(media_dir, "music.wav"), rate)))
    v2 = otio.schema.Track(name="Overlay")
    v2.extend([gap(24, rate), clip("O", 0, 36, rate, ext_ref(media_file(media_dir, "o.mov"), rate))])
    timeline.tracks.extend([v1, audio, v2])
    return timeline


def write(timeline: otio.schema.Timeline, path: str | os.PathLike) -> str:
    otio.adapters.write_to_file(timeline, os.fspath(path))
    return os.fspath(path)


def write_take(folder: str | os.PathLike, info, seed: int, sample_rate: int = 48000, **metadata) -> Take:
    """A real (quiet) WAV covering a clip's visible range with the exact sample count, as a Take."""
    first, count = rates.sample_span(info.visible_start, info.visible_end, info.rate, sample_rate)
    path = pathlib.Path(folder) / f"{info.id}_{seed}.wav"
    sf.write(path, np.zeros(count, dtype=np.float32), sample_rate, subtype="PCM_24")
    meta = {"model": "tiny", "sha256": "ab" * 32, "steps": 4, "guidance": 3.0, "beam": 1,
            "device": "cpu", "dtype": "float32", "version": "0.1.0", "created": "2025-01-01T00:00:00Z"}
    meta.update(metadata)
    return Take(clip_id=info.id, seed=seed, path=str(path), sample_rate=sample_rate, num_samples=count,
                time_reference=first, sync_score=0.5 + seed / 1000, metadata=meta)
