"""What a process costs while a benchmark watches it: resident memory and CPU, read from
Linux's ``/proc/<pid>/stat`` and ``/proc/<pid>/status``.

CPU is the process's user plus system time (every thread of it) over wall time, so 100%
is one core busy; the resident set is ``VmRSS``, and ``VmHWM`` its high-water mark since
the process started.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "ProcessMeter",
    "ProcessUsage",
    "Reading",
    "cpu_percent",
    "cpu_seconds",
    "cpu_ticks",
    "read",
    "status_kib",
    "summarise",
]

_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def cpu_ticks(stat: str) -> int:
    """User plus system time, in clock ticks, from the text of ``/proc/<pid>/stat``.

    The second field is the command name in parentheses, which may itself hold spaces and
    parentheses: the fields are counted from the last ``)``."""
    fields = stat[stat.rindex(")") + 2 :].split()
    # After the name: state is field 3 of proc(5), utime 14 and stime 15.
    return int(fields[11]) + int(fields[12])


def status_kib(status: str) -> dict[str, int]:
    """The ``kB`` figures of ``/proc/<pid>/status`` (``VmRSS``, ``VmHWM``...), in KiB."""
    figures: dict[str, int] = {}
    for line in status.splitlines():
        name, _, value = line.partition(":")
        parts = value.split()
        if len(parts) == 2 and parts[1] == "kB":
            figures[name] = int(parts[0])
    return figures


@dataclass(frozen=True)
class Reading:
    """One look at a process: when, its CPU ticks so far, its resident set and peak."""

    at: float
    ticks: int
    rss_kib: int
    hwm_kib: int


def read(pid: int) -> Reading:
    """Read a live process; raises ``OSError`` (``ProcessLookupError``...) once it is gone."""
    folder = Path(f"/proc/{pid}")
    stat = (folder / "stat").read_text()
    status = status_kib((folder / "status").read_text())
    return Reading(time.monotonic(), cpu_ticks(stat), status["VmRSS"], status["VmHWM"])


def cpu_percent(first: Reading, last: Reading) -> float:
    """CPU used between two readings, 100 being one core for the whole time."""
    seconds = last.at - first.at
    if seconds <= 0:
        return 0.0
    return 100.0 * (last.ticks - first.ticks) / _TICKS_PER_SECOND / seconds


def cpu_seconds(first: Reading, last: Reading) -> float:
    """CPU time used between two readings."""
    return (last.ticks - first.ticks) / _TICKS_PER_SECOND


@dataclass
class ProcessUsage:
    """What one process did over a watch: mean and highest per-sample CPU, resident set."""

    cpu_mean: float
    cpu_max: float
    cpu_seconds: float
    rss_mib: float
    rss_max_mib: float
    peak_mib: float


@dataclass
class ProcessMeter:
    """Samples named processes together, once a second by default."""

    pids: Mapping[str, int]
    interval: float = 1.0
    samples: dict[str, list[Reading]] = field(default_factory=dict)

    def sample(self) -> dict[str, Reading]:
        """One reading of every process still alive, kept for :meth:`usage`."""
        now: dict[str, Reading] = {}
        for name, pid in self.pids.items():
            try:
                now[name] = read(pid)
            except (OSError, KeyError, ValueError, IndexError):
                continue
            self.samples.setdefault(name, []).append(now[name])
        return now

    async def watch(self, seconds: float) -> dict[str, ProcessUsage]:
        """Sample for ``seconds``, then summarise each process."""
        self.samples = {}
        deadline = time.monotonic() + seconds
        self.sample()
        while time.monotonic() < deadline:
            await asyncio.sleep(min(self.interval, max(0.0, deadline - time.monotonic())))
            self.sample()
        return self.usage()

    def usage(self) -> dict[str, ProcessUsage]:
        """Each process sampled at least twice since the last :meth:`watch`."""
        return {
            name: summarise(readings)
            for name, readings in self.samples.items()
            if len(readings) >= 2
        }


def summarise(readings: list[Reading]) -> ProcessUsage:
    """Mean CPU over the whole watch, highest CPU between two samples, the last and the
    highest resident set seen, and the process's own high-water mark."""
    steps = [cpu_percent(a, b) for a, b in itertools.pairwise(readings)]
    return ProcessUsage(
        cpu_mean=cpu_percent(readings[0], readings[-1]),
        cpu_max=max(steps),
        cpu_seconds=cpu_seconds(readings[0], readings[-1]),
        rss_mib=readings[-1].rss_kib / 1024,
        rss_max_mib=max(r.rss_kib for r in readings) / 1024,
        peak_mib=readings[-1].hwm_kib / 1024,
    )
