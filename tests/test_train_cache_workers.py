"""The token cache's clips rendered by several processes are the clips rendered in one."""
from __future__ import annotations

import numpy as np

from maskvat_foley.core.train.cache import WORKERS_ENV, render_workers, rendered
from maskvat_foley.core.train.sources import FoleyWorldSource


def test_clips_rendered_by_processes_are_the_same_and_in_order():
    source = FoleyWorldSource(n=3, size=(32, 32), seconds=1)
    serial = list(rendered(source, [2, 0, 1]))
    parallel = list(rendered(source, [2, 0, 1], workers=2))
    assert [c.key for c in parallel] == [c.key for c in serial] == [source.get(i, video=False).key for i in (2, 0, 1)]
    for a, b in zip(serial, parallel):
        assert np.array_equal(a.audio, b.audio) and np.array_equal(a.frames, b.frames)
        assert a.frame_times == b.frame_times


def test_render_workers_follow_the_variable(monkeypatch):
    monkeypatch.setenv(WORKERS_ENV, "3")
    assert render_workers() == 3
    monkeypatch.setenv(WORKERS_ENV, "0")
    assert render_workers() == 0
    monkeypatch.delenv(WORKERS_ENV)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert render_workers() == 0  # a small machine renders in the training process, as before
    monkeypatch.setattr("os.cpu_count", lambda: 16)
    assert render_workers() == 8
