"""Blender video sequencer bridge, project side.

The add-on (hosts/scripts/blender_addon) runs in Blender's own Python with the standard library
only: it writes a snapshot of the scene (``SceneInfo``), makes sure the engine runs, and runs
``<project python> -m maskvat_foley.plugin.hosts.blender REQUEST.json -o RESULT.json``. This side
exports the snapshot to OTIO, maps the selected movie strips to clip ids, generates through the
engine (the best take of each clip) and answers with one sound strip per take: channel, first
frame and length. The add-on adds them and reads them back.

Scene frame F is record frame origin + (F - frame_start); the origin is the add-on's start
timecode (scene.maskvat_foley_start_timecode, 00:00:00:00 by default), the rate
render.fps / render.fps_base (23.976 and 29.97 snapped to 24000/1001 and 30000/1001).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from fractions import Fraction

from maskvat_foley.core.timeline import rates
from maskvat_foley.core.jobs import FOLEY_TRACK
from maskvat_foley.plugin.hosts import (ApplyReport, ClipRef, HostError, HostSelection,
                                        PlacedItem, Placement)
from maskvat_foley.plugin.hosts.frames import HostClock, blender_clock, whole_frame

log = logging.getLogger(__name__)
MAX_CHANNEL = 128
FORMAT = 1  # of the add-on's snapshot (strips.FORMAT there)


@dataclass(frozen=True)
class StripInfo:
    name: str
    type: str
    channel: int
    frame_final_start: int
    frame_final_duration: int
    filepath: str = ""  # absolute (the add-on resolves Blender's '//' paths)
    frame_offset_start: int = 0
    animation_offset_start: int = 0
    speed_factor: float = 1.0
    fps: float | None = None
    select: bool = False


@dataclass(frozen=True)
class SceneInfo:
    name: str
    fps: int
    fps_base: float
    frame_start: int
    strips: tuple[StripInfo, ...] = ()
    start_timecode: str = "00:00:00:00"

    @classmethod
    def from_dict(cls, d: dict) -> "SceneInfo":
        if d.get("format") != FORMAT:
            raise HostError(f"scene snapshot format {d.get('format')!r}, expected {FORMAT}: install "
                            "the add-on again with `maskvat-foley install blender`")
        try:
            strips = tuple(StripInfo(
                name=str(s["name"]), type=str(s["type"]), channel=int(s["channel"]),
                frame_final_start=whole_frame(s["frame_final_start"], f"strip {s['name']!r} start"),
                frame_final_duration=whole_frame(s["frame_final_duration"], f"strip {s['name']!r} length"),
                filepath=str(s.get("filepath") or ""),
                frame_offset_start=whole_frame(s.get("frame_offset_start", 0), f"strip {s['name']!r} offset"),
                animation_offset_start=whole_frame(s.get("animation_offset_start", 0),
                                                   f"strip {s['name']!r} animation offset"),
                speed_factor=float(s.get("speed_factor") or 1.0),
                fps=float(s["fps"]) if s.get("fps") else None, select=bool(s.get("select")))
                for s in d.get("strips", []))
            return cls(str(d["name"]), int(d["fps"]), float(d["fps_base"]), int(d["frame_start"]), strips,
                       str(d.get("start_timecode") or "00:00:00:00"))
        except (KeyError, TypeError) as exc:
            raise HostError(f"malformed scene snapshot: {exc!r}") from None


@dataclass(frozen=True)
class SoundStrip:
    """One sound strip for the add-on to add: ``new_sound(name, path, channel, frame_start)``,
    then ``frame_final_duration = duration``."""

    clip_id: str
    name: str
    path: str
    channel: int
    frame_start: int
    duration: int


class BlenderBridge:
    host = "blender"

    def __init__(self, scene: SceneInfo, *, track_name: str = FOLEY_TRACK):
        self.scene = scene
        self.track_name = track_name
        self.clock: HostClock = blender_clock(scene.fps, scene.fps_base, scene.frame_start,
                                              scene.start_timecode)
        self.planned: list[SoundStrip] = []

    def _movies(self) -> list[StripInfo]:
        return [s for s in self.scene.strips if s.type == "MOVIE"]

    def export_timeline(self, folder: str) -> str:
        from maskvat_foley.plugin.hosts.otio_build import HostVideoClip, build_timeline, write_timeline

        clips = []
        for s in self._movies():
            start = self.clock.to_record(s.frame_final_start)
            if start < 0:
                raise HostError(f"strip {s.name!r} starts at frame {s.frame_final_start}, before the start "
                                f"timecode {rates.to_timecode(self.clock.origin, self.clock.rate)} at frame "
                                f"{self.clock.host_origin}; move it or set an earlier start timecode")
            media_rate = rates.exact_rate(s.fps) if s.fps else self.clock.rate
            # The sequencer shows one media frame per scene frame (times the strip's speed factor).
            speed = media_rate / self.clock.rate * Fraction(s.speed_factor).limit_denominator(10000)
            offset = s.frame_offset_start + s.animation_offset_start
            clips.append(HostVideoClip(s.name, s.channel, start, s.frame_final_duration, s.filepath,
                                       media_rate,
                                       rates.round_half_up(Fraction(offset) * media_rate / self.clock.rate),
                                       speed=speed))
        if not clips:
            raise HostError(f"scene {self.scene.name!r} has no movie strips")
        tl = build_timeline(self.scene.name, self.clock.rate, min(self.clock.origin, *(c.record_start for c in clips)),
                            clips)
        return write_timeline(tl, folder, re.sub(r"[^\w.-]+", "_", self.scene.name) or "scene")

    def selection(self) -> HostSelection:
        refs = tuple(ClipRef(s.channel, self.clock.to_record(s.frame_final_start), s.name)
                     for s in self._movies() if s.select)
        return HostSelection(clips=refs, how="selected movie strips")

    def channels_for(self, spans: Sequence[tuple[int, int]]) -> list[int]:
        """A channel per [start, end) span: the first above every used channel, one higher for a
        span that overlaps an earlier one there (Blender would move it up on its own)."""
        base = max((s.channel for s in self.scene.strips), default=0) + 1
        taken: dict[int, list[tuple[int, int]]] = {}
        out = []
        for a, b in spans:
            ch = base
            while any(a < e and s < b for s, e in taken.get(ch, [])):
                ch += 1
            if ch > MAX_CHANNEL:
                raise HostError(f"no free sequencer channel above {base - 1} for frames {a}-{b} "
                                f"(Blender has {MAX_CHANNEL})")
            taken.setdefault(ch, []).append((a, b))
            out.append(ch)
        return out

    def apply(self, placements: Sequence[Placement]) -> ApplyReport:
        """Plan the sound strips (``self.planned``); the add-on places them and reads them back,
        so the report's items have no actual position yet."""
        report = ApplyReport(self.host, self.track_name)
        starts = [self.clock.to_host(p.record_start) for p in placements]
        channels = self.channels_for([(s, s + p.record_duration) for s, p in zip(starts, placements)])
        self.planned = [SoundStrip(p.clip_id, f"{p.name} Foley", os.path.abspath(p.take.path), ch, s,
                                   p.record_duration)
                        for p, s, ch in zip(placements, starts, channels)]
        report.items = [PlacedItem(s.clip_id, s.path, s.frame_start, s.duration) for s in self.planned]
        if self.planned:
            report.track = f"{self.track_name} (channel {', '.join(map(str, sorted(set(channels))))})"
        return report


def plan_foley(request: dict, engine, work_dir: str | None = None) -> dict:
    """The answer to one add-on request: {"ok", "channel_name", "strips", "lines"}."""
    from maskvat_foley.core.jobs import GenerationParams
    from maskvat_foley.core.pipeline import level_notes
    from maskvat_foley.plugin.hosts.launch import work_dir as default_work_dir
    from maskvat_foley.plugin.hosts.session import run

    scene = SceneInfo.from_dict(request.get("scene") or {})
    try:
        params = GenerationParams.from_dict(request.get("params") or {})
    except (TypeError, ValueError) as exc:
        raise HostError(f"bad generation parameters: {exc}") from None
    bridge = BlenderBridge(scene)
    outcome = run(bridge, engine, params, work_dir or default_work_dir("blender", scene.name))
    lines = [f"skipped {c}: {r}" for c, r in outcome.skipped]
    lines += level_notes([p.take for p in outcome.placements])  # a near-silent take placed: say so
    if outcome.foley_timeline:
        lines.append(f"timeline with Foley written to {outcome.foley_timeline}")
    return {"ok": True, "channel_name": bridge.track_name, "lines": lines,
            "strips": [asdict(s) for s in bridge.planned]}


def main(argv: list[str] | None = None) -> int:
    """``python -m maskvat_foley.plugin.hosts.blender REQUEST -o RESULT``: what the add-on runs.
    A failure the user can act on is an answer with "ok": false; a crash leaves no answer."""
    from maskvat_foley.core.engine.api import Cancelled
    from maskvat_foley.core.engine.client import EngineError, EngineUnavailable
    from maskvat_foley.plugin.hosts.launch import open_engine

    p = argparse.ArgumentParser(prog=f"python -m {__name__}", description=main.__doc__)
    p.add_argument("request", help="the add-on's request (scene snapshot, engine URL, parameters)")
    p.add_argument("-o", "--output", required=True, help="where to write the answer")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    with open(args.request, encoding="utf-8") as f:
        request = json.load(f)
    try:
        answer = plan_foley(request, open_engine(request.get("engine")))
    except (HostError, ValueError, EngineError, EngineUnavailable, Cancelled, OSError) as exc:
        log.error("%s", exc)
        answer = {"ok": False, "error": str(exc)}
    tmp = f"{args.output}.partial"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(answer, f)
    os.replace(tmp, args.output)
    return 0 if answer["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
