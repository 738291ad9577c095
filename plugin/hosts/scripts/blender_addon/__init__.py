# maskvat-foley host script: Blender add-on (Sequencer > Strip > MaskVAT Foley)
# Written by `maskvat-foley install blender`; `maskvat-foley uninstall blender` removes it.
"""MaskVAT Foley: generate synchronized Foley for the selected movie strips.

A thin add-on: Blender's own Python only snapshots the scene, talks to the local engine over
HTTP and places sound strips. The work runs in the Python that `maskvat-foley install blender`
recorded in config.json, so none of the project's compiled modules is ever loaded into Blender.
"""

bl_info = {
    "name": "MaskVAT Foley",
    "author": "MaskVAT Foley",
    "version": (0, 1, 0),
    "blender": (3, 4, 0),  # the oldest Blender this add-on is tested with
    "location": "Sequencer > Strip > MaskVAT Foley",
    "description": "Generate synchronized Foley for the selected movie strips",
    "category": "Sequencer",
}


def register():
    # bpy is imported only here so the standard-library modules of this package import without
    # Blender (the project's tests use them).
    from . import ui

    ui.register()


def unregister():
    from . import engine, ui

    ui.unregister()
    engine.stop()
