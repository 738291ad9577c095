"""The Blender sequencer bridge against an in-process stand-in of ``bpy``.

The stand-in implements exactly the calls the bridge uses, with the documented signatures:
  bpy.context.scene; bpy.path.abspath(path) ('//' is the .blend's folder)
  Scene.name, render.fps (int), render.fps_base (float32), frame_start, sequence_editor,
    sequence_editor_create()
  SequenceEditor.strips (iterable), strips.new_sound(name, filepath, channel, frame_start) -> SoundStrip
  Strip.name, type, select, channel, filepath, frame_final_start, frame_final_duration (writable),
    frame_offset_start, fps (movie strips)
"""
from __future__ import annotations

import math
import os
import sys
import types
from fractions import Fraction

import pytest
import soundfile

from maskvat_foley.core.timeline import rates
from maskvat_foley.plugin.hosts import HostError
from maskvat_foley.plugin.hosts.session import run
from test_hosts_helpers import FAST, check_take_file, tiny_engine, video

DF = Fraction(30000, 1001)
FPS_BASE = 1.0010000467300415  # 1.001 as Blender stores it (float32)


class Strip:
    def __init__(self, name, type_, channel, start, duration, filepath="", offset=0, fps=None, select=False):
        self.name, self.type, self.channel, self.filepath, self.select = name, type_, channel, filepath, select
        self.frame_offset_start = offset
        self.frame_start = start - offset
        self.frame_final_start, self.frame_final_duration = start, duration
        if fps is not None:
            self.fps = fps


class Strips(list):
    def __init__(self, scene, items):
        super().__init__(items)
        self.scene, self.shift = scene, {}

    def new_sound(self, name, filepath, channel, frame_start):
        assert isinstance(channel, int) and isinstance(frame_start, int) and 1 <= channel <= 128
        info = soundfile.info(filepath)
        fps = self.scene.render.fps / self.scene.render.fps_base
        start = frame_start + self.shift.get(name, 0)
        strip = Strip(name, "SOUND", channel, start, math.ceil(info.frames / info.samplerate * fps), filepath)
        self.append(strip)
        return strip


class Scene:
    def __init__(self, name, strips, start_tc=None, fps=30, fps_base=FPS_BASE, frame_start=1):
        self.name, self.frame_start = name, frame_start
        self.render = types.SimpleNamespace(fps=fps, fps_base=fps_base)
        self.sequence_editor = types.SimpleNamespace(strips=Strips(self, strips)) if strips is not None else None
        if start_tc is not None:
            self.maskvat_foley_start_timecode = start_tc

    def sequence_editor_create(self):
        self.sequence_editor = types.SimpleNamespace(strips=Strips(self, []))
        return self.sequence_editor


def install_fake(monkeypatch, scene, blend_dir):
    bpy = types.ModuleType("bpy")
    bpy.context = types.SimpleNamespace(scene=scene)
    bpy.path = types.SimpleNamespace(
        abspath=lambda p: os.path.join(blend_dir, p[2:]) if p.startswith("//") else p)
    monkeypatch.setitem(sys.modules, "bpy", bpy)


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    base = tmp_path_factory.mktemp("blender")
    return base, [video(base / f"take{n}.mp4", 40, DF, 30 * n) for n in (1, 2)]


def scene(media, start_tc="00:59:58;00"):
    base, (a, b) = media
    strips = [Strip("take1", "MOVIE", 1, 11, 25, "//take1.mp4", offset=5, fps=29.97002997, select=True),
              Strip("take2", "MOVIE", 2, 31, 30, b, offset=0, fps=29.97002997, select=True),
              Strip("take1 b", "MOVIE", 1, 40, 20, a, offset=0, fps=29.97002997),
              Strip("music", "SOUND", 3, 1, 200, "/music.wav")]
    return Scene("Edit", strips, start_tc)


def test_operator_flow_places_sound_strips_and_reports_shift(media, tmp_path, monkeypatch):
    from maskvat_foley.plugin.hosts.blender import BlenderBridge

    sc = scene(media)
    install_fake(monkeypatch, sc, str(media[0]))
    sc.sequence_editor.strips.shift = {"take2 Foley": -1}
    bridge = BlenderBridge()
    origin = rates.from_timecode("00:59:58;00", DF)
    assert (bridge.clock.rate, bridge.clock.origin, bridge.clock.host_origin) == (DF, origin, 1)
    out = run(bridge, tiny_engine(str(tmp_path)), FAST, str(tmp_path / "work"))
    assert out.clip_ids == ["V1.1", "V2.1"]
    new = [s for s in sc.sequence_editor.strips if s.name.endswith("Foley")]
    assert {s.channel for s in new} == {4}  # above the music on channel 3
    first = next(s for s in new if s.name == "take1 Foley")
    assert (first.frame_final_start, first.frame_final_duration) == (11, 25)
    assert [(i.clip_id, i.expected_start, i.actual_start) for i in out.report.off] == [("V2.1", 31, 30)]
    assert "1 frame(s) early" in out.report.off[0].describe()
    placed = {p.clip_id: p for p in out.placements}
    assert placed["V1.1"].record_start == origin + 10
    assert rates.to_timecode(placed["V2.1"].record_start, DF) == "00:59:59;00"
    for p in out.placements:
        check_take_file(p.take, DF, p.record_start, p.record_duration)


def test_source_offset_and_relative_path(media, tmp_path, monkeypatch):
    from maskvat_foley.core.pipeline import Selection, prepare
    from maskvat_foley.plugin.hosts.blender import BlenderBridge

    install_fake(monkeypatch, scene(media, start_tc=None), str(media[0]))
    bridge = BlenderBridge()
    assert bridge.clock.origin == 0  # default start timecode 00:00:00;00 at scene.frame_start
    prepared = prepare(bridge.export_timeline(str(tmp_path)), Selection(all=True))
    job = next(j for j in prepared.jobs if j.name == "take1")
    assert (job.source_start, job.source_duration, job.record_start) == (5, 25, 10)
    assert job.media_path == str(media[0] / "take1.mp4")


def test_rate_mismatch_refused_and_empty_scene(media, tmp_path, monkeypatch):
    from maskvat_foley.core.pipeline import Selection, prepare
    from maskvat_foley.plugin.hosts.blender import BlenderBridge

    sc = scene(media)
    sc.render.fps, sc.render.fps_base = 25, 1.0  # 29.97 movies in a 25 fps scene play slower
    install_fake(monkeypatch, sc, str(media[0]))
    with pytest.raises(ValueError, match="drop-frame timecode"):
        BlenderBridge()
    sc.maskvat_foley_start_timecode = "01:00:00:00"
    prepared = prepare(BlenderBridge().export_timeline(str(tmp_path)), Selection(all=True))
    assert not prepared.jobs and all("speed effect" in r for _, r in prepared.skipped)
    install_fake(monkeypatch, Scene("Empty", None), str(tmp_path))
    with pytest.raises(HostError, match="no movie strips"):
        BlenderBridge().export_timeline(str(tmp_path))
