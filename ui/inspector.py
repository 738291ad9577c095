"""The selected clip's details: name, record in/out, source range, media path, flags."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel

from maskvat_foley.core.timeline import rates

FIELDS = ("Clip", "Track", "Record in", "Record out", "Duration", "Source", "Media", "Status", "Flags")


class Inspector(QGroupBox):
    def __init__(self, parent=None):
        super().__init__("Inspector", parent)
        form = QFormLayout(self)
        form.setLabelAlignment(Qt.AlignRight)
        form.setHorizontalSpacing(10)
        form.setVerticalSpacing(3)
        self.values: dict[str, QLabel] = {}
        for name in FIELDS:
            label = QLabel("")
            label.setObjectName("value")
            label.setTextInteractionFlags(Qt.TextSelectableByMouse)
            label.setWordWrap(name == "Media")
            form.addRow(name, label)
            self.values[name] = label
        self.show_clips([])

    def text(self, name: str) -> str:
        return self.values[name].text()

    def show_clips(self, infos: list, error: str | None = None) -> None:
        """One clip's details; a count when several are selected; blanks when none."""
        for label in self.values.values():
            label.setText("—")
            label.setToolTip("")
        if not infos:
            self.values["Clip"].setText("no clip selected")
            return
        if len(infos) > 1:
            first, last = min(infos, key=lambda i: i.record_start), max(infos, key=lambda i: i.record_end)
            self.values["Clip"].setText(f"{len(infos)} clips selected")
            self.values["Record in"].setText(rates.to_timecode(first.record_start, first.rate))
            self.values["Record out"].setText(rates.to_timecode(last.record_end, last.rate))
            return
        i = infos[0]
        v = self.values
        v["Clip"].setText(f"{i.name}  ({i.id})")
        named = i.track_name and i.track_name != f"V{i.track}"
        v["Track"].setText(f"V{i.track}" + (f" ({i.track_name})" if named else ""))
        v["Record in"].setText(rates.to_timecode(i.record_start, i.rate))
        v["Record out"].setText(rates.to_timecode(i.record_end, i.rate))
        v["Duration"].setText(f"{i.record_duration} frames @ {rates.rate_str(i.rate)} fps")
        v["Source"].setText(f"{rates.to_timecode(i.source_start, i.media_rate)} + {i.source_duration} fr "
                            f"@ {rates.rate_str(i.media_rate)}")
        media = i.media or i.media_url or "none"
        v["Media"].setText(media if len(media) < 60 else "…" + media[-58:])
        v["Media"].setToolTip(media)
        v["Status"].setText(i.status if not error else f"{i.status}; error: {error}")
        v["Status"].setToolTip(error or "")
        v["Flags"].setText(", ".join(i.flags) or "none")
