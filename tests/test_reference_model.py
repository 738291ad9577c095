"""Reference sounds inside MaskVAT (issue #16): config and old checkpoints, the reference memory and
its guidance, long clips, training pairs, and the engine, with a tiny model trained in the test."""
from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pytest
import torch

from maskvat_foley.core.jobs import GenerationParams, ReferenceSpec
from maskvat_foley.core.model.checkpoint import load_checkpoint
from maskvat_foley.core.model.config import MaskVATConfig, preset
from maskvat_foley.core.model.long import generate_long
from maskvat_foley.core.model.sampler import REF_GUIDANCE, guided_logits, sample
from maskvat_foley.core.model.transformer import MaskVAT
from reference_model import REF_FRAMES, train_reference_model


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, one_torch_thread):
    # 60 steps at a high rate: enough for the AdaLN-Zero gates to open, so the reference is heard.
    return train_reference_model(tmp_path_factory.mktemp("reference-model"), steps=60,
                                 loop={"max_steps": 60, "lr": 0.01, "warmup_steps": 2, "save_every": 1000,
                                       "log_every": 5})


@pytest.fixture(scope="module")
def ckpt(run_dir):
    return load_checkpoint(run_dir / "model")


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def cond_for(ckpt, frames: int, seed: int = 3) -> torch.Tensor:
    return torch.randn(1, frames, ckpt.config.cond_dim, generator=gen(seed))


def ref_codes(ckpt, frames: int, seed: int = 4) -> torch.Tensor:
    return torch.randint(0, ckpt.config.codebook_size, (ckpt.config.n_codebooks, frames), generator=gen(seed))


def is_reference_weight(name: str) -> bool:
    return any(part.startswith("ref_") for part in name.split("."))


def without_support(ckpt) -> MaskVAT:
    """The same weights in a model built without reference support (what every older checkpoint is)."""
    plain = MaskVAT(ckpt.config.replace(ref_frames=0))
    state = {k: v for k, v in ckpt.model.state_dict().items() if not is_reference_weight(k)}
    plain.load_state_dict(state, strict=True)
    return plain.eval()


# -- config and checkpoints ------------------------------------------------------------------------
def test_config_fields_and_checkpoints_saved_before_them(tiny_model, tmp_path):
    cfg = preset("tiny")
    assert cfg.ref_frames == 0 and not cfg.takes_reference and 0 < cfg.ref_drop_prob < 1
    assert MaskVATConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="ref_frames"):
        preset("tiny", ref_frames=-1)
    with pytest.raises(ValueError, match="ref_drop_prob"):
        preset("tiny", ref_drop_prob=1.0)
    # A checkpoint written before the fields existed: its config.json has neither.
    old = tmp_path / "old"
    shutil.copytree(tiny_model, old)
    meta = json.loads((old / "config.json").read_text())
    for key in ("ref_frames", "ref_drop_prob"):
        meta["model"].pop(key)
    (old / "config.json").write_text(json.dumps(meta))
    loaded = load_checkpoint(old)
    assert loaded.config.ref_frames == 0
    assert not any(is_reference_weight(k) for k in loaded.model.state_dict())
    # Reference parameters are created after every other one: same seed, same other weights.
    torch.manual_seed(0)
    plain = MaskVAT(preset("tiny"))
    torch.manual_seed(0)
    fresh = MaskVAT(preset("tiny", ref_frames=8))
    a, b = plain.state_dict(), fresh.state_dict()
    assert {"ref_segment", "ref_cond", "blocks.0.ref_gate"} <= set(b) - set(a)
    assert all(is_reference_weight(k) for k in set(b) - set(a))
    assert all(torch.equal(a[k], b[k]) for k in a)
    # Its reference gates start closed: the new model is the old one until training opens them
    # (so a warm start from a model without references begins where that model stopped).
    codes = torch.randint(0, 64, (2, 4, 20))
    cond = torch.randn(2, 20, 16)
    ref = torch.randint(0, 64, (1, 4, 8))
    assert torch.equal(fresh(codes, cond, reference=ref), plain(codes, cond))


def test_training_with_references_records_them(run_dir, ckpt):
    assert ckpt.config.ref_frames == REF_FRAMES and ckpt.config.takes_reference
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["model"]["ref_frames"] == REF_FRAMES
    assert {"ce", "ce_ref", "acc_ref"} <= set(summary["val"])
    train = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    given = [r["ref_given"] for r in train if r.get("split") == "train"]
    assert given and all(0 <= g <= 1 for g in given) and 0 < np.mean(given) < 1  # some dropped, some given
    from maskvat_foley.core.train.maskvat import MaskVATTrainConfig

    with pytest.raises(ValueError, match="ref_swap_prob"):
        MaskVATTrainConfig(ref_swap_prob=1.5)


# -- the network and its sampler -------------------------------------------------------------------
def test_without_a_reference_the_model_is_exactly_the_one_without_support(ckpt):
    model, plain = ckpt.model, without_support(ckpt)
    f = 30
    cond = cond_for(ckpt, f)
    codes = torch.full((2, ckpt.config.n_codebooks, f), ckpt.config.mask_id)
    codes[:, 0, :7] = 5
    drop = torch.tensor([False, True])
    assert torch.equal(model(codes, cond, drop), plain(codes, cond, drop))
    base = sample(plain, cond, n_takes=2, steps=4, generator=gen(9))
    assert torch.equal(sample(model, cond, n_takes=2, steps=4, generator=gen(9)), base)
    # A reference at guidance 0 is no reference at all.
    assert torch.equal(sample(model, cond, n_takes=2, steps=4, generator=gen(9), reference=ref_codes(ckpt, 20),
                              ref_guidance=0.0), base)
    # And the rows of a training batch whose reference is dropped are the rows without one.
    ref = ref_codes(ckpt, 20)[None].expand(2, -1, -1)
    mask = torch.tensor([[True] * 20, [False] * 20])
    with_mask = model(codes, cond, drop, reference=ref, ref_mask=mask)
    torch.testing.assert_close(with_mask[1], plain(codes, cond, drop)[1], rtol=0, atol=1e-5)
    torch.testing.assert_close(with_mask[0], model(codes[:1], cond, drop[:1], reference=ref[:1])[0], rtol=0, atol=1e-5)


def test_the_reference_changes_the_takes_and_has_its_own_guidance_scale(ckpt):
    model, cfg = ckpt.model, ckpt.config
    f = 24
    cond = cond_for(ckpt, f)
    ref_a, ref_b = ref_codes(ckpt, 30, seed=4), ref_codes(ckpt, 30, seed=5)
    none = sample(model, cond, n_takes=2, steps=4, generator=gen(1))
    with_a = sample(model, cond, n_takes=2, steps=4, generator=gen(1), reference=ref_a)
    with_a_again = sample(model, cond, n_takes=2, steps=4, generator=gen(1), reference=ref_a)
    with_b = sample(model, cond, n_takes=2, steps=4, generator=gen(1), reference=ref_b)
    assert torch.equal(with_a, with_a_again)
    assert not torch.equal(with_a, none) and not torch.equal(with_a, with_b)

    codes = torch.full((2, cfg.n_codebooks, f), cfg.mask_id)
    codes[:, 0, :6] = 3
    off, on_ = torch.zeros(2, dtype=torch.bool), torch.ones(2, dtype=torch.bool)
    u, c = model(codes, cond, on_).float(), model(codes, cond, off).float()
    cr = model(codes, cond, off, reference=ref_a[None]).float()
    assert not torch.allclose(c, cr)
    for g, gr in ((3.0, 2.0), (3.0, 3.0), (1.0, 2.0), (0.0, 1.5)):
        torch.testing.assert_close(guided_logits(model, codes, cond, g, reference=ref_a, ref_guidance=gr),
                                   u + g * (c - u) + gr * (cr - c), rtol=1e-4, atol=1e-4)
    assert torch.equal(guided_logits(model, codes, cond, 1.0, reference=ref_a, ref_guidance=1.0), cr)
    # Row kinds whose weight is 0 are not computed: g == gr needs no picture-only rows.
    calls = []
    orig = model.decode_tokens
    model.decode_tokens = lambda x, ctx, **kw: (calls.append((x.shape[0], kw.get("ref") is not None))
                                                or orig(x, ctx, **kw))
    try:
        guided_logits(model, codes, cond, 3.0, reference=ref_a, ref_guidance=3.0)
        assert calls == [(2, True), (2, False)]
        calls.clear()
        guided_logits(model, codes, cond, 3.0, reference=ref_a, ref_guidance=2.0)
        assert calls == [(2, True), (4, False)]  # the reference rows, then picture and null rows in one batch
    finally:
        del model.decode_tokens
    assert REF_GUIDANCE == GenerationParams.ref_guidance


def test_a_reference_longer_than_the_model_takes_is_refused(ckpt, tiny_model):
    cond = cond_for(ckpt, 16)
    with pytest.raises(ValueError, match=f"1..{REF_FRAMES} .*trim"):
        sample(ckpt.model, cond, steps=2, reference=ref_codes(ckpt, REF_FRAMES + 1))
    assert sample(ckpt.model, cond, steps=2, reference=ref_codes(ckpt, REF_FRAMES)).shape[-1] == 16
    with pytest.raises(ValueError, match="one sound for every take"):
        sample(ckpt.model, cond, n_takes=2, steps=2, reference=ref_codes(ckpt, 10)[None].expand(2, -1, -1))
    bad = ref_codes(ckpt, 10)
    bad[0, 3] = ckpt.config.mask_id
    with pytest.raises(ValueError, match="no MASK"):
        sample(ckpt.model, cond, steps=2, reference=bad)
    plain = load_checkpoint(tiny_model).model
    with pytest.raises(ValueError, match="not trained with reference sounds"):
        sample(plain, torch.randn(1, 16, plain.config.cond_dim), steps=2,
               reference=torch.zeros(plain.config.n_codebooks, 5, dtype=torch.long))


def test_long_clips_hear_the_same_reference_in_every_window(ckpt):
    model, k = ckpt.model, ckpt.config.n_codebooks
    n, ref = 50, ref_codes(ckpt, 40)
    cond = cond_for(ckpt, n, seed=8)
    out = generate_long(model, cond, window=16, overlap=4, n_takes=2, steps=3, generator=gen(7), reference=ref)
    assert out.shape == (2, k, n)
    # Window by window by hand: each window is sampled with the reference and continues the last.
    g = gen(7)
    w1 = sample(model, cond[:, 0:16], n_takes=2, steps=3, generator=g, reference=ref)
    fixed = torch.full((2, k, 16), model.config.mask_id)
    fixed[:, :, :4] = w1[:, :, 12:16]
    w2 = sample(model, cond[:, 12:28], n_takes=2, steps=3, generator=g, fixed=fixed, reference=ref)
    assert torch.equal(out[:, :, :16], w1) and torch.equal(out[:, :, 12:28], w2)
    # Without the reference the second window (same start, same noise) comes out otherwise.
    g = gen(7)
    sample(model, cond[:, 0:16], n_takes=2, steps=3, generator=g, reference=ref)
    assert not torch.equal(sample(model, cond[:, 12:28], n_takes=2, steps=3, generator=g, fixed=fixed), w2)
    # The last window too: regenerating only the clip's end keeps everything else, with the reference.
    from maskvat_foley.core.model.long import regenerate_region

    again = regenerate_region(model, out, cond, 40, 50, window=16, overlap=4, steps=3, generator=gen(2),
                              reference=ref)
    assert torch.equal(again[:, :, :40], out[:, :, :40])


def test_the_reference_memory_learns_to_carry_what_the_sound_is(one_torch_thread):
    """A task only the reference can solve: each sample's tokens come from one of 4 disjoint quarters
    of the vocabulary (its "timbre"), its reference holds other tokens of the same quarter, and the
    picture is noise. Trained with the real objective (half the references dropped), the model
    predicts a fully masked sample near the best possible log(V/4) with its reference, near log(V)
    without one, and worse than that with another sample's reference."""
    import math

    from maskvat_foley.core.model.objective import masked_cross_entropy, training_loss

    torch.manual_seed(0)
    cfg = preset("tiny", ref_frames=16)
    model = MaskVAT(cfg)
    k, v, f, r, quarters = cfg.n_codebooks, cfg.codebook_size, 24, 16, 4
    size = v // quarters

    def batch(b: int, g: torch.Generator):
        which = torch.randint(0, quarters, (b, 1, 1), generator=g) * size
        codes = which + torch.randint(0, size, (b, k, f), generator=g)
        ref = which + torch.randint(0, size, (b, k, r), generator=g)
        return codes, torch.randn(b, f, cfg.cond_dim, generator=g), ref

    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    g = gen(1)
    for _ in range(300):
        codes, cond, ref = batch(16, g)
        given = (torch.rand(16, generator=g) >= cfg.ref_drop_prob).view(-1, 1).expand(-1, r)
        loss, metrics = training_loss(model, codes, cond, generator=g, reference=ref, ref_mask=given)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert 0 < metrics["ref_given"] < 1
    model.eval()
    codes, cond, ref = batch(64, gen(9))
    hidden, every = torch.full_like(codes, cfg.mask_id), torch.ones_like(codes, dtype=torch.bool)
    with torch.no_grad():
        ce = {name: float(masked_cross_entropy(model(hidden, cond, reference=rr), codes, every))
              for name, rr in (("without", None), ("with", ref), ("another's", ref.roll(1, 0)))}
    assert ce["with"] < math.log(size) + 0.25, ce
    assert abs(ce["without"] - math.log(v)) < 0.25, ce
    assert ce["another's"] > ce["without"] + 0.5, ce


# -- training pairs ------------------------------------------------------------------------------
def test_rematerial_keeps_the_hits_and_changes_the_sound():
    from maskvat_foley.core.data import plan_clip, render_audio
    from maskvat_foley.core.data.rematerial import other_labels, rematerial, swappable_kind, timbre

    for kind in ("impact", "strike", "footstep"):
        spec = plan_clip(2_000_031, kinds=[kind], seconds=3)
        own = timbre(spec)[0][1]
        label = other_labels(kind, own)[0]
        other = rematerial(spec, label)
        assert swappable_kind(spec) == kind and timbre(other) == ((kind, (label,)),)
        assert [(e.frame, e.params["strength"]) for e in other.events] == \
               [(e.frame, e.params["strength"]) for e in spec.events]
        assert timbre(spec)[0][1] == own  # the original is untouched
        a, b = render_audio(spec), render_audio(other)
        assert a.shape == b.shape and np.abs(a - b).mean() > 0.1 * np.abs(a).mean()
    with pytest.raises(ValueError, match="can sound as"):
        rematerial(plan_clip(2_000_031, kinds=["water"], seconds=3), "wood")


def test_training_pairs_follow_the_rules(run_dir, ckpt):
    from maskvat_foley.core.train.cache import load_cache, load_ref_cache
    from maskvat_foley.core.train.references import RefPool, alt_timbre, collate, min_ref_frames

    clips, labels = load_cache(run_dir / "cache"), load_ref_cache(run_dir / "cache_ref")
    assert [r.key for r in labels] == [c.key for c in clips]
    for c, r in zip(clips, labels):
        assert r.timbre[0][0] == "strike" and r.alt_label not in r.timbre[0][1]
        assert r.alt_codes.shape == c.codes.shape and not torch.equal(r.alt_codes, c.codes)
    pool = RefPool(clips, labels, min_ref_frames(ckpt.tokenizer.frame_rate, REF_FRAMES))
    assert pool.min_frames == 22
    rng = np.random.default_rng(0)
    seen = {"swapped": 0, "same": 0, "other_clip": 0, "own_clip": 0}
    window, ref_len = 64, REF_FRAMES
    for i in range(200):
        clip = clips[i % len(clips)]
        start = int(rng.integers(clip.codes.shape[-1] - window + 1))
        dropped = pool.pair(clip, start, window, ref_len, rng, drop=True)
        assert dropped.reference is None and torch.equal(dropped.target, clip.codes[:, start:start + window])
        p = pool.pair(clip, start, window, ref_len, rng, drop=False)
        lab = pool.labels[clip.key]
        want = alt_timbre(lab) if p.swapped else lab.timbre
        target = lab.alt_codes if p.swapped else clip.codes
        assert torch.equal(p.target, target[:, start:start + window])
        key, alt, s = p.source
        src = pool.labels[key]
        assert (alt_timbre(src) if alt else src.timbre) == want          # sounds like the target
        assert torch.equal(p.reference, pool.codes_of(key, alt)[:, s:s + p.reference.shape[-1]])
        assert pool.min_frames <= p.reference.shape[-1] <= ref_len
        if key == clip.key:  # another moment of the same clip: never the frames being predicted
            assert s + p.reference.shape[-1] <= start or s >= start + window
            seen["own_clip"] += 1
        else:
            seen["other_clip"] += 1
        seen["swapped" if p.swapped else "same"] += 1
    assert all(v > 20 for v in seen.values()), seen
    codes, mask = collate([torch.ones(3, 5, dtype=torch.long), None], 3, 8)
    assert codes.shape == (2, 3, 8) and mask.tolist() == [[True] * 5 + [False] * 3, [False] * 8]



def test_ref_focus_draws_rows_from_clips_with_an_alternate_sound(run_dir, ckpt):
    """ref_focus: that share of rows comes from clips with an alternate sound and keeps its
    reference (the only rows that teach timbre); 0 leaves the windows as without references."""
    import dataclasses

    from maskvat_foley.core.train.cache import load_cache, load_ref_cache
    from maskvat_foley.core.train.maskvat import MaskVATTrainConfig, make_batch
    from maskvat_foley.core.train.references import RefPool, min_ref_frames

    clips, labels = load_cache(run_dir / "cache"), load_ref_cache(run_dir / "cache_ref")
    labels = [r if i % 3 == 0 else dataclasses.replace(r, alt_label=None, alt_codes=None, alt_teacher=None)
              for i, r in enumerate(labels)]
    with_alt = {r.key for r in labels if r.alt_label is not None}
    assert 0 < len(with_alt) < len(clips)
    pool = RefPool(clips, labels, min_ref_frames(ckpt.tokenizer.frame_rate, REF_FRAMES), swap_prob=1.0)
    cfg, window, cpu = MaskVATTrainConfig(batch_size=16), 32, torch.device("cpu")
    alt_codes = {r.key: r.alt_codes for r in labels if r.alt_label is not None}

    def batch(focus: float, drop: float, seed: int = 0):
        return make_batch(clips, cfg, np.random.default_rng(seed), window, cpu, refs=pool, ref_len=REF_FRAMES,
                          ref_rng=np.random.default_rng(seed + 1), ref_drop=drop, ref_focus=focus)

    codes, cond, _, ref, mask = batch(1.0, drop=1.0)
    assert mask.any(dim=1).all()  # focused rows keep their reference whatever ref_drop says
    for row in range(codes.shape[0]):  # every row is some alternate clip's swapped window
        assert any(bool((a.unfold(-1, window, 1) == codes[row, :, None, :]).all(0).all(-1).any())
                   for a in alt_codes.values())
    plain = make_batch(clips, cfg, np.random.default_rng(0), window, cpu)
    codes0, cond0, *_ = batch(0.0, drop=1.0)
    assert torch.equal(cond0, plain[1]) and torch.equal(codes0, plain[0])
    with pytest.raises(ValueError, match="ref_focus"):
        MaskVATTrainConfig(ref_focus=-0.1)
    with pytest.raises(ValueError, match="ref_lr_scale"):
        MaskVATTrainConfig(ref_lr_scale=0)
    with pytest.raises(ValueError, match="ref_full_mask"):
        MaskVATTrainConfig(ref_full_mask=2)



def test_ref_full_mask_masks_every_cell_of_rows_with_a_reference(ckpt):
    """ref_full_mask: those rows start where sampling starts (all masked), so only the picture and
    the reference can tell the target; rows without a reference keep their random masks, and 0
    draws nothing extra (the same masks as before the option)."""
    from maskvat_foley.core.model.objective import training_loss

    m = ckpt.model.eval()
    seen = []

    class Recorder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.module = m

        def forward(self, inputs, *a, **kw):
            seen.append(inputs.clone())
            return m(inputs, *a, **kw)

    c = m.config
    codes = torch.randint(0, c.codebook_size, (4, c.n_codebooks, 24), generator=gen(1))
    cond = torch.randn(4, 24, ckpt.extractor.dim, generator=gen(2))
    ref = torch.randint(0, c.codebook_size, (4, c.n_codebooks, 10), generator=gen(3))
    ref_mask = torch.tensor([[True] * 10, [True] * 10, [False] * 10, [False] * 10])
    with torch.no_grad():
        training_loss(Recorder(), codes, cond, generator=gen(0), reference=ref, ref_mask=ref_mask,
                      ref_full_mask=1.0)
        training_loss(Recorder(), codes, cond, generator=gen(0), reference=ref, ref_mask=ref_mask)
        training_loss(Recorder(), codes, cond, generator=gen(0), reference=ref, ref_mask=ref_mask,
                      ref_full_mask=0.0)
    full, plain, zero = (x == c.mask_id for x in seen)
    assert full[:2].all() and torch.equal(full[2:], plain[2:]) and not plain[:2].all()
    assert torch.equal(plain, zero)


# -- the engine ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def reference_wav(tmp_path_factory):
    """3 s of a FoleyWorld strike as a WAV: longer than the tiny model's 0.56 s of reference."""
    import soundfile

    from maskvat_foley.core.data import generate_clip

    clip = generate_clip(2_000_077, seconds=3, kinds=["strike"], video=False)
    path = tmp_path_factory.mktemp("reference") / "strike.wav"
    soundfile.write(str(path), clip.audio, clip.sample_rate, subtype="FLOAT")
    return path


def test_the_engine_hears_the_reference_trimmed_to_the_model(run_dir, ckpt, reference_wav, foley_edit, tmp_path):
    from maskvat_foley.core import pipeline
    from maskvat_foley.core.engine.engine import Engine
    from maskvat_foley.core.media.reference import file_sha256

    engine = Engine(str(run_dir / "model"), device="cpu", cache_dir=str(tmp_path / "cache"))
    assert engine.info()["reference_seconds"] == round(REF_FRAMES * 512 / 44100, 3)
    ref = engine.reference(ReferenceSpec(str(reference_wav)))
    assert ref.codes.shape == (ckpt.config.n_codebooks, REF_FRAMES) and ref.audio.trimmed
    job = pipeline.open_timeline(foley_edit["path"]).job("V1.1")
    free = GenerationParams(seed=5, takes=2, steps=3)
    # What the model hears alone (ref_mix 0); the hits are the next test's.
    with_ref = dataclasses.replace(free, reference=ReferenceSpec(str(reference_wav)), ref_guidance=3.0, ref_mix=0.0)
    a = engine.generate([job], free, out_dir=str(tmp_path / "free"))[0]
    b = engine.generate([job], with_ref, out_dir=str(tmp_path / "ref"))[0]
    assert a.ok and b.ok, (a.error, b.error)
    by_seed = {t.seed: t for t in a.takes}
    for t in b.takes:
        meta = t.metadata["reference"]
        assert meta["sha256"] == file_sha256(str(reference_wav)) and meta["trimmed"] is True
        assert meta["ref_guidance"] == 3.0 and meta["start"] == "0"
        assert t.num_samples == by_seed[t.seed].num_samples
        assert "reference" not in by_seed[t.seed].metadata
    from maskvat_foley.core.engine.takes import load_codes

    assert not all(np.array_equal(load_codes(t), load_codes(by_seed[t.seed])) for t in b.takes)
    # Region regenerate hears it too.
    take = b.takes[0]
    region = engine.regenerate_region(job, take, 4, 12, dataclasses.replace(with_ref, seed=77),
                                      out_dir=str(tmp_path / "region"))
    assert region.metadata["reference"]["sha256"] == meta["sha256"]


def test_the_engine_refuses_a_reference_on_a_model_without_support(tiny_model, reference_wav, foley_edit, tmp_path):
    from maskvat_foley.core import pipeline
    from maskvat_foley.core.engine.engine import Engine

    engine = Engine(tiny_model, device="cpu", cache_dir=str(tmp_path / "cache"))
    assert engine.info()["reference_seconds"] == 0
    job = pipeline.open_timeline(foley_edit["path"]).job("V1.1")
    params = GenerationParams(seed=1, takes=1, steps=1, reference=ReferenceSpec(str(reference_wav)), ref_mix=0.0)
    expected = (f"model {engine.ckpt.name} was not trained with reference sounds; generate without a reference, "
                "or use a model trained with references (ref_frames > 0)")
    with pytest.raises(ValueError) as err:
        engine.generate([job], params, out_dir=str(tmp_path / "out"))
    assert str(err.value) == expected
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.wav"))
    free = engine.generate([job], dataclasses.replace(params, reference=None), out_dir=str(tmp_path / "out"))[0]
    with pytest.raises(ValueError, match="not trained with reference sounds"):
        engine.regenerate_region(job, free.takes[0], 2, 6, params, out_dir=str(tmp_path / "out"))


def test_any_model_takes_the_reference_hits_and_records_them(tiny_model, reference_wav, foley_edit, tmp_path):
    """A model that hears no reference still takes its sound (ref_mix > 0): the reference is read
    up to HITS_SECONDS, its hits put on the takes' hits; each take records the mix, how and how
    many hits it got (metadata and iXML); a steady sound without hits gives its texture."""
    import soundfile

    from maskvat_foley.core import pipeline
    from maskvat_foley.core.engine.engine import Engine
    from maskvat_foley.core.media.bwf import read_bwf_info

    engine = Engine(tiny_model, device="cpu", cache_dir=str(tmp_path / "cache"))
    ref = engine.reference(ReferenceSpec(str(reference_wav)), 1.0)
    assert ref.codes is None and not ref.audio.trimmed and len(ref.hits) >= 2  # the strike's 3 s, whole
    job = pipeline.open_timeline(foley_edit["path"]).job("V1.1")
    params = GenerationParams(seed=3, takes=2, steps=2, reference=ReferenceSpec(str(reference_wav)))
    [res] = engine.generate([job], params, out_dir=str(tmp_path / "out"))
    assert res.ok, res.error
    for take in res.takes:
        meta = take.metadata["reference"]
        assert meta["ref_mix"] == 1.0 and isinstance(meta["hits_placed"], int) and meta["trimmed"] is False
        assert meta["applied"] == "hits" and meta["heard"] is False and take.metadata["reference_seed"] == take.seed
        ixml = read_bwf_info(take.path).ixml
        assert "<REFERENCE_MIX>1.0</REFERENCE_MIX>" in ixml and "<REFERENCE_APPLIED>hits</REFERENCE_APPLIED>" in ixml
    # A region keeps the base take's hit seed and mix (asked for another mix, it keeps the take's).
    region = engine.regenerate_region(job, res.takes[0], 4, 12, dataclasses.replace(params, seed=77, ref_mix=0.3),
                                      out_dir=str(tmp_path / "region"))
    assert region.metadata["reference_seed"] == res.takes[0].seed and region.metadata["reference"]["ref_mix"] == 1.0
    # A steady sound (no hits): its texture, under the take's envelope.
    steady = tmp_path / "hum.wav"
    t = np.arange(3 * 44100) / 44100
    soundfile.write(str(steady), 0.3 * np.sin(2 * np.pi * 120 * t), 44100)
    [hum] = engine.generate([job], dataclasses.replace(params, takes=1, reference=ReferenceSpec(str(steady))),
                            out_dir=str(tmp_path / "steady"))
    assert hum.ok, hum.error
    meta = hum.takes[0].metadata["reference"]
    assert meta["applied"] == "texture" and "hits_placed" not in meta
