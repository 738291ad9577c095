"""The DaVinci Resolve bridge against an in-process stand-in of Resolve's scripting API.

The stand-in implements exactly the calls the bridge uses, with the documented signatures:
  resolve.GetProjectManager() -> ProjectManager; ProjectManager.GetCurrentProject() -> Project
  resolve.GetVersion() -> [major, minor, patch, build, suffix]; resolve.EXPORT_OTIO
  Project.GetName(), GetCurrentTimeline() -> Timeline, GetMediaPool() -> MediaPool
  Timeline.GetName(), GetStartFrame() -> int, GetStartTimecode() -> str, GetSetting(name) -> str,
    Export(fileName, exportType) -> bool, GetTrackCount(trackType) -> int,
    GetItemListInTrack(trackType, index) -> [TimelineItem], GetSelectedClips() -> [TimelineItem] (21.0.4+),
    GetMarkInOut() -> {'video': {'in': int, 'out': int}} (19.1+), GetCurrentVideoItem() -> TimelineItem,
    GetCurrentTimecode() -> str, AddTrack(trackType, subTrackType) -> bool,
    SetTrackName(trackType, trackIndex, name) -> bool
  TimelineItem.GetUniqueId(), GetName(), GetStart() -> int, GetDuration() -> int, GetMediaPoolItem()
  MediaPool.ImportMedia([filePath]) -> [MediaPoolItem]; MediaPoolItem.GetClipProperty('File Path')
  MediaPool.AppendToTimeline([{mediaPoolItem, startFrame, endFrame, trackIndex, recordFrame,
    mediaType}]) -> [TimelineItem]  (endFrame exclusive, recordFrame absolute)
Calling anything else raises AttributeError; missing version-gated calls are absent.
"""
from __future__ import annotations

import itertools
import os
from fractions import Fraction

import pytest

from maskvat_foley.core.timeline import rates
from maskvat_foley.plugin.hosts import HostError, PlacedItem
from maskvat_foley.plugin.hosts.resolve import ResolveBridge
from maskvat_foley.plugin.hosts.session import run, selected_ids
from test_hosts_helpers import FAST, HostClip, check_take_file, tiny_engine, video, write_otio

_ids = itertools.count(1)
EXPORT_OTIO = 9


class MediaPoolItem:
    __slots__ = ("path",)

    def __init__(self, path):
        self.path = path

    def GetClipProperty(self, key):
        return {"File Path": self.path}[key]


class TimelineItem:
    __slots__ = ("uid", "name", "start", "duration", "mpi")

    def __init__(self, name, start, duration, mpi=None):
        self.uid, self.name, self.start, self.duration, self.mpi = str(next(_ids)), name, start, duration, mpi

    def GetUniqueId(self):
        return self.uid

    def GetName(self):
        return self.name

    def GetStart(self):
        return self.start

    def GetDuration(self):
        return self.duration

    def GetMediaPoolItem(self):
        return self.mpi


class Timeline:
    __slots__ = ("name", "rate", "start_tc", "df", "start_frame", "clips", "video", "audio", "selected",
                 "marks", "playhead", "audio_names", "__dict__")

    def __init__(self, name, rate, start_tc, df, clips, version):
        self.name, self.rate, self.start_tc, self.df, self.clips = name, rate, start_tc, df, clips
        self.start_frame = rates.from_timecode(start_tc, rate)
        tracks = max(c.track for c in clips)
        self.video = [[TimelineItem(c.name, self.start_frame + c.offset, c.duration) for c in clips if c.track == t]
                      for t in range(1, tracks + 1)]
        self.audio, self.audio_names, self.selected, self.marks, self.playhead = [], [], [], None, None
        if version >= (21, 0, 4):
            self.GetSelectedClips = lambda: list(self.selected)
        if version >= (19, 1):
            self.GetMarkInOut = lambda: dict(self.marks or {})

    def GetName(self):
        return self.name

    def GetStartFrame(self):
        return self.start_frame

    def GetStartTimecode(self):
        return self.start_tc

    def GetSetting(self, name):
        return {"timelineFrameRate": {Fraction(24000, 1001): "23.976", Fraction(30000, 1001): "29.97"}.get(
            self.rate, str(self.rate)), "timelineDropFrameTimecode": "1" if self.df else "0"}[name]

    def Export(self, path, kind):
        assert kind == EXPORT_OTIO
        write_otio(path, self.name, self.rate, self.start_frame, self.clips)
        return True

    def GetTrackCount(self, kind):
        return len({"video": self.video, "audio": self.audio}[kind])

    def GetItemListInTrack(self, kind, index):
        tracks = {"video": self.video, "audio": self.audio}[kind]
        assert 1 <= index <= len(tracks)
        return list(tracks[index - 1])

    def GetCurrentVideoItem(self):
        for item in itertools.chain(*self.video):
            if self.playhead is not None and item.start <= self.playhead < item.start + item.duration:
                return item
        return None

    def GetCurrentTimecode(self):
        return rates.to_timecode(self.playhead if self.playhead is not None else self.start_frame, self.rate, self.df)

    def AddTrack(self, kind, sub):
        assert kind == "audio" and sub in ("mono", "stereo")
        self.audio.append([])
        self.audio_names.append(f"Audio {len(self.audio)}")
        return True

    def SetTrackName(self, kind, index, name):
        assert kind == "audio"
        self.audio_names[index - 1] = name
        return True


class MediaPool:
    def __init__(self, project):
        self.project, self.items, self.shift = project, [], {}

    def ImportMedia(self, paths):
        assert isinstance(paths, list)
        new = [MediaPoolItem(p) for p in paths if os.path.isfile(p)]
        self.items += new
        return new

    def AppendToTimeline(self, infos):
        tl, out = self.project.timeline, []
        for info in infos:
            assert set(info) == {"mediaPoolItem", "startFrame", "endFrame", "trackIndex", "recordFrame", "mediaType"}
            assert info["mediaType"] == 2 and isinstance(info["mediaPoolItem"], MediaPoolItem)
            name = os.path.basename(info["mediaPoolItem"].path)
            item = TimelineItem(name, info["recordFrame"] + self.shift.get(name, 0),
                                info["endFrame"] - info["startFrame"], info["mediaPoolItem"])
            tl.audio[info["trackIndex"] - 1].append(item)
            out.append(item)
        return out


class Project:
    def __init__(self, timeline):
        self.timeline, self.pool = timeline, MediaPool(self)

    def GetName(self):
        return "Foley test"

    def GetCurrentTimeline(self):
        return self.timeline

    def GetMediaPool(self):
        return self.pool


class Resolve:
    EXPORT_OTIO = EXPORT_OTIO

    def __init__(self, timeline, version):
        self.project, self.version = Project(timeline), version

    def GetVersion(self):
        return [*self.version, 0, ""]

    def GetProjectManager(self):
        return self

    def GetCurrentProject(self):
        return self.project


RATE = Fraction(24000, 1001)


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    base = tmp_path_factory.mktemp("resolve")
    return base, [video(base / f"shot{n}.mp4", 30, RATE, 40 * n) for n in (1, 2)]


def fake(media, version=(21, 0, 4), rate=RATE, start_tc="01:00:00:00", df=False):
    base, (a, b) = media
    clips = [HostClip("shot1", 1, 0, 24, a, 2, 30), HostClip("shot2", 1, 30, 20, b, 4, 30),
             HostClip("shot1 again", 2, 10, 12, a, 0, 30)]
    return Resolve(Timeline("Reel 1", rate, start_tc, df, clips, version), version)


def test_generate_and_apply_reports_the_item_that_landed_off(media, tmp_path):
    resolve = fake(media)
    tl = resolve.project.timeline
    v1, v2 = tl.video[0]
    tl.selected = [v1, v2, tl.video[1][0]]
    engine = tiny_engine(str(tmp_path))
    shifted = []

    class Shift(dict):  # the stand-in places the second clip's take one frame late
        def get(self, name, default=0):
            if "V1.2" in name:
                shifted.append(name)
                return 1
            return default

    resolve.project.pool.shift = Shift()
    out = run(ResolveBridge(resolve), engine, FAST, str(tmp_path / "work"))
    assert out.clip_ids == ["V1.1", "V1.2", "V2.1"]
    assert tl.audio_names == ["Foley (MaskVAT)"] and len(tl.audio[0]) == 3 and shifted
    placed = {i.clip_id: i for i in out.report.items}
    # V1.1 and V2.1 landed exactly under their video items, with the video items' length.
    assert (placed["V1.1"].actual_start, placed["V1.1"].actual_duration) == (v1.start, v1.duration)
    assert (placed["V2.1"].actual_start, placed["V2.1"].actual_duration) == (tl.video[1][0].start, 12)
    assert v1.start == 86400  # 01:00:00:00 at 23.976
    # V1.2 was shifted by the host: reported, with how far.
    assert [i.clip_id for i in out.report.off] == ["V1.2"] and not out.report.ok
    assert placed["V1.2"].actual_start == v2.start + 1 == placed["V1.2"].expected_start + 1
    assert any("V1.2" in line and "1 frame(s) late" in line for line in out.lines())
    for p in out.placements:
        check_take_file(p.take, RATE, p.record_start, p.record_duration)
    assert out.foley_timeline and os.path.isfile(out.foley_timeline)


def test_selection_falls_back_to_marks_then_playhead(media, tmp_path):
    # 19.1: no GetSelectedClips; In/Out marks are offsets from the start, out inclusive.
    resolve = fake(media, version=(19, 1, 0))
    tl = resolve.project.timeline
    assert not hasattr(tl, "GetSelectedClips")
    tl.marks = {"video": {"in": 20, "out": 29}}  # V1.1 is 0-24, V2.1 10-22, V1.2 starts at 30
    bridge = ResolveBridge(resolve)
    sel = bridge.selection()
    assert sel.how == "In/Out marks" and sel.record_range == (86400 + 20, 86400 + 30)
    clips = _clips(bridge, tmp_path)
    assert selected_ids(sel, clips) == ["V1.1", "V2.1"]
    tl.marks = {"video": {"in": 24, "out": 30}}  # the inclusive out frame 30 reaches V1.2
    assert selected_ids(bridge.selection(), clips) == ["V1.2"]
    # 18.x: no marks either: the clip under the playhead.
    resolve = fake(media, version=(18, 6, 0))
    resolve.project.timeline.playhead = 86400 + 35
    bridge = ResolveBridge(resolve)
    sel = bridge.selection()
    assert sel.how == "clip under the playhead"
    assert selected_ids(sel, _clips(bridge, tmp_path / "b")) == ["V1.2"]


def test_drop_frame_timeline_with_early_start(media, tmp_path):
    df = Fraction(30000, 1001)
    resolve = fake(media, rate=df, start_tc="00:59:58;00", df=True)
    tl = resolve.project.timeline
    tl.selected = [tl.video[0][1]]
    bridge = ResolveBridge(resolve)
    assert bridge.clock.origin == rates.from_timecode("00:59:58;00", df) == tl.start_frame
    clips = _clips(bridge, tmp_path)
    (cid,) = selected_ids(bridge.selection(), clips)
    info = next(c for c in clips if c.id == cid)
    assert info.record_start == tl.start_frame + 30
    assert rates.to_timecode(info.record_start, df) == "00:59:59;00"
    assert bridge.clock.to_host(info.record_start) == tl.video[0][1].GetStart()


def test_clear_errors(media, tmp_path):
    resolve = fake(media)
    resolve.project.timeline.selected = []
    resolve.project.timeline.marks = None
    bridge = ResolveBridge(resolve)
    assert bridge.selection().how == "playhead"  # nothing selected: the playhead frame
    resolve.project.timeline = None
    with pytest.raises(HostError, match="no current timeline"):
        ResolveBridge(resolve)
    old = fake(media)
    del Resolve.EXPORT_OTIO
    try:
        with pytest.raises(HostError, match="cannot export OTIO"):
            ResolveBridge(old).export_timeline(str(tmp_path))
    finally:
        Resolve.EXPORT_OTIO = EXPORT_OTIO
    assert PlacedItem("V1.1", "x.wav", 10, 5).describe().endswith("not found on the timeline after placing")


def _clips(bridge, folder):
    from maskvat_foley.core.timeline.clips import list_clips
    from maskvat_foley.core.timeline.io import read_timeline

    return list_clips(read_timeline(bridge.export_timeline(str(folder))))
