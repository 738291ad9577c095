"""`maskvat-foley engine serve|token`: the local engine the panel and the host bridges use.

``serve`` is parsed here only: core.engine.client.ensure_local_engine and the Blender add-on start
the engine as ``python -m maskvat_foley engine serve ...``.
"""
from __future__ import annotations

import argparse

from maskvat_foley.plugin.cli_options import add_device, add_model


def add_parser(sub) -> None:
    en = sub.add_parser("engine", help="the local generation engine")
    ens = en.add_subparsers(dest="engine_command", metavar="ACTION")
    sv = ens.add_parser("serve", help="serve the engine on 127.0.0.1")
    add_model(sv)
    add_device(sv)
    sv.add_argument("--host", default="127.0.0.1", help="address to listen on")
    sv.add_argument("--port", type=int, default=8765, help="port to listen on")
    sv.add_argument("--output-dir", metavar="DIR",
                    help="where takes go when a request names no folder (default: the user's data folder)")
    sv.add_argument("--cache-dir", metavar="DIR",
                    help="feature cache folder (default: maskvat-foley/features in the user's cache folder)")
    sv.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                    help="a Host header name to answer besides the loopback names and --host (against "
                         "DNS rebinding only loopback names are answered); repeatable")
    sv.set_defaults(handler=cmd_serve)
    tk = ens.add_parser("token", help="print the engine's bearer token")
    tk.set_defaults(handler=cmd_token)


def cmd_serve(args: argparse.Namespace) -> int:
    from maskvat_foley.core.engine.server import serve

    serve(model_dir=args.model, device=args.device, host=args.host, port=args.port,
          output_dir=args.output_dir, cache_dir=args.cache_dir, allow_hosts=tuple(args.allow_host))
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from maskvat_foley.core.engine.token import load_token

    print(load_token())
    return 0
