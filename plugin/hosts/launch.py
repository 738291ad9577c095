"""What a host menu entry runs: reach the engine, pick the panel or the headless path, run the
session, say what happened. Shared by the Resolve, Hiero and Blender entry points."""
from __future__ import annotations

import logging
import os
import re

from maskvat_foley.core.jobs import GenerationParams

log = logging.getLogger(__name__)


def work_dir(host: str, timeline_name: str) -> str:
    """Where exports and takes of a host timeline go: $MASKVAT_FOLEY_WORK_DIR, else
    ~/MaskVAT Foley/<host>/<timeline>. Takes are imported by path, so the folder must persist."""
    base = os.environ.get("MASKVAT_FOLEY_WORK_DIR") or os.path.join(os.path.expanduser("~"), "MaskVAT Foley")
    return os.path.join(base, host, re.sub(r"[^\w.-]+", "_", timeline_name).strip("._") or "timeline")


def open_engine(url: str | None = None):
    """The running local engine's client, started when none answers ($MASKVAT_FOLEY_ENGINE: a URL)."""
    from maskvat_foley.core.engine.client import EngineClient, ensure_local_engine

    url = url or os.environ.get("MASKVAT_FOLEY_ENGINE")
    return EngineClient(url) if url else ensure_local_engine()


def run_host(bridge, timeline_name: str, *, engine=None, params: GenerationParams | None = None,
             parent=None, allow_panel: bool = True) -> int:
    from maskvat_foley.plugin.hosts.qt import panel_chooser
    from maskvat_foley.plugin.hosts.session import run

    folder = work_dir(bridge.host, timeline_name)
    engine = engine or open_engine()
    params = params or GenerationParams()
    chooser = panel_chooser(engine, params, os.path.join(folder, "media"), parent) if allow_panel else None
    outcome = run(bridge, engine, params, folder, chooser=chooser)
    for line in outcome.lines():
        (log.warning if line.startswith(("OFF", "error", "skipped")) else log.info)("%s", line)
    return 0 if outcome.report is not None and outcome.report.ok else 1
