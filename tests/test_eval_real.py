"""`eval --set real`: the cut detector, a real PyAV video (a moving square with periodic hits and a hard
cut) evaluated through the real Engine with the tiny model, and bad input on the command line."""
from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import pytest

from maskvat_foley.core.media.cuts import detect_cuts, frame_change
from maskvat_foley.core.eval.real import (STILL_MOTION, RealInputError, evaluate_real, find_videos, onset_coverage,
                                          split_segments, summarise, targets)
from maskvat_foley.core.eval.real_measures import seed_standard_error
from maskvat_foley.plugin.cli_eval import main

RATE = Fraction(24)
N, CUT, HIT_EVERY = 48, 30, 6  # 2 s; the second shot starts at frame 30
W, H = 64, 48

SUMMARY_KEYS = {"segments", "failed_segments", "takes", "av_align", "av_align_reversed", "av_align_ratio",
                "av_align_seed_se", "cuts",
                "envelope_motion", "envelope_motion_reversed", "cut_onset_share", "onset_coverage",
                "onsets_per_second", "rattle_share", "rattling_takes", "broadband_share", "noisy_takes",
                "loudness_mean", "loudness_min",
                "loudness_max", "loudness_measures", "silent_takes", "identical_seed_segments",
                "seed_mel_distance", "loudness_motion_spearman", "takes_on_motion", "quiet_takes_on_motion"}
SEGMENT_KEYS = {"video", "video_index", "segment", "clip_id", "start_frame", "n_frames", "start_s", "seconds",
                "error", "n_video_peaks", "n_video_peaks_reversed", "motion", "cuts", "takes", "av_align",
                "av_align_reversed", "av_align_ratio", "envelope_motion", "envelope_motion_reversed", "cut_onset_share",
                "rattle_share", "broadband_share", "seeds_identical", "seed_mel_distance"}
TAKE_KEYS = {"seed", "path", "sync_score", "n_onsets", "onsets_s", "av_align", "av_align_reversed",
             "envelope_motion", "envelope_motion_reversed",
             "cuts_with_onset", "onset_coverage", "rattle", "broadband", "loudness", "loudness_measure", "silent"}


def scene(n: int = N, cut: int | None = CUT, seed: int = 0) -> np.ndarray:
    """A square drifting right that drops to the floor every HIT_EVERY frames (one-frame jumps, the
    motion peaks), over a dark blue room that becomes a bright orange one at ``cut``; light noise."""
    rng = np.random.default_rng(seed)
    frames = np.empty((n, H, W, 3), np.uint8)
    for i in range(n):
        bg = (20, 30, 90) if cut is None or i < cut else (230, 140, 40)
        img = np.empty((H, W, 3), np.float32)
        img[:] = bg
        img += rng.normal(0, 2, img.shape)
        x, y = 4 + i % 40, 4 if (i // HIT_EVERY) % 2 == 0 else 30
        img[y:y + 12, x:x + 12] = 255
        frames[i] = np.clip(img, 0, 255).astype(np.uint8)
    return frames


def write(path, frames, rate=RATE) -> str:
    from maskvat_foley.core.media.video_writer import write_video

    return str(write_video(path, list(frames), rate))


# -- the cut detector --------------------------------------------------------------------------------
def test_cut_detector_finds_the_hard_cut_only():
    frames = scene()
    change = frame_change(frames)
    assert change.shape == (N,) and change[0] == 0.0 and np.all((change >= 0) & (change <= 1))
    assert detect_cuts(frames) == [CUT]
    assert detect_cuts(scene(cut=None)) == []  # motion and noise alone are no cut
    assert detect_cuts(frames[..., 0]) == [CUT]  # grey frames work too


def test_cut_detector_samples_large_pictures():
    frames = scene()
    big = np.repeat(np.repeat(frames, 4, axis=1), 4, axis=2)  # 256x192: every second pixel is read
    assert np.allclose(frame_change(big), frame_change(frames)) and detect_cuts(big) == [CUT]


def test_cut_detector_ignores_fades_and_pans():
    a, b = np.full((H, W, 3), (20, 30, 90), np.float32), np.full((H, W, 3), (230, 140, 40), np.float32)
    fade = np.stack([a + (b - a) * min(1.0, max(0.0, (i - 10) / 20)) for i in range(40)]).astype(np.uint8)
    assert detect_cuts(fade) == []
    texture = np.random.default_rng(1).integers(0, 256, (H, W * 3, 3), dtype=np.uint8)
    pan = np.stack([texture[:, 3 * i:3 * i + W] for i in range(40)])  # the camera pans across one scene
    assert detect_cuts(pan) == []
    with pytest.raises(ValueError, match="frames"):
        frame_change(np.zeros((5, 4)))


# -- pieces of the run -------------------------------------------------------------------------------
def test_segments():
    assert split_segments(48, RATE, 1.0) == [(0, 24), (24, 24)]
    assert split_segments(20, RATE, 2.0) == [(0, 20)]  # shorter than a segment: one segment
    assert split_segments(58, RATE, 1.0) == [(0, 24), (24, 34)]  # a short tail joins the one before
    assert split_segments(60, RATE, 1.0) == [(0, 24), (24, 24), (48, 12)]
    assert split_segments(120, Fraction(30000, 1001), 2.0) == [(0, 60), (60, 60)]


def test_onset_coverage():
    r = Fraction(10)
    assert onset_coverage([], Fraction(1), r) == 0.0
    assert onset_coverage([Fraction(1, 2)], Fraction(1), r) == pytest.approx(0.2)
    assert onset_coverage([Fraction(0), Fraction(1, 20)], Fraction(1), r) == pytest.approx(0.15)  # overlap once


def test_seed_standard_error_is_over_the_per_seed_means():
    # seed 0 averages 0.2 over its two segments, seed 1 0.4, seed 2 0.3; a missing score is left out
    takes = [{"seed": 0, "av_align": 0.1}, {"seed": 0, "av_align": 0.3}, {"seed": 1, "av_align": 0.4},
             {"seed": 1, "av_align": None}, {"seed": 2, "av_align": 0.3}]
    assert seed_standard_error(takes, "av_align") == pytest.approx(0.1 / math.sqrt(3))
    assert seed_standard_error(takes[:2], "av_align") is None  # one seed: no spread to measure
    assert seed_standard_error([{"seed": 0, "av_align": None}, {"seed": 1, "av_align": 0.5}], "av_align") is None


# -- end to end ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def run(tmp_path_factory, tiny_model):
    root = tmp_path_factory.mktemp("real")
    media = root / "media"
    media.mkdir()
    write(media / "hits.mp4", scene())
    out = root / "out"
    results = evaluate_real([media], tiny_model, device="cpu", steps=2, seed=5, segment_seconds=1.0,
                            out_dir=out, progress=False, foleyworld_clips=2)
    return results, out


def _unit(x) -> bool:
    return x is None or 0.0 <= x <= 1.0


def test_real_run_json(run):
    results, out = run
    assert set(results) == {"set", "model", "config", "overall", "videos", "segments", "out_dir", "files",
                            "foleyworld", "targets"}
    assert results["set"] == "real" and results["model"]["sha256"]
    assert json.loads((out / "eval.json").read_text()) == results
    assert json.loads(json.dumps(results, allow_nan=False)) == results
    assert results["config"]["seeds_per_segment"] == 2 and results["config"]["segment_seconds"] == 1.0
    overall, (video,) = results["overall"], results["videos"]
    assert set(overall) == SUMMARY_KEYS and set(video) >= SUMMARY_KEYS | {"video", "rate", "n_frames"}
    assert video["video"] == "hits.mp4" and video["n_frames"] == N and video["rate"] == "24"
    assert overall["segments"] == 2 and overall["takes"] == 4 and overall["failed_segments"] == 0
    for summary in (overall, video):
        assert _unit(summary["av_align"]) and _unit(summary["av_align_reversed"])
        assert summary["cuts"] == 1 and _unit(summary["cut_onset_share"])
        assert summary["identical_seed_segments"] == 0 and summary["seed_mel_distance"] > 0


def test_real_run_segments_and_takes(run):
    results, out = run
    first, second = results["segments"]
    assert (first["start_frame"], first["n_frames"], second["start_frame"], second["n_frames"]) == (0, 24, 24, 24)
    assert first["cuts"] == [] and second["cuts"] == [CUT - 24]  # found after PyAV's compression too
    for seg in (first, second):
        assert set(seg) == SEGMENT_KEYS and seg["error"] is None
        assert seg["n_video_peaks"] >= 2  # the square's drops
        assert _unit(seg["av_align"]) and _unit(seg["av_align_reversed"])
        assert seg["seeds_identical"] is False and seg["seed_mel_distance"] > 0
        assert [t["seed"] for t in seg["takes"]] == [5, 6]
        for take in seg["takes"]:
            assert set(take) == TAKE_KEYS and (out / take["path"]).is_file()
            assert _unit(take["av_align"]) and _unit(take["av_align_reversed"]) and _unit(take["onset_coverage"])
            for key in ("envelope_motion", "envelope_motion_reversed"):  # the square moves: measured
                assert -1.0 <= take[key] <= 1.0
            assert take["loudness_measure"] == "lufs"  # 1 s: more than one 400 ms block
            loud = take["loudness"]
            assert take["silent"] == (loud is None or loud <= -70)
            assert loud is None or (math.isfinite(loud) and loud < 10)
    assert first["cut_onset_share"] is None and _unit(second["cut_onset_share"])


def test_quiet_takes_on_moving_pictures_are_counted_against_the_foleyworld_level(run):
    results, _ = run
    fw = results["foleyworld"]
    assert fw["clips"] == 2 and len(fw["takes_lufs"]) <= 2
    if fw["takes_lufs"]:
        assert fw["median_lufs"] == pytest.approx(float(np.median(fw["takes_lufs"])))
    seg = results["segments"][0]
    moving = {**seg, "motion": STILL_MOTION * 2}
    still = {**seg, "motion": STILL_MOTION / 2}
    loud, quiet = ({**t, "loudness": v, "silent": False} for t, v in zip(seg["takes"], (-30.0, -50.0)))
    silent = {**seg["takes"][0], "loudness": float("-inf"), "silent": True}
    # -34 LUFS median: -46 is the floor; a silent take on a moving picture is quiet too
    summary = summarise([{**moving, "takes": [loud, quiet]}, {**still, "takes": [silent]},
                         {**moving, "takes": [silent]}], -34.0)
    assert (summary["takes_on_motion"], summary["quiet_takes_on_motion"]) == (3, 2)
    assert summarise([{**moving, "takes": [quiet]}])["quiet_takes_on_motion"] is None  # no level: not counted
    met = targets({**summary, "cut_onset_share": 0.05}, [{"video": "a", "av_align": 0.35, "av_align_reversed": 0.1},
                                                        {"video": "b", "av_align": 0.35, "av_align_reversed": 0.2}])
    assert met["av_align_every_video"] == {"met": False, "short": ["b"],
                                           "target": ">= 0.3 and >= 2.0x reversed"}
    assert met["cut_onset_share"]["met"] and not met["no_quiet_takes_on_motion"]["met"]
    assert results["targets"]["seeds_differ"]["met"] is (results["overall"]["identical_seed_segments"] == 0)


def test_failed_segment_is_counted_not_measured(run):
    results, _ = run
    failed = {**results["segments"][0], "error": "decoding failed", "takes": [], "cuts": []}
    summary = summarise([failed, results["segments"][1]])
    assert summary["segments"] == 2 and summary["failed_segments"] == 1 and summary["takes"] == 2
    assert summary["cuts"] == 1


def test_cli_prints_json(tmp_path, tiny_model, capsys):
    video = write(tmp_path / "clip.mp4", scene(n=30))
    out = tmp_path / "out"
    assert main(["--set", "real", "--media", video, "--model", tiny_model, "--steps", "1",
                 "--segment-seconds", "5", "--out", str(out), "--foleyworld-clips", "0", "--seeds", "3"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads((out / "eval.json").read_text())
    assert printed["overall"]["segments"] == 1 and printed["segments"][0]["n_frames"] == 30  # shorter: one
    assert printed["config"]["media"] == [video] and printed["config"]["steps"] == 1
    # --seeds 3: seeds 0, 1 and 2 on each segment, all three compared
    assert printed["config"]["seeds_per_segment"] == 3 and printed["overall"]["takes"] == 3
    assert [t["seed"] for t in printed["segments"][0]["takes"]] == [0, 1, 2]
    assert printed["overall"]["identical_seed_segments"] == 0 and printed["overall"]["seed_mel_distance"] > 0
    assert printed["foleyworld"]["clips"] == 0 and printed["overall"]["quiet_takes_on_motion"] is None
    assert printed["targets"]["no_quiet_takes_on_motion"]["met"] is None  # not measured, not passed


def test_cli_figure(tmp_path, tiny_model, capsys):
    from PIL import Image

    from maskvat_foley.core.eval import real_figure as rf

    hits, short = write(tmp_path / "hits.mp4", scene()), write(tmp_path / "short.mp4", scene(n=30, cut=None))
    out, figure = tmp_path / "out", tmp_path / "figs" / "real.png"
    assert main(["--set", "real", "--media", hits, "--media", short, "--model", tiny_model, "--steps", "1",
                 "--segment-seconds", "1", "--out", str(out), "--figure", str(figure),
                 "--foleyworld-clips", "0"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads((out / "eval.json").read_text())
    paths = [str(tmp_path / "figs" / "real_hits.png"), str(tmp_path / "figs" / "real_short.png")]  # one per video
    assert printed["figure"] == {"paths": paths} and [v["figure"] for v in printed["videos"]] == paths
    for path in paths:
        with Image.open(path) as img:
            assert img.format == "PNG" and img.size == rf.figure_size() == (1200, rf.HEIGHT)
            assert 500 <= rf.HEIGHT <= 700
    assert not (tmp_path / "figs" / "real.png").exists()
    with Image.open(paths[0]) as img:  # the cut is drawn through the rows, on the shared time axis
        x = rf.LEFT + int(CUT / RATE * rf.PANEL_W / (N / RATE))
        column = [img.getpixel((xx, y)) for xx in (x - 1, x, x + 1) for y in range(rf.MOTION_Y, rf.LANE_Y)]
        assert rf.CUT in column


def test_figure_pieces():
    from maskvat_foley.core.eval.metrics import motion_signal, video_peaks
    from maskvat_foley.core.eval.real_figure import FigureTrack, figure_paths

    assert [str(p) for p in figure_paths("f/fig.png", ["a"])] == ["f/fig.png"]
    assert [str(p) for p in figure_paths("f/fig.png", ["a", "b"])] == ["f/fig_a.png", "f/fig_b.png"]
    assert [str(p) for p in figure_paths("fig", ["a", "a"])] == ["fig_a_00.png", "fig_a_01.png"]
    track = FigureTrack(48, RATE)
    frames = scene()
    motion = motion_signal(frames[:24])
    track.add_picture(0, frames[:24], motion, video_peaks(motion, RATE), [])
    assert np.isfinite(track.motion[:24]).all() and np.isnan(track.motion[24:]).all()
    assert track.tiles and all(i in track.thumbs for i, t in enumerate(track.tiles) if t[2] < 24)
    sr = 44100
    audio = np.zeros(sr, np.float32)
    audio[sr // 2:sr // 2 + 2000] = np.random.default_rng(0).normal(0, 0.3, 2000)  # a burst at 0.5 s
    track.add_take(0, 24, audio, sr, [0.5], seed=3, loudness=(-30.0, "lufs"))
    half = track.column_of(1.0)
    assert np.isfinite(track.spec[:, :half]).all() and np.isnan(track.spec[:, half + 1:]).all()
    loud = np.flatnonzero(track.spec[:, :half].max(axis=0) > -60)  # the burst lands under its time
    assert loud.size and loud.min() >= track.column_of(0.47) and loud.max() <= track.column_of(0.575)
    assert track.onsets == [0.5] and track.seed == 3


# -- bad input -----------------------------------------------------------------------------------------
def _bad(capsys, argv, *needles):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    for needle in needles:
        assert needle in err, err


def test_cli_bad_input(tmp_path, capsys):
    out = ["--out", str(tmp_path / "out")]
    _bad(capsys, ["--set", "real", *out], "--media PATH")
    _bad(capsys, ["--set", "real", "--media", str(tmp_path / "nope.mp4"), *out], "not found", "nope.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 50)
    _bad(capsys, ["--set", "real", "--media", str(junk), *out], "junk.mp4")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no videos here")
    _bad(capsys, ["--set", "real", "--media", str(empty), *out], "holds no videos")
    _bad(capsys, ["--set", "real", "--media", str(_no_frames(tmp_path)), *out], "no_frames.mov")
    one = write(tmp_path / "one.mp4", scene(n=1))
    _bad(capsys, ["--set", "real", "--media", one, *out], "at least 2")
    _bad(capsys, ["--set", "real", "--media", one, "--segment-seconds", "0", *out], "segment length")
    _bad(capsys, ["--set", "real", "--media", one, "--seeds", "1", *out], "seeds per segment must be 2")
    _bad(capsys, ["--set", "test", "--media", one, *out], "--set real")
    _bad(capsys, ["--set", "real", "--media", one, "--card", str(tmp_path / "card.md"), *out], "--card")
    four = write(tmp_path / "four.mp4", scene(n=4))
    _bad(capsys, ["--set", "real", "--media", four, "--figure", str(empty), *out], "--figure", "is a folder")
    assert not (tmp_path / "out").exists()  # nothing written, no model loaded


def _no_frames(folder) -> str:
    """A .mov whose video stream never got a frame."""
    import av

    path = str(folder / "no_frames.mov")
    with av.open(path, "w") as c:
        s = c.add_stream("mpeg4", rate=24)
        s.width, s.height, s.pix_fmt = W, H, "yuv420p"
    return path


def test_find_videos_in_folders(tmp_path):
    (tmp_path / "sub").mkdir()
    top, sub = write(tmp_path / "b.mp4", scene(n=4)), write(tmp_path / "sub" / "a.mkv", scene(n=4))
    (tmp_path / "readme.txt").write_text("x")
    assert [v.path for v in find_videos([tmp_path, sub])] == [top, sub]  # sorted, each file once
    with pytest.raises(RealInputError, match="--media"):
        find_videos([])


def test_loudness_follows_motion_is_a_rank_correlation():
    """Louder takes on busier pictures rank 1; silent takes (-inf) rank lowest; too few or flat: None."""
    from maskvat_foley.core.eval.real_measures import _spearman

    assert _spearman([(-40.0, 1.0), (-30.0, 2.0), (-20.0, 5.0)]) == pytest.approx(1.0)
    assert _spearman([(float("-inf"), 1.0), (-30.0, 2.0), (-35.0, 3.0), (-20.0, 5.0)]) == pytest.approx(0.8)
    assert _spearman([(-30.0, 1.0), (-30.0, 2.0), (-30.0, 3.0)]) is None
    assert _spearman([(-30.0, 1.0), (-20.0, None)]) is None


def _script(name: str):
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_picture_lock_probe_reproduces_the_eval_and_only_removes_onsets(run, tiny_model):
    """scripts/picture_lock_probe.py re-scores an eval folder's takes: with no gate it gives the eval's own
    AV-Align; a gate, on the picture's motion or on the model's own feature change, keeps a subset of the
    onsets; a movement sound follows the picture's motion."""
    from pathlib import Path

    from maskvat_foley.core.features.base import load_extractor

    probe = _script("picture_lock_probe")
    results, out = run
    media = str(out.parent / "media")
    gated = probe.gate_real(out, [media], load_extractor(Path(tiny_model) / "features"))["hits.mp4"]
    assert set(gated) == {"none", *probe.GATES, *probe.FEATURE_GATES, probe.AUDIO}
    video = results["videos"][0]
    assert gated["none"]["av_align"] == pytest.approx(video["av_align"], abs=1e-3)
    assert gated["none"]["reversed"] == pytest.approx(video["av_align_reversed"], abs=1e-3)
    assert gated["none"]["onsets"] == pytest.approx(np.mean([t["n_onsets"] for s in results["segments"]
                                                             for t in s["takes"]]), abs=1e-3)
    assert all(g["onsets"] <= gated["none"]["onsets"] for g in gated.values())
    moved = probe.movement([media])["hits.mp4"]
    assert moved["envelope_motion"] > 0.5


def test_framing_probe_finds_the_square_that_holds_the_motion():
    """scripts/framing_probe.py: a small square moving in one corner of a large still picture is framed by
    a square around it; a still picture, or one too small to crop, is left whole."""
    frame_square = _script("framing_probe").frame_square
    rng = np.random.default_rng(0)
    frames = np.clip(rng.normal(90, 2, (12, 240, 320, 3)), 0, 255).astype(np.uint8)
    for i in range(len(frames)):
        frames[i, 150 + 3 * i:170 + 3 * i, 220:240] = 250  # falling down the lower right
    top, left, side = frame_square(frames, share=0.8, min_side=64)
    assert 64 <= side < 200
    assert top <= 150 and top + side >= 170 and left <= 220 and left + side >= 240
    still = np.repeat(frames[:1], 12, axis=0)
    assert frame_square(still, share=0.8, min_side=64) is None
    assert frame_square(frames[:, :60, :60], share=0.8, min_side=64) is None


def test_picture_lock_probe_takes_out_only_the_hits_off_the_events():
    """The probe's audio pass: of two hits over a room tone, the one on no event is taken out, its span
    filled with the room tone (no new onset, no hole), and the take is unchanged around the other."""
    from maskvat_foley.core.eval.onsets import detect_onsets

    remove_hits = _script("picture_lock_probe").remove_hits
    sr, rng = 44100, np.random.default_rng(3)
    take = rng.normal(0, 0.003, 2 * sr).astype(np.float32)
    for t in (0.5, 1.3):
        n = int(0.15 * sr)
        burst = rng.normal(0, 0.4, n) * np.exp(-np.arange(n) / (0.02 * sr))
        take[int(t * sr):int(t * sr) + n] += burst.astype(np.float32)
    before = [float(o) for o in detect_onsets(take, sr)]
    assert len(before) == 2 and abs(before[0] - 0.5) < 0.02 and abs(before[1] - 1.3) < 0.02
    out, removed = remove_hits(take, sr, [Fraction(1, 2)], Fraction(2, 25))
    assert len(removed) == 1 and abs(removed[0] / sr - 1.3) < 0.02
    after = [float(o) for o in detect_onsets(out, sr)]
    assert len(after) == 1 and abs(after[0] - 0.5) < 0.02
    assert np.array_equal(out[:int(1.2 * sr)], take[:int(1.2 * sr)])
    late = out[int(1.3 * sr):int(1.45 * sr)]
    assert 0.001 < np.sqrt(np.mean(late ** 2)) < 0.01  # the room tone goes on under where the hit was
