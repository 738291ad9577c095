"""The local engine's bearer token: random, kept in the user's config folder, readable only by them.

Any local process of the same user can read it (that is how the panel and host bridges find it);
other users on the machine cannot, so they cannot drive the engine or make it write files.
"""
from __future__ import annotations

import hmac
import logging
import os
import secrets
import stat
import sys
from pathlib import Path

log = logging.getLogger(__name__)

ENV_CONFIG_DIR = "MASKVAT_FOLEY_CONFIG_DIR"
APP_DIR = "maskvat-foley"
TOKEN_FILE = "engine-token"


def config_dir() -> Path:
    """The user's config folder for this app (``MASKVAT_FOLEY_CONFIG_DIR`` overrides it)."""
    override = os.environ.get(ENV_CONFIG_DIR)
    if override:
        return Path(override)
    if sys.platform == "win32":
        base = os.environ.get("APPDATA") or str(Path.home() / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = str(Path.home() / "Library" / "Application Support")
    else:
        base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / APP_DIR


def token_path() -> Path:
    return config_dir() / TOKEN_FILE


def load_token(create: bool = True) -> str:
    """The token, created (0600, folder 0700) on first use. Raises when it is missing and not
    ``create``, or when the file is readable by other users (someone else may know it)."""
    path = token_path()
    try:
        return _read(path)
    except FileNotFoundError:
        if not create:
            raise FileNotFoundError(f"no engine token at {path}; start the engine once to create it") from None
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if os.name == "posix":
        os.chmod(path.parent, 0o700)
    token = secrets.token_urlsafe(32)
    tmp = path.with_name(f".{TOKEN_FILE}.{os.getpid()}.tmp")
    # O_EXCL + mode 0600 at creation: the secret is never readable by others, not even briefly.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    try:
        os.link(tmp, path)  # fails if another process created it meanwhile: keep theirs
    except FileExistsError:
        pass
    except OSError:  # file systems without hard links
        if not path.exists():
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    log.info("created engine token %s", path)
    return _read(path)


def _read(path: Path) -> str:
    if os.name == "posix":
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise PermissionError(f"engine token {path} has permissions {mode:o}; "
                                  f"it must be readable by its owner only (chmod 600)")
    token = path.read_text().strip()
    if not token:
        raise ValueError(f"engine token file {path} is empty; delete it to make a new one")
    return token


def check_token(given: str | None, expected: str) -> bool:
    """Constant-time comparison (no timing hint on how much of a guess was right)."""
    if not given:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())
