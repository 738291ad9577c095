"""`maskvat-foley clips`: the video clips of a timeline, with their media checked; no torch."""
from __future__ import annotations

import argparse
import json

from maskvat_foley.plugin.cli_options import add_media_root, shown_path


def add_parser(sub) -> None:
    c = sub.add_parser("clips", help="list the video clips of a timeline")
    c.add_argument("timeline", help="OTIO timeline (or FCP XML, AAF, EDL, .otioz)")
    c.add_argument("--json", action="store_true", help="print a JSON list")
    add_media_root(c)
    c.set_defaults(handler=cmd_clips)


def cmd_clips(args: argparse.Namespace) -> int:
    from maskvat_foley.core.pipeline import open_timeline

    clips = open_timeline(args.timeline, media_roots=args.media_root).clips
    if args.json:
        print(json.dumps([c.to_json() for c in clips], indent=2, ensure_ascii=False))
        return 0
    rows = [("ID", "NAME", "RECORD IN", "RECORD OUT", "FRAMES", "STATUS", "FLAGS", "MEDIA")]
    for c in clips:
        j = c.to_json()
        rows.append((j["id"], j["name"], j["record_in"], j["record_out"], str(j["record_duration"]),
                     j["status"], ",".join(j["flags"]) or "-", _shown(j["media"])))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths)) + "  " + r[-1])
    if not clips:
        print("(no video clips)")
    return 0


def _shown(path: str | None) -> str:
    """A media path as a person reads it ("-" for none)."""
    return shown_path(path) if path else "-"
