"""Evaluation on FoleyWorld: onset detection and matching, AV-Align, spectral distances, SI-SDR,
a Frechet distance over audio embeddings, level error and envelope correlation (levels.py), the
codec's round trip, trivial baselines, and the ``evaluate`` run (aggregates: aggregate.py; the
spectrogram figure: figure.py; the real-footage figure: real_figure.py).

    from maskvat_foley.core.eval.run import evaluate          # `maskvat-foley eval` (plugin/cli_eval.py)
    from maskvat_foley.core.eval.onsets import detect_onsets, match_onsets
    from maskvat_foley.core.eval import metrics, baselines
    from maskvat_foley.core.eval.real import evaluate_real   # `maskvat-foley eval --set real`

Submodules are imported where used (they pull in numpy, torch and the engine).
"""

SPLITS = ("test", "val")
# --look: how FoleyWorld films its clips (core.data.footage.LOOKS; the classic look is what the card reports)
LOOKS = ("classic", "footage")
CLASSIC_SIZE = (96, 96)  # the classic look's frames (W, H)
# `--set real`: real footage (core.eval.real), no true events; cut into segments of this length.
REAL_SET = "real"
SEGMENT_SECONDS = 2.0
REAL_SEEDS = 2  # --set real: takes per segment (seeds --seed, --seed + 1, ...)
FOLEYWORLD_LEVEL_CLIPS = 12  # --set real: FoleyWorld test clips whose median take sets the quiet-take level
CLIPS = 20
# A fixed seed and the CPU: runs of the same model give the same numbers to compare.
SEED = 0
DEVICE = "cpu"
