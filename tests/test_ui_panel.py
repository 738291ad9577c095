"""The Qt panel end to end, offscreen: a real engine server on 127.0.0.1 with a tiny random model,
real FoleyWorld video written with PyAV, a real OTIO timeline; clips chosen with simulated mouse
clicks and I/O keys; takes generated, regenerated, chosen, undone, removed and exported."""
from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio
import pytest

pytest.importorskip("PySide6")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPoint, QSettings, Qt, QTimer

from maskvat_foley.core.timeline import rates
from maskvat_foley.core.timeline.placement import (
    DEFAULT_MEDIA,
    FOLEY_KEY,
    find_foley_clip,
)

RATE = Fraction(30000, 1001)  # drop frame: the ruler and inspector must show ';'
CLIPS = (("impact", "impact", 30), ("steps", "footstep", 25), ("door", "door", 20))


def build_timeline(folder) -> str:
    """Three short FoleyWorld clips on V1 from 01:00:00;00 at 29.97 DF."""
    from maskvat_foley.core.data import generate_clip
    from maskvat_foley.core.data.make import write_clip
    from maskvat_foley.core.timeline.io import write_timeline

    def rt(f):
        return otio.opentime.RationalTime(f, float(RATE))

    tl = otio.schema.Timeline(name="ui test")
    tl.global_start_time = rt(rates.from_timecode("01:00:00;00", RATE))
    track = otio.schema.Track(name="V1")
    tl.tracks.append(track)
    for i, (name, kind, n) in enumerate(CLIPS):
        video = write_clip(generate_clip(500 + i, rate=RATE, seconds=Fraction(n) / RATE, size=(64, 48), kinds=[kind]),
                           folder / "media")
        ref = otio.schema.ExternalReference(target_url=str(video),
                                            available_range=otio.opentime.TimeRange(rt(0), rt(n)))
        track.append(otio.schema.Clip(name=name, media_reference=ref,
                                      source_range=otio.opentime.TimeRange(rt(0), rt(n))))
    path = folder / "edit.otio"
    write_timeline(tl, path)
    return str(path)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    from maskvat_foley.core.engine.client import EngineClient
    from maskvat_foley.core.engine.engine import Engine
    from maskvat_foley.core.engine.server import RunningServer, create_app
    from maskvat_foley.core.engine.token import load_token
    from maskvat_foley.core.model.checkpoint import init_random

    base = tmp_path_factory.mktemp("ui")
    mp = pytest.MonkeyPatch()
    mp.setenv("MASKVAT_FOLEY_CONFIG_DIR", str(base / "config"))
    timeline = build_timeline(base)
    engine = Engine(str(init_random(base / "model", "tiny")), device="cpu", cache_dir=str(base / "cache"))
    token = load_token()
    server = RunningServer(create_app(engine, token=token, output_dir=base / "server_out"))
    client = EngineClient(server.url, token)
    yield {"base": base, "timeline": timeline, "client": client}
    client.close()
    server.stop()
    mp.undo()


@pytest.fixture
def panel(qtbot, env, tmp_path):
    from maskvat_foley.ui.main_window import FoleyPanel

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    p = FoleyPanel(settings=settings)
    qtbot.addWidget(p)
    p.resize(1400, 860)
    p.show()
    with qtbot.waitSignal(p.engineReady, timeout=30000):
        p.set_engine(env["client"])
    p.settings_panel.steps.setValue(2)
    p.settings_panel.takes.setValue(2)
    p.open_timeline(env["timeline"], media_dir=str(tmp_path / "takes"))
    yield p
    p.shutdown()


def click_clip(qtbot, view, clip_id, modifier=Qt.NoModifier):
    qtbot.mouseClick(view.viewport(), Qt.LeftButton, modifier, view.clip_viewport_pos(clip_id))


def click_ruler_at(qtbot, view, frame):
    x = view.mapFromScene(view.frame_x(frame) + view.ppf / 2, 0).x()
    qtbot.mouseClick(view.viewport(), Qt.LeftButton, Qt.NoModifier, QPoint(x, 10))


def run(qtbot, panel, start) -> str:
    with qtbot.waitSignal(panel.runFinished, timeout=60000) as blocker:
        assert start() is not False
    return blocker.args[0]


def test_status_bar_and_open(panel, env):
    assert "cpu" in panel.engine_label.text() and "maskvat-tiny" in panel.engine_label.text()
    assert [c.id for c in panel.session.clips] == ["V1.1", "V1.2", "V1.3"]
    assert panel.view.rows[0].kind == "video" and len(panel.view.rows) == 1  # no Foley yet


def test_mouse_selection_and_in_out_marks(qtbot, panel):
    view = panel.view
    click_clip(qtbot, view, "V1.1")
    assert view.selected_ids() == ["V1.1"]
    assert panel.inspector.text("Record in") == "01:00:00;00"  # drop frame at 29.97
    click_clip(qtbot, view, "V1.3", Qt.ControlModifier)
    assert view.selected_ids() == ["V1.1", "V1.3"]
    assert panel.inspector.text("Clip") == "2 clips selected"
    click_clip(qtbot, view, "V1.3", Qt.ControlModifier)  # ctrl-click toggles off
    assert view.selected_ids() == ["V1.1"]
    click_clip(qtbot, view, "V1.3", Qt.ShiftModifier)  # range on the track
    assert view.selected_ids() == ["V1.1", "V1.2", "V1.3"]
    # In/Out: In on V1.2's first frame, Out on its last frame selects exactly V1.2.
    v2 = panel.session.clip("V1.2")
    click_ruler_at(qtbot, view, v2.record_start)
    assert view.playhead == v2.record_start
    qtbot.keyClick(view, Qt.Key_I)
    click_ruler_at(qtbot, view, v2.record_end - 1)
    qtbot.keyClick(view, Qt.Key_O)
    assert (view.mark_in_frame, view.mark_out_frame) == (v2.record_start, v2.record_end)
    assert view.selected_ids() == ["V1.2"]
    # Double-click on the track header: the whole track.
    header = view.mapFromScene(0, view.row_top[0] + 5)
    qtbot.mouseDClick(view.viewport(), Qt.LeftButton, Qt.NoModifier, QPoint(20, header.y()))
    assert view.selected_ids() == ["V1.1", "V1.2", "V1.3"]


def test_generate_regenerate_choose_undo_export(qtbot, panel, tmp_path):
    view, s = panel.view, panel.session
    click_clip(qtbot, view, "V1.1")
    click_clip(qtbot, view, "V1.3", Qt.ControlModifier)
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(panel.busy))
    timer.start(5)
    assert run(qtbot, panel, lambda: qtbot.keyClick(panel, Qt.Key_G, Qt.ControlModifier)).startswith("done")
    timer.stop()
    assert sum(ticks) >= 20, f"event loop turned only {sum(ticks)} times while the engine ran"
    assert set(s.takes) == {"V1.1", "V1.3"} and all(len(t) == 2 for t in s.takes.values())
    first_seeds = {c: {t.seed for t in s.takes[c]} for c in s.takes}
    foley = [i for i in view.audio_items if i.foley]
    assert sorted(i.source_clip_id for i in foley) == ["V1.1", "V1.3"]
    for item in foley:  # drawn where the placed timeline has it: under its video clip
        assert (item.start, item.duration) == (s.clip(item.source_clip_id).record_start,
                                               s.clip(item.source_clip_id).record_duration)
    # The takes list shows the first selected clip, best sync score first, the best active.
    tp = panel.takes_panel
    assert tp.clip_id == "V1.1" and tp.list.topLevelItemCount() == 2
    scores = [t.sync_score for t in tp.takes]
    assert scores == sorted(scores, reverse=True) and s.active["V1.1"] == tp.takes[0].seed

    # Regenerate: new seeds, takes added, not replaced; at the level the settings now ask.
    panel.settings_panel.loudness_on.setChecked(True)
    panel.settings_panel.loudness.setValue(-30.0)
    regenerate = panel.settings_panel.regenerate_btn
    assert run(qtbot, panel, lambda: qtbot.mouseClick(regenerate, Qt.LeftButton)).startswith("done")
    for clip_id, seeds in first_seeds.items():
        now = {t.seed for t in s.takes[clip_id]}
        assert len(now) == 4 and seeds < now
        assert {t.metadata["loudness_target"] for t in s.takes[clip_id] if t.seed not in seeds} == {-30.0}
        assert {t.metadata["loudness_target"] for t in s.takes[clip_id] if t.seed in seeds} == {None}
    assert tp.list.topLevelItemCount() == 4 and len(tp.waveform.audio) > 0 and tp.spectrogram.image is not None

    # Choose another take, undo, redo.
    before = s.active["V1.1"]
    other = next(t.seed for t in tp.takes if t.seed != before)
    tp.select_seed(other)
    qtbot.mouseClick(tp.use_btn, Qt.LeftButton)
    clip = find_foley_clip(s.placed, "V1.1")
    assert s.active["V1.1"] == other and clip.metadata[FOLEY_KEY]["active_key"] == f"seed-{other}"
    assert clip.media_references()[DEFAULT_MEDIA].target_url.endswith(f"_{other}.wav")
    qtbot.keyClick(panel, Qt.Key_Z, Qt.ControlModifier)
    assert s.active["V1.1"] == before
    assert find_foley_clip(s.placed, "V1.1").metadata[FOLEY_KEY]["active_key"] == f"seed-{before}"
    qtbot.keyClick(panel, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert s.active["V1.1"] == other

    # Remove a take with Del, then undo it.
    tp.select_seed(before)
    tp.list.setFocus()
    qtbot.keyClick(tp.list, Qt.Key_Delete)
    assert before not in {t.seed for t in s.takes["V1.1"]} and tp.list.topLevelItemCount() == 3
    assert f"seed-{before}" not in find_foley_clip(s.placed, "V1.1").media_references()
    panel.undo_stack.undo()
    assert before in {t.seed for t in s.takes["V1.1"]} and tp.list.topLevelItemCount() == 4

    # Export, then check the file with OTIO; the opened timeline is never overwritten.
    out = panel.export_to(str(tmp_path / "out.otio"))
    back = otio.adapters.read_from_file(out)
    tracks = [t for t in back.tracks if t.kind == otio.schema.TrackKind.Audio]
    assert [t.name for t in tracks] == ["Foley (MaskVAT)"]
    got = {c.metadata[FOLEY_KEY]["source_clip_id"]: c for c in tracks[0].find_clips()}
    assert set(got) == {"V1.1", "V1.3"}
    assert got["V1.1"].metadata[FOLEY_KEY]["active_key"] == f"seed-{other}"
    assert len([k for k in got["V1.1"].media_references() if k != DEFAULT_MEDIA]) == 4
    assert got["V1.3"].range_in_parent().start_time.to_frames() + rates.frames(back.global_start_time, RATE) \
        == s.clip("V1.3").record_start
    xml = otio.adapters.read_from_file(panel.export_to(str(tmp_path / "out.xml")))
    assert len([c for t in xml.audio_tracks() for c in t.find_clips()]) == 2
    original = Path(s.path).read_text()
    with pytest.raises(Exception, match="refusing to overwrite"):
        panel.export_to(s.path)
    assert Path(s.path).read_text() == original


def test_region_regenerate_and_audition(qtbot, panel):
    view, s, tp = panel.view, panel.session, panel.takes_panel
    click_clip(qtbot, view, "V1.2")
    assert run(qtbot, panel, lambda: panel.generate("rerun")).startswith("done")
    base = tp.current_take()
    wave = tp.waveform
    w = wave.width()
    qtbot.mousePress(wave, Qt.LeftButton, Qt.NoModifier, QPoint(w // 4, 10))
    qtbot.mouseMove(wave, QPoint(w // 2, 10))
    qtbot.mouseRelease(wave, Qt.LeftButton, Qt.NoModifier, QPoint(w // 2, 10))
    a, b = wave.region
    assert 0 < a < b <= s.clip("V1.2").record_duration and tp.region_btn.isEnabled()
    panel.settings_panel.gain.setValue(-6.0)  # the region's take gets the panel's gain too
    assert run(qtbot, panel, lambda: qtbot.mouseClick(tp.region_btn, Qt.LeftButton)).startswith("done")
    new = tp.current_take()
    assert new.seed != base.seed and new.metadata["region"] == [a, b] and len(s.takes["V1.2"]) == 3
    assert base.metadata["gain_db"] == 0.0 and new.metadata["gain_db"] <= -6.0  # the ceiling only lowers it
    assert (new.num_samples, new.time_reference) == (base.num_samples, base.time_reference)
    # Audition: the clip's frames play (sound needs an audio output; the backend says which).
    shown = []
    panel.audition.frameShown.connect(shown.append)
    with qtbot.waitSignal(panel.audition.stopped, timeout=20000):
        qtbot.keyClick(panel, Qt.Key_Space)
    assert len(shown) >= 5 and not tp.preview.pixmap().isNull()


def test_cancel_and_refusals(qtbot, panel):
    s = panel.session
    assert panel.generate() is False  # nothing selected
    panel.view.select_ids(["V1.1", "V1.2", "V1.3"])
    panel.settings_panel.steps.setValue(128)
    panel.settings_panel.takes.setValue(4)

    def start_and_cancel():
        assert panel.generate()
        panel.cancel()
    assert run(qtbot, panel, start_and_cancel) == "cancelled"
    assert not panel.busy and panel.settings_panel.generate_btn.isEnabled()
    # An offline clip is refused with its reason on the clip (tooltip and colour) and in the log.
    os.rename(s.clip("V1.2").media, s.clip("V1.2").media + ".moved")
    try:
        panel.open_timeline(s.path)
        panel.view.select_ids(["V1.2"])
        assert panel.generate() is False
        item = panel.view.clip_item("V1.2")
        assert item.kind() == "error" and "media file not found" in item.toolTip()
        assert "SKIPPED V1.2" in panel.progress.log.toPlainText()
    finally:
        os.rename(s.clip("V1.2").media + ".moved", s.clip("V1.2").media)


def test_cancel_keeps_the_clips_finished_before_it(qtbot, panel):
    """Cancelled after the first clip: its takes are kept and placed, the rest are not made."""
    s = panel.session
    panel.view.select_ids(["V1.1", "V1.2", "V1.3"])
    panel.settings_panel.steps.setValue(128)

    def cancel_after_the_first(p):
        if p.clip_id == "V1.1" and p.stage == "done":
            panel.cancel()

    def start():
        assert panel.generate()
        panel.call.progressed.connect(cancel_after_the_first)
    assert run(qtbot, panel, start) == "cancelled"
    assert len(s.takes["V1.1"]) == 2 and "V1.3" not in s.takes
    assert "kept" in panel.progress.log.toPlainText()
    assert "V1.1" in [i.source_clip_id for i in panel.view.audio_items if i.foley]


def test_panels_without_settings_of_their_own_keep_out_of_the_real_home(qtbot):
    """The take chooser and a panel opened without settings use the user's QSettings: in the tests
    those must be the private home's (conftest), never ~/.config/MaskVAT of whoever runs them."""
    import conftest
    from maskvat_foley.ui.settings_panel import SettingsPanel, default_settings

    assert Path(default_settings().fileName()).is_relative_to(conftest.PRIVATE_HOME)
    before = conftest.snapshot()
    panel = SettingsPanel()
    qtbot.addWidget(panel)
    panel.takes.setValue(panel.takes.value() + 1)
    panel.settings.sync()
    assert Path(panel.settings.fileName()).is_relative_to(conftest.PRIVATE_HOME)
    assert conftest.changes(before, conftest.snapshot()) == []


def test_take_chooser_returns_the_active_takes_on_apply(qtbot, env, tmp_path):
    """The host bridges' modal chooser: generate inside it, Apply, get one take per clip."""
    from PySide6.QtWidgets import QApplication, QDialogButtonBox

    from maskvat_foley.core.jobs import GenerationParams
    from maskvat_foley.ui.main_window import FoleyPanel

    def drive():
        dialog = QApplication.activeModalWidget()
        assert dialog.panel.view.selected_ids() == ["V1.1", "V1.3"]
        dialog.panel.runFinished.connect(
            lambda _m: dialog.buttons.button(QDialogButtonBox.Apply).click())
        assert dialog.panel.generate("generate")

    QTimer.singleShot(200, drive)
    chosen = FoleyPanel.choose_takes(env["timeline"], ["V1.1", "V1.3"], engine=env["client"],
                                     params=GenerationParams(seed=42, takes=2, steps=2),
                                     media_dir=str(tmp_path / "takes"))
    assert sorted(chosen) == ["V1.1", "V1.3"]
    assert {t.seed for t in chosen.values()} <= {42, 43}
    assert all(Path(t.path).is_file() for t in chosen.values())

    QTimer.singleShot(200, lambda: QApplication.activeModalWidget().reject())
    assert FoleyPanel.choose_takes(env["timeline"], ["V1.2"], engine=env["client"],
                                   media_dir=str(tmp_path / "takes")) is None


def test_a_video_file_opens_as_one_clip_and_takes_its_foley(qtbot, panel, tmp_path):
    """An editor's first try: their own camera clip, opened without an edit around it."""
    import numpy as np

    from maskvat_foley.core.media.video_writer import write_video

    video = write_video(tmp_path / "A002_C007.mp4", [np.full((48, 64, 3), 8 * i, np.uint8) for i in range(30)],
                        25, timecode="14:20:00:00")
    panel.open_timeline(str(video), media_dir=str(tmp_path / "cam_takes"))
    (clip,) = panel.session.clips
    assert clip.record_start == rates.from_timecode("14:20:00:00", 25) and clip.record_duration == 30
    assert "A002_C007.mp4" in panel.windowTitle()
    assert panel.view.selected_ids() == ["V1.1"]  # the lone clip comes selected: Generate at once
    assert run(qtbot, panel, lambda: qtbot.keyClick(panel, Qt.Key_G, Qt.ControlModifier)).startswith("done")
    assert len(panel.session.takes["V1.1"]) == 2
    out = panel.export_to(str(tmp_path / "A002_C007_foley.otio"))
    tl = otio.adapters.read_from_file(out)
    assert "Foley (MaskVAT)" in [t.name for t in tl.tracks]
