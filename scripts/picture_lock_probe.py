"""Research probe (issue #11): what the real-footage measures ask of a take, measured on takes an
eval already made, with no model.

    python scripts/picture_lock_probe.py gate EVAL_DIR MEDIA...   # real footage: `eval --set real --out EVAL_DIR`
    python scripts/picture_lock_probe.py gate-foleyworld EVAL_DIR  # FoleyWorld: `eval --set test --out EVAL_DIR`
    python scripts/picture_lock_probe.py movement MEDIA...         # a movement sound, no takes needed

``gate``/``gate-foleyworld``: the takes' onsets kept only within K frames of a motion peak of the
picture (peaks at M MADs, from a floor), as a "lock to picture" pass that removed every other attack
would leave them; AV-Align (real) or onset F1 against the true events (FoleyWorld) before and after.
``movement``: noise whose level follows each segment's motion curve (a movement pass with no attack):
its AV-Align and its envelope_motion. Prints JSON.
"""
from __future__ import annotations

import json
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np

# (frames, MADs, floor): the eval's own peaks within one frame, then looser gates
GATES = {"k1 mad3 still": (1, 3.0, None), "k2 mad3 still": (2, 3.0, None), "k2 mad1 floor0": (2, 1.0, 0.0),
         "k3 mad1 floor0": (3, 1.0, 0.0)}


def _motion(video, start: int, n: int) -> np.ndarray:
    from maskvat_foley.core.eval.real import segment_picture

    return segment_picture(video, start, n)[2]


def _kept(onsets, motion, rate, gate) -> list[Fraction]:
    from maskvat_foley.core.eval.metrics import video_peaks
    from maskvat_foley.core.eval.real import STILL_MOTION

    k, mads, floor = gate
    peaks = np.array([float(p) for p in video_peaks(motion, rate, min_rise=mads,
                                                    floor=STILL_MOTION if floor is None else floor)])
    return [o for o in onsets if peaks.size and np.min(np.abs(peaks - float(o))) < k / float(rate)]


def gate_real(run: Path, media: list[str]) -> dict:
    from maskvat_foley.core.eval.metrics import av_align_score, video_peaks
    from maskvat_foley.core.eval.real import STILL_MOTION, find_videos

    res, videos = json.loads((run / "eval.json").read_text()), {v.name: v for v in find_videos(media)}
    scores: dict = {}
    for seg in (s for s in res["segments"] if s["error"] is None):
        v = videos[seg["video"]]
        rate = v.info.rate
        motion = _motion(v, seg["start_frame"], seg["n_frames"])
        peaks, rev = (video_peaks(m, rate, floor=STILL_MOTION) for m in (motion, motion[::-1]))
        for name, gate in {"none": None, **GATES}.items():
            d = scores.setdefault(seg["video"], {}).setdefault(name, {"av_align": [], "reversed": [], "onsets": []})
            for take in seg["takes"]:
                onsets = [Fraction(o).limit_denominator(1 << 20) for o in take["onsets_s"]]
                onsets = onsets if gate is None else _kept(onsets, motion, rate, gate)
                for key, vp in (("av_align", peaks), ("reversed", rev)):
                    if (s := av_align_score(onsets, vp, rate)) is not None:
                        d[key].append(s)
                d["onsets"].append(len(onsets))
    return {v: {g: {k: round(float(np.mean(x)), 3) if x else None for k, x in d.items()} for g, d in gates.items()}
            for v, gates in scores.items()}


def gate_foleyworld(run: Path) -> dict:
    import soundfile as sf

    from maskvat_foley.core.eval import onsets as on
    from maskvat_foley.core.eval.real import find_videos

    res = json.loads((run / "eval.json").read_text())
    matches: dict = {name: [] for name in ("none", *GATES)}
    for clip in res["clips"]:
        meta = json.loads((run / "media" / f"foleyworld_{clip['seed']}.json").read_text())
        rate = Fraction(clip["rate"])
        truth, _ = on.merge_close([Fraction(e["time"]) for e in meta["events"]],
                                  [e["kind"] for e in meta["events"]], on.MIN_GAP)
        audio, sr = sf.read(run / clip["take"])
        onsets = on.detect_onsets(audio if audio.ndim == 1 else audio.mean(1), sr)
        motion = _motion(find_videos([run / "media" / f"foleyworld_{clip['seed']}.mp4"])[0], 0, clip["n_frames"])
        for name in matches:
            kept = onsets if name == "none" else _kept(onsets, motion, rate, GATES[name])
            matches[name].append(on.match_onsets(kept, truth, on.frame_tolerance(rate)))
    return {name: {k: (round(v, 3) if isinstance(v, float) else v) for k, v in on.pool(ms).summary().items()}
            for name, ms in matches.items()}


def movement(media: list[str], sample_rate: int = 44100) -> dict:
    from maskvat_foley.core.eval import SEGMENT_SECONDS
    from maskvat_foley.core.eval.metrics import av_align_score, envelope_motion_corr, frame_levels_db, video_peaks
    from maskvat_foley.core.eval.onsets import detect_onsets
    from maskvat_foley.core.eval.real import STILL_MOTION, find_videos, split_segments

    rng, out = np.random.default_rng(0), {}
    for v in find_videos(media):
        rate, d = v.info.rate, {"av_align": [], "envelope_motion": []}
        for start, n in split_segments(v.n_frames, rate, SEGMENT_SECONDS):
            motion = _motion(v, start, n)
            if float(np.sqrt(np.mean(np.square(motion)))) < STILL_MOTION:
                continue
            t = np.arange(round(Fraction(n * sample_rate) / rate)) / sample_rate
            x = rng.standard_normal(t.size) * np.interp(t, np.arange(n) / float(rate), np.sqrt(motion))
            x *= 0.3 / np.abs(x).max()
            if (s := av_align_score(detect_onsets(x, sample_rate), video_peaks(motion, rate, floor=STILL_MOTION),
                                    rate)) is not None:
                d["av_align"].append(s)
            d["envelope_motion"].append(envelope_motion_corr(frame_levels_db(x, sample_rate, n, rate), motion))
        out[v.name] = {k: round(float(np.mean(x)), 3) if x else None for k, x in d.items()}
    return out


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("gate", "gate-foleyworld", "movement"):
        raise SystemExit(__doc__)
    if argv[0] == "gate":
        result = gate_real(Path(argv[1]), argv[2:])
    elif argv[0] == "gate-foleyworld":
        result = gate_foleyworld(Path(argv[1]))
    else:
        result = movement(argv[1:])
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
