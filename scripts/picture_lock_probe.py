"""Research probe (issue #11): what the real-footage measures ask of a take, measured on takes an
eval already made, with no model.

    python scripts/picture_lock_probe.py gate EVAL_DIR MEDIA...   # real footage: `eval --set real --out EVAL_DIR`
    python scripts/picture_lock_probe.py gate-foleyworld EVAL_DIR  # FoleyWorld: `eval --set test --out EVAL_DIR`
    python scripts/picture_lock_probe.py movement MEDIA...         # a movement sound, no takes needed

``gate``/``gate-foleyworld``: the takes' onsets kept only within K frames of a motion peak of the
picture (peaks at M MADs, from a floor), as a "lock to picture" pass that removed every other attack
would leave them; AV-Align (real) or onset F1 against the true events (FoleyWorld) before and after.
With ``--features DIR`` (a model's features/ folder) both gates also run on the model's own event
reading: peaks of its visual features' change a frame instead of the picture's motion.
``movement``: noise whose level follows each segment's motion curve (a movement pass with no attack):
its AV-Align and its envelope_motion. Prints JSON.
"""
from __future__ import annotations

import bisect
import json
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np

# (frames, MADs, floor): the eval's own peaks within one frame, then looser gates
GATES = {"k1 mad3 still": (1, 3.0, None), "k2 mad3 still": (2, 3.0, None), "k2 mad1 floor0": (2, 1.0, 0.0),
         "k3 mad1 floor0": (3, 1.0, 0.0)}
# (frames, MADs) on the model's own feature change instead of the picture's motion (``--features``)
FEATURE_GATES = {"feat k1 mad3": (1, 3.0), "feat k2 mad3": (2, 3.0), "feat k2 mad1": (2, 1.0), "feat k3 mad1": (3, 1.0)}


def feature_change(extractor, video, start: int, n: int) -> np.ndarray:
    """The norm of the visual features' change a frame, as the engine makes the features (each shot on
    its own, crossfaded at cuts), on the frames the extractor sees; frame 0 takes the 0 -> 1 change."""
    from maskvat_foley.core.features.shots import clip_features
    from maskvat_foley.core.media.video import read_frames

    fr = read_frames(video.path, start, n, video.info.rate, size=extractor.input_size, pad=True)
    f = clip_features(extractor, fr.rgb, fr.times).numpy()
    d = np.linalg.norm(np.diff(f, axis=0), axis=1)
    return np.concatenate([d[:1], d])


def _kept_features(onsets, change, rate, gate) -> list[Fraction]:
    from maskvat_foley.core.eval.metrics import video_peaks

    k, mads = gate
    peaks = np.array([float(p) for p in video_peaks(change, rate, min_rise=mads)])
    return [o for o in onsets if peaks.size and np.min(np.abs(peaks - float(o))) < k / float(rate)]


def _gated(onsets, name, motion, change, rate):
    if name == "none":
        return onsets
    if name in FEATURE_GATES:
        return _kept_features(onsets, change, rate, FEATURE_GATES[name])
    return _kept(onsets, motion, rate, GATES[name])


def _gate_names(extractor) -> list[str]:
    return ["none", *GATES, *((*FEATURE_GATES, AUDIO) if extractor is not None else ())]


AUDIO = "audio: feat k2 mad3, hits taken out"  # remove_hits on the take, onsets detected again
MIN_TONE = 0.25  # s: the shortest quiet stretch of a take looped over a hit taken out


def _off_event(onset: Fraction, events: list[Fraction], within: Fraction) -> bool:
    i = bisect.bisect_left(events, onset)
    return not any(abs(onset - events[j]) < within for j in (i - 1, i) if 0 <= j < len(events))


def remove_hits(take: np.ndarray, sample_rate: int, events, within: Fraction) -> tuple[np.ndarray, tuple[int, ...]]:
    """``take`` (mono) with every hit whose onset is not within ``within`` s of one of ``events`` taken out,
    as a lock-to-picture pass in the engine would: hits found as core.media.reference_hits finds a take's
    (an onset whose sound goes on is no hit and stays), each taken out from where its swell left the bed
    until it has died back (or the next hit), the take's own room tone laid over it with equal-power fades
    (replace_hits' way, with no hit added). Returns the take and the attack samples taken out."""
    from maskvat_foley.core.media import reference_hits as rh

    x = rh.mono(take, "hit removal")
    events = sorted(Fraction(e) for e in events)
    hits = rh.onset_attacks(x, sample_rate)
    pre = round(rh.PRE * sample_rate)
    # only stretches long enough to loop without a pulse: 50 ms looped under a long hit repeats every
    # 50 ms, and the detector hears each repeat as a new onset (replace_hits' placed hit masks it)
    tone = rh.RoomTone(x, sample_rate, MIN_TONE)
    removed, previous = [], 0
    for i, (a, onset) in enumerate(hits):
        start = max(0, a - pre)
        following = hits[i + 1][0] - pre if i + 1 < len(hits) else x.size
        check = a + round(rh.SUSTAIN_CHECK * sample_rate)
        sustained = check <= following and rh._keeps_going(x, a, check, sample_rate, above=tone.bed.floor)
        if _off_event(onset, events, within) and not sustained:
            swell = tone.bed.rose_from(start, max(0, start - round(rh.MAX_SWELL * sample_rate), previous))
            tone.give_way(swell, min(following, tone.bed.died_back(a, sample_rate)))
            removed.append(a)
        previous = start  # a swell never reaches back into the hit before, kept or not
    out = tone.laid_in() if removed else x
    return out.astype(np.float32), tuple(removed)


def _removed(path: Path, change: np.ndarray, rate) -> tuple[list[Fraction], dict]:
    """The take at ``path`` with its hits off the model's event frames taken out of the audio (as the engine
    would): its onsets detected again, and how its loudness and hits changed."""
    import soundfile as sf

    from maskvat_foley.core.eval.metrics import video_peaks
    from maskvat_foley.core.eval.onsets import detect_onsets
    from maskvat_foley.core.eval.real import loudness

    audio, sr = sf.read(path, dtype="float32", always_2d=True)
    x = audio.mean(axis=1)
    events = video_peaks(change, rate, min_rise=FEATURE_GATES["feat k2 mad3"][1])
    y, removed = remove_hits(x, sr, events, Fraction(2) / Fraction(rate))
    return detect_onsets(y, sr), {"removed": len(removed), "lufs_before": loudness(x, sr)[0],
                                  "lufs_after": loudness(y, sr)[0]}


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


def gate_real(run: Path, media: list[str], extractor=None) -> dict:
    from maskvat_foley.core.eval.metrics import av_align_score, video_peaks
    from maskvat_foley.core.eval.real import STILL_MOTION, find_videos

    res, videos = json.loads((run / "eval.json").read_text()), {v.name: v for v in find_videos(media)}
    scores: dict = {}
    for seg in (s for s in res["segments"] if s["error"] is None):
        v = videos[seg["video"]]
        rate = v.info.rate
        motion = _motion(v, seg["start_frame"], seg["n_frames"])
        peaks, rev = (video_peaks(m, rate, floor=STILL_MOTION) for m in (motion, motion[::-1]))
        change = None if extractor is None else feature_change(extractor, v, seg["start_frame"], seg["n_frames"])
        for name in _gate_names(extractor):
            d = scores.setdefault(seg["video"], {}).setdefault(name, {"av_align": [], "reversed": [], "onsets": []})
            for take in seg["takes"]:
                onsets = [Fraction(o).limit_denominator(1 << 20) for o in take["onsets_s"]]
                if name == AUDIO:
                    onsets, info = _removed(run / take["path"], change, rate)
                    for k, x in info.items():
                        d.setdefault(k, []).append(x)
                else:
                    onsets = _gated(onsets, name, motion, change, rate)
                for key, vp in (("av_align", peaks), ("reversed", rev)):
                    if (s := av_align_score(onsets, vp, rate)) is not None:
                        d[key].append(s)
                d["onsets"].append(len(onsets))
    return {v: {g: {k: round(float(np.mean(x)), 3) if x else None for k, x in d.items()} for g, d in gates.items()}
            for v, gates in scores.items()}


def gate_foleyworld(run: Path, extractor=None) -> dict:
    import soundfile as sf

    from maskvat_foley.core.eval import onsets as on
    from maskvat_foley.core.eval.real import find_videos

    res = json.loads((run / "eval.json").read_text())
    matches: dict = {name: [] for name in _gate_names(extractor)}
    for clip in res["clips"]:
        meta = json.loads((run / "media" / f"foleyworld_{clip['seed']}.json").read_text())
        rate = Fraction(clip["rate"])
        truth, _ = on.merge_close([Fraction(e["time"]) for e in meta["events"]],
                                  [e["kind"] for e in meta["events"]], on.MIN_GAP)
        audio, sr = sf.read(run / clip["take"])
        onsets = on.detect_onsets(audio if audio.ndim == 1 else audio.mean(1), sr)
        video = find_videos([run / "media" / f"foleyworld_{clip['seed']}.mp4"])[0]
        motion = _motion(video, 0, clip["n_frames"])
        change = None if extractor is None else feature_change(extractor, video, 0, clip["n_frames"])
        for name in matches:
            if name == AUDIO:
                kept = _removed(run / clip["take"], change, rate)[0]
            else:
                kept = _gated(onsets, name, motion, change, rate)
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
    extractor = None
    if "--features" in argv:  # the model's own event reading: a trained features/ folder
        i = argv.index("--features")
        from maskvat_foley.core.features.base import load_extractor

        extractor, argv = load_extractor(argv[i + 1]), argv[:i] + argv[i + 2:]
    if len(argv) < 2 or argv[0] not in ("gate", "gate-foleyworld", "movement"):
        raise SystemExit(__doc__)
    if argv[0] == "gate":
        result = gate_real(Path(argv[1]), argv[2:], extractor)
    elif argv[0] == "gate-foleyworld":
        result = gate_foleyworld(Path(argv[1]), extractor)
    else:
        result = movement(argv[1:])
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
