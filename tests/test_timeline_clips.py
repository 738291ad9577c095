"""Clip listing on real .otio files: record/source ranges against hand-computed frames, flags, jobs."""
from __future__ import annotations

import os
from fractions import Fraction

import opentimelineio as otio
import pytest

import timeline_builders as tb
from maskvat_foley.core.timeline.clips import ClipNotUsable, clip_job, list_clips
from maskvat_foley.core.timeline.io import TimelineError, media_path, read_timeline, write_timeline

# 01:00:00:00 (01:00:00;00 drop frame) as a frame number, computed by hand.
ONE_HOUR_FRAMES = {"24": 86400, "25": 90000, "23.976": 86400, "29.97df": 107892, "59.94df": 215784}
# Timecode of one hour + 48 frames (the out point of clip A).
A_OUT = {"24": "01:00:02:00", "25": "01:00:01:23", "23.976": "01:00:02:00", "29.97df": "01:00:01;18",
         "59.94df": "01:00:00;48"}


def _read(timeline: otio.schema.Timeline, path) -> list:
    tb.write(timeline, path)
    return list_clips(read_timeline(path))


@pytest.mark.parametrize("rate_name", list(tb.RATES))
def test_record_ranges_at_each_rate_from_one_hour(tmp_path, rate_name):
    rate = tb.RATES[rate_name]
    clips = _read(tb.simple(rate, str(tmp_path), tb.one_hour(rate)), tmp_path / "simple.otio")
    origin = ONE_HOUR_FRAMES[rate_name]
    a, b = clips
    assert [c.id for c in clips] == ["V1.1", "V1.2"]  # the audio track is not listed, gaps skipped
    assert (a.record_start, a.record_duration, a.source_start, a.source_duration) == (origin, 48, 10, 48)
    assert (b.record_start, b.record_duration, b.source_start, b.media_start) == (origin + 60, 30, 1100, 1000)
    assert a.rate == rate and a.media_rate == rate
    j = a.to_json()
    assert j["record_in"] == ("01:00:00;00" if "df" in rate_name else "01:00:00:00")
    assert j["record_out"] == A_OUT[rate_name]
    assert j["rate"] == {"24": "24", "25": "25", "23.976": "24000/1001", "29.97df": "30000/1001",
                         "59.94df": "60000/1001"}[rate_name]
    assert j["status"] == "ok" and j["flags"] == [] and j["track"] == 1 and j["name"] == "A"
    job = clip_job(b, "simple")
    assert (job.record_start, job.record_duration, job.source_start, job.source_duration) == (origin + 60, 30, 1100, 30)
    assert job.media_origin == 1000 and job.timeline_rate == rate and job.media_path == b.media


def test_no_global_start_counts_from_zero(tmp_path):
    clips = _read(tb.simple(Fraction(24), str(tmp_path)), tmp_path / "t.otio")
    assert [(c.record_start, c.record_duration) for c in clips] == [(0, 48), (60, 30)]
    assert clips[0].to_json()["record_in"] == "00:00:00:00"


def test_markers_change_nothing(tmp_path):
    rate = Fraction(24000, 1001)
    marked = _read(tb.simple(rate, str(tmp_path), "01:00:00:00", markers=True), tmp_path / "m.otio")
    plain = _read(tb.simple(rate, str(tmp_path), "01:00:00:00", markers=False), tmp_path / "p.otio")
    assert marked == plain


def test_transition_visible_ranges_and_job(tmp_path):
    a, b, c = _read(tb.with_transition(Fraction(24), str(tmp_path)), tmp_path / "t.otio")
    # The dissolve spans record [42, 52): 6 frames before the cut at 48 and 4 after it.
    assert (a.record_start, a.record_duration, a.visible_start, a.visible_duration) == (0, 48, 0, 52)
    assert (b.record_start, b.record_duration, b.visible_start, b.visible_duration) == (48, 48, 42, 54)
    assert (c.record_start, c.visible_start, c.visible_duration) == (100, 100, 24)
    assert "transition" in a.flags and "transition" in b.flags and c.flags == ()
    job = clip_job(b, "dissolve")
    assert (job.record_start, job.record_duration) == (42, 54)  # generation covers the dissolve
    assert (job.source_start, job.source_duration, job.media_origin) == (194, 54, 100)
    assert "transition" in job.flags
    job_a = clip_job(a, "dissolve")
    assert (job_a.source_start, job_a.source_duration) == (0, 52)


def test_nested_stacks_map_through_trims(tmp_path):
    timeline = tb.nested(Fraction(24), str(tmp_path))
    n_clip = next(c for c in timeline.find_clips() if c.name == "N")
    otio_start = n_clip.transformed_time_range(n_clip.trimmed_range(), timeline.tracks).start_time
    assert otio_start.to_frames() == 13  # OTIO's own answer, the timeline-facts example
    n, h, after = _read(timeline, tmp_path / "nested.otio")
    # N: stack time [8, 48) cut to the stack's trim [5, 35) -> [8, 35), placed at 10 - 5: record 13, 27 frames.
    assert (n.id, n.record_start, n.record_duration, n.source_start, n.source_duration) == ("V1.1", 13, 27, 100, 27)
    # H: stack time [4, 24) cut to [12, 22): its first 8 frames are hidden; stack 2 sits at record 40.
    assert (h.id, h.record_start, h.record_duration, h.source_start, h.source_duration) == ("V1.2", 40, 10, 8, 10)
    assert (after.id, after.record_start, after.record_duration) == ("V1.3", 50, 10)
    assert n.flags == ("nested",) and h.flags == ("nested",) and after.flags == ()
    assert clip_job(h, "nested").source_start == 8


def test_speed_effects_are_flagged_and_refused(tmp_path):
    fast, held, plain = _read(tb.effects(Fraction(25), str(tmp_path)), tmp_path / "fx.otio")
    assert fast.flags == ("speed_effect",) and fast.time_scalar == 2
    assert held.flags == ("freeze_frame",) and held.time_scalar == 0
    assert plain.flags == () and plain.time_scalar == 1
    assert fast.record_duration == 24  # effects change no OTIO range
    with pytest.raises(ClipNotUsable, match="speed effect"):
        clip_job(fast, "fx")
    with pytest.raises(ClipNotUsable, match="freeze frame"):
        clip_job(held, "fx")
    assert clip_job(plain, "fx").record_duration == 24


def test_media_references_statuses_and_paths(tmp_path):
    folder = tmp_path / "Projekt ü mit Leerzeichen"
    folder.mkdir()
    path = folder / "refs.otio"
    clips = {c.name: c for c in _read(tb.references(Fraction(24), str(folder)), path)}
    status = {name: c.status for name, c in clips.items()}
    assert status == {"Missing": "missing", "Generated": "unsupported", "Frames": "unsupported",
                      "Offline": "offline", "Relative": "ok", "Encoded": "ok", "Empty": "ok"}
    assert clips["Relative"].media == str(folder / "sub dir" / "rel clip.mov")
    assert clips["Encoded"].media == str(folder / "Überblick Szene 1.mov")
    assert clips["Empty"].flags == ("zero_length",) and clips["Empty"].record_duration == 0
    for name, words in [("Missing", "no media reference"), ("Generated", "cannot read"),
                        ("Frames", "cannot read"), ("Offline", "gone.mov"), ("Empty", "zero length")]:
        with pytest.raises(ClipNotUsable, match=words) as err:
            clip_job(clips[name], "refs")
        assert clips[name].id in str(err.value)
    assert clip_job(clips["Encoded"], "refs").media_path == str(folder / "Überblick Szene 1.mov")


def test_relative_urls_resolve_against_the_timeline_folder(tmp_path, monkeypatch):
    timeline = tb.references(Fraction(24), str(tmp_path))
    tb.write(timeline, tmp_path / "refs.otio")
    monkeypatch.chdir(tmp_path.parent)  # the current folder must not matter
    read = read_timeline(tmp_path / "refs.otio")
    rel = next(c for c in read.find_clips() if c.name == "Relative")
    assert rel.media_reference.target_url.startswith("file:///")
    assert media_path(rel.media_reference, None) == str(tmp_path / "sub dir" / "rel clip.mov")


def test_media_path_url_forms(tmp_path):
    target = tb.media_file(tmp_path, "a b%/c ä.mov")
    ref = otio.schema.ExternalReference
    assert media_path(ref(target_url="file://localhost" + target), None) == target  # unencoded, localhost
    assert media_path(ref(target_url="file://" + target.replace(" ", "%20").replace("%/", "%25/")
                          .replace("ä", "%C3%A4")), None) == target
    assert media_path(ref(target_url="a b%/c ä.mov"), str(tmp_path)) == target
    assert media_path(ref(target_url="https://example.com/x.mov"), None) is None
    assert media_path(otio.schema.MissingReference(), None) is None


def test_multiple_tracks_ids_and_names(tmp_path):
    clips = _read(tb.two_tracks(Fraction(30000, 1001), str(tmp_path)), tmp_path / "two.otio")
    assert [(c.id, c.name, c.track, c.track_name, c.record_start) for c in clips] == [
        ("V1.1", "A", 1, "Main", 0), ("V1.2", "B", 1, "Main", 48), ("V2.1", "O", 2, "Overlay", 24)]


def test_unreadable_files_name_the_file(tmp_path):
    with pytest.raises(TimelineError, match="not found"):
        read_timeline(tmp_path / "nope.otio")
    bad = tmp_path / "corrupt.otio"
    bad.write_text('{"OTIO_SCHEMA": "Timeline.1", "tracks": ')
    with pytest.raises(TimelineError, match="corrupt.otio"):
        read_timeline(bad)
    zipped = tmp_path / "corrupt.otioz"
    zipped.write_bytes(b"PK not a zip")
    with pytest.raises(TimelineError, match="corrupt.otioz"):
        read_timeline(zipped)
    odd = tmp_path / "cut.xyz"
    odd.write_text("x")
    with pytest.raises(TimelineError, match="xyz"):
        read_timeline(odd)
    rangeless = tb.simple(Fraction(24), str(tmp_path))
    rangeless.video_tracks()[0].append(otio.schema.Clip(name="no range"))
    with pytest.raises(TimelineError, match="V1.3 .'no range'. .*no usable range"):
        list_clips(rangeless)


def test_write_timeline_is_atomic_and_spares_the_input(tmp_path):
    path = tb.write(tb.simple(Fraction(24), str(tmp_path)), tmp_path / "in.otio")
    before = open(path).read()
    timeline = read_timeline(path)
    with pytest.raises(TimelineError, match="input timeline"):
        write_timeline(timeline, path, input_path=path)
    assert open(path).read() == before
    out = write_timeline(timeline, tmp_path / "out.otio", input_path=path)
    assert [c.name for c in read_timeline(out).find_clips()] == ["A", "B", "dialogue"]
    assert sorted(os.listdir(tmp_path)) == ["a.mov", "b.mov", "dia.wav", "in.otio", "out.otio"]
