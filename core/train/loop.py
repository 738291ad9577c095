"""A small shared trainer: AdamW, warmup + cosine LR, clipping, resumable state, metrics, budgets.

Each stage gives a ``step_fn(step, model) -> (loss, metrics)`` that builds its own batch from the
step number (data is a pure function of seed, rank and step; see dist.step_rng), so a resumed run
sees exactly the batches the uninterrupted run would have seen.

State folder ``<out>/state``: ``model.safetensors`` (weights) and ``train_state.pt`` (optimizer,
step, RNG, extra states), read back with ``torch.load(..., weights_only=True)``, and with
``ema_decay`` ``model_ema.safetensors`` (the weights' moving average).
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from torch import Tensor, nn

from maskvat_foley.core.train.dist import DistInfo, any_rank, barrier, mean_over_ranks, unwrap, wrap_model

log = logging.getLogger(__name__)

STATE_DIR = "state"
METRICS_FILE = "metrics.jsonl"
EMA_FILE = "model_ema.safetensors"

StepFn = Callable[[int, nn.Module], "tuple[Tensor, dict[str, float]]"]
ValFn = Callable[[nn.Module], "dict[str, float]"]


@dataclass
class LoopConfig:
    max_steps: int = 1000          # length of the LR schedule (and the default stop)
    lr: float = 1e-3
    min_lr_ratio: float = 0.1      # cosine ends at lr * min_lr_ratio
    warmup_steps: int = 50
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.99)
    grad_clip: float = 1.0         # 0: no clipping
    bf16: bool = False             # autocast to bfloat16 (CUDA only; ignored on the CPU)
    save_every: int = 200
    val_every: int = 0             # 0: validate only at the end
    log_every: int = 10
    max_minutes: float | None = None
    # "steps": the cosine runs to max_steps. "time": it runs to the end of this run's time (the
    # sooner of --max-minutes and --until), for a machine lent for a fixed time whose speed is not
    # known ahead. A resume carries on from the share of the cosine already done (saved with the
    # state) down to the new run's end, without a second warm-up.
    schedule: str = "steps"
    # An exponential moving average of the weights (0: off). Validation and the weights a run
    # ends with are the average's, which smooths the last steps' noise (on a CPU continuation of
    # the bundle it kept 40 % of the spectral drift away; docs/footage_experiment.md).
    ema_decay: float = 0.0
    # Batches a step averages (gradient accumulation): a step of ``accumulate`` batches is one of
    # a batch that much larger, at that much more compute, e.g. a GPU recipe's batch on a CPU.
    # The stage's step function sees data indices step * accumulate + i (each a batch of its own).
    accumulate: int = 1

    def __post_init__(self) -> None:
        self.betas = tuple(float(b) for b in self.betas)  # type: ignore[assignment]
        if self.max_steps < 1 or self.lr <= 0 or self.warmup_steps < 0 or self.log_every < 1:
            raise ValueError(f"loop config: need max_steps >= 1, lr > 0, warmup_steps >= 0, "
                             f"log_every >= 1 (got {dataclasses.asdict(self)})")
        if self.accumulate < 1:
            raise ValueError(f"loop config: accumulate must be >= 1 (got {self.accumulate})")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"loop config: ema_decay must be in [0, 1) (got {self.ema_decay})")
        if self.schedule not in ("steps", "time"):
            raise ValueError(f"loop config: schedule must be 'steps' or 'time' (got {self.schedule!r})")

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "loop config") -> "LoopConfig":
        return from_dict(cls, d, source)


def from_dict(cls: Any, d: dict[str, Any], source: str) -> Any:
    """Build a config dataclass, refusing unknown keys (a typo must not be silently ignored)."""
    if not isinstance(d, dict):
        raise ValueError(f"{source}: expected a JSON object, got {type(d).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - names)
    if unknown:
        raise ValueError(f"{source}: unknown keys {', '.join(unknown)} (known: {', '.join(sorted(names))})")
    try:
        return cls(**d)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{source}: {exc}") from None


def lr_at(cfg: LoopConfig, step: int, done: float | None = None) -> float:
    """Linear warmup to ``lr``, then cosine down to ``lr * min_lr_ratio`` at ``max_steps`` (or, given
    ``done``, at the time budget's end: ``done`` is the cosine's share used). Warm-up counts the
    run's global steps, so a resumed run does not warm up again."""
    if cfg.warmup_steps and step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    span = max(1, cfg.max_steps - cfg.warmup_steps)
    t = min(1.0, (step - cfg.warmup_steps) / span if done is None else max(0.0, done))
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * t)))


@dataclass
class LoopResult:
    step: int
    stopped: str                      # "max_steps" | "max_minutes" | "stop_at" | "until"
    seconds: float                    # wall time of all runs together (resumes add up)
    run_seconds: float                # this run
    run_steps: int
    last: dict[str, float]
    val: dict[str, float]

    @property
    def steps_per_s(self) -> float:
        return self.run_steps / self.run_seconds if self.run_seconds > 0 else 0.0


class Trainer:
    """Runs ``step_fn`` to ``max_steps`` (or the time budget), saving resumable state on rank 0.

    ``extra`` holds objects with state_dict/load_state_dict (a discriminator, its optimizer) that
    are saved and restored with the rest.
    """

    def __init__(self, model: nn.Module, cfg: LoopConfig, out_dir: str | os.PathLike, info: DistInfo,
                 step_fn: StepFn, *, val_fn: ValFn | None = None, extra: dict[str, Any] | None = None,
                 name: str = "train", progress: bool = True,
                 lr_scale: Callable[[str], float] | None = None) -> None:
        """``lr_scale``: a parameter name's learning-rate multiplier (None: 1 for all), e.g. for
        freshly added sub-layers that must catch up with warm-started ones."""
        self.cfg, self.info, self.name, self.progress = cfg, info, name, progress
        self.out = Path(out_dir)
        self.model = model.to(info.device)
        self.wrapped = wrap_model(self.model, info)
        self.step_fn, self.val_fn, self.extra = step_fn, val_fn, dict(extra or {})
        groups: dict[tuple[bool, float], list[nn.Parameter]] = {}
        for n, p in self.model.named_parameters():
            if p.requires_grad:  # weight decay on matrices only; one group per (decay, scale)
                groups.setdefault((p.dim() >= 2, lr_scale(n) if lr_scale else 1.0), []).append(p)
        self.opt = torch.optim.AdamW(
            [{"params": ps, "weight_decay": cfg.weight_decay if decay else 0.0, "lr_scale": scale}
             for (decay, scale), ps in sorted(groups.items(), key=lambda kv: (not kv[0][0], kv[0][1]))],
            lr=lr_at(cfg, 0), betas=cfg.betas)
        self.ema = WeightAverage(self.model, cfg.ema_decay) if cfg.ema_decay > 0 else None
        self.step = 0
        self.seconds = 0.0  # accumulated over resumed runs
        self.time_done = 0.0  # share of the 'time' schedule's cosine done (kept over resumes)

    # -- state ---------------------------------------------------------------------------------
    def save_state(self) -> Path:
        """Write <out>/state atomically (rank 0 only; other ranks return at once)."""
        d = self.out / STATE_DIR
        if not self.info.is_main:
            return d
        from safetensors.torch import save_file

        tmp = self.out / f".{STATE_DIR}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        weights = {k: v.detach().cpu().contiguous() for k, v in self.model.state_dict().items()}
        save_file(weights, str(tmp / "model.safetensors"), metadata={"step": str(self.step)})
        if self.ema is not None:
            save_file(self.ema.state_dict(), str(tmp / EMA_FILE), metadata={"step": str(self.step)})
        state = {"step": self.step, "seconds": self.seconds, "time_done": self.time_done,
                 "optimizer": self.opt.state_dict(),
                 "rng_cpu": torch.get_rng_state(), "extra": {k: v.state_dict() for k, v in self.extra.items()}}
        if torch.cuda.is_available():
            state["rng_cuda"] = torch.cuda.get_rng_state_all()
        torch.save(state, tmp / "train_state.pt")
        old = self.out / f".{STATE_DIR}.old-{os.getpid()}"
        if d.exists():
            os.replace(d, old)
        os.replace(tmp, d)
        shutil.rmtree(old, ignore_errors=True)
        return d

    def load_state(self) -> None:
        from safetensors.torch import load_file

        d = self.out / STATE_DIR
        w, s = d / "model.safetensors", d / "train_state.pt"
        if not w.is_file() or not s.is_file():
            raise FileNotFoundError(f"--resume: no training state in {d} (expected model.safetensors "
                                    "and train_state.pt); start without --resume")
        self.model.load_state_dict(load_file(str(w), device=str(self.info.device)), strict=True)
        if self.ema is not None:  # a state saved without an average starts one from its weights
            e = d / EMA_FILE
            self.ema.load_state_dict(load_file(str(e), device=str(self.info.device)) if e.is_file()
                                     else self.model.state_dict())
        state = torch.load(s, map_location="cpu", weights_only=True)
        self.opt.load_state_dict(state["optimizer"])
        for k, v in self.extra.items():
            if k not in state["extra"]:
                raise ValueError(f"{s}: has no saved state for {k!r} (saved: {sorted(state['extra'])})")
            v.load_state_dict(state["extra"][k])
        torch.set_rng_state(state["rng_cpu"])
        if "rng_cuda" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng_cuda"])
        self.step, self.seconds = int(state["step"]), float(state["seconds"])
        self.time_done = float(state.get("time_done", 0.0))  # states saved before it: from the top
        log.info("%s: resumed from %s at step %d", self.name, d, self.step)

    # -- logging -------------------------------------------------------------------------------
    def log_metrics(self, record: dict[str, Any]) -> None:
        if self.info.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
            with open(self.out / METRICS_FILE, "a") as f:
                f.write(json.dumps(record) + "\n")

    def validate(self) -> dict[str, float]:
        if self.val_fn is None:
            return {}
        vals: dict[str, float] = {}
        if self.info.is_main:  # the unwrapped model: a DDP forward on one rank would wait forever
            self.model.eval()
            with torch.no_grad(), (self.ema.swapped_in(self.model) if self.ema else contextlib.nullcontext()):
                vals = {k: float(v) for k, v in self.val_fn(self.model).items()}
            self.model.train()
            self.log_metrics({"step": self.step, "split": "val", "seconds": round(self.seconds, 3), **vals})
        barrier(self.info)
        return vals

    # -- the loop ------------------------------------------------------------------------------
    def accumulated_gradients(self, use_bf16: bool) -> dict[str, float]:
        """Backpropagate this step's ``accumulate`` batches, each weighted 1/accumulate (their
        mean loss's gradient); returns their metrics averaged."""
        k = self.cfg.accumulate
        total: dict[str, float] = {}
        for i in range(k):
            # DDP averages gradients across ranks once a step, on the last batch's backward
            sync = i == k - 1 or not hasattr(self.wrapped, "no_sync")
            with contextlib.nullcontext() if sync else self.wrapped.no_sync():
                with torch.autocast("cuda", dtype=torch.bfloat16) if use_bf16 else contextlib.nullcontext():
                    loss, metrics = self.step_fn(self.step * k + i, self.wrapped)
                if not torch.isfinite(loss.detach()):
                    raise FloatingPointError(f"{self.name}: loss is {float(loss)} at step {self.step} "
                                             f"(metrics {metrics}); lower the learning rate")
                (loss / k).backward()  # exact when k is 1
            for key, v in metrics.items():
                total[key] = total.get(key, 0.0) + float(v) / k
        return total

    def run(self, *, resume: bool = False, stop_at: int | None = None,
            max_minutes: float | None = None, until: float | None = None) -> LoopResult:
        """Train until ``max_steps`` (or ``stop_at``, or the time budget, or the wall-clock time
        ``until``); returns a summary."""
        from tqdm import tqdm

        cfg, info = self.cfg, self.info
        if resume:
            self.load_state()
        end = min(cfg.max_steps, stop_at) if stop_at is not None else cfg.max_steps
        budget = max_minutes if max_minutes is not None else cfg.max_minutes
        use_bf16 = cfg.bf16 and info.device.type == "cuda"
        self.model.train()
        t_run, last_save = time.monotonic(), self.step
        span = None  # seconds of this run, for the time schedule
        if cfg.schedule == "time":
            ends = ([budget * 60] if budget is not None else []) + ([until - time.time()] if until is not None else [])
            if not ends:
                raise ValueError(f"{self.name}: the 'time' schedule needs --max-minutes, --until or max_minutes")
            span = max(1.0, min(ends))
        done0 = min(1.0, self.time_done)
        start_step, acc, n_acc, last, stopped = self.step, {}, 0, {}, "max_steps" if end == cfg.max_steps else "stop_at"
        bar = tqdm(total=end, initial=self.step, desc=self.name, unit="step", dynamic_ncols=True,
                   disable=not (info.is_main and self.progress))
        try:
            while self.step < end:
                if budget is not None and any_rank(time.monotonic() - t_run > budget * 60, info):
                    stopped = "max_minutes"
                    break
                if until is not None and any_rank(time.time() >= until, info):
                    stopped = "until"
                    break
                t0 = time.monotonic()
                if span is not None:  # this run decays what is left of the cosine over its own time
                    self.time_done = done0 + (1.0 - done0) * min(1.0, (t0 - t_run) / span)
                lr = lr_at(cfg, self.step, None if span is None else self.time_done)
                for g in self.opt.param_groups:
                    g["lr"] = lr * g.get("lr_scale", 1.0)
                self.opt.zero_grad(set_to_none=True)
                metrics = self.accumulated_gradients(use_bf16)
                if cfg.grad_clip > 0:
                    metrics["grad_norm"] = float(nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip))
                self.opt.step()
                if self.ema is not None:
                    self.ema.update(self.model)
                self.step += 1
                self.seconds += time.monotonic() - t0
                for k, v in metrics.items():
                    acc[k] = acc.get(k, 0.0) + float(v)
                n_acc += 1
                bar.update()
                if self.step % cfg.log_every == 0 or self.step == end:
                    last = mean_over_ranks({k: v / n_acc for k, v in acc.items()}, info)
                    acc, n_acc = {}, 0
                    self.log_metrics({"step": self.step, "split": "train", "lr": lr,
                                      "seconds": round(self.seconds, 3), **last})
                    bar.set_postfix(loss=f"{last.get('loss', float('nan')):.4f}", lr=f"{lr:.2e}")
                if cfg.save_every and self.step % cfg.save_every == 0:
                    self.save_state()
                    last_save = self.step
                if cfg.val_every and self.step % cfg.val_every == 0 and self.step < end:
                    self.validate()
        finally:
            bar.close()
        if self.step != last_save or not (self.out / STATE_DIR).exists():
            self.save_state()
        barrier(info)
        run_s = time.monotonic() - t_run
        if self.ema is not None:  # the run ends with the average (the state keeps both)
            self.ema.copy_to(self.model)
            self.ema = None
        val = self.validate()
        log.info("%s: stopped at step %d (%s) after %.1f s", self.name, self.step, stopped, run_s)
        return LoopResult(self.step, stopped, self.seconds, run_s, self.step - start_step, last, val)


class WeightAverage:
    """An exponential moving average of a module's floating-point state (parameters and buffers)."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = decay
        self.shadow = {k: v.detach().clone() for k, v in model.state_dict().items()}

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        for k, v in model.state_dict().items():
            if v.is_floating_point():
                self.shadow[k].lerp_(v.detach(), 1.0 - self.decay)
            else:
                self.shadow[k].copy_(v)

    def state_dict(self) -> dict[str, Tensor]:
        return {k: v.detach().cpu().contiguous() for k, v in self.shadow.items()}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        missing = sorted(set(self.shadow) - set(state))
        if missing:
            raise ValueError(f"weight average: the saved state lacks {', '.join(missing[:5])}")
        for k, v in self.shadow.items():
            v.copy_(state[k])

    @torch.no_grad()
    def copy_to(self, model: nn.Module) -> None:
        model.load_state_dict(self.shadow, strict=True)

    @contextlib.contextmanager
    def swapped_in(self, model: nn.Module):
        """The average in ``model`` for the block, its own weights back afterwards."""
        own = {k: v.detach().clone() for k, v in model.state_dict().items()}
        self.copy_to(model)
        try:
            yield model
        finally:
            model.load_state_dict(own, strict=True)


def unwrapped(model: nn.Module) -> nn.Module:
    return unwrap(model)
