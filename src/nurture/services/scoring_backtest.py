"""``nurture scoring backtest``: the facts store read once, each lead scored by the current
model and a candidate (``nurture.domain.reports.backtest``).

The dashboard shows the same back-test against ``config/scoring.candidate.toml`` when the
project has one (``CANDIDATE_FILE``): marketing ops drop a candidate beside the model and
read its consequences before renaming it into place.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from nurture.adapters.factlog.base import FactStore
from nurture.config.files import load_scoring_model
from nurture.config.settings import Settings
from nurture.domain.reports.backtest import KINDS, BacktestReport, BacktestTally
from nurture.domain.scoring import ScoringModel
from nurture.services.reports import by_lead_stream

__all__ = ["CANDIDATE_FILE", "candidate_file", "load_models", "run_backtest"]

CANDIDATE_FILE = Path("config/scoring.candidate.toml")
"""Where the dashboard looks for a candidate model, under the project folder."""


def candidate_file(settings: Settings) -> Path | None:
    """The project's candidate scoring model, if it has one."""
    path = settings.path(CANDIDATE_FILE)
    return path if path.is_file() else None


async def run_backtest(
    store: FactStore,
    current: ScoringModel,
    candidate: ScoringModel,
    since: date | None = None,
    now: datetime | None = None,
    names: tuple[str, str] | None = None,
) -> BacktestReport:
    """Every lead in ``store`` (created since ``since``) scored by both models up to now."""
    tally = BacktestTally(current, candidate, now or datetime.now(UTC), since, names)
    async for lead in by_lead_stream(store.read(kinds=KINDS)):
        tally.add_lead(lead)
    return tally.result()


def load_models(settings: Settings, candidate: Path) -> tuple[ScoringModel, ScoringModel]:
    """The project's scoring model and the candidate file's (a ``ConfigError`` names the
    file, line and rule of a bad one)."""
    return load_scoring_model(settings.path(settings.scoring_file)), load_scoring_model(candidate)
