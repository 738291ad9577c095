"""Start a training run from the weights of an earlier one (a new machine keeps only the repo, so
a retrain continues from the bundled model instead of from scratch).

A tensor of the new model is copied when the old one has its name and shape. A tensor that grew
(the condition's input layer when the visual features gain dimensions) gets the old values in its
leading slice and zeros elsewhere, so the new inputs start with no effect and the warm-started
model begins exactly where the old one stopped. Everything else keeps its fresh initialisation.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from maskvat_foley.core.weights_folder import WEIGHTS_FILE

log = logging.getLogger(__name__)


def read_weights(folder: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The ``model.safetensors`` of a checkpoint or extractor folder, as float32 where floating."""
    from safetensors.torch import load_file

    path = Path(folder) / WEIGHTS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no weights to start from (expected a model or features folder)")
    return {k: v.float() if v.is_floating_point() else v for k, v in load_file(str(path)).items()}


@torch.no_grad()
def warm_start(module: nn.Module, state: dict[str, torch.Tensor], prefix: str = "",
               keep_fresh: tuple[str, ...] = ()) -> dict[str, Any]:
    """Copy ``state`` into ``module`` (``prefix`` + each old name), as the module docstring says,
    except the weights whose new names start with one of ``keep_fresh``. Returns counts and the
    names that grew or stayed fresh (also logged)."""
    own = module.state_dict()
    copied, grown, fresh = 0, [], []
    for name, new in own.items():
        old = (state.get(name[len(prefix):]) if name.startswith(prefix) and not name.startswith(keep_fresh)
               else None)
        if old is None or old.dim() != new.dim():
            fresh.append(name)
            continue
        if tuple(old.shape) == tuple(new.shape):
            new.copy_(old.to(new.dtype))
            copied += 1
        elif all(o <= n for o, n in zip(old.shape, new.shape)):
            new.zero_()
            new[tuple(slice(0, o) for o in old.shape)] = old.to(new.dtype)
            grown.append(name)
        else:
            fresh.append(name)
    unused = sorted(k for k in state if prefix + k not in own or (prefix + k).startswith(keep_fresh))
    if not copied and not grown:
        raise ValueError(f"warm start: none of the {len(state)} given weights fit this model "
                         f"(e.g. {', '.join(sorted(state)[:3])})")
    log.info("warm start: %d tensors copied, %d grown (%s), %d fresh, %d unused", copied, len(grown),
             ", ".join(grown) or "-", len(fresh), len(unused))
    return {"copied": copied, "grown": grown, "fresh": fresh, "unused": unused}


def train_only(module: nn.Module, prefixes: tuple[str, ...]) -> dict[str, int]:
    """Freeze every weight of ``module`` except those whose names start with one of ``prefixes``
    (a warm start's adapter: the blocks that make the sound stay exactly as they were, only the
    way in for new visual features learns). Returns the trained and frozen parameter counts."""
    counts = {"trained": 0, "frozen": 0}
    for name, p in module.named_parameters():
        keep = name.startswith(prefixes)
        p.requires_grad_(keep)
        counts["trained" if keep else "frozen"] += p.numel()
    if not counts["trained"]:
        names = sorted({n.split(".")[0] for n, _ in module.named_parameters()})
        raise ValueError(f"train_only {list(prefixes)} names no weight of this model "
                         f"(its weights start with: {', '.join(names)})")
    log.info("train only %s: %d weights trained, %d frozen", ", ".join(prefixes), counts["trained"],
             counts["frozen"])
    return counts
