"""``nurture scoring backtest``: the facts store read once, each lead scored by the current
model and a candidate (``nurture.domain.reports.backtest``).

The dashboard shows the same back-test against ``config/scoring.candidate.toml`` when the
project has one (``CANDIDATE_FILE``): marketing ops drop a candidate beside the model and
read its consequences before renaming it into place.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from nurture.adapters.factlog.base import FactStore
from nurture.config.files import load_project_config, load_scoring_model
from nurture.config.settings import Settings
from nurture.domain.fields import CustomField
from nurture.domain.reports.backtest import KINDS, BacktestReport, BacktestTally
from nurture.domain.scoring import ScoringModel
from nurture.services.reports import by_lead_stream

__all__ = ["CANDIDATE_FILE", "BacktestCache", "load_models", "project_fields", "run_backtest"]

CANDIDATE_FILE = Path("config/scoring.candidate.toml")
"""Where the dashboard looks for a candidate model, under the project folder."""


async def run_backtest(
    store: FactStore,
    current: ScoringModel,
    candidate: ScoringModel,
    since: date | None = None,
    now: datetime | None = None,
    names: tuple[str, str] | None = None,
    fields: Mapping[str, CustomField] | None = None,
) -> BacktestReport:
    """Every lead in ``store`` (created since ``since``) scored by both models up to now,
    its custom values typed by ``fields`` (the project's ``[fields]``)."""
    tally = BacktestTally(current, candidate, now or datetime.now(UTC), since, names, fields)
    async for lead in by_lead_stream(store.read(kinds=KINDS)):
        tally.add_lead(lead)
    return tally.result()


def load_models(settings: Settings, candidate: Path) -> tuple[ScoringModel, ScoringModel]:
    """The project's scoring model and the candidate file's (a ``ConfigError`` names the
    file, line and rule of a bad one)."""
    return load_scoring_model(settings.path(settings.scoring_file)), load_scoring_model(candidate)


def project_fields(settings: Settings) -> dict[str, CustomField]:
    """The project's custom fields (``[fields]`` of nurture.toml); a ``ConfigError`` names
    the line of a broken file."""
    return dict(load_project_config(settings.path(settings.config_file)).fields)


class BacktestCache:
    """The dashboard's back-test, kept while the facts store's high-water mark and both
    model files are unchanged and it is younger than ``max_age`` (as ``ReportCache``)."""

    def __init__(
        self,
        current: Path,
        candidate: Path,
        fields: Mapping[str, CustomField] | None = None,
        max_age: timedelta = timedelta(minutes=5),
    ):
        self.current = current
        self.candidate = candidate
        self.fields = fields or {}
        self.max_age = max_age
        self._kept: tuple[object, BacktestReport, datetime] | None = None
        self._lock = asyncio.Lock()

    def candidate_name(self) -> str | None:
        """The candidate's file name, if the project has one."""
        return self.candidate.name if self.candidate.is_file() else None

    async def run(self, store: FactStore, since: date | None) -> BacktestReport:
        """The back-test of leads created since ``since``; a ``ConfigError`` for a model
        that cannot be read."""
        async with self._lock:
            files = [self.current, self.candidate]
            stamps = tuple(p.stat().st_mtime_ns if p.is_file() else None for p in files)
            key = (since, await store.high_water_mark(), stamps)
            now = datetime.now(UTC)
            if self._kept and self._kept[0] == key and now - self._kept[2] < self.max_age:
                return self._kept[1]
            current = load_scoring_model(self.current)
            other, name = current, self.current.name  # no candidate: the model against itself
            if stamps[1] is not None:
                other, name = load_scoring_model(self.candidate), self.candidate.name
            names = (self.current.name, name)
            report = await run_backtest(store, current, other, since, now, names, self.fields)
            self._kept = (key, report, now)
            return report
