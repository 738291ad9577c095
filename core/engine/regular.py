"""Opening a file for reading only when it is a regular file.

The engine has one worker: a read that never returns stops every job after it. Opening a named
pipe blocks until a writer comes, and a device (/dev/zero) never ends. So files the engine reads
(media to hash, a take's audio and token sidecar) are opened without blocking and checked on the
open descriptor, which also closes the gap in which a checked path could be swapped for a pipe.
"""
from __future__ import annotations

import os
import stat
from typing import BinaryIO

_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


class NotRegularFile(ValueError):
    """The path names a pipe, socket, device or folder, not a file."""


def open_regular(path: str | os.PathLike) -> BinaryIO:
    """``path`` opened for binary reading; FileNotFoundError naming it when missing,
    NotRegularFile when it is anything but a regular file (symlinks are followed)."""
    try:
        fd = os.open(path, _FLAGS)
    except FileNotFoundError:
        raise FileNotFoundError(f"file not found: {path}") from None
    except IsADirectoryError:
        raise NotRegularFile(f"{path}: a folder, not a file") from None
    f = os.fdopen(fd, "rb")
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        f.close()
        raise NotRegularFile(f"{path}: not a regular file (a pipe, socket or device); "
                             f"the engine reads only files")
    return f
