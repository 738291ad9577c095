"""Research probe (issue #11): run a `maskvat-foley` command with classifier-free guidance pushed away
from an altered picture instead of from no picture: the sampler's unconditional rows get the clip's
own features changed in time, ``logits = n + g (c - n)``, at the same cost. ``--neg still`` is the
clip's features averaged over time (the scene with nothing moving), ``--neg smooth --width W`` a
moving average over W code frames (the picture without its fast changes). Measured in
docs/footage_experiment.md ("Held-out footage"); not a product setting.

    python scripts/negative_guidance_probe.py [--neg still|smooth] [--width 21] -- eval --set real ...
"""
from __future__ import annotations

import argparse
import sys

import torch
import torch.nn.functional as F


def altered(cond: torch.Tensor, kind: str, width: int) -> torch.Tensor:
    """``cond`` [B, N, D] with nothing moving (still) or its changes over ``width`` frames averaged out."""
    if kind == "still":
        return cond.mean(dim=1, keepdim=True).expand_as(cond).contiguous()
    x = F.pad(cond.transpose(1, 2), (width // 2, width - 1 - width // 2), mode="replicate")
    kernel = torch.full((x.shape[1], 1, width), 1.0 / width, dtype=x.dtype, device=x.device)
    return F.conv1d(x, kernel, groups=x.shape[1]).transpose(1, 2).contiguous()


def main(argv: list[str]) -> int:
    if "--" not in argv:
        raise SystemExit("usage: negative_guidance_probe.py [--neg still|smooth] [--width W] -- COMMAND ...")
    split = argv.index("--")
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--neg", choices=("still", "smooth"), default="still")
    p.add_argument("--width", type=int, default=21, help="code frames averaged by --neg smooth")
    a = p.parse_args(argv[:split])

    from maskvat_foley.core.model import sampler
    from maskvat_foley.plugin.cli import main as cli

    plain_context, plain_logits = sampler.guidance_context, sampler.guided_logits

    def context(model, cond, guidance, batch, reference=None, ref_guidance=sampler.REF_GUIDANCE):
        if reference is not None or guidance in (0, 1):
            return plain_context(model, cond, guidance, batch, reference, ref_guidance)
        c = cond.expand(batch, -1, -1)
        keep = torch.zeros(2 * batch, dtype=torch.bool, device=cond.device)
        return ("negative", model.encode_condition(torch.cat([c, altered(c, a.neg, a.width)]), keep, 2 * batch,
                                                   cache_mods=False))

    def logits(model, codes, cond, guidance, heads=None, context=None, reference=None,
               ref_guidance=sampler.REF_GUIDANCE):
        if not (isinstance(context, tuple) and context[0] == "negative"):
            return plain_logits(model, codes, cond, guidance, heads, context, reference, ref_guidance)
        b = codes.shape[0]
        both = model.decode_tokens(torch.cat([codes, codes]), context[1], heads=heads).float()
        return both[b:] + guidance * (both[:b] - both[b:])

    sampler.guidance_context, sampler.guided_logits = context, logits
    return cli(argv[split + 1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
