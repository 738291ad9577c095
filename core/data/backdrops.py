"""Photographic-looking backgrounds ("plates") for FoleyWorld's footage look.

A plate covers the whole world a clip's camera can see (pans and zooms move over it, they do
not re-render it). Styles: a room (wall, decor, floor in perspective), outdoors (sky, clouds,
hills, tree line, ground), a street (brick wall, pavement), a tabletop close-up (wood grain in
front of a defocused interior with bokeh) and a studio backdrop. Planning draws the layout
(JSON-able numbers); rendering draws its noise fields from the rng it is given, so a plate is a
pure function of the plan and that rng.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from maskvat_foley.core.data import props, textures as tx
from maskvat_foley.core.data.kinds.base import r2

STYLES = ("room", "outdoor", "street", "table", "studio")
_STYLE_P = (0.32, 0.28, 0.17, 0.15, 0.08)

WALLS = ((205, 200, 188), (178, 182, 186), (168, 186, 198), (186, 198, 172), (214, 192, 165),
         (140, 118, 96), (92, 96, 106), (225, 222, 215))
FLOORS = {"planks": ((150, 104, 64), (92, 62, 42), (186, 150, 110)), "carpet": ((118, 114, 110), (90, 70, 60), (70, 84, 110)),
          "tiles": ((212, 210, 204), (150, 140, 125), (60, 60, 62)), "concrete": ((150, 148, 140), (120, 118, 112))}
GROUNDS = {"grass": ((78, 118, 48), (120, 130, 60)), "dry": ((152, 140, 92), (120, 104, 70)),
           "dirt": ((128, 104, 80), (96, 80, 62)), "asphalt": ((82, 82, 84), (60, 60, 64)),
           "sand": ((200, 180, 142), (176, 154, 118))}
SKIES = (((104, 152, 212), (188, 208, 228)), ((176, 182, 190), (216, 218, 222)),
         ((78, 88, 138), (230, 160, 112)), ((120, 170, 225), (225, 235, 240)))
BRICKS = ((150, 72, 52), (120, 92, 80), (168, 120, 88), (110, 110, 112), (190, 180, 160))


def _jit(rng: np.random.Generator, c, amount: float = 0.08) -> list[float]:
    return [r2(np.clip(v * (1 + rng.uniform(-amount, amount)), 4, 250)) for v in c]


def _pick(rng: np.random.Generator, seq):
    return seq[int(rng.integers(len(seq)))]


def plan_scene(rng: np.random.Generator, world: tuple[int, int], floor_y: float, view_h: float) -> dict[str, Any]:
    """A plate's description. ``floor_y``: where the subject's ground meets the background
    (world px); ``view_h``: the view's height in world px, the scale of far-away layout."""
    W, H = world
    style = str(rng.choice(STYLES, p=_STYLE_P))
    p: dict[str, Any] = {"style": style, "floor_y": r2(floor_y), "grime": r2(rng.uniform(0.02, 0.08)),
                         "slope": r2(rng.uniform(0.85, 1.3)), "light": [r2(rng.uniform(0, 2 * np.pi)), r2(rng.uniform(0, 0.25))],
                         "saturation": r2(rng.uniform(0.6, 1.15)), "tint": [r2(v) for v in rng.uniform(0.94, 1.06, 3)],
                         "dof": int(rng.choice([0, 0, 0, 1, 2, 3])), "seed": r2(rng.uniform(0, 100))}
    if style == "table":  # its background is drawn out of focus already
        p["dof"] = min(p["dof"], 1)
    if style == "room":
        kind = str(rng.choice(list(FLOORS)))
        p.update(wall=_jit(rng, _pick(rng, WALLS)), wall2=_jit(rng, _pick(rng, WALLS), 0.15),
                 pattern=str(rng.choice(["plain", "plain", "stripes", "panels"])),
                 pattern_w=r2(rng.uniform(6, 24)), floor=kind, floor_color=_jit(rng, _pick(rng, FLOORS[kind])),
                 horizon=r2(floor_y - view_h * rng.uniform(0.3, 1.2)), lamp=[r2(rng.uniform(0, W)), r2(rng.uniform(-0.3, 0.6) * H),
                                                                         r2(rng.uniform(0.3, 1.0) * H), r2(rng.uniform(0.1, 0.45))],
                 baseboard=[r2(rng.uniform(0, 0.03) * view_h), _jit(rng, _pick(rng, ((235, 232, 225), (70, 55, 45), (120, 120, 120))))],
                 decor=[_decor(rng, W, floor_y, view_h) for _ in range(int(rng.integers(0, 4)))])
    elif style == "outdoor":
        ground = str(rng.choice(list(GROUNDS)))
        p.update(sky=[_jit(rng, c) for c in _pick(rng, SKIES)], clouds=r2(rng.uniform(0, 0.9)),
                 horizon=r2(floor_y - view_h * rng.uniform(0.05, 0.55)), ground=ground,
                 ground_colors=[_jit(rng, c) for c in GROUNDS[ground]],
                 hills=[r2(rng.uniform(0.02, 0.15) * view_h), r2(rng.uniform(0.01, 0.06) * view_h)],
                 hill_color=_jit(rng, (110, 124, 134), 0.12),
                 trees=[r2(rng.uniform(0.05, 0.3) * view_h), r2(rng.uniform(0.02, 0.08) * view_h)] if rng.random() < 0.6 else None,
                 tree_color=_jit(rng, _pick(rng, ((46, 70, 38), (66, 86, 50), (40, 52, 40))), 0.15))
    elif style == "street":
        p.update(brick=_jit(rng, _pick(rng, BRICKS)), mortar=_jit(rng, (180, 175, 165), 0.1),
                 brick_h=r2(rng.uniform(0.025, 0.06) * view_h + 2), brick_ratio=r2(rng.uniform(1.8, 3.2)),
                 pavement=_jit(rng, (140, 138, 132), 0.12), slab=r2(rng.uniform(30, 90)),
                 horizon=r2(floor_y - view_h * rng.uniform(0.4, 1.2)),
                 openings=[_decor(rng, W, floor_y, view_h, dark=True) for _ in range(int(rng.integers(0, 3)))])
    elif style == "table":
        p.update(wood=_jit(rng, _pick(rng, FLOORS["planks"]), 0.12), rings=r2(rng.uniform(0.03, 0.12)),
                 horizon=r2(floor_y - view_h * rng.uniform(0.6, 2.0)),
                 room=[_jit(rng, _pick(rng, WALLS), 0.2) for _ in range(3)],
                 bokeh=[[r2(rng.uniform(0, W)), r2(rng.uniform(0, floor_y)), r2(rng.uniform(0.03, 0.14) * view_h),
                         r2(rng.uniform(20, 90))] for _ in range(int(rng.integers(0, 18)))])
    else:
        p.update(backdrop=_jit(rng, _pick(rng, WALLS + ((60, 62, 70), (30, 32, 36))), 0.12),
                 spot=[r2(rng.uniform(0.2, 0.8) * W), r2(rng.uniform(0.0, 0.6) * H), r2(rng.uniform(0.4, 1.2) * H),
                       r2(rng.uniform(0.1, 0.5))])
    p["props"] = props.plan(rng, style, W, floor_y, view_h)
    return p


def _decor(rng: np.random.Generator, W: int, floor_y: float, view_h: float, dark: bool = False) -> dict:
    """A window, a picture or a cabinet on the wall (or a dark opening in a street wall)."""
    kind = "opening" if dark else str(rng.choice(["window", "picture", "cabinet"]))
    w = view_h * rng.uniform(0.15, 0.6)
    h = view_h * rng.uniform(0.15, 0.5)
    x0 = rng.uniform(-0.1 * W, W)
    y1 = floor_y if kind in ("cabinet", "opening") else floor_y - view_h * rng.uniform(0.25, 0.6)
    return {"type": kind, "rect": [r2(x0), r2(y1 - h), r2(x0 + w), r2(y1)],
            "color": _jit(rng, _pick(rng, ((80, 60, 45), (200, 200, 195), (60, 62, 66), (140, 110, 80))), 0.1)}


def render_plate(p: dict[str, Any], rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """The plate [h, w, 3] float32 (values ~0..255) described by ``p``."""
    rows = np.arange(h, dtype=np.float32)[:, None] + 0.5
    cols = np.arange(w, dtype=np.float32)[None, :] + 0.5
    img = _STYLE_FN[p["style"]](p, rng, h, w, rows, cols)
    props.draw(img, p["props"], rng)
    # grime and uneven light over everything: no surface is perfectly flat in a photograph
    img *= (1 + p["grime"] * tx.fractal(rng, h, w, p["slope"]))[..., None]
    ang, amt = p["light"]
    img *= (1 + amt * (np.cos(ang) * (cols / w - 0.5) + np.sin(ang) * (rows / h - 0.5)) * 2)[..., None]
    y = img.mean(axis=2, keepdims=True)
    img = y + p["saturation"] * (img - y)
    img *= np.asarray(p["tint"], np.float32)
    if p["dof"]:  # a background out of focus behind the (sharp) subject
        img = tx.box_blur(img, p["dof"])
    return np.clip(img, 0, 255).astype(np.float32)


def _wall_floor(img: np.ndarray, floor: np.ndarray, p: dict, rows: np.ndarray) -> np.ndarray:
    """Floor below floor_y, wall above, with a soft contact shade along the join."""
    fy = p["floor_y"]
    below = rows[..., None] >= fy
    out = np.where(below, floor, img)
    d = np.abs(rows - fy)
    return out * (1 - 0.22 * np.exp(-d / 6.0))[..., None]


def _room(p, rng, h, w, rows, cols):
    n = tx.fractal(rng, h, w, 1.6)
    wall = tx.mix(p["wall"], p["wall2"], tx.smoothstep(0.5, 2.5, n) * 0.2)
    wall *= (1 + 0.03 * tx.fractal(rng, h, w, 1.0))[..., None]
    if p["pattern"] == "stripes":
        wall *= (1 + 0.05 * np.sign(np.sin(np.pi * cols / p["pattern_w"])))[..., None]
    elif p["pattern"] == "panels":
        pw = 3 * p["pattern_w"]
        m = cols % pw
        seam = tx.smoothstep(1.5, 0.0, np.minimum(m, pw - m))
        panel = np.sin(np.floor(cols / pw) * 12.9898 + p["seed"]) * 43758.5453
        wall *= (1 - 0.3 * seam + 0.08 * (panel - np.floor(panel) - 0.5))[..., None]
    lx, ly, lr, la = p["lamp"]
    wall *= (1 - la + la * 2 / (1 + ((cols - lx) ** 2 + (rows - ly) ** 2) / (lr * lr)))[..., None]
    for d in p["decor"]:
        _draw_decor(wall, d, rng, rows, cols)
    bb, bcol = p["baseboard"]
    if bb > 1:
        band = (rows >= p["floor_y"] - bb) & (rows < p["floor_y"])
        wall = np.where(band[..., None], np.asarray(bcol, np.float32) * (0.9 + 0.1 * (rows - p["floor_y"] + bb) / bb)[..., None], wall)
    return _wall_floor(wall, _floor(p, rng, h, w, rows, cols), p, rows)


def _floor(p, rng, h, w, rows, cols):
    kind, col, hz = p["floor"], p["floor_color"], p["horizon"]
    near = max(h - hz, 8.0)
    t = 256
    if kind == "planks":
        grain = tx.fractal(rng, t, t, 1.2, stretch=(1.0, 10.0))
        bw = 14.0
        u = np.arange(t, dtype=np.float32)[None, :]
        board = np.sin(np.floor(u / bw) * 12.9898 + p["seed"]) * 43758.5453
        board = board - np.floor(board)
        seam = (u % bw) < 1.2
        tex = 1 + 0.2 * grain + 0.18 * (board - 0.5) - 0.35 * seam
    elif kind == "tiles":
        g = 24.0
        a = np.arange(t, dtype=np.float32)
        seam = ((a[:, None] % g) < 1.5) | ((a[None, :] % g) < 1.5)
        tile = np.sin(np.floor(a[:, None] / g) * 7.3 + np.floor(a[None, :] / g) * 3.1 + p["seed"]) * 43758.5453
        tex = 1 + 0.08 * (tile - np.floor(tile) - 0.5) + 0.05 * tx.fractal(rng, t, t, 0.8) - 0.3 * seam
    elif kind == "carpet":
        tex = 1 + 0.16 * tx.fractal(rng, t, t, 0.6)
    else:
        tex = 1 + 0.12 * tx.fractal(rng, t, t, 1.0) + 0.1 * tx.fractal(rng, t, t, 2.0)
    laid = tx.perspective(tex.astype(np.float32), rows, cols, hz, w * 0.5 + (p["seed"] - 50) * 2, near, 0.6)
    fade = tx.distance_fade(rows, hz, near)
    shade = 0.75 + 0.25 * fade  # far floor darker: it falls off from the light
    return (np.asarray(col, np.float32) * ((1 + fade * (laid - 1)) * shade)[..., None]).astype(np.float32)


def _draw_decor(img, d, rng, rows, cols):
    H, W = img.shape[:2]
    x0, y0, x1, y1 = d["rect"]
    i0, i1 = max(int(np.floor(y0)), 0), min(int(np.ceil(y1)), H)
    j0, j1 = max(int(np.floor(x0)), 0), min(int(np.ceil(x1)), W)
    if i0 >= i1 or j0 >= j1:
        return
    hh, ww = i1 - i0, j1 - j0
    r, c = rows[i0:i1], cols[:, j0:j1]
    edge = np.minimum(np.minimum(r - y0, y1 - r), np.minimum(c - x0, x1 - c))
    col = np.asarray(d["color"], np.float32)
    if d["type"] == "window":  # bright (often clipped) sky behind glass, bars across
        sky = 235 + 40 * (1 - (r - y0) / max(y1 - y0, 1)) + 12 * tx.fractal(rng, hh, ww, 1.8)
        bars = (np.abs(c - (x0 + x1) / 2) < 1.5) | (np.abs(r - (y0 + y1) / 2) < 1.5) | (edge < 3)
        patch = np.where(bars[..., None], col, sky[..., None])
    elif d["type"] == "picture":  # a frame around a painting-like fractal colour field
        art = 40 * tx.fractal(rng, hh, ww, 1.4)[..., None] + np.stack([15 * tx.fractal(rng, hh, ww, 1.8) for _ in range(3)], -1)
        patch = np.where((edge < 3)[..., None], col, 120 + art)
    else:  # cabinet or dark opening: textured panel
        patch = col * (1 + 0.1 * tx.fractal(rng, hh, ww, 1.0, stretch=(1.0, 4.0)))[..., None]
        if d["type"] == "opening":
            patch = patch * 0.35
    img[i0:i1, j0:j1] = patch


def _outdoor(p, rng, h, w, rows, cols):
    hz = p["horizon"]
    top, low = (np.asarray(c, np.float32) for c in p["sky"])
    t = np.clip(rows / max(hz, 1.0), 0, 1)
    sky = (top + (low - top) * t[..., None] ** 1.5) * np.ones((1, w, 1), np.float32)
    if p["clouds"] > 0:
        cl = tx.fractal(rng, h, w, 1.5, stretch=(1.0, 2.5))
        c = tx.smoothstep(0.2, 1.4, cl) * p["clouds"]
        sky += c[..., None] * (np.float32(238) * (0.85 + 0.15 * np.clip(cl, -1, 2)[..., None] / 2) - sky)
    hills_y = hz - p["hills"][0] - p["hills"][1] * tx.profile(rng, w, 1.8)[None, :]
    far = np.asarray(p["hill_color"], np.float32) * (1 + 0.05 * tx.fractal(rng, h, w, 1.2))[..., None]
    img = np.where((rows >= hills_y)[..., None], far, sky)
    if p["trees"]:
        ty = hz - p["trees"][0] - p["trees"][1] * tx.profile(rng, w, 1.0)[None, :]
        leaves = tx.fractal(rng, h, w, 0.9)
        tree = np.asarray(p["tree_color"], np.float32) * (1 + 0.28 * leaves)[..., None]
        img = np.where((rows >= ty + 2 * leaves)[..., None], tree, img)
    near = max(h - hz, 8.0)
    t = 256
    g0, g1 = p["ground_colors"]
    tex = tx.fractal(rng, t, t, 0.9 if p["ground"] in ("grass", "dry") else 1.1)
    laid = tx.perspective(tex, rows, cols, hz, w * 0.5, near, 0.8)
    fade = tx.distance_fade(rows, hz, near)
    ground = tx.mix(g0, g1, tx.smoothstep(-1, 1.5, tx.fractal(rng, h, w, 1.8)))
    ground *= (1 + 0.25 * fade * laid)[..., None]
    haze = np.asarray(low, np.float32)
    ground += (0.35 * (1 - fade))[..., None] * (haze - ground)  # aerial perspective near the horizon
    return np.where((rows >= hz)[..., None], ground, img).astype(np.float32)


def _street(p, rng, h, w, rows, cols):
    bh = p["brick_h"]
    cell, mortar = tx.bricks(h, w, bh, bh * p["brick_ratio"], 0.6, 0, p["floor_y"], p["seed"])
    wall = np.asarray(p["brick"], np.float32) * (0.82 + 0.3 * cell)[..., None]
    wall = wall + mortar[..., None] * (np.asarray(p["mortar"], np.float32) - wall)
    wall *= (1 + 0.06 * tx.fractal(rng, h, w, 1.2))[..., None]
    for d in p["openings"]:
        _draw_decor(wall, d, rng, rows, cols)
    hz, t = p["horizon"], 256
    g = p["slab"]
    a = np.arange(t, dtype=np.float32)
    seam = ((a[:, None] % g) < 1.2) | ((a[None, :] % g) < 1.2)
    tex = 1 + 0.12 * tx.fractal(rng, t, t, 1.0) - 0.25 * seam
    near = max(h - hz, 8.0)
    laid = tx.perspective(tex.astype(np.float32), rows, cols, hz, w * 0.5, near, 0.7)
    fade = tx.distance_fade(rows, hz, near)
    floor = np.asarray(p["pavement"], np.float32) * (1 + fade * (laid - 1))[..., None]
    return _wall_floor(wall, floor, p, rows)


def _table(p, rng, h, w, rows, cols):
    # behind: an interior far out of focus, smooth colour fields and bright discs (bokeh)
    c0, c1, c2 = (np.asarray(c, np.float32) for c in p["room"])
    a, b = tx.fractal(rng, h, w, 2.4), tx.fractal(rng, h, w, 2.4)
    back = c0 + tx.smoothstep(-1.2, 1.2, a)[..., None] * (c1 - c0)
    back += tx.smoothstep(0.3, 1.8, b)[..., None] * (c2 - back)
    for bx, by, br, bv in p["bokeh"]:
        d2 = ((cols - bx) ** 2 + (rows - by) ** 2) / (br * br)
        back += (bv * tx.smoothstep(1.0, 0.8, d2))[..., None]
    hz, t = p["horizon"], 256
    grain = tx.fractal(rng, t, t, 1.1, stretch=(12.0, 1.0))
    u = np.arange(t, dtype=np.float32)[:, None]
    rings = np.sin(u * 0.5 + 9 * tx.fractal(rng, t, t, 1.8, stretch=(6.0, 1.0))) * p["rings"]
    tex = (1 + 0.14 * grain + rings).astype(np.float32)
    near = max(h - hz, 8.0)
    laid = tx.perspective(tex, rows, cols, hz, w * 0.5, near, 0.5)
    top = np.asarray(p["wood"], np.float32) * (1 + tx.distance_fade(rows, hz, near) * (laid - 1))[..., None]
    return _wall_floor(back, top, p, rows)


def _studio(p, rng, h, w, rows, cols):
    sx, sy, sr, sa = p["spot"]
    light = 1 - sa + sa * 2 / (1 + ((cols - sx) ** 2 + (rows - sy) ** 2) / (sr * sr))
    sweep = 0.85 + 0.15 * np.clip(rows / max(p["floor_y"], 1.0), 0, 1.3)
    img = np.asarray(p["backdrop"], np.float32) * (light * sweep * (1 + 0.03 * tx.fractal(rng, h, w, 1.0)))[..., None]
    return img.astype(np.float32)


_STYLE_FN = {"room": _room, "outdoor": _outdoor, "street": _street, "table": _table, "studio": _studio}
