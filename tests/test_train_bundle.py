"""All three stages (tiny) and the bundle: load_checkpoint gets the trained scorer."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from maskvat_foley.core.model.checkpoint import load_checkpoint
from maskvat_foley.plugin.cli_train import main, run
from maskvat_foley.core.train.syncnet import FoleyWorldAVScorer
from test_train_helpers import tiny_config


NO_LEVEL = ["--level-clips", "0"]  # no output level measured: these tests are about the runs


def test_bundle_gives_a_checkpoint_with_the_trained_scorer(tmp_path):
    cfg = tiny_config(tmp_path, codec={"crop_seconds": [0.05, 0.05], "loop": {"max_steps": 2}},
                      avsync={"loop": {"max_steps": 2}},
                      # window lengths drawn per step, batch sized by frames; levels-heavy masks
                      maskvat={"loop": {"max_steps": 2}, "window": [16, 64], "batch_frames": 128,
                               "overrides": {"levels_prob": 0.75}})
    r = {k: tmp_path / k for k in ("codec", "avsync", "maskvat", "other")}
    for stage in ("codec", "avsync"):
        run([stage, "--config", cfg, "--out", str(r[stage]), "--no-progress"])
    run(["maskvat", "--config", cfg, "--out", str(r["maskvat"]), "--no-progress",
         "--codec", str(r["codec"]), "--avsync", str(r["avsync"])])
    assert main(["bundle", "--level-clips", "3", "--codec", str(r["codec"]), "--avsync", str(r["avsync"]),
                 "--maskvat", str(r["maskvat"]), "--out", str(tmp_path / "model")]) == 0
    ckpt = load_checkpoint(tmp_path / "model")
    assert isinstance(ckpt.scorer, FoleyWorldAVScorer)
    meta = json.loads((tmp_path / "model" / "config.json").read_text())
    assert meta["scorer"] == {"name": "foleyworld-av", "path": "scorer"}
    # The training audio's level through this codec, which takes are brought to.
    assert ckpt.level is not None and 1 <= ckpt.level.clips <= 3 and meta["level"]["codec_peak_dbfs"] < 0
    assert ckpt.extractor.name == "foleyworld-av" and ckpt.tokenizer.name == "tiny"
    # The sampler's default window is the longest trained one.
    assert ckpt.model.config.sample_window == 64 and ckpt.model.config.window == 64
    assert ckpt.model.config.levels_prob == 0.75
    assert json.loads((r["maskvat"] / "summary.json").read_text())["window"] == [16, 64]
    card = (tmp_path / "model" / "MODEL_CARD.md").read_text()
    assert "maskvat-foley train codec" in card and "maskvat-foley train maskvat" in card
    codes = torch.randint(0, ckpt.config.codebook_size, (2, ckpt.config.n_codebooks, 20))
    wave = ckpt.tokenizer.decode(codes)
    assert ckpt.scorer.score(wave, ckpt.tokenizer.sample_rate, torch.randn(1, 20, ckpt.extractor.dim)).shape == (2,)

    # A MaskVAT run trained with other features must not be bundled with this avsync run.
    other_cfg = tiny_config(tmp_path, avsync={"init_seed": 1, "loop": {"max_steps": 1}})
    run(["avsync", "--config", other_cfg, "--out", str(r["other"]), "--no-progress"])
    with pytest.raises(ValueError, match="was not trained with the feature extractor"):
        run(["bundle", *NO_LEVEL, "--codec", str(r["codec"]), "--avsync", str(r["other"]),
             "--maskvat", str(r["maskvat"]), "--out", str(tmp_path / "bad")])


def test_a_run_that_continues_from_a_bundle_reuses_its_codec(tmp_path):
    """A new machine keeps only the repo: MaskVAT continues from the bundled model (init_from) and
    the bundle's float16 codec is reused, so `bundle --codec MODEL_DIR` takes the codec stage from it;
    `--avsync MODEL_DIR` likewise takes the bundle's features, scorer and avsync stage."""
    cfg = tiny_config(tmp_path, codec={"crop_seconds": [0.05, 0.05], "loop": {"max_steps": 1}},
                      avsync={"loop": {"max_steps": 1}}, maskvat={"loop": {"max_steps": 1}})
    r = {k: tmp_path / k for k in ("codec", "avsync", "maskvat", "more")}
    for stage in ("codec", "avsync"):
        run([stage, "--config", cfg, "--out", str(r[stage]), "--no-progress"])
    run(["maskvat", "--config", cfg, "--out", str(r["maskvat"]), "--no-progress",
         "--codec", str(r["codec"]), "--avsync", str(r["avsync"])])
    first = tmp_path / "first"
    run(["bundle", *NO_LEVEL, "--codec", str(r["codec"]), "--avsync", str(r["avsync"]), "--maskvat", str(r["maskvat"]),
         "--out", str(first)])
    more = json.loads(Path(cfg).read_text())
    more["maskvat"]["init_from"] = str(first)
    (tmp_path / "more.json").write_text(json.dumps(more))
    run(["maskvat", "--config", str(tmp_path / "more.json"), "--out", str(r["more"]), "--no-progress",
         "--codec", str(first / "codec"), "--avsync", str(r["avsync"])])
    # Another codec's tokens: the blocks carry on, the token embeddings and heads start afresh.
    fresh = dict(more, maskvat=dict(more["maskvat"], init_fresh=["tok.", "head_"],
                                    loop=dict(more["maskvat"].get("loop", {}), lr=1e-6)))
    (tmp_path / "fresh.json").write_text(json.dumps(fresh))
    run(["maskvat", "--config", str(tmp_path / "fresh.json"), "--out", str(tmp_path / "fresh"), "--no-progress",
         "--codec", str(first / "codec"), "--avsync", str(r["avsync"])])
    from maskvat_foley.core.train.warm_start import read_weights

    old, new = read_weights(first), read_weights(tmp_path / "fresh" / "model")
    near = lambda k: torch.allclose(old[k], new[k], atol=1e-4)  # noqa: E731
    assert not near("tok.weight") and not near("head_w")
    assert near("blocks.0.attn.q.weight") and near("cond_in.weight")
    # Only the way in trains (an adapter for a new tower): the rest stays the start's, bit for bit.
    adapt = dict(more, maskvat=dict(more["maskvat"], train_only=["cond_", "null_cond"],
                                    loop=dict(more["maskvat"].get("loop", {}), lr=1e-2, max_steps=2)))
    (tmp_path / "adapt.json").write_text(json.dumps(adapt))
    run(["maskvat", "--config", str(tmp_path / "adapt.json"), "--out", str(tmp_path / "adapt"), "--no-progress",
         "--codec", str(first / "codec"), "--avsync", str(r["avsync"])])
    adapted = read_weights(tmp_path / "adapt" / "model")
    assert not torch.equal(old["cond_in.weight"], adapted["cond_in.weight"])
    assert not torch.equal(old["cond_out.weight"], adapted["cond_out.weight"])
    assert all(torch.equal(old[k], adapted[k]) for k in old if not k.startswith(("cond_", "null_cond")))
    typo = dict(adapt, maskvat=dict(adapt["maskvat"], train_only=["cond-"]))
    (tmp_path / "typo.json").write_text(json.dumps(typo))
    with pytest.raises(ValueError, match=r"train_only \['cond-'\] names no weight.*cond_in"):
        run(["maskvat", "--config", str(tmp_path / "typo.json"), "--out", str(tmp_path / "typo"), "--no-progress",
             "--codec", str(first / "codec"), "--avsync", str(r["avsync"])])
    assert main(["bundle", *NO_LEVEL, "--codec", str(first), "--avsync", str(r["avsync"]), "--maskvat", str(r["more"]),
                 "--out", str(first), "--overwrite"]) == 0
    meta = json.loads((first / "config.json").read_text())
    assert meta["info"]["codec"]["command"].startswith("maskvat-foley train codec")
    assert "maskvat-foley train codec" in (first / "MODEL_CARD.md").read_text()
    # the avsync stage from the bundle as well (what `make reference-model` does on a new machine)
    run(["maskvat", "--config", str(tmp_path / "more.json"), "--out", str(tmp_path / "again"), "--no-progress",
         "--codec", str(first / "codec"), "--avsync", str(first)])
    # The first bundle's level (its codec's, and a correction from its own takes): the new bundle
    # keeps the codec's part, not the other model's take correction.
    from maskvat_foley.core.model.checkpoint import set_level

    set_level(first, {"peak_dbfs": -5.0, "clips": 9, "codec_peak_dbfs": -12.0, "codec_loss_db": 3.0,
                      "takes_db": 4.0, "takes_clips": 7})
    assert main(["bundle", *NO_LEVEL, "--codec", str(first), "--avsync", str(first),
                 "--maskvat", str(tmp_path / "again"), "--out", str(tmp_path / "second")]) == 0
    second = json.loads((tmp_path / "second" / "config.json").read_text())
    assert second["level"]["peak_dbfs"] == -9.0 and second["level"]["clips"] == 9
    assert second["level"]["takes_db"] is None and second["level"]["takes_clips"] is None
    card = (tmp_path / "second" / "MODEL_CARD.md").read_text()
    assert f"reused from the bundled model `{first}`" in card and "final train metrics: null" not in card
    assert second["info"]["avsync"]["command"] == meta["info"]["avsync"]["command"]
    assert second["info"]["avsync"]["command"].startswith("maskvat-foley train avsync")
    assert isinstance(load_checkpoint(tmp_path / "second").scorer, FoleyWorldAVScorer)
    # a folder that is neither a codec run nor a bundle is refused
    with pytest.raises(FileNotFoundError, match="summary.json"):
        run(["bundle", *NO_LEVEL, "--codec", str(tmp_path / "nothing"), "--avsync", str(r["avsync"]),
             "--maskvat", str(r["more"]), "--out", str(tmp_path / "bad")])
