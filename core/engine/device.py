"""Choosing the compute device and precision, and reporting its memory."""
from __future__ import annotations

import contextlib
import logging

import torch

log = logging.getLogger(__name__)


def pick_device(spec: str = "auto") -> torch.device:
    """'auto' takes CUDA, then Apple MPS, then the CPU; otherwise the named device, checked."""
    spec = (spec or "auto").strip().lower()
    if spec == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(spec)
    except RuntimeError:
        raise ValueError(f"unknown device {spec!r} (use auto, cpu, cuda, cuda:N or mps)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {spec!r} asked for, but no CUDA GPU is available here")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device 'mps' asked for, but Apple MPS is not available here")
    return device


def autocast(device: torch.device):
    """bf16 autocast on CUDA (where the tensor cores are); full precision elsewhere."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def dtype_name(device: torch.device) -> str:
    return "bfloat16-autocast" if device.type == "cuda" else "float32"


def memory_info(device: torch.device) -> dict:
    """Total and free memory of the device in MB (system memory for the CPU)."""
    if device.type == "cuda":
        free, total = torch.cuda.mem_get_info(device)
        return {"total_mb": total // 2**20, "free_mb": free // 2**20,
                "name": torch.cuda.get_device_name(device)}
    try:
        import os

        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        avail = os.sysconf("SC_AVPHYS_PAGES")
        return {"total_mb": pages * size // 2**20, "free_mb": avail * size // 2**20,
                "name": device.type}
    except (ValueError, OSError, AttributeError):
        return {"name": device.type}


def is_out_of_memory(exc: BaseException) -> bool:
    if isinstance(exc, getattr(torch.cuda, "OutOfMemoryError", ())):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()
