"""Distributed set-up from torchrun's environment, with one code path for 1 or N processes.

Without torchrun (no WORLD_SIZE) the world is one process and no process group is created; with
it, gloo on the CPU and nccl on CUDA. Only rank 0 logs progress and writes files.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np
import torch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    backend: str | None = None  # None: single process, no process group

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def _env_int(name: str, default: int) -> int:
    text = os.environ.get(name)
    if text is None or text == "":
        return default
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"environment variable {name}={text!r} is not an integer") from None


def pick_train_device(device: str = "auto", local_rank: int = 0) -> torch.device:
    """'auto' -> cuda:LOCAL_RANK when CUDA exists, else cpu; 'cuda' gets the local rank's GPU."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError("--device cuda asked for, but torch sees no CUDA GPU")
        return torch.device("cuda", local_rank % max(1, torch.cuda.device_count()))
    return torch.device(device)


def setup(device: str = "auto") -> DistInfo:
    """Read RANK / WORLD_SIZE / LOCAL_RANK (MASTER_ADDR/PORT are read by torch) and join the group."""
    world = _env_int("WORLD_SIZE", 1)
    rank, local = _env_int("RANK", 0), _env_int("LOCAL_RANK", 0)
    if world < 1 or not 0 <= rank < world:
        raise ValueError(f"bad distributed environment: RANK={rank}, WORLD_SIZE={world}")
    dev = pick_train_device(device, local)
    if world == 1:
        return DistInfo(0, 1, 0, dev, None)
    import torch.distributed as dist

    backend = "nccl" if dev.type == "cuda" else "gloo"
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, init_method="env://", rank=rank, world_size=world)
    log.info("rank %d/%d on %s (%s)", rank, world, dev, backend)
    return DistInfo(rank, world, local, dev, backend)


def cleanup(info: DistInfo) -> None:
    if info.distributed:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()


def barrier(info: DistInfo) -> None:
    if info.distributed:
        import torch.distributed as dist

        dist.barrier()


def wrap_model(model: torch.nn.Module, info: DistInfo) -> torch.nn.Module:
    """DistributedDataParallel when world > 1, the model itself otherwise."""
    if not info.distributed:
        return model
    from torch.nn.parallel import DistributedDataParallel as DDP

    ids = [info.device.index] if info.device.type == "cuda" else None
    return DDP(model, device_ids=ids)


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    return model.module if hasattr(model, "module") and isinstance(model.module, torch.nn.Module) else model


def mean_over_ranks(values: dict[str, float], info: DistInfo) -> dict[str, float]:
    """The mean of each metric over all ranks (every rank gets the same numbers)."""
    if not info.distributed or not values:
        return values
    import torch.distributed as dist

    names = sorted(values)
    t = torch.tensor([float(values[n]) for n in names], dtype=torch.float64,
                     device=info.device if info.backend == "nccl" else "cpu")
    dist.all_reduce(t)
    return {n: v / info.world_size for n, v in zip(names, t.tolist())}


def broadcast_from_main(tensors: list[torch.Tensor], info: DistInfo) -> None:
    """Overwrite ``tensors`` on every rank with rank 0's values (in-place edits made outside the
    optimizer, which DDP does not synchronise)."""
    if not info.distributed:
        return
    import torch.distributed as dist

    for t in tensors:
        dist.broadcast(t.data, src=0)


def any_rank(flag: bool, info: DistInfo) -> bool:
    """True on every rank when ``flag`` is true on any (a stop decision all ranks must share)."""
    if not info.distributed:
        return flag
    import torch.distributed as dist

    t = torch.tensor([1.0 if flag else 0.0], device=info.device if info.backend == "nccl" else "cpu")
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def step_rng(seed: int, info: DistInfo, step: int, stream: int = 0) -> np.random.Generator:
    """Data randomness of one step on one rank: a pure function of (seed, rank, step), so a resumed
    run draws exactly the batches the uninterrupted run would have, and ranks see different data."""
    return np.random.default_rng([int(seed), int(info.rank), int(step), int(stream)])


def step_generator(seed: int, info: DistInfo, step: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A torch.Generator for one step on one rank (masking, condition dropout), seeded like step_rng."""
    s = int(step_rng(seed, info, step, stream=1).integers(0, 2 ** 62))
    return torch.Generator(device=device).manual_seed(s)
