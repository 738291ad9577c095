"""A cache of (codec tokens, visual features at the codec rate, teacher frames) per training clip.

Conditioning is computed exactly as the engine does at inference (``codec_rate_features``: the
extractor on the clip's frames at their own times, then ``adapt_length`` to the codec rate).
Stored as safetensors shards of ``shard_size`` clips; ``manifest.json`` records the codec and
extractor content hashes and the data source, and the cache is rebuilt when any of them changes.
With several ranks each builds its share of the shards.
"""
from __future__ import annotations

import functools
import json
import logging
import os
import shutil
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor

from maskvat_foley.core.features.shots import clip_features, feature_rule
from maskvat_foley.core.train import dist as D
from maskvat_foley.core.train.workers import in_order, render_workers
from maskvat_foley.core.weights_folder import module_sha256

log = logging.getLogger(__name__)

FORMAT = "maskvat-foley-token-cache"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
TEACHER_DIM = 64  # logmel teacher frames for the optional auxiliary loss


def codec_rate_features(extractor: Any, rgb: np.ndarray, times: Sequence[Fraction], n_out: int,
                        frame_rate: Fraction, motion_gain: float = 1.0) -> Tensor:
    """Visual features [n_out, D] at the codec rate: the engine's path (Engine.features)."""
    from maskvat_foley.core.features.length import adapt_length

    feats = clip_features(extractor, rgb, times, motion_gain)
    return adapt_length(feats.float().cpu(), times, n_out, frame_rate)


@dataclass
class CacheClip:
    key: str
    codes: Tensor    # int64 [K, F]
    cond: Tensor     # float32 [F, D]
    teacher: Tensor  # float32 [F, TEACHER_DIM]


def _manifest(source: Any, tokenizer: Any, extractor: Any, shard_size: int,
              motion_gain: float = 1.0) -> dict[str, Any]:
    return {"format": FORMAT, "version": FORMAT_VERSION, "source": source.describe(), "n": len(source),
            "shard_size": shard_size, "codec_sha256": module_sha256(tokenizer.model, tokenizer.config.to_dict()),
            "extractor_sha256": module_sha256(extractor, [extractor.name, extractor.config()]),
            **feature_rule(motion_gain),
            "teacher": {"name": "logmel", "dim": TEACHER_DIM}}


def _shard_path(d: Path, i: int) -> Path:
    return d / f"shard_{i:05d}.safetensors"


def _without_n(manifest: dict[str, Any]) -> dict[str, Any]:
    return {k: ({**v, "n": None} if k == "source" and isinstance(v, dict) else v)
            for k, v in manifest.items() if k != "n"}


def shards_to_build(d: Path, want: dict[str, Any], info: D.DistInfo, what: str) -> list[int]:
    """The shards of cache ``d`` that ``want`` (its manifest) still needs, the folder made ready
    for them: none when the cache is up to date, every shard when anything but the number of clips
    changed. A cache grown to more clips of the same source keeps its full shards: clip j is a pure
    function of j, so they hold what a new build would write, and only the clips after them are
    encoded (training longer on more data costs only the new clips)."""
    n_shards = -(-int(want["n"]) // int(want["shard_size"]))
    every = list(range(n_shards))
    man = d / MANIFEST
    have = json.loads(man.read_text()) if man.is_file() else None
    if have == want and all(_shard_path(d, i).is_file() for i in every):
        log.info("%s %s is up to date (%d clips)", what, d, want["n"])
        return []
    keep: list[int] = []
    if have is not None and _without_n(have) == _without_n(want):
        full = min(int(have.get("n", 0)), int(want["n"])) // int(want["shard_size"])
        keep = [i for i in range(full) if _shard_path(d, i).is_file()]
    todo = [i for i in every if i not in keep]
    if info.is_main:
        if keep:
            # The old manifest stays until the new shards are in: an interrupted build resumes here.
            log.info("%s %s goes from %d to %d clips: %d shards kept", what, d, have["n"], want["n"], len(keep))
            for p in d.glob("shard_*.safetensors"):
                if int(p.stem.split("_")[1]) not in keep:
                    p.unlink()
            if not todo:  # fewer clips, on a shard boundary
                _write_manifest(d, want)
        else:
            if d.exists():
                log.info("%s %s is stale or incomplete: rebuilding", what, d)
                shutil.rmtree(d)
            d.mkdir(parents=True)
    D.barrier(info)
    return todo


def _write_manifest(d: Path, want: dict[str, Any]) -> None:
    (d / MANIFEST).write_text(json.dumps(want, indent=1) + "\n")


def _seal(d: Path, want: dict[str, Any], info: D.DistInfo) -> None:
    """Once every rank's shards are in, the manifest that makes the cache current."""
    D.barrier(info)
    if info.is_main:
        _write_manifest(d, want)
    D.barrier(info)


@torch.no_grad()
def encode_clip(clip: Any, tokenizer: Any, extractor: Any, teacher: Any, motion_gain: float = 1.0) -> CacheClip:
    if clip.frames is None or clip.frame_times is None:
        raise ValueError(f"clip {clip.key}: the token cache needs video frames")
    wave = torch.from_numpy(np.ascontiguousarray(clip.audio, dtype=np.float32))[None, None]
    codes = tokenizer.encode(wave)[0].cpu()
    n = codes.shape[-1]
    cond = codec_rate_features(extractor, clip.frames, clip.frame_times, n, tokenizer.frame_rate, motion_gain)
    padded = torch.nn.functional.pad(wave, (0, n * tokenizer.hop - wave.shape[-1]))
    t = teacher.embed(padded, tokenizer.sample_rate, n)[0].float()
    return CacheClip(clip.key, codes, cond, t)


def _video_clip(source: Any, index: int) -> Any:
    return source.get(index, video=True)


_ENCODER: tuple[Any, Any, Any, float] | None = None  # a worker's (tokenizer, extractor, teacher, motion gain)


def _start_encoder(folder: str, motion_gain: float = 1.0) -> None:
    """A worker's set-up: the codec and features the training process saved in ``folder`` (our
    safetensors folders, nothing unpickled), and one thread, since the workers fill the cores."""
    from maskvat_foley.core.codec.tokenizer import load_tokenizer
    from maskvat_foley.core.features.audio import create_audio
    from maskvat_foley.core.features.base import load_extractor

    global _ENCODER
    torch.set_num_threads(1)
    _ENCODER = (load_tokenizer(os.path.join(folder, "codec")).eval(),
                load_extractor(os.path.join(folder, "features")).eval(), create_audio("logmel", dim=TEACHER_DIM),
                motion_gain)


def _encoded_clip(source: Any, index: int) -> CacheClip:
    assert _ENCODER is not None, "the worker was not started with _start_encoder"
    return encode_clip(_video_clip(source, index), *_ENCODER)


def encoded(source: Any, indices: Sequence[int], tokenizer: Any, extractor: Any, workers: int = 0,
            work: str | os.PathLike | None = None, motion_gain: float = 1.0):
    """The cache entry of each clip of ``indices``, in order. With ``workers`` > 0 each process
    renders and encodes whole clips on its CPU (the training process encoding them one by one was
    the bottleneck of a 16-core GPU machine: about 0.3 s a clip); the codec and features reach
    them saved in a folder made inside ``work`` (default: the system's temporary folder) and
    removed at the end."""
    if workers <= 0 or len(indices) < 2:
        from maskvat_foley.core.features.audio import create_audio

        teacher = create_audio("logmel", dim=TEACHER_DIM)
        for j in indices:
            yield encode_clip(_video_clip(source, j), tokenizer, extractor, teacher, motion_gain)
        return
    import tempfile

    with tempfile.TemporaryDirectory(prefix=".encoder-", dir=work) as folder:
        tokenizer.save(os.path.join(folder, "codec"))
        extractor.save(os.path.join(folder, "features"))
        yield from in_order(functools.partial(_encoded_clip, source), indices, workers, _start_encoder,
                            (folder, motion_gain))


def build_cache(directory: str | os.PathLike, source: Any, tokenizer: Any, extractor: Any, *,
                shard_size: int = 32, info: D.DistInfo | None = None, progress: bool = False,
                workers: int | None = None, motion_gain: float = 1.0) -> Path:
    """Fill ``directory`` (reused when its manifest matches); returns it. ``workers``: processes
    rendering the clips (None: ``render_workers``); the cache is the same whatever their number.
    ``motion_gain``: the model's (MaskVATConfig.motion_gain), applied to the features."""
    from safetensors.torch import save_file
    from tqdm import tqdm

    info = info or D.DistInfo()
    d = Path(directory)
    want = _manifest(source, tokenizer, extractor, shard_size, motion_gain)
    todo = shards_to_build(d, want, info, "token cache")
    if not todo:
        return d
    tokenizer.eval()
    mine = [i for i in todo if i % info.world_size == info.rank]
    bar = tqdm(total=sum(min(len(source), (i + 1) * shard_size) - i * shard_size for i in mine),
               desc="cache", unit="clip", disable=not (progress and info.is_main))
    workers = render_workers(info) if workers is None else workers
    shards = {i: range(i * shard_size, min(len(source), (i + 1) * shard_size)) for i in mine}
    clips = encoded(source, [j for i in mine for j in shards[i]], tokenizer, extractor, workers, work=d,
                    motion_gain=motion_gain)
    if workers:
        log.info("token cache: %d processes render and encode the clips", workers)
    for i in mine:
        items = []
        for _ in shards[i]:
            items.append(next(clips))
            bar.update()
        lengths = torch.tensor([c.codes.shape[-1] for c in items], dtype=torch.int64)
        tensors = {"codes": torch.cat([c.codes for c in items], dim=1).to(torch.int16).contiguous(),
                   "cond": torch.cat([c.cond for c in items]).contiguous(),
                   "teacher": torch.cat([c.teacher for c in items]).contiguous(), "lengths": lengths}
        tmp = d / f".shard_{i:05d}.tmp"
        save_file(tensors, str(tmp), metadata={"keys": json.dumps([c.key for c in items])})
        os.replace(tmp, _shard_path(d, i))
    clips.close()  # the render processes end here
    bar.close()
    _seal(d, want, info)
    return d


def code_perplexity(codes: torch.Tensor, codebook_size: int) -> torch.Tensor:
    """exp(entropy) of each codebook's code histogram over codes [K, F]: 1 when every frame uses
    one code (a collapsed codebook), up to codebook_size when all are used evenly."""
    counts = torch.stack([torch.bincount(row.long(), minlength=codebook_size) for row in codes]).float()
    p = counts / counts.sum(dim=1, keepdim=True).clamp_min(1)
    entropy = -(p * p.clamp_min(1e-12).log()).sum(dim=1)
    return entropy.exp()


def check_codes_alive(clips: list[CacheClip], codebook_size: int, *, minimum: float = 2.0,
                      where: str = "token cache") -> torch.Tensor:
    """Refuse tokens from a collapsed codec: MaskVAT would learn a constant and sound like one."""
    perplexity = code_perplexity(torch.cat([c.codes for c in clips], dim=1), codebook_size)
    if float(perplexity.max()) < minimum:
        raise ValueError(f"{where}: the codec's codebooks have collapsed (perplexity "
                         f"{', '.join(f'{v:.2f}' for v in perplexity.tolist())}; 1 = one code for "
                         "every frame): its tokens carry no sound to learn. Retrain the codec "
                         "(see its summary.json code_perplexity) before training MaskVAT.")
    return perplexity


def _read_shards(directory: str | os.PathLike, what: str, decode) -> list:
    """Every clip of a built cache, in source order: ``decode(f)`` turns one open shard into its
    clips; FileNotFoundError when the cache is unbuilt, ValueError when the shards miss clips."""
    from safetensors import safe_open

    d = Path(directory)
    if not (d / MANIFEST).is_file():
        raise FileNotFoundError(f"{what} {d} has no {MANIFEST} (not built, or the build was interrupted)")
    meta = json.loads((d / MANIFEST).read_text())
    out: list = []
    for i in range(-(-int(meta["n"]) // int(meta["shard_size"]))):
        with safe_open(str(_shard_path(d, i)), framework="pt") as f:
            out += decode(f)
    if len(out) != int(meta["n"]):
        raise ValueError(f"{what} {d}: manifest says {meta['n']} clips, shards hold {len(out)}")
    return out


def load_cache(directory: str | os.PathLike) -> list[CacheClip]:
    """Every clip of a built cache, in source order."""
    def decode(f) -> list[CacheClip]:
        keys = json.loads(f.metadata()["keys"])
        codes, cond, teacher = f.get_tensor("codes").long(), f.get_tensor("cond"), f.get_tensor("teacher")
        ends = f.get_tensor("lengths").cumsum(0).tolist()
        return [CacheClip(key, codes[:, a:b], cond[a:b], teacher[a:b])
                for key, a, b in zip(keys, [0, *ends[:-1]], ends)]

    return _read_shards(directory, "token cache", decode)


# -- reference-sound labels and alternate sounds ---------------------------------------------------
# Reference training (core.train.references) pairs each clip with a reference of the same kind, and
# half the time of ANOTHER material or surface: the target is then the same clip re-rendered as
# that material (core.data.rematerial), so the picture shows one timbre and the sound follows the
# reference's. This side cache holds, per clip, its labels (what it sounds like, where its sounds
# start) and that alternate sound's tokens. It lives beside the token cache (its own manifest), so
# training without references never builds it and existing token caches stay valid.
REF_FORMAT = "maskvat-foley-reference-cache"
REF_FORMAT_VERSION = 1
ALT_SALT = 7331  # the alternate label's stream: np.random.default_rng([seed, ALT_SALT])


@dataclass
class RefClip:
    key: str
    timbre: tuple                 # core.data.rematerial.timbre of the clip
    events: list[int]             # code frames where its sounds start
    alt_label: str | None = None  # the material or surface of the alternate sound (None: none)
    alt_codes: Tensor | None = None    # int64 [K, F]: the clip re-rendered as alt_label
    alt_teacher: Tensor | None = None  # float32 [F, TEACHER_DIM]


def has_labels(source: Any) -> bool:
    """Sources that can say what each clip sounds like (FoleyWorld: from its plan)."""
    return callable(getattr(source, "spec", None))


def _ref_manifest(source: Any, tokenizer: Any, shard_size: int) -> dict[str, Any]:
    return {"format": REF_FORMAT, "version": REF_FORMAT_VERSION, "source": source.describe(),
            "n": len(source), "shard_size": shard_size,
            "codec_sha256": module_sha256(tokenizer.model, tokenizer.config.to_dict()),
            "teacher": {"name": "logmel", "dim": TEACHER_DIM}, "alt_salt": ALT_SALT}


@torch.no_grad()
def ref_clip(spec: Any, key: str, tokenizer: Any, teacher: Any) -> RefClip:
    """Labels of one planned clip and, for a clip of one kind with a timbre label, its sound
    re-rendered as another label drawn from the seed."""
    from maskvat_foley.core.data.render import render_audio
    from maskvat_foley.core.data.rematerial import other_labels, rematerial, swappable_kind, timbre

    t = timbre(spec)
    rate = tokenizer.frame_rate
    events = sorted({int(e.time * rate) for e in spec.events})
    clip = RefClip(key, t, events)
    kind = swappable_kind(spec)
    if kind is None:
        return clip
    options = other_labels(kind, t[0][1])
    if not options:
        return clip
    label = options[int(np.random.default_rng([spec.seed, ALT_SALT]).integers(len(options)))]
    wave = torch.from_numpy(render_audio(rematerial(spec, label), tokenizer.sample_rate))[None, None]
    codes = tokenizer.encode(wave)[0].cpu()
    n = codes.shape[-1]
    padded = torch.nn.functional.pad(wave, (0, n * tokenizer.hop - wave.shape[-1]))
    clip.alt_label, clip.alt_codes = label, codes
    clip.alt_teacher = teacher.embed(padded, tokenizer.sample_rate, n)[0].float()
    return clip


def build_ref_cache(directory: str | os.PathLike, source: Any, tokenizer: Any, *, shard_size: int = 32,
                    info: D.DistInfo | None = None, progress: bool = False) -> Path | None:
    """Fill ``directory`` with every clip's RefClip (reused when its manifest matches); None for
    a source without labels (references then come from other moments of the same clip)."""
    from safetensors.torch import save_file
    from tqdm import tqdm

    from maskvat_foley.core.features.audio import create_audio

    if not has_labels(source):
        return None
    info = info or D.DistInfo()
    d = Path(directory)
    want = _ref_manifest(source, tokenizer, shard_size)
    todo = shards_to_build(d, want, info, "reference cache")
    if not todo:
        return d
    tokenizer.eval()
    teacher = create_audio("logmel", dim=TEACHER_DIM)
    mine = [i for i in todo if i % info.world_size == info.rank]
    bar = tqdm(total=sum(min(len(source), (i + 1) * shard_size) - i * shard_size for i in mine),
               desc="reference cache", unit="clip",
               disable=not (progress and info.is_main))
    for i in mine:
        items = []
        for j in range(i * shard_size, min(len(source), (i + 1) * shard_size)):
            spec = source.spec(j)
            items.append(ref_clip(spec, f"foleyworld:{spec.seed}", tokenizer, teacher))
            bar.update()
        alts = [c for c in items if c.alt_codes is not None]
        k = tokenizer.n_codebooks
        tensors = {"alt_codes": (torch.cat([c.alt_codes for c in alts], dim=1) if alts
                                 else torch.zeros(k, 0, dtype=torch.int64)).to(torch.int16).contiguous(),
                   "alt_teacher": (torch.cat([c.alt_teacher for c in alts]) if alts
                                   else torch.zeros(0, TEACHER_DIM)).contiguous(),
                   "alt_lengths": torch.tensor([c.alt_codes.shape[-1] for c in alts], dtype=torch.int64)}
        labels = [{"key": c.key, "timbre": [[kind, list(m)] for kind, m in c.timbre], "events": c.events,
                   "alt_label": c.alt_label} for c in items]
        tmp = d / f".shard_{i:05d}.tmp"
        save_file(tensors, str(tmp), metadata={"labels": json.dumps(labels)})
        os.replace(tmp, _shard_path(d, i))
    bar.close()
    _seal(d, want, info)
    return d


def load_ref_cache(directory: str | os.PathLike) -> list[RefClip]:
    """Every clip's RefClip of a built reference cache, in source order."""
    def decode(f) -> list[RefClip]:
        labels = json.loads(f.metadata()["labels"])
        codes, teacher = f.get_tensor("alt_codes").long(), f.get_tensor("alt_teacher")
        ends = f.get_tensor("alt_lengths").cumsum(0).tolist()
        spans = iter(zip([0, *ends[:-1]], ends))
        clips = []
        for lab in labels:
            clip = RefClip(lab["key"], tuple((kind, tuple(m)) for kind, m in lab["timbre"]),
                           [int(e) for e in lab["events"]], lab["alt_label"])
            if clip.alt_label is not None:
                a, b = next(spans)
                clip.alt_codes, clip.alt_teacher = codes[:, a:b], teacher[a:b]
            clips.append(clip)
        return clips

    return _read_shards(directory, "reference cache", decode)
