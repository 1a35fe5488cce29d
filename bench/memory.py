"""The peak memory a piece of a benchmark adds to its process.

By default Python's own allocations (tracemalloc): exact, but the code measured runs a few
times slower, so time it in another run. Or the resident set: Linux resets its high-water
mark when ``5`` is written to ``/proc/self/clear_refs``, so the peak of one block is
``VmHWM`` after it minus ``VmRSS`` before it, at no cost; coarser, since memory the
process freed earlier is reused without growing the set.
"""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path
from types import TracebackType

__all__ = ["PeakMemory"]

_STATUS = Path("/proc/self/status")
_CLEAR = Path("/proc/self/clear_refs")


def _status_kib(field: str) -> int:
    for line in _STATUS.read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise LookupError(field)


class PeakMemory:
    """A reusable ``with`` block: ``peak`` is the bytes its last use added at most."""

    def __init__(self, rss: bool = False) -> None:
        self.tracing = not (rss and _resettable())
        self.peak = 0
        self._base = 0

    def __enter__(self) -> PeakMemory:
        gc.collect()
        if self.tracing:
            tracemalloc.start()
            tracemalloc.reset_peak()
            self._base = tracemalloc.get_traced_memory()[0]
        else:
            _CLEAR.write_text("5")
            self._base = _status_kib("VmRSS") * 1024
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.tracing:
            self.peak = tracemalloc.get_traced_memory()[1] - self._base
            tracemalloc.stop()
        else:
            self.peak = _status_kib("VmHWM") * 1024 - self._base

    @property
    def method(self) -> str:
        return "Python allocations (tracemalloc)" if self.tracing else "resident set"


def _resettable() -> bool:
    try:
        _CLEAR.write_text("5")
        _status_kib("VmHWM")
    except (OSError, LookupError):
        return False
    return True
