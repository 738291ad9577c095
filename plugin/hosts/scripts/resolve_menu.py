# maskvat-foley host script: DaVinci Resolve, Workspace > Scripts > MaskVAT Foley
# Written by `maskvat-foley install resolve`; `maskvat-foley uninstall resolve` removes it.
"""Give Foley to the selected clips of the current timeline (MaskVAT Foley)."""
import subprocess
import sys

CONFIG: dict = {}


def _main():
    if tuple(sys.version_info[:2]) == tuple(CONFIG["python_version"]):
        import site

        for path in CONFIG["site"]:
            site.addsitedir(path)  # processes .pth files, so editable installs are found too
        from maskvat_foley.plugin.hosts import resolve as bridge

        app = globals().get("resolve")
        if app is None and "bmd" in globals():
            app = bmd.scriptapp("Resolve")
        return bridge.main(app)
    # Resolve runs another Python than the one MaskVAT Foley is installed in: run there, reaching
    # this Resolve through external scripting (Preferences > System > General > External scripting).
    subprocess.Popen([CONFIG["python"], "-m", "maskvat_foley.plugin.hosts.resolve"])
    return 0


_main()
