"""The reference-sound evaluation (eval --reference-pairs), its timbre embedding, and
`bench generate --reference`, on a tiny model trained in the test with reference support."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from maskvat_foley.core.eval import reference as ev, timbre
from reference_model import REF_FRAMES, train_reference_model


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, one_torch_thread):
    return str(train_reference_model(tmp_path_factory.mktemp("reference-eval"), steps=20) / "model")


def test_the_timbre_embedding_hears_the_material_not_the_timing():
    """The metric's ceiling: another clip sounding as material B (other hits, other sizes) must be
    nearer the evaluated clip rendered as B than the clip itself (A), on the evaluation's pairs."""
    pairs = ev.plan_pairs(12, seconds=3)
    assert [p.kind for p in pairs[:3]] == list(ev.KINDS)
    nearer = []
    for p in pairs:
        from maskvat_foley.core.data import plan_clip, render_audio
        from maskvat_foley.core.data.rematerial import rematerial

        assert p.label not in p.own and p.ref_seed >= 2_000_000 + ev.REF_OFFSET
        spec = plan_clip(p.seed, seconds=3, kinds=[p.kind])
        own = timbre.decay_embedding(render_audio(spec), 44100)
        as_label = timbre.decay_embedding(render_audio(rematerial(spec, p.label)), 44100)
        ref = ev.reference_audio(p, 2.0)
        assert ref.size == 2 * 44100 and np.abs(ref).max() > 0.01
        nearer.append(timbre.nearer(timbre.decay_embedding(ref, 44100), as_label, own)[0])
    assert sum(nearer) >= 10, nearer  # measured 93-97% over 90 pairs (docs/reference.md)
    silent = timbre.decay_embedding(np.zeros(44100, np.float32), 44100)
    assert silent.shape == ((timbre.GROUPS + 1) * timbre.CURVE_FRAMES,) and np.all(silent == timbre.FLOOR_DB)
    assert timbre.nearer(np.zeros(3), np.ones(3), 3 * np.ones(3))[0]


def test_reference_pairs_end_to_end(model_dir, tmp_path):
    from maskvat_foley.core.eval import onsets as on
    from maskvat_foley.core.media.reference import file_sha256

    res = ev.evaluate_reference(model_dir, n=3, steps=2, seconds=2, out_dir=tmp_path, progress=False)
    assert json.loads((tmp_path / "eval_reference.json").read_text()) == res
    assert res["model"]["ref_frames"] == REF_FRAMES and res["config"]["embedding"] == timbre.NAME
    pairs = res["pairs"]
    assert [p["kind"] for p in pairs] == list(ev.KINDS)
    for p in pairs:
        assert p["reference_label"] not in p["own"]
        assert p["reference_sha256"] == file_sha256(str(tmp_path / p["reference_file"]))
        assert (tmp_path / p["take"]).is_file() and (tmp_path / p["take_free"]).is_file()
        for key in ("timbre", "timbre_free", "timbre_ceiling"):
            t = p[key]
            assert t["follows"] == (t["distance_to_reference_material"] < t["distance_to_own"])
    m = res["metrics"]
    assert m["pairs"] == 3
    assert m["timbre_follows_reference"] == np.mean([p["timbre"]["follows"] for p in pairs])
    for key, which in (("onset_f1_reference", "onsets_reference"), ("onset_f1_free", "onsets_free")):
        tp, fp, fn = (sum(p[which][k] for p in pairs) for k in ("tp", "fp", "fn"))
        assert m[key] == on.OnsetMatch(tp, fp, fn).f1
    assert set(m["per_kind"]) == set(ev.KINDS)
    assert res["targets"]["timbre_follows_reference"]["target"] == 0.8


def test_the_commands_refuse_a_model_without_reference_support(tiny_model, tmp_path, capsys):
    from maskvat_foley.plugin.cli import main

    # Asked for the model's hearing only (no hits): a model that hears none is refused in one line.
    assert main(["eval", "--reference-pairs", "--model", tiny_model, "--n", "1", "--ref-mix", "0",
                 "--out", str(tmp_path)]) != 0
    err = capsys.readouterr().err
    assert "was not trained with reference sounds" in err and "Traceback" not in err
    assert main(["eval", "--ref-guidance", "2", "--model", tiny_model, "--n", "1"]) != 0
    assert "--ref-guidance needs --reference-pairs" in capsys.readouterr().err
    assert main(["eval", "--ref-mix", "1", "--model", tiny_model, "--n", "1"]) != 0
    assert "--ref-mix needs --reference-pairs" in capsys.readouterr().err
    assert main(["bench", "generate", "--model", tiny_model, "--seconds", "1", "--repeat", "1",
                 "--reference", "0.5", "--ref-mix", "0", "--frames", "memory"]) != 0
    assert "was not trained with reference sounds" in capsys.readouterr().err


def test_bench_generate_with_a_reference(tmp_path):
    from maskvat_foley.core.bench.generate import run

    res = run(config="tiny", device="cpu", seconds=1.0, repeat=1, steps=2, reference="0.5", frames="memory",
              size=(64, 48), work=str(tmp_path))
    ref = res["reference"]
    assert ref["seconds_used"] == 0.5 and ref["trimmed"] is False and ref["ref_frames"] == 44  # ceil(0.5 s * 86.13)
    assert res["realtime_factor"] > 0
    with pytest.raises(ValueError, match="neither a file nor a number"):
        run(config="tiny", device="cpu", seconds=1.0, reference=str(tmp_path / "missing.wav"), work=str(tmp_path))


def test_the_reference_figure_shows_one_clip_with_two_references(model_dir, tmp_path, capsys):
    """`eval --reference-pairs --figure`: the picture of one impact clip, its true sound, the take
    without a reference and one take per reference beside the reference, true events marked."""
    from PIL import Image

    from maskvat_foley.core.data.rematerial import labels_for
    from maskvat_foley.core.eval import reference_figure as rf
    from maskvat_foley.core.eval.figure import MARKER
    from maskvat_foley.plugin.cli import main

    png = tmp_path / "docs" / "two.png"
    assert main(["eval", "--reference-pairs", "--model", model_dir, "--n", "1", "--steps", "2", "--seconds", "2",
                 "--out", str(tmp_path / "ev"), "--figure", str(png)]) == 0
    res = json.loads(capsys.readouterr().out)
    fig = res["figure"]
    assert json.loads((tmp_path / "ev" / "eval_reference.json").read_text())["figure"] == fig
    a, b = fig["labels"]
    assert a != b and not {a, b} & set(fig["own"]) and {a, b} <= set(labels_for("impact"))
    assert [r.get("label") for r in fig["rows"]] == [None, None, a, b] and fig["events_s"]
    for r in fig["rows"][1:]:
        assert (tmp_path / "ev" / "figure" / r["file"]).is_file() or os.path.isfile(r["file"])
    for r in fig["rows"][2:]:
        assert r["follows"] == (r["distance_to_reference_material"] < r["distance_to_own"])
    img = np.asarray(Image.open(png).convert("RGB"))
    assert img.shape[1::-1] == rf.figure_size(4)
    marks = np.all(img == MARKER, axis=-1)
    assert marks.any(axis=0).sum() >= len(fig["events_s"])  # one tick column per event at least
    x0 = rf.LEFT + rf.PANEL_W + rf.GAP
    y_first = rf.TITLE + rf.LABEL + rf.STRIP_H + 2 * rf.ROW_H + rf.LABEL + rf.MARK
    ref_a = img[y_first:y_first + rf.PANEL_H, x0:x0 + rf.REF_W]
    ref_b = img[y_first + rf.ROW_H:y_first + rf.ROW_H + rf.PANEL_H, x0:x0 + rf.REF_W]
    assert ref_a.std() > 5 and np.abs(ref_a.astype(int) - ref_b).mean() > 2  # two different sounds drawn
