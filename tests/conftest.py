"""Shared fixtures: a tiny random MaskVAT model folder and a small real edit (OTIO + PyAV video)."""
from __future__ import annotations

import os
from fractions import Fraction

import pytest

RATE = Fraction(24000, 1001)


@pytest.fixture(scope="session", autouse=True)
def private_user_folders(tmp_path_factory):
    """Caches and the engine token go to temporary folders, for this process and its children."""
    base = tmp_path_factory.mktemp("user")
    saved = {k: os.environ.get(k) for k in ("XDG_CACHE_HOME", "MASKVAT_FOLEY_CONFIG_DIR")}
    os.environ["XDG_CACHE_HOME"] = str(base / "cache")
    os.environ["MASKVAT_FOLEY_CONFIG_DIR"] = str(base / "config")
    yield
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


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
