"""Shared trainer: resume is bit-exact, the metrics log is written, LR schedule, budgets, bad config."""
from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from maskvat_foley.plugin.cli_train import run
from maskvat_foley.core.train.loop import LoopConfig, lr_at
from test_train_helpers import metrics, tiny_config


def _maskvat(cfg: str, out, *extra: str):
    return run(["maskvat", "--config", cfg, "--out", str(out), "--no-progress", *extra])


@pytest.mark.parametrize("accumulate", [1, 2])
def test_resume_is_bit_exact_and_logs(tmp_path, accumulate):
    cfg = tiny_config(tmp_path, maskvat={"loop": {"max_steps": 6, "save_every": 100, "accumulate": accumulate}})
    _maskvat(cfg, tmp_path / "once")
    _maskvat(cfg, tmp_path / "split", "--max-steps", "3")
    first = metrics(tmp_path / "split")
    assert [r["step"] for r in first] == [1, 2, 3]
    summary = _maskvat(cfg, tmp_path / "split", "--resume")
    assert summary["step"] == 6 and summary["run_steps"] == 3
    a = load_file(str(tmp_path / "once" / "state" / "model.safetensors"))
    b = load_file(str(tmp_path / "split" / "state" / "model.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    once, split = metrics(tmp_path / "once"), metrics(tmp_path / "split")
    assert [r["step"] for r in split] == [1, 2, 3, 4, 5, 6]
    for r1, r2 in zip(once, split):  # same batches, masks and LR after the resume
        assert r1["lr"] == r2["lr"] and r1["loss"] == r2["loss"], (r1, r2)
    assert metrics(tmp_path / "once", "val")[-1]["ce"] > 0
    state = torch.load(tmp_path / "split" / "state" / "train_state.pt", weights_only=True)
    assert state["step"] == 6


def test_resume_without_state_is_a_clear_error(tmp_path):
    cfg = tiny_config(tmp_path)
    with pytest.raises(FileNotFoundError, match="no training state"):
        _maskvat(cfg, tmp_path / "none", "--resume")


def test_time_budget_stops_cleanly_and_saves(tmp_path):
    cfg = tiny_config(tmp_path, maskvat={"loop": {"max_steps": 1000}})
    summary = _maskvat(cfg, tmp_path / "run", "--max-minutes", "0")
    assert summary["stopped"] == "max_minutes" and summary["step"] == 0
    assert (tmp_path / "run" / "state" / "model.safetensors").is_file()
    assert (tmp_path / "run" / "model" / "config.json").is_file()


def test_until_stops_at_a_wall_clock_time_whatever_came_before(tmp_path):
    """--until: a lent machine's end, counted from before the token cache was built."""
    import time

    cfg = tiny_config(tmp_path, maskvat={"loop": {"max_steps": 1000}})
    summary = _maskvat(cfg, tmp_path / "run", "--until", str(time.time() - 1))
    assert summary["stopped"] == "until" and summary["step"] == 0
    assert (tmp_path / "run" / "model" / "config.json").is_file()


def test_time_schedule_runs_the_cosine_over_the_time_budget(tmp_path):
    c = LoopConfig(max_steps=10**6, lr=1.0, warmup_steps=10, min_lr_ratio=0.1, schedule="time")
    assert lr_at(c, 5, 0.0) == pytest.approx(0.6)  # warm-up still by steps
    assert lr_at(c, 500, 0.0) == pytest.approx(1.0) and lr_at(c, 500, 1.0) == pytest.approx(0.1)
    assert lr_at(c, 500, 0.25) > lr_at(c, 500, 0.5) > lr_at(c, 500, 0.75) > lr_at(c, 500, 2.0) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="schedule"):
        LoopConfig(schedule="epochs")
    # With no time limit at all, the 'time' schedule is refused before any step.
    cfg = tiny_config(tmp_path, maskvat={"loop": {"max_steps": 4, "schedule": "time"}})
    with pytest.raises(ValueError, match="'time' schedule needs"):
        _maskvat(cfg, tmp_path / "run")
    # The LR the log records falls over the budget, to min_lr_ratio of the peak at its end.
    cfg = tiny_config(tmp_path, maskvat={"loop": {"max_steps": 10**6, "schedule": "time", "warmup_steps": 0,
                                                  "log_every": 1, "lr": 1e-3}})
    summary = _maskvat(cfg, tmp_path / "timed", "--max-minutes", "0.05")
    lrs = [r["lr"] for r in metrics(tmp_path / "timed")]
    assert summary["stopped"] == "max_minutes" and len(lrs) >= 3
    assert lrs[0] > lrs[-1] and all(a >= b for a, b in zip(lrs, lrs[1:]))


def test_lr_schedule_warmup_then_cosine():
    c = LoopConfig(max_steps=100, lr=1.0, warmup_steps=10, min_lr_ratio=0.1)
    assert lr_at(c, 0) == pytest.approx(0.1) and lr_at(c, 9) == pytest.approx(1.0)
    assert lr_at(c, 10) == pytest.approx(1.0)
    assert lr_at(c, 100) == pytest.approx(0.1)
    assert lr_at(c, 30) > lr_at(c, 60) > lr_at(c, 90)


def test_unknown_config_key_is_refused(tmp_path):
    cfg = json.loads(open(tiny_config(tmp_path)).read())
    cfg["maskvat"]["loop"]["max_stpes"] = 3
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="max_stpes"):
        _maskvat(str(p), tmp_path / "x")


def test_lr_scale_gives_named_parameters_their_own_rate(tmp_path):
    """Trainer(lr_scale=...): parameters the function names get the scaled rate (reference
    sub-layers catching up with warm-started weights); weight decay still on matrices only."""
    from maskvat_foley.core.train.dist import DistInfo
    from maskvat_foley.core.train.loop import Trainer

    model = torch.nn.ModuleDict({"ref_attn": torch.nn.Linear(3, 3), "body": torch.nn.Linear(3, 3)})
    before = {n: p.detach().clone() for n, p in model.named_parameters()}

    def step_fn(step, m):
        return sum(p.sum() for p in m.parameters()), {}

    cfg = LoopConfig(max_steps=1, lr=0.01, warmup_steps=0, save_every=0, log_every=1, weight_decay=0.0)
    trainer = Trainer(model, cfg, tmp_path, DistInfo(), step_fn, progress=False,
                      lr_scale=lambda n: 10.0 if n.startswith("ref_") else 1.0)
    groups = {(g["params"][0].dim() == 2, g["lr_scale"]): len(g["params"]) for g in trainer.opt.param_groups}
    assert groups == {(True, 1.0): 1, (False, 1.0): 1, (True, 10.0): 1, (False, 10.0): 1}
    trainer.run()
    moved = {n: float((p.detach() - before[n]).abs().max()) for n, p in model.named_parameters()}
    # Adam's first step moves every weight by its learning rate: 10x for the scaled ones
    assert moved["ref_attn.weight"] == pytest.approx(10 * moved["body.weight"], rel=1e-3)
    assert moved["ref_attn.bias"] == pytest.approx(10 * moved["body.bias"], rel=1e-3)


def test_a_resumed_time_schedule_carries_on_down_the_cosine(tmp_path):
    """An interrupted time-scheduled run (a lent machine taken back) resumes where its LR had
    fallen to, without a second warm-up, and decays the rest over the new run's time."""
    cfg = tiny_config(tmp_path, maskvat={"loop": {"max_steps": 10**6, "schedule": "time", "warmup_steps": 3,
                                                  "log_every": 1, "lr": 1e-3, "min_lr_ratio": 0.1}})
    out = tmp_path / "timed"
    _maskvat(cfg, out, "--max-minutes", "0.04")
    first = metrics(out)
    state = torch.load(out / "state" / "train_state.pt", weights_only=True)
    assert 0.5 < state["time_done"] <= 1.0
    _maskvat(cfg, out, "--resume", "--max-minutes", "0.04")
    second = metrics(out)[len(first):]
    assert second[0]["step"] == first[-1]["step"] + 1
    # No warm-up: the first LR after the resume is at or below where the first run stopped,
    # far under the peak the warm-up would climb back to, and it keeps falling to the floor.
    assert second[0]["lr"] <= first[-1]["lr"] * 1.001 < 1e-3
    assert all(a["lr"] >= b["lr"] for a, b in zip(second, second[1:]))
    assert len(second) >= 2 and second[-1]["lr"] < 1.5e-4


def test_weight_average_is_what_the_run_ends_with_and_resumes_exactly(tmp_path):
    """ema_decay: the checkpoint holds the weights' moving average, the state both, and a resume
    carries the average on as if the run had not stopped."""
    from maskvat_foley.core.train.loop import EMA_FILE

    cfg = tiny_config(tmp_path, maskvat={"loop": {"max_steps": 6, "save_every": 100, "ema_decay": 0.5}})
    _maskvat(cfg, tmp_path / "once")
    _maskvat(cfg, tmp_path / "split", "--max-steps", "3")
    _maskvat(cfg, tmp_path / "split", "--resume")
    once, split = (tmp_path / "once" / "state", tmp_path / "split" / "state")
    for name in ("model.safetensors", EMA_FILE):
        a, b = load_file(str(once / name)), load_file(str(split / name))
        for k in a:
            assert torch.equal(a[k], b[k]), (name, k)
    raw, avg = load_file(str(once / "model.safetensors")), load_file(str(once / EMA_FILE))
    ckpt = load_file(str(tmp_path / "once" / "model" / "model.safetensors"))
    moved = [k for k in raw if raw[k].is_floating_point() and not torch.equal(raw[k], avg[k])]
    assert moved, "the average equals the last weights: nothing was averaged"
    for k in avg:
        assert torch.equal(ckpt[k], avg[k]), k


def test_weight_average_arithmetic():
    from torch import nn

    from maskvat_foley.core.train.loop import WeightAverage

    m = nn.Linear(2, 1)
    with torch.no_grad():
        m.weight.fill_(0.0)
    avg = WeightAverage(m, 0.75)
    with torch.no_grad():
        m.weight.fill_(4.0)
    avg.update(m)  # 0.75 * 0 + 0.25 * 4
    assert torch.allclose(avg.shadow["weight"], torch.full((1, 2), 1.0))
    with avg.swapped_in(m):
        assert torch.allclose(m.weight, torch.full((1, 2), 1.0))
    assert torch.allclose(m.weight, torch.full((1, 2), 4.0))  # its own weights back
    with pytest.raises(ValueError, match="ema_decay"):
        LoopConfig(ema_decay=1.0)


def test_accumulated_batches_make_the_step_of_one_batch_that_large(tmp_path):
    """accumulate k: k batches (data indices step*k .. step*k+k-1) average into one step, so the
    weights follow the run whose step function sees those batches as one, step for step."""
    from maskvat_foley.core.train.dist import DistInfo
    from maskvat_foley.core.train.loop import Trainer

    def batch(index):
        g = torch.Generator().manual_seed(index)
        return torch.randn(4, 3, generator=g), torch.randn(4, 1, generator=g)

    def loss_of(m, x, y):
        loss = torch.nn.functional.mse_loss(m(x), y)
        return loss, {"loss": float(loss)}

    def run_with(accumulate, step_fn, out):
        torch.manual_seed(0)
        m = torch.nn.Linear(3, 1)
        cfg = LoopConfig(max_steps=5, lr=0.05, warmup_steps=0, save_every=0, log_every=1, accumulate=accumulate)
        Trainer(m, cfg, out, DistInfo(), step_fn, progress=False).run()
        return m, metrics(out)

    seen: list[int] = []

    def small(index, m):
        seen.append(index)
        return loss_of(m, *batch(index))

    def large(step, m):
        (x1, y1), (x2, y2) = batch(2 * step), batch(2 * step + 1)
        return loss_of(m, torch.cat([x1, x2]), torch.cat([y1, y2]))

    a, log_a = run_with(2, small, tmp_path / "a")
    b, log_b = run_with(1, large, tmp_path / "b")
    assert seen == list(range(10))
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.allclose(pa, pb, atol=1e-6), (pa, pb)
    assert [r["step"] for r in log_a] == [1, 2, 3, 4, 5]
    for ra, rb in zip(log_a, log_b):  # the logged loss is the batches' mean
        assert ra["loss"] == pytest.approx(rb["loss"], rel=1e-5)
    c, _ = run_with(1, small, tmp_path / "c")  # without accumulation it is another run
    assert not torch.allclose(next(c.parameters()), next(a.parameters()))
    with pytest.raises(ValueError, match="accumulate"):
        LoopConfig(accumulate=0)


def test_the_codec_stage_refuses_accumulation():
    from maskvat_foley.core.train.codec import CodecTrainConfig

    with pytest.raises(ValueError, match="accumulate is for MaskVAT"):
        CodecTrainConfig.from_dict({"loop": {"accumulate": 2}})
