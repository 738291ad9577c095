"""Selecting clips by id, name, track and In/Out timecodes on a real .otio file."""
from __future__ import annotations

from fractions import Fraction

import opentimelineio as otio
import pytest

import timeline_builders as tb
from maskvat_foley.core.timeline.clips import list_clips
from maskvat_foley.core.timeline.io import read_timeline
from maskvat_foley.core.timeline.selection import SelectionError, select


@pytest.fixture
def clips(tmp_path):
    """29.97 DF from 01:00:00;00 (frame 107892): V1 A [0,48) B [48,72), V2 O [24,60), plus a second
    clip named "A" on V2 at [60,70)."""
    rate = Fraction(30000, 1001)
    timeline = tb.two_tracks(rate, str(tmp_path), "01:00:00;00")
    timeline.video_tracks()[1].append(tb.clip("A", 0, 10, rate, tb.ext_ref(tb.media_file(tmp_path, "a2.mov"), rate)))
    path = tb.write(timeline, tmp_path / "two.otio")
    return list_clips(read_timeline(path))


def ids(chosen):
    return [c.id for c in chosen]


def test_by_id_in_timeline_order_without_duplicates(clips):
    assert ids(select(clips, ids=["V2.1", "V1.2", "V2.1"])) == ["V1.2", "V2.1"]


def test_by_name_picks_every_clip_so_named(clips):
    assert ids(select(clips, names=["A"])) == ["V1.1", "V2.2"]
    assert ids(select(clips, ids=["V1.1"], names=["A", "B"])) == ["V1.1", "V1.2", "V2.2"]


def test_all_and_track(clips):
    assert ids(select(clips, all_=True)) == ["V1.1", "V1.2", "V2.1", "V2.2"]
    assert ids(select(clips, track=2)) == ["V2.1", "V2.2"]
    assert ids(select(clips, names=["A"], track=1)) == ["V1.1"]


def test_timecode_range_overlap_with_exclusive_out(clips):
    # 01:00:00;00 is frame 107892; clip B starts at +48 = 01:00:01;18.
    assert ids(select(clips, tc_range=("01:00:00;00", "01:00:01;18"))) == ["V1.1", "V2.1"]  # B starts at out
    assert ids(select(clips, tc_range=("01:00:01;17", "01:00:01;19"))) == ["V1.1", "V1.2", "V2.1"]
    assert ids(select(clips, tc_range=("01:00:02;00", "01:00:02;10"))) == ["V1.2", "V2.2"]  # +60..+70
    assert ids(select(clips, tc_range=("01:00:02;10", "01:00:02;12"))) == ["V1.2"]  # V2.2 ends at +70
    assert ids(select(clips, tc_range=("01:00:01;18", "01:00:03;00"), track=1)) == ["V1.2"]
    assert ids(select(clips, tc_range=(107892 + 72, 107892 + 80))) == []  # frame numbers work too


def test_bad_selections_say_what_exists(clips):
    with pytest.raises(SelectionError, match="V9.9.*V1.1, V1.2, V2.1, V2.2"):
        select(clips, ids=["V9.9"])
    with pytest.raises(SelectionError, match="'Nope'.*'A', 'B', 'O'"):
        select(clips, names=["Nope"])
    with pytest.raises(SelectionError, match="track 3.*'Main'.*'Overlay'"):
        select(clips, track=3)
    with pytest.raises(SelectionError, match="empty"):
        select(clips, tc_range=("01:00:01;00", "01:00:00;10"))
    with pytest.raises(ValueError, match="timecode"):
        select(clips, tc_range=("one o'clock", "01:00:01;00"))
    with pytest.raises(SelectionError, match="nothing selected"):
        select(clips)
    with pytest.raises(SelectionError, match="no video clips"):
        select([], all_=True)


def test_audio_only_timeline_has_nothing_to_select(tmp_path):
    timeline = otio.schema.Timeline("sound only")
    track = otio.schema.Track(kind=otio.schema.TrackKind.Audio)
    track.append(tb.clip("music", 0, 10, Fraction(24)))
    timeline.tracks.append(track)
    assert list_clips(timeline) == []
