"""The package from a plain checkout: a copy of the repository outside the installed location, on
PYTHONPATH, with no install of the project. ``-S`` keeps the site module out, so no .pth file (the
editable install's mapping among them) is read: what is found, the copy's own package finds."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_FOLDERS = ("maskvat_foley", "core", "ui", "plugin", "resources")


def checkout_copy(dest: Path) -> Path:
    for name in PACKAGE_FOLDERS:
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.safetensors"))
    for name in ("pyproject.toml", "setup.py"):
        shutil.copy2(ROOT / name, dest / name)
    return dest


def run_python(args: list[str], pythonpath: list[Path], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, pythonpath))}
    return subprocess.run([sys.executable, "-S", "-B", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)


def test_help_runs_from_a_checkout_with_nothing_installed(tmp_path):
    copy = checkout_copy(tmp_path / "clone")
    done = run_python(["-m", "maskvat_foley", "--help"], [copy], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "generate" in done.stdout and "engine" in done.stdout
    sub = run_python(["-m", "maskvat_foley", "generate", "--help"], [copy], tmp_path)
    assert sub.returncode == 0 and "(default: 16)" in sub.stdout, sub.stderr


def test_subpackages_come_from_the_checkout(tmp_path):
    copy = checkout_copy(tmp_path / "clone")
    dependencies = Path(sysconfig.get_paths()["purelib"])  # torch, OTIO, Qt ...: installed, the project not
    code = ("import maskvat_foley.core.pipeline as p, maskvat_foley.ui.session as s, "
            "maskvat_foley.plugin.cli as c, maskvat_foley.resources as r; "
            "print(p.__file__, s.__file__, c.__file__, r.__file__, sep='\\n')")
    done = run_python(["-c", code], [copy, dependencies], tmp_path)
    assert done.returncode == 0, done.stderr
    files = [Path(line) for line in done.stdout.split()]
    assert files == [copy / "core" / "pipeline.py", copy / "ui" / "session.py", copy / "plugin" / "cli.py",
                     copy / "resources" / "__init__.py"]
