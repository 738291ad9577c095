"""MaskVAT: variants, masking, sampler, beam selection, checkpoints.

Modules (import them directly; nothing heavy is imported here):
    config      MaskVATConfig, presets "tiny" / "default" / "paper"
    layers      RoPE, attention, AdaLN-Zero blocks
    transformer MaskVAT(config): codes [B,K,F] + cond [B,F,Dc] (+ a reference sound's codes
                [B,K,R] with config.ref_frames > 0) -> logits [B,K,F,V]
    masking     cosine-schedule training masks (uniform / coarse-to-fine levels)
    objective   training_loss: masked cross-entropy, condition dropout, auxiliary teacher losses
    sampler     sample: coarse-first MaskGIT decoding with classifier-free guidance (and its own
                scale toward a reference sound: RefGuide; docs/reference.md)
    beam        SyncScorer, OnsetMotionScorer, beam_select, sample_with_beam
    long        generate_long (overlapping windows, continuation), regenerate_region
    checkpoint  save_checkpoint / load_checkpoint / init_random (safetensors folders)

Sampling speed: core.bench.sampler (`maskvat-foley bench sampler`).
"""
