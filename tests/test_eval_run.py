"""End to end: ``evaluate`` with a tiny random model on 2 short FoleyWorld clips, through real
videos (PyAV), the real Engine and DAC, and the files it writes."""
from __future__ import annotations

import json
import math

import pytest
import soundfile

from maskvat_foley.core.eval import levels as lv
from maskvat_foley.core.eval.card import BEGIN, END, write_model_card
from maskvat_foley.core.eval.run import evaluate
from maskvat_foley.plugin.cli_eval import main
from maskvat_foley.core.model.checkpoint import init_random

ONSET_KEYS = {"onset_precision", "onset_recall", "onset_f1", "onset_offset_ms", "tp", "fp", "fn"}
LEVEL_KEYS = {"level_diff_median_db", "level_abs_diff_median_db"}
METRIC_KEYS = ONSET_KEYS | LEVEL_KEYS | {"av_align", "mel_distance", "stft_distance", "fad_logmel", "envelope_corr",
                                        "envelope_corr_continuous", "silence_dbfs"}
CODEC_KEYS = {"codec_si_sdr", "codec_mel_distance", "codec_stft_distance", "codec_silence_dbfs", "codec_onset_f1",
              "codec_onset_f1_ratio"}
MODEL_KEYS = METRIC_KEYS | CODEC_KEYS | {"sync_scorer_offset", "sync_scorer_offset_signed"}
KIND_KEYS = ONSET_KEYS | LEVEL_KEYS | {"clips", "continuous", "truth_level_mean_db", "take_level_mean_db",
                                       "envelope_corr"}
CLIP_KEYS = {"take_level_db", "truth_level_db", "level_measure", "level_diff_db", "envelope_corr",
             "codec_stft_distance", "codec_silence_dbfs", "codec_onset_f1", "codec_onset_tp", "codec_onset_fp",
             "codec_onset_fn"}


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
                       commands=["maskvat-foley eval --n 2"], figure=root / "figure.png")
    return results, out, model


def test_keys_types_and_json(run):
    results, out, _ = run
    assert set(results["metrics"]) == MODEL_KEYS
    met = results["metrics"]
    for k in ("onset_precision", "onset_recall", "onset_f1"):
        assert 0.0 <= met[k] <= 1.0
    assert met["av_align"] is None or 0.0 <= met["av_align"] <= 1.0  # None: no peaks anywhere
    assert _number(met["mel_distance"]) and _number(met["stft_distance"]) and _number(met["fad_logmel"])
    assert _number(met["codec_si_sdr"]) and _number(met["codec_mel_distance"]) and _number(met["codec_stft_distance"])
    assert _number(met["codec_silence_dbfs"], allow_none=True)  # None: no silent stretch in any truth
    assert 0.0 <= met["codec_onset_f1"] <= 1.0 and _number(met["codec_onset_f1_ratio"])
    true_f1 = results["baselines"]["true_audio"]["metrics"]["onset_f1"]
    assert met["codec_onset_f1_ratio"] == pytest.approx(met["codec_onset_f1"] / true_f1)
    assert _number(met["level_diff_median_db"], allow_none=True)  # None: a silent take on every clip
    assert _number(met["level_abs_diff_median_db"], allow_none=True)
    assert met["envelope_corr"] is None or -1.0 <= met["envelope_corr"] <= 1.0
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
    assert true["level_diff_median_db"] == 0.0 and true["level_abs_diff_median_db"] == 0.0
    assert true["envelope_corr"] == pytest.approx(1.0) and true["envelope_corr_continuous"] == pytest.approx(1.0)
    assert silence["envelope_corr"] is None and silence["level_diff_median_db"] is None  # no level to compare
    # Where the truth is silent, the silence baseline is digital silence and the truth its room noise.
    assert silence["silence_dbfs"] == lv.SILENCE_FLOOR_DBFS and -80 < true["silence_dbfs"] < -60
    assert _number(met["silence_dbfs"], allow_none=True)
    late = results["baselines"]["shift_200ms"]["metrics"]
    assert late["envelope_corr"] < 0.95  # mistimed
    # clip 0 is footsteps, clip 1 rain and water: rain is continuous
    assert set(results["per_kind"]) == {"footstep", "rain", "water"}
    for kind, k in results["per_kind"].items():
        assert set(k) == KIND_KEYS and k["clips"] >= 1, kind
        assert k["continuous"] == (kind == "rain"), kind
        assert _number(k["truth_level_mean_db"]), kind  # every clip has events: truth levels exist
    for kind, k in results["baselines"]["true_audio"]["per_kind"].items():
        assert k["envelope_corr"] == pytest.approx(1.0) and k["level_diff_median_db"] == 0.0, kind
        assert k["take_level_mean_db"] == pytest.approx(k["truth_level_mean_db"]), kind
    assert results["config"]["seeds"] == [2_000_000, 2_000_002]
    assert results["config"]["seconds"] == "3/2"
    assert json.loads(json.dumps(results, allow_nan=False)) == results  # strictly JSON-able
    assert json.loads((out / "eval.json").read_text()) == results


def test_per_clip_records_and_takes(run):
    results, out, _ = run
    clips = results["clips"]
    assert [c["clip_id"] for c in clips] == ["foleyworld_2000000", "foleyworld_2000001"]
    for c in clips:
        assert set(c) >= (MODEL_KEYS - METRIC_KEYS - {"codec_onset_f1_ratio", "sync_scorer_offset_signed"}
                          | ONSET_KEYS | CLIP_KEYS | {"av_align", "baselines", "take"})
        assert c["level_measure"] == "lufs"  # 1.5 s clips with events: BS.1770 applies
        assert _number(c["truth_level_db"]) and c["truth_level_db"] < 0
        if c["take_level_db"] is not None:
            assert c["level_diff_db"] == pytest.approx(c["take_level_db"] - c["truth_level_db"])
        assert c["baselines"]["true_audio"]["level_diff_db"] == 0.0
        assert c["baselines"]["true_audio"]["envelope_corr"] == pytest.approx(1.0)
        assert c["codec_onset_tp"] + c["codec_onset_fn"] == c["n_onsets"]
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
                 "maskvat-foley eval --n 2", "Per event kind", "level err dB", "env corr",
                 "Codec round trip", "in silence dBFS", "onset F1 / true audio's", "| rain | continuous |",
                 "| footstep | impulsive |", "continuous kind (engine, rain)"):
        assert text in card, text
    # writing into an existing card replaces the section and keeps the rest
    path = tmp_path / "MODEL_CARD.md"
    path.write_text("# my model\n\nTrained for a while.\n")
    write_model_card(results, path, commands=["run-one"])
    write_model_card(results, path, commands=["run-two"])
    text = path.read_text()
    assert text.startswith("# my model\n\nTrained for a while.\n")
    assert text.count(BEGIN) == 1 and "run-two" in text and "run-one" not in text


def test_figure(run):
    from PIL import Image

    from maskvat_foley.core.eval.figure import figure_size

    results, _, _ = run
    fig = results["figure"]
    # footsteps (impulsive) and rain with water (continuous): two kinds of clip, two rows
    assert fig["clips"] == ["foleyworld_2000000", "foleyworld_2000001"]
    with Image.open(fig["path"]) as img:
        assert img.format == "PNG" and img.size == figure_size(2) == (1040, 352)


def test_main_prints_json(run, tmp_path, capsys):
    from PIL import Image

    from maskvat_foley.core.eval.figure import figure_size

    _, _, model = run
    figure = tmp_path / "figs" / "eval.png"
    assert main(["--model", str(model), "--n", "1", "--seconds", "1", "--steps", "1", "--beam", "2",
                 "--temperature", "0.3", "--out", str(tmp_path / "cli"), "--figure", str(figure),
                 "--sampler", "anneal=plan", "--sampler", "window=16", "--sampler", "choice_temperature=2"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["figure"] == {"path": str(figure), "clips": ["foleyworld_2000000"]}
    with Image.open(figure) as img:
        assert img.format == "PNG" and img.size == figure_size(1) == (1040, 187)
    assert printed["config"]["n"] == 1 and printed["metrics"]["fad_logmel"] is None  # one clip
    assert printed["config"]["beam"] == 2 and printed["config"]["temperature"] == 0.3
    assert printed["config"]["sampler"] == {"anneal": "plan", "window": 16, "choice_temperature": 2.0}
    assert (tmp_path / "cli" / "eval.json").is_file()
    card = (tmp_path / "cli" / "MODEL_CARD_eval.md").read_text()
    assert f"maskvat-foley eval --model {model} --set test --n 1" in card and f"--figure {figure}" in card
    assert "--sampler anneal=plan" in card
    assert "temperature 0.3" in card and "the best of 2 by the synchrony scorer" in card


@pytest.mark.parametrize("item", ["anneal=sideways", "window=1", "speed=2", "choice_temperature=x"])
def test_bad_sampler_setting(item, capsys):
    assert main(["--sampler", item]) == 2
    assert "--sampler" in capsys.readouterr().err


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="split"):
        evaluate(tmp_path, split="train", n=1)
    with pytest.raises(ValueError, match="at least 1"):
        evaluate(tmp_path, n=0)
    with pytest.raises(FileNotFoundError, match="model folder"):
        evaluate(tmp_path / "nope", n=1, out_dir=tmp_path / "o", progress=False)


def test_card_commands_spell_paths_inside_the_working_folder_relatively(tmp_path, monkeypatch):
    from maskvat_foley.plugin.cli_options import shown_path

    (tmp_path / "models" / "m").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    assert shown_path(str(tmp_path / "models" / "m")) == "models/m"
    assert shown_path("models/m") == "models/m"
    outside = str(tmp_path.parent / "elsewhere")
    assert shown_path(outside) == outside


def test_the_footage_look_films_the_same_events_like_camera_footage(run, tmp_path, capsys):
    """--look footage: the test clip of the same seed, its events unchanged, filmed at camera size
    (the video the engine read is that size); the card's heading says which look it measured."""
    from maskvat_foley.core.data import generate_clip, onset_times
    from maskvat_foley.core.media.video import probe

    _, _, model = run
    out = tmp_path / "footage"
    assert main(["--model", str(model), "--n", "1", "--seconds", "1", "--steps", "1", "--look", "footage",
                 "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["config"]["look"] == "footage" and printed["config"]["size"] is None
    clip = generate_clip(2000000, seconds=1, look="footage")
    classic = generate_clip(2000000, seconds=1, size=(96, 96))
    assert onset_times(clip) == onset_times(classic)  # the same events, filmed another way
    (video,) = (out / "media").glob("*.mp4")
    info = probe(str(video))
    assert (info.width, info.height) == clip.frames.shape[2:0:-1] and min(info.width, info.height) >= 192
    assert printed["clips"][0]["n_onsets"] == len(onset_times(clip))
    card = (out / "MODEL_CARD_eval.md").read_text()
    assert "(test split, footage look, 1 clips)" in card and "--look footage" in card


def test_the_look_is_refused_where_it_means_nothing(run, tmp_path, capsys):
    from maskvat_foley.core import eval as evaluation
    from maskvat_foley.core.data.footage import LOOKS

    assert evaluation.LOOKS == LOOKS  # the CLI's choices, kept light to import, are FoleyWorld's looks
    _, _, model = run
    card = tmp_path / "MODEL_CARD.md"
    assert main(["--model", str(model), "--look", "footage", "--card", str(card)]) == 2
    assert "classic look" in capsys.readouterr().err and not card.exists()
    assert main(["--look", "footage", "--set", "real", "--media", str(tmp_path)]) == 2
    assert "real footage" in capsys.readouterr().err
    assert main(["--look", "footage", "--reference-pairs"]) == 2
    assert "--look" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse: not one of the choices
        main(["--look", "cartoon"])
    with pytest.raises(ValueError, match="look must be one of classic, footage"):
        evaluate(tmp_path, n=1, look="cartoon")
