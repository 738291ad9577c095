"""Relinking moved media by base name, directly and through the OTIO media linker plugin."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from fractions import Fraction

import opentimelineio as otio
import pytest

import timeline_builders as tb
from maskvat_foley.core.timeline.clips import list_clips
from maskvat_foley.core.timeline.io import read_timeline
from maskvat_foley.core.timeline.relink import MediaIndex, RelinkError, relink

LINKER = "maskvat_foley_relink"


@pytest.fixture
def moved(tmp_path):
    """A timeline whose media folder was moved: A and B now live under footage/ (B as 'B.MOV')."""
    old = tmp_path / "old media"
    timeline = tb.simple(Fraction(24), str(old))
    path = tb.write(timeline, tmp_path / "cut.otio")
    footage = tmp_path / "footage"
    (footage / "day 1").mkdir(parents=True)
    shutil.move(old / "a.mov", footage / "day 1" / "a.mov")
    shutil.move(old / "b.mov", footage / "B.MOV")
    shutil.rmtree(old)
    return path, footage


def test_read_timeline_relinks_by_base_name(moved):
    path, footage = moved
    assert {c.status for c in list_clips(read_timeline(path))} == {"offline"}
    clips = list_clips(read_timeline(path, media_roots=[footage]))
    assert [(c.name, c.status, c.media) for c in clips] == [
        ("A", "ok", str(footage / "day 1" / "a.mov")), ("B", "ok", str(footage / "B.MOV"))]


def test_relink_reports_changes_and_leaves_unfound_media(moved, caplog):
    path, footage = moved
    timeline = read_timeline(path)
    changes = relink(timeline, [footage])
    assert [(name, os.path.basename(old), new) for name, old, new in changes] == [
        ("A", "a.mov", str(footage / "day 1" / "a.mov")), ("B", "b.mov", str(footage / "B.MOV"))]
    assert "dialogue" in caplog.text  # dia.wav is nowhere: said, and left as it was
    assert next(c for c in timeline.find_clips() if c.name == "dialogue").media_reference.target_url.endswith("dia.wav")
    with pytest.raises(RelinkError, match="no such folder"):
        relink(timeline, [footage / "no such folder"])


def test_search_order_is_deterministic_and_case_sensitive_first(tmp_path):
    first, second = tmp_path / "r1", tmp_path / "r2"
    for rel in ["b/x/shot.mov", "a/y/SHOT.MOV", "z/take.wav", "c/shot.mov"]:
        tb.media_file(first, rel)
    tb.media_file(second, "take.wav")
    tb.media_file(second, "Other.mov")
    index = MediaIndex.build([first, second])
    assert index.find("shot.mov") == str(first / "b" / "x" / "shot.mov")  # exact beats an earlier SHOT.MOV
    assert index.find("Shot.mov") == str(first / "a" / "y" / "SHOT.MOV")  # no exact match: first folded one
    assert index.find("take.wav") == str(first / "z" / "take.wav")  # first root wins
    assert index.find("other.MOV") == str(second / "Other.mov")
    assert index.find("nothing.mov") is None


def test_every_take_and_missing_references_are_relinked(tmp_path):
    rate = Fraction(25)
    clip = tb.clip("multi", 0, 10, rate)
    gone = tmp_path / "gone"
    clip.set_media_references({
        "seed-1": otio.schema.ExternalReference(target_url=(gone / "t1.wav").as_uri()),
        "seed-2": otio.schema.ExternalReference(target_url=(gone / "t2.wav").as_uri()),
        "DEFAULT_MEDIA": otio.schema.ExternalReference(target_url=(gone / "t2.wav").as_uri()),
    }, "DEFAULT_MEDIA")
    lost = otio.schema.MissingReference(metadata={"original_target_url": (gone / "lost.mov").as_uri(),
                                                  "missing_reference_because": "bundle"})
    track = otio.schema.Track()
    track.extend([clip, tb.clip("lost", 0, 10, rate, lost)])
    timeline = otio.schema.Timeline("takes")
    timeline.tracks.append(track)
    root = tmp_path / "found"
    for name in ["t1.wav", "t2.wav", "lost.mov"]:
        tb.media_file(root, name)
    changes = relink(timeline, [root])
    assert len(changes) == 4
    clip = timeline.find_clips()[0]
    assert clip.active_media_reference_key == "DEFAULT_MEDIA"
    assert {k: os.path.basename(r.target_url) for k, r in clip.media_references().items()} == {
        "seed-1": "t1.wav", "seed-2": "t2.wav", "DEFAULT_MEDIA": "t2.wav"}
    linked = timeline.find_clips()[1].media_reference
    assert isinstance(linked, otio.schema.ExternalReference)
    assert linked.target_url == (root / "lost.mov").as_uri() and "original_target_url" not in linked.metadata


def test_otiopluginfo_lists_the_linker():
    tool = shutil.which("otiopluginfo", path=os.path.dirname(sys.executable)) or "otiopluginfo"
    done = subprocess.run([tool], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert LINKER in done.stdout and "media_linker.py" in done.stdout
    assert "could not load plugin" not in done.stderr + done.stdout
    assert LINKER in otio.media_linker.available_media_linker_names()


def test_linker_through_otio_read_from_file(moved):
    path, footage = moved
    for roots in ([str(footage)], f"{footage}{os.pathsep}{footage / 'day 1'}"):
        timeline = otio.adapters.read_from_file(path, media_linker_name=LINKER,
                                                media_linker_argument_map={"media_roots": roots})
        urls = {c.name: c.media_reference.target_url for c in timeline.find_clips()}
        assert urls["A"] == (footage / "day 1" / "a.mov").as_uri()
        assert urls["B"] == (footage / "B.MOV").as_uri()
        assert urls["dialogue"].endswith("old%20media/dia.wav")  # not found anywhere: unchanged
    with pytest.raises(Exception, match="media_roots"):
        otio.adapters.read_from_file(path, media_linker_name=LINKER, media_linker_argument_map={})
