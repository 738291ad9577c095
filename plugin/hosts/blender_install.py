"""Blender's part of `maskvat-foley install`: the user add-ons folder Blender scans, and the add-on
package written there with a config.json naming the Python that runs MaskVAT Foley.

The folder follows Blender's own rule: ``$BLENDER_USER_SCRIPTS/addons``, else
``$BLENDER_USER_RESOURCES/scripts/addons``, else ``<user folder>/<version>/scripts/addons`` (the
newest version folder; when Blender never ran, the version of the Blender that is installed).
``$BLENDER_USER_CONFIG`` moves only Blender's preferences, not its add-ons (Blender 3.4 checked).
"""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

from maskvat_foley.plugin.hosts import HostError
from maskvat_foley.plugin.hosts.install import MARKER

log = logging.getLogger(__name__)

ADDON = "maskvat_foley_blender"  # the module name Blender lists and enables
TEMPLATE = "blender_addon"  # its source package in hosts/scripts
CONFIG_FILE = "config.json"
LEGACY_FILE = "maskvat_foley_blender.py"  # the single-file add-on of earlier versions
VERSION_TIMEOUT_S = 60


def user_base(platform: str, env) -> Path:
    """Blender's per-user folder holding one folder per version."""
    home = Path(env.get("HOME") or env.get("USERPROFILE") or os.path.expanduser("~"))
    if platform == "win32":
        if not env.get("APPDATA"):
            raise HostError("APPDATA is not set: give the folder with --dest")
        return Path(env["APPDATA"]) / "Blender Foundation" / "Blender"
    if platform == "darwin":
        return home / "Library" / "Application Support" / "Blender"
    return Path(env.get("XDG_CONFIG_HOME") or home / ".config") / "blender"


def addons_folder(platform: str | None = None, env=None, *, find_version=None) -> Path:
    """Where Blender looks for this user's add-ons (created by ``install`` when missing)."""
    platform, env = platform or sys.platform, os.environ if env is None else env
    if env.get("BLENDER_USER_SCRIPTS"):
        return Path(env["BLENDER_USER_SCRIPTS"]) / "addons"
    if env.get("BLENDER_USER_RESOURCES"):
        return Path(env["BLENDER_USER_RESOURCES"]) / "scripts" / "addons"
    base = user_base(platform, env)
    versions = sorted((p.name for p in base.glob("*") if re.fullmatch(r"\d+\.\d+", p.name) and p.is_dir()),
                      key=lambda v: tuple(map(int, v.split("."))))
    version = versions[-1] if versions else (find_version or installed_version)(platform, env)
    if version is None:
        raise HostError(f"no Blender user folder under {base} and no Blender found to ask its version: "
                        "start Blender once, set BLENDER_USER_SCRIPTS, or give --dest "
                        "<Blender user folder>/<version>/scripts/addons")
    return base / version / "scripts" / "addons"


def installed_version(platform: str, env) -> str | None:
    """'X.Y' of the Blender on PATH (or in the usual place on macOS / Windows), else None."""
    if platform == "win32":  # "…\Blender Foundation\Blender 4.2\blender.exe": the folder says it
        names = [p.parent.name for p in Path(env.get("ProgramFiles") or r"C:\Program Files").glob(
            "Blender Foundation/Blender */blender.exe")]
        found = sorted((m.group(1) for n in names if (m := re.fullmatch(r"Blender (\d+\.\d+)", n))),
                       key=lambda v: tuple(map(int, v.split("."))))
        if found:
            return found[-1]
    exe = shutil.which("blender", path=env.get("PATH", ""))
    mac = "/Applications/Blender.app/Contents/MacOS/Blender"
    if exe is None and platform == "darwin" and os.path.isfile(mac):
        exe = mac
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, env=dict(env),
                             timeout=VERSION_TIMEOUT_S, stdin=subprocess.DEVNULL).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("could not ask %s for its version: %s", exe, exc)
        return None
    m = re.search(r"^Blender (\d+)\.(\d+)", out, re.M)
    return f"{m.group(1)}.{m.group(2)}" if m else None


def config() -> dict:
    """What the add-on needs: the Python running this (the environment MaskVAT Foley is in)."""
    from maskvat_foley import __version__

    return {"python": sys.executable, "python_version": list(sys.version_info[:2]), "version": __version__}


def _template_files() -> list:
    folder = resources.files("maskvat_foley.plugin.hosts.scripts") / TEMPLATE
    return sorted((f for f in folder.iterdir() if f.name.endswith(".py")), key=lambda f: f.name)


def install_addon(folder: Path, cfg: dict | None = None) -> Path:
    """Write the add-on package into ``folder``; returns its folder. Replaces only our own files
    (each one atomically; a user's extra file in the folder stays)."""
    target = folder / ADDON
    if target.exists() and not ours(target):
        raise HostError(f"{target} exists and was not written by maskvat-foley; move it away first")
    files = {f.name: f.read_text(encoding="utf-8") for f in _template_files()}
    if not files.get("__init__.py", "").startswith(MARKER):
        raise HostError(f"broken add-on template {TEMPLATE}: its __init__.py lacks the marker")
    files[CONFIG_FILE] = json.dumps(cfg or config(), indent=1) + "\n"
    target.mkdir(parents=True, exist_ok=True)
    _remove_legacy(folder)
    # __init__.py last: until it is there (fresh install), Blender lists no half add-on.
    for name in sorted(files, key=lambda n: n == "__init__.py"):
        tmp = target / f".{name}.{os.getpid()}.tmp"
        tmp.write_text(files[name], encoding="utf-8")
        os.replace(tmp, target / name)
    return target


def uninstall_addon(folder: Path) -> list[Path]:
    """Remove the files install wrote and Blender's compiled copies; returns them."""
    target = folder / ADDON
    removed = _remove_legacy(folder)
    if not target.is_dir():
        return removed
    if not ours(target):
        raise HostError(f"{target} was not written by maskvat-foley; left alone")
    names = {f.name for f in _template_files()} | {CONFIG_FILE}
    for path in sorted(target.iterdir()):
        if path.name in names:
            path.unlink()
            removed.append(path)
    cache = target / "__pycache__"
    stems = {n.rsplit(".", 1)[0] for n in names}
    for pyc in sorted(cache.glob("*.pyc")) if cache.is_dir() else []:
        if pyc.name.split(".", 1)[0] in stems:
            pyc.unlink()
            removed.append(pyc)
    for empty in (cache, target):
        if empty.is_dir() and not any(empty.iterdir()):
            empty.rmdir()
    return removed


def _remove_legacy(folder: Path) -> list[Path]:
    """The single-file add-on of earlier versions has the same module name: it must go."""
    legacy = folder / LEGACY_FILE
    if not (legacy.is_file() and ours(legacy)):
        return []
    legacy.unlink()
    cache = folder / "__pycache__"
    pycs = sorted(cache.glob(f"{legacy.stem}.*.pyc")) if cache.is_dir() else []
    for pyc in pycs:
        pyc.unlink()
    return [legacy, *pycs]


def ours(path: Path) -> bool:
    """A file, or a package folder's __init__.py, whose first line is the MARKER."""
    path = path / "__init__.py" if path.is_dir() else path
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.readline().startswith(MARKER)
    except OSError:
        return False
