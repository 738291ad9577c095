"""Visual feature extractors behind one interface, registered by name.

base: ``FeatureExtractor``, ``register``, ``create``, ``load_extractor``, ``available``;
raw / frame_cnn / clip: the built-in extractors; length: ``adapt_length`` to the codec frame rate;
audio: audio embedders (``create_audio("logmel")``). No heavy imports here.
"""
