"""Issue #14, the command line's rough edges: outputs that cannot be written, outputs linked to the
input, ranges past their media, broken pipes, help texts, seeds, and the user's real settings.

Real components throughout: real OTIO files, real video (PyAV), the real engine with a tiny model,
real subprocesses of the command line and real pipes.
"""
from __future__ import annotations

import errno
import json
import os
import resource
import signal
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio
import pytest
import soundfile
import wavinfo

import conftest
from maskvat_foley.core.timeline import rates
from maskvat_foley.core.timeline.io import write_timeline
from maskvat_foley.plugin.cli import main

RATE = Fraction(24000, 1001)
CLI = [sys.executable, "-m", "maskvat_foley"]


def run_cli(*args: str, env: dict | None = None, preexec_fn=None) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=600,
                          env=None if env is None else {**os.environ, **env}, preexec_fn=preexec_fn)


def files_under(folder) -> list[str]:
    """Every file below ``folder``, hidden ones included (partial writes, token sidecars)."""
    return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*") if p.is_file())


def media_of(edit: dict, n: int = 0) -> str:
    return sorted(str(p) for p in Path(edit["folder"], "media").glob("*.mp4"))[n]


def timeline_of(path, clips, start: int = 86400) -> str:
    """A one-track timeline at 23.976 from frame ``start``: (name, media, source start, frames)."""
    rt = otio.opentime.RationalTime
    tl = otio.schema.Timeline(name="t")
    tl.global_start_time = rt(start, float(RATE))
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    tl.tracks.append(track)
    for name, media, first, frames in clips:
        ref = otio.schema.ExternalReference(target_url=Path(media).as_uri())
        track.append(otio.schema.Clip(name=name, media_reference=ref, source_range=otio.opentime.TimeRange(
            rt(first, float(RATE)), rt(frames, float(RATE)))))
    return write_timeline(tl, path)


# -- 7: outputs that cannot be written ---------------------------------------------------------------
def test_unwritable_timeline_folder_stops_before_any_take(foley_edit, tiny_model, tmp_path):
    """-o under a path that cannot be a folder: one line, exit 1, no take sampled or left behind."""
    (tmp_path / "a file").write_text("not a folder")
    media = tmp_path / "takes"
    done = run_cli("generate", foley_edit["path"], "-o", str(tmp_path / "a file" / "out.otio"),
                   "--media-dir", str(media), "--all", "--model", tiny_model, "--device", "cpu",
                   "--takes", "1", "--seed", "1")
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"maskvat-foley: error: cannot write to {tmp_path / 'a file'}: it is a file, not a folder"]
    assert "Foley:" not in done.stderr  # no progress bar: the model was not even loaded
    assert files_under(media) == []


def test_full_disk_found_before_any_take(foley_edit, tiny_model, tmp_path, monkeypatch, capsys):
    """Every write fails with ENOSPC (through os.fsync, as a full disk often shows): stop up front."""
    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    out = tmp_path / "out" / "o.otio"
    rc = main(["generate", foley_edit["path"], "-o", str(out), "--all", "--model", tiny_model,
               "--device", "cpu", "--takes", "1", "--seed", "1"])
    err = capsys.readouterr().err
    assert rc == 1
    assert err.strip().splitlines() == [
        f"maskvat-foley: error: cannot write to {out.parent}: No space left on device"]
    assert files_under(tmp_path) == []


def test_disk_full_during_the_run_stops_and_leaves_nothing(foley_edit, tiny_model, tmp_path, monkeypatch,
                                                           capsys):
    """The first take fails with ENOSPC inside the real WAV writer: the run stops there (the next
    clip is not sampled), prints one line, writes no timeline and removes what it wrote."""
    real_fsync = os.fsync

    def fsync(fd):
        if os.readlink(f"/proc/self/fd/{fd}").endswith(".partial"):  # the WAV writer's temp file
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    stages = []
    from maskvat_foley.core import pipeline

    real_generate = pipeline.generate_timeline

    def watched(*args, **kw):
        forward = kw["progress"]
        kw["progress"] = lambda p: (stages.append((p.clip_id, p.stage)), forward(p))
        return real_generate(*args, **kw)

    monkeypatch.setattr(pipeline, "generate_timeline", watched)
    out = tmp_path / "out" / "o.otio"
    rc = main(["generate", foley_edit["path"], "-o", str(out), "--all", "--model", tiny_model,
               "--device", "cpu", "--takes", "2", "--seed", "1"])
    err = capsys.readouterr().err
    assert rc == 1
    assert err.strip().splitlines()[-1] == (
        f"maskvat-foley: error: cannot write the takes in {out.parent} (V1.1: OSError: [Errno 28] No "
        "space left on device); stopped, no timeline written")
    assert "Traceback" not in err
    assert ("V1.1", "failed") in stages and not any(c == "V1.2" for c, _ in stages)
    assert files_under(out.parent) == []  # no timeline, no take, no partial file, no sidecar


@pytest.mark.skipif(not hasattr(resource, "RLIMIT_FSIZE"), reason="needs RLIMIT_FSIZE")
def test_file_size_limit_in_a_real_process(foley_edit, tiny_model, tmp_path):
    """A real process that may not write files past 400 kB: a take at 192 kHz is 865 kB (the cached
    picture features, 270 kB, still fit). The same clean stop, after the first clip."""
    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead of a kill
        resource.setrlimit(resource.RLIMIT_FSIZE, (400_000, 400_000))

    out = tmp_path / "out" / "o.otio"
    cache = tmp_path / "cache"
    done = run_cli("generate", foley_edit["path"], "-o", str(out), "--all", "--model", tiny_model,
                   "--device", "cpu", "--takes", "1", "--seed", "1", "--sample-rate", "192000",
                   env={"XDG_CACHE_HOME": str(cache)},
                   preexec_fn=limit)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith(f"maskvat-foley: error: cannot write the takes in "
                                                           f"{out.parent} (V1.1: OSError: [Errno 27]")
    assert "Traceback" not in done.stderr
    assert files_under(out.parent) == []
    # The run stopped before the next clip: its picture was never decoded.
    assert "V1.2" not in done.stderr and len(list(cache.rglob("*.safetensors"))) == 1


# -- 8: an output that is the input under another name -----------------------------------------------
@pytest.mark.parametrize("link", ["symlink", "hardlink"])
def test_output_linked_to_the_input_is_refused_before_any_work(foley_edit, tiny_model, tmp_path, capsys, link):
    out = tmp_path / "same.otio"
    (os.symlink if link == "symlink" else os.link)(foley_edit["path"], out)
    before = Path(foley_edit["path"]).read_bytes()
    rc = main(["generate", foley_edit["path"], "-o", str(out), "--all", "--model", tiny_model,
               "--device", "cpu", "--takes", "1", "--seed", "1"])
    assert rc == 2 and "refusing to overwrite the input timeline" in capsys.readouterr().err
    assert Path(foley_edit["path"]).read_bytes() == before
    assert files_under(tmp_path) == ["same.otio"]  # no orphan takes


def test_generate_into_an_edl_is_refused_before_any_work(foley_edit, tiny_model, tmp_path, capsys):
    """An EDL keeps only the picture: a Foley run written there would drop every take."""
    rc = main(["generate", foley_edit["path"], "-o", str(tmp_path / "cut.edl"), "--all", "--model", tiny_model,
               "--device", "cpu", "--takes", "1", "--seed", "1"])
    err = capsys.readouterr().err
    assert rc == 2 and "keeps only the picture" in err and ".aaf" in err and "Traceback" not in err
    assert files_under(tmp_path) == []


# -- 9: a range past the end of its media ------------------------------------------------------------
@pytest.fixture
def short_edit(foley_edit, tmp_path) -> str:
    """A usable clip, then a 10-minute range over the same 48-frame file."""
    media = media_of(foley_edit)
    return timeline_of(tmp_path / "short.otio", [("fine", media, 4, 36), ("ten minutes", media, 0, 14400)])


def test_clips_flags_a_range_past_its_media(short_edit, capsys):
    assert main(["clips", short_edit, "--json"]) == 0
    fine, long = json.loads(capsys.readouterr().out)
    assert fine["status"] == "ok" and long["status"] == "short"
    assert long["media_extent"] == {"first_frame": 0, "end_frame": 14400, "rate": "24000/1001",
                                    "media_frames": 48, "media_rate": "24000/1001"}
    assert fine["media_extent"]["end_frame"] == 40
    assert main(["clips", short_edit]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[2].startswith("V1.2") and "  short  " in rows[2] and "  short  " not in rows[1]


def test_generate_refuses_the_short_clip_up_front_and_does_the_others(short_edit, tiny_model, tmp_path):
    out = tmp_path / "out" / "o.otio"
    done = run_cli("generate", short_edit, "-o", str(out), "--all", "--model", tiny_model,
                   "--device", "cpu", "--takes", "1", "--seed", "3")
    assert done.returncode == 0, done.stderr
    assert "1 clip(s) given Foley, 1 take(s)" in done.stdout
    assert ("skipped V1.2: clip V1.2 ('ten minutes') runs past the end of its media" in done.stdout
            and "it reads file frames 0-14400 at 24000/1001 fps (to 600.600 s) but the file holds 48 frames "
                "at 24000/1001 fps (2.002 s)" in done.stdout)
    # refused before sampling: the warning comes before the progress bar starts
    assert done.stderr.index("skipping V1.2") < done.stderr.index("Foley:")
    assert [p.name for p in out.parent.glob("*.wav")] == ["short_V1.1_3.wav"]


def test_short_means_what_the_engine_refuses():
    """The last frame read may start up to one file frame past the end (containers round their
    duration; the engine allows the same), not further, and never before the file's start."""
    from maskvat_foley.core.timeline.clips import MediaExtent

    def short(first, end, rate=RATE, frames=48, file_rate=RATE):
        return MediaExtent(first, end, rate, frames, file_rate).short

    assert not short(0, 48) and not short(0, 49) and short(0, 50) and short(-1, 10)
    # 24 fps frames read from a 23.976 file of 48 frames (2.002 s): frame 48 starts at 2.0 s.
    assert not short(0, 49, rate=Fraction(24)) and short(0, 51, rate=Fraction(24))


def test_each_media_file_is_probed_once(foley_edit, tmp_path):
    from maskvat_foley.core.media.video import probe
    from maskvat_foley.core.timeline.clips import list_clips
    from maskvat_foley.core.timeline.io import read_timeline
    from maskvat_foley.core.timeline.media_check import check_media

    a, b = media_of(foley_edit, 0), media_of(foley_edit, 1)
    path = timeline_of(tmp_path / "t.otio", [(f"c{i}", (a, b)[i % 2], i, 12) for i in range(6)])
    probed = []

    def counting(media):
        probed.append(media)
        return probe(media)

    checked = check_media(list_clips(read_timeline(path)), probe=counting)
    assert sorted(probed) == sorted([a, b]) and all(c.status == "ok" for c in checked)


# -- 10: timecode past midnight ----------------------------------------------------------------------
def test_time_reference_wraps_at_midnight(foley_edit, tiny_model, tmp_path, capsys):
    """From 23:59:59:00 at 23.976: the second clip starts at 00:00:00:00 of the next day, and its
    WAV says so (TimeReference 0), as the timecode shown and every DAW do."""
    media = media_of(foley_edit)
    start = rates.from_timecode("23:59:59:00", RATE)
    path = timeline_of(tmp_path / "late.otio", [("before", media, 0, 24), ("after", media, 24, 24)], start)
    assert main(["clips", path, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(c["record_in"], c["record_start"]) for c in listed] == [("23:59:59:00", start),
                                                                     ("00:00:00:00", start + 24)]
    out = tmp_path / "out" / "o.otio"
    assert main(["-q", "generate", path, "-o", str(out), "--all", "--model", tiny_model, "--device", "cpu",
                 "--takes", "1", "--seed", "5"]) == 0
    before, after = (str(out.parent / f"late_V1.{n}_5.wav") for n in (1, 2))
    assert wavinfo.WavInfoReader(before).bext.time_reference == (24 * 3600 * 24 - 24) * 2002 == 4_151_299_152
    assert wavinfo.WavInfoReader(after).bext.time_reference == 0
    assert soundfile.info(after).frames == 24 * 2002  # the length is not touched by the wrap
    placed = otio.adapters.read_from_file(str(out)).tracks[1].find_clips()
    assert [c.metadata["maskvat_foley"]["time_reference"] for c in placed] == [4_151_299_152, 0]


# -- 11: the user's own settings, token and caches ---------------------------------------------------
def test_tests_run_in_a_private_home():
    for name, value in conftest.PRIVATE_ENV.items():
        assert os.environ[name] == value
        assert Path(value).is_relative_to(conftest.PRIVATE_HOME)
    assert not conftest.PRIVATE_HOME.is_relative_to(conftest.REAL_HOME)


def test_processes_the_tests_start_keep_out_of_the_real_home(tmp_path):
    """A child process writes the panel's settings, the engine token and a cache entry: all land in
    the private home, and the real folders stay as they were."""
    code = ("import os\n"
            "from PySide6.QtCore import QSettings\n"
            "from maskvat_foley.ui.settings_panel import default_settings\n"
            "from maskvat_foley.core.engine.token import load_token, config_dir\n"
            "from maskvat_foley.core.engine.engine import default_cache_dir\n"
            "s = default_settings(); s.setValue('takes', 5); s.sync()\n"
            "load_token()\n"
            "os.makedirs(default_cache_dir(), exist_ok=True)\n"
            "print(s.fileName()); print(config_dir()); print(default_cache_dir())\n")
    before = conftest.snapshot()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0, done.stderr
    for line in done.stdout.splitlines():
        assert Path(line).is_relative_to(conftest.PRIVATE_HOME), line
    assert conftest.changes(before, conftest.snapshot()) == []


def test_the_guard_sees_a_write(tmp_path):
    folder = tmp_path / "MaskVAT"
    before = conftest.snapshot([folder])
    folder.mkdir()
    (folder / "MaskVAT Foley.conf").write_text("[General]\n")
    assert conftest.changes(before, conftest.snapshot([folder])) == [str(folder), str(folder / "MaskVAT Foley.conf")]


# -- 12: pipes, help and seeds -----------------------------------------------------------------------
def test_clips_into_a_closed_pipe_is_quiet(foley_edit, tmp_path):
    """`clips --json | head -c 10` through a real pipe, with far more JSON than a pipe holds."""
    media = media_of(foley_edit)
    path = timeline_of(tmp_path / "many.otio", [(f"clip {i}", media, 0, 12) for i in range(600)])
    cli = subprocess.Popen([*CLI, "clips", "--json", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    head = subprocess.Popen(["head", "-c", "10"], stdin=cli.stdout, stdout=subprocess.PIPE)
    cli.stdout.close()  # only head reads the pipe now
    shown, _ = head.communicate(timeout=120)
    err = cli.stderr.read().decode()
    cli.stderr.close()
    assert cli.wait(timeout=120) in (0, 141), err
    assert shown == b'[\n  {\n    ' and err == ""


def test_foleyworld_help_works_where_the_bare_command_points(tmp_path):
    bare = run_cli("foleyworld")
    assert bare.returncode == 2 and "see 'maskvat-foley foleyworld --help'" in bare.stderr
    shown = run_cli("foleyworld", "--help")
    assert shown.returncode == 0, shown.stderr
    assert "make" in shown.stdout and "foleyworld make --help" in shown.stdout
    make = run_cli("foleyworld", "make", "--help")
    assert make.returncode == 0 and "--workers" in make.stdout and "(default 1)" in make.stdout


@pytest.mark.parametrize("command, expected", [
    (["demo"], ["Build a demo timeline", "(default: maskvat-demo)", "(default: 2)", "(default: auto)"]),
    (["bench", "generate"], ["End-to-end generation speed", "(default: 10.0)", "(default: 16)", "(default: 2.0)"]),
    (["engine", "serve"], ["Serve the engine", "(default: 127.0.0.1)", "(default: 8765)", "(default: auto)"]),
    (["generate"], ["Generate Foley for selected clips", "(default: a random seed, printed",
                    "(default: 48000)", "(default: 0.5)"]),
])
def test_help_shows_descriptions_and_defaults(capsys, command, expected):
    with pytest.raises(SystemExit) as done:
        main([*command, "--help"])
    assert done.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines anywhere
    for piece in expected:
        assert piece in text, piece


def test_random_seed_is_printed_and_gives_the_takes_again(foley_edit, tiny_model, tmp_path):
    first = run_cli("generate", foley_edit["path"], "-o", str(tmp_path / "a" / "o.otio"), "--clip", "V1.2",
                    "--model", tiny_model, "--device", "cpu", "--takes", "2")
    assert first.returncode == 0, first.stderr
    line = first.stdout.splitlines()[0]
    seed = int(line.split()[1])
    assert line == f"seed {seed} (random; --seed {seed} makes these takes again)"
    takes = sorted(p.name for p in (tmp_path / "a").glob("*.wav"))
    assert takes == sorted([f"edit_V1.2_{seed}.wav", f"edit_V1.2_{seed + 1}.wav"])
    assert main(["-q", "generate", foley_edit["path"], "-o", str(tmp_path / "b" / "o.otio"), "--clip", "V1.2",
                 "--model", tiny_model, "--device", "cpu", "--takes", "2", "--seed", str(seed)]) == 0
    for name in takes:
        assert (soundfile.read(tmp_path / "a" / name)[0] == soundfile.read(tmp_path / "b" / name)[0]).all()
