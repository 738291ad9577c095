"""Two CPU processes (gloo) through torch.multiprocessing: the same code path as torchrun.

One pair of processes runs every distributed training here, one after another (each on its own
port): starting a process that imports torch costs more than the tiny runs themselves."""
from __future__ import annotations

import json
import os
import socket

import pytest
import torch
import torch.multiprocessing as mp


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, runs: list[tuple[str, int, str, str, str]], result_dir: str) -> None:
    """Run each (name, port, stage, config, out) on this rank; write what it ended with to
    ``result_dir/NAME.rankR.json``."""
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1")
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
    for name, port, stage, cfg, out in runs:
        os.environ["MASTER_PORT"] = str(port)  # a new group per run: the stage leaves the last one
        seen.clear()
        run([stage, "--config", cfg, "--out", out, "--no-progress", "--device", "cpu"])
        with open(os.path.join(result_dir, f"{name}.rank{rank}.json"), "w") as f:
            json.dump(seen, f)


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    """The runs below, trained by two ranks: {name: (rank 0's record, rank 1's record, out folder)}."""
    from test_train_helpers import tiny_config
    from reference_model import REF_FRAMES

    tmp = tmp_path_factory.mktemp("ddp")
    configs = {
        "maskvat": ("maskvat", {"maskvat": {"loop": {"max_steps": 3}}}),
        # codes re-seeded outside the optimizer every step
        "refresh": ("codec", {"codec": {"refresh_every": 1, "crop_seconds": [0.1, 0.1],
                                        "loop": {"max_steps": 3, "warmup_steps": 1}}}),
        "reference": ("maskvat", {"maskvat": {"overrides": {"ref_frames": REF_FRAMES}, "shard_size": 1,
                                              "data": {"type": "foleyworld", "n": 4, "seconds": 2,
                                                       "kinds": ["impact"]},
                                              "loop": {"max_steps": 3}}}),
    }
    runs = []
    for name, (stage, changes) in configs.items():
        (tmp / name).mkdir()
        runs.append((name, _free_port(), stage, tiny_config(tmp / name, **changes), str(tmp / name / "ddp")))
    mp.spawn(_worker, args=(2, runs, str(tmp)), nprocs=2, join=True)
    return {name: (*(json.loads((tmp / f"{name}.rank{r}.json").read_text()) for r in (0, 1)), tmp / name / "ddp")
            for name in configs}


def test_two_rank_gloo_run_agrees_and_finishes(two_ranks):
    from test_train_helpers import metrics

    r0, r1, out = two_ranks["maskvat"]
    assert r0["last"]["loss"] == r1["last"]["loss"]          # metrics are averaged over ranks
    assert r0["weights"] == r1["weights"]                    # DDP kept the replicas identical
    assert [r["step"] for r in metrics(out)] == [1, 2, 3]    # only rank 0 wrote the log
    summary = json.loads((out / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["step"] == 3
    assert (out / "model" / "model.safetensors").is_file()


def test_codebook_refresh_stays_identical_on_both_ranks(two_ranks):
    """Codes re-seeded outside the optimizer are broadcast from rank 0; else the replicas drift."""
    r0, r1, _ = two_ranks["refresh"]
    books = [k for k in r0["weights"] if k.endswith("codebook.weight")]
    assert books and all(r0["weights"][k] == r1["weights"][k] for k in books)
    assert r0["weights"] == r1["weights"]


def test_two_ranks_train_with_references(two_ranks):
    """DistributedDataParallel with the reference weights: every one is used each step (dropped rows
    included), the reference cache is built in shards by both ranks, and the replicas agree."""
    from maskvat_foley.core.train.cache import load_ref_cache

    r0, r1, out = two_ranks["reference"]
    assert r0["weights"] == r1["weights"] and "blocks.0.ref_gate" in r0["weights"]
    assert "ref_given" in r0["last"]
    assert len(load_ref_cache(out / "cache_ref")) == 4
