"""Shared fixtures: a tiny random MaskVAT model folder and a small real edit (OTIO + PyAV video).

Tests never touch the user's real home: before any test module (or Qt) is imported, HOME and the
XDG folders point into a temporary folder, for this process and every process the tests start, and
the run fails if the real config/cache folders of the app changed anyway.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from fractions import Fraction
from pathlib import Path

import pytest

RATE = Fraction(24000, 1001)

REAL_HOME = Path(os.path.expanduser("~"))
# The app's folders in the real home: QSettings ("MaskVAT"), token and caches ("maskvat-foley"),
# the engine's default output and the host bridges' work folder.
GUARDED = tuple(REAL_HOME / p for p in (".config/MaskVAT", ".config/maskvat-foley", ".cache/maskvat-foley",
                                        ".local/share/maskvat-foley", "MaskVAT Foley"))
PRIVATE_HOME = Path(tempfile.mkdtemp(prefix="maskvat-foley-tests-home-"))
PRIVATE_ENV = {
    "HOME": str(PRIVATE_HOME),
    "XDG_CONFIG_HOME": str(PRIVATE_HOME / ".config"),
    "XDG_CACHE_HOME": str(PRIVATE_HOME / ".cache"),
    "XDG_DATA_HOME": str(PRIVATE_HOME / ".local" / "share"),
    "XDG_STATE_HOME": str(PRIVATE_HOME / ".local" / "state"),
    "MASKVAT_FOLEY_CONFIG_DIR": str(PRIVATE_HOME / ".config" / "maskvat-foley"),
    "MASKVAT_FOLEY_WORK_DIR": str(PRIVATE_HOME / "MaskVAT Foley"),
}


def snapshot(folders=GUARDED) -> dict[str, tuple]:
    """Every file and folder under ``folders`` with its size and modification time."""
    state = {}
    for top in folders:
        top = Path(top)
        if not top.exists():
            continue
        for path in [top, *top.rglob("*")]:
            try:
                st = path.lstat()
            except FileNotFoundError:
                continue
            state[str(path)] = (st.st_size, st.st_mtime_ns)
    return state


def changes(before: dict, after: dict) -> list[str]:
    return sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))


_REAL_BEFORE = snapshot()
os.environ.update(PRIVATE_ENV)  # now, before Qt reads where QSettings live


@pytest.fixture(scope="session", autouse=True)
def private_user_folders():
    """QSettings of every scope and format go to the private home too (Qt may cache its paths)."""
    try:
        from PySide6.QtCore import QSettings
    except ImportError:
        yield
        return
    for fmt in (QSettings.NativeFormat, QSettings.IniFormat):
        QSettings.setPath(fmt, QSettings.UserScope, PRIVATE_ENV["XDG_CONFIG_HOME"])
        QSettings.setPath(fmt, QSettings.SystemScope, str(PRIVATE_HOME / "xdg-system"))
    yield


# `make test` hands each xdist worker whole files (--dist loadfile, --no-loadscope-reorder). The files
# that take longest go out first, longest first, so the two workers finish together instead of one
# running a long file alone at the end (measured seconds on 2 cores in the comments).
LONGEST_FIRST = (
    "test_device_script.py",  # 120: the device script end to end, seven processes that import torch
    "test_train_cache_workers.py",  # 30
    "test_train_transfer.py",  # 20: a real transfer run, a swap through the CLI, two engines
    "test_cli_hardening.py",  # 30
    "test_train_codebooks.py",  # 25
    "test_train_loop.py",  # 25
    "test_train_ddp.py",  # 25
    "test_reference_model.py",  # 20
    "test_engine_hardening.py",  # 19
    "test_level_calibration.py",  # 18
)


def pytest_collection_modifyitems(session, config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep their order


def pytest_sessionfinish(session, exitstatus):
    changed = changes(_REAL_BEFORE, snapshot())
    if changed:
        writer = session.config.get_terminal_writer()
        writer.line()
        writer.line(
            "FAILED: tests wrote into the real home's app folders (they must stay in temporary folders): "
            + ", ".join(changed[:10]), red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_unconfigure(config):
    shutil.rmtree(PRIVATE_HOME, ignore_errors=True)


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny models are op-overhead bound: one thread is faster and immune to busy CPUs."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> str:
    """A random-initialised tiny checkpoint folder (real DAC class, raw-pixel features)."""
    from maskvat_foley.core.model.checkpoint import init_random

    return str(init_random(tmp_path_factory.mktemp("model") / "tiny", preset="tiny"))


@pytest.fixture(scope="session")
def foley_edit(tmp_path_factory) -> dict:
    """edit.otio at 23.976 from 01:00:00:00: two FoleyWorld clips with real video, a gap, and a
    clip whose media is missing. Returns paths and the expected record frames."""
    import opentimelineio as otio

    from maskvat_foley.core.data import generate_clip
    from maskvat_foley.core.data.make import write_clip
    from maskvat_foley.core.timeline.io import write_timeline

    folder = tmp_path_factory.mktemp("edit with spaces") / "Schnitt ü"
    (folder / "media").mkdir(parents=True)
    r = float(RATE)
    rt = otio.opentime.RationalTime
    tl = otio.schema.Timeline(name="edit")
    tl.global_start_time = rt(86400, r)
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    tl.tracks.append(track)
    expected = {}
    position = 86400
    for i, (seed, kinds, trim, frames) in enumerate([(2_000_101, ["impact"], 4, 36),
                                                     (2_000_102, ["tick"], 0, 30)]):
        fw = generate_clip(seed, rate=RATE, seconds=Fraction(48) / RATE, size=(64, 48), kinds=kinds)
        video = write_clip(fw, folder / "media")
        ref = otio.schema.ExternalReference(
            target_url=f"media/{video.name}",
            available_range=otio.opentime.TimeRange(rt(0, r), rt(48, r)))
        track.append(otio.schema.Clip(name=f"clip {i + 1}", media_reference=ref,
                                      source_range=otio.opentime.TimeRange(rt(trim, r), rt(frames, r))))
        expected[f"V1.{i + 1}"] = (position, frames)
        position += frames
        if i == 0:
            track.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(rt(0, r), rt(12, r))))
            position += 12
    missing = otio.schema.ExternalReference(target_url="media/not-here.mp4",
                                            available_range=otio.opentime.TimeRange(rt(0, r), rt(48, r)))
    track.append(otio.schema.Clip(name="lost", media_reference=missing,
                                  source_range=otio.opentime.TimeRange(rt(0, r), rt(24, r))))
    path = str(folder / "edit.otio")
    write_timeline(tl, path)
    return {"path": path, "folder": str(folder), "expected": expected, "rate": RATE,
            "missing_id": "V1.3"}


def copy_edit(edit: dict, dest) -> str:
    """A private copy of the edit (timeline + media) for tests that write next to it."""
    import shutil

    target = os.path.join(str(dest), "edit")
    shutil.copytree(edit["folder"], target)
    return os.path.join(target, "edit.otio")


def engine_media(base) -> dict[str, str]:
    """Two short real videos ("a" dark, "b" bright, 24 frames at 23.976) and a corrupt one, for the
    engine tests."""
    import numpy as np

    from maskvat_foley.core.media.video_writer import write_video

    media = {}
    for name, shade in (("a", 40), ("b", 200)):
        frames = [np.full((48, 64, 3), (shade + 9 * i) % 256, np.uint8) for i in range(24)]
        media[name] = str(write_video(base / f"{name}.mp4", frames, RATE))
    corrupt = base / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(4000))
    media["corrupt"] = str(corrupt)
    return media
