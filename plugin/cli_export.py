"""`maskvat-foley export`: a timeline converted to another format, conformed for its target."""
from __future__ import annotations

import argparse
import os

from maskvat_foley.plugin.cli_options import UsageError, add_media_root

# core.timeline.export.FORMATS, spelled out so that building the parser imports no OTIO.
FORMATS = ("otio", "otioz", "fcp_xml", "aaf", "edl", "mlt", "xges")


def add_parser(sub) -> None:
    e = sub.add_parser("export", help="convert a timeline to another format")
    e.add_argument("input", help="timeline to convert; never modified")
    e.add_argument("-o", "--output", required=True, help="the converted timeline")
    e.add_argument("--format", choices=FORMATS, help="default: from the output's extension")
    add_media_root(e)
    e.set_defaults(handler=cmd_export)


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
