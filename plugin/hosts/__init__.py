"""Host bridges: DaVinci Resolve, Nuke Studio / Hiero and Blender talk to MaskVAT Foley through one
small interface, so the flow (export -> select -> generate -> choose -> apply) is written once
(``session.run``) and every bridge is testable without its host.

Only light, typed data lives here; host modules, Qt, OTIO and torch are imported where used.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Protocol, Sequence

from maskvat_foley.core.jobs import Take


class HostError(RuntimeError):
    """The host refused or could not do something; the message says what and where."""


@dataclass(frozen=True)
class ClipRef:
    """A clip as the host shows it: video track (1-based) and first record frame on it."""

    track: int
    record_start: int
    name: str = ""


@dataclass(frozen=True)
class HostSelection:
    """What the editor chose: clips, or a record range [start, end) (frames from the timecode
    origin), or both empty for nothing. ``how`` says which host mechanism gave it."""

    clips: tuple[ClipRef, ...] = ()
    clip_ids: tuple[str, ...] = ()
    record_range: tuple[int, int] | None = None
    how: str = ""

    def is_empty(self) -> bool:
        return not (self.clips or self.clip_ids or self.record_range)


@dataclass(frozen=True)
class Placement:
    """One chosen take to put on the host's timeline at record frames [record_start, record_end)."""

    clip_id: str
    name: str
    rate: Fraction
    record_start: int
    record_duration: int
    take: Take

    @property
    def record_end(self) -> int:
        return self.record_start + self.record_duration


@dataclass
class PlacedItem:
    """Where the host says a placed take landed, against where it was asked to land (host frames)."""

    clip_id: str
    path: str
    expected_start: int
    expected_duration: int
    actual_start: int | None = None
    actual_duration: int | None = None

    @property
    def ok(self) -> bool:
        return (self.actual_start, self.actual_duration) == (self.expected_start, self.expected_duration)

    def describe(self) -> str:
        if self.actual_start is None:
            return f"{self.clip_id}: {self.path} was not found on the timeline after placing"
        parts = []
        if self.actual_start != self.expected_start:
            d = self.actual_start - self.expected_start
            parts.append(f"starts at frame {self.actual_start}, {abs(d)} frame(s) "
                         f"{'late' if d > 0 else 'early'} (expected {self.expected_start})")
        if self.actual_duration != self.expected_duration:
            parts.append(f"lasts {self.actual_duration} frame(s), expected {self.expected_duration}")
        return f"{self.clip_id}: " + ("; ".join(parts) or "placed exactly")


@dataclass
class ApplyReport:
    host: str
    track: str
    items: list[PlacedItem] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def off(self) -> list[PlacedItem]:
        return [i for i in self.items if not i.ok]

    @property
    def ok(self) -> bool:
        return not self.errors and not self.off

    def lines(self) -> list[str]:
        good = len(self.items) - len(self.off)
        out = [f"{self.host}: {good} of {len(self.items)} take(s) placed exactly on {self.track!r}"]
        out += [f"OFF: {i.describe()}" for i in self.off]
        out += [f"error: {e}" for e in self.errors]
        return out


class HostBridge(Protocol):
    """What every host bridge does; ``session.run`` drives it."""

    host: str

    def export_timeline(self, folder: str) -> str:
        """Write the host's current timeline as OTIO under ``folder``; return its path."""

    def selection(self) -> HostSelection:
        """The clips (or record range) the editor chose in the host."""

    def apply(self, placements: Sequence[Placement]) -> ApplyReport:
        """Import the takes and put them on a new audio track; read them back and report."""
