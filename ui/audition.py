"""Audition: play a take with its clip's picture, or a reference sound on its own.

Sound goes through QtMultimedia (PySide6-Addons) when it can be imported and has an audio output;
otherwise through a command-line player found on the PATH (ffplay, paplay, aplay, afplay, pw-play);
otherwise the picture plays silently and the panel says so. The picture is the clip's source
frames, decoded once off the UI thread and shown at the media rate, timed by a wall clock so it
stays with the sound. A reference plays from memory (its decoded range as a WAV stream handed to
the player), so the editor's file is never copied to play a part of it.
"""
from __future__ import annotations

import io
import logging
import shutil
import subprocess
import threading
import wave

import numpy as np
from PySide6.QtCore import QElapsedTimer, QObject, QTimer, Signal
from PySide6.QtGui import QImage

from maskvat_foley.core.jobs import ClipJob

log = logging.getLogger(__name__)

PLAYERS = (("ffplay", ["-nodisp", "-autoexit", "-loglevel", "quiet"]), ("paplay", []), ("pw-play", []),
           ("aplay", ["-q"]), ("afplay", []))
PREVIEW_SIZE = (192, 144)
# How the command-line players read a WAV stream from stdin (afplay cannot: references then need
# QtMultimedia there, which macOS has).
STDIN_PLAYERS = {"ffplay": ["-nodisp", "-autoexit", "-loglevel", "quiet", "-i", "pipe:0"], "paplay": [],
                 "pw-play": ["-"], "aplay": ["-q", "-"]}


def wav_bytes(samples: np.ndarray, sample_rate: int) -> bytes:
    """Mono float samples as a 16-bit WAV file in memory (what a player reads from a pipe)."""
    pcm = np.clip(np.rint(np.asarray(samples, np.float64) * 32768), -32768, 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(sample_rate))
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


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
        self._buffer = None  # the QBuffer a reference plays from (QtMultimedia)
        self.what = "take"  # or "reference": only a take moves the take's waveform cursor

    @property
    def playing(self) -> bool:
        return self.timer.isActive()

    def play_samples(self, samples: np.ndarray, sample_rate: int, label: str) -> None:
        """Play mono float samples (a reference sound as the model would hear it), no picture."""
        self.stop()
        self.what, self.frames, self.frames_shown = "reference", [], 0
        self.duration_ms = int(1000 * len(samples) / sample_rate)
        how = self._start_stream(wav_bytes(samples, sample_rate))
        self.started.emit(f"playing {label} ({how})")
        self.clock.start()
        self.timer.start()

    def _start_stream(self, data: bytes) -> str:
        if self.backend == "qtmultimedia":
            from PySide6.QtCore import QBuffer, QByteArray, QUrl
            from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer

            if self._player is None:
                self._player = QMediaPlayer(self)
                self._player.setAudioOutput(QAudioOutput(self._player))
            self._buffer = QBuffer(self)
            self._buffer.setData(QByteArray(data))
            self._buffer.open(QBuffer.ReadOnly)
            self._player.setSourceDevice(self._buffer, QUrl("reference.wav"))
            self._player.play()
            return "QtMultimedia"
        name = self.backend.split(":", 1)[1] if self.backend.startswith("command:") else None
        if name in STDIN_PLAYERS:
            self._proc = subprocess.Popen([shutil.which(name), *STDIN_PLAYERS[name]], stdin=subprocess.PIPE,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            # The player reads in real time: a thread feeds it so the event loop never waits.
            threading.Thread(target=_feed, args=(self._proc, data), daemon=True).start()
            return name
        return "no audio output that plays from memory available: nothing to hear" if name else \
            "no audio output available"

    def play(self, take_path: str, job: ClipJob) -> None:
        """Load the clip's frames off the UI thread, then start picture and sound together."""
        from maskvat_foley.ui.worker import EngineCall

        self.stop()
        self.what = "take"
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
        if self.what == "take":
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


def _feed(proc: subprocess.Popen, data: bytes) -> None:
    """Write a WAV stream to a player's stdin; a player stopped early just ends the write."""
    try:
        proc.stdin.write(data)
        proc.stdin.close()
    except (BrokenPipeError, OSError, ValueError):
        pass
