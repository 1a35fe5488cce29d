"""Configuration a workflow needs, read where I/O is allowed."""

from __future__ import annotations

from pathlib import Path

from temporalio import activity
from temporalio.exceptions import ApplicationError

from nurture.errors import ConfigError
from nurture.scoring import ScoringModel, load_scoring_model


class ConfigActivities:
    """Reads the scoring model file at each call, so edits apply to each lead's next run."""

    def __init__(self, scoring_file: Path) -> None:
        self._scoring_file = scoring_file

    @activity.defn(name="load_scoring_model")
    async def load_scoring_model(self) -> ScoringModel:
        """The current scoring model; a broken file is reported, and retried until fixed."""
        try:
            return load_scoring_model(self._scoring_file)
        except ConfigError as exc:
            raise ApplicationError(str(exc), type="ConfigError") from exc
