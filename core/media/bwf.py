"""Broadcast WAV (EBU Tech 3285) writer and a minimal reader of what it writes.

Chunks: fmt, bext (TimeReference = samples since the timecode origin, so a DAW places the file at
its timecode), iXML (timecode rate and flag, sample rate, the full provenance text, and optional
elements in a MASKVAT_FOLEY block such as the take's level), LIST/INFO
(ICMT: the full provenance again, UTF-8) and data. The bext Description field is 256 bytes of
ASCII: longer or non-ASCII text is cut/replaced there ("..." marks a cut) but kept whole in iXML
NOTE and INFO ICMT. bext is version 1, or version 2 when loudness values are given (version 1
keeps those bytes reserved, which is how readers tell "not measured").
"""
from __future__ import annotations

import datetime as _dt
import logging
import os
import re
import struct
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from maskvat_foley.core.jobs import GenerationParams
from maskvat_foley.core.media.video import MediaError
from maskvat_foley.core.timeline.rates import is_drop_frame_rate, rate_str

log = logging.getLogger(__name__)

DESCRIPTION_BYTES = 256
_BEXT_FIXED = struct.Struct("<256s32s32s10s8sIIH64s5h180s")  # 602 bytes
_MAX_DATA = 2**32 - 1 - 4096  # RIFF sizes are 32-bit; RF64 is not needed for Foley takes
# iXML lets software add a block of its own at the top level (as Steinberg's <STEINBERG>); readers
# skip blocks they do not know. Its element names are spelled as iXML's own are.
IXML_VENDOR_BLOCK = "MASKVAT_FOLEY"
_IXML_NAME = re.compile(r"[A-Z][A-Z0-9_]*", re.ASCII)


@dataclass(frozen=True)
class BwfInfo:
    sample_rate: int
    channels: int
    bits: int
    float_samples: bool
    num_samples: int
    time_reference: int | None
    description: str | None  # bext Description (possibly cut)
    originator: str | None
    originator_reference: str | None
    origination_date: str | None
    origination_time: str | None
    bext_version: int | None
    coding_history: str | None
    comment: str | None  # LIST/INFO ICMT: the full description
    ixml: str | None


def write_bwf(path: str | os.PathLike, audio: np.ndarray, sample_rate: int = GenerationParams.sample_rate, *,
              time_reference: int, description: str = "", originator: str = "MaskVAT Foley",
              originator_reference: str = "", bits: int = 24, timecode_rate: Fraction | None = None,
              drop_frame: bool | None = None, origination: _dt.datetime | None = None,
              coding_history: str = "", loudness_lufs: float | None = None,
              true_peak_dbtp: float | None = None, track_names: list[str] | None = None,
              comment: str | None = None, ixml_vendor: dict[str, str] | None = None) -> Path:
    """Write ``audio`` (float, [samples] or [channels, samples], nominal range [-1, 1)) atomically.

    bits: 24 or 16 (integer PCM, clipped to [-1, 1 - 1 LSB] with no wraparound) or 32 (IEEE float,
    unclipped). time_reference: first sample's offset since the timecode origin (see
    rates.sample_span). timecode_rate: written to iXML with TIMECODE_FLAG (DF at 29.97/59.94 unless
    ``drop_frame`` says otherwise). origination: local date/time for bext (default now).
    comment: the full text for iXML NOTE and INFO ICMT (default: ``description``), so a short
    bext Description can stand beside the complete provenance. ixml_vendor: elements (NAME: text)
    of this software's own iXML block, IXML_VENDOR_BLOCK (the take's level, say).
    """
    path = Path(path)
    data, channels = _pcm_bytes(audio, bits, path)
    if not (isinstance(sample_rate, int) and sample_rate > 0):
        raise ValueError(f"{path}: sample_rate must be a positive int, got {sample_rate!r}")
    if not (isinstance(time_reference, (int, np.integer)) and 0 <= time_reference < 2**64):
        raise ValueError(f"{path}: time_reference must be a non-negative 64-bit int, got {time_reference!r}")
    if len(data) > _MAX_DATA:
        raise ValueError(f"{path}: {len(data)} bytes of audio is over the 4 GB RIFF limit")
    origination = origination or _dt.datetime.now()
    num_samples = len(data) // (channels * bits // 8)

    chunks = [_fmt_chunk(channels, sample_rate, bits)]
    if bits == 32:
        chunks.append(_chunk(b"fact", struct.pack("<I", num_samples)))  # required for non-PCM formats
    chunks.append(_chunk(b"bext", _bext(description, originator, originator_reference, origination,
                                        int(time_reference), coding_history, loudness_lufs,
                                        true_peak_dbtp, path)))
    comment = description if comment is None else comment
    chunks.append(_chunk(b"iXML", _ixml(comment, sample_rate, bits, int(time_reference),
                                        timecode_rate, drop_frame, channels, track_names,
                                        ixml_vendor)))
    if comment:
        chunks.append(_chunk(b"LIST", b"INFO" + _chunk(b"ICMT", comment.encode("utf-8") + b"\0")
                             + _chunk(b"ISFT", originator.encode("utf-8") + b"\0")))
    chunks.append(_chunk(b"data", data))
    if len(data) % 2:
        # An odd-sized data chunk ends in a pad byte; GStreamer's WAV reader (GES, Pitivi) gives up
        # on a file whose last chunk is padded, so a small JUNK chunk follows it.
        chunks.append(_chunk(b"JUNK", b"\0" * 4))
    body = b"WAVE" + b"".join(chunks)

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.partial")
    try:
        with open(tmp, "wb") as f:
            f.write(b"RIFF" + struct.pack("<I", len(body)) + body)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    log.debug("wrote %s: %d samples x %d ch at %d Hz, TimeReference %d", path, num_samples, channels,
              sample_rate, time_reference)
    return path


def _pcm_bytes(audio: np.ndarray, bits: int, path: Path) -> tuple[bytes, int]:
    a = np.asarray(audio)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or a.shape[1] == 0:
        raise ValueError(f"{path}: audio must be non-empty [samples] or [channels, samples], got {a.shape}")
    if a.shape[0] > 32:
        raise ValueError(f"{path}: {a.shape[0]} channels; audio must be [channels, samples] (transposed?)")
    if not np.issubdtype(a.dtype, np.floating):
        raise ValueError(f"{path}: audio must be floating point in [-1, 1), got {a.dtype}")
    if not np.isfinite(a).all():
        raise ValueError(f"{path}: audio holds NaN or infinite samples")
    inter = a.T  # [samples, channels]: WAV interleaves channels
    if bits == 32:
        return np.ascontiguousarray(inter, dtype="<f4").tobytes(), a.shape[0]
    if bits not in (16, 24):
        raise ValueError(f"{path}: bits must be 16, 24 or 32, got {bits}")
    full = 2 ** (bits - 1)
    ints = np.clip(np.rint(inter.astype(np.float64) * full), -full, full - 1).astype("<i4")
    if bits == 16:
        return ints.astype("<i2").tobytes(), a.shape[0]
    return np.ascontiguousarray(ints).view(np.uint8).reshape(-1, 4)[:, :3].tobytes(), a.shape[0]


def _chunk(tag: bytes, payload: bytes) -> bytes:
    return tag + struct.pack("<I", len(payload)) + payload + (b"\0" if len(payload) % 2 else b"")


def _fmt_chunk(channels: int, sample_rate: int, bits: int) -> bytes:
    block = channels * bits // 8
    fmt_tag = 3 if bits == 32 else 1
    payload = struct.pack("<HHIIHH", fmt_tag, channels, sample_rate, sample_rate * block, block, bits)
    if fmt_tag == 3:
        payload += struct.pack("<H", 0)  # cbSize: non-PCM fmt chunks carry it
    return _chunk(b"fmt ", payload)


def _ascii(text: str, size: int, field: str, path: Path) -> bytes:
    raw = text.encode("ascii", errors="replace")
    if len(raw) > size:
        log.info("%s: bext %s is %d bytes; cut to %d (the full text is in iXML/INFO)", path, field,
                 len(raw), size)
        raw = raw[:size - 3] + b"..."
    return raw


def _bext(description, originator, originator_reference, origination, time_reference, coding_history,
          loudness_lufs, true_peak_dbtp, path) -> bytes:
    version = 2 if loudness_lufs is not None or true_peak_dbtp is not None else 1

    def centi(x: float | None) -> int:
        if x is None or np.isnan(x):
            return 0x7FFF  # "not measured"
        return -32768 if x == float("-inf") else int(np.clip(round(x * 100), -32768, 32767))  # -inf: silence

    loud = (centi(loudness_lufs), 0x7FFF, centi(true_peak_dbtp), 0x7FFF, 0x7FFF) if version == 2 else (0,) * 5
    fixed = _BEXT_FIXED.pack(
        _ascii(description, 256, "Description", path), _ascii(originator, 32, "Originator", path),
        _ascii(originator_reference, 32, "OriginatorReference", path),
        origination.strftime("%Y-%m-%d").encode(), origination.strftime("%H:%M:%S").encode(),
        time_reference & 0xFFFFFFFF, time_reference >> 32, version, b"", *loud, b"")
    history = coding_history.encode("ascii", errors="replace")
    if history and not history.endswith(b"\r\n"):
        history += b"\r\n"
    return fixed + history


def _ixml(description, sample_rate, bits, time_reference, timecode_rate, drop_frame, channels,
          track_names, vendor=None) -> bytes:
    root = ET.Element("BWFXML")
    ET.SubElement(root, "IXML_VERSION").text = "2.10"
    if description:
        ET.SubElement(root, "NOTE").text = description
    speed = ET.SubElement(root, "SPEED")
    if timecode_rate is not None:
        rate = Fraction(timecode_rate)
        df = is_drop_frame_rate(rate) if drop_frame is None else drop_frame
        for tag in ("MASTER_SPEED", "CURRENT_SPEED", "TIMECODE_RATE"):
            ET.SubElement(speed, tag).text = rate_str(rate)
        ET.SubElement(speed, "TIMECODE_FLAG").text = "DF" if df else "NDF"
    ET.SubElement(speed, "FILE_SAMPLE_RATE").text = str(sample_rate)
    ET.SubElement(speed, "AUDIO_BIT_DEPTH").text = str(bits)
    ET.SubElement(speed, "DIGITIZER_SAMPLE_RATE").text = str(sample_rate)
    ET.SubElement(speed, "TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_HI").text = str(time_reference >> 32)
    ET.SubElement(speed, "TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_LO").text = str(time_reference & 0xFFFFFFFF)
    ET.SubElement(speed, "TIMESTAMP_SAMPLE_RATE").text = str(sample_rate)
    tracks = ET.SubElement(root, "TRACK_LIST")
    ET.SubElement(tracks, "TRACK_COUNT").text = str(channels)
    for c in range(channels):
        t = ET.SubElement(tracks, "TRACK")
        ET.SubElement(t, "CHANNEL_INDEX").text = str(c + 1)
        ET.SubElement(t, "INTERLEAVE_INDEX").text = str(c + 1)
        default = "Foley" if channels == 1 else f"Foley {c + 1}"
        ET.SubElement(t, "NAME").text = track_names[c] if track_names and c < len(track_names) else default
    if vendor:
        block = ET.SubElement(root, IXML_VENDOR_BLOCK)
        for name, text in vendor.items():
            if not _IXML_NAME.fullmatch(name):
                raise ValueError(f"iXML element name {name!r}: upper-case letters, digits and '_' only")
            ET.SubElement(block, name).text = str(text)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8")


def read_bwf_info(path: str | os.PathLike) -> BwfInfo:
    """The format, length and metadata of a WAV written by write_bwf (or any plain RIFF WAV)."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise MediaError(f"{p}: cannot read ({exc})") from None
    if len(raw) < 12 or raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise MediaError(f"{p}: not a RIFF WAVE file")
    chunks: dict[bytes, bytes] = {}
    pos, end = 12, min(len(raw), 8 + struct.unpack_from("<I", raw, 4)[0])
    while pos + 8 <= end:
        tag, size = raw[pos:pos + 4], struct.unpack_from("<I", raw, pos + 4)[0]
        chunks.setdefault(tag, raw[pos + 8:pos + 8 + size])
        pos += 8 + size + (size & 1)
    if b"fmt " not in chunks or b"data" not in chunks:
        raise MediaError(f"{p}: WAV without fmt or data chunk")
    fmt_tag, channels, sr, _, block, bits = struct.unpack_from("<HHIIHH", chunks[b"fmt "])
    info = dict(time_reference=None, description=None, originator=None, originator_reference=None,
                origination_date=None, origination_time=None, bext_version=None, coding_history=None)
    bext = chunks.get(b"bext")
    if bext and len(bext) >= _BEXT_FIXED.size:
        f = _BEXT_FIXED.unpack_from(bext)
        text = [x.split(b"\0", 1)[0].decode("ascii", errors="replace") for x in f[:5]]
        info.update(description=text[0], originator=text[1], originator_reference=text[2],
                    origination_date=text[3], origination_time=text[4], time_reference=f[5] | (f[6] << 32),
                    bext_version=f[7],
                    coding_history=bext[_BEXT_FIXED.size:].split(b"\0", 1)[0].decode("ascii", "replace"))
    comment = None
    lst = chunks.get(b"LIST")
    if lst and lst[:4] == b"INFO":
        q = 4
        while q + 8 <= len(lst):
            tag, size = lst[q:q + 4], struct.unpack_from("<I", lst, q + 4)[0]
            if tag == b"ICMT":
                comment = lst[q + 8:q + 8 + size].split(b"\0", 1)[0].decode("utf-8", errors="replace")
            q += 8 + size + (size & 1)
    ixml = chunks.get(b"iXML")
    return BwfInfo(sample_rate=sr, channels=channels, bits=bits, float_samples=fmt_tag == 3,
                   num_samples=len(chunks[b"data"]) // block, comment=comment,
                   ixml=ixml.rstrip(b"\0").decode("utf-8") if ixml else None, **info)
