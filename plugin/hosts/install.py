"""Install and uninstall the host-side scripts into each host's per-user folder (or --dest).

Resolve and Hiero get one file, a template from ``hosts/scripts`` with its ``CONFIG`` line filled
with the Python that runs MaskVAT Foley and its site folders, so the host finds the package.
Blender gets the thin add-on package ``maskvat_foley_blender`` with a config.json naming that
Python (``blender_install``). Uninstall removes only what carries the MARKER line (a user's own
file of the same name stays).
"""
from __future__ import annotations

import os
import sys
import sysconfig
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from maskvat_foley.plugin.hosts import HostError

MARKER = "# maskvat-foley host script"
HOSTS = ("resolve", "hiero", "blender")


@dataclass(frozen=True)
class Spec:
    template: str  # file in hosts/scripts
    filename: str  # name in the host's folder


SPECS = {  # single-file hosts; Blender's package add-on is blender_install's
    "resolve": Spec("resolve_menu.py", "MaskVAT Foley.py"),
    "hiero": Spec("hiero_startup.py", "maskvat_foley_hiero.py"),
}


def _home(env) -> Path:
    return Path(env.get("HOME") or env.get("USERPROFILE") or os.path.expanduser("~"))


def _appdata(env) -> Path:
    if not env.get("APPDATA"):
        raise HostError("APPDATA is not set: give the folder with --dest")
    return Path(env["APPDATA"])


def default_dest(host: str, platform: str | None = None, env=None) -> Path:
    """The per-user folder each host scans (Blender: see ``blender_install.addons_folder``)."""
    platform, env = platform or sys.platform, os.environ if env is None else env
    home = _home(env)
    if host == "resolve":
        if platform == "win32":
            base = _appdata(env) / "Blackmagic Design" / "DaVinci Resolve" / "Support" / "Fusion" / "Scripts"
        elif platform == "darwin":
            base = (home / "Library" / "Application Support" / "Blackmagic Design" / "DaVinci Resolve" / "Fusion"
                    / "Scripts")
        else:
            base = home / ".local" / "share" / "DaVinciResolve" / "Fusion" / "Scripts"
        return base / "Utility"  # listed under Workspace > Scripts on every page
    if host == "hiero":
        return home / ".nuke" / "Python" / "Startup"
    if host == "blender":
        from maskvat_foley.plugin.hosts.blender_install import addons_folder

        return addons_folder(platform, env)
    raise HostError(f"unknown host {host!r}; expected one of {', '.join(HOSTS)}")


def config() -> dict:
    """Where MaskVAT Foley lives: this Python and its site folders (with .pth files, editable or not)."""
    paths = sysconfig.get_paths()
    site = list(dict.fromkeys([paths["purelib"], paths["platlib"]]))
    return {"python": sys.executable, "python_version": list(sys.version_info[:2]), "site": site}


def render(host: str, cfg: dict | None = None) -> str:
    text = (resources.files("maskvat_foley.plugin.hosts.scripts") / SPECS[host].template).read_text(encoding="utf-8")
    line = "CONFIG: dict = {}"
    if text.count(line) != 1 or not text.startswith(MARKER):
        raise HostError(f"broken template {SPECS[host].template}: needs one {line!r} line and the marker")
    return text.replace(line, f"CONFIG: dict = {cfg or config()!r}")


def install(host: str, dest: str | os.PathLike | None = None, *, platform: str | None = None, env=None) -> Path:
    """Write the host script (Blender: the add-on folder); returns its path. Refuses to overwrite
    what we did not write."""
    if host not in HOSTS:
        raise HostError(f"unknown host {host!r}; expected one of {', '.join(HOSTS)}")
    folder = Path(dest) if dest is not None else default_dest(host, platform, env)
    if host == "blender":
        from maskvat_foley.plugin.hosts.blender_install import install_addon

        return install_addon(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / SPECS[host].filename
    if target.exists() and not _ours(target):
        raise HostError(f"{target} exists and was not written by maskvat-foley; move it away first")
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(render(host), encoding="utf-8")
    os.replace(tmp, target)
    return target


def uninstall(host: str, dest: str | os.PathLike | None = None, *, platform: str | None = None, env=None) -> list[Path]:
    """Remove what install wrote (and the host's compiled copies of it); returns what was removed."""
    if host not in HOSTS:
        raise HostError(f"unknown host {host!r}; expected one of {', '.join(HOSTS)}")
    folder = Path(dest) if dest is not None else default_dest(host, platform, env)
    if host == "blender":
        from maskvat_foley.plugin.hosts.blender_install import uninstall_addon

        return uninstall_addon(folder)
    target = folder / SPECS[host].filename
    removed = []
    if target.is_file():
        if not _ours(target):
            raise HostError(f"{target} was not written by maskvat-foley; left alone")
        target.unlink()
        removed.append(target)
    stem = target.stem
    cache = folder / "__pycache__"
    for pyc in cache.glob(f"{stem}.*.pyc") if cache.is_dir() else []:
        pyc.unlink()
        removed.append(pyc)
    return removed


def _ours(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.readline().startswith(MARKER)
    except OSError:
        return False
