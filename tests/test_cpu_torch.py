"""scripts/cpu_torch.py: `make setup` puts a CPU build of torch in first on a machine without an
NVIDIA GPU, when pip offers one within the project's torch range, and otherwise leaves torch to pip."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "cpu_torch.py"


def _module():
    spec = importlib.util.spec_from_file_location("cpu_torch", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_range_is_the_projects_and_cpu_builds_are_picked_newest_first(monkeypatch):
    mod = _module()
    assert mod.torch_range() == ((2, 4), (2, 14, 1))  # pyproject.toml: torch>=2.4,<=2.14.1

    class Done:
        stdout = ("torch (2.15.0)\nAvailable versions: 2.15.0+cpu, 2.15.0, 2.14.1, 2.13.0+cpu, 2.13.0, "
                  "2.9.1+cpu, 2.3.1+cpu\n  INSTALLED: 2.13.0+cpu\n")

    monkeypatch.setattr(mod.subprocess, "run", lambda *a, **k: Done())
    offered = mod.offered_cpu_builds()
    assert offered == ["2.15.0+cpu", "2.13.0+cpu", "2.9.1+cpu", "2.3.1+cpu"]
    low, high = mod.torch_range()
    assert [v for v in offered if low <= mod._version(v) <= high][0] == "2.13.0+cpu"


def _run(tmp_path: Path, gpu: bool, **env) -> subprocess.CompletedProcess:
    bin_dir = tmp_path / ("gpu-bin" if gpu else "bin")
    bin_dir.mkdir(exist_ok=True)
    if gpu:
        smi = bin_dir / "nvidia-smi"
        smi.write_text("#!/bin/sh\nexit 0\n")
        smi.chmod(0o755)
    path = os.pathsep.join([str(bin_dir), *(p for p in os.environ["PATH"].split(os.pathsep)
                                            if not (Path(p) / "nvidia-smi").exists())])
    return subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PATH": path, **env})


def test_a_gpu_machine_or_an_installed_torch_is_left_alone(tmp_path):
    gpu = _run(tmp_path, gpu=True)
    assert gpu.returncode == 0 and "NVIDIA GPU driver is here" in gpu.stdout
    # this venv has torch: nothing to do, nothing installed (pip would take seconds and print)
    cpu = _run(tmp_path, gpu=False)
    assert cpu.returncode == 0 and cpu.stdout == ""
    assert _run(tmp_path, gpu=True, MASKVAT_FOLEY_TORCH="any").stdout == ""
