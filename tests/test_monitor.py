"""The job's memory monitor: its peak covers the processes it started."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil

from bigimg.monitor import PeakMemory

CHILD = (
    "import time; data = bytearray(200 * 2**20); "
    "data[::4096] = b'x' * len(data[::4096]); time.sleep(2)"
)


def test_peak_counts_a_child_started_after_the_monitor():
    own = psutil.Process().memory_info().rss
    with PeakMemory(rescan=0.1) as mem:
        child = subprocess.Popen([sys.executable, "-c", CHILD])
        try:
            time.sleep(1.5)
        finally:
            child.wait()
    assert mem.peak >= own + 150 * 2**20


def test_descendants_are_looked_up_once_a_rescan(monkeypatch):
    calls = []
    real = psutil.Process.children

    def children(self, *args, **kwargs):
        calls.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(psutil.Process, "children", children)
    mem = PeakMemory(rescan=3600)
    for _ in range(50):
        mem.sample()
    assert len(calls) == 1
    assert mem.peak > 0
