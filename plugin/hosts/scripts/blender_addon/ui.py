"""The Blender side: preferences, the scene's start timecode, the operator and its menu entry."""
import os

import bpy

from . import config, engine, project, strips

HERE = os.path.dirname(os.path.abspath(__file__))


class MaskVATFoleyPreferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    python: bpy.props.StringProperty(
        name="Python", subtype="FILE_PATH",
        description="Interpreter with MaskVAT Foley installed (empty: the one `maskvat-foley install "
                    "blender` recorded, or $MASKVAT_FOLEY_PYTHON)")
    engine_url: bpy.props.StringProperty(
        name="Engine URL", description="Local engine (empty: $MASKVAT_FOLEY_ENGINE or "
                                       f"{config.DEFAULT_URL}); started when none answers")
    model: bpy.props.StringProperty(
        name="Model folder", subtype="DIR_PATH",
        description="Checkpoint folder for a started engine (empty: $MASKVAT_FOLEY_MODEL or the "
                    "bundled model)")
    device: bpy.props.StringProperty(
        name="Device", description="auto, cpu, cuda, cuda:N or mps for a started engine (empty: "
                                   "$MASKVAT_FOLEY_DEVICE or auto)")

    def draw(self, context):
        col = self.layout.column()
        for name in ("python", "engine_url", "model", "device"):
            col.prop(self, name)
        try:
            col.label(text=f"Recorded Python: {config.installed(HERE)['python']}")
        except config.SetupError as exc:
            col.label(text=str(exc), icon="ERROR")
        col.label(text=f"Engine token: {config.token_path()}")


def settings(context) -> config.Settings:
    prefs = context.preferences.addons[__package__].preferences
    given = {"python": bpy.path.abspath(prefs.python) if prefs.python else "",
             "engine_url": prefs.engine_url,
             "model": bpy.path.abspath(prefs.model) if prefs.model else "",
             "device": prefs.device}
    return config.resolve(config.installed(HERE), given)


class SEQUENCER_OT_maskvat_foley(bpy.types.Operator):
    """Generate Foley for the selected movie strips and add it as sound strips"""

    bl_idname = "sequencer.maskvat_foley"
    bl_label = "MaskVAT Foley"
    bl_options = {"REGISTER", "UNDO"}

    takes: bpy.props.IntProperty(name="Takes", default=2, min=1, max=16,
                                 description="Takes per clip; the best one is placed")
    steps: bpy.props.IntProperty(name="Steps", default=16, min=1, max=256)
    guidance: bpy.props.FloatProperty(name="Guidance", default=3.0, min=0.0, max=20.0)
    seed: bpy.props.IntProperty(name="Seed", default=-1, min=-1,
                                description="Seed of the first take (-1: a new random seed)")
    # The takes' level, as `generate --loudness/--gain` (ranges: GenerationParams's checks)
    use_loudness: bpy.props.BoolProperty(name="Loudness target", default=False,
                                         description="Normalise each take to an integrated loudness (EBU R128)")
    loudness: bpy.props.FloatProperty(name="Loudness (LUFS)", default=-23.0, min=-70.0, max=0.0)
    gain: bpy.props.FloatProperty(name="Gain (dB)", default=0.0, min=-60.0, max=30.0,
                                  description="Gain on each take after the target; true peak kept under -1 dBTP")

    @classmethod
    def poll(cls, context):
        return context.scene is not None

    def invoke(self, context, event):
        return context.window_manager.invoke_props_dialog(self)

    def draw(self, context):
        col = self.layout.column()
        for name in ("takes", "steps", "guidance", "seed", "use_loudness"):
            col.prop(self, name)
        row = col.row()
        row.enabled = self.use_loudness
        row.prop(self, "loudness")
        col.prop(self, "gain")
        col.prop(context.scene, "maskvat_foley_start_timecode")

    def execute(self, context):
        params = {"takes": self.takes, "steps": self.steps, "guidance": self.guidance,
                  "seed": None if self.seed < 0 else self.seed,
                  "loudness": self.loudness if self.use_loudness else None, "gain_db": self.gain}
        try:
            found = self._engine(context)
            request = {"scene": strips.snapshot(context.scene, bpy.path.abspath),
                       "engine": found.engine_url, "params": params}
            answer = project.run(found, request)
        except (config.SetupError, engine.EngineProblem, project.ProjectProblem, OSError) as exc:
            self.report({"ERROR"}, str(exc))  # shown to the user; never a traceback in Blender's UI
            return {"CANCELLED"}
        if not answer.get("ok"):
            self.report({"ERROR"}, answer.get("error") or "MaskVAT Foley failed")
            return {"CANCELLED"}
        lines = [("WARNING" if line.startswith(("skipped", "level of")) else "INFO", line)
                 for line in answer.get("lines", [])]
        for level, line in lines + strips.place(context.scene, answer):
            self.report({level}, line)
        return {"FINISHED"}

    def _engine(self, context) -> config.Settings:
        found = settings(context)
        about, started = engine.ensure(found)
        if started:
            self.report({"INFO"}, f"started the MaskVAT Foley engine on {found.engine_url} "
                                  f"(model {about.get('model')}, device {about.get('device')}) "
                                  f"with {found.python}; it stops when Blender quits")
        return found


def _menu(self, context):
    self.layout.operator(SEQUENCER_OT_maskvat_foley.bl_idname)


CLASSES = (MaskVATFoleyPreferences, SEQUENCER_OT_maskvat_foley)


def register():
    bpy.types.Scene.maskvat_foley_start_timecode = bpy.props.StringProperty(
        name="Foley start timecode", default="00:00:00:00",
        description="Timecode of the scene's start frame (the takes' Broadcast WAV TimeReference); "
                    "';' before the frames for drop frame")
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.SEQUENCER_MT_strip.append(_menu)


def unregister():
    bpy.types.SEQUENCER_MT_strip.remove(_menu)
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
    del bpy.types.Scene.maskvat_foley_start_timecode
