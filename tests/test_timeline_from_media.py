"""A video file given where a timeline goes: one clip at the file's timecode, Foley placed on it
to the sample, the production sound kept on A1; files that are not video say so in one line."""
from __future__ import annotations

import hashlib
import os
from fractions import Fraction

import numpy as np
import opentimelineio as otio
import pytest
import soundfile
import wavinfo

from maskvat_foley.core.media.video_writer import write_video
from maskvat_foley.core.timeline import rates
from maskvat_foley.core.timeline.clips import list_clips
from maskvat_foley.core.timeline.io import TimelineError, read_timeline
from maskvat_foley.plugin.cli import main

NTSC = Fraction(30000, 1001)


def _camera_clip(path, frames: int = 45, rate=NTSC, timecode: str | None = "01:00:00;00", audio: bool = True):
    pictures = [np.full((48, 64, 3), (20 + 5 * i) % 256, np.uint8) for i in range(frames)]
    sound = None
    if audio:
        t = np.arange(int(48000 * frames / float(rate))) / 48000
        sound = (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    return write_video(path, pictures, rate, audio=sound, sample_rate=48000 if audio else None, timecode=timecode)


def test_a_video_file_reads_as_one_clip_at_its_timecode(tmp_path):
    video = _camera_clip(tmp_path / "A001_C002.mov")
    tl = read_timeline(video)
    start = rates.from_timecode("01:00:00;00", NTSC)
    assert tl.name == "A001_C002"
    assert rates.exact_rate(tl.global_start_time.rate) == NTSC and round(tl.global_start_time.value) == start
    (clip,) = list_clips(tl)
    assert (clip.id, clip.record_start, clip.record_duration, clip.status) == ("V1.1", start, 45, "ok")
    assert os.path.samefile(clip.media, video)
    # The production sound sits under the picture on A1, the same frames of the same file.
    (a1,) = tl.audio_tracks()
    (sound,) = a1.find_clips()
    assert sound.source_range == tl.video_tracks()[0].find_clips()[0].source_range


def test_a_file_without_timecode_or_sound_starts_at_zero_with_no_audio_track(tmp_path):
    tl = read_timeline(_camera_clip(tmp_path / "phone.mp4", rate=25, timecode=None, audio=False))
    assert round(tl.global_start_time.value) == 0 and not tl.audio_tracks()
    assert [c.record_duration for c in list_clips(tl)] == [45]


def test_generate_on_a_video_file_places_the_takes_at_its_timecode(tmp_path, tiny_model, capsys):
    video = _camera_clip(tmp_path / "cam" / "A001_C002.mov")
    before = hashlib.sha256(video.read_bytes()).hexdigest()
    out = tmp_path / "out" / "A001_C002_foley.otio"
    # No --clip/--all: a video file is one clip.
    assert main(["-q", "generate", str(video), "-o", str(out), "--model", tiny_model, "--seed", "5",
                 "--takes", "2", "--device", "cpu"]) == 0
    assert "1 clip(s) given Foley, 2 take(s)" in capsys.readouterr().out
    tl = otio.adapters.read_from_file(str(out))
    names = [t.name for t in tl.tracks]
    assert names[:2] == ["V1", "A1"] and "Foley (MaskVAT)" in names
    (placed,) = [t for t in tl.tracks if t.name == "Foley (MaskVAT)"][0].find_clips()
    start = rates.from_timecode("01:00:00;00", NTSC)
    first, n = rates.sample_span(start, start + 45, NTSC, 48000)
    for key in ("seed-5", "seed-6"):
        wav = otio.url_utils.filepath_from_url(placed.media_references()[key].target_url)
        assert soundfile.info(wav).frames == n
        assert wavinfo.WavInfoReader(wav).bext.time_reference == first
    assert hashlib.sha256(video.read_bytes()).hexdigest() == before  # the camera file is untouched


def test_clips_lists_a_video_file_and_a_non_video_file_says_why(tmp_path, capsys):
    video = _camera_clip(tmp_path / "take 1.mp4", rate=25, timecode="10:00:00:00", audio=False)
    assert main(["clips", str(video)]) == 0
    assert "10:00:00:00" in capsys.readouterr().out
    notes = tmp_path / "notes.txt"
    notes.write_text("not a timeline")
    with pytest.raises(TimelineError, match="no OTIO adapter reads .*video files"):
        read_timeline(notes)
    wav = tmp_path / "sound.wav"
    soundfile.write(str(wav), np.zeros(4800, np.float32), 48000)
    rc = main(["generate", str(wav), "-o", str(tmp_path / "o.otio"), "--all"])
    err = capsys.readouterr().err
    assert rc != 0 and "no OTIO adapter" in err and "Traceback" not in err
    # A video file with a misleading suffix is still read as a video (a camera's own extension).
    odd = tmp_path / "clip.cam"
    odd.write_bytes(video.read_bytes())
    assert [c.record_duration for c in list_clips(read_timeline(odd))] == [45]


def test_a_15_fps_clip_gets_foley_at_its_timecode_and_formats_without_its_rate_say_so(tmp_path, tiny_model, capsys):
    # SMPTE timecode has no 15 fps (OTIO refuses it): a phone's or a web clip's rate all the same.
    video = _camera_clip(tmp_path / "web.mp4", frames=30, rate=15, timecode="00:00:10:00", audio=False)
    assert main(["clips", str(video)]) == 0
    assert "00:00:10:00" in capsys.readouterr().out
    out = tmp_path / "out" / "web_foley.otio"
    assert main(["-q", "generate", str(video), "-o", str(out), "--model", tiny_model, "--seed", "5",
                 "--takes", "1", "--device", "cpu"]) == 0
    tl = otio.adapters.read_from_file(str(out))
    (placed,) = [t for t in tl.tracks if t.name == "Foley (MaskVAT)"][0].find_clips()
    wav = otio.url_utils.filepath_from_url(placed.media_reference.target_url)
    first, n = rates.sample_span(150, 180, Fraction(15), 48000)
    assert (first, n) == (480000, 96000)
    assert soundfile.info(wav).frames == n and wavinfo.WavInfoReader(wav).bext.time_reference == first
    capsys.readouterr()
    for suffix in (".xml", ".edl"):
        target = tmp_path / f"web{suffix}"
        assert main(["export", str(out), "-o", str(target)]) != 0
        err = capsys.readouterr().err
        assert "SMPTE timecode, which a 15 fps timeline cannot have" in err and "Traceback" not in err
        assert not target.exists()
    assert main(["export", str(out), "-o", str(tmp_path / "web.mlt")]) == 0
