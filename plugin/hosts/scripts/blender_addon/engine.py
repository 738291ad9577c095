"""The local engine as the add-on sees it: asked over HTTP with urllib, started with the project's
interpreter when none answers, stopped again when the add-on is disabled or Blender quits (only
an engine this add-on started)."""
import atexit
import json
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from . import config

# The engine listens on loopback: a proxy from the environment must never be asked for it.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_started = None  # the engine process this add-on started: (Popen, log path)


class EngineProblem(RuntimeError):
    """No engine could be reached or started; the message says why and where its log is."""


def info(url: str, token: str, timeout: float = 5.0) -> dict:
    """GET /v1/info; OSError when nothing answers, EngineProblem when the engine refuses."""
    req = urllib.request.Request(url + "/v1/info", headers={"Authorization": f"Bearer {token}"})
    try:
        with _OPENER.open(req, timeout=timeout) as r:
            return json.loads(r.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            raise EngineProblem(
                f"the engine at {url} refuses the token in {config.token_path()}: it was started "
                f"with another {config.ENV_CONFIG_DIR}; stop it or point the add-on at it") from None
        raise EngineProblem(f"the engine at {url} answered HTTP {exc.code}") from None


def answer(url: str):
    """The engine's info, or None when no engine of this user answers at ``url``."""
    token = config.read_token()
    if token is None:  # no engine has ever run with this config folder
        return None
    try:
        return info(url, token)
    except (OSError, ValueError):  # refused, reset, timed out, not JSON: not our engine (yet)
        return None


def serve_command(settings: config.Settings) -> list:
    cmd = [settings.python, "-m", "maskvat_foley", "engine", "serve", "--host", settings.host,
           "--port", str(settings.port), "--device", settings.device]
    return cmd + (["--model", settings.model] if settings.model else [])


def ensure(settings: config.Settings) -> tuple:
    """(engine info, whether this call started it)."""
    found = answer(settings.engine_url)
    if found is not None:
        return found, False
    if not settings.local:
        raise EngineProblem(f"no MaskVAT Foley engine answers at {settings.engine_url}; start one "
                            "there with `maskvat-foley engine serve`")
    return _start(settings), True


def _start(settings: config.Settings) -> dict:
    global _started
    stop()  # one that died or stopped answering
    log = tempfile.NamedTemporaryFile(prefix="maskvat-foley-engine-", suffix=".log", delete=False)
    proc = subprocess.Popen(serve_command(settings), stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, env=config.child_env())
    log.close()
    _started = (proc, log.name)
    deadline = time.monotonic() + settings.start_timeout
    while True:
        found = answer(settings.engine_url)
        if found is not None:
            return found
        if proc.poll() is not None or time.monotonic() > deadline:
            why = (f"exited with status {proc.returncode}" if proc.poll() is not None
                   else f"did not answer within {settings.start_timeout:.0f} s")
            stop()
            tail = Path(log.name).read_text(errors="replace")[-2000:]
            raise EngineProblem(f"the engine started on {settings.engine_url} with {settings.python} "
                                f"{why}; its log ({log.name}) ends with:\n{tail}")
        time.sleep(0.25)


def started_pid():
    """The process id of the engine this add-on started and that still runs, else None."""
    if _started is None or _started[0].poll() is not None:
        return None
    return _started[0].pid


def stop(timeout: float = 15.0) -> None:
    """Stop the engine this add-on started (never one it found running)."""
    global _started
    if _started is None:
        return
    proc, _ = _started
    _started = None
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)


atexit.register(stop)  # Blender runs atexit handlers when it quits
