"""The Blender add-on's standard-library modules and the project side of the bridge, without Blender
(tests/test_blender_real.py runs the installed add-on in real Blender).

The scene stand-in has exactly what the add-on's strips module reads and calls, with bpy's names:
  Scene.name, render.fps (int), render.fps_base (float32), frame_start, sequence_editor,
    sequence_editor_create(); SequenceEditor.strips (iterable),
    strips.new_sound(name, filepath, channel, frame_start) -> SoundStrip
  Strip.name, type, select, channel, filepath, frame_final_start, frame_final_duration (writable),
    frame_offset_start, fps (movie strips)
"""
from __future__ import annotations

import json
import math
import os
import sys
import types
from fractions import Fraction

import pytest
import soundfile
import wavinfo

from maskvat_foley.core.timeline import rates
from maskvat_foley.plugin.hosts import HostError
from maskvat_foley.plugin.hosts.blender import BlenderBridge, SceneInfo, main, plan_foley
from maskvat_foley.plugin.hosts.scripts.blender_addon import config as addon_config
from maskvat_foley.plugin.hosts.scripts.blender_addon import engine as addon_engine
from maskvat_foley.plugin.hosts.scripts.blender_addon import strips as addon_strips
from test_hosts_helpers import FAST, tiny_engine, video

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


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    base = tmp_path_factory.mktemp("blender")
    return base, [video(base / f"take{n}.mp4", 40, DF, 30 * n) for n in (1, 2)]


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    return tiny_engine(str(tmp_path_factory.mktemp("engine")))


def scene(media, start_tc="00:59:58;00"):
    base, (a, b) = media
    strips = [Strip("take1", "MOVIE", 1, 11, 25, "//take1.mp4", offset=5, fps=29.97002997, select=True),
              Strip("take2", "MOVIE", 2, 31, 30, b, offset=0, fps=29.97002997, select=True),
              Strip("take1 b", "MOVIE", 1, 40, 20, a, offset=0, fps=29.97002997),
              Strip("music", "SOUND", 3, 1, 200, "/music.wav")]
    return Scene("Edit", strips, start_tc)


def snapshot(sc, blend_dir) -> dict:
    """What the add-on sends, through JSON as it travels."""
    def abspath(p):  # bpy.path.abspath: '//' is the .blend's folder
        return os.path.join(str(blend_dir), p[2:]) if p.startswith("//") else p

    return json.loads(json.dumps(addon_strips.snapshot(sc, abspath)))


def test_operator_flow_places_sound_strips_and_reports_shift(media, engine, tmp_path):
    sc = scene(media)
    request = {"scene": snapshot(sc, media[0]), "params": FAST.to_dict()}
    answer = json.loads(json.dumps(plan_foley(request, engine, str(tmp_path / "work"))))
    assert answer["ok"] and any("timeline with Foley" in line for line in answer["lines"])
    sc.sequence_editor.strips.shift = {"take2 Foley": -1}  # Blender lands one strip a frame early
    lines = addon_strips.place(sc, answer)
    assert lines[0] == ("INFO", "blender: 1 of 2 take(s) placed exactly on 'Foley (MaskVAT)' (channel 4, 5)")
    assert lines[1][0] == "WARNING" and "V2.1: starts at frame 30, 1 frame(s) early (expected 31)" in lines[1][1]
    # Above the music on channel 3; take2 (frames 31-60) overlaps take1 (11-35): one channel up.
    placed = {s.name: (s.channel, s.frame_final_start, s.frame_final_duration)
              for s in sc.sequence_editor.strips if s.name.endswith("Foley")}
    assert placed == {"take1 Foley": (4, 11, 25), "take2 Foley": (5, 30, 30)}
    origin = rates.from_timecode("00:59:58;00", DF)
    for planned in answer["strips"]:
        record = origin + planned["frame_start"] - sc.frame_start
        ref, count = rates.sample_span(record, record + planned["duration"], DF, FAST.sample_rate)
        assert soundfile.info(planned["path"]).frames == count
        assert wavinfo.WavInfoReader(planned["path"]).bext.time_reference == ref


def test_source_offset_and_relative_path(media, tmp_path):
    from maskvat_foley.core.pipeline import Selection, prepare

    info = SceneInfo.from_dict(snapshot(scene(media, start_tc=None), media[0]))
    bridge = BlenderBridge(info)
    assert (bridge.clock.rate, bridge.clock.origin, bridge.clock.host_origin) == (DF, 0, 1)
    prepared = prepare(bridge.export_timeline(str(tmp_path)), Selection(all=True))
    job = next(j for j in prepared.jobs if j.name == "take1")
    assert (job.source_start, job.source_duration, job.record_start) == (5, 25, 10)
    assert job.media_path == str(media[0] / "take1.mp4")


def test_rate_mismatch_refused_and_empty_scene(media, tmp_path):
    from maskvat_foley.core.pipeline import Selection, prepare

    sc = scene(media)
    sc.render.fps, sc.render.fps_base = 25, 1.0  # 29.97 movies in a 25 fps scene play slower
    with pytest.raises(ValueError, match="drop-frame timecode"):
        BlenderBridge(SceneInfo.from_dict(snapshot(sc, media[0])))
    sc.maskvat_foley_start_timecode = "01:00:00:00"
    prepared = prepare(BlenderBridge(SceneInfo.from_dict(snapshot(sc, media[0]))).export_timeline(str(tmp_path)),
                       Selection(all=True))
    assert not prepared.jobs and all("speed effect" in r for _, r in prepared.skipped)
    with pytest.raises(HostError, match="no movie strips"):
        BlenderBridge(SceneInfo.from_dict(snapshot(Scene("Empty", None), tmp_path))).export_timeline(str(tmp_path))


def test_speed_factor_is_refused_as_a_speed_effect(media, tmp_path):
    from maskvat_foley.core.pipeline import Selection, prepare

    sc = scene(media)
    sc.sequence_editor.strips[1].speed_factor = 2.0  # Blender 3.x: plays take2 twice as fast
    prepared = prepare(BlenderBridge(SceneInfo.from_dict(snapshot(sc, media[0]))).export_timeline(str(tmp_path)),
                       Selection(all=True))
    assert [c for c, r in prepared.skipped if "speed effect" in r] == ["V2.1"]
    assert sorted(j.clip_id for j in prepared.jobs) == ["V1.1", "V1.2"]


def test_overlapping_takes_stack_on_channels(media):
    """Strips on two channels at the same frames: their takes must not share a channel (Blender
    would push one up by itself and the add-on would report it as misplaced)."""
    bridge = BlenderBridge(SceneInfo.from_dict(snapshot(scene(media), media[0])))
    assert bridge.channels_for([(11, 36), (20, 50), (36, 40), (50, 60)]) == [4, 5, 4, 4]


def test_main_answers_with_the_error(tmp_path):
    request = tmp_path / "request.json"
    request.write_text(json.dumps({"scene": snapshot(Scene("Empty", None), tmp_path),
                                   "engine": "http://127.0.0.1:9", "params": {}}))
    assert main([str(request), "-o", str(tmp_path / "answer.json")]) == 1
    answer = json.loads((tmp_path / "answer.json").read_text())
    assert not answer["ok"] and "no movie strips" in answer["error"]
    with pytest.raises(HostError, match="snapshot format"):
        SceneInfo.from_dict({"format": 0})


@pytest.mark.parametrize("env", [
    {},
    {"XDG_CONFIG_HOME": "xdg"},
    {"MASKVAT_FOLEY_CONFIG_DIR": "override", "XDG_CONFIG_HOME": "xdg"},
])
def test_addon_finds_the_token_where_the_engine_keeps_it(env, tmp_path, monkeypatch):
    from maskvat_foley.core.engine import token

    monkeypatch.delenv("MASKVAT_FOLEY_CONFIG_DIR", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    for k, v in env.items():
        monkeypatch.setenv(k, str(tmp_path / v))
    assert addon_config.token_path() == token.token_path()
    assert addon_config.read_token() is None  # no engine ever ran with this folder
    created = token.load_token()
    assert addon_config.read_token() == created


def test_addon_settings_and_commands(tmp_path, monkeypatch):
    python = sys.executable
    cfg = {"python": python}
    plain = addon_config.resolve(cfg, {}, {})
    assert (plain.python, plain.engine_url, plain.model, plain.device) == (python, "http://127.0.0.1:8765", "", "auto")
    env = {"MASKVAT_FOLEY_ENGINE": "http://localhost:9000/", "MASKVAT_FOLEY_MODEL": "/m",
           "MASKVAT_FOLEY_DEVICE": "cpu"}
    s = addon_config.resolve(cfg, {"device": "", "model": "/prefs/model"}, env)
    assert (s.engine_url, s.port, s.local, s.model, s.device) == ("http://localhost:9000", 9000, True,
                                                                   "/prefs/model", "cpu")
    assert addon_engine.serve_command(s) == [python, "-m", "maskvat_foley", "engine", "serve", "--host", "localhost",
                                             "--port", "9000", "--device", "cpu", "--model", "/prefs/model"]
    with pytest.raises(addon_config.SetupError, match="install blender"):
        addon_config.resolve({"python": str(tmp_path / "gone" / "python")}, {}, {})
    with pytest.raises(addon_config.SetupError, match="install blender"):
        addon_config.installed(tmp_path)
    # The project's interpreter must not inherit what points Blender's Python at its own library.
    child = addon_config.child_env({"PYTHONHOME": "/blender/python", "PYTHONPATH": "/x", "PATH": "/bin"})
    assert child == {"PATH": "/bin"}
    monkeypatch.setenv("MASKVAT_FOLEY_CONFIG_DIR", str(tmp_path / "no engine ran"))  # not even asked
    remote = addon_config.resolve(cfg, {"engine_url": "http://10.1.2.3:8765"}, {})
    with pytest.raises(addon_engine.EngineProblem, match="no MaskVAT Foley engine answers"):
        addon_engine.ensure(remote)  # never started on another machine


def test_addon_talks_to_the_real_server(engine, tmp_path, monkeypatch):
    """urllib against the engine server: the token works, a wrong one is named, proxies ignored."""
    from maskvat_foley.core.engine.server import RunningServer, create_app
    from maskvat_foley.core.engine.token import load_token

    server = RunningServer(create_app(engine, token=load_token(), output_dir=tmp_path / "out"))
    try:
        monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")  # a proxy that is not there
        assert addon_engine.answer(server.url)["output_dir"]
        with pytest.raises(addon_engine.EngineProblem, match="refuses the token"):
            addon_engine.info(server.url, "not-the-token")
        found, started = addon_engine.ensure(addon_config.resolve({"python": sys.executable},
                                                                  {"engine_url": server.url}, {}))
        assert found["model"] and not started and addon_engine.started_pid() is None
    finally:
        server.stop()
