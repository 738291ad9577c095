"""Sampling speed of a MaskVAT preset: ``python -m maskvat_foley.core.model.bench``.

Prints the real-time factor (generated audio seconds per wall-clock second) for a clip length,
step count, guidance and take count; numbers, not pass/fail (speed targets are not timed tests).
"""
from __future__ import annotations

import argparse
import time
from fractions import Fraction

import torch

from maskvat_foley.core.model.config import preset
from maskvat_foley.core.model.long import generate_long
from maskvat_foley.core.model.transformer import MaskVAT, count_parameters

FRAME_RATE = Fraction(44100, 512)  # DAC 44.1 kHz token rate, shared by every codec preset


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="default")
    ap.add_argument("--variant", default=None, choices=["adaln", "seq2seq", "hybrid"])
    ap.add_argument("--codebooks", type=int, default=6, help="6: the 'small' codec; 9: official DAC")
    ap.add_argument("--cond-dim", type=int, default=512)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--steps", type=int, default=16)
    ap.add_argument("--guidance", type=float, default=3.0)
    ap.add_argument("--takes", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    a = ap.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    extra = {"variant": a.variant} if a.variant else {}
    cfg = preset(a.preset, n_codebooks=a.codebooks, codebook_size=1024, cond_dim=a.cond_dim, **extra)
    model = MaskVAT(cfg).to(a.device).eval()
    n = int(a.seconds * FRAME_RATE) + 1
    cond = torch.randn(1, n, cfg.cond_dim, device=a.device)
    gen = torch.Generator(device=a.device).manual_seed(0)
    generate_long(model, cond[:, :32], n_takes=1, steps=2, generator=gen)  # warm-up
    if a.device.startswith("cuda"):
        torch.cuda.synchronize()
    t = time.perf_counter()
    generate_long(model, cond, n_takes=a.takes, steps=a.steps, guidance=a.guidance, generator=gen)
    if a.device.startswith("cuda"):
        torch.cuda.synchronize()
    dt = time.perf_counter() - t
    print(f"preset={a.preset} variant={cfg.variant} params={count_parameters(model) / 1e6:.2f}M "
          f"frames={n} steps={a.steps} guidance={a.guidance} takes={a.takes} device={a.device} "
          f"threads={torch.get_num_threads()}: {dt:.2f} s, real-time factor "
          f"{a.seconds * a.takes / dt:.2f}x")


if __name__ == "__main__":
    main()
