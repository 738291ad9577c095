"""The Blender add-on in real Blender, headless: `maskvat-foley install blender` into a user folder
that does not exist yet, Blender enables it, builds two scenes (23.976 and 29.97 drop frame) from
real movie files, runs the operator with the engine auto-started from the recorded interpreter
(a tiny random model on the CPU), and mixes the scene down with its own audio engine.

Checks: the sound strips (channel, frame, length), each take's samples and Broadcast WAV
TimeReference, the take's position in Blender's mixdown (within 1 ms), that nothing of the project
entered Blender's Python, and that the engine is gone when Blender quits. One Blender run.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import soundfile
import wavinfo

from editors import require
from maskvat_foley.core.timeline import rates
from test_hosts_helpers import video

DRIVER = Path(__file__).with_name("blender_foley_driver.py")
SR = 48000
FILM, NTSC = Fraction(24000, 1001), Fraction(30000, 1001)
TIMEOUT_S = 600  # the whole Blender run: engine start, three generations, two mixdowns


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def scenes(media: Path) -> list[dict]:
    """Movie strips as an editor would lay them out; 'expect' is the sound strip each should get."""
    paths = {name: video(media / f"{name}.mp4", n, rate, shade)
             for name, n, rate, shade in (("a", 40, FILM, 40), ("b", 30, FILM, 90), ("c", 20, FILM, 150),
                                          ("d", 30, NTSC, 120))}
    return [
        {"name": "Edit 23976", "fps": 24, "fps_base": 1.001, "frame_start": 1, "frame_end": 130,
         "rate": [24000, 1001], "origin": "00:00:00:00",
         "strips": [{"name": "a", "path": paths["a"], "channel": 1, "frame_start": 9, "trim": 4, "select": True,
                     "expect": [3, 13, 36]},  # channel above both movie channels; trimmed by 4
                    {"name": "b", "path": paths["b"], "channel": 2, "frame_start": 61, "select": True,
                     "expect": [3, 61, 30]},
                    {"name": "c", "path": paths["c"], "channel": 1, "frame_start": 101, "select": False}]},
        {"name": "Edit 2997", "fps": 30, "fps_base": 1.001, "frame_start": 1, "frame_end": 60,
         "rate": [30000, 1001], "origin": "00:59:59;00", "start_timecode": "00:59:59;00",
         "strips": [{"name": "d", "path": paths["d"], "channel": 1, "frame_start": 20, "select": True,
                     "expect": [2, 20, 30]}]},
    ]


def run_blender(blender: str, spec_path: Path, env: dict) -> subprocess.CompletedProcess:
    """Blender in its own process group, so a timeout also ends the engine it started."""
    proc = subprocess.Popen([blender, "-b", "--python-exit-code", "1", "--python", str(DRIVER), "--",
                             str(spec_path)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, start_new_session=True, stdin=subprocess.DEVNULL)
    try:
        out, _ = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"Blender did not finish within {TIMEOUT_S} s:\n{out[-4000:]}")
    finally:
        try:  # anything of the run still alive (an engine the add-on failed to stop) goes too
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return subprocess.CompletedProcess(proc.args, proc.returncode, out)


def offset_in_mixdown(mix: np.ndarray, take: np.ndarray) -> tuple[int, float]:
    """(lag in samples, normalised correlation there) of ``take`` inside ``mix``."""
    n = len(mix) + len(take)
    corr = np.fft.irfft(np.fft.rfft(mix, n) * np.conj(np.fft.rfft(take, n)), n)[:len(mix) - len(take) + 1]
    lag = int(np.argmax(corr))
    seg = mix[lag:lag + len(take)]
    return lag, float(corr[lag] / (np.linalg.norm(seg) * np.linalg.norm(take) + 1e-12))


def test_addon_in_real_blender(tiny_model, tmp_path):
    blender = require("blender")
    home, media = tmp_path / "home", tmp_path / "media"
    for d in (home, media, tmp_path / "blender-config", tmp_path / "tmp", tmp_path / "mix"):
        d.mkdir()
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("XDG_CONFIG_HOME", "BLENDER_USER_SCRIPTS", "BLENDER_USER_RESOURCES",
                        "MASKVAT_FOLEY_PYTHON", "PYTHONPATH", "PYTHONHOME")}
    env.update({
        "HOME": str(home), "BLENDER_USER_CONFIG": str(tmp_path / "blender-config"),
        "TMPDIR": str(tmp_path / "tmp"), "MASKVAT_FOLEY_WORK_DIR": str(tmp_path / "work"),
        "MASKVAT_FOLEY_MODEL": tiny_model, "MASKVAT_FOLEY_DEVICE": "cpu",
        "MASKVAT_FOLEY_ENGINE": f"http://127.0.0.1:{port}",
        # The shell of issue #13 (b): the project's environment first on PATH.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    })
    assert "MASKVAT_FOLEY_CONFIG_DIR" in env  # conftest: the engine token stays in tmp

    # Blender never ran here: install creates the user add-ons folder of the installed version.
    done = subprocess.run([sys.executable, "-m", "maskvat_foley", "install", "blender"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    (folder,) = (home / ".config" / "blender").iterdir()
    addon = folder / "scripts" / "addons" / "maskvat_foley_blender"
    config = json.loads((addon / "config.json").read_text())
    assert config["python"] == sys.executable

    spec = {"out": str(tmp_path / "result.json"), "mix_dir": str(tmp_path / "mix"), "sample_rate": SR,
            "operator": {"takes": 1, "steps": 2, "guidance": 1.0, "seed": 7}, "scenes": scenes(media)}
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(spec))
    run = run_blender(blender, spec_path, env)
    assert run.returncode == 0, run.stdout[-4000:]
    result = json.loads(Path(spec["out"]).read_text())

    assert folder.name == "{}.{}".format(*result["blender"][:2]) and result["enabled"]
    # The add-on imports nothing of the project and adds nothing to Blender's path.
    assert result["project_modules"] == [] and result["sys_path_after"] == result["sys_path"]
    cmd = result["engine_cmdline"]
    assert cmd[:5] == [sys.executable, "-m", "maskvat_foley", "engine", "serve"], cmd
    assert cmd[cmd.index("--model") + 1] == tiny_model and cmd[cmd.index("--device") + 1] == "cpu"
    assert not alive(result["engine_pid"]), "the engine the add-on started outlived Blender"

    for sc in spec["scenes"]:
        shown = result["scenes"][sc["name"]]
        assert shown["status"] == ["FINISHED"], run.stdout[-4000:]
        sounds = {s["name"]: s for s in shown["strips"] if s["type"] == "SOUND"}
        wanted = {f"{s['name']} Foley": s for s in sc["strips"] if s["select"]}
        assert sorted(sounds) == sorted(wanted)
        rate = Fraction(*sc["rate"])
        origin = rates.from_timecode(sc["origin"], rate)
        mix, mix_sr = soundfile.read(shown["mixdown"], dtype="float64")
        assert mix_sr == SR
        for name, s in sounds.items():
            channel, frame, length = wanted[name]["expect"]
            assert (s["channel"], s["frame_final_start"], s["frame_final_duration"]) == (channel, frame, length)
            record = origin + frame - sc["frame_start"]
            ref, count = rates.sample_span(record, record + length, rate, SR)
            take, take_sr = soundfile.read(s["path"], dtype="float64")
            assert (take_sr, len(take)) == (SR, count)
            assert wavinfo.WavInfoReader(s["path"]).bext.time_reference == ref
            # Blender plays scene frame F at (F - frame_start) / rate into the mixdown.
            expected = float((frame - sc["frame_start"]) * SR / rate)
            lag, similarity = offset_in_mixdown(mix, take)
            print(f"{sc['name']} {name}: channel {s['channel']}, frame {frame}, {length} frames; "
                  f"mixdown offset {(lag - expected) / SR * 1000:+.3f} ms, correlation {similarity:.4f}")
            assert abs(lag - expected) / SR < 0.001 and similarity > 0.99
