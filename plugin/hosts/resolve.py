"""DaVinci Resolve bridge (Workspace > Scripts > MaskVAT Foley).

Resolve API used (Resolve scripting README; versions where it matters):
  resolve.GetProjectManager().GetCurrentProject() -> project; project.GetCurrentTimeline(),
  project.GetMediaPool(); resolve.GetVersion() -> [major, minor, patch, build, suffix];
  resolve.EXPORT_OTIO (18.5+); timeline.Export(path, type) -> bool; timeline.GetName(),
  GetStartFrame(), GetStartTimecode(), GetSetting('timelineFrameRate' | 'timelineDropFrameTimecode'),
  GetTrackCount(type), GetItemListInTrack(type, index), GetSelectedClips() (21.0.4+),
  GetMarkInOut() (19.1+, offsets from the timeline start, out inclusive), GetCurrentVideoItem(),
  GetCurrentTimecode(), AddTrack(type, subType), SetTrackName(type, index, name);
  item.GetUniqueId(), GetName(), GetStart(), GetDuration(), GetMediaPoolItem();
  mediaPool.ImportMedia([paths]) -> [MediaPoolItem]; mediaPoolItem.GetClipProperty('File Path');
  mediaPool.AppendToTimeline([{mediaPoolItem, startFrame, endFrame, trackIndex, recordFrame,
  mediaType: 2}]) -> [TimelineItem]. recordFrame is an absolute timeline frame; endFrame is
  exclusive from 19.0 (inclusive in 18.x).
"""
from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence

from maskvat_foley.core.jobs import FOLEY_TRACK
from maskvat_foley.plugin.hosts import (ApplyReport, ClipRef, HostError, HostSelection,
                                        PlacedItem, Placement)
from maskvat_foley.plugin.hosts.frames import HostClock, resolve_clock

log = logging.getLogger(__name__)

SELECTED_CLIPS_SINCE = (21, 0, 4)
MARK_IN_OUT_SINCE = (19, 1)
EXCLUSIVE_END_SINCE = (19, 0)


def version(resolve) -> tuple[int, ...]:
    """(major, minor, patch) from GetVersion(); (0,) when Resolve does not say."""
    try:
        v = resolve.GetVersion() or []
    except Exception:
        return (0,)
    if isinstance(v, dict):  # Lua-style tables arrive as {1: major, 2: minor, ...}
        v = [v[k] for k in sorted(v)]
    nums = [int(x) for x in list(v)[:3] if isinstance(x, (int, float)) or str(x).isdigit()]
    return tuple(nums) or (0,)


def _list(value) -> list:
    if value is None:
        return []
    if isinstance(value, dict):
        return [value[k] for k in sorted(value)]
    return list(value)


def safe_name(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name).strip("._") or "timeline"


class ResolveBridge:
    host = "resolve"

    def __init__(self, resolve, *, track_name: str = FOLEY_TRACK):
        if resolve is None:
            raise HostError("no DaVinci Resolve scripting object: run this from Workspace > Scripts, "
                            "or enable Preferences > System > General > External scripting using: Local")
        self.resolve = resolve
        self.version = version(resolve)
        self.project = resolve.GetProjectManager().GetCurrentProject()
        if not self.project:
            raise HostError("DaVinci Resolve has no open project")
        self.timeline = self.project.GetCurrentTimeline()
        if not self.timeline:
            raise HostError(f"project {self.project.GetName()!r} has no current timeline; open one on the Edit page")
        self.track_name = track_name
        tl = self.timeline
        self.clock: HostClock = resolve_clock(tl.GetStartFrame(), tl.GetStartTimecode(),
                                              tl.GetSetting("timelineFrameRate"),
                                              tl.GetSetting("timelineDropFrameTimecode"))

    # -- export ---------------------------------------------------------------------------------
    def export_timeline(self, folder: str) -> str:
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(os.path.abspath(folder), f"{safe_name(self.timeline.GetName())}.otio")
        kind = getattr(self.resolve, "EXPORT_OTIO", None)
        if kind is None:
            raise HostError(f"this DaVinci Resolve ({'.'.join(map(str, self.version))}) cannot export OTIO "
                            "(resolve.EXPORT_OTIO needs 18.5 or later)")
        if not self.timeline.Export(path, kind) or not os.path.isfile(path):
            raise HostError(f"DaVinci Resolve did not export timeline {self.timeline.GetName()!r} to {path}")
        return path

    # -- selection ------------------------------------------------------------------------------
    def _video_refs(self) -> dict[str, ClipRef]:
        """Every video item by unique id -> its track and record frame."""
        refs = {}
        for t in range(1, int(self.timeline.GetTrackCount("video")) + 1):
            for item in _list(self.timeline.GetItemListInTrack("video", t)):
                refs[str(item.GetUniqueId())] = ClipRef(t, self.clock.to_record(item.GetStart()), item.GetName())
        return refs

    def selection(self) -> HostSelection:
        tl = self.timeline
        if self.version >= SELECTED_CLIPS_SINCE:
            chosen = _list(tl.GetSelectedClips())
            if chosen:
                refs = self._video_refs()
                clips = tuple(refs[str(i.GetUniqueId())] for i in chosen if str(i.GetUniqueId()) in refs)
                if clips:
                    return HostSelection(clips=clips, how="selected clips")
        if self.version >= MARK_IN_OUT_SINCE:
            marks = tl.GetMarkInOut() or {}
            video = marks.get("video") or marks.get("all") or {}
            if "in" in video and "out" in video:
                start = self.clock.host_origin  # marks are offsets from the timeline start
                a = self.clock.to_record(start + int(video["in"]))
                b = self.clock.to_record(start + int(video["out"])) + 1  # out mark is inclusive
                if b <= a:
                    raise HostError(f"In/Out marks {video['in']}-{video['out']} are empty")
                return HostSelection(record_range=(a, b), how="In/Out marks")
        item = tl.GetCurrentVideoItem()
        if item:
            ref = self._video_refs().get(str(item.GetUniqueId()))
            if ref is not None:
                return HostSelection(clips=(ref,), how="clip under the playhead")
        tc = tl.GetCurrentTimecode()
        if tc:
            f, _ = _tc_frame(tc, self.clock)
            return HostSelection(record_range=(f, f + 1), how="playhead")
        return HostSelection(how="nothing")

    # -- apply ----------------------------------------------------------------------------------
    def apply(self, placements: Sequence[Placement]) -> ApplyReport:
        report = ApplyReport(self.host, self.track_name)
        if not placements:
            return report
        pool = self.project.GetMediaPool()
        paths = [os.path.abspath(p.take.path) for p in placements]
        imported = _list(pool.ImportMedia(paths))
        by_path = {}
        for n, mpi in enumerate(imported):
            fp = mpi.GetClipProperty("File Path") if mpi else None
            by_path[os.path.abspath(fp) if fp else paths[min(n, len(paths) - 1)]] = mpi
        missing = [p for p in paths if p not in by_path]
        if missing:
            raise HostError(f"DaVinci Resolve did not import {', '.join(missing)} into the media pool")
        channels = {int(p.take.metadata.get("channels", 1) or 1) for p in placements}
        if not self.timeline.AddTrack("audio", "stereo" if 2 in channels else "mono"):
            raise HostError(f"DaVinci Resolve refused to add an audio track to {self.timeline.GetName()!r}")
        index = int(self.timeline.GetTrackCount("audio"))
        self.timeline.SetTrackName("audio", index, self.track_name)
        report.track = f"{self.track_name} (A{index})"
        inclusive = self.version < EXCLUSIVE_END_SINCE
        infos = [{"mediaPoolItem": by_path[path], "startFrame": 0,
                  "endFrame": p.record_duration - 1 if inclusive else p.record_duration,
                  "trackIndex": index, "recordFrame": self.clock.to_host(p.record_start), "mediaType": 2}
                 for p, path in zip(placements, paths)]
        appended = _list(pool.AppendToTimeline(infos))
        if len([a for a in appended if a]) != len(infos):
            report.errors.append(f"AppendToTimeline placed {len([a for a in appended if a])} of {len(infos)} takes")
        report.items = self._read_back(index, placements, paths)
        for line in report.lines():
            (log.warning if line.startswith(("OFF", "error")) else log.info)("%s", line)
        return report

    def _read_back(self, index: int, placements: Sequence[Placement], paths: list[str]) -> list[PlacedItem]:
        found: dict[str, tuple[int, int]] = {}
        for item in _list(self.timeline.GetItemListInTrack("audio", index)):
            mpi = item.GetMediaPoolItem()
            fp = mpi.GetClipProperty("File Path") if mpi else None
            key = os.path.abspath(fp) if fp else item.GetName()
            found[key] = (int(item.GetStart()), int(item.GetDuration()))
        items = []
        for p, path in zip(placements, paths):
            got = found.get(path) or found.get(os.path.basename(path))
            items.append(PlacedItem(p.clip_id, path, self.clock.to_host(p.record_start), p.record_duration,
                                    *(got or (None, None))))
        return items


def _tc_frame(tc: str, clock: HostClock) -> tuple[int, bool]:
    from maskvat_foley.plugin.hosts.frames import parse_start_timecode

    return parse_start_timecode(tc, clock.rate, clock.drop_frame or None)


def connect(app=None):
    """The Resolve object: the one a menu script gets, else external scripting."""
    if app is not None:
        return app
    try:
        import DaVinciResolveScript as dvr  # type: ignore[import-not-found]
    except ImportError as exc:
        raise HostError("cannot reach DaVinci Resolve: DaVinciResolveScript is not importable (set "
                        "RESOLVE_SCRIPT_API / PYTHONPATH as in Resolve's scripting README)") from exc
    app = dvr.scriptapp("Resolve")
    if app is None:
        raise HostError("DaVinci Resolve is not running, or external scripting is off "
                        "(Preferences > System > General > External scripting using: Local)")
    return app


def main(app=None) -> int:
    """Entry point of the installed menu script (and of ``python -m``)."""
    from maskvat_foley.plugin.hosts.launch import run_host

    bridge = ResolveBridge(connect(app))
    return run_host(bridge, bridge.timeline.GetName())


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    raise SystemExit(main())
