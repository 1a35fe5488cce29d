"""Configuration a workflow needs, read where I/O is allowed."""

from __future__ import annotations

from pathlib import Path

from temporalio import activity
from temporalio.exceptions import ApplicationError

from nurture.errors import ConfigError
from nurture.scoring import ScoringModel, load_scoring_model

__all__ = ["ConfigActivities"]


class ConfigActivities:
    """Serves the scoring model, re-read whenever the file changes, so edits apply to each
    lead's next run without a worker restart."""

    def __init__(self, scoring_file: Path) -> None:
        self._scoring_file = scoring_file
        self._cached: tuple[float, ScoringModel] | None = None

    @activity.defn(name="load_scoring_model")
    async def load_scoring_model(self) -> ScoringModel:
        """The current scoring model; a broken file is reported, and retried until fixed."""
        try:
            mtime = self._scoring_file.stat().st_mtime
            if self._cached is None or self._cached[0] != mtime:
                self._cached = (mtime, load_scoring_model(self._scoring_file))
        except (ConfigError, OSError) as exc:
            raise ApplicationError(str(exc), type="ConfigError") from exc
        return self._cached[1]
