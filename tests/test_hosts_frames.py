"""Host frames <-> record frames at 23.976, 25 and 29.97 DF with non-zero start timecodes."""
from __future__ import annotations

import math
from fractions import Fraction

import pytest

from maskvat_foley.core.timeline import rates
from maskvat_foley.plugin.hosts.frames import (blender_clock, blender_rate, hiero_clock, resolve_clock,
                                               whole_frame)

R23, R25, DF = Fraction(24000, 1001), Fraction(25), Fraction(30000, 1001)


@pytest.mark.parametrize("clock,host,record,tc", [
    # Resolve: absolute frames; GetStartFrame() is the frame of the start timecode.
    (resolve_clock(86400, "01:00:00:00", "23.976", "0"), 86400 + 24, 86424, "01:00:01:00"),
    (resolve_clock(90000, "01:00:00:00", "25", "0"), 90000 + 1500, 91500, "01:01:00:00"),
    (resolve_clock(107892, "01:00:00;00", "29.97", "1"), 107892 + 1800, 109692, "01:01:00;02"),
    # A DF timeline whose host writes ':' but says drop frame in its settings.
    (resolve_clock(107772, "00:59:56:00", 29.97, "1"), 107772 + 119, 107891, "00:59:59;29"),
    # Hiero: timelineIn counts from the sequence start; timecodeStart() is its record frame.
    (hiero_clock(86400, 23.976023976023978), 0, 86400, "01:00:00:00"),
    (hiero_clock(rates.from_timecode("10:00:00:00", R25), 25.0), 250, 900250, "10:00:10:00"),
    (hiero_clock(rates.from_timecode("00:59:58;00", DF), 29.97002997, True), 60, 107892, "01:00:00;00"),
    # Blender: scene frames from frame_start, fps / fps_base, start timecode from the add-on.
    (blender_clock(24, 1.0010000467300415, 1, "01:00:00:00"), 1, 86400, "01:00:00:00"),
    (blender_clock(25, 1.0, 101, "23:59:59:24"), 102, 2160000, "00:00:00:00"),
    (blender_clock(30, 1.0010000467300415, 1, "00:59:58;00"), 1 + 60 + 1800, 107892 + 1800, "01:01:00;02"),
])
def test_host_to_record_and_back(clock, host, record, tc):
    assert clock.to_record(host) == record
    assert clock.to_host(record) == host
    assert clock.timecode(host) == tc
    for h in range(host - 3, host + 40, 7):  # round trip, crossing the dropped frame numbers too
        assert clock.to_host(clock.to_record(h)) == h
        back = rates.from_timecode(clock.timecode(h), clock.rate)
        day = rates.from_timecode("23:59:59;29" if clock.drop_frame else f"23:59:59:{math.ceil(clock.rate) - 1:02d}",
                                  clock.rate) + 1
        assert back == clock.to_record(h) % day  # timecode wraps at midnight, record frames do not


def test_exact_rates_and_samples():
    assert blender_rate(24, 1.0010000467300415) == R23
    assert blender_rate(30, 1.001) == DF and blender_rate(25, 1.0) == R25
    clock = resolve_clock(86400.0, "01:00:00:00", "23.976")  # Resolve hands back floats sometimes
    # 01:00:00:00 at 23.976 is sample 172,972,800 at 48 kHz, not 3600 * 48000.
    assert rates.frame_to_sample(clock.to_record(86400), clock.rate, 48000) == 172_972_800


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="not a whole frame"):
        whole_frame(10.5, "host frame")
    with pytest.raises(ValueError, match="drop frame exists only at 29.97"):
        resolve_clock(86400, "01:00:00;00", "23.976")
    with pytest.raises(ValueError, match="drop frame at 25"):
        hiero_clock(0, 25.0, True)
    with pytest.raises(ValueError, match="not positive"):
        blender_rate(0, 1.0)
    with pytest.raises(ValueError, match="not a valid timecode"):
        blender_clock(25, 1.0, 1, "1 hour")
