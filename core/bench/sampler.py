"""`maskvat-foley bench sampler`: MaskVAT sampling speed of a model preset, without codec or video.

Returns the real-time factor (generated audio seconds per wall-clock second) for a clip length,
step count, guidance and take count; numbers, not pass/fail (speed targets are not timed tests).
"""
from __future__ import annotations

import time
from fractions import Fraction

from maskvat_foley.core.jobs import GenerationParams

FRAME_RATE = Fraction(44100, 512)  # DAC 44.1 kHz token rate, shared by every codec preset
TAKES = 1


def run(preset: str = "default", *, variant: str | None = None, codebooks: int = 6, cond_dim: int = 512,
        seconds: int = 10, steps: int = GenerationParams.steps, guidance: float = GenerationParams.guidance,
        takes: int = TAKES, device: str = "cpu", threads: int = 0) -> dict:
    """Time ``generate_long`` on random conditioning, after a short warm-up run."""
    import torch

    from maskvat_foley.core.model.config import preset as model_preset
    from maskvat_foley.core.model.long import generate_long
    from maskvat_foley.core.model.transformer import MaskVAT, count_parameters

    if threads:
        torch.set_num_threads(threads)
    extra = {"variant": variant} if variant else {}
    cfg = model_preset(preset, n_codebooks=codebooks, codebook_size=1024, cond_dim=cond_dim, **extra)
    model = MaskVAT(cfg).to(device).eval()
    n = int(seconds * FRAME_RATE) + 1
    cond = torch.randn(1, n, cfg.cond_dim, device=device)
    gen = torch.Generator(device=device).manual_seed(0)
    generate_long(model, cond[:, :32], n_takes=1, steps=2, generator=gen)  # warm-up
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    t = time.perf_counter()
    generate_long(model, cond, n_takes=takes, steps=steps, guidance=guidance, generator=gen)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    dt = time.perf_counter() - t
    return {"preset": preset, "variant": cfg.variant, "parameters": count_parameters(model), "frames": n,
            "steps": steps, "guidance": guidance, "takes": takes, "device": device,
            "threads": torch.get_num_threads(), "wall_seconds": round(dt, 3),
            "realtime_factor": round(seconds * takes / dt, 2)}
