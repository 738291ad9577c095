"""scripts/splice_real_footage.py: edits of real footage for measuring sounds at cuts. Real videos
are written and read with PyAV; the edits' cuts land where the evaluation's detector finds them."""
from __future__ import annotations

import importlib.util
import json
from fractions import Fraction
from pathlib import Path

import numpy as np

from maskvat_foley.core.media.cuts import detect_cuts
from maskvat_foley.core.media.video import probe, read_frames
from maskvat_foley.core.media.video_writer import write_video

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "splice_real_footage.py"
COLOURS = [(20, 30, 90), (230, 140, 40), (40, 160, 60), (200, 200, 210)]


def _shots(path: Path, colours, lengths, rate, size=(160, 120), seed=0) -> None:
    rng = np.random.default_rng(seed)
    frames = []
    for colour, n in zip(colours, lengths):
        for i in range(n):
            img = np.full((size[1], size[0], 3), colour, np.float32) + rng.normal(0, 3, (size[1], size[0], 3))
            img[40:60, (4 * i) % 140:(4 * i) % 140 + 20] = 255  # something moving
            frames.append(np.clip(img, 0, 255).astype(np.uint8))
    write_video(path, frames, rate)


def test_edits_cut_between_shots_at_one_and_three_seconds(tmp_path):
    spec = importlib.util.spec_from_file_location("splice_real_footage", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    src, dest = tmp_path / "src", tmp_path / "dest"
    src.mkdir()
    _shots(src / "a.mp4", COLOURS[:2], [60, 40], 24)  # 29.97 and 24 fps sources are conformed to 25
    _shots(src / "b.mp4", COLOURS[2:], [70, 50], Fraction(30000, 1001), size=(176, 144), seed=1)
    assert mod.main([str(src), str(dest), "--n", "3", "--seed", "4"]) == 0
    listing = json.loads((dest / "splices.json").read_text())
    assert [len(v["pieces"]) for v in listing["videos"]] == [3, 3, 3]
    assert sorted((s[0], s[1]) for s in listing["shots"]) == [("a.mp4", 0), ("a.mp4", 63), ("b.mp4", 0),
                                                               ("b.mp4", 59)]
    for v in listing["videos"]:
        info = probe(dest / v["video"])
        assert (info.width, info.height, info.rate, info.duration_frames) == (640, 360, 25, 100)
        rgb = read_frames(dest / v["video"], 0, 100, 25, size=(160, 90)).rgb
        assert detect_cuts(rgb) == [25, 75]  # each piece from another shot
        # the 4:3 sources keep their shape between black bars
        assert rgb[:, :, :8].max() < 40 and rgb[:, :, -8:].max() < 40 and rgb[:, :, 40:120].mean() > 40
    again = tmp_path / "again"
    mod.main([str(src), str(again), "--n", "3", "--seed", "4"])
    assert json.loads((again / "splices.json").read_text())["videos"] == listing["videos"]  # the same set
