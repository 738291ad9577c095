"""What the MLT and GES adapters leave out of their XML, added after they write it.

MLT (melt, Shotcut, Kdenlive's engine): a tractor without transitions plays the audio of one track
only, the topmost with sound at each frame, so overlapping Foley tracks (under a dissolve) would
lose one of them and a video track's camera sound could cover the Foley. Editors that write MLT
add a "mix" transition per audio track and hide the sound of video tracks; so do we.

GES (ges-launch, Pitivi): without restriction caps the audio track runs at 44.1 kHz, so 48 kHz
takes are resampled (and were found 69 samples late at 2.68 s), and the adapter's video track is
fixed at 30 fps. The tracks get the timeline's frame rate and the takes' sample rate. A clip that
reaches past its file's end is cut short by GES (a 36-frame take at 29.97, 57657.6 samples of
record time in a 57657-sample file, played not at all), so clips end with their file; and a
take starts on the sample of its TimeReference (a frame-based start between two samples was
mixed one sample off while another clip overlapped it). GStreamer
1.22 cannot read a WAV that ends in an odd-sized data chunk and its pad byte (24-bit mono with an
odd number of samples: its reader does not step over the pad byte); such files are reported.
"""
from __future__ import annotations

import dataclasses
import os
import re
import struct
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from fractions import Fraction

import opentimelineio as otio

_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'


def _serialize(root: ET.Element) -> str:
    ET.indent(root, space="    ")
    return _DECLARATION + ET.tostring(root, encoding="unicode") + "\n"


def _property(parent: ET.Element, name: str, value: str) -> None:
    ET.SubElement(parent, "property", name=name).text = value


def _signature(element: ET.Element) -> tuple:
    return (element.tag, sorted(element.attrib.items()), (element.text or "").strip(),
            [_signature(child) for child in element])


def finish_mlt(text: str, timeline: otio.schema.Timeline) -> str:
    """Mix every audio track into the output and mute the sound of video tracks.

    ``timeline`` is the conformed copy the adapter wrote (its track names are the playlist ids).
    """
    root = ET.fromstring(text)
    seen: dict[str, tuple] = {}
    for producer in root.findall("producer"):
        # The writer repeats a file's producer for every clip cut from it (and for each side of a
        # dissolve); one definition per id is what MLT and Shotcut expect.
        body = _signature(producer)
        first = seen.setdefault(producer.get("id", ""), body)
        if first is not body and first == body:
            root.remove(producer)
    kinds = {track.name: track.kind for track in timeline.tracks}
    main = next((t for t in root.findall("tractor") if t.find("multitrack") is not None), None)
    if main is None:
        raise ValueError("the MLT writer produced no multitrack tractor")
    for index, track in enumerate(main.find("multitrack").findall("track")):
        kind = kinds.get(track.get("producer"))
        if kind is None:
            continue  # the writer's black background
        if kind != otio.schema.TrackKind.Audio:
            track.set("hide", "audio")
            continue
        track.set("hide", "video")
        mix = ET.SubElement(main, "transition", id=f"mix_{index}")
        for name, value in (("a_track", "0"), ("b_track", str(index)), ("mlt_service", "mix"),
                            ("always_active", "1"), ("sum", "1")):
            _property(mix, name, value)
    return _serialize(root)


def _gst_string(value: str) -> str:
    # GstStructure string fields escape everything but a few plain characters with a backslash.
    return '"' + "".join(c if c.isalnum() or c in "_-+/:." else "\\" + c for c in value) + '"'


_RESTRICTION = re.compile(r'restriction-caps=\(string\)"(?:[^"\\]|\\.)*"')


def _with_restriction(properties: str | None, caps: str) -> str:
    field = f"restriction-caps=(string){_gst_string(caps)}"
    properties = (properties or "properties;").strip()
    if _RESTRICTION.search(properties):
        return _RESTRICTION.sub(lambda _: field, properties)
    name, sep, rest = properties.partition(",")
    if not sep:
        return f"{name.rstrip(';')}, {field};"
    return f"{name}, {field},{rest}"


@dataclasses.dataclass(frozen=True)
class TakeSpan:
    """Where a take file's first sample belongs in the render (ns from the timeline's start, from
    its TimeReference; None when unknown) and how long the file is (ns, never past its end)."""

    start_ns: int | None
    length_ns: int


_NEAR_NS = 1_000_000  # a clip within 1 ms of its take's TimeReference is that take, just rounded


def finish_xges(text: str, rate: Fraction, sample_rate: int, takes: Mapping[str, TakeSpan]) -> str:
    """Video tracks at the timeline's exact frame rate, audio tracks at ``sample_rate``; clips of
    take files (``takes``: asset URL -> span) end with their file and start on the sample their
    TimeReference names (the writer's frame-based start falls between samples at 29.97)."""
    root = ET.fromstring(text)
    for clip in root.iter("clip"):
        span = takes.get(clip.get("asset-id", ""))
        if span is None:
            continue
        start, inpoint, duration = (int(clip.get(k, "0")) for k in ("start", "inpoint", "duration"))
        if span.start_ns is not None and inpoint == 0 and abs(span.start_ns - start) < _NEAR_NS:
            clip.set("start", str(span.start_ns))
        clip.set("duration", str(max(0, min(duration, span.length_ns - inpoint))))
    for track in root.iter("track"):
        kind = track.get("track-type")
        if kind == "4":
            caps = f"video/x-raw, framerate=(fraction){rate.numerator}/{rate.denominator}"
        elif kind == "2":
            caps = f"audio/x-raw, rate=(int){sample_rate}"
        else:
            continue
        track.set("properties", _with_restriction(track.get("properties"), caps))
    return _serialize(root)


def gstreamer_cannot_read(path: str | os.PathLike) -> bool:
    """True for a RIFF WAVE file whose last chunk is an odd-sized data chunk (then its pad byte)."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return False
            end, pos, last = os.fstat(f.fileno()).st_size, 12, None
            while pos + 8 <= end:
                f.seek(pos)
                last = struct.unpack("<4sI", f.read(8))
                pos += 8 + last[1] + (last[1] & 1)
    except OSError:
        return False
    return last is not None and last[0] == b"data" and last[1] % 2 == 1 and pos >= end
