"""The command line end to end: real OTIO files, real video, the real engine with a tiny model."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import opentimelineio as otio
import pytest
import soundfile
import wavinfo

from maskvat_foley.core.timeline.rates import sample_span
from maskvat_foley.plugin.cli import main


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "maskvat_foley", *args], capture_output=True,
                          text=True, timeout=600)


def test_clips_json_lists_exact_ranges(foley_edit, capsys):
    assert main(["clips", foley_edit["path"], "--json"]) == 0
    clips = json.loads(capsys.readouterr().out)
    by_id = {c["id"]: c for c in clips}
    for clip_id, (start, duration) in foley_edit["expected"].items():
        c = by_id[clip_id]
        assert (c["record_start"], c["record_duration"]) == (start, duration)
        assert c["rate"] == "24000/1001" and c["status"] == "ok"
    assert by_id["V1.1"]["record_in"] == "01:00:00:00"
    assert by_id["V1.2"]["record_in"] == "01:00:02:00"  # 36 frames + 12-frame gap
    assert by_id["V1.3"]["status"] == "offline"
    for key in ("id", "name", "track", "record_start", "record_duration", "rate", "record_in",
                "record_out", "media", "status", "flags"):
        assert key in by_id["V1.1"]


def test_clips_does_not_import_torch(foley_edit):
    # PyAV is allowed: each media file is probed once to flag ranges that run past the media.
    code = ("import sys; from maskvat_foley.plugin.cli import main; "
            f"rc = main(['clips', {foley_edit['path']!r}]); "
            "assert 'torch' not in sys.modules and 'PySide6' not in sys.modules, 'heavy import'; "
            "raise SystemExit(rc)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "clip 1" in done.stdout


def test_generate_places_exact_takes_and_skips_the_missing_clip(foley_edit, tiny_model, tmp_path):
    out = tmp_path / "out" / "edit_foley.otio"
    done = run_cli("generate", foley_edit["path"], "-o", str(out), "--all", "--model", tiny_model,
                   "--seed", "7", "--takes", "2", "--device", "cpu")
    assert done.returncode == 0, done.stderr
    assert "skipped V1.3" in done.stdout and "2 clip(s) given Foley, 4 take(s)" in done.stdout
    tl = otio.adapters.read_from_file(str(out))
    foley = [t for t in tl.tracks if t.name == "Foley (MaskVAT)"]
    assert len(foley) == 1 and foley[0].kind == otio.schema.TrackKind.Audio
    placed = {c.metadata["maskvat_foley"]["source_clip_id"]: c for c in foley[0].find_clips()}
    assert sorted(placed) == ["V1.1", "V1.2"]
    rate = foley_edit["rate"]
    for clip_id, (start, duration) in foley_edit["expected"].items():
        c = placed[clip_id]
        rng = c.transformed_time_range(c.trimmed_range(), tl.tracks)
        assert round(rng.start_time.value) + 86400 == start and round(rng.duration.value) == duration
        assert c.active_media_reference_key == "DEFAULT_MEDIA"
        assert {"seed-7", "seed-8"} <= set(c.media_references())
        time_reference, n = sample_span(start, start + duration, rate, 48000)
        for key in ("seed-7", "seed-8"):
            path = otio.url_utils.filepath_from_url(c.media_references()[key].target_url)
            assert os.path.basename(path) in (f"edit_{clip_id}_7.wav", f"edit_{clip_id}_8.wav")
            assert soundfile.info(path).frames == n and soundfile.info(path).samplerate == 48000
            assert wavinfo.WavInfoReader(path).bext.time_reference == time_reference
    # the editor's own track is untouched
    assert [c.name for c in tl.tracks[0].find_clips()] == ["clip 1", "clip 2", "lost"]


def test_same_seed_gives_the_same_take(foley_edit, tiny_model, tmp_path):
    outs = []
    for name in ("a", "b"):
        out = tmp_path / name / "o.otio"
        assert main(["-q", "generate", foley_edit["path"], "-o", str(out), "--clip", "V1.2",
                     "--model", tiny_model, "--seed", "11", "--takes", "1", "--device", "cpu"]) == 0
        outs.append(soundfile.read(str(out.parent / "edit_V1.2_11.wav"))[0])
    assert (outs[0] == outs[1]).all()


@pytest.mark.parametrize("args, message", [
    (["--all", "--track", "1"], "exactly one of"),
    ([], "exactly one of"),
    (["--all", "--takes", "0"], "--takes"),
])
def test_bad_usage_exits_2(foley_edit, tmp_path, capsys, args, message):
    rc = main(["generate", foley_edit["path"], "-o", str(tmp_path / "o.otio"), *args])
    assert rc == 2 and message in capsys.readouterr().err


def test_refuses_to_overwrite_the_input(foley_edit, capsys):
    with open(foley_edit["path"], "rb") as f:
        before = f.read()
    assert main(["generate", foley_edit["path"], "-o", foley_edit["path"], "--all"]) == 2
    assert main(["export", foley_edit["path"], "-o", foley_edit["path"]]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err
    with open(foley_edit["path"], "rb") as f:
        assert f.read() == before


def test_unreadable_timeline_is_one_clear_line(tmp_path):
    bad = tmp_path / "broken.otio"
    bad.write_text('{"OTIO_SCHEMA": "Timeline.1", "tracks": ')
    done = run_cli("clips", str(bad))
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "broken.otio" in lines[0] and "Traceback" not in done.stderr


def test_unknown_clip_names_what_exists(foley_edit, tmp_path, capsys):
    rc = main(["generate", foley_edit["path"], "-o", str(tmp_path / "o.otio"), "--clip", "V9.9"])
    err = capsys.readouterr().err
    assert rc == 1 and "V9.9" in err and "V1.1" in err


def test_export_to_fcp_xml_round_trips(foley_edit, tmp_path):
    out = tmp_path / "edit.xml"
    assert main(["export", foley_edit["path"], "-o", str(out)]) == 0
    back = otio.adapters.read_from_file(str(out))
    assert [c.name for c in back.find_clips()][:2] == ["clip 1", "clip 2"]


def test_generate_through_a_running_engine(foley_edit, tiny_model, tmp_path):
    """`generate --engine URL` sends the work to a real server on 127.0.0.1 (token found itself)."""
    from maskvat_foley.core.engine.engine import Engine
    from maskvat_foley.core.engine.server import RunningServer, create_app
    from maskvat_foley.core.engine.token import load_token

    engine = Engine(tiny_model, device="cpu", cache_dir=str(tmp_path / "cache"))
    server = RunningServer(create_app(engine, token=load_token(), output_dir=tmp_path / "engine_out"))
    try:
        out = tmp_path / "via_engine" / "o.otio"
        assert main(["-q", "generate", foley_edit["path"], "-o", str(out), "--clip", "V1.1",
                     "--seed", "3", "--takes", "1", "--engine", server.url]) == 0
    finally:
        server.stop()
    clip = otio.adapters.read_from_file(str(out)).tracks[1].find_clips()[0]
    wav = otio.url_utils.filepath_from_url(clip.media_reference.target_url)
    assert os.path.isfile(wav) and soundfile.info(wav).samplerate == 48000


def test_generate_sets_the_level_and_records_it(foley_edit, tiny_model, tmp_path, capsys):
    """--loudness/--gain: the WAV's bext v2 loudness and true peak, iXML and the timeline's metadata
    all tell the level the take has, which is the one asked for (or why not)."""
    import xml.etree.ElementTree as ET

    from maskvat_foley.core.media.bwf import IXML_VENDOR_BLOCK, read_bwf_info
    from maskvat_foley.core.media.loudness import integrated_loudness, true_peak

    out = tmp_path / "o.otio"
    assert main(["-q", "generate", foley_edit["path"], "-o", str(out), "--clip", "V1.1", "--model", tiny_model,
                 "--seed", "5", "--takes", "1", "--device", "cpu", "--loudness", "-30", "--gain", "3"]) == 0
    printed = capsys.readouterr().out
    wav = str(tmp_path / "edit_V1.1_5.wav")
    audio, sr = soundfile.read(wav, dtype="float64")
    clip = otio.adapters.read_from_file(str(out)).tracks[1].find_clips()[0]
    meta = clip.media_references()["seed-5"].metadata["maskvat_foley"]
    assert meta["loudness_target"] == -30.0 and meta["true_peak_dbtp"] <= -1.0
    assert true_peak(audio) <= -1.0 + 0.01  # 24-bit rounding of the read-back file
    measured = integrated_loudness(audio, sr)
    # seed 5 of the tiny model is about -28 LUFS: raised to the target, then 3 dB more
    assert "level_note" not in meta and "level of" not in printed
    assert measured == pytest.approx(-27.0, abs=0.5) and meta["gain_db"] != 0
    assert meta["loudness_lufs"] == pytest.approx(measured, abs=0.05)
    w = wavinfo.WavInfoReader(wav)
    assert w.bext.version == 2
    assert w.bext.loudness_value == pytest.approx(meta["loudness_lufs"], abs=0.011)
    assert w.bext.max_true_peak == pytest.approx(meta["true_peak_dbtp"], abs=0.011)
    info = read_bwf_info(wav)
    block = ET.fromstring(info.ixml).find(IXML_VENDOR_BLOCK)
    assert float(block.find("GAIN_DB").text) == pytest.approx(meta["gain_db"], abs=0.005)
    assert block.find("LOUDNESS_TARGET_LUFS").text == "-30.00"
    assert block.find("TRUE_PEAK_CEILING_DBTP").text == "-1.00"
    assert json.loads(info.comment)["gain_db"] == meta["gain_db"]  # the full provenance: INFO and iXML NOTE


@pytest.mark.parametrize("args, message", [
    (["--loudness", "3"], "--loudness must be between -70 and 0 LUFS, got 3"),
    (["--gain", "40"], "--gain must be between -60 and 30 dB, got 40"),
    (["--gain", "nan"], "--gain must be between"),
])
def test_bad_level_exits_2(foley_edit, tmp_path, capsys, args, message):
    rc = main(["generate", foley_edit["path"], "-o", str(tmp_path / "o.otio"), "--all", *args])
    assert rc == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "o.otio").exists()


def test_bench_generate_takes_a_frame_size(capsys):
    """`bench generate --size` times decoding and features at a camera's frame size (JSON)."""
    assert main(["bench", "generate", "--config", "tiny", "--seconds", "1", "--repeat", "1", "--steps", "1",
                 "--size", "96x64", "--device", "cpu"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["video_size"] == [96, 64] and out["video"] == "pyav"
    assert {"decode", "features", "sampling"} <= set(out["stages_seconds"])
