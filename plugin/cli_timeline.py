"""`maskvat-foley clips` and `maskvat-foley export`: timeline work that needs no torch."""
from __future__ import annotations

import argparse
import json
import os

from maskvat_foley.plugin.cli import UsageError


def cmd_clips(args: argparse.Namespace) -> int:
    from maskvat_foley.core.timeline.clips import list_clips
    from maskvat_foley.core.timeline.io import read_timeline
    from maskvat_foley.core.timeline.media_check import check_media

    timeline = read_timeline(args.timeline, media_roots=args.media_root)
    # Probing flags ranges that run past their media (status "short") before anyone generates.
    clips = check_media(list_clips(timeline, timeline_dir=os.path.dirname(os.path.abspath(args.timeline))))
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
    """A media path as a person reads it: relative when it lies under the current folder."""
    if not path:
        return "-"
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def cmd_export(args: argparse.Namespace) -> int:
    """Exit 0 when the file holds everything asked for; 1 when it was written without the Foley
    tracks (an EDL holds one video track: the logged warning names the formats that keep them)."""
    from maskvat_foley.core.timeline.export import export_format, export_timeline
    from maskvat_foley.core.timeline.io import read_timeline

    if os.path.abspath(args.output) == os.path.abspath(args.input):
        raise UsageError(f"refusing to overwrite the input timeline {args.input}; choose another -o")
    export_format(args.output, args.format)  # an unknown or refused format fails before reading
    timeline = read_timeline(args.input, media_roots=args.media_root)
    result = export_timeline(timeline, args.output, args.format, input_path=args.input)
    print(f"wrote {args.output}")
    return 1 if result.foley_left_out else 0
