"""Panel widgets on their own, offscreen: the timeline view (geometry at exact frames, drop-frame
ruler, zoom, rubber band, status colours), settings persistence, and the `panel --screenshot` command."""
from __future__ import annotations

import argparse
import os
from fractions import Fraction

import opentimelineio as otio
import pytest

pytest.importorskip("PySide6")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPoint, QSettings, Qt

from maskvat_foley.core.timeline import rates
from maskvat_foley.core.timeline.clips import list_clips
from maskvat_foley.core.timeline.io import write_timeline

DF = Fraction(30000, 1001)


def rt(f, rate=DF):
    return otio.opentime.RationalTime(f, float(rate))


def tr(a, n, rate=DF):
    return otio.opentime.TimeRange(rt(a, rate), rt(n, rate))


def make_timeline(folder) -> otio.schema.Timeline:
    """V1: ok clip, offline clip, missing reference, speed-effect clip; V2: one clip. 29.97 DF at 01:00:00;00."""
    (folder / "a.mp4").write_bytes(b"stand-in")  # the listing only checks that the file exists
    tl = otio.schema.Timeline(name="widgets")
    tl.global_start_time = rt(rates.from_timecode("01:00:00;00", DF))
    v1, v2 = otio.schema.Track(name="V1"), otio.schema.Track(name="B-roll")
    tl.tracks.extend([v1, v2])
    def ext(name):
        return otio.schema.ExternalReference(target_url=str(folder / name), available_range=tr(0, 300))

    v1.append(otio.schema.Clip(name="ok", media_reference=ext("a.mp4"), source_range=tr(0, 40)))
    v1.append(otio.schema.Clip(name="offline", media_reference=ext("gone.mp4"), source_range=tr(0, 30)))
    v1.append(otio.schema.Clip(name="missing", media_reference=otio.schema.MissingReference(), source_range=tr(0, 20)))
    fast = otio.schema.Clip(name="fast", media_reference=ext("a.mp4"), source_range=tr(0, 25))
    fast.effects.append(otio.schema.LinearTimeWarp(time_scalar=2.0))
    v1.append(fast)
    v2.append(otio.schema.Gap(source_range=tr(0, 50)))
    v2.append(otio.schema.Clip(name="broll", media_reference=ext("a.mp4"), source_range=tr(0, 30)))
    return tl


@pytest.fixture
def view(qtbot, tmp_path):
    from maskvat_foley.ui.timeline_view import TimelineView

    tl = make_timeline(tmp_path)
    v = TimelineView()
    qtbot.addWidget(v)
    v.resize(1000, 300)
    v.show()
    v.set_timeline(list_clips(tl, tmp_path), DF, rates.frames(tl.global_start_time, DF), tl)
    return v


def test_geometry_is_exact_frames_and_zoom_keeps_it(view):
    for ppf in (0.5, 3.0, 12.5):
        view.set_zoom(ppf)
        for c in view.clips:
            r = view.clip_item(c.id).rect()
            assert r.left() == pytest.approx(view.frame_x(c.record_start))
            assert r.width() == pytest.approx(c.record_duration * ppf)
    view.set_zoom(4.0)
    w = view.clip_item("V1.1").rect().width()
    view.setFocus()
    view.zoom_in()
    assert view.clip_item("V1.1").rect().width() == pytest.approx(w * 1.5)
    assert not view.auto_fit  # a user zoom is kept on resize


def test_drop_frame_ruler(view):
    view.set_zoom(6.0)
    view.horizontalScrollBar().setValue(0)
    labels = [(f, t) for f, t in view.ruler_ticks() if t]
    assert labels and labels[0] == (view.origin, "01:00:00;00")
    assert all(";" in t and t == rates.to_timecode(f, DF) for f, t in labels)
    assert {(f - view.origin) % 30 for f, _ in labels} == {0}  # a label every whole 30 frames


def test_status_colours_rows_and_rubber_band(qtbot, view):
    kinds = {c.name: view.clip_item(c.id).kind() for c in view.clips}
    assert kinds == {"ok": "ok", "offline": "offline", "missing": "missing", "fast": "flagged", "broll": "ok"}
    assert [r.label for r in view.rows] == ["V2  B-roll", "V1"]  # the upper track on top
    view.set_clip_error("V1.1", "boom")
    assert view.clip_item("V1.1").kind() == "error" and "boom" in view.clip_item("V1.1").toolTip()
    view.fit()
    # Rubber band across the V1 row from the middle of the first clip to the middle of the second.
    a, b = (view.clip_viewport_pos(i) for i in ("V1.1", "V1.2"))
    qtbot.mousePress(view.viewport(), Qt.LeftButton, Qt.NoModifier, QPoint(a.x(), a.y() + 25))
    qtbot.mouseMove(view.viewport(), QPoint(b.x(), b.y() - 5))
    qtbot.mouseRelease(view.viewport(), Qt.LeftButton, Qt.NoModifier, QPoint(b.x(), b.y() - 5))
    assert view.selected_ids() == ["V1.1", "V1.2"]
    # Keys: Home, Right moves the playhead a frame; I/O mark a record range that picks V2.1 and V1.2..
    view.setFocus()
    qtbot.keyClick(view, Qt.Key_Home)
    assert view.playhead == view.origin
    view.set_playhead(view.origin + 55)
    qtbot.keyClick(view, Qt.Key_I)
    qtbot.keyClick(view, Qt.Key_Right)
    qtbot.keyClick(view, Qt.Key_O)
    assert (view.mark_in_frame, view.mark_out_frame) == (view.origin + 55, view.origin + 57)
    assert view.selected_ids() == ["V1.2", "V2.1"]


def test_settings_persist_and_seed_rules(qtbot, tmp_path):
    from maskvat_foley.ui.settings_panel import SettingsPanel

    ini = str(tmp_path / "s.ini")
    first = SettingsPanel(QSettings(ini, QSettings.IniFormat))
    qtbot.addWidget(first)
    first.seed.setValue(77)
    first.takes.setValue(3)
    first.guidance.setValue(4.5)
    first.lock.setChecked(True)
    p = first.params("generate")
    assert (p.seed, p.takes, p.guidance) == (77, 3, 4.5)  # locked: the seed stays
    regen = first.params("regenerate", avoid={77, 78, 79})
    assert regen.seed not in (77, 78, 79) and first.seed.value() == 77
    assert first.params("rerun").seed == 77
    second = SettingsPanel(QSettings(ini, QSettings.IniFormat))
    qtbot.addWidget(second)
    assert (second.seed.value(), second.takes.value(), second.guidance.value(),
            second.lock.isChecked()) == (77, 3, 4.5, True)
    second.lock.setChecked(False)
    fresh = second.params("generate")
    assert fresh.seed != 77 and second.seed.value() == fresh.seed  # unlocked: a new seed, shown
    with pytest.raises(ValueError, match="unknown run mode"):
        second.params("again")


def test_level_controls_reach_the_params_and_persist(qtbot, tmp_path):
    from maskvat_foley.core.jobs import GenerationParams
    from maskvat_foley.ui.settings_panel import SettingsPanel

    ini = str(tmp_path / "s.ini")
    first = SettingsPanel(QSettings(ini, QSettings.IniFormat))
    qtbot.addWidget(first)
    p = first.params("generate")
    assert (p.loudness, p.gain_db) == (GenerationParams.loudness, GenerationParams.gain_db) == (None, 0.0)
    assert not first.loudness.isEnabled() and first.loudness.value() == -23.0  # offered when switched on
    first.loudness_on.setChecked(True)
    assert first.loudness.isEnabled()
    first.loudness.setValue(-16.0)
    first.gain.setValue(-4.5)
    for mode in ("generate", "regenerate", "rerun"):
        p = first.params(mode)
        assert (p.loudness, p.gain_db) == (-16.0, -4.5)
    first.gain.setValue(99)  # the box keeps to the range GenerationParams accepts
    assert first.gain.value() == 30.0 and first.params("rerun").gain_db == 30.0
    first.gain.setValue(-4.5)
    second = SettingsPanel(QSettings(ini, QSettings.IniFormat))
    qtbot.addWidget(second)
    assert (second.loudness_on.isChecked(), second.loudness.value(), second.gain.value()) == (True, -16.0, -4.5)
    second.loudness_on.setChecked(False)
    assert second.params("generate").loudness is None and second.params("generate").gain_db == -4.5
    # a host's parameters are shown as they are
    second.set_params(GenerationParams(seed=3, loudness=-24.0, gain_db=1.0))
    assert (second.loudness_on.isChecked(), second.loudness.value(), second.gain.value()) == (True, -24.0, 1.0)
    second.set_params(GenerationParams(seed=3))
    assert not second.loudness_on.isChecked() and second.params("rerun").loudness is None


def test_screenshot_command(tmp_path):
    from PIL import Image

    from maskvat_foley.plugin.cli import UsageError
    from maskvat_foley.plugin.cli_panel import cmd_panel

    path = str(tmp_path / "edit.otio")
    write_timeline(make_timeline(tmp_path), path)
    out = tmp_path / "shot.png"
    ns = argparse.Namespace(timeline=path, model=None, engine=None, device="cpu", screenshot=str(out),
                            select="V1.1,V2.1", state="timeline", size="1200x760")
    assert cmd_panel(ns) == 0
    img = Image.open(out).convert("RGB")
    assert img.size == (1200, 760)
    assert len(img.getcolors(1 << 20)) > 50  # a real picture, not a blank frame
    with pytest.raises(UsageError, match="unknown clip id"):
        cmd_panel(argparse.Namespace(**dict(vars(ns), select="V9.9")))
    with pytest.raises(UsageError, match="--state"):
        cmd_panel(argparse.Namespace(**dict(vars(ns), state="bogus")))
