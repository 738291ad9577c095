"""Blender video sequencer bridge (no Qt): the add-on's operator gives Foley to the selected movie
strips and adds sound strips at their first frame on a free channel.

Blender API used (bpy reference, Blender 4.4+ names; ``sequences`` before 4.4):
  bpy.context.scene; scene.name, scene.render.fps, scene.render.fps_base, scene.frame_start,
  scene.sequence_editor (None until created), scene.sequence_editor_create(),
  sequence_editor.strips (iterable; .new_sound(name, filepath, channel, frame_start) -> strip),
  strip.name, type ('MOVIE', 'SOUND', ...), select, channel, filepath, frame_final_start,
  frame_final_duration, frame_offset_start, fps (movie strips); bpy.path.abspath(path)
Scene frame F is record frame origin + (F - frame_start); the origin is the add-on's start
timecode (scene.maskvat_foley_start_timecode, 00:00:00:00 by default).
"""
from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence

from maskvat_foley.core.timeline import rates
from maskvat_foley.plugin.hosts import (FOLEY_TRACK, ApplyReport, ClipRef, HostError, HostSelection,
                                        PlacedItem, Placement)
from maskvat_foley.plugin.hosts.frames import HostClock, blender_clock

log = logging.getLogger(__name__)
MAX_CHANNEL = 128


def _strips(editor) -> list:
    strips = getattr(editor, "strips", None)
    if strips is None:  # Blender before 4.4
        strips = editor.sequences
    return strips


class BlenderBridge:
    host = "blender"

    def __init__(self, scene=None, *, track_name: str = FOLEY_TRACK):
        import bpy  # type: ignore[import-not-found]

        self.bpy = bpy
        self.scene = scene or bpy.context.scene
        self.track_name = track_name
        tc = getattr(self.scene, "maskvat_foley_start_timecode", "") or "00:00:00:00"
        self.clock: HostClock = blender_clock(self.scene.render.fps, self.scene.render.fps_base,
                                              self.scene.frame_start, tc)

    def _movies(self) -> list:
        editor = self.scene.sequence_editor
        return [s for s in _strips(editor) if s.type == "MOVIE"] if editor is not None else []

    def export_timeline(self, folder: str) -> str:
        from fractions import Fraction

        from maskvat_foley.plugin.hosts.otio_build import HostVideoClip, build_timeline, write_timeline

        clips = []
        for s in self._movies():
            start = self.clock.to_record(s.frame_final_start)
            if start < 0:
                raise HostError(f"strip {s.name!r} starts at frame {s.frame_final_start}, before the start "
                                f"timecode {rates.to_timecode(self.clock.origin, self.clock.rate)} at frame "
                                f"{self.clock.host_origin}; move it or set an earlier start timecode")
            fps = getattr(s, "fps", None)
            media_rate = rates.exact_rate(fps) if fps else self.clock.rate
            # The sequencer shows one media frame per scene frame.
            speed = media_rate / self.clock.rate
            offset = int(s.frame_offset_start) + int(getattr(s, "animation_offset_start", 0) or 0)
            clips.append(HostVideoClip(s.name, int(s.channel), start, int(s.frame_final_duration),
                                       self.bpy.path.abspath(s.filepath), media_rate,
                                       rates.round_half_up(Fraction(offset) * media_rate / self.clock.rate),
                                       speed=speed))
        if not clips:
            raise HostError(f"scene {self.scene.name!r} has no movie strips")
        tl = build_timeline(self.scene.name, self.clock.rate, min(self.clock.origin, *(c.record_start for c in clips)),
                            clips)
        return write_timeline(tl, folder, re.sub(r"[^\w.-]+", "_", self.scene.name) or "scene")

    def selection(self) -> HostSelection:
        refs = tuple(ClipRef(int(s.channel), self.clock.to_record(s.frame_final_start), s.name)
                     for s in self._movies() if s.select)
        return HostSelection(clips=refs, how="selected movie strips")

    def free_channel(self) -> int:
        editor = self.scene.sequence_editor
        used = [int(s.channel) for s in _strips(editor)] if editor is not None else []
        channel = max(used, default=0) + 1
        if channel > MAX_CHANNEL:
            raise HostError(f"no free sequencer channel above {max(used)} (Blender has {MAX_CHANNEL})")
        return channel

    def apply(self, placements: Sequence[Placement]) -> ApplyReport:
        report = ApplyReport(self.host, self.track_name)
        if not placements:
            return report
        editor = self.scene.sequence_editor or self.scene.sequence_editor_create()
        channel = self.free_channel()
        report.track = f"{self.track_name} (channel {channel})"
        channels = getattr(editor, "channels", None)
        if channels is not None and len(channels) > channel:  # named channels: Blender 4.0+
            channels[channel].name = self.track_name
        strips = _strips(editor)
        for p in placements:
            path = os.path.abspath(p.take.path)
            start = self.clock.to_host(p.record_start)
            strip = strips.new_sound(f"{p.name} Foley", path, channel, start)
            if strip is None:
                report.errors.append(f"Blender did not add {path}")
                continue
            # Blender sizes a sound strip from its length rounded to frames; the take covers the clip.
            strip.frame_final_duration = p.record_duration
            report.items.append(PlacedItem(p.clip_id, path, start, p.record_duration,
                                           int(strip.frame_final_start), int(strip.frame_final_duration)))
        for line in report.lines():
            (log.warning if line.startswith(("OFF", "error")) else log.info)("%s", line)
        return report


def run_operator() -> list[str]:
    """What the add-on's operator runs; returns the lines to show."""
    from maskvat_foley.core.jobs import GenerationParams
    from maskvat_foley.plugin.hosts.launch import open_engine, work_dir
    from maskvat_foley.plugin.hosts.session import run

    bridge = BlenderBridge()
    outcome = run(bridge, open_engine(), GenerationParams(), work_dir("blender", bridge.scene.name))
    return outcome.lines()
