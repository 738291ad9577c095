"""MaskVAT Foley: video-to-audio Foley for OpenTimelineIO timelines.

The code lives in maskvat_foley.core (no Qt, no host APIs), maskvat_foley.ui (the PySide6 panel)
and maskvat_foley.plugin (host bridges and the command line); maskvat_foley.resources holds the
bundled model. Those four are the repository's top-level folders core/, ui/, plugin/ and
resources/: an install maps them into this package (setup.py), and in a plain checkout on
sys.path the finder below maps them the same way, so ``python -m maskvat_foley`` works from a
clone with only the dependencies installed.
"""
from __future__ import annotations

import os
import sys

__version__ = "0.1.0"

SUBPACKAGES = ("core", "ui", "plugin", "resources")


class _CheckoutFolders:
    """A meta path finder (sys.meta_path) for maskvat_foley.<folder> as <checkout>/<folder>: only
    the four folders, nothing else at the top of the checkout, and always beside this file, so a
    checkout on PYTHONPATH never mixes with an editable install of another one (for that install's
    own checkout both give the same folders)."""

    def __init__(self, root: str):
        self.root = root

    def find_spec(self, fullname, path=None, target=None):
        package, _, name = fullname.partition(".")
        if package != __name__ or name not in SUBPACKAGES:
            return None
        from importlib.util import spec_from_file_location

        folder = os.path.join(self.root, name)
        return spec_from_file_location(fullname, os.path.join(folder, "__init__.py"),
                                       submodule_search_locations=[folder])


def _checkout_root() -> str | None:
    """The checkout this package sits in, when its folders are not inside the package (a wheel has
    them inside; an editable install and a plain checkout do not)."""
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    if os.path.isdir(os.path.join(here, "core")):
        return None
    if not all(os.path.isfile(os.path.join(root, name, "__init__.py")) for name in SUBPACKAGES):
        return None
    return root


_root = _checkout_root()
if _root is not None and not any(isinstance(f, _CheckoutFolders) for f in sys.meta_path):
    sys.meta_path.insert(0, _CheckoutFolders(_root))
