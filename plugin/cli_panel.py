"""`maskvat-foley panel`: the Qt panel standalone, or a screenshot of it rendered offscreen.

    panel [TIMELINE] [--model DIR] [--engine URL] [--device DEV]
          [--screenshot OUT.png [--select IDS] [--state timeline|generating|takes] [--size WxH]]

Interactive: the panel uses the engine at --engine, else the local engine server (started with
the model when none answers, and stopped on exit if this command started it).
Screenshot: nothing is shown; a temporary settings file keeps the user's settings untouched, so
the panel shows its defaults (the command line's); "generating" and "takes" run the model
in-process (or at --engine) on the selected clips (default: every clip that can be generated).
"""
from __future__ import annotations

import argparse
import logging
import os
import tempfile

from maskvat_foley.plugin.cli_options import DEVICE_HELP, UsageError, add_model

log = logging.getLogger(__name__)

STATES = ("timeline", "generating", "takes")


def add_parser(sub) -> None:
    pn = sub.add_parser("panel", help="open the Foley panel (PySide6) on a timeline")
    pn.add_argument("timeline", nargs="?", help="timeline to open")
    add_model(pn)
    pn.add_argument("--engine", metavar="URL", help="use a running engine instead of starting one")
    pn.add_argument("--device", default="auto", help=DEVICE_HELP)
    pn.add_argument("--screenshot", metavar="OUT.png", help="render the panel offscreen into a PNG and exit")
    pn.add_argument("--select", metavar="IDS", help="comma-separated clip ids to select")
    pn.add_argument("--state", choices=STATES, default="timeline", help="what the screenshot shows")
    pn.add_argument("--size", default="1480x900", help="window size WxH for --screenshot")
    pn.set_defaults(handler=cmd_panel)


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UsageError(f"--size must look like 1480x900, got {text!r}") from None
    if not (320 <= w <= 8000 and 240 <= h <= 8000):
        raise UsageError(f"--size {text} is out of range (320x240 to 8000x8000)")
    return w, h


def _ids(text: str | None) -> list[str]:
    return [i.strip() for i in (text or "").split(",") if i.strip()]


class EngineStarter:
    """Engine factory for the panel: a client of the local server, restarted for another model
    when this process started it."""

    def __init__(self, url: str | None, device: str, default_model: str | None):
        self.url, self.device, self.default_model = url, device, default_model
        self.client = None

    def __call__(self, model: str | None):
        from maskvat_foley.core.engine.client import EngineClient, ensure_local_engine

        if self.url:
            return EngineClient(self.url)
        model = model or self.default_model
        if self.client is not None and self.client.process is not None:
            self.stop()  # ours: restart it with the new model
        self.client = ensure_local_engine(model, device=self.device)
        info = self.client.info()
        if model and os.path.realpath(info.get("model_path", "")) != os.path.realpath(model):
            log.warning("the running engine serves %s, not %s; stop it (or use another port) to change models",
                        info.get("model_path"), model)
        return self.client

    def stop(self) -> None:
        if self.client is not None and self.client.process is not None:
            self.client.process.terminate()
            self.client.process.wait(30)
            self.client.process = None


def cmd_panel(args: argparse.Namespace) -> int:
    state = getattr(args, "state", None) or "timeline"
    if state not in STATES:
        raise UsageError(f"--state must be one of {', '.join(STATES)}, got {state!r}")
    if args.timeline is not None and not os.path.exists(args.timeline):
        raise UsageError(f"timeline file not found: {args.timeline}")
    if args.model is not None and not os.path.isdir(args.model):
        raise UsageError(f"model folder not found: {args.model}")
    if getattr(args, "screenshot", None):
        return screenshot(args, state)
    return interactive(args)


def _app():
    from PySide6.QtWidgets import QApplication

    from maskvat_foley.ui import theme

    app = QApplication.instance() or QApplication(["maskvat-foley"])
    app.setApplicationName("MaskVAT Foley")
    theme.apply_dark(app)
    return app


def interactive(args: argparse.Namespace) -> int:
    from maskvat_foley.ui.main_window import FoleyPanel, MainWindow

    app = _app()
    starter = EngineStarter(args.engine, getattr(args, "device", "auto"), args.model)
    panel = FoleyPanel(engine_factory=starter)
    if args.model:
        panel.settings_panel.model.setText(os.path.abspath(args.model))
    window = MainWindow(panel)
    if args.timeline:
        panel.open_timeline(args.timeline)
    window.show()
    try:
        return int(app.exec())
    finally:
        panel.shutdown()
        starter.stop()


def screenshot(args: argparse.Namespace, state: str) -> int:
    """Render the panel offscreen in ``state`` and save it as a PNG; exit 0."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEventLoop, QSettings, QTimer

    from maskvat_foley.ui.main_window import FoleyPanel

    out = os.path.abspath(args.screenshot)
    if not os.path.isdir(os.path.dirname(out)):
        raise UsageError(f"folder of --screenshot does not exist: {os.path.dirname(out)}")
    if state != "timeline" and not args.timeline:
        raise UsageError(f"--state {state} needs a TIMELINE")
    app = _app()
    with tempfile.TemporaryDirectory(prefix="maskvat-panel-") as tmp:
        settings = QSettings(os.path.join(tmp, "settings.ini"), QSettings.IniFormat)
        engine = _screenshot_engine(args) if (state != "timeline" or args.engine or args.model) else None
        panel = FoleyPanel(engine, settings=settings)
        panel.resize(*_size(getattr(args, "size", None) or "1480x900"))
        if args.model:
            panel.settings_panel.model.setText(os.path.abspath(args.model))
        loop = QEventLoop()
        if engine is not None:
            panel.engineReady.connect(loop.quit)
            QTimer.singleShot(60_000, loop.quit)
            loop.exec()
        if args.timeline:
            panel.open_timeline(args.timeline, media_dir=os.path.join(tmp, "takes") if state != "timeline" else None)
        ids = _ids(args.select)
        known = [c.id for c in panel.session.clips] if panel.session else []
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise UsageError(f"unknown clip id(s) {', '.join(unknown)}; the timeline has {', '.join(known) or 'none'}")
        from PySide6.QtCore import Qt

        panel.setAttribute(Qt.WA_DontShowOnScreen, True)  # laid out and painted, never on a screen
        panel.show()
        app.processEvents()
        shot = None
        if state == "timeline":
            panel.view.select_ids(ids)
        else:
            shot = _run_for_screenshot(panel, loop, state, ids or _usable(panel))
        app.processEvents()
        ok = (shot or panel.grab()).save(out, "PNG")
        panel.shutdown()
        panel.close()
    if not ok:
        raise RuntimeError(f"could not write the screenshot {out}")
    log.info("screenshot written to %s", out)
    return 0


def _usable(panel) -> list[str]:
    jobs, _ = panel.session.jobs([c.id for c in panel.session.clips])
    return [j.clip_id for j in jobs]


def _screenshot_engine(args):
    if args.engine:
        from maskvat_foley.core.engine.client import EngineClient

        return EngineClient(args.engine)
    from maskvat_foley.core.engine.engine import Engine

    return Engine(args.model, device=getattr(args, "device", "auto"))


def _run_for_screenshot(panel, loop, state: str, ids: list[str]):
    """Generate on ``ids``. "generating" returns the picture taken while the middle clip is being
    sampled (then cancels); "takes" returns the first clip's takes while it is being auditioned."""
    from PySide6.QtCore import QTimer

    panel.view.select_ids(ids)
    panel.runFinished.connect(loop.quit)
    if not panel.generate("generate"):
        raise RuntimeError("generation could not start (see the log above)")
    middle = ids[len(ids) // 2]
    if state == "generating":
        def at_progress(p):
            if p.clip_id == middle and p.stage == "sampling" and p.fraction > 0.3:
                panel.call.progressed.disconnect(at_progress)
                loop.quit()

        panel.call.progressed.connect(at_progress)  # after the progress panel's slot: it shows this step
    QTimer.singleShot(600_000, loop.quit)
    loop.exec()
    if state == "generating":
        from PySide6.QtWidgets import QApplication

        QApplication.processEvents()
        shot = panel.grab()
        panel.cancel()
        if panel.call is not None:
            panel.call.wait()
        QApplication.processEvents()
        return shot
    first = ids[0]
    panel.view.select_ids([first])
    wave = panel.takes_panel.waveform
    if wave.frames > 6:
        wave.set_region((wave.frames // 3, 2 * wave.frames // 3))
    # Audition a moment so the picture shows the clip and the waveform its play cursor.
    shown = []
    panel.audition.frameShown.connect(lambda _img: (shown.append(1), len(shown) == 12 and loop.quit()))
    panel.toggle_play()
    QTimer.singleShot(20_000, loop.quit)
    loop.exec()
    shot = panel.grab()
    panel.audition.stop()
    return shot
