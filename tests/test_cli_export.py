"""`maskvat-foley export` as a user runs it: exit codes, the warning for what a format cannot hold,
one line for a target that cannot be written, the input left as it was."""
from __future__ import annotations

import os
import subprocess
import sys
from fractions import Fraction

import pytest

import timeline_builders as tb
from maskvat_foley.core.timeline.clips import list_clips
from maskvat_foley.core.timeline.io import read_timeline, write_timeline
from maskvat_foley.core.timeline.placement import place_takes

RATE = Fraction(25)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "maskvat_foley", *args], capture_output=True, text=True,
                          timeout=300)


@pytest.fixture
def foley_otio(tmp_path) -> str:
    """A 25 fps cut from 10:00:00:00 with Foley on every clip, written to foley.otio."""
    cut = tb.write(tb.with_transition(RATE, str(tmp_path), "10:00:00:00"), tmp_path / "cut.otio")
    timeline = read_timeline(cut)
    takes = {i.id: (i, [tb.write_take(tmp_path, i, 5)], 5) for i in list_clips(timeline)}
    return write_timeline(place_takes(timeline, takes), tmp_path / "foley.otio")


def test_edl_is_written_without_the_foley_and_exits_1(foley_otio, tmp_path):
    before = open(foley_otio, "rb").read()
    done = run_cli("export", foley_otio, "-o", str(tmp_path / "cut.edl"))
    assert done.returncode == 1, done.stderr
    assert "left out: 'Foley (MaskVAT)'" in done.stderr
    assert "for the Foley tracks use .xml (FCP XML) or .aaf" in done.stderr
    assert "Traceback" not in done.stderr and (tmp_path / "cut.edl").is_file()
    assert open(foley_otio, "rb").read() == before


@pytest.mark.parametrize("ext", ["mlt", "xges", "xml", "aaf"])
def test_formats_that_hold_the_foley_exit_0(foley_otio, tmp_path, ext):
    done = run_cli("-q", "export", foley_otio, "-o", str(tmp_path / f"cut.{ext}"))
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert (tmp_path / f"cut.{ext}").is_file()


@pytest.mark.parametrize("target, reason", [
    ("cut.kdenlive", "Kdenlive 25.04 and later open .otio directly"),
    ("cut.mov", "cannot tell the export format from '.mov'"),
])
def test_a_target_that_cannot_be_written_is_one_line(foley_otio, tmp_path, target, reason):
    done = run_cli("export", foley_otio, "-o", str(tmp_path / target))
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1, done.stderr
    assert lines[0].startswith("maskvat-foley: error: ") and reason in lines[0]
    assert not any(name.startswith(("cut.", ".cut")) for name in os.listdir(tmp_path) if name != "cut.otio")


def test_an_adapter_failure_is_one_line_naming_the_format(foley_otio, tmp_path):
    timeline = read_timeline(foley_otio)
    timeline.find_children(descended_from_type=tb.otio.schema.Transition)[0].transition_type = "SMPTE_Wipe"
    wipe = write_timeline(timeline, tmp_path / "wipe.otio")
    done = run_cli("export", wipe, "-o", str(tmp_path / "wipe.aaf"))
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1, done.stderr
    assert "cannot write AAF: AAF export writes dissolves only" in lines[0]
    assert not (tmp_path / "wipe.aaf").exists()
    assert not [f for f in os.listdir(tmp_path) if ".tmp" in f]
