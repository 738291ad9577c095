"""Folders of saved weights: ``config.json`` (tagged with a format name and version) beside
``model.safetensors``. Shared by codecs, feature extractors, scorers and MaskVAT checkpoints so each
reads with the same checks and writes atomically (a reader never sees half a file)."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"


def module_sha256(module: Any, config: Any) -> str:
    """Content hash of a module's weights and config (changes when either changes): what a cache of
    a module's outputs is keyed by (the training cache, the engine's feature cache)."""
    import hashlib

    h = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode())
    for k, v in sorted(module.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def atomic_write(target: Path, write: Callable[[Path], Any]) -> None:
    """``write(tmp)`` to a temporary name beside ``target``, then rename it into place."""
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_folder(directory: str | os.PathLike, meta: dict[str, Any], state: dict | None) -> Path:
    """Write ``meta`` as config.json and ``state`` (tensors) as model.safetensors into the folder."""
    from safetensors.torch import save_file

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    if state is not None:
        tensors = {k: v.detach().cpu().contiguous() for k, v in state.items()}
        atomic_write(d / WEIGHTS_FILE,
                     lambda p: save_file(tensors, str(p), metadata={"format": meta["format"]}))
    atomic_write(d / CONFIG_FILE, lambda p: p.write_text(json.dumps(meta, indent=2) + "\n"))
    return d


def read_config(directory: str | os.PathLike, fmt: str, version: int, what: str, *,
                weights: bool = True, required: tuple[str, ...] = ()) -> dict[str, Any]:
    """config.json of a ``what`` folder, checked: present, JSON, of format ``fmt``, not newer than
    ``version``, holding the ``required`` keys; with ``weights`` the weights file must exist too."""
    d = Path(directory)
    if not d.is_dir():
        raise FileNotFoundError(f"{what} folder {d} does not exist")
    cfg_path = d / CONFIG_FILE
    for p in (cfg_path, d / WEIGHTS_FILE) if weights else (cfg_path,):
        if not p.is_file():
            raise FileNotFoundError(f"{what} folder {d} has no {p.name}")
    try:
        meta = json.loads(cfg_path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"{cfg_path}: not readable JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != fmt or any(k not in meta for k in required):
        found = meta.get("format") if isinstance(meta, dict) else None
        raise ValueError(f"{cfg_path}: not a {fmt} config (format={found!r})")
    if int(meta.get("version", 0)) > version:
        raise ValueError(f"{cfg_path}: {what} format version {meta['version']} is newer than this "
                         f"software reads ({version})")
    return meta
