"""Placing takes (real WAV files) on Foley tracks: ranges, track splitting, takes, editor tracks untouched."""
from __future__ import annotations

import dataclasses
from fractions import Fraction

import opentimelineio as otio
import pytest

import timeline_builders as tb
from maskvat_foley.core.timeline import rates
from maskvat_foley.core.timeline.clips import list_clips
from maskvat_foley.core.timeline.io import read_timeline
from maskvat_foley.core.timeline.placement import (DEFAULT_MEDIA, PlacementError, find_foley_clip, place_takes,
                                                   remove_take, set_active_take, take_keys)

RATE = Fraction(30000, 1001)


def _serialized_tracks(timeline, names=None):
    return [otio.adapters.write_to_string(t, "otio_json") for t in timeline.tracks
            if names is None or t.name in names]


def _foley_tracks(timeline):
    return [t for t in timeline.tracks if t.name.startswith("Foley (MaskVAT)")]


def _record(item, timeline):
    """Record frames of a placed item: global start + its range in the tracks."""
    rng = item.transformed_time_range(item.trimmed_range(), timeline.tracks)
    origin = rates.frames(timeline.global_start_time, RATE) if timeline.global_start_time else 0
    return origin + rates.frames(rng.start_time, RATE), rates.frames(rng.duration, RATE)


@pytest.fixture
def placed(tmp_path):
    """The dissolve timeline at 29.97 DF from 01:00:00;00, read from a file, every clip given two takes."""
    path = tb.write(tb.with_transition(RATE, str(tmp_path), "01:00:00;00"), tmp_path / "cut.otio")
    timeline = read_timeline(path)
    before = otio.adapters.write_to_string(timeline, "otio_json")
    infos = list_clips(timeline)
    takes = {i.id: (i, [tb.write_take(tmp_path, i, 11), tb.write_take(tmp_path, i, 22)], 22) for i in infos}
    result = place_takes(timeline, takes)
    assert otio.adapters.write_to_string(timeline, "otio_json") == before  # the input is untouched
    return timeline, result, infos, takes


def test_foley_ranges_equal_visible_ranges_and_tracks_split(placed):
    timeline, result, infos, _ = placed
    assert _serialized_tracks(result)[:1] == _serialized_tracks(timeline)  # the editor's track is identical
    assert [t.name for t in result.tracks] == ["V1", "Foley (MaskVAT)", "Foley (MaskVAT) 2"]
    assert all(t.kind == otio.schema.TrackKind.Audio for t in _foley_tracks(result))
    first, second = _foley_tracks(result)
    # A [0,52) and C [100,124) fit on one track; B [42,96) overlaps A's dissolve tail.
    assert [(type(i).__name__, rates.frames(i.duration(), RATE)) for i in first] == [
        ("Clip", 52), ("Gap", 48), ("Clip", 24)]
    assert [(type(i).__name__, rates.frames(i.duration(), RATE)) for i in second] == [("Gap", 42), ("Clip", 54)]
    for info in infos:
        foley = find_foley_clip(result, info.id)
        assert _record(foley, result) == (info.visible_start, info.visible_duration)
        assert foley.source_range.start_time.rate == float(RATE)  # edit rate, not 48000
        assert rates.frames(foley.source_range.start_time, RATE) == info.visible_start  # the WAV's timecode
    assert _record(find_foley_clip(result, "V1.2"), result) == (107892 + 42, 54)


def test_takes_metadata_and_default_media(placed, tmp_path):
    _, result, infos, takes = placed
    foley = find_foley_clip(result, "V1.2")
    refs = foley.media_references()
    assert sorted(refs) == [DEFAULT_MEDIA, "seed-11", "seed-22"]
    assert foley.active_media_reference_key == DEFAULT_MEDIA
    assert refs[DEFAULT_MEDIA].target_url == refs["seed-22"].target_url == (tmp_path / "V1.2_22.wav").as_uri()
    assert refs["seed-11"].available_range == foley.source_range
    meta = foley.metadata["maskvat_foley"]
    take = takes["V1.2"][1][1]
    assert meta["source_clip_id"] == "V1.2" and meta["source_clip_name"] == "B" and meta["seed"] == 22
    assert list(meta["take_keys"]) == ["seed-11", "seed-22"] and meta["active_key"] == "seed-22"
    assert (meta["time_reference"], meta["num_samples"], meta["sample_rate"]) == (
        take.time_reference, take.num_samples, 48000)
    # 107934 frames of 1601.6 samples: sample-exact, not 3600 s x 48000.
    assert take.time_reference == rates.frame_to_sample(107892 + 42, RATE, 48000) == 172_867_094
    for key in ("model", "sha256", "steps", "guidance", "beam", "sync_score", "device", "dtype", "version", "created"):
        assert key in meta, key
    assert refs["seed-11"].metadata["maskvat_foley"]["seed"] == 11


def test_set_active_take_and_remove_take(placed):
    _, result, _, _ = placed
    switched = set_active_take(result, "V1.2", 11)
    assert find_foley_clip(result, "V1.2").metadata["maskvat_foley"]["seed"] == 22  # a new timeline
    foley = find_foley_clip(switched, "V1.2")
    assert foley.media_reference.target_url.endswith("V1.2_11.wav")
    assert foley.metadata["maskvat_foley"]["seed"] == 11 and foley.metadata["maskvat_foley"]["active_key"] == "seed-11"
    with pytest.raises(PlacementError, match="seed 99.*seed-11, seed-22"):
        set_active_take(result, "V1.2", 99)
    fewer = remove_take(switched, "V1.2", 11)  # the active one: the other becomes active
    foley = find_foley_clip(fewer, "V1.2")
    assert sorted(foley.media_references()) == [DEFAULT_MEDIA, "seed-22"]
    assert foley.media_reference.target_url.endswith("V1.2_22.wav")
    gone = remove_take(fewer, "V1.2", 22)  # the last take: the Foley clip goes, and its track with it
    assert [t.name for t in gone.tracks] == ["V1", "Foley (MaskVAT)"]
    with pytest.raises(PlacementError, match="no Foley clip for clip V1.2.*V1.1"):
        find_foley_clip(gone, "V1.2")
    assert _serialized_tracks(gone, {"V1"}) == _serialized_tracks(result, {"V1"})


def test_placing_again_replaces_instead_of_stacking(placed, tmp_path):
    timeline, result, infos, _ = placed
    a = infos[0]
    again = place_takes(result, {a.id: (a, [tb.write_take(tmp_path, a, 33)], 33)})
    clips = [c for t in _foley_tracks(again) for c in t.find_clips()]
    assert sorted(c.metadata["maskvat_foley"]["source_clip_id"] for c in clips) == ["V1.1", "V1.2", "V1.3"]
    assert sorted(find_foley_clip(again, "V1.1").media_references()) == [DEFAULT_MEDIA, "seed-33"]
    assert find_foley_clip(again, "V1.3").metadata["maskvat_foley"]["seed"] == 22  # others kept
    for info in infos:
        assert _record(find_foley_clip(again, info.id), again) == (info.visible_start, info.visible_duration)
    # Through a file too: Foley tracks are recognised after a round trip.
    path = tb.write(again, tmp_path / "again.otio")
    third = place_takes(read_timeline(path), {a.id: (a, [tb.write_take(tmp_path, a, 44)], 44)})
    assert len([c for t in _foley_tracks(third) for c in t.find_clips()]) == 3
    assert _serialized_tracks(third, {"V1"}) == _serialized_tracks(timeline)


def test_lists_in_metadata_stay_lists_through_a_file(tmp_path):
    """Metadata read back from a file holds OTIO vectors, not lists: placing again must not turn them
    into their string spelling (a region take's "region", the clip's "take_keys")."""
    path = tb.write(tb.simple(RATE, str(tmp_path)), tmp_path / "cut.otio")
    info = list_clips(read_timeline(path))[0]
    takes = [tb.write_take(tmp_path, info, 1, region=[2, 10]), tb.write_take(tmp_path, info, 2)]
    placed = tb.write(place_takes(read_timeline(path), {info.id: (info, takes, 1)}), tmp_path / "placed.otio")
    for changed in (set_active_take(read_timeline(placed), info.id, 1),
                    remove_take(read_timeline(placed), info.id, 2)):
        back = read_timeline(tb.write(changed, tmp_path / "changed.otio"))  # held: OTIO frees it otherwise
        meta = find_foley_clip(back, info.id).metadata["maskvat_foley"]
        assert not isinstance(meta["take_keys"], str) and list(meta["region"]) == [2, 10]


def test_take_keys_of_older_files_written_as_one_string(placed, tmp_path):
    timeline, result, infos, _ = placed
    old = result.deepcopy()
    for spelling in ("['seed-22', 'seed-11']", "seed-22, seed-11"):
        find_foley_clip(old, "V1.2").metadata["maskvat_foley"]["take_keys"] = spelling
        read = read_timeline(tb.write(old, tmp_path / "old.otio"))
        assert take_keys(find_foley_clip(read, "V1.2")) == ["seed-22", "seed-11"]
        # Placing another clip's takes rewrites the old clip's keys as a list.
        a = infos[0]
        again = read_timeline(tb.write(place_takes(read, {a.id: (a, [tb.write_take(tmp_path, a, 33)], 33)}),
                                       tmp_path / "again.otio"))
        keys = find_foley_clip(again, "V1.2").metadata["maskvat_foley"]["take_keys"]
        assert not isinstance(keys, str) and list(keys) == ["seed-22", "seed-11"]
    assert take_keys(find_foley_clip(result, "V1.1")) == ["seed-11", "seed-22"]  # a list as written


def test_time_reference_wraps_at_24_hours():
    """TimeReference counts samples within the timecode day, as the timecode shown wraps: a day is
    24 h of timecode frames (24 a second at 23.976; drop frame leaves out its dropped labels)."""
    ntsc = Fraction(24000, 1001)
    assert rates.frames_per_day(ntsc) == rates.frames_per_day(Fraction(24)) == 24 * 3600 * 24
    assert rates.frames_per_day(RATE) == 2_589_408 and rates.frames_per_day(RATE, drop_frame=False) == 2_592_000
    assert rates.frames_per_day(Fraction(60000, 1001)) == 5_178_816
    day = rates.frames_per_day(ntsc)
    assert rates.to_timecode(day + 34, ntsc) == "00:00:01:10"
    assert rates.sample_span(day + 34, day + 70, ntsc, 48000) == (34 * 2002, 36 * 2002)
    # A clip over midnight starts before it, keeps its exact length.
    assert rates.sample_span(day - 10, day + 10, ntsc, 48000) == ((day - 10) * 2002, 20 * 2002)
    assert rates.sample_span(86400, 86401, ntsc, 48000) == (172_972_800, 2002)  # the README's hour
    df_day = rates.frames_per_day(RATE)
    assert rates.to_timecode(df_day + 5, RATE) == "00:00:00;05"
    assert rates.sample_span(df_day + 5, df_day + 10, RATE, 48000)[0] == rates.frame_to_sample(5, RATE, 48000)


def test_several_video_tracks_and_one_hour_start(tmp_path):
    rate = Fraction(24000, 1001)
    timeline = tb.two_tracks(rate, str(tmp_path), "01:00:00:00")
    infos = list_clips(timeline)
    result = place_takes(timeline, {i.id: (i, [tb.write_take(tmp_path, i, 1)], 1) for i in infos})
    # A [0,48) B [48,72) on one track; O [24,60) overlaps A and B.
    assert [t.name for t in result.tracks] == ["Main", "Music", "Overlay", "Foley (MaskVAT)", "Foley (MaskVAT) 2"]
    assert _serialized_tracks(result)[:3] == _serialized_tracks(timeline)
    for info in infos:
        foley = find_foley_clip(result, info.id)
        rng = foley.transformed_time_range(foley.trimmed_range(), result.tracks)
        assert 86400 + rates.frames(rng.start_time, rate) == info.record_start
    take = tb.write_take(tmp_path, infos[0], 1)
    assert take.time_reference == 86400 * 2002  # 01:00:00:00 at 23.976 = 172,972,800 samples


def test_bad_takes_are_refused(placed, tmp_path):
    timeline, _, infos, _ = placed
    a, b = infos[0], infos[1]
    good = tb.write_take(tmp_path, a, 5)
    with pytest.raises(PlacementError, match="samples"):
        place_takes(timeline, {a.id: (a, [dataclasses.replace(good, num_samples=good.num_samples - 1)], 5)})
    with pytest.raises(PlacementError, match="made for clip V1.1, not V1.2"):
        place_takes(timeline, {b.id: (b, [dataclasses.replace(good, clip_id=a.id)], 5)})
    with pytest.raises(PlacementError, match="active seed 6"):
        place_takes(timeline, {a.id: (a, [good], 6)})
    with pytest.raises(PlacementError, match="not found"):
        place_takes(timeline, {a.id: (a, [dataclasses.replace(good, path=str(tmp_path / "none.wav"))], 5)})
    with pytest.raises(PlacementError, match="zero length"):
        place_takes(timeline, {a.id: (dataclasses.replace(a, visible_duration=0), [good], 5)})
