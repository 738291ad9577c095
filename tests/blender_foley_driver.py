"""Run inside real Blender by tests/test_blender_real.py (not a pytest module):

    blender -b --python-exit-code 1 --python tests/blender_foley_driver.py -- SPEC.json

Enables the installed add-on, builds each scene of SPEC from real movie files, selects strips,
runs Sequencer > Strip > MaskVAT Foley (the operator) and Blender's own audio mixdown, and writes
what Blender shows (strips, add-on state, Blender's sys.path before and after) to SPEC["out"]
as JSON.
"""
import json
import os
import sys

import addon_utils
import bpy

ADDON = "maskvat_foley_blender"


def strips_of(editor):
    strips = getattr(editor, "strips", None)
    return editor.sequences if strips is None else strips


def build(spec: dict):
    scene = bpy.data.scenes.new(spec["name"])
    scene.render.fps, scene.render.fps_base = spec["fps"], spec["fps_base"]
    scene.frame_start, scene.frame_end = spec["frame_start"], spec["frame_end"]
    if spec.get("start_timecode"):
        scene.maskvat_foley_start_timecode = spec["start_timecode"]
    editor = scene.sequence_editor_create()
    for s in spec["strips"]:
        strip = strips_of(editor).new_movie(name=s["name"], filepath=s["path"], channel=s["channel"],
                                            frame_start=s["frame_start"])
        strip.frame_offset_start = s.get("trim", 0)  # moves the left handle: a trimmed clip
        strip.select = s["select"]
    return scene


def describe(scene) -> list:
    out = []
    for s in strips_of(scene.sequence_editor):
        path = s.filepath if s.type == "MOVIE" else s.sound.filepath
        out.append({"name": s.name, "type": s.type, "channel": s.channel, "path": bpy.path.abspath(path),
                    "frame_final_start": s.frame_final_start,
                    "frame_final_duration": s.frame_final_duration})
    return out


def fail(exc):
    raise exc  # Blender would only print it; the test must see the add-on fail to enable


def main():
    spec = json.load(open(sys.argv[sys.argv.index("--") + 1]))
    result = {"sys_path": list(sys.path), "blender": list(bpy.app.version), "scenes": {}}
    addon_utils.enable(ADDON, default_set=True, handle_error=fail)
    result["enabled"] = ADDON in bpy.context.preferences.addons
    for scene_spec in spec["scenes"]:
        scene = build(scene_spec)
        with bpy.context.temp_override(scene=scene):
            status = bpy.ops.sequencer.maskvat_foley(**spec["operator"])
            scene.render.ffmpeg.audio_mixrate = spec["sample_rate"]
            scene.render.ffmpeg.audio_channels = "MONO"
            mix = os.path.join(spec["mix_dir"], f"{scene.name}.wav")
            bpy.ops.sound.mixdown(filepath=mix, container="WAV", codec="PCM", format="F32")
        result["scenes"][scene.name] = {"status": sorted(status), "strips": describe(scene), "mixdown": mix}
    engine = sys.modules[f"{ADDON}.engine"]
    pid = engine.started_pid()
    result["engine_pid"] = pid
    if pid is not None:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            result["engine_cmdline"] = [a.decode() for a in f.read().split(b"\0") if a]
    result["sys_path_after"] = list(sys.path)
    result["project_modules"] = sorted(m for m in sys.modules if m.split(".")[0] == "maskvat_foley")
    with open(spec["out"], "w") as f:
        json.dump(result, f, indent=1)
    # Blender quits after this script; the add-on stops the engine it started (atexit).


main()
