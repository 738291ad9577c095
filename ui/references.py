"""Reference sounds of the panel: what the Reference field's actions do.

A sound dropped (or picked) for the selected clips is checked off the UI thread (the same checks
as `generate --reference`: readable, has audio, range inside the file, not silent, long enough)
and only then given to them; a bad one leaves the clips as they were and says why in one line, in
the field, the log and the status bar. Each clip keeps its reference for every later run
(Generate, Regenerate, Re-run) until it is cleared. The file is only ever read.
"""
from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from maskvat_foley.core.jobs import GenerationParams, ReferenceSpec, Take
from maskvat_foley.ui.worker import EngineCall

log = logging.getLogger(__name__)

AUDITION_RATE = 48000
# Played when the engine does not say how much reference its model hears.
AUDITION_SECONDS = 30


class References(QObject):
    changed = Signal(list)  # clip ids whose reference changed
    checked = Signal(bool, str)  # a dropped/picked sound was checked: ok, and the line shown

    def __init__(self, field, *, session: Callable, selected: Callable, progress, status, audition,
                 engine_info: Callable[[], dict] = dict, parent=None):
        super().__init__(parent)
        self.field, self._session, self._selected = field, session, selected
        self.progress, self.status, self.audition, self._engine_info = progress, status, audition, engine_info
        self._calls: list[EngineCall] = []
        self._latest = 0  # the newest check wins when the editor drops again before one ends
        field.fileChosen.connect(self.choose)
        field.rangeEdited.connect(lambda: self.choose(self.field.path.text()))
        field.clearRequested.connect(self.clear)
        field.auditionRequested.connect(self.play)

    # -- the selection ----------------------------------------------------------------------------
    def show_selection(self, clip_ids: list[str]) -> None:
        s = self._session()
        spec, mixed = s.reference_of(clip_ids) if s is not None and clip_ids else (None, False)
        self.field.show_spec(spec, clips=len(clip_ids) if s is not None else 0, mixed=mixed)

    def set_for(self, clip_ids: list[str], spec: ReferenceSpec | None) -> None:
        """Give ``clip_ids`` the reference at once, unchecked (a host's own parameters); the run
        checks it again before any clip is generated."""
        self._session().set_reference(clip_ids, spec)
        self.show_selection(self._selected())
        self.changed.emit(list(clip_ids))

    def choose(self, path: str) -> None:
        """Check ``path`` (with the field's range) off the UI thread, then give it to the clips
        selected now."""
        ids = list(self._selected())
        if self._session() is None or not ids:
            self._refuse("select the clips the reference is for first, then drop the sound")
            return
        try:
            spec = self.field.spec(path)
        except ValueError as exc:
            self._refuse(str(exc))
            return
        self._latest += 1
        token = self._latest
        self.field.show_message(f"checking {spec}…")

        def check(_progress, _cancel):
            from maskvat_foley.core.media.reference import check_reference

            return check_reference(spec)

        call = EngineCall(check, "checking the reference", self)
        call.succeeded.connect(lambda ref: token == self._latest and self._give(ids, spec, ref))
        call.failed.connect(lambda msg: token == self._latest and self._refuse(_reason(msg, call)))
        self._start(call)

    def clear(self) -> None:
        ids = list(self._selected())
        s = self._session()
        if s is None or not ids:
            return
        s.set_reference(ids, None)
        self.show_selection(ids)
        self._say(f"no reference for {_clips(ids)}")
        self.changed.emit(ids)

    def engine_ready(self, info: dict) -> None:
        """Say up front when the engine's model hears no reference (info "reference_seconds" 0):
        only the reference's hits reach the takes then."""
        hears = info.get("reference_seconds") != 0
        self.field.guidance.setEnabled(hears)  # guidance toward a reference the model cannot hear does nothing
        if not hears:
            self.field.show_message(f"the model {info.get('model', '')} does not hear a reference itself: its hits "
                                    "or its texture go into the takes (Mix above 0 %)")

    # -- runs -------------------------------------------------------------------------------------
    def params_for(self, clip_id: str, params: GenerationParams) -> GenerationParams:
        """``params`` with the clip's reference (if it has one), the field's guidance and hits."""
        s = self._session()
        spec = s.references.get(clip_id) if s is not None else None
        return dataclasses.replace(params, reference=spec, ref_guidance=self.field.guidance.value(),
                                   ref_mix=self.field.ref_mix())

    def params_for_take(self, take: Take, params: GenerationParams) -> GenerationParams:
        """A region of ``take`` is regenerated with the reference the take was made with."""
        ref = take.reference or {}
        guidance = ref.get("ref_guidance", self.field.guidance.value())
        mix = ref.get("ref_mix", 0.0)  # a take made before the mix existed had none
        return dataclasses.replace(params, reference=take.reference_spec(), ref_guidance=float(guidance),
                                   ref_mix=float(mix))

    # -- audition ---------------------------------------------------------------------------------
    def play(self) -> None:
        """Play the reference the field shows: the range the model hears, from memory."""
        try:
            spec = self.field.spec()
        except ValueError as exc:
            self._refuse(str(exc))
            return
        if spec is None:
            return
        seconds = self._engine_info().get("reference_seconds") or AUDITION_SECONDS

        def load(_progress, _cancel):
            from maskvat_foley.core.media.reference import load_reference

            return load_reference(spec, sample_rate=AUDITION_RATE, max_seconds=seconds)

        call = EngineCall(load, "loading the reference", self)
        call.succeeded.connect(lambda ref: self.audition.play_samples(
            ref.samples, ref.sample_rate, f"reference {ref.name} {ref.start}-{ref.end} s"))
        call.failed.connect(lambda msg: self._refuse(_reason(msg, call)))
        self._start(call)

    def shutdown(self, timeout_ms: int = 30000) -> None:
        for call in list(self._calls):
            call.wait(timeout_ms)

    # -- helpers ----------------------------------------------------------------------------------
    def _start(self, call: EngineCall) -> None:
        """Start ``call``, its signals connected: a check that fails at once (a missing file)
        emits before a connection made after start() would hear it, and the field would stay on
        "checking". A reference to each thread is kept while it runs; finished ones are let go."""
        self._calls = [c for c in self._calls if not c.isFinished()] + [call]
        call.start()

    def _give(self, ids: list[str], spec: ReferenceSpec, ref) -> None:
        s = self._session()
        ids = [i for i in ids if any(c.id == i for c in s.clips)]  # a timeline opened meanwhile
        s.set_reference(ids, spec)
        self.show_selection(self._selected())
        cut = " (a long sound: the model hears its start)" if ref.trimmed else ""
        self._say(f"reference {ref.name} for {_clips(ids)}, sha256 {ref.sha256[:12]}{cut}")
        self.changed.emit(ids)
        self.checked.emit(True, self.field.message.text())

    def _say(self, line: str) -> None:
        self.field.show_message(line)
        self.progress.append(line)

    def _refuse(self, line: str) -> None:
        """One line in the field, the log and the status bar; the clips keep their reference."""
        self.show_selection(self._selected())
        self.field.show_message(line, error=True)
        self.progress.append(line)
        self.status.showMessage(line, 8000)
        self.checked.emit(False, line)


def _reason(message: str, call: EngineCall) -> str:
    """An EngineCall's failure without its "<label> failed: " prefix: the reason is the line."""
    return message.removeprefix(f"{call.label} failed: ")


def _clips(ids: list[str]) -> str:
    return f"clip {ids[0]}" if len(ids) == 1 else f"{len(ids)} clips"
