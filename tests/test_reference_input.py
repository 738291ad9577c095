"""Reference sounds in: the FILE[:START-END] spelling, GenerationParams' JSON, reading real WAV,
FLAC, AIFF and video files (mono and stereo, 22.05 and 48 kHz) read-only, the one-line refusals,
and what a take records of its reference (take metadata, the WAV's iXML, the exported OTIO)."""
from __future__ import annotations

import hashlib
import json
import logging
import os
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from audio_files import noise, quantized, write_audio
from maskvat_foley.core.jobs import GenerationParams, ReferenceSpec, Take, seconds_str
from maskvat_foley.core.media.reference import ReferenceAudio, ReferenceError, file_sha256, load_reference

F = Fraction


# -- the spelling ------------------------------------------------------------------------------
@pytest.mark.parametrize("text, path, start, end", [
    ("clap.wav", "clap.wav", None, None),
    ("clap.wav:1.5-4", "clap.wav", F(3, 2), F(4)),
    ("clap.wav:2-", "clap.wav", F(2), None),
    ("clap.wav:-3", "clap.wav", None, F(3)),
    ("/lib/sfx/door 2.flac:0-0.125", "/lib/sfx/door 2.flac", F(0), F(1, 8)),
    (r"C:\sfx\clap.wav", r"C:\sfx\clap.wav", None, None),
    (r"C:\sfx\clap.wav:0.5-2", r"C:\sfx\clap.wav", F(1, 2), F(2)),
    ("D:clap.wav", "D:clap.wav", None, None),
    ("a:b.wav", "a:b.wav", None, None),
    ("clap.wav:-", "clap.wav:-", None, None),
])
def test_parse_file_and_range(text, path, start, end):
    spec = ReferenceSpec.parse(text)
    assert (spec.path, spec.start, spec.end) == (path, start, end)


def test_parse_refuses_empty_ranges_and_keeps_a_real_file_whole(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="empty"):
        ReferenceSpec.parse("clap.wav:4-1.5")
    with pytest.raises(ValueError, match="empty"):
        ReferenceSpec.parse("clap.wav:2-2")
    with pytest.raises(ValueError):
        ReferenceSpec.parse("")
    with pytest.raises(ValueError, match="seconds"):
        ReferenceSpec.parse("clap.wav:1:30-2")  # minutes:seconds is not the spelling
    monkeypatch.chdir(tmp_path)
    (tmp_path / "take:1-2").write_bytes(b"x")  # a file whose name looks like a range
    assert ReferenceSpec.parse("take:1-2") == ReferenceSpec("take:1-2")


def test_spec_times_are_exact():
    with pytest.raises(ValueError, match="exact"):
        ReferenceSpec("a.wav", 1.5)  # a float is not what the editor wrote
    with pytest.raises(ValueError, match="negative"):
        ReferenceSpec("a.wav", F(-1))
    assert ReferenceSpec("a.wav", "1/3", "0.5").start == F(1, 3)
    assert str(ReferenceSpec("a.wav", F(1, 3), F(1, 2))) == "a.wav:1/3-0.5"
    assert [seconds_str(x) for x in (F(3, 2), F(1, 8), F(10), F(1, 22050), F(0))] == \
        ["1.5", "0.125", "10", "1/22050", "0"]


def test_params_json_round_trip_keeps_the_reference():
    spec = ReferenceSpec(r"C:\sfx\glass ü.wav", F(1, 3), F(5, 2))
    p = GenerationParams(seed=3, takes=1, reference=spec, ref_guidance=4.5)
    doc = json.loads(json.dumps(p.to_dict()))  # JSON-safe: Fractions as exact strings
    assert doc["reference"] == {"path": spec.path, "start": "1/3", "end": "5/2"} and doc["ref_guidance"] == 4.5
    assert GenerationParams.from_dict(doc) == p
    plain = GenerationParams(seed=3)
    assert GenerationParams.from_dict(json.loads(json.dumps(plain.to_dict()))) == plain
    old = {k: v for k, v in plain.to_dict().items() if k not in ("reference", "ref_guidance")}
    assert GenerationParams.from_dict(old) == plain  # job records written before references
    with pytest.raises(ValueError, match="unknown"):
        GenerationParams.from_dict(dict(doc, reference={"path": "a.wav", "gain": 1}))
    with pytest.raises(ValueError, match="ref_guidance"):
        GenerationParams(ref_guidance=float("nan"))
    with pytest.raises(ValueError, match="ref_guidance"):
        GenerationParams(ref_guidance=25.0)
    with pytest.raises(ValueError, match="ReferenceSpec"):
        GenerationParams(reference="a.wav")


# -- reading real files --------------------------------------------------------------------------
def _unchanged(folder: Path):
    """Every file under ``folder`` with its bytes' hash and modification time."""
    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".aiff"])
@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("rate", [22050, 48000])
def test_reads_the_exact_range_mono_at_any_rate(tmp_path, suffix, channels, rate):
    audio = noise(4.0, rate, channels, seed=channels)
    path = write_audio(tmp_path / f"ref{suffix}", audio, rate)
    before = _unchanged(tmp_path)
    expected = quantized(audio).mean(axis=0)
    # At the file's own rate the samples are the file's, downmixed; the start past 2 s is sought.
    for start, end in ((F(1, 2), F(5, 4)), (F(5, 2), F(3))):
        ref = load_reference(ReferenceSpec(str(path), start, end), sample_rate=rate, max_seconds=10)
        a, b = round(start * rate), round(end * rate)
        assert ref.samples.dtype == np.float32 and ref.samples.ndim == 1
        np.testing.assert_allclose(ref.samples, expected[a:b], atol=1e-6)
        assert (ref.start, ref.end, ref.trimmed, ref.sample_rate) == (start, end, False, rate)
    # At another rate: resampled to the exact length.
    ref = load_reference(ReferenceSpec(str(path), F(1), None), sample_rate=44100, max_seconds=10)
    assert ref.samples.shape == (3 * 44100,) and ref.end == F(4)
    assert ref.name == f"ref{suffix}" and ref.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert _unchanged(tmp_path) == before  # read only: nothing written, changed or copied


def test_trimmed_to_the_longest_reference_with_a_message(tmp_path, caplog):
    path = write_audio(tmp_path / "long.wav", noise(5.0, 48000), 48000)
    with caplog.at_level(logging.INFO, logger="maskvat_foley.core.media.reference"):
        ref = load_reference(ReferenceSpec(str(path)), sample_rate=16000, max_seconds=2)
    assert ref.trimmed and (ref.start, ref.end) == (0, 2) and ref.samples.shape == (32000,)
    assert "trimmed" in caplog.text and "long.wav" in caplog.text
    ranged = load_reference(ReferenceSpec(str(path), F(1), F(4)), sample_rate=16000, max_seconds=F(3, 2))
    assert ranged.trimmed and (ranged.start, ranged.end) == (1, F(5, 2))
    whole = load_reference(ReferenceSpec(str(path), F(3)), sample_rate=16000, max_seconds=2)
    assert not whole.trimmed and whole.end == 5  # exactly the limit is not a trim


def test_the_audio_of_a_video(tmp_path):
    from maskvat_foley.core.media.video_writer import write_video

    frames = [np.full((48, 64, 3), 20 * i, np.uint8) for i in range(12)]
    sound = noise(0.5, 22050, 2)
    mp4 = write_video(tmp_path / "take.mp4", frames, F(24), audio=sound, sample_rate=22050)
    mov = write_video(tmp_path / "take.mov", frames, F(24), audio=sound, sample_rate=22050, audio_codec="pcm_s16le")
    for path in (mp4, mov):
        ref = load_reference(ReferenceSpec(str(path)), sample_rate=48000, max_seconds=10)
        assert ref.end == F(1, 2) and ref.samples.shape == (24000,) and np.abs(ref.samples).max() > 0.1
    ref = load_reference(ReferenceSpec(str(mov), F(1, 10), F(4, 10)), sample_rate=22050, max_seconds=10)
    np.testing.assert_allclose(ref.samples, quantized(sound).mean(axis=0)[2205:8820], atol=1e-6)
    silent_film = write_video(tmp_path / "mute.mp4", frames, F(24))
    with pytest.raises(ReferenceError, match=r"mute\.mp4: the video has no audio track$"):
        load_reference(ReferenceSpec(str(silent_film)), sample_rate=48000, max_seconds=10)


def test_a_stereo_file_whose_channels_cancel_is_not_silent(tmp_path):
    x = noise(1.0, 48000)[0]
    path = write_audio(tmp_path / "flipped.wav", np.stack([x, -x]), 48000)
    ref = load_reference(ReferenceSpec(str(path)), sample_rate=48000, max_seconds=10)
    assert np.abs(ref.samples).max() > 0.5


@pytest.mark.parametrize("make, spec, message", [
    (lambda d: write_audio(d / "zero.wav", np.zeros(48000), 48000), "", r"is silent \(digital silence\)"),
    (lambda d: write_audio(d / "hiss.wav", noise(1, 48000, level=0.0002), 48000), "", r"is silent \(peak -\d+ dBFS\)"),
    (lambda d: write_audio(d / "gap.wav", np.concatenate([noise(1, 48000), np.zeros((1, 48000))], 1), 48000),
     ":1.2-1.8", r"\(1\.2-1\.8 s\) is silent"),
    (lambda d: write_audio(d / "blip.flac", noise(0.1, 48000), 48000), "",
     r"is 0\.10 s long; it needs at least 0\.25 s"),
    (lambda d: write_audio(d / "ok.wav", noise(2, 48000), 48000), ":1-1.1", r"is 0\.10 s long"),
    (lambda d: write_audio(d / "ok.wav", noise(2, 48000), 48000), ":1.5-3",
     r"range 1\.5-3 s is outside the file; the file is 2\.00 s long"),
    (lambda d: write_audio(d / "ok.wav", noise(2, 48000), 48000), ":3-4", r"range 3-4 s is outside the file"),
    (lambda d: write_audio(d / "ok.wav", noise(4, 48000), 48000), ":6-", r"range 6- s is outside the file"),
    (lambda d: (d / "junk.wav").write_bytes(b"RIFF" + os.urandom(3000)) and d / "junk.wav", "",
     r"junk\.wav: cannot read it as audio"),
    (lambda d: (d / "empty.aiff").write_bytes(b"") or d / "empty.aiff", "", r"is empty \(0 bytes\)"),
    (lambda d: d / "not-here.wav", "", r"reference file not found: .*not-here\.wav"),
    (lambda d: d, "", r"is a folder"),
])
def test_bad_references_are_one_clear_line(tmp_path, make, spec, message):
    path = make(tmp_path)
    before = _unchanged(tmp_path)
    with pytest.raises(ReferenceError, match=message) as err:
        load_reference(ReferenceSpec.parse(f"{path}{spec}"), sample_rate=48000, max_seconds=10)
    assert "\n" not in str(err.value) and str(path) in str(err.value)
    assert _unchanged(tmp_path) == before


def test_a_fifo_is_refused_without_opening_it(tmp_path):
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)  # opening it would block until a writer came
    with pytest.raises(ReferenceError, match="not a regular file"):
        load_reference(ReferenceSpec(str(fifo)), sample_rate=48000, max_seconds=10)


def test_the_hash_is_of_the_whole_file_and_follows_changes(tmp_path):
    path = write_audio(tmp_path / "a.wav", noise(1, 22050), 22050)
    first = file_sha256(str(path))
    assert first == hashlib.sha256(path.read_bytes()).hexdigest()
    write_audio(path, noise(1, 22050, seed=9), 22050)
    os.utime(path, ns=(1, 1))  # even with an old time, size or inode or time differ from before
    assert file_sha256(str(path)) == hashlib.sha256(path.read_bytes()).hexdigest() != first


# -- what a take records -------------------------------------------------------------------------
def test_take_records_its_reference_in_metadata_ixml_and_the_timeline(foley_edit, tmp_path):
    import opentimelineio as otio

    from maskvat_foley.core import pipeline
    from maskvat_foley.core.engine.takes import write_take
    from maskvat_foley.core.media.bwf import IXML_VENDOR_BLOCK, read_bwf_info
    from maskvat_foley.core.timeline.export import export
    from maskvat_foley.core.timeline.placement import DEFAULT_MEDIA, FOLEY_KEY

    ref_path = write_audio(tmp_path / "glass ü.flac", noise(1, 48000), 48000)
    ref = load_reference(ReferenceSpec(str(ref_path), F(1, 3), F(5, 6)), sample_rate=44100, max_seconds=10)
    assert isinstance(ref, ReferenceAudio)
    opened = pipeline.open_timeline(foley_edit["path"])
    job = opened.job("V1.1")
    params = GenerationParams(seed=5, takes=1, reference=ReferenceSpec(str(ref_path), F(1, 3), F(5, 6)),
                              ref_guidance=3.5)
    wave = noise(2, 44100)[0]
    take = write_take(job, wave, 44100, 5, params, str(tmp_path / "takes"),
                      {"model": "m", "source_clip": "V1.1", "hits_placed": 4}, reference=ref)
    expected = {"name": "glass ü.flac", "path": str(ref_path), "sha256": ref.sha256, "start": "1/3",
                "end": "5/6", "trimmed": False, "ref_guidance": 3.5, "ref_mix": 1.0, "hits_placed": 4}
    assert take.reference == expected
    assert take.reference_spec() == params.reference  # Regenerate finds the same sound again
    assert Take.from_dict(json.loads(json.dumps(take.to_dict()))).reference == expected

    info = read_bwf_info(take.path)
    block = ET.fromstring(info.ixml).find(IXML_VENDOR_BLOCK)
    got = {e.tag: e.text for e in block}
    assert {k: got[k] for k in got if k.startswith("REFERENCE")} == {
        "REFERENCE_NAME": "glass ü.flac", "REFERENCE_SHA256": ref.sha256, "REFERENCE_START": "1/3",
        "REFERENCE_END": "5/6", "REFERENCE_TRIMMED": "false", "REFERENCE_GUIDANCE": "3.5",
        "REFERENCE_MIX": "1.0", "REFERENCE_HITS_PLACED": "4"}
    assert json.loads(info.description)["ref"] == f"glass ü.flac@{ref.sha256[:12]}"  # ASCII JSON in bext
    assert json.loads(info.comment)["reference"] == expected

    out = export(pipeline.place(opened.timeline, opened.clips, {"V1.1": [take]}), str(tmp_path / "out.otio"),
                 None, input_path=opened.path)
    back = otio.adapters.read_from_file(out)
    clip = next(c for t in back.audio_tracks() for c in t.find_clips())
    for meta in (clip.metadata[FOLEY_KEY], clip.media_references()[DEFAULT_MEDIA].metadata[FOLEY_KEY]):
        assert dict(meta["reference"]) == expected


def test_a_take_without_reference_records_none(foley_edit, tmp_path):
    from maskvat_foley.core import pipeline
    from maskvat_foley.core.engine.takes import write_take
    from maskvat_foley.core.media.bwf import read_bwf_info

    job = pipeline.open_timeline(foley_edit["path"]).job("V1.2")
    take = write_take(job, noise(2, 44100)[0], 44100, 1, GenerationParams(seed=1), str(tmp_path), {})
    assert take.reference is None and take.reference_spec() is None
    assert "REFERENCE" not in read_bwf_info(take.path).ixml


def test_the_bext_description_fits_whole_and_leaves_out_what_does_not():
    """256 bytes of bext Description: a long reference name leaves the least important fields out
    (all of it is in iXML/INFO) instead of a JSON cut in the middle."""
    from maskvat_foley.core.engine.takes import BEXT_DESCRIPTION, describe

    meta = {"model": "maskvat-foleyworld-default", "model_sha256": "8" * 64, "seed": 2_000_000_000, "steps": 16,
            "guidance": 2.0, "beam": 1, "sync_score": 0.123456, "loudness_lufs": -23.456, "gain_db": 0.0,
            "reference": {"name": "foley library - footsteps on wet gravel, take 12 (close mic).wav",
                          "sha256": "a" * 64}, "source_clip": "V1.1", "device": "cpu",
            "created": "2026-11-29T10:00:00+00:00"}
    text = describe(meta)
    short = json.loads(text)
    assert len(text.encode("ascii")) <= BEXT_DESCRIPTION
    assert short["model"] == meta["model"] and short["seed"] == meta["seed"]
    assert short["ref"] == "foley library - footsteps on wet gravel,@aaaaaaaaaaaa"
    assert "created" not in short  # the last field, left out whole
