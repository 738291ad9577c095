"""End to end: ``evaluate`` with a tiny random model on 2 short FoleyWorld clips, through real
videos (PyAV), the real Engine and DAC, and the files it writes."""
from __future__ import annotations

import json
import math

import pytest
import soundfile

from maskvat_foley.core.eval.card import BEGIN, END, write_model_card
from maskvat_foley.core.eval.run import evaluate
from maskvat_foley.plugin.cli_eval import main
from maskvat_foley.core.model.checkpoint import init_random

ONSET_KEYS = {"onset_precision", "onset_recall", "onset_f1", "onset_offset_ms", "tp", "fp", "fn"}
METRIC_KEYS = ONSET_KEYS | {"av_align", "mel_distance", "stft_distance", "fad_logmel"}
MODEL_KEYS = METRIC_KEYS | {"sync_scorer_offset", "sync_scorer_offset_signed", "codec_si_sdr",
                            "codec_mel_distance"}


def _number(x, *, allow_none=False):
    if x is None:
        return allow_none
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval")
    model = init_random(root / "model", "tiny")
    out = root / "out"
    results = evaluate(model, split="test", n=2, device="cpu", steps=2, guidance=3.0, seed=7,
                       out_dir=out, seconds=1.5, size=(64, 64), progress=False,
                       commands=["maskvat-foley eval --n 2"])
    return results, out, model


def test_keys_types_and_json(run):
    results, out, _ = run
    assert set(results["metrics"]) == MODEL_KEYS
    met = results["metrics"]
    for k in ("onset_precision", "onset_recall", "onset_f1"):
        assert 0.0 <= met[k] <= 1.0
    assert met["av_align"] is None or 0.0 <= met["av_align"] <= 1.0  # None: no peaks anywhere
    assert _number(met["mel_distance"]) and _number(met["stft_distance"]) and _number(met["fad_logmel"])
    assert _number(met["codec_si_sdr"]) and _number(met["codec_mel_distance"])
    assert _number(met["onset_offset_ms"], allow_none=True)
    assert _number(met["sync_scorer_offset"])  # the tiny model carries the onset-motion scorer
    assert results["model"]["scorer"] == "onset-motion"
    assert set(results["baselines"]) == {"silence", "shift_200ms", "noise_bursts", "true_audio"}
    for name, b in results["baselines"].items():
        assert set(b["metrics"]) == METRIC_KEYS, name
        assert b["per_kind"]
    silence, true = results["baselines"]["silence"]["metrics"], results["baselines"]["true_audio"]["metrics"]
    assert silence["fn"] > 0 and silence["onset_recall"] == 0.0 and silence["fp"] == 0
    assert true["mel_distance"] == 0.0 and true["onset_f1"] > 0.5 and 0.0 <= true["av_align"] <= 1.0
    for kind, k in results["per_kind"].items():
        assert set(k) == ONSET_KEYS | {"clips"} and k["clips"] >= 1, kind
    assert results["config"]["seeds"] == [2_000_000, 2_000_002]
    assert results["config"]["seconds"] == "3/2"
    assert json.loads(json.dumps(results, allow_nan=False)) == results  # strictly JSON-able
    assert json.loads((out / "eval.json").read_text()) == results


def test_per_clip_records_and_takes(run):
    results, out, _ = run
    clips = results["clips"]
    assert [c["clip_id"] for c in clips] == ["foleyworld_2000000", "foleyworld_2000001"]
    for c in clips:
        assert set(c) >= MODEL_KEYS - {"fad_logmel", "sync_scorer_offset_signed"} | {"baselines", "take"}
        info = soundfile.info(str(out / c["take"]))
        # the take covers the clip exactly: round(n_frames * 44100 / rate) samples
        from fractions import Fraction

        from maskvat_foley.core.timeline.rates import frame_to_sample
        assert info.samplerate == 44100
        assert info.frames == frame_to_sample(c["n_frames"], Fraction(c["rate"]), 44100)
        assert (out / "media" / f"{c['clip_id']}.mp4").is_file()
        assert (out / "media" / f"{c['clip_id']}.json").is_file()
        assert c["n_onsets"] == c["baselines"]["true_audio"]["tp"] + c["baselines"]["true_audio"]["fn"]


def test_model_card_section(run, tmp_path):
    results, out, _ = run
    card = (out / "MODEL_CARD_eval.md").read_text()
    assert card.startswith(BEGIN) and card.rstrip().endswith(END)
    for text in ("| **model** |", "| silence |", "| shift_200ms |", "| noise_bursts |",
                 "maskvat-foley eval --n 2", "Onsets per event kind"):
        assert text in card
    # writing into an existing card replaces the section and keeps the rest
    path = tmp_path / "MODEL_CARD.md"
    path.write_text("# my model\n\nTrained for a while.\n")
    write_model_card(results, path, commands=["run-one"])
    write_model_card(results, path, commands=["run-two"])
    text = path.read_text()
    assert text.startswith("# my model\n\nTrained for a while.\n")
    assert text.count(BEGIN) == 1 and "run-two" in text and "run-one" not in text


def test_main_prints_json(run, tmp_path, capsys):
    _, _, model = run
    assert main(["--model", str(model), "--n", "1", "--seconds", "1", "--steps", "1", "--beam", "2",
                 "--temperature", "0.3", "--out", str(tmp_path / "cli")]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["config"]["n"] == 1 and printed["metrics"]["fad_logmel"] is None  # one clip
    assert printed["config"]["beam"] == 2 and printed["config"]["temperature"] == 0.3
    assert (tmp_path / "cli" / "eval.json").is_file()
    card = (tmp_path / "cli" / "MODEL_CARD_eval.md").read_text()
    assert f"maskvat-foley eval --model {model} --set test --n 1" in card
    assert "temperature 0.3" in card and "the best of 2 by the synchrony scorer" in card


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="split"):
        evaluate(tmp_path, split="train", n=1)
    with pytest.raises(ValueError, match="at least 1"):
        evaluate(tmp_path, n=0)
    with pytest.raises(FileNotFoundError, match="model folder"):
        evaluate(tmp_path / "nope", n=1, out_dir=tmp_path / "o", progress=False)
