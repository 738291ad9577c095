"""The Nuke Studio / Hiero bridge against an in-process stand-in of the ``hiero`` package.

The stand-in implements exactly the calls the bridge uses, with the documented signatures:
  hiero.ui.activeSequence() -> Sequence; hiero.ui.getTimelineEditor(sequence).selection() -> [TrackItem]
  hiero.ui.windowManager().addWindow(widget); hiero.core.events.registerInterest(eventType, callback)
  Sequence.name(), framerate() -> TimeBase (.toFloat()), timecodeStart() -> int, dropFrame() -> bool,
    videoTracks() -> [VideoTrack], addTrack(track), project() -> Project
  Track.name(), items() -> [TrackItem]; AudioTrack(name), createTrackItem(name), addTrackItem(item)
  TrackItem.name(), timelineIn(), timelineOut() (inclusive), sourceIn(), sourceOut() (inclusive),
    playbackSpeed(), source() -> Clip, setSource(clip), setTimelineIn/Out(int), setSourceIn/Out(int)
  Clip(MediaSource), mediaSource().fileinfos()[0].filename(), framerate(), timecodeStart(), duration()
  MediaSource(path); BinItem(clip); Project.clipsBin().addItem(binItem), beginUndo(name), endUndo()
Changes outside an undo group fail the test.
"""
from __future__ import annotations

import os
import sys
import types
from fractions import Fraction

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from maskvat_foley.core.timeline import rates
from maskvat_foley.plugin.hosts import HostError
from maskvat_foley.plugin.hosts.session import run
from test_hosts_helpers import FAST, check_take_file, tiny_engine, video

RATE = Fraction(25)


class TimeBase:
    def __init__(self, fps):
        self.fps = fps

    def toFloat(self):
        return float(self.fps)


class FileInfo:
    def __init__(self, path):
        self.path = path

    def filename(self):
        return self.path


class MediaSource:
    def __init__(self, path):
        self.path = path

    def fileinfos(self):
        return [FileInfo(self.path)]


class Clip:
    def __init__(self, media, fps=RATE, tc_start=0, frames=0):
        self.media, self.fps, self.tc, self.frames = media, fps, tc_start, frames

    def mediaSource(self):
        return self.media

    def framerate(self):
        return TimeBase(self.fps)

    def timecodeStart(self):
        return self.tc

    def duration(self):
        return self.frames


class BinItem:
    def __init__(self, clip):
        self.clip = clip


class Project:
    def __init__(self):
        self.undo, self.undo_names, self.bin = 0, [], []

    def beginUndo(self, name):
        self.undo += 1
        self.undo_names.append(name)

    def endUndo(self):
        self.undo -= 1

    def clipsBin(self):
        project = self

        class Bin:
            def addItem(self, item):
                assert project.undo == 1 and isinstance(item, BinItem)
                project.bin.append(item)
        return Bin()


class TrackItem:
    def __init__(self, name, t_in=0, t_out=-1, s_in=0, s_out=-1, source=None, speed=1.0):
        self._name, self.t_in, self.t_out, self.s_in, self.s_out = name, t_in, t_out, s_in, s_out
        self.src, self.speed = source, speed

    def name(self): return self._name
    def timelineIn(self): return self.t_in
    def timelineOut(self): return self.t_out
    def sourceIn(self): return self.s_in
    def sourceOut(self): return self.s_out
    def playbackSpeed(self): return self.speed
    def source(self): return self.src
    def setSource(self, clip): self.src = clip
    def setTimelineIn(self, f): self.t_in = f
    def setTimelineOut(self, f): self.t_out = f
    def setSourceIn(self, f): self.s_in = f
    def setSourceOut(self, f): self.s_out = f


class Track:
    def __init__(self, name, items=()):
        self._name, self._items, self.seq, self.shift = name, list(items), None, {}

    def name(self): return self._name
    def items(self): return list(self._items)


class AudioTrack(Track):
    def createTrackItem(self, name):
        return TrackItem(name)

    def addTrackItem(self, item):
        assert self.seq.proj.undo == 1, "changed outside an undo group"
        d = self.seq.shift.get(item.name(), 0)  # the stand-in's deliberate misplacement
        item.t_in, item.t_out = item.t_in + d, item.t_out + d
        self._items.append(item)


class Sequence:
    def __init__(self, name, tracks, tc_start, fps=RATE, df=False):
        self._name, self.tracks, self.audio, self.tc, self.fps, self.df = name, tracks, [], tc_start, fps, df
        self.proj, self.shift, self.selected = Project(), {}, []

    def name(self): return self._name
    def framerate(self): return TimeBase(self.fps)
    def timecodeStart(self): return self.tc
    def dropFrame(self): return self.df
    def videoTracks(self): return list(self.tracks)
    def project(self): return self.proj

    def addTrack(self, track):
        assert self.proj.undo == 1 and isinstance(track, AudioTrack)
        track.seq = self
        self.audio.append(track)


def install_fake(monkeypatch, seq):
    """sys.modules gets hiero, hiero.core and hiero.ui holding the stand-in."""
    windows, interests = [], {}
    core = types.ModuleType("hiero.core")
    core.AudioTrack, core.MediaSource, core.BinItem = AudioTrack, MediaSource, BinItem
    core.Clip = lambda media: Clip(media, RATE, 0, 0)
    core.events = types.SimpleNamespace(registerInterest=lambda kind, fn: interests.setdefault(kind, fn))
    ui = types.ModuleType("hiero.ui")
    ui.activeSequence = lambda: seq
    ui.getTimelineEditor = lambda s: types.SimpleNamespace(selection=lambda: list(s.selected))
    ui.windowManager = lambda: types.SimpleNamespace(addWindow=windows.append)
    pkg = types.ModuleType("hiero")
    pkg.core, pkg.ui = core, ui
    for name, mod in (("hiero", pkg), ("hiero.core", core), ("hiero.ui", ui)):
        monkeypatch.setitem(sys.modules, name, mod)
    return windows, interests


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    base = tmp_path_factory.mktemp("hiero")
    return [video(base / f"plate{n}.mov", 30, RATE, 50 * n) for n in (1, 2)]


TEN_HOURS = rates.from_timecode("10:00:00:00", RATE)


def sequence(media, tc_start=TEN_HOURS, fps=RATE):
    a, b = media
    v1 = [TrackItem("plate1", 0, 19, 3, 22, Clip(MediaSource(a), RATE, 86400, 30)),
          TrackItem("plate2", 25, 44, 0, 19, Clip(MediaSource(b), RATE, 86400, 30))]
    v2 = [TrackItem("plate1 b", 5, 14, 10, 19, Clip(MediaSource(a), RATE, 86400, 30))]
    return Sequence("Cut 3", [Track("V1", v1), Track("V2", v2)], tc_start, fps)


def test_generate_apply_in_one_undo_and_report_shift(media, tmp_path, monkeypatch):
    from maskvat_foley.plugin.hosts.hiero import HieroBridge

    seq = sequence(media)
    install_fake(monkeypatch, seq)
    (_, p2), (q,) = seq.tracks[0].items(), seq.tracks[1].items()
    seq.selected = [p2, q]
    seq.shift = {"plate1 b Foley": 1}
    bridge = HieroBridge()
    assert bridge.clock.origin == 900000
    out = run(bridge, tiny_engine(str(tmp_path)), FAST, str(tmp_path / "work"))
    assert out.clip_ids == ["V1.2", "V2.1"]
    assert seq.proj.undo == 0 and seq.proj.undo_names == ["MaskVAT Foley"] and len(seq.proj.bin) == 2
    (track,) = seq.audio
    assert track.name() == "Foley (MaskVAT)"
    items = {i.name(): i for i in track.items()}
    a = items["plate2 Foley"]
    assert (a.timelineIn(), a.timelineOut()) == (p2.timelineIn(), p2.timelineOut()) == (25, 44)
    assert (a.sourceIn(), a.sourceOut()) == (0, 19)
    assert [i.clip_id for i in out.report.off] == ["V2.1"]
    off = out.report.off[0]
    assert (off.expected_start, off.actual_start) == (5, 6)
    for p in out.placements:
        check_take_file(p.take, RATE, p.record_start, p.record_duration)
    placed = {p.clip_id: p for p in out.placements}
    assert placed["V1.2"].record_start == 900000 + 25
    assert rates.to_timecode(placed["V1.2"].record_start, RATE) == "10:00:01:00"


def test_export_source_frames_and_rate_mismatch_refused(media, tmp_path, monkeypatch):
    from maskvat_foley.core.pipeline import Selection, prepare
    from maskvat_foley.plugin.hosts.hiero import HieroBridge

    seq = sequence(media)
    install_fake(monkeypatch, seq)
    prepared = prepare(HieroBridge().export_timeline(str(tmp_path)), Selection(all=True))
    jobs = {j.clip_id: j for j in prepared.jobs}
    # sourceIn counts from the clip's first frame; the media starts at its timecode (86400).
    assert (jobs["V1.1"].source_start, jobs["V1.1"].media_origin, jobs["V1.1"].source_duration) == (86403, 86400, 20)
    assert (jobs["V1.1"].record_start, jobs["V1.1"].record_duration) == (900000, 20)
    # A 25 fps plate in a 24 fps sequence plays at another speed: refused, with the reason.
    seq = sequence(media, tc_start=0, fps=Fraction(24))
    install_fake(monkeypatch, seq)
    prepared = prepare(HieroBridge().export_timeline(str(tmp_path / "b")), Selection(all=True))
    assert not prepared.jobs and all("speed effect" in r for _, r in prepared.skipped)


def test_no_sequence_is_a_clear_error(monkeypatch):
    from maskvat_foley.plugin.hosts.hiero import HieroBridge

    install_fake(monkeypatch, None)
    with pytest.raises(HostError, match="no active sequence"):
        HieroBridge()


def test_register_adds_dock_and_context_menu(qapp, monkeypatch, media):
    from PySide6 import QtWidgets

    from maskvat_foley.plugin.hosts import hiero as bridge_module

    monkeypatch.setattr(bridge_module, "_REGISTERED", {})
    windows, interests = install_fake(monkeypatch, sequence(media))
    bridge_module.register()
    (dock,) = windows
    assert dock.objectName() == "uk.co.thefoundry.maskvat_foley" and dock.windowTitle() == "MaskVAT Foley"
    menu = QtWidgets.QMenu()
    interests["kShowContextMenu/kTimeline"](types.SimpleNamespace(menu=menu))
    assert [a.text() for a in menu.actions()] == ["MaskVAT Foley: generate for selection"]
    # Nothing selected: the panel shows the error instead of raising into the host.
    monkeypatch.setenv("MASKVAT_FOLEY_ENGINE", "http://127.0.0.1:9")
    monkeypatch.setenv("MASKVAT_FOLEY_HEADLESS", "1")
    monkeypatch.setenv("MASKVAT_FOLEY_CONFIG_DIR", os.path.dirname(media[0]))
    monkeypatch.setenv("MASKVAT_FOLEY_WORK_DIR", os.path.join(os.path.dirname(media[0]), "work"))
    dock.run_button.click()
    assert "error:" in dock.output.toPlainText()
