"""On a machine without an NVIDIA GPU, install a CPU build of torch before the project, when pip can
find one (a "+cpu" release in a wheel folder or an index pip is configured with), within the
project's torch range. A CUDA build is several GB of libraries a CPU never uses: on a 2-core machine
the CPU build installs in a fifth of the time and leaves a venv a third the size.

Run by `make setup` with the venv's Python; it changes nothing (and says why) when there is a GPU,
when torch is already installed, when MASKVAT_FOLEY_TORCH=any, or when no CPU build is offered: pip
then installs torch as the project asks.
"""
from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text.split("+")[0])[:3])


def torch_range() -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(lowest, highest) torch release the project accepts, from pyproject.toml."""
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    spec = next(d for d in deps if re.match(r"torch\s*[<>=]", d))
    low = re.search(r">=\s*([\d.]+)", spec)
    high = re.search(r"<=\s*([\d.]+)", spec)
    return _version(low.group(1)) if low else (0,), _version(high.group(1)) if high else (999,)


def offered_cpu_builds() -> list[str]:
    """The "+cpu" torch releases pip can see, newest first ([] when pip cannot say)."""
    try:
        out = subprocess.run([sys.executable, "-m", "pip", "index", "versions", "torch"], capture_output=True,
                             text=True, timeout=120).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    line = next((ln for ln in out.splitlines() if ln.startswith("Available versions:")), "")
    versions = [v.strip() for v in line.partition(":")[2].split(",") if v.strip().endswith("+cpu")]
    return sorted(versions, key=_version, reverse=True)


def main() -> int:
    if os.environ.get("MASKVAT_FOLEY_TORCH", "").lower() == "any":
        return 0
    if shutil.which("nvidia-smi"):
        print("cpu_torch: an NVIDIA GPU driver is here; torch is installed as the project asks")
        return 0
    if importlib.util.find_spec("torch") is not None:
        return 0
    low, high = torch_range()
    fits = [v for v in offered_cpu_builds() if low <= _version(v) <= high]
    if not fits:
        print("cpu_torch: pip offers no CPU build of torch here; torch is installed as the project asks")
        return 0
    print(f"cpu_torch: no NVIDIA GPU; installing the CPU build torch=={fits[0]}")
    return subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", f"torch=={fits[0]}"]).returncode


if __name__ == "__main__":
    raise SystemExit(main())
