# maskvat-foley host script: Blender add-on (Sequencer > Strip > MaskVAT Foley)
# Written by `maskvat-foley install blender`; `maskvat-foley uninstall blender` removes it.
"""MaskVAT Foley: generate synchronized Foley for the selected movie strips."""
import sys

import bpy

CONFIG: dict = {}

bl_info = {
    "name": "MaskVAT Foley",
    "description": "Generate synchronized Foley for the selected movie strips",
    "blender": (4, 2, 0),
    "location": "Sequencer > Strip > MaskVAT Foley",
    "category": "Sequencer",
}


def _bootstrap():
    if tuple(sys.version_info[:2]) != tuple(CONFIG["python_version"]):
        raise RuntimeError(
            "MaskVAT Foley was installed for Python %s (%s); Blender runs Python %d.%d"
            % (".".join(map(str, CONFIG["python_version"])), CONFIG["python"], *sys.version_info[:2]))
    import site

    for path in CONFIG["site"]:
        site.addsitedir(path)


class SEQUENCER_OT_maskvat_foley(bpy.types.Operator):
    """Generate Foley for the selected movie strips and add it as sound strips"""

    bl_idname = "sequencer.maskvat_foley"
    bl_label = "MaskVAT Foley"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        try:
            _bootstrap()
            from maskvat_foley.plugin.hosts.blender import run_operator

            lines = run_operator()
        except Exception as exc:  # shown to the user; never a traceback into Blender's UI
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        for line in lines:
            self.report({"WARNING"} if line.startswith(("OFF", "error", "skipped")) else {"INFO"}, line)
        return {"FINISHED"}


def _menu(self, context):
    self.layout.operator(SEQUENCER_OT_maskvat_foley.bl_idname)


def register():
    bpy.types.Scene.maskvat_foley_start_timecode = bpy.props.StringProperty(
        name="Foley start timecode", default="00:00:00:00",
        description="Timecode of the scene's start frame (the takes' Broadcast WAV TimeReference)")
    bpy.utils.register_class(SEQUENCER_OT_maskvat_foley)
    bpy.types.SEQUENCER_MT_strip.append(_menu)


def unregister():
    bpy.types.SEQUENCER_MT_strip.remove(_menu)
    bpy.utils.unregister_class(SEQUENCER_OT_maskvat_foley)
    del bpy.types.Scene.maskvat_foley_start_timecode
