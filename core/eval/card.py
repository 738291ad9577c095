"""The evaluation section of a model card (markdown), from ``evaluate``'s results.

The section sits between two HTML comments, so writing it into an existing MODEL_CARD.md replaces
an earlier evaluation section and leaves the rest of the card alone.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from maskvat_foley.core.data.spec import CONTINUOUS_KINDS

BEGIN = "<!-- maskvat-foley:eval:begin -->"
END = "<!-- maskvat-foley:eval:end -->"

COLUMNS: tuple[tuple[str, str, str], ...] = (  # key, header, format
    ("onset_precision", "onset P", "{:.3f}"), ("onset_recall", "onset R", "{:.3f}"),
    ("onset_f1", "onset F1", "{:.3f}"), ("onset_offset_ms", "offset ms", "{:.1f}"),
    ("av_align", "AV-Align", "{:.3f}"), ("mel_distance", "mel dist", "{:.3f}"),
    ("stft_distance", "MR-STFT", "{:.3f}"), ("fad_logmel", "FD logmel", "{:.2f}"),
    ("level_diff_median_db", "level err dB", "{:+.1f}"), ("level_abs_diff_median_db", "abs level err dB", "{:.1f}"),
    ("envelope_corr", "env corr", "{:.2f}"), ("envelope_corr_continuous", "env corr cont.", "{:.2f}"),
    ("silence_dbfs", "in silence dBFS", "{:.1f}"))
CODEC_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("codec_si_sdr", "SI-SDR dB", "{:.2f}"), ("codec_mel_distance", "mel dist", "{:.3f}"),
    ("codec_stft_distance", "MR-STFT", "{:.3f}"), ("codec_silence_dbfs", "in silence dBFS", "{:.1f}"),
    ("codec_onset_f1", "onset F1", "{:.3f}"), ("codec_onset_f1_ratio", "onset F1 / true audio's", "{:.3f}"))
KIND_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("clips", "clips", "{}"), ("onset_precision", "P", "{:.3f}"), ("onset_recall", "R", "{:.3f}"),
    ("onset_f1", "F1", "{:.3f}"), ("onset_offset_ms", "offset ms", "{:.1f}"),
    ("truth_level_mean_db", "truth level dB", "{:.1f}"), ("take_level_mean_db", "take level dB", "{:.1f}"),
    ("level_diff_median_db", "level err dB", "{:+.1f}"), ("level_abs_diff_median_db", "abs level err dB", "{:.1f}"),
    ("envelope_corr", "env corr", "{:.2f}"))

NOTES = """\
- Onsets: spectral-flux detector over a per-band noise floor, matched one-to-one (closest first)
  within +/- one video frame; true onsets closer than 50 ms are merged. P/R/F1 pool the counts of
  all clips; offset is the mean |detected - true| of matched pairs. `true_audio` is the detector's
  ceiling.
- AV-Align: audio onsets with a motion peak strictly within one frame, over |audio peaks| +
  |video peaks| - matched; motion is frame-difference energy, and its peaks are local maxima more
  than 3 median absolute deviations above its median (sensor noise would otherwise put a peak
  every few frames); clips with no peak on either side are left out.
- mel dist: mean |log10 mel power difference| (80 bands, floor 1e-7); MR-STFT: spectral convergence + log
  magnitude distance over 3 resolutions; both against the true audio, 0 is identical.
- FD logmel: Frechet distance of per-clip log-mel mean+std embeddings to those of the true audio;
  a weak embedding (spectral envelope and level only), comparable only within this project.
- level err: take minus true audio in dB, BS.1770 integrated loudness (LUFS) when both have one,
  else RMS dBFS of the whole clip for both (clips under 400 ms, or under the -70 LUFS gate); the
  median over clips, signed (negative: too quiet) and absolute. Clips without events are left out.
  Per kind: mean levels of the true audio and the takes of the clips with that kind, to compare
  the relative levels of kinds.
- env corr: Pearson correlation of the take's and the truth's envelopes (RMS over 23 ms frames,
  power averaged over 80 ms, in dB floored at -80 dBFS), mean over clips; "cont." over clips with
  a continuous kind ({continuous}), whose sound is a stream rather than separate hits.
- in silence: the take's RMS where the truth is under -60 dBFS (50 ms frames), the hiss it plays
  between events (FoleyWorld's room noise is -63 to -75 dBFS), mean over clips.
- Codec: the true audio encoded and decoded by the model's codec, against the true audio;
  "in silence" is the round trip's RMS where the truth is under -60 dBFS (50 ms frames), its
  added hiss; onset F1 pools the counts like the systems', and is also given over the true
  audio's (the detector's ceiling).
- Baselines: silence; the true audio 200 ms late; decaying noise bursts at the true onsets."""


def _fmt(value: Any, fmt: str) -> str:
    return "n/a" if value is None else fmt.format(value)


def _row(name: str, metrics: dict[str, Any]) -> str:
    return "| " + " | ".join([name] + [_fmt(metrics.get(k), f) for k, _, f in COLUMNS]) + " |"


def model_card_section(results: dict[str, Any], commands: Sequence[str] = ()) -> str:
    """The markdown section (with its begin/end markers)."""
    cfg, model, met = results["config"], results["model"], results["metrics"]
    look = f", {cfg['look']} look" if cfg.get("look", "classic") != "classic" else ""
    lines = [BEGIN, f"## Evaluation on FoleyWorld ({cfg['split']} split{look}, {cfg['n']} clips)", "",
             f"Model `{model['name']}` (weights sha256 `{str(model['sha256'])[:16]}`), codec "
             f"`{model['codec']}`, features `{model['extractor']}`; {cfg['steps']} steps, guidance "
             f"{cfg['guidance']}, temperature {cfg.get('temperature', 1.0)}, seed {cfg['seed']}, "
             "one take per clip"
             f"{_beam_note(cfg.get('beam', 1))}, device {cfg['device']}.", "",
             "| system | " + " | ".join(h for _, h, _ in COLUMNS) + " |",
             "|---" * (len(COLUMNS) + 1) + "|", _row("**model**", met)]
    lines += [_row(name, b["metrics"]) for name, b in results.get("baselines", {}).items()]
    lines += _level_note(model.get("level"), met)
    lines += ["", "Codec round trip of the true audio:", "",
              "| " + " | ".join(h for _, h, _ in CODEC_COLUMNS) + " |", "|---" * len(CODEC_COLUMNS) + "|",
              "| " + " | ".join(_fmt(met.get(k), f) for k, _, f in CODEC_COLUMNS) + " |", "",
              f"Synchrony scorer ({model.get('scorer') or 'none'}) offset estimate: mean |offset| "
              f"{_fmt(met.get('sync_scorer_offset'), '{:.1f}')} ms (indicative only).", "",
              "Per event kind (model; onset recall is exact per kind, a clip's false detections "
              "count against every kind in it; levels and envelopes are those of the clips with the kind):", "",
              "| kind | type | " + " | ".join(h for _, h, _ in KIND_COLUMNS) + " |",
              "|---" * (len(KIND_COLUMNS) + 2) + "|"]
    for kind, k in results.get("per_kind", {}).items():
        kind_type = "continuous" if k.get("continuous") else ("-" if kind == "silent" else "impulsive")
        lines.append(f"| {kind} | {kind_type} | " + " | ".join(_fmt(k.get(c), f) for c, _, f in KIND_COLUMNS) + " |")
    lines += ["", NOTES.format(continuous=", ".join(sorted(CONTINUOUS_KINDS)))]
    if commands:
        lines += ["", "Commands:", "", "```sh", *commands, "```"]
    lines.append(END)
    return "\n".join(lines) + "\n"


def write_model_card(results: dict[str, Any], path: str | os.PathLike,
                     commands: Sequence[str] = ()) -> Path:
    """Write the evaluation section to ``path``: a new file, or into an existing card (replacing
    an earlier evaluation section, else appended). Written atomically."""
    p = Path(path)
    section = model_card_section(results, commands)
    text = p.read_text() if p.exists() else ""
    if BEGIN in text and END in text and text.index(BEGIN) < text.index(END):
        head, rest = text.split(BEGIN, 1)
        text = head + section.rstrip("\n") + rest.split(END, 1)[1]
    elif text:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        text = section
    tmp = p.with_name(f".{p.name}.partial")
    tmp.write_text(text)
    os.replace(tmp, p)
    return p


def _level_note(level: dict[str, Any] | None, met: dict[str, Any]) -> list[str]:
    """How the model's level was set, and the level error without that step."""
    if not level:
        return []
    raw, signed = met.get("level_abs_diff_median_uncalibrated_db"), met.get("level_diff_median_uncalibrated_db")
    how = (f"where the codec's round trip of {level['clips']} clips of the {level['source']} peaks "
           f"({level['codec_peak_dbfs']:.2f} dBFS), raised by the loudness that round trip loses "
           f"({level['codec_loss_db']:.2f} dB)" if level.get("codec_peak_dbfs") is not None
           else f"measured on {level['clips']} clips of the {level['source']}")
    if level.get("takes_db") is not None:
        how += (f", and moved by {level['takes_db']:+.2f} dB, the median loudness the model's own takes "
                f"missed on {level.get('takes_clips')} training clips (train level --takes)")
    return ["", f"Level: each take is brought to a sample peak of {level['peak_dbfs']:.2f} dBFS, {how}; "
                f"takes more than {level['max_boost_db']:g} dB under it are left as they are "
                "(core/model/level_calibration.py). The same takes without that step: level error "
                f"{_fmt(signed, '{:+.1f}')} dB, absolute {_fmt(raw, '{:.1f}')} dB."]


def _beam_note(beam: int) -> str:
    return f" (the best of {beam} by the synchrony scorer)" if beam > 1 else ""
