"""What the add-on needs to reach MaskVAT Foley, with the standard library only.

- The project's interpreter: recorded by `maskvat-foley install blender` in config.json next to
  this file (``MASKVAT_FOLEY_PYTHON`` or the add-on preference overrides it).
- The engine URL, model folder and device: add-on preferences, else ``MASKVAT_FOLEY_ENGINE``,
  ``MASKVAT_FOLEY_MODEL``, ``MASKVAT_FOLEY_DEVICE``, else the defaults below.
- The engine's bearer token: the file the engine keeps in the user's config folder. The rule is
  the one of maskvat_foley.core.engine.token, restated here because the add-on must not import
  the project into Blender's Python.
"""
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

CONFIG_FILE = "config.json"
DEFAULT_URL = "http://127.0.0.1:8765"
ENV_PYTHON = "MASKVAT_FOLEY_PYTHON"
ENV_ENGINE = "MASKVAT_FOLEY_ENGINE"
ENV_MODEL = "MASKVAT_FOLEY_MODEL"
ENV_DEVICE = "MASKVAT_FOLEY_DEVICE"
ENV_CONFIG_DIR = "MASKVAT_FOLEY_CONFIG_DIR"
APP_DIR = "maskvat-foley"
TOKEN_FILE = "engine-token"


class SetupError(RuntimeError):
    """The add-on cannot reach MaskVAT Foley as installed; the message says what to do."""


@dataclass(frozen=True)
class Settings:
    python: str
    engine_url: str
    model: str = ""  # empty: the engine's bundled model
    device: str = "auto"
    start_timeout: float = 180.0  # seconds for a started engine to answer (loads the model)
    run_timeout: float = 6 * 3600.0  # seconds for one generation run

    @property
    def host(self) -> str:
        return urlsplit(self.engine_url).hostname or ""

    @property
    def port(self) -> int:
        return urlsplit(self.engine_url).port or 80

    @property
    def local(self) -> bool:
        return self.host in ("127.0.0.1", "localhost", "::1")


def installed(folder) -> dict:
    """config.json as `maskvat-foley install blender` wrote it."""
    path = Path(folder) / CONFIG_FILE
    try:
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SetupError(f"cannot read {path} ({exc}); run `maskvat-foley install blender` again "
                         "from the environment MaskVAT Foley is installed in") from None
    if not isinstance(cfg, dict) or not cfg.get("python"):
        raise SetupError(f"{path} names no Python; run `maskvat-foley install blender` again")
    return cfg


def resolve(cfg: dict, prefs=None, env=None) -> Settings:
    """Settings: an add-on preference (a mapping; empty values unset) wins, then the environment,
    then config.json, then the defaults."""
    prefs = {k: v for k, v in (prefs or {}).items() if v not in (None, "")}
    env = os.environ if env is None else env

    def pick(key, var, default):
        return prefs.get(key) or env.get(var) or default

    python = pick("python", ENV_PYTHON, cfg.get("python"))
    if not Path(python).is_file():
        raise SetupError(f"the MaskVAT Foley Python {python} is gone; run `maskvat-foley install "
                         "blender` again from the environment MaskVAT Foley is installed in")
    url = pick("engine_url", ENV_ENGINE, DEFAULT_URL).rstrip("/")
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
        raise SetupError(f"engine URL {url!r} is not an http:// URL")
    return Settings(python=python, engine_url=url, model=pick("model", ENV_MODEL, ""),
                    device=pick("device", ENV_DEVICE, "auto"))


def config_dir(env=None, platform: str | None = None) -> Path:
    """The engine's config folder (``MASKVAT_FOLEY_CONFIG_DIR`` overrides it)."""
    env = os.environ if env is None else env
    platform = platform or sys.platform
    if env.get(ENV_CONFIG_DIR):
        return Path(env[ENV_CONFIG_DIR])
    home = Path(env.get("HOME") or env.get("USERPROFILE") or Path.home())
    if platform == "win32":
        base = env.get("APPDATA") or str(home / "AppData" / "Roaming")
    elif platform == "darwin":
        base = str(home / "Library" / "Application Support")
    else:
        base = env.get("XDG_CONFIG_HOME") or str(home / ".config")
    return Path(base) / APP_DIR


def token_path(env=None, platform: str | None = None) -> Path:
    return config_dir(env, platform) / TOKEN_FILE


def read_token(env=None) -> str | None:
    """The engine's token, or None before any engine made one."""
    try:
        return token_path(env).read_text().strip() or None
    except FileNotFoundError:
        return None


def child_env(env=None) -> dict:
    """The environment for the project's interpreter: Blender's, without what points a Python at
    Blender's own library (the project's interpreter must use its own)."""
    env = dict(os.environ if env is None else env)
    for name in ("PYTHONHOME", "PYTHONPATH", "PYTHONEXECUTABLE"):
        env.pop(name, None)
    return env
