"""`maskvat-foley install HOST [--dest DIR]` and `maskvat-foley uninstall HOST [--dest DIR]`."""
from __future__ import annotations

import argparse
import sys

from maskvat_foley.plugin.cli_options import UsageError
from maskvat_foley.plugin.hosts.install import HOSTS
NOTES = {
    "resolve": "restart DaVinci Resolve; run it from Workspace > Scripts > MaskVAT Foley",
    "hiero": "restart Nuke Studio / Hiero; open Window > MaskVAT Foley or right-click the timeline",
    "blender": "in Blender enable Preferences > Add-ons > MaskVAT Foley (or `blender --addons "
               "maskvat_foley_blender`); then Sequencer > Strip > MaskVAT Foley",
}


def add_parser(sub) -> None:
    for name, handler, verb in (("install", cmd_install, "install"), ("uninstall", cmd_uninstall, "remove")):
        p = sub.add_parser(name, help=f"{verb} the DaVinci Resolve, Nuke Studio/Hiero or Blender integration")
        p.add_argument("host", choices=HOSTS)
        p.add_argument("--dest", metavar="DIR", help="folder to use instead of the host's per-user folder")
        p.set_defaults(handler=handler)


def cmd_install(args: argparse.Namespace) -> int:
    from maskvat_foley.plugin.hosts import HostError
    from maskvat_foley.plugin.hosts.install import install

    try:
        path = install(args.host, args.dest)
    except HostError as exc:
        raise UsageError(str(exc)) from None
    print(f"installed the {args.host} script: {path}")
    if args.host == "blender":  # the add-on runs the engine and the work with this interpreter
        print(f"it runs MaskVAT Foley with {sys.executable}")
    print(NOTES[args.host])
    return 0


def cmd_uninstall(args: argparse.Namespace) -> int:
    from maskvat_foley.plugin.hosts import HostError
    from maskvat_foley.plugin.hosts.install import uninstall

    try:
        removed = uninstall(args.host, args.dest)
    except HostError as exc:
        raise UsageError(str(exc)) from None
    for path in removed:
        print(f"removed {path}")
    if not removed:
        print(f"nothing of maskvat-foley was installed for {args.host}")
    return 0
