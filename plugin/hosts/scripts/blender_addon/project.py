"""Run the project's side of the operator in the project's interpreter: it reads the scene
snapshot, generates through the engine and answers with the sound strips to add (JSON files,
so nothing of the project is imported here)."""
import json
import subprocess
import tempfile
from pathlib import Path

from . import config

MODULE = "maskvat_foley.plugin.hosts.blender"


class ProjectProblem(RuntimeError):
    """The project's run failed before it could answer; the message carries its log's tail."""


def command(settings: config.Settings, request_path, result_path) -> list:
    return [settings.python, "-m", MODULE, str(request_path), "-o", str(result_path)]


def run(settings: config.Settings, request: dict) -> dict:
    """The project's answer: {"ok", "error"?, "channel_name", "strips": [...], "lines": [...]}."""
    with tempfile.TemporaryDirectory(prefix="maskvat-foley-blender-") as tmp:
        req, out, log = Path(tmp, "request.json"), Path(tmp, "result.json"), Path(tmp, "run.log")
        req.write_text(json.dumps(request), encoding="utf-8")
        with open(log, "wb") as log_file:
            try:
                proc = subprocess.run(command(settings, req, out), stdout=log_file,
                                      stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                      env=config.child_env(), timeout=settings.run_timeout)
                status = f"exited with status {proc.returncode}"
            except subprocess.TimeoutExpired:
                status = f"was stopped after {settings.run_timeout:.0f} s"
        if out.is_file():
            return json.loads(out.read_text(encoding="utf-8"))
        tail = log.read_text(errors="replace")[-2000:]
        raise ProjectProblem(f"{settings.python} -m {MODULE} {status} without an answer; its log ends "
                             f"with:\n{tail}")
