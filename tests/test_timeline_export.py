"""Export through every adapter and read back: clip names, ranges and record positions survive."""
from __future__ import annotations

import logging
import os
import zipfile
from fractions import Fraction

import opentimelineio as otio
import pytest
import soundfile as sf

import timeline_builders as tb
from maskvat_foley.core.timeline.clips import list_clips
from maskvat_foley.core.timeline.export import ExportError, export
from maskvat_foley.core.timeline.io import TimelineError, media_path, read_timeline
from maskvat_foley.core.timeline.placement import place_takes

RATE = Fraction(24000, 1001)


def _layout(timeline):
    """(kind, name, record start, duration, source start) of every clip, in record frames at RATE."""
    origin = tb.rates.frames(timeline.global_start_time, RATE) if timeline.global_start_time else 0
    out = []
    for track in timeline.tracks:
        for clip in track.find_clips():
            rng = clip.transformed_time_range(clip.trimmed_range(), timeline.tracks)
            out.append((track.kind, clip.name, origin + tb.rates.frames(rng.start_time, RATE),
                        tb.rates.frames(rng.duration, RATE), tb.rates.frames(clip.source_range.start_time, RATE)))
    return sorted(out)


@pytest.fixture
def placed(tmp_path):
    """23.976 from 01:00:00:00: a centred dissolve (FCP XML cannot keep an off-centre one), Foley with
    two real WAV takes per clip in a folder whose name has a space and an umlaut."""
    media = tmp_path / "Medien ä"
    path = tb.write(tb.with_transition(RATE, str(media), "01:00:00:00", 5, 5), tmp_path / "cut.otio")
    timeline = read_timeline(path)
    takes = {i.id: (i, [tb.write_take(media, i, 7), tb.write_take(media, i, 8)], 8) for i in list_clips(timeline)}
    return path, place_takes(timeline, takes)


@pytest.mark.parametrize("ext", ["otio", "otioz", "xml", "aaf"])
def test_round_trip(placed, tmp_path, ext):
    path, timeline = placed
    out = tmp_path / f"out.{ext}"
    assert export(timeline, out, input_path=path) == str(out)
    back = read_timeline(out)
    assert _layout(back) == _layout(timeline)
    assert len([r for r in _layout(back) if r[0] == otio.schema.TrackKind.Audio]) == 3
    transitions = back.find_children(descended_from_type=otio.schema.Transition)
    assert [(t.in_offset.to_frames(), t.out_offset.to_frames()) for t in transitions] == [(5, 5)]
    for clip in back.find_clips():
        assert os.path.isfile(media_path(clip.media_reference, None)), clip.name
    assert [f for f in os.listdir(tmp_path) if ".tmp" in f] == []


def test_otioz_is_self_contained_with_every_take(placed, tmp_path):
    path, timeline = placed
    out = tmp_path / "bundle.otioz"
    export(timeline, out, input_path=path)
    with zipfile.ZipFile(out) as z:
        names = sorted(z.namelist())
    assert names == sorted(["version.txt", "content.otio", "media/a.mov", "media/b.mov", "media/c.mov"]
                           + [f"media/V1.{n}_{s}.wav" for n in (1, 2, 3) for s in (7, 8)])
    back = read_timeline(out, extract_to=tmp_path / "unpacked")
    foley = next(c for c in back.find_clips() if c.name == "B Foley")
    for key, ref in foley.media_references().items():
        file = media_path(ref, None)
        assert file.startswith(str(tmp_path / "unpacked" / "media")), key
        assert sf.info(file).frames == foley.metadata["maskvat_foley"]["num_samples"]
    assert foley.media_references()["DEFAULT_MEDIA"].target_url.endswith("V1.2_8.wav")


def test_otioz_needs_existing_media_with_unique_names(placed, tmp_path):
    path, timeline = placed
    clash = timeline.deepcopy()
    clip = clash.find_clips()[0]
    other = tb.media_file(tmp_path / "elsewhere", "b.mov")
    clip.media_reference = otio.schema.ExternalReference(target_url=tb.pathlib.Path(other).as_uri())
    with pytest.raises(ExportError, match="unique.*'b.mov'"):
        export(clash, tmp_path / "clash.otioz")
    missing = timeline.deepcopy()
    missing.find_clips()[0].media_reference = otio.schema.ExternalReference(
        target_url=(tmp_path / "gone.mov").as_uri())
    with pytest.raises(ExportError, match="gone.mov"):
        export(missing, tmp_path / "missing.otioz")
    assert not (tmp_path / "clash.otioz").exists() and not (tmp_path / "missing.otioz").exists()


@pytest.mark.parametrize("rate_name", ["23.976", "29.97df"])
def test_edl_keeps_the_video_track_and_says_so(tmp_path, caplog, rate_name):
    rate = tb.RATES[rate_name]
    timeline = tb.simple(rate, str(tmp_path), tb.one_hour(rate), markers=False)
    infos = list_clips(timeline)
    placed = place_takes(timeline, {i.id: (i, [tb.write_take(tmp_path, i, 1)], 1) for i in infos})
    with caplog.at_level(logging.WARNING):
        export(placed, tmp_path / "cut.edl")
    assert "only the video track" in caplog.text and "Foley (MaskVAT)" in caplog.text
    assert tb.one_hour(rate) in (tmp_path / "cut.edl").read_text()  # record timecodes from the global start
    back = list_clips(read_timeline(tmp_path / "cut.edl", rate=rate))
    assert [(c.name, c.record_start, c.record_duration, c.source_start) for c in back] == [
        (c.name, c.record_start, c.record_duration, c.source_start) for c in infos]
    assert [c.media for c in back] == [c.media for c in infos]


def test_format_errors_and_the_input_is_never_overwritten(placed, tmp_path):
    path, timeline = placed
    before = open(path).read()
    with pytest.raises(TimelineError, match="input timeline"):
        export(timeline, path, input_path=path)
    assert open(path).read() == before
    with pytest.raises(ExportError, match="unknown export format 'mp4'"):
        export(timeline, tmp_path / "x.otio", "mp4")
    with pytest.raises(ExportError, match="cannot tell the export format"):
        export(timeline, tmp_path / "x.mov")
    with pytest.raises(ExportError, match="one video track"):
        two = tb.two_tracks(RATE, str(tmp_path))
        export(two, tmp_path / "two.edl")
    with pytest.raises(TimelineError, match="folder .* does not exist"):
        export(timeline, tmp_path / "no dir" / "x.otio")
    # A failing adapter leaves neither the output nor a temp file behind.
    broken = timeline.deepcopy()
    broken.tracks[0].append(otio.schema.Clip(name="no range"))  # no media, no source range
    with pytest.raises(TimelineError, match="AAF"):
        export(broken, tmp_path / "broken.aaf")
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".broken") or f == "broken.aaf"]
    assert export(timeline, tmp_path / "as_xml.fcp", "fcp_xml").endswith("as_xml.fcp")
