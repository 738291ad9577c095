"""`maskvat-foley install/uninstall resolve|hiero|blender` against temporary home folders, the
installed scripts themselves, and the OTIO plugin manifest as `otiopluginfo` sees it."""
from __future__ import annotations

import argparse
import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from maskvat_foley.plugin.cli_install import add_parsers
from maskvat_foley.plugin.hosts import HostError
from maskvat_foley.plugin.hosts.install import MARKER, default_dest, install, uninstall


def parse(argv):
    p = argparse.ArgumentParser()
    add_parsers(p.add_subparsers(dest="command"))
    return p.parse_args(argv)


def run_cli(argv):
    import importlib

    args = parse(argv)
    module, _, name = args.handler.partition(":")
    return getattr(importlib.import_module(module), name)(args)


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
    assert "nothing of maskvat-foley was installed" in (run_cli(["uninstall", "hiero"]) == 0 and capsys.readouterr().out)


def test_blender_newest_version_folder_and_dest(tmp_path, monkeypatch):
    env = {"HOME": str(tmp_path)}
    with pytest.raises(HostError, match="no Blender user folder"):
        default_dest("blender", "linux", env)
    for v in ("4.2", "5.0", "config-backup"):
        (tmp_path / ".config" / "blender" / v).mkdir(parents=True)
    path = install("blender", platform="linux", env=env)
    assert path == tmp_path / ".config" / "blender" / "5.0" / "scripts" / "addons" / "maskvat_foley_blender.py"
    text = path.read_text()
    assert text.startswith(MARKER) and "bl_info" in text
    compile(text, str(path), "exec")
    dest = tmp_path / "custom addons"
    assert run_cli(["install", "blender", "--dest", str(dest)]) == 0
    assert (dest / "maskvat_foley_blender.py").is_file()
    assert run_cli(["uninstall", "blender", "--dest", str(dest)]) == 0 and list(dest.iterdir()) == []


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
