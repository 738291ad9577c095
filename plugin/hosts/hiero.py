"""Nuke Studio / Hiero bridge: a dockable panel and a timeline context-menu entry.

Hiero API used (Nuke Studio Python reference):
  hiero.ui.activeSequence(); hiero.ui.getTimelineEditor(sequence).selection() -> [TrackItem];
  hiero.ui.windowManager().addWindow(widget); hiero.core.events.registerInterest(type, fn)
  Sequence.name(), framerate().toFloat(), timecodeStart() (frames), dropFrame(), videoTracks(),
    addTrack(track), project()
  Track.name(), items(); TrackItem.name(), timelineIn(), timelineOut() (inclusive), sourceIn(),
    sourceOut() (inclusive, frames from the clip's first frame), playbackSpeed(), source() -> Clip
  Clip.mediaSource().fileinfos()[0].filename(), Clip.framerate().toFloat(), Clip.timecodeStart(),
    Clip.duration()
  hiero.core.AudioTrack(name); AudioTrack.createTrackItem(name), addTrackItem(item);
    TrackItem.setSource(clip), setTimelineIn/Out(frame), setSourceIn/Out(frame)
  hiero.core.MediaSource(path), Clip(mediaSource), BinItem(clip); project.clipsBin().addItem(binItem)
  project.beginUndo(name) / endUndo()
"""
from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from fractions import Fraction

from maskvat_foley.core.timeline import rates
from maskvat_foley.core.jobs import FOLEY_TRACK
from maskvat_foley.plugin.hosts import (ApplyReport, ClipRef, HostError, HostSelection,
                                        PlacedItem, Placement)
from maskvat_foley.plugin.hosts.frames import HostClock, hiero_clock

log = logging.getLogger(__name__)
UNDO_NAME = "MaskVAT Foley"


def _path(clip) -> str:
    return clip.mediaSource().fileinfos()[0].filename()


class HieroBridge:
    host = "hiero"

    def __init__(self, sequence=None, *, track_name: str = FOLEY_TRACK):
        import hiero.ui  # type: ignore[import-not-found]

        self.seq = sequence or hiero.ui.activeSequence()
        if self.seq is None:
            raise HostError("no active sequence in Nuke Studio / Hiero: open one in the timeline")
        self.track_name = track_name
        self.clock: HostClock = hiero_clock(self.seq.timecodeStart(), self.seq.framerate().toFloat(),
                                            bool(self.seq.dropFrame()))

    def _track_of(self, item) -> int | None:
        for n, track in enumerate(self.seq.videoTracks(), start=1):
            if any(i is item for i in track.items()):
                return n
        return None

    def export_timeline(self, folder: str) -> str:
        from maskvat_foley.plugin.hosts.otio_build import HostVideoClip, build_timeline, write_timeline

        clips, names = [], {}
        for t, track in enumerate(self.seq.videoTracks(), start=1):
            names[t] = track.name()
            for item in track.items():
                src = item.source()
                media_rate = rates.exact_rate(src.framerate().toFloat())
                speed = Fraction(item.playbackSpeed()).limit_denominator(10_000)
                if media_rate != self.clock.rate:  # Hiero plays source frames one per record frame
                    speed *= media_rate / self.clock.rate
                start = int(src.timecodeStart())
                clips.append(HostVideoClip(
                    item.name(), t, self.clock.to_record(item.timelineIn()),
                    int(item.timelineOut()) - int(item.timelineIn()) + 1, _path(src), media_rate,
                    start + int(item.sourceIn()), start, int(src.duration()), speed))
        tl = build_timeline(self.seq.name(), self.clock.rate, self.clock.origin, clips, names)
        return write_timeline(tl, folder, re.sub(r"[^\w.-]+", "_", self.seq.name()) or "sequence")

    def selection(self) -> HostSelection:
        import hiero.ui  # type: ignore[import-not-found]

        refs = []
        for item in hiero.ui.getTimelineEditor(self.seq).selection():
            t = self._track_of(item)
            if t is not None:  # audio items and transitions are not video clips
                refs.append(ClipRef(t, self.clock.to_record(item.timelineIn()), item.name()))
        return HostSelection(clips=tuple(refs), how="selected track items")

    def apply(self, placements: Sequence[Placement]) -> ApplyReport:
        import hiero.core  # type: ignore[import-not-found]

        report = ApplyReport(self.host, self.track_name)
        if not placements:
            return report
        project = self.seq.project()
        project.beginUndo(UNDO_NAME)  # one undo step for the track, the clips and the items
        try:
            track = hiero.core.AudioTrack(self.track_name)
            self.seq.addTrack(track)
            bin_ = project.clipsBin()
            for p in placements:
                clip = hiero.core.Clip(hiero.core.MediaSource(os.path.abspath(p.take.path)))
                bin_.addItem(hiero.core.BinItem(clip))
                item = track.createTrackItem(f"{p.name} Foley")
                item.setSource(clip)
                start = self.clock.to_host(p.record_start)
                item.setTimelineIn(start)
                item.setTimelineOut(start + p.record_duration - 1)
                item.setSourceIn(0)
                item.setSourceOut(p.record_duration - 1)
                track.addTrackItem(item)
        finally:
            project.endUndo()
        found = {os.path.abspath(_path(i.source())): (int(i.timelineIn()),
                                                      int(i.timelineOut()) - int(i.timelineIn()) + 1)
                 for i in track.items()}
        for p in placements:
            path = os.path.abspath(p.take.path)
            report.items.append(PlacedItem(p.clip_id, path, self.clock.to_host(p.record_start), p.record_duration,
                                           *found.get(path, (None, None))))
        for line in report.lines():
            (log.warning if line.startswith(("OFF", "error")) else log.info)("%s", line)
        return report


def run_selected() -> int:
    from maskvat_foley.plugin.hosts.launch import run_host

    bridge = HieroBridge()
    return run_host(bridge, bridge.seq.name())


def make_dock():
    """The dockable panel: a button that gives Foley to the selected track items, and the report."""
    from maskvat_foley.plugin.hosts.qt import binding

    _, QtCore, QtGui, QtWidgets = binding()
    w = QtWidgets.QWidget()
    w.setObjectName("uk.co.thefoundry.maskvat_foley")  # hiero's window manager keys docks by name
    w.setWindowTitle("MaskVAT Foley")
    layout = QtWidgets.QVBoxLayout(w)
    button = QtWidgets.QPushButton("Generate Foley for the selected clips")
    out = QtWidgets.QPlainTextEdit()
    out.setReadOnly(True)
    layout.addWidget(button)
    layout.addWidget(out)

    def clicked():
        handler = _LogToWidget(out)
        logging.getLogger("maskvat_foley").addHandler(handler)
        try:
            run_selected()
        except Exception as exc:  # shown in the panel: a host must never crash on our error
            out.appendPlainText(f"error: {exc}")
        finally:
            logging.getLogger("maskvat_foley").removeHandler(handler)

    button.clicked.connect(clicked)
    w.run_button, w.output = button, out
    return w


class _LogToWidget(logging.Handler):
    def __init__(self, widget):
        super().__init__(logging.INFO)
        self.widget = widget

    def emit(self, record):
        self.widget.appendPlainText(self.format(record))


_REGISTERED: dict[str, object] = {}


def register() -> None:
    """Called by the startup script: the dock in the Window menu and a timeline context-menu entry."""
    import hiero.core  # type: ignore[import-not-found]
    import hiero.ui  # type: ignore[import-not-found]

    if "dock" in _REGISTERED:
        return
    dock = make_dock()
    hiero.ui.windowManager().addWindow(dock)
    _REGISTERED["dock"] = dock

    def on_menu(event):
        action = event.menu.addAction("MaskVAT Foley: generate for selection")
        action.triggered.connect(dock.run_button.click)

    hiero.core.events.registerInterest("kShowContextMenu/kTimeline", on_menu)
    _REGISTERED["menu"] = on_menu
