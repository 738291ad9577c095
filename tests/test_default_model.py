"""The bundled default model: small, verified on load, documented, and it hears the picture."""
from __future__ import annotations

from pathlib import Path

from safetensors import safe_open

from maskvat_foley.core.engine.engine import default_model_dir
from maskvat_foley.core.model.checkpoint import load_checkpoint, read_meta

MODEL = Path(default_model_dir())


def test_bundle_is_small_and_loads_with_its_checksum():
    files = [p for p in MODEL.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) < 60e6
    assert max(p.stat().st_size for p in files) < 20e6
    meta = read_meta(MODEL)
    assert meta["weights_dtype"] == "float16" and meta["scorer"]["path"] == "scorer"
    with safe_open(str(MODEL / "model.safetensors"), "pt") as f:
        assert f.get_tensor(next(iter(f.keys()))).dtype.is_floating_point
    ck = load_checkpoint(MODEL)                     # sha256 verified
    assert ck.tokenizer.name == "stft-small" and ck.extractor.name == "foleyworld-av"
    assert ck.model.config.window == 864  # the sampler's window: the longest the model trained on
    assert ck.model.config.motion_gain == 4.0  # a moving picture's features stretched (motion_gain.py)
    assert ck.info["codec"]["val"]["code_perplexity_min"] > 2  # not a collapsed codec


def test_model_card_has_the_commands_and_test_numbers():
    card = (MODEL / "MODEL_CARD.md").read_text()
    for text in ("maskvat-foley train codec", "maskvat-foley train maskvat", "maskvat-foley eval",
                 "Evaluation on FoleyWorld (test split", "shift_200ms", "| engine |", "Limitations"):
        assert text in card, text


def test_default_model_puts_sound_on_the_events(tmp_path):
    from maskvat_foley.core.eval.run import evaluate

    res = evaluate(None, split="test", n=3, seconds=3, out_dir=tmp_path, progress=False)
    m, shifted = res["metrics"], res["baselines"]["shift_200ms"]["metrics"]
    assert res["model"]["name"] == "maskvat-foleyworld-default"
    assert m["tp"] > 0 and m["onset_recall"] > shifted["onset_recall"], (m, shifted)
    assert m["onset_f1"] > shifted["onset_f1"], (m, shifted)
    # At the picture's level, not 20 dB under it (the first bundle's codec lost that much).
    assert m["level_abs_diff_median_db"] < 10, m


def test_the_default_model_takes_the_sound_of_a_reference(tmp_path):
    """Issue #16 on the bundle: with a reference of another material, the takes' hits sound like it
    (the onset-decay embedding), and they stay on the picture's events."""
    from maskvat_foley.core.eval.reference import evaluate_reference

    res = evaluate_reference(None, n=3, seconds=3, out_dir=tmp_path, progress=False)
    m = res["metrics"]
    assert res["config"]["model_hears_reference"] is False and res["config"]["ref_mix"] == 1.0
    assert all(p["timbre"]["follows"] for p in res["pairs"]), res["pairs"]
    assert m["onset_f1_reference"] >= 0.9 * m["onset_f1_free"] > 0, m
