"""Codec training: the loss falls on a fixed batch; the codec folder loads; metrics are reported."""
from __future__ import annotations

import torch

from maskvat_foley.core.codec.tokenizer import Tokenizer
from maskvat_foley.plugin.cli_train import run
from maskvat_foley.core.train.losses import si_sdr
from maskvat_foley.core.train.workers import WORKERS_ENV
from test_train_helpers import metrics, tiny_config


def test_codec_loss_goes_down_and_codec_loads(tmp_path):
    cfg = tiny_config(tmp_path, codec={"fixed_batch": True, "crop_seconds": [0.1, 0.1],
                                       "loop": {"max_steps": 8, "warmup_steps": 1, "lr": 0.003}})
    summary = run(["codec", "--config", cfg, "--out", str(tmp_path / "c"), "--no-progress"])
    rows = metrics(tmp_path / "c")
    assert len(rows) == 8
    assert rows[-1]["mel"] < rows[0]["mel"] and rows[-1]["loss"] < rows[0]["loss"], rows
    assert {"mel", "wave", "stft", "commitment", "codebook", "lr", "seconds"} <= set(rows[0])
    assert set(summary["val"]) >= {"si_sdr_db", "mel_distance"}
    tok = Tokenizer.load(tmp_path / "c" / "codec")
    assert tok.name == "tiny" and summary["codec_sha256"]
    codes = tok.encode(torch.zeros(1, 1, 1024))
    assert codes.shape == (1, tok.n_codebooks, 2)


def test_si_sdr_ranks_reconstructions():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 1, 4000, generator=g)
    noise = torch.randn(1, 1, 4000, generator=g)
    assert float(si_sdr(2 * x, x)[0]) > 60  # scale does not matter
    assert float(si_sdr(x + 0.1 * noise, x)[0]) > float(si_sdr(x + noise, x)[0])


def test_codec_resume_with_codebook_refresh_is_bit_exact(tmp_path, monkeypatch):
    """The refresher's use counts are part of the saved state: a resumed run re-seeds the same codes,
    and a worker process makes the batches the training process would."""
    from safetensors.torch import load_file

    cfg = tiny_config(tmp_path, codec={"refresh_every": 2, "crop_seconds": [0.1, 0.1],
                                       "loop": {"max_steps": 6, "save_every": 100}})

    def codec(out, *extra):
        return run(["codec", "--config", cfg, "--out", str(tmp_path / out), "--no-progress", *extra])

    codec("once")
    codec("split", "--max-steps", "3")
    monkeypatch.setenv(WORKERS_ENV, "1")  # the resumed half's batches made by a process, as on a GPU machine
    assert codec("split", "--resume")["data_workers"] == 1
    a = load_file(str(tmp_path / "once" / "state" / "model.safetensors"))
    b = load_file(str(tmp_path / "split" / "state" / "model.safetensors"))
    assert a.keys() == b.keys() and any(k.endswith("codebook.weight") for k in a)
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert any(r.get("codes_refreshed", 0) > 0 for r in metrics(tmp_path / "once"))
