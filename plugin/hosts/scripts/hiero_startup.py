# maskvat-foley host script: Nuke Studio / Hiero startup (Window > MaskVAT Foley, timeline menu)
# Written by `maskvat-foley install hiero`; `maskvat-foley uninstall hiero` removes it.
"""Registers the MaskVAT Foley dock and the timeline context-menu entry."""
import logging
import sys

CONFIG: dict = {}

if tuple(sys.version_info[:2]) != tuple(CONFIG["python_version"]):
    logging.getLogger("maskvat_foley").error(
        "MaskVAT Foley was installed for Python %s (%s); this Nuke runs Python %d.%d: reinstall it "
        "into a Python %d.%d environment and run `maskvat-foley install hiero` from there",
        ".".join(map(str, CONFIG["python_version"])), CONFIG["python"], *sys.version_info[:2],
        *sys.version_info[:2])
else:
    import site

    for _path in CONFIG["site"]:
        site.addsitedir(_path)
    from maskvat_foley.plugin.hosts import hiero as _bridge

    _bridge.register()
