"""Recent report results, kept in the API process so that a page showing them (the
dashboard) opens at once while the facts log has not moved.

Over a large log the reports take seconds; a person looking at the dashboard reloads it,
changes its language, comes back to it. Results are kept per question (the reports and
their queries) with the store's high-water mark when they were computed, and given again
while the mark is the same and they are younger than ``max_age``: what the mark may miss
(an erasure, a late fact, depending on the backend) is seen at the latest then. The page
says when its figures were computed.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from nurture.domain.reports import ReportQuery, ReportResult
from nurture.services.reports import run_reports

if TYPE_CHECKING:
    from nurture.adapters.factlog import FactStore

__all__ = ["Figures", "ReportCache"]


@dataclass(frozen=True)
class Figures:
    """Reports' results and when they were computed."""

    results: tuple[ReportResult, ...]
    computed_at: datetime


@dataclass(frozen=True)
class _Kept:
    mark: str
    figures: Figures


class ReportCache:
    """The results of the last ``size`` questions asked of one store (an app's), each
    with the store's mark."""

    def __init__(
        self,
        max_age: timedelta = timedelta(minutes=5),
        size: int = 32,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.max_age = max_age
        self.size = size
        self._clock = clock
        self._kept: OrderedDict[tuple[tuple[str, ReportQuery], ...], _Kept] = OrderedDict()
        # One computation at a time: a second request for the same figures waits for them
        # instead of computing them again beside the first (the work is the CPU's anyway).
        self._lock = asyncio.Lock()

    async def run(self, store: FactStore, asks: Sequence[tuple[str, ReportQuery]]) -> Figures:
        """The reports asked (as ``run_reports`` takes them), computed now or kept from a
        computation under the same high-water mark less than ``max_age`` ago."""
        key = tuple(asks)
        async with self._lock:
            mark = await store.high_water_mark()
            kept = self._kept.get(key)
            if kept is not None and kept.mark == mark and self._fresh(kept.figures):
                self._kept.move_to_end(key)
                return kept.figures
            now = self._clock()
            figures = Figures(tuple(await run_reports(store, asks)), now)
            self._kept[key] = _Kept(mark, figures)
            self._kept.move_to_end(key)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
            return figures

    def _fresh(self, figures: Figures) -> bool:
        return self._clock() - figures.computed_at < self.max_age
