"""Two CPU processes (gloo) through torch.multiprocessing: the same code path as torchrun."""
from __future__ import annotations

import json
import os
import socket

import torch
import torch.multiprocessing as mp


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, stage: str, cfg: str, out: str, result_dir: str) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)

    from maskvat_foley.plugin.cli_train import run
    from maskvat_foley.core.train.loop import Trainer
    seen: dict = {}
    orig = Trainer.run

    def spy(self, **kw):  # record what each rank ends with (the model is the same on every rank)
        res = orig(self, **kw)
        seen["last"] = res.last
        seen["weights"] = {k: float(v.double().sum()) for k, v in self.model.state_dict().items()}
        return res

    Trainer.run = spy
    run([stage, "--config", cfg, "--out", out, "--no-progress", "--device", "cpu"])
    with open(os.path.join(result_dir, f"rank{rank}.json"), "w") as f:
        json.dump(seen, f)


def test_two_rank_gloo_run_agrees_and_finishes(tmp_path):
    from test_train_helpers import metrics, tiny_config

    cfg = tiny_config(tmp_path, maskvat={"loop": {"max_steps": 3}})
    out = tmp_path / "ddp"
    mp.spawn(_worker, args=(2, _free_port(), "maskvat", cfg, str(out), str(tmp_path)), nprocs=2, join=True)
    r0 = json.loads((tmp_path / "rank0.json").read_text())
    r1 = json.loads((tmp_path / "rank1.json").read_text())
    assert r0["last"]["loss"] == r1["last"]["loss"]          # metrics are averaged over ranks
    assert r0["weights"] == r1["weights"]                    # DDP kept the replicas identical
    assert [r["step"] for r in metrics(out)] == [1, 2, 3]    # only rank 0 wrote the log
    summary = json.loads((out / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["step"] == 3
    assert (out / "model" / "model.safetensors").is_file()


def test_codebook_refresh_stays_identical_on_both_ranks(tmp_path):
    """Codes re-seeded outside the optimizer are broadcast from rank 0; else the replicas drift."""
    from test_train_helpers import tiny_config

    cfg = tiny_config(tmp_path, codec={"refresh_every": 1, "crop_seconds": [0.1, 0.1],
                                       "loop": {"max_steps": 3, "warmup_steps": 1}})
    mp.spawn(_worker, args=(2, _free_port(), "codec", cfg, str(tmp_path / "ddp"), str(tmp_path)),
             nprocs=2, join=True)
    r0 = json.loads((tmp_path / "rank0.json").read_text())
    r1 = json.loads((tmp_path / "rank1.json").read_text())
    books = [k for k in r0["weights"] if k.endswith("codebook.weight")]
    assert books and all(r0["weights"][k] == r1["weights"][k] for k in books)
    assert r0["weights"] == r1["weights"]
