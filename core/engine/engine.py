"""The in-process engine: clip jobs in, Broadcast WAV takes out.

Per clip: decode the source frames (PyAV; or pictures held in memory, clip_media.MemoryFrames) ->
visual features (cached on disk) -> length adaptation to the codec frame rate -> MaskVAT sampling
(seeded, guided, beam-ranked, windowed for long clips) -> DAC decode -> resample to the exact sample
span -> Broadcast WAV. Regenerating a clip with another seed hits the feature cache and costs only
sampling and decoding.

A reference sound (params.reference) is read once per request (core.media.reference: its range,
mono, the codec's rate, trimmed). A model trained with ref_frames > 0 hears it (encoded with the
checkpoint's codec, given to every take of every clip); with params.ref_mix > 0 its own sound goes
into the takes, with any model: its hits on the takes' hits (core.media.reference_hits), or for a
steady sound its texture under the takes' envelope (core.media.reference_texture). Each take records it
(core.engine.takes.reference_metadata).
"""
from __future__ import annotations

import dataclasses
import logging
import math
import os
import threading
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import torch

from maskvat_foley import __version__
from maskvat_foley.core.engine.api import Cancelled, ProgressCallback
from maskvat_foley.core.engine.clip_media import ClipFailed, MediaFiles
from maskvat_foley.core.engine.device import autocast, dtype_name, is_out_of_memory, memory_info, pick_device
from maskvat_foley.core.engine.outdir import ensure_dir
from maskvat_foley.core.engine.redraw import is_silent, redraw_guidance, redraw_silent
from maskvat_foley.core.engine.regular import open_regular
from maskvat_foley.core.engine.takes import load_codes, write_take
from maskvat_foley.core.jobs import (MAX_SEED, ClipJob, ClipResult, GenerationParams, Progress, ReferenceSpec,
                                    Take, best_first, random_seed)

log = logging.getLogger(__name__)

MOTIONS_KEPT = 4096  # pictures whose motion an engine remembers (a float each)


def default_model_dir() -> str:
    """The bundled default model (resources/default_model)."""
    from importlib import resources

    return str(resources.files("maskvat_foley.resources") / "default_model")


def default_cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "maskvat-foley", "features")


class Engine:
    """One model in memory; generate() and regenerate_region() as in core.engine.api."""

    def __init__(self, model_dir: str | None = None, *, device: str = "auto",
                 cache_dir: str | None = None, cache_bytes: int = 2 << 30, frames=None):
        """``frames``: where clips' pictures come from (core.engine.clip_media): None for the jobs'
        media files decoded with PyAV, or a ``MemoryFrames`` holding them in memory."""
        from maskvat_foley.core.engine.feature_cache import FeatureCache
        from maskvat_foley.core.model.checkpoint import load_checkpoint

        model_dir = model_dir or default_model_dir()
        if not os.path.isdir(model_dir):
            raise FileNotFoundError(f"model folder not found: {model_dir}")
        self.device = pick_device(device)
        self.ckpt = load_checkpoint(model_dir, device=self.device)
        self._extractor_hash: str | None = None
        self.ckpt.model.eval()
        self.cache = FeatureCache(cache_dir or default_cache_dir(), cache_bytes)
        self.scorer = self.ckpt.scorer
        self.frames = frames if frames is not None else MediaFiles()
        self._lock = threading.Lock()  # one generation at a time on the model
        self.feature_calls = 0  # feature extractions actually run (cache misses)
        self._motion: dict[str, float] = {}  # picture motion by feature key (picture_moves)

    # -- info ---------------------------------------------------------------------------------
    def info(self) -> dict:
        return {"version": __version__, "device": str(self.device),
                "device_memory": memory_info(self.device), "dtype": dtype_name(self.device),
                "model": self.ckpt.name, "sha256": self.ckpt.sha256, "model_path": self.ckpt.path,
                "codec": self.ckpt.tokenizer.name, "extractor": self.ckpt.extractor.name,
                "sample_rate": self.ckpt.tokenizer.sample_rate,
                # The longest reference sound the model hears (0: it was trained without references).
                "reference_seconds": round(float(Fraction(self.ckpt.config.ref_frames)
                                                 / Fraction(self.ckpt.tokenizer.frame_rate)), 3)}

    # -- generation ---------------------------------------------------------------------------
    def generate(self, jobs: list[ClipJob], params: GenerationParams, *, out_dir: str,
                 progress: ProgressCallback | None = None, cancel: threading.Event | None = None,
                 confine: str | None = None) -> list[ClipResult]:
        """See core.engine.api. ``confine``: a real folder every write must stay in (a server's
        output folder), checked right before each file is written."""
        ensure_dir(out_dir, confine)
        ref = self.reference(params.reference, params.ref_mix)  # a bad one fails the request, before any clip
        report = progress or (lambda p: None)
        results: list[ClipResult] = []
        try:
            for index, job in enumerate(jobs):
                _check(cancel)
                results.append(self._one_clip(job, params, out_dir, confine,
                                              _Reporter(report, job.clip_id, index, len(jobs)),
                                              cancel, ref))
        except Cancelled as stopped:
            stopped.results = list(results)  # the clips finished before the cancel are kept
            raise
        return results

    def require_reference_support(self) -> None:
        """ValueError (one line) when the model was trained without reference sounds."""
        if not self.ckpt.config.takes_reference:
            raise ValueError(f"model {self.ckpt.name} was not trained with reference sounds; generate without a "
                             "reference, or use a model trained with references (ref_frames > 0)")

    def reference(self, spec: ReferenceSpec | None, ref_mix: float = 0.0) -> "Reference | None":
        """The reference sound ``spec`` as this request uses it: the audio (for the takes'
        provenance), its codes [K,R] when the model hears references (else None), and, when
        ``ref_mix`` > 0, its own sound for the takes: its hits, or for a steady sound its texture.
        ValueError (one line) for a model trained without references and ``ref_mix`` 0, or a
        reference that cannot be read (core.media.reference.ReferenceError)."""
        if spec is None:
            return None
        hears = self.ckpt.config.takes_reference
        if not hears and ref_mix == 0:
            self.require_reference_support()
        from maskvat_foley.core.media.reference import ReferenceError, load_reference
        from maskvat_foley.core.media.reference_hits import HITS_SECONDS, is_steady, reference_hits
        from maskvat_foley.core.media.reference_texture import reference_texture

        cfg, tok = self.ckpt.config, self.ckpt.tokenizer
        limit = Fraction(cfg.ref_frames) / Fraction(tok.frame_rate) if hears else Fraction(0)
        if ref_mix > 0:
            limit = max(limit, HITS_SECONDS)
        audio = load_reference(spec, sample_rate=tok.sample_rate, max_seconds=limit)
        hits, texture = [], None
        if ref_mix > 0:
            hits = reference_hits(audio.samples, tok.sample_rate)
            if is_steady(hits):  # an engine starting is one onset, not a hit to put on every step
                hits = []
            texture = None if hits else reference_texture(audio.samples, tok.sample_rate)
            if not hits and texture is None and not hears:  # load_reference refuses silence and slivers first
                raise ReferenceError(f"reference {audio.name} holds neither hits nor a texture to use")
        codes = None
        if hears:
            with torch.inference_mode():
                wave = torch.from_numpy(np.ascontiguousarray(audio.samples, dtype=np.float32))
                codes = tok.encode(wave.to(tok.device)[None, None])[0]
            # The codec pads the last frame; the model hears its first ref_frames at most.
            codes = codes[:cfg.n_codebooks, :cfg.ref_frames].to(self.device)
        return Reference(audio, codes, hits, texture)

    def _apply_reference(self, wave: np.ndarray, ref: "Reference | None", params: GenerationParams,
                         meta: dict, seed: int) -> np.ndarray:
        """``wave`` with the reference's own sound in it (params.ref_mix of it, wet/dry): its hits
        on the take's hits, or its texture under the take's envelope; recorded in ``meta``.
        Unchanged without a reference or with ref_mix 0."""
        if ref is None or params.ref_mix == 0 or not (ref.hits or ref.texture is not None):
            return wave
        rate = self.ckpt.tokenizer.sample_rate
        if ref.hits:
            from maskvat_foley.core.media.reference_hits import replace_hits

            wave, placed = replace_hits(wave, rate, ref.hits, mix=params.ref_mix, seed=seed)
            meta.update(reference_applied="hits", hits_placed=placed.placed)
        else:
            from maskvat_foley.core.media.reference_texture import apply_texture

            wave = apply_texture(wave, rate, ref.texture, mix=params.ref_mix, seed=seed)
            meta.update(reference_applied="texture")
        meta["reference_seed"] = seed
        return wave

    def _one_clip(self, job: ClipJob, params: GenerationParams, out_dir: str, confine,
                  step: "_Reporter", cancel, ref: "Reference | None" = None) -> ClipResult:
        try:
            with self._lock:
                takes = self._generate_clip(job, params, out_dir, step, cancel, confine, ref)
        except Cancelled:
            raise
        except Exception as exc:  # one clip fails alone, with its reason
            reason = _reason(exc)
            if not isinstance(exc, (ClipFailed, ValueError, FileNotFoundError)):
                log.exception("clip %s failed", job.clip_id)
            step("failed", 1.0, reason)
            return ClipResult(job.clip_id, error=reason)
        step("done", 1.0)
        return ClipResult(job.clip_id, takes)

    def _generate_clip(self, job: ClipJob, params: GenerationParams, out_dir: str,
                       step: "_Reporter", cancel, confine: str | None = None,
                       ref: "Reference | None" = None) -> list[Take]:
        cond = self.features(job, step)
        seeds = _seeds(params)
        step("sampling", 0.0, f"{len(seeds)} take(s), seeds {seeds[0]}..{seeds[-1]}")
        codes, waves, scores = self._sample(cond, seeds, params, cancel, step, ref=ref)
        codes, scores = list(codes), None if scores is None else list(scores)  # per take, replaceable

        def draw_again(again: list[int], attempt: int):
            harder = dataclasses.replace(params, guidance=redraw_guidance(params.guidance, attempt))
            step("sampling", 0.0, f"{len(again)} silent take(s) on a moving picture: drawn again "
                 f"at guidance {harder.guidance:g}")
            return self._sample(cond, again, harder, cancel, step, ref=ref)

        def silent(wave: np.ndarray) -> bool:  # as it will be written: after the model's level
            from maskvat_foley.core.model.level_calibration import calibrate

            return is_silent(calibrate(wave, self.ckpt.level)[0])

        redrawn = redraw_silent(draw_again, seeds, codes, waves, scores, lambda: self.picture_moves(job), silent)
        takes = []
        for t, seed in enumerate(seeds):
            step("write", 0.9 + 0.1 * t / len(seeds))
            score = None if scores is None else float(scores[t])
            meta = self._provenance(job, params, score)
            if redrawn[t] is not None:
                meta["redrawn_seed"], attempt = redrawn[t]
                meta["redrawn_guidance"] = redraw_guidance(params.guidance, attempt)
            wave = self._apply_reference(self._calibrate(waves[t], meta, job, seed), ref, params, meta, seed)
            takes.append(write_take(job, wave, self.ckpt.tokenizer.sample_rate, seed, params,
                                    out_dir, meta, codes=codes[t].cpu().numpy(), confine=confine,
                                    reference=None if ref is None else ref.audio))
        return best_first(takes)

    def _calibrate(self, wave: np.ndarray, meta: dict, job: ClipJob, seed: int) -> np.ndarray:
        """The model's level (core.model.level_calibration), recorded in ``meta``."""
        from maskvat_foley.core.model.level_calibration import calibrate

        wave, done = calibrate(wave, self.ckpt.level)
        if done is not None:
            meta["model_gain_db"] = done.gain_db
            if done.note:
                meta["model_level_note"] = done.note
                log.info("take %s of clip %s: %s", seed, job.clip_id, done.note)
        return wave

    def _feature_key(self, job: ClipJob, media_hash: str):
        from maskvat_foley.core.engine.feature_cache import FeatureKey
        from maskvat_foley.core.features.shots import feature_rule
        from maskvat_foley.core.media.video import decode_rule

        extractor = self.ckpt.extractor
        if self._extractor_hash is None:  # two towers of one config (`train swap-tower`) share no entries
            from maskvat_foley.core.weights_folder import module_sha256

            self._extractor_hash = module_sha256(extractor, [extractor.name, extractor.config()])
        rule = {**extractor.config(), "weights": self._extractor_hash, **feature_rule(self.ckpt.config.motion_gain),
                **decode_rule(job.media_path)}
        return FeatureKey.for_job(job, extractor.name, rule, self.ckpt.sha256, media_hash=media_hash)

    def features(self, job: ClipJob, step=None) -> torch.Tensor:
        """Visual features of the clip at the codec frame rate [F, D], from the cache when there.
        The picture's motion, measured on the same frames, is kept for ``picture_moves``."""
        from maskvat_foley.core.features.shots import clip_features_and_motion
        from maskvat_foley.core.features.length import adapt_length

        media_hash = self.frames.media_hash(job)  # bounds and media checked before it is hashed
        extractor, tok = self.ckpt.extractor, self.ckpt.tokenizer
        n_out = codec_frames(job, tok.frame_rate)
        key = self._feature_key(job, media_hash)
        cached = self.cache.get(key)
        if cached is not None and cached.shape[0] == n_out:
            return cached.to(self.device)
        where = self.frames.locate(job)  # the media is long enough: checked before a frame is listed
        if step:
            step("decode", 0.0)
        frames = self.frames.read(job, where, extractor.input_size)
        if step:
            step("features", 0.0)
        # The motion gain measures the picture's motion anyway; without it, it is measured only when
        # a take comes out silent (picture_moves), not on every clip.
        feats, motion = clip_features_and_motion(extractor, frames.rgb, frames.times, self.ckpt.config.motion_gain)
        self.feature_calls += 1
        if motion is not None:
            self._keep_motion(key.digest(), motion)
        cond = adapt_length(feats.float().cpu(), frames.times, n_out, tok.frame_rate)
        try:
            self.cache.put(key, cond)
        except Exception as exc:  # noqa: BLE001 - a cache that cannot be written costs speed, not the take
            log.warning("feature cache not written (%s); the clip goes on without it", exc)
        return cond.to(self.device)

    def _keep_motion(self, digest: str, motion: float) -> None:
        self._motion[digest] = motion
        while len(self._motion) > MOTIONS_KEPT:  # a long-running server forgets the oldest first
            self._motion.pop(next(iter(self._motion)))

    def picture_moves(self, job: ClipJob) -> bool:
        """Whether the clip's picture moves, as the motion gain's gate reads it (core.features.
        motion_gain: mean motion at the extractor's size, cuts not counted). Kept from ``features``
        when the model's motion gain measured it on the frames decoded there; else measured here."""
        from maskvat_foley.core.features.motion_gain import GATE, picture_motion
        from maskvat_foley.core.media.cuts import detect_cuts

        digest = self._feature_key(job, self.frames.media_hash(job)).digest()
        if digest not in self._motion:
            frames = self.frames.read(job, self.frames.locate(job), self.ckpt.extractor.input_size)
            self._keep_motion(digest, picture_motion(self.ckpt.extractor, frames.rgb, shots=detect_cuts(frames.rgb)))
        return self._motion[digest] >= GATE

    def _sample(self, cond: torch.Tensor, seeds: list[int], params: GenerationParams, cancel,
                step=None, fixed: torch.Tensor | None = None, ref: "Reference | None" = None):
        """All takes in one batch, each from its own seed's generator (so a seed reproduces its
        take whatever else is in the batch); ``beam`` candidates per take ranked by the scorer.
        Returns codes [T,K,F], decoded waves [T,samples] (numpy) and scores [T] (or None)."""
        try:
            return self._sample_batch(cond, seeds, params, cancel, step, fixed, ref)
        except Exception as exc:
            if not is_out_of_memory(exc) or len(seeds) == 1:
                raise
        # Out of memory: split the batch, one take at a time.
        log.warning("out of memory with %d takes in a batch; sampling them one by one", len(seeds))
        _free_cache(self.device)
        parts = [self._sample_batch(cond, [s], params, cancel, step,
                                    None if fixed is None else fixed[i:i + 1], ref)
                 for i, s in enumerate(seeds)]
        scores = None if parts[0][2] is None else torch.cat([p[2] for p in parts])
        return torch.cat([p[0] for p in parts]), [w for p in parts for w in p[1]], scores

    def _sample_batch(self, cond, seeds, params, cancel, step, fixed, ref=None):
        from maskvat_foley.core.model.beam import sample_with_beam
        from maskvat_foley.core.model.sampler import SamplingCancelled

        gen_device = "cpu" if self.device.type == "mps" else self.device.type
        gens = [torch.Generator(device=gen_device).manual_seed(s) for s in seeds]
        decoded: list[torch.Tensor] = []

        def decode(codes: torch.Tensor) -> torch.Tensor:
            if step:
                step("codec", 0.8)
            decoded.append(self.ckpt.tokenizer.decode_long(codes.to(self.ckpt.tokenizer.device)))
            return decoded[-1]

        def on_step(done: int, total: int) -> None:
            if step:
                step("sampling", 0.8 * done / total)

        with torch.inference_mode(), autocast(self.device):
            try:
                res = sample_with_beam(self.ckpt.model, cond[None], n_takes=len(seeds),
                                       beam=params.beam, scorer=self.scorer, decode=decode,
                                       sample_rate=self.ckpt.tokenizer.sample_rate,
                                       generator=gens, fixed=fixed, steps=params.steps,
                                       guidance=params.guidance, temperature=params.temperature,
                                       on_step=on_step, cancel=cancel,
                                       reference=None if ref is None else ref.codes,
                                       ref_guidance=params.ref_guidance)
            except SamplingCancelled:
                raise Cancelled() from None
            if decoded:  # the scorer decoded every candidate: keep the chosen ones' audio
                waves = decoded[-1].reshape(len(seeds), params.beam, -1)[torch.arange(len(seeds)),
                                                                      res.chosen]
            else:
                waves = decode(res.codes)[:, 0]
        waves = [w.float().cpu().numpy() for w in waves]
        return res.codes, waves, res.scores

    def _provenance(self, job: ClipJob, params: GenerationParams, score: float | None) -> dict:
        meta = {"source_clip": job.clip_id, "source_clip_name": job.name, "model": self.ckpt.name,
                "model_sha256": self.ckpt.sha256, "steps": params.steps,
                "guidance": params.guidance, "beam": params.beam,
                "temperature": params.temperature, "sync_score": score,
                "device": str(self.device), "dtype": dtype_name(self.device),
                "record_start": job.record_start, "record_duration": job.record_duration,
                "timeline_rate": str(job.timeline_rate)}
        if "transition" in job.flags:
            meta["note"] = "generated over the visible range so the transition is covered"
        if params.reference is not None:  # whether the model heard it, or only its hits were used
            meta["reference_heard"] = bool(self.ckpt.config.takes_reference)
        return meta

    # -- region regenerate --------------------------------------------------------------------
    def regenerate_region(self, job: ClipJob, take: Take, start_frame: int, end_frame: int,
                          params: GenerationParams, *, out_dir: str,
                          progress: ProgressCallback | None = None,
                          cancel: threading.Event | None = None, confine: str | None = None) -> Take:
        """A new take equal to ``take`` outside record frames [start, end) of the clip (relative
        to its record start), resampled inside them with a new (or the given) seed."""
        if not 0 <= start_frame < end_frame <= job.record_duration:
            raise ValueError(f"region {start_frame}..{end_frame} is outside clip {job.clip_id} "
                             f"(0..{job.record_duration} frames)")
        step = _Reporter(progress or (lambda p: None), job.clip_id, 0, 1)
        base = take.metadata.get("reference") or {}
        ref = self.reference(params.reference, max(params.ref_mix, float(base.get("ref_mix", 0.0))))
        if ref is not None and base.get("sha256") == ref.audio.sha256:
            # The take's own hit mix, whatever was asked: the take stays equal outside the region.
            params = dataclasses.replace(params, ref_mix=float(base.get("ref_mix", 0.0)))
        with self._lock:
            cond = self.features(job, step)
            codes = load_codes(take)
            tok = self.ckpt.tokenizer
            if codes is None:  # no token sidecar: re-encode the take's audio
                codes = self._encode_take(take)
            codes = torch.as_tensor(codes[:, : cond.shape[0]], device=self.device)
            if codes.shape[1] != cond.shape[0]:
                raise ValueError(f"take {take.path} does not match clip {job.clip_id}'s length")
            a = math.floor(Fraction(start_frame) / job.timeline_rate * tok.frame_rate)
            b = min(cond.shape[0], math.ceil(Fraction(end_frame) / job.timeline_rate * tok.frame_rate))
            fixed = codes.clone()
            fixed[:, a:b] = self.ckpt.model.config.mask_id
            seed = params.seed if params.seed is not None else random_seed()
            step("sampling", 0.0, f"region {start_frame}-{end_frame} seed {seed}")
            codes_new, waves, scores = self._sample(cond, [seed], params, cancel, step,
                                                    fixed=fixed[None], ref=ref)
            new, wave = codes_new[0], waves[0]
            meta = self._provenance(job, params, None if scores is None else float(scores[0]))
            meta.update(region=[start_frame, end_frame], region_of=take.path,
                        base_seed=take.seed)
            # The base take's own gain, so the new take stays equal to it outside the region.
            gain = take.metadata.get("model_gain_db")
            if gain is not None:
                from maskvat_foley.core.model.level_calibration import apply_gain

                wave = apply_gain(wave, float(gain))
                meta["model_gain_db"] = gain
            # The base take's reference seed: its hits stay where the take did not change.
            wave = self._apply_reference(wave, ref, params, meta, int(take.metadata.get("reference_seed", take.seed)))
            new_take = write_take(job, wave, tok.sample_rate, seed, params, out_dir, meta,
                                  codes=new.cpu().numpy(), suffix=f"_r{start_frame}-{end_frame}",
                                  confine=confine, reference=None if ref is None else ref.audio)
        step("done", 1.0)
        return new_take

    def _encode_take(self, take: Take) -> np.ndarray:
        import soxr
        import soundfile

        with open_regular(take.path) as f:  # checked on the open file: never a pipe
            audio, sr = soundfile.read(f, dtype="float32", always_2d=True)
        tok = self.ckpt.tokenizer
        mono = soxr.resample(audio.mean(axis=1), sr, tok.sample_rate)
        with torch.inference_mode():
            codes = tok.encode(torch.from_numpy(mono).to(tok.device)[None, None])
        return codes[0].cpu().numpy()


@dataclass
class Reference:
    """A request's reference sound: as read (core.media.reference.ReferenceAudio, recorded in each
    take), as the model hears it (codes [K,R] on the engine's device; None for a model trained
    without references) and its own sound for the takes: its hits (core.media.reference_hits), or
    for a steady sound without hits its texture (core.media.reference_texture); neither when not
    used."""

    audio: object
    codes: torch.Tensor | None
    hits: list = dataclasses.field(default_factory=list)
    texture: object = None


def _free_cache(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()


def codec_frames(job: ClipJob, codec_rate: Fraction) -> int:
    """Codec frames that cover the clip's record span (rounded up; the WAV is cut to the span)."""
    return max(1, math.ceil(job.seconds * codec_rate))


def _seeds(params: GenerationParams) -> list[int]:
    base = params.seed if params.seed is not None else random_seed(params.takes)
    return [(base + i) % MAX_SEED for i in range(params.takes)]


def _check(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled()


def _reason(exc: BaseException) -> str:
    if is_out_of_memory(exc):
        return "out of memory on the device even one candidate at a time; try --device cpu or fewer steps"
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, (ClipFailed, ValueError, FileNotFoundError)) else f"{type(exc).__name__}: {text}"


class _Reporter:
    def __init__(self, report: ProgressCallback, clip_id: str, index: int, total: int):
        self.report, self.clip_id, self.index, self.total = report, clip_id, index, total

    def __call__(self, stage: str, fraction: float, message: str = "") -> None:
        try:
            self.report(Progress(self.clip_id, self.index, self.total, stage, fraction, message))
        except Exception:  # a broken progress display must not kill generation
            log.exception("progress callback failed")
