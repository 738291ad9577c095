"""Real editors the tests drive (Blender, MLT's melt, GStreamer Editing Services).

On a machine without one, its tests skip and say how to get it; CI sets
MASKVAT_FOLEY_REQUIRE_EDITORS=1 (in .ci/run, which installs them), so there a missing editor fails
the test instead of hiding it.
"""
from __future__ import annotations

import os
import shutil

import pytest

DEBIAN_PACKAGES = {"blender": "blender", "melt": "melt", "ges-launch-1.0": "ges1.0-tools"}


def require(program: str) -> str:
    """The path of ``program``, else skip (or fail in CI) with the package that provides it."""
    path = shutil.which(program)
    if path:
        return path
    package = DEBIAN_PACKAGES.get(program, program)
    message = (f"{program} is not installed: `sudo apt-get install {package}` "
               f"(Debian/Ubuntu) to run this test")
    if os.environ.get("MASKVAT_FOLEY_REQUIRE_EDITORS") == "1":
        pytest.fail(message)
    pytest.skip(message)
