"""The scene as plain data for the project, and the project's planned sound strips placed back in
it. Works on anything shaped like bpy's Scene, so it is testable without Blender.

Blender API used (bpy reference, 3.4 to 4.5):
  scene.name, render.fps, render.fps_base, frame_start, sequence_editor (None until created),
  sequence_editor_create(); editor.strips (4.4 on) or editor.sequences (before 4.4), feature-tested;
  editor.channels[n].name (where present; 3.4 has it); strips.new_sound(name, filepath, channel, frame_start);
  strip.name, type, select, channel, filepath, fps (movie strips), frame_final_start,
  frame_final_duration (writable), frame_offset_start, animation_offset_start, speed_factor
"""
FORMAT = 1  # of the snapshot; blender.py on the project side reads the same number


def collection(editor):
    """The editor's top-level strips: ``strips`` from Blender 4.4 on, ``sequences`` before."""
    strips = getattr(editor, "strips", None)
    return editor.sequences if strips is None else strips


def _strip(s, abspath) -> dict:
    path = getattr(s, "filepath", "") or ""
    fps = getattr(s, "fps", None)
    return {"name": s.name, "type": s.type, "channel": int(s.channel), "select": bool(s.select),
            "filepath": abspath(path) if path else "",
            "frame_final_start": s.frame_final_start, "frame_final_duration": s.frame_final_duration,
            "frame_offset_start": getattr(s, "frame_offset_start", 0) or 0,
            "animation_offset_start": getattr(s, "animation_offset_start", 0) or 0,
            "speed_factor": getattr(s, "speed_factor", 1.0) or 1.0,
            "fps": float(fps) if fps else None}


def snapshot(scene, abspath) -> dict:
    """What the project needs of ``scene``; ``abspath`` is bpy.path.abspath ('//' paths)."""
    editor = scene.sequence_editor
    strips = [_strip(s, abspath) for s in collection(editor)] if editor is not None else []
    return {"format": FORMAT, "name": scene.name, "fps": int(scene.render.fps),
            "fps_base": float(scene.render.fps_base), "frame_start": int(scene.frame_start),
            "start_timecode": getattr(scene, "maskvat_foley_start_timecode", "") or "00:00:00:00",
            "strips": strips}


def place(scene, plan: dict) -> list:
    """Add the planned sound strips, read them back; returns (level, line) pairs to report."""
    planned = plan.get("strips") or []
    if not planned:
        return []
    editor = scene.sequence_editor or scene.sequence_editor_create()
    strips = collection(editor)
    name = plan.get("channel_name") or "Foley"
    channels = getattr(editor, "channels", None)
    used = sorted({p["channel"] for p in planned})
    for n, ch in enumerate(used):
        if channels is not None and ch < len(channels):
            channels[ch].name = name if n == 0 else f"{name} {n + 1}"
    off = []
    for p in planned:
        strip = strips.new_sound(name=p["name"], filepath=p["path"], channel=p["channel"],
                                 frame_start=p["frame_start"])
        if strip is None:
            off.append(f"{p['clip_id']}: Blender did not add {p['path']}")
            continue
        # Blender sizes a sound strip from the file rounded up to frames; the take covers the clip.
        strip.frame_final_duration = p["duration"]
        wrong = _difference(strip, p)
        if wrong:
            off.append(f"{p['clip_id']}: {wrong}")
    where = ", ".join(str(c) for c in used)
    summary = (f"blender: {len(planned) - len(off)} of {len(planned)} take(s) placed exactly on "
               f"{name!r} (channel {where})")
    return [("INFO", summary)] + [("WARNING", f"OFF: {line}") for line in off]


def _difference(strip, p: dict) -> str:
    """How a placed strip differs from its plan ('' when it does not)."""
    parts = []
    if int(strip.channel) != p["channel"]:
        parts.append(f"on channel {int(strip.channel)} (expected {p['channel']})")
    d = int(strip.frame_final_start) - p["frame_start"]
    if d:
        parts.append(f"starts at frame {int(strip.frame_final_start)}, {abs(d)} frame(s) "
                     f"{'late' if d > 0 else 'early'} (expected {p['frame_start']})")
    if int(strip.frame_final_duration) != p["duration"]:
        parts.append(f"lasts {int(strip.frame_final_duration)} frame(s), expected {p['duration']}")
    return "; ".join(parts)
