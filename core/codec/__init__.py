"""Audio tokenizers over the Descript Audio Codec."""
