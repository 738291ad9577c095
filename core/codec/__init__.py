"""Audio tokenizers over the Descript Audio Codec.

tokenizer: ``Tokenizer`` (encode/decode, chunked long audio, save/load, official weights) and
``load_tokenizer``; config: ``CodecConfig`` and ``CODEC_PRESETS``; chunked: seam-free chunking;
official: reading DAC's released ``.pth`` files safely. No heavy imports here.
"""
