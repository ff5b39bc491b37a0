"""The load meter (rnnkit.kernels.cpu_load) on a fake /proc/stat with hand-set clocks."""
from __future__ import annotations

import pytest

from rnnkit.kernels import cpu_load

STAT = """cpu  {a} 0 {b} 9000 5 0 0 0 0 0
cpu0 {a} 0 {b} 4000 5 0 0 0 0 0
cpu1 0 0 0 5000 0 0 0 {s} 0 0
cpu7 500 0 0 0 0 0 0 0 0 0
intr 12345
"""


def test_others_is_our_cores_busy_time_minus_our_own_cpu_time(tmp_path, monkeypatch):
    stat = tmp_path / "stat"
    clock = {"wall": 10.0, "own": 1.0}
    monkeypatch.setattr(cpu_load.time, "monotonic", lambda: clock["wall"])
    monkeypatch.setattr(cpu_load.time, "process_time", lambda: clock["own"])
    monkeypatch.setattr(cpu_load.os, "sched_getaffinity", lambda pid: {0, 1})
    stat.write_text(STAT.format(a=100, b=50, s=0))
    meter = cpu_load.LoadMeter(str(stat))
    meter.hz = 100.0  # ticks of 10 ms
    assert meter.works
    meter._last = meter._sample()  # again, at hz = 100: busy = (100 + 50 + 0) / 100 = 1.5 s
    # 0.5 s later: cpu0 +60 user +20 system ticks, cpu1 +40 steal ticks (busy +1.2 s);
    # cpu7 is outside our affinity set and its ticks don't count. We used 0.3 s of CPU.
    clock.update(wall=10.5, own=1.3)
    stat.write_text(STAT.format(a=160, b=70, s=40).replace("cpu7 500", "cpu7 900"))
    # others = (1.2 - 0.3) / 0.5 = 1.8 cores
    assert meter.others() == pytest.approx(1.8)
    clock.update(wall=11.0, own=2.3)  # nothing else ran: we alone used 1.0 s, clamped at 0
    assert meter.others() == 0.0
    assert meter.others() is None  # no time has passed


def test_no_proc_stat_reads_nothing(tmp_path):
    meter = cpu_load.LoadMeter(str(tmp_path / "missing"))
    assert not meter.works and meter.others() is None
    assert cpu_load.available_cores() >= 1
