"""Evaluation on FoleyWorld: onset detection and matching, AV-Align, spectral distances, SI-SDR,
a Frechet distance over audio embeddings, trivial baselines, and the ``evaluate`` run.

    from maskvat_foley.core.eval.run import evaluate          # `maskvat-foley eval` (plugin/cli_eval.py)
    from maskvat_foley.core.eval.onsets import detect_onsets, match_onsets
    from maskvat_foley.core.eval import metrics, baselines

Submodules are imported where used (they pull in numpy, torch and the engine).
"""

SPLITS = ("test", "val")
CLIPS = 20
# A fixed seed and the CPU: runs of the same model give the same numbers to compare.
SEED = 0
DEVICE = "cpu"
