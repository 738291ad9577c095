"""MaskVAT: variants, masking, sampler, beam selection, checkpoints."""
