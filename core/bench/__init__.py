"""Benchmarks that measure and return numbers (the command line prints them as JSON with
`maskvat-foley bench generate|service|sampler|codec|foleyworld`): speed and memory are measured here,
never asserted in timed tests.

    generate    end to end through the in-process engine: decode, features, sampling, codec, write
    service     the engine server: first take against a cached regenerate, and a load run over HTTP
    sampler     MaskVAT sampling alone for a model preset (no codec, no video)
    codec       what a codec keeps: struck tones, materials apart, FoleyWorld round trips

FoleyWorld's own rendering speed is core/data/bench_foleyworld.py.
"""
