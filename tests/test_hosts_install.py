"""`maskvat-foley install/uninstall resolve|hiero|blender` against temporary home folders, the
installed scripts themselves, and the OTIO plugin manifest as `otiopluginfo` sees it."""
from __future__ import annotations

import argparse
import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from maskvat_foley.plugin.cli_install import add_parser
from maskvat_foley.plugin.hosts import HostError
from maskvat_foley.plugin.hosts.install import MARKER, default_dest, install, uninstall


def parse(argv):
    p = argparse.ArgumentParser()
    add_parser(p.add_subparsers(dest="command"))
    return p.parse_args(argv)


def run_cli(argv):
    args = parse(argv)
    return args.handler(args)


def installed_config(path: Path) -> dict:
    tree = ast.parse(path.read_text())
    (node,) = [n for n in tree.body if isinstance(n, ast.AnnAssign) and getattr(n.target, "id", "") == "CONFIG"]
    return ast.literal_eval(node.value)


@pytest.mark.parametrize("platform,expected", [
    ("linux", ".local/share/DaVinciResolve/Fusion/Scripts/Utility"),
    ("darwin", "Library/Application Support/Blackmagic Design/DaVinci Resolve/Fusion/Scripts/Utility"),
    ("win32", "AppData/Roaming/Blackmagic Design/DaVinci Resolve/Support/Fusion/Scripts/Utility"),
])
def test_resolve_folders_per_platform(tmp_path, platform, expected):
    env = {"HOME": str(tmp_path), "APPDATA": str(tmp_path / "AppData" / "Roaming")}
    assert default_dest("resolve", platform, env) == tmp_path / expected
    path = install("resolve", platform=platform, env=env)
    assert path == tmp_path / expected / "MaskVAT Foley.py"
    assert installed_config(path)["python"] == sys.executable
    assert uninstall("resolve", platform=platform, env=env) == [path] and not path.exists()
    with pytest.raises(HostError, match="APPDATA"):
        default_dest("resolve", "win32", {"HOME": str(tmp_path)})


def test_cli_install_uninstall_with_home(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    startup = tmp_path / ".nuke" / "Python" / "Startup"
    startup.mkdir(parents=True)
    (startup / "studio_menu.py").write_text("# the user's own startup script\n")
    assert run_cli(["install", "hiero"]) == 0
    written = startup / "maskvat_foley_hiero.py"
    assert f"installed the hiero script: {written}" in capsys.readouterr().out
    cfg = installed_config(written)
    assert cfg["python_version"] == list(sys.version_info[:2]) and cfg["site"]
    # The host compiled it; uninstall removes our file and its .pyc, nothing else.
    cache = startup / "__pycache__"
    cache.mkdir()
    (cache / "maskvat_foley_hiero.cpython-311.pyc").write_bytes(b"x")
    (cache / "studio_menu.cpython-311.pyc").write_bytes(b"x")
    assert run_cli(["uninstall", "hiero"]) == 0
    assert sorted(p.relative_to(startup).as_posix() for p in startup.rglob("*")) == [
        "__pycache__", "__pycache__/studio_menu.cpython-311.pyc", "studio_menu.py"]
    assert "nothing of maskvat-foley was installed" in (run_cli(["uninstall", "hiero"]) == 0
                                                        and capsys.readouterr().out)


def test_blender_newest_version_folder_and_dest(tmp_path, monkeypatch):
    env = {"HOME": str(tmp_path)}  # no PATH: no Blender to ask for its version either
    with pytest.raises(HostError, match="no Blender user folder"):
        default_dest("blender", "linux", env)
    for v in ("4.2", "5.0", "config-backup"):
        (tmp_path / ".config" / "blender" / v).mkdir(parents=True)
    path = install("blender", platform="linux", env=env)
    assert path == tmp_path / ".config" / "blender" / "5.0" / "scripts" / "addons" / "maskvat_foley_blender"
    init = (path / "__init__.py").read_text()
    assert init.startswith(MARKER) and "bl_info" in init and '"blender": (3, 4, 0)' in init
    for py in path.glob("*.py"):
        compile(py.read_text(), str(py), "exec")
    assert json.loads((path / "config.json").read_text())["python"] == sys.executable
    dest = tmp_path / "custom addons"
    monkeypatch.setenv("HOME", str(tmp_path))
    assert run_cli(["install", "blender", "--dest", str(dest)]) == 0
    assert (dest / "maskvat_foley_blender" / "config.json").is_file()
    (dest / "maskvat_foley_blender" / "__pycache__").mkdir()
    (dest / "maskvat_foley_blender" / "__pycache__" / "engine.cpython-311.pyc").write_bytes(b"x")
    assert run_cli(["uninstall", "blender", "--dest", str(dest)]) == 0 and list(dest.iterdir()) == []


@pytest.mark.parametrize("platform,env,expected", [
    ("linux", {}, ".config/blender/4.2/scripts/addons"),
    ("linux", {"XDG_CONFIG_HOME": "xdg"}, "xdg/blender/4.2/scripts/addons"),
    ("darwin", {}, "Library/Application Support/Blender/4.2/scripts/addons"),
    ("win32", {"APPDATA": "AppData/Roaming"}, "AppData/Roaming/Blender Foundation/Blender/4.2/scripts/addons"),
    ("linux", {"BLENDER_USER_RESOURCES": "res"}, "res/scripts/addons"),
    ("win32", {"BLENDER_USER_SCRIPTS": "scripts", "BLENDER_USER_RESOURCES": "res"}, "scripts/addons"),
    ("linux", {"BLENDER_USER_CONFIG": "cfg"}, ".config/blender/4.2/scripts/addons"),  # moves prefs only
])
def test_blender_folder_before_blender_ever_ran(tmp_path, platform, env, expected):
    """No version folder yet: the installed Blender's version names it (asked by
    ``installed_version``; tests/test_blender_real.py asks the real one)."""
    from maskvat_foley.plugin.hosts.blender_install import addons_folder

    env = {"HOME": str(tmp_path), **{k: str(tmp_path / v) for k, v in env.items()}}
    asked = []
    folder = addons_folder(platform, env, find_version=lambda p, e: asked.append(p) or "4.2")
    assert folder == tmp_path / expected
    assert asked == ([] if "BLENDER_USER_SCRIPTS" in env or "BLENDER_USER_RESOURCES" in env else [platform])


def test_blender_addon_replaces_only_its_own(tmp_path):
    legacy = tmp_path / "maskvat_foley_blender.py"  # the single-file add-on of earlier versions
    legacy.write_text(MARKER + ": Blender add-on\n")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "maskvat_foley_blender.cpython-311.pyc").write_bytes(b"x")
    path = install("blender", tmp_path)
    assert not legacy.exists() and list((tmp_path / "__pycache__").iterdir()) == []
    (path / "notes.txt").write_text("the user's own file\n")
    assert install("blender", tmp_path) == path and (path / "notes.txt").is_file()  # reinstall in place
    removed = uninstall("blender", tmp_path)
    assert path / "config.json" in removed and [p.name for p in path.iterdir()] == ["notes.txt"]
    foreign = tmp_path / "other" / "maskvat_foley_blender"
    foreign.mkdir(parents=True)
    (foreign / "__init__.py").write_text("bl_info = {}\n")
    with pytest.raises(HostError, match="not written by maskvat-foley"):
        install("blender", tmp_path / "other")
    with pytest.raises(HostError, match="left alone"):
        uninstall("blender", tmp_path / "other")
    assert (foreign / "__init__.py").read_text() == "bl_info = {}\n"


def test_foreign_file_is_never_overwritten_or_removed(tmp_path):
    own = tmp_path / "MaskVAT Foley.py"
    own.write_text("print('mine')\n")
    with pytest.raises(HostError, match="not written by maskvat-foley"):
        install("resolve", tmp_path)
    with pytest.raises(HostError, match="left alone"):
        uninstall("resolve", tmp_path)
    assert own.read_text() == "print('mine')\n"
    with pytest.raises(SystemExit):
        parse(["install", "premiere"])


def test_installed_hiero_script_registers_in_a_host(tmp_path, monkeypatch, qapp):
    """Run the installed startup file as Nuke would (exec), against the hiero stand-in."""
    import test_hosts_hiero as th

    from maskvat_foley.plugin.hosts import hiero as bridge_module

    monkeypatch.setattr(bridge_module, "_REGISTERED", {})
    windows, interests = th.install_fake(monkeypatch, None)
    path = install("hiero", tmp_path)
    exec(compile(path.read_text(), str(path), "exec"), {"__name__": "maskvat_foley_hiero"})
    assert [w.windowTitle() for w in windows] == ["MaskVAT Foley"] and "kShowContextMenu/kTimeline" in interests


def test_otiopluginfo_lists_the_media_linker():
    exe = Path(sys.executable).with_name("otiopluginfo")
    out = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "OTIO_PLUGIN_MANIFEST_PATH": ""})
    assert out.returncode == 0, out.stderr
    assert "maskvat_foley_relink" in out.stdout
