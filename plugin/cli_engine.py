"""`maskvat-foley engine serve|token`."""
from __future__ import annotations

import argparse


def cmd_serve(args: argparse.Namespace) -> int:
    from maskvat_foley.core.engine.server import serve

    serve(model_dir=args.model, device=args.device, host=args.host, port=args.port,
          output_dir=args.output_dir, allow_hosts=tuple(args.allow_host))
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from maskvat_foley.core.engine.token import load_token

    print(load_token())
    return 0
