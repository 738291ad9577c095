"""Timecode at rates SMPTE does not define (10, 12, 15, 120 fps; a phone's 26.78): labelled with
the rate's whole frames a second, non-drop, as editors show such footage, and read back to the same
frame; at SMPTE rates the labels stay OTIO's."""
from __future__ import annotations

from fractions import Fraction

import opentimelineio as otio
import pytest

from maskvat_foley.core.timeline import rates

ODD = [Fraction(10), Fraction(12), Fraction(15), Fraction(120), Fraction(15000, 1001), Fraction(26777, 1000)]


@pytest.mark.parametrize("rate", ODD)
def test_timecode_at_a_non_smpte_rate_counts_its_whole_frames_and_reads_back(rate):
    with pytest.raises(ValueError):  # what OTIO does with these rates, and why this module labels them itself
        otio.opentime.to_timecode(otio.opentime.RationalTime(1, float(rate)), float(rate))
    fps = rates.nominal_fps(rate)
    assert fps == -(-rate.numerator // rate.denominator)
    one_hour_and_a_frame = 3600 * fps + 1
    assert rates.to_timecode(one_hour_and_a_frame, rate) == "01:00:00:01"
    assert rates.to_timecode(fps - 1, rate) == f"00:00:00:{fps - 1:02d}"
    for frame in (0, 1, fps, 59 * fps + 7, 3600 * fps * 23 + 61 * fps + 3):
        assert rates.from_timecode(rates.to_timecode(frame, rate), rate) == frame
    day = rates.frames_per_day(rate)
    assert day == fps * 86400 and rates.to_timecode(day + 5, rate) == rates.to_timecode(5, rate)  # wraps, as OTIO's
    with pytest.raises(ValueError, match="frames count 0 to"):
        rates.from_timecode(f"00:00:01:{fps:02d}", rate)
    with pytest.raises(ValueError, match="HH:MM:SS:FF"):
        rates.from_timecode("00:00:01;00", rate)
    with pytest.raises(ValueError, match="negative"):
        rates.to_timecode(-1, rate)


@pytest.mark.parametrize("rate", sorted(rates.SMPTE_RATES))
def test_timecode_at_smpte_rates_is_otios(rate):
    frame = 3600 * rates.nominal_fps(rate) + 37
    df = rates.is_drop_frame_rate(rate)
    assert rates.to_timecode(frame, rate) == otio.opentime.to_timecode(
        otio.opentime.RationalTime(frame, float(rate)), float(rate), df)
    assert rates.from_timecode(rates.to_timecode(frame, rate), rate) == frame
