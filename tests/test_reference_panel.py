"""The panel's Reference field, offscreen with real widgets: a sound file dropped on it from a file
browser (a real QDropEvent with a file URL) or typed, checked off the UI thread and given to the
selected clips; a bad sound said in one line in the panel and nothing changed; the range, Clear,
the audition of the reference; each clip's reference kept for Generate and Regenerate and sent
to a real engine server; a model that refuses references costing no take."""
from __future__ import annotations

import dataclasses
import os
import warnings
from fractions import Fraction

import numpy as np
import pytest

pytest.importorskip("PySide6")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt, QUrl  # noqa: E402
from PySide6.QtGui import QDragEnterEvent, QDropEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from audio_files import noise, write_audio  # noqa: E402
from maskvat_foley.core.jobs import ReferenceSpec, Take  # noqa: E402


class Recording:
    """The engine client the panel uses, noting the parameters of each run it is handed."""

    def __init__(self, client):
        self.client, self.params = client, []

    def info(self) -> dict:
        return self.client.info()

    def generate(self, jobs, params, **kw):
        self.params.append((tuple(j.clip_id for j in jobs), params))
        return self.client.generate(jobs, params, **kw)

    def regenerate_region(self, job, take, start, end, params, **kw):
        self.params.append(((job.clip_id,), params))
        return self.client.regenerate_region(job, take, start, end, params, **kw)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    from test_ui_panel import build_timeline

    from maskvat_foley.core.engine.client import EngineClient
    from maskvat_foley.core.engine.engine import Engine
    from maskvat_foley.core.engine.server import RunningServer, create_app
    from maskvat_foley.core.engine.token import load_token
    from maskvat_foley.core.media.video_writer import write_video
    from maskvat_foley.core.model.checkpoint import init_random

    base = tmp_path_factory.mktemp("ref panel")
    timeline = build_timeline(base)
    engine = Engine(str(init_random(base / "model", "tiny")), device="cpu", cache_dir=str(base / "cache"))
    token = load_token()
    server = RunningServer(create_app(engine, token=token, output_dir=base / "server_out"))
    client = EngineClient(server.url, token)
    lib = base / "sound library"
    lib.mkdir()
    sounds = {"glass": write_audio(lib / "glass.wav", noise(0.6, 48000, 2), 48000),
              "gravel": write_audio(lib / "gravel steps.flac", noise(2.0, 22050, seed=4), 22050),
              "silent": write_audio(lib / "room tone.aiff", np.zeros(48000), 48000),
              "mute": write_video(lib / "mute.mp4", [np.zeros((48, 64, 3), np.uint8)] * 12, 24)}
    yield {"timeline": timeline, "client": client, "sounds": {k: str(v) for k, v in sounds.items()}}
    client.close()
    server.stop()


@pytest.fixture
def panel(qtbot, env, tmp_path):
    from maskvat_foley.ui.main_window import FoleyPanel

    p = FoleyPanel(settings=QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))
    qtbot.addWidget(p)
    p.resize(1400, 900)
    p.show()
    p.recorder = Recording(env["client"])
    with qtbot.waitSignal(p.engineReady, timeout=30000):
        p.set_engine(p.recorder)
    p.settings_panel.steps.setValue(2)
    p.settings_panel.takes.setValue(1)
    p.open_timeline(env["timeline"], media_dir=str(tmp_path / "takes"))
    yield p
    p.shutdown()


def drag_and_drop(field, mime: QMimeData) -> tuple[bool, bool]:
    """A file browser's drag onto the field's File box: (enter accepted, drop accepted)."""
    pos = field.path.geometry().center()
    with warnings.catch_warnings():  # PySide marks Qt 6's only constructor deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        enter = QDragEnterEvent(pos, Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(field, enter)
    if not enter.isAccepted():
        return False, False
    drop = QDropEvent(QPointF(pos), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(field, drop)
    return True, drop.isAccepted()


def drop_file(qtbot, panel, path: str) -> tuple[bool, str]:
    """Drop ``path`` as a file URL and wait for the check: (ok, the line the panel shows)."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(path)])
    with qtbot.waitSignal(panel.references.checked, timeout=30000) as blocker:
        assert drag_and_drop(panel.reference_field, mime) == (True, True)
    return blocker.args[0], blocker.args[1]


def run(qtbot, panel, start) -> str:
    with qtbot.waitSignal(panel.runFinished, timeout=120000) as blocker:
        assert start() is not False
    return blocker.args[0]


def test_a_dropped_sound_becomes_the_reference_of_the_selected_clips(qtbot, panel, env):
    field, s, sounds = panel.reference_field, panel.session, env["sounds"]
    text = QMimeData()
    text.setText("glass.wav")  # plain text is no file: not taken
    assert drag_and_drop(field, text) == (False, False)
    assert drop_file(qtbot, panel, sounds["glass"])[1].startswith("select the clips")  # nothing selected yet
    assert s.references == {}

    panel.view.select_ids(["V1.1"])
    ok, line = drop_file(qtbot, panel, sounds["glass"])
    assert ok and line.startswith("reference glass.wav for clip V1.1, sha256 ")
    assert s.references == {"V1.1": ReferenceSpec(sounds["glass"])}
    assert field.path.text() == sounds["glass"] and field.scope.text() == "for the selected clip"
    assert "reference glass.wav for clip V1.1" in panel.progress.log.toPlainText()

    panel.view.select_ids(["V1.2"])  # another clip: its own (none)
    assert field.path.text() == "" and field.scope.text() == "for the selected clip: none"
    assert not field.play_btn.isEnabled()
    panel.view.select_ids(["V1.1", "V1.2"])
    assert "have different references" in field.scope.text() and field.path.text() == ""
    ok, _ = drop_file(qtbot, panel, sounds["gravel"])  # one reference for the selection
    assert ok and s.references == {c: ReferenceSpec(sounds["gravel"]) for c in ("V1.1", "V1.2")}
    assert field.scope.text() == "for the 2 selected clips"

    # A range narrows it (typed, Enter); a bad range is refused and the reference stays.
    field.range.setText("0.5-1.75")
    with qtbot.waitSignal(panel.references.checked, timeout=30000) as blocker:
        field.range.editingFinished.emit()
    assert blocker.args[0] and s.references["V1.2"] == ReferenceSpec(sounds["gravel"], Fraction(1, 2), Fraction(7, 4))
    field.range.setText("3-1")
    with qtbot.waitSignal(panel.references.checked, timeout=5000) as blocker:
        field.range.editingFinished.emit()
    assert not blocker.args[0] and "is empty" in blocker.args[1]
    assert s.references["V1.2"].range_text() == "0.5-1.75" and field.range.text() == "0.5-1.75"

    # Clear: only the selected clips lose it.
    panel.view.select_ids(["V1.2"])
    qtbot.mouseClick(field.clear_btn, Qt.LeftButton)
    assert "V1.2" not in s.references and "V1.1" in s.references and field.path.text() == ""


@pytest.mark.parametrize("which, message", [
    ("silent", "is silent (digital silence)"),
    ("mute", "the video has no audio track"),
    ("missing", "reference file not found"),
])
def test_a_bad_sound_is_one_line_in_the_panel_and_changes_nothing(qtbot, panel, env, which, message):
    field, s, sounds = panel.reference_field, panel.session, env["sounds"]
    panel.view.select_ids(["V1.3"])
    assert drop_file(qtbot, panel, sounds["glass"])[0]
    path = sounds.get(which, sounds["glass"] + ".moved")
    ok, line = drop_file(qtbot, panel, path)
    assert not ok and line.startswith("reference ") and message in line and "\n" not in line
    assert field.message.text() == line and "ff7a6a" in field.message.styleSheet()  # in red, in the field
    assert line in panel.progress.log.toPlainText() and panel.status.currentMessage() == line
    assert s.references == {"V1.3": ReferenceSpec(sounds["glass"])}  # the clip keeps its reference
    assert field.path.text() == sounds["glass"]


def test_audition_plays_the_reference_from_memory(qtbot, panel, env):
    field, audition = panel.reference_field, panel.audition
    panel.view.select_ids(["V1.1"])
    assert drop_file(qtbot, panel, env["sounds"]["glass"])[0]
    cursor = []
    audition.positionChanged.connect(cursor.append)
    with qtbot.waitSignal(audition.started, timeout=30000) as started:
        qtbot.mouseClick(field.play_btn, Qt.LeftButton)
    assert started.args[0].startswith("playing reference glass.wav 0-3/5 s (")
    assert audition.what == "reference" and audition.duration_ms == 600
    with qtbot.waitSignal(audition.stopped, timeout=10000):
        pass
    assert cursor == []  # the take's waveform cursor is not the reference's


def test_audition_wav_stream_holds_the_samples():
    import io
    import wave

    from maskvat_foley.ui.audition import wav_bytes

    x = noise(0.25, 22050)[0]
    with wave.open(io.BytesIO(wav_bytes(x, 22050))) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()) == (1, 2, 22050, len(x))
        back = np.frombuffer(w.readframes(len(x)), "<i2") / 32768
    np.testing.assert_allclose(back, x, atol=1 / 32768)


def test_generate_and_regenerate_keep_each_clips_reference(qtbot, panel, env):
    """V1.1 generated first without a reference; then V1.1 given a reference and V1.2 none: the
    run sends each its own, the tiny model refuses the reference at Mix 0 % (it cannot hear one:
    one line, on V1.1 only), V1.2 gets its take, V1.1 keeps the takes it had; Regenerate sends the
    same references again; at Mix 100 % V1.1 gets takes with the reference's sound."""
    s, field = panel.session, panel.reference_field
    panel.view.select_ids(["V1.1"])
    assert run(qtbot, panel, panel.generate).startswith("done: 1 take(s)")
    before = list(s.takes["V1.1"])
    field.guidance.setValue(3.5)
    field.mix.setValue(0)
    assert drop_file(qtbot, panel, env["sounds"]["gravel"])[0]
    panel.view.select_ids(["V1.1", "V1.2"])
    panel.recorder.params.clear()
    message = run(qtbot, panel, panel.generate)
    sent = dict(panel.recorder.params)
    assert sent[("V1.1",)].reference == ReferenceSpec(env["sounds"]["gravel"]) and sent[("V1.1",)].ref_guidance == 3.5
    assert sent[("V1.2",)].reference is None
    assert "1 clip(s) failed" in message and "reference" in message  # the model's one line
    assert s.takes["V1.1"] == before and len(s.takes["V1.2"]) == 1  # no take lost, V1.2's kept
    assert "reference" in s.errors["V1.1"] and panel.view.clip_item("V1.1").kind() == "error"
    assert s.references == {"V1.1": ReferenceSpec(env["sounds"]["gravel"])}  # kept for the next run

    panel.recorder.params.clear()
    message = run(qtbot, panel, lambda: qtbot.mouseClick(panel.settings_panel.regenerate_btn, Qt.LeftButton))
    again = dict(panel.recorder.params)
    assert again[("V1.1",)].reference == sent[("V1.1",)].reference and again[("V1.2",)].reference is None
    assert again[("V1.1",)].seed != sent[("V1.1",)].seed
    assert len(s.takes["V1.2"]) == 2 and s.takes["V1.1"] == before

    field.mix.setValue(100)
    panel.view.select_ids(["V1.1"])
    assert run(qtbot, panel, panel.generate).startswith("done: 1 take(s)")
    made = [t for t in s.takes["V1.1"] if t not in before]
    assert len(made) == 1 and made[0].reference["ref_mix"] == 1.0 and made[0].reference["applied"]


def test_a_region_is_regenerated_with_its_takes_reference(panel, env):
    """A take made with a reference is partly regenerated with that same reference, whatever the
    clip's reference is now; a take without one, without."""
    from maskvat_foley.core.jobs import GenerationParams

    refs = panel.references
    base = GenerationParams(seed=4, takes=1)
    record = {"name": "gravel steps.flac", "path": env["sounds"]["gravel"], "sha256": "0" * 64, "start": "1/2",
              "end": "7/4", "trimmed": False, "ref_guidance": 1.5}
    made_with = Take("V1.1", 4, "t.wav", 48000, 100, 0, metadata={"reference": record})
    p = refs.params_for_take(made_with, base)
    assert p.reference == ReferenceSpec(env["sounds"]["gravel"], Fraction(1, 2), Fraction(7, 4))
    # A take made before reference hits existed had none: its region gets none either.
    assert p.ref_guidance == 1.5 and p.ref_mix == 0.0
    assert dataclasses.replace(p, reference=None, ref_guidance=2.0, ref_mix=1.0) == base
    with_hits = Take("V1.1", 4, "t.wav", 48000, 100, 0, metadata={"reference": {**record, "ref_mix": 0.5}})
    assert refs.params_for_take(with_hits, base).ref_mix == 0.5
    panel.session.set_reference(["V1.1"], ReferenceSpec(env["sounds"]["glass"]))
    assert refs.params_for_take(Take("V1.1", 5, "u.wav", 48000, 100, 0), base).reference is None


def test_a_hosts_reference_reaches_the_chooser_and_the_engines_word_is_shown(qtbot, env):
    """A host bridge's parameters with a reference give it to the clips it opens the chooser on;
    an engine that says its model hears no reference is said in the field before any run."""
    from maskvat_foley.core.jobs import GenerationParams
    from maskvat_foley.ui.take_chooser import ChooserDialog

    spec = ReferenceSpec(env["sounds"]["gravel"], Fraction(1, 4))
    dialog = ChooserDialog(env["client"], env["timeline"], ["V1.1", "V1.3"],
                           params=GenerationParams(seed=2, reference=spec, ref_guidance=1.5, ref_mix=0.5))
    qtbot.addWidget(dialog)
    try:
        panel = dialog.panel
        assert panel.session.references == {"V1.1": spec, "V1.3": spec}
        assert panel.reference_field.guidance.value() == 1.5 and panel.reference_field.path.text() == spec.path
        assert panel.references.params_for("V1.3", GenerationParams()).reference == spec
        assert panel.reference_field.mix.value() == 50  # the host's hit mix, as a percentage
        panel.reference_field.mix.setValue(40)
        assert panel.references.params_for("V1.3", GenerationParams()).ref_mix == 0.4
        panel.references.engine_ready({"model": "maskvat-tiny-random", "reference_seconds": 0})
        assert "its hits or its texture go into" in panel.reference_field.message.text()
        assert not panel.reference_field.guidance.isEnabled() and panel.reference_field.mix.isEnabled()
    finally:
        dialog.panel.shutdown()
