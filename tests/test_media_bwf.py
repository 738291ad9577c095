"""Broadcast WAV: TimeReference, exact sample counts that tile, 24-bit samples, provenance text.

Everything written is checked with independent readers: wavinfo (bext, iXML, INFO) and soundfile
(samples).
"""
from __future__ import annotations

import datetime as dt
import os
from fractions import Fraction

import numpy as np
import pytest
import soundfile as sf
import wavinfo

from maskvat_foley.core.media.bwf import read_bwf_info, write_bwf
from maskvat_foley.core.media.resample import fit_to_span
from maskvat_foley.core.media.video import MediaError
from maskvat_foley.core.timeline.rates import from_timecode, sample_span

SR = 48000
R23, R29, R59 = Fraction(24000, 1001), Fraction(30000, 1001), Fraction(60000, 1001)


def expected_first_sample(frame: int, rate: Fraction) -> int:
    # round half up, written out independently of rates.round_half_up
    x = Fraction(frame) * SR / rate
    return int(x) + (1 if x - int(x) >= Fraction(1, 2) else 0)


def test_one_hour_at_23976_time_reference(tmp_path):
    start = from_timecode("01:00:00:00", R23)
    assert start == 86400
    ref, count = sample_span(start, start + 48, R23, SR)
    assert (ref, count) == (172_972_800, 96_096)
    path = write_bwf(tmp_path / "take.wav", np.zeros(count), SR, time_reference=ref,
                     description="clip=c1 seed=7", timecode_rate=R23,
                     origination=dt.datetime(2025, 3, 4, 5, 6, 7))
    w = wavinfo.WavInfoReader(str(path))
    assert w.bext.time_reference == 172_972_800
    assert w.bext.description == "clip=c1 seed=7"
    assert w.bext.originator == "MaskVAT Foley"
    assert (w.bext.originator_date, w.bext.originator_time) == ("2025-03-04", "05:06:07")
    assert (w.fmt.sample_rate, w.fmt.bits_per_sample, w.fmt.channel_count) == (SR, 24, 1)
    speed = w.ixml.raw_xml.find("SPEED")
    assert speed.find("TIMECODE_RATE").text == "24000/1001"
    assert speed.find("TIMECODE_FLAG").text == "NDF"
    assert speed.find("TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_LO").text == "172972800"
    assert sf.info(str(path)).frames == 96_096
    info = read_bwf_info(path)
    assert (info.time_reference, info.num_samples, info.bits) == (172_972_800, 96_096, 24)
    assert info.bext_version == 1 and info.description == "clip=c1 seed=7"


@pytest.mark.parametrize("rate", [R23, R29, R59])
def test_adjacent_takes_tile_without_gap_or_overlap(tmp_path, rate):
    cuts = [107892, 107893, 107897, 107902, 107915, 107916, 107941]  # odd lengths hit every phase
    rng = np.random.default_rng(1)
    refs, counts = [], []
    for k, (a, b) in enumerate(zip(cuts, cuts[1:])):
        # generator audio at 44.1 kHz, a bit longer than needed, as the codec gives it
        audio, ref = fit_to_span(rng.uniform(-0.5, 0.5, int((b - a) / rate * 44100) + 300), 44100, a, b,
                                 rate, SR)
        path = write_bwf(tmp_path / f"part{k}.wav", audio, SR, time_reference=ref, timecode_rate=rate)
        refs.append(wavinfo.WavInfoReader(str(path)).bext.time_reference)
        counts.append(sf.info(str(path)).frames)
        assert refs[-1] == expected_first_sample(a, rate)
        assert counts[-1] == expected_first_sample(b, rate) - expected_first_sample(a, rate)
    for k in range(len(refs) - 1):
        assert refs[k] + counts[k] == refs[k + 1]  # no gap, no overlap
    assert sum(counts) == expected_first_sample(cuts[-1], rate) - expected_first_sample(cuts[0], rate)


def test_29_97_frames_alternate_between_1601_and_1602_samples():
    counts = [sample_span(f, f + 1, R29, SR)[1] for f in range(10)]
    assert sorted(set(counts)) == [1601, 1602] and sum(counts) == 16016


def test_24_bit_samples_read_back_within_one_lsb(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (2, 5000))
    x[:, :6] = [[-1.5, -1.0, 1.0 - 2**-23, 1.0, 1.5, 0.0], [0.5, -0.5, 2**-23, -2**-23, 0.25, -0.25]]
    path = write_bwf(tmp_path / "s.wav", x, SR, time_reference=0)
    info = sf.info(str(path))
    assert (info.subtype, info.channels, info.frames) == ("PCM_24", 2, 5000)
    back, sr = sf.read(str(path), dtype="float64", always_2d=True)
    assert sr == SR
    clipped = np.clip(x, -1, 1 - 2**-23).T
    assert np.abs(back - clipped).max() <= 2**-23
    ints = sf.read(str(path), dtype="int32", always_2d=True)[0] >> 8
    assert ints[:5, 0].tolist() == [-2**23, -2**23, 2**23 - 1, 2**23 - 1, 2**23 - 1]  # clipped, no wrap
    assert ints[:4, 1].tolist() == [2**22, -2**22, 1, -1]


@pytest.mark.parametrize("bits,subtype,tol", [(16, "PCM_16", 2**-15), (32, "FLOAT", 0.0)])
def test_other_sample_formats(tmp_path, bits, subtype, tol):
    x = np.random.default_rng(2).uniform(-0.9, 0.9, 3000).astype(np.float32)
    path = write_bwf(tmp_path / f"b{bits}.wav", x, 44100, time_reference=5, bits=bits)
    assert sf.info(str(path)).subtype == subtype
    back, sr = sf.read(str(path), dtype="float32")
    assert sr == 44100 and np.abs(back - x).max() <= tol
    assert wavinfo.WavInfoReader(str(path)).bext.time_reference == 5


def test_long_provenance_is_kept_whole_outside_bext(tmp_path):
    text = ("model=maskvat-foleyworld sha256=" + "ab" * 32 + " clip=Tür zu ✓ seed=1234 steps=16 "
            "guidance=3.0 beam=4 sync=0.83 device=cpu dtype=float32 version=0.1.0 " * 3)
    assert len(text.encode()) > 256
    path = write_bwf(tmp_path / "p.wav", np.zeros(100), SR, time_reference=0, description=text)
    w = wavinfo.WavInfoReader(str(path), info_encoding="utf-8")
    bext = w.bext.description
    assert len(bext) <= 256 and bext.endswith("...") and bext.isascii()
    assert bext.startswith("model=maskvat-foleyworld sha256=abab")
    assert w.info.comment == text
    assert w.ixml.raw_xml.find("NOTE").text == text
    assert read_bwf_info(path).comment == text


def test_drop_frame_flag_large_time_reference_and_loudness(tmp_path):
    ref = 2**32 + 12345  # past 24 h at 48 kHz: TimeReferenceHigh is used
    path = write_bwf(tmp_path / "df.wav", np.zeros((2, 10)), SR, time_reference=ref, timecode_rate=R29,
                     loudness_lufs=-23.47, true_peak_dbtp=-1.02)
    w = wavinfo.WavInfoReader(str(path))
    assert w.bext.time_reference == ref and w.bext.version == 2
    assert w.bext.loudness_value == pytest.approx(-23.47) and w.bext.max_true_peak == pytest.approx(-1.02)
    assert w.ixml.raw_xml.find("SPEED/TIMECODE_FLAG").text == "DF"
    assert read_bwf_info(path).time_reference == ref


def test_atomic_write_and_overwrite(tmp_path):
    path = write_bwf(tmp_path / "t.wav", np.full(10, 0.25), SR, time_reference=1)
    write_bwf(path, np.full(20, -0.25), SR, time_reference=2)
    assert os.listdir(tmp_path) == ["t.wav"]
    bad = np.zeros(10)
    bad[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        write_bwf(path, bad, SR, time_reference=3)
    with pytest.raises(ValueError, match="transposed"):
        write_bwf(path, np.zeros((100, 2)), SR, time_reference=3)
    assert os.listdir(tmp_path) == ["t.wav"]  # no temp file, previous take intact
    assert read_bwf_info(path).time_reference == 2 and sf.info(str(path)).frames == 20


def test_reader_rejects_non_wav(tmp_path):
    p = tmp_path / "x.wav"
    p.write_bytes(b"not a wav at all")
    with pytest.raises(MediaError, match="x.wav"):
        read_bwf_info(p)
