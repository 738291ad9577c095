"""Audition: play a take with its clip's picture.

Sound goes through QtMultimedia (PySide6-Addons) when it can be imported and has an audio output;
otherwise through a command-line player found on the PATH (ffplay, paplay, aplay, afplay, pw-play);
otherwise the picture plays silently and the panel says so. The picture is the clip's source
frames, decoded once off the UI thread and shown at the media rate, timed by a wall clock so it
stays with the sound.
"""
from __future__ import annotations

import logging
import shutil
import subprocess

import numpy as np
from PySide6.QtCore import QElapsedTimer, QObject, QTimer, Signal
from PySide6.QtGui import QImage

from maskvat_foley.core.jobs import ClipJob

log = logging.getLogger(__name__)

PLAYERS = (("ffplay", ["-nodisp", "-autoexit", "-loglevel", "quiet"]), ("paplay", []), ("pw-play", []),
           ("aplay", ["-q"]), ("afplay", []))
PREVIEW_SIZE = (192, 144)


def audio_backend() -> str:
    """"qtmultimedia", "command:<player>" or "none"."""
    try:
        from PySide6.QtMultimedia import QMediaDevices

        if QMediaDevices.audioOutputs():
            return "qtmultimedia"
    except Exception as exc:  # noqa: BLE001 - ImportError, or a missing system audio library
        log.debug("QtMultimedia unavailable: %s", exc)
    for name, _ in PLAYERS:
        if shutil.which(name):
            return f"command:{name}"
    return "none"


def to_qimage(rgb: np.ndarray) -> QImage:
    rgb = np.ascontiguousarray(rgb)
    h, w, _ = rgb.shape
    return QImage(rgb.data, w, h, 3 * w, QImage.Format_RGB888).copy()


class Audition(QObject):
    frameShown = Signal(object)  # QImage
    positionChanged = Signal(float)  # 0..1 of the take
    started = Signal(str)  # a line saying how it plays
    stopped = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.backend = audio_backend()
        self.frames: list[QImage] = []
        self.rate = 24.0
        self.timer = QTimer(self)
        self.timer.setInterval(15)
        self.timer.timeout.connect(self._tick)
        self.clock = QElapsedTimer()
        self.duration_ms = 0
        self.frames_shown = 0
        self._proc: subprocess.Popen | None = None
        self._player = None
        self._loader = None

    @property
    def playing(self) -> bool:
        return self.timer.isActive()

    def play(self, take_path: str, job: ClipJob) -> None:
        """Load the clip's frames off the UI thread, then start picture and sound together."""
        from maskvat_foley.ui.worker import EngineCall

        self.stop()
        self.rate = float(job.media_rate)
        self.duration_ms = int(1000 * job.source_duration / job.media_rate)

        def load(_progress, _cancel):
            from maskvat_foley.core.media.video import read_frames

            frames = read_frames(job.media_path, job.source_start, job.source_duration, job.media_rate,
                                 size=PREVIEW_SIZE, origin_frame=job.media_origin, pad=True)
            return [to_qimage(f) for f in frames.rgb]

        self._loader = EngineCall(load, f"loading the frames of {job.clip_id}", self)
        self._loader.succeeded.connect(lambda frames: self._start(frames, take_path))
        self._loader.failed.connect(lambda msg: (self.started.emit(msg), self._start([], take_path)))
        self._loader.start()

    def _start(self, frames: list[QImage], take_path: str) -> None:
        self.frames, self.frames_shown = frames, 0
        how = self._start_sound(take_path)
        self.started.emit(f"playing {take_path} ({how})")
        self.clock.start()
        self.timer.start()
        self._tick()

    def _start_sound(self, path: str) -> str:
        if self.backend == "qtmultimedia":
            from PySide6.QtCore import QUrl
            from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer

            if self._player is None:
                self._player = QMediaPlayer(self)
                self._player.setAudioOutput(QAudioOutput(self._player))
            self._player.setSource(QUrl.fromLocalFile(path))
            self._player.play()
            return "QtMultimedia"
        if self.backend.startswith("command:"):
            name = self.backend.split(":", 1)[1]
            args = dict(PLAYERS)[name]
            self._proc = subprocess.Popen([shutil.which(name), *args, path], stdin=subprocess.DEVNULL,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            return name
        return "no audio output available: picture only"

    def _tick(self) -> None:
        elapsed = self.clock.elapsed()
        if elapsed >= self.duration_ms:
            self.stop()
            return
        if self.frames:
            index = min(int(elapsed * self.rate / 1000), len(self.frames) - 1)
            self.frameShown.emit(self.frames[index])
            self.frames_shown += 1
        self.positionChanged.emit(elapsed / max(self.duration_ms, 1))

    def stop(self) -> None:
        was = self.timer.isActive()
        self.timer.stop()
        if self._player is not None:
            self._player.stop()
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
        self._proc = None
        if was:
            self.stopped.emit()
