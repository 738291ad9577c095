"""Help for every command: a description, and the default of each option that has one.

The top-level parser is a ``Parser``; argparse builds sub-command parsers with the class of their
parent, so sub-commands added elsewhere (cli_install) get the same help without knowing of it.
"""
from __future__ import annotations

import argparse


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows "(default: X)" after every option with a real default, unless its help says it."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text or action.default is None or action.default is False \
                or action.default is argparse.SUPPRESS or action.default == []:
            return text
        return super()._get_help_string(action)


class _Commands(argparse._SubParsersAction):
    """Sub-commands whose --help starts with their one-line help as the description."""

    def add_parser(self, name, **kw):
        if kw.get("help"):
            kw.setdefault("description", kw["help"][:1].upper() + kw["help"][1:] + ".")
        return super().add_parser(name, **kw)


class Parser(argparse.ArgumentParser):
    """The parser class of every (sub-)command, so all of them show descriptions and defaults."""

    def __init__(self, *args, **kw):
        kw.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kw)
        self.register("action", "parsers", _Commands)
