"""Research probe (issue #11): how much a visual tower's features change a frame on real footage
against FoleyWorld clips with events, how closely that change follows the picture's motion, and on
FoleyWorld (classic and footage look) how well it picks out the frames of the true events.
A model hears a feature change as small as a talking head's in the bundle's tower as nothing
(docs/footage_experiment.md); a tower for real footage should move about as much there as on a
FoleyWorld event, and still follow the motion. Prints one JSON object.

    python scripts/feature_change_probe.py --features bundle=resources/default_model/features \\
        --features tower=train-runs/tower-cpu/features --video train-runs/real-media/carphone.mp4 ...
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np


def change_stats(ext, rgb: np.ndarray, motion: np.ndarray, events: list[int] | None = None) -> dict[str, float]:
    """Mean norm of the per-frame feature change, and its Spearman correlation with ``motion``; with
    ``events`` (a FoleyWorld clip's event frames), how well the change and the picture's own motion
    each pick out those frames (event_auc)."""
    from scipy.stats import spearmanr

    f = ext.extract(rgb).numpy()
    d = np.linalg.norm(np.diff(f, axis=0), axis=1)
    d = np.concatenate([d[:1], d])  # frame 0 takes the 0 -> 1 change, as the motion signal does
    rho = float(spearmanr(d, motion).statistic)  # NaN for a picture that never changes
    out = {"change": round(float(d.mean()), 3), "spearman": round(rho, 3) if np.isfinite(rho) else None}
    if events is not None:
        out["event_auc"] = event_auc(d, events)
        out["motion_event_auc"] = event_auc(np.asarray(motion, np.float64), events)
    return out


def event_auc(signal: np.ndarray, events: list[int]) -> float | None:
    """The chance that the signal's largest value within a frame of an event exceeds its value at a
    frame farther from every event (0.5: the signal does not tell events apart; 1: always)."""
    from scipy.stats import mannwhitneyu

    near = np.zeros(len(signal), bool)
    peaks = []
    for e in events:
        lo, hi = max(0, e - 1), min(len(signal), e + 2)
        if lo < hi:
            near[lo:hi] = True
            peaks.append(signal[lo:hi].max())
    rest = signal[~near]
    if not peaks or not rest.size:
        return None
    return round(float(mannwhitneyu(peaks, rest).statistic) / (len(peaks) * rest.size), 3)


def video_frames(path: str, limit: int) -> np.ndarray:
    from maskvat_foley.core.media.video import probe, read_frames

    info = probe(path)
    return read_frames(path, 0, min(limit, info.duration_frames or limit), info.rate, pad=True).rgb


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--features", action="append", required=True, metavar="NAME=DIR",
                   help="a trained features/ folder to measure (repeat to compare)")
    p.add_argument("--video", action="append", default=[], help="a real video (repeat)")
    p.add_argument("--max-frames", type=int, default=400, help="frames read from each video's start")
    p.add_argument("--clips", type=int, default=12, help="FoleyWorld test clips with events, per look")
    a = p.parse_args(argv)

    from maskvat_foley.core.data.render import generate_clip
    from maskvat_foley.core.data.spec import onset_times, split_seeds
    from maskvat_foley.core.eval.metrics import motion_signal
    from maskvat_foley.core.features.base import load_extractor

    exts = {}
    for item in a.features:
        name, sep, path = item.partition("=")
        if not sep:
            p.error(f"--features takes NAME=DIR, got {item!r}")
        exts[name] = load_extractor(path)
    rows: dict[str, dict] = {}
    for path in a.video:
        rgb = video_frames(path, a.max_frames)
        m = motion_signal(rgb)
        rows[path] = {n: change_stats(e, rgb, m) for n, e in exts.items()}
    for look in ("classic", "footage"):
        per: dict[str, list[dict]] = {n: [] for n in exts}
        seeds = iter(split_seeds("test", 10 * a.clips))
        while len(per[next(iter(exts))]) < a.clips:
            clip = generate_clip(next(seeds), look=look)
            if not clip.spec.events:  # a silent scene: nothing to hear, nothing to compare
                continue
            m = motion_signal(clip.frames)
            events = sorted({round(t * clip.rate) for t in onset_times(clip)})
            for n, e in exts.items():
                per[n].append(change_stats(e, clip.frames, m, events))
        rows[f"foleyworld-test-{look}"] = {
            n: {k: round(float(np.median([s[k] for s in v if s[k] is not None])), 3) for k in v[0]}
            for n, v in per.items()}
    json.dump(rows, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
