"""FoleyWorld event kinds, one module each (see base.py for the functions a kind provides)."""
from __future__ import annotations

import importlib
from types import ModuleType

from maskvat_foley.core.data.spec import KINDS, ON_REQUEST_KINDS


def kind_module(name: str) -> ModuleType:
    if name not in KINDS + ON_REQUEST_KINDS:
        raise ValueError(f"unknown FoleyWorld kind {name!r}; known kinds: {', '.join(KINDS + ON_REQUEST_KINDS)}")
    return importlib.import_module(f"maskvat_foley.core.data.kinds.{name}")
