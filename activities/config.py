"""Configuration a workflow needs, read where I/O is allowed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from nurture.config import load_project_config
from nurture.enrolment import EnrolmentRule
from nurture.errors import ConfigError
from nurture.scoring import ScoringModel, load_scoring_model
from nurture.sequencing import SendingPolicy

__all__ = ["ConfigActivities"]


class ConfigActivities:
    """Serves the scoring model, re-read whenever the file changes, so edits apply to each
    lead's next run without a worker restart."""

    def __init__(self, scoring_file: Path, project_file: Path) -> None:
        self._scoring_file = scoring_file
        self._project_file = project_file
        self._cached: tuple[float, ScoringModel] | None = None

    def activities(self) -> list[Callable[..., Awaitable[Any]]]:
        """Every activity of this class, for ``Worker(activities=...)``."""
        return [self.load_scoring_model, self.load_sending_policy, self.load_enrolment_rules]

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

    @activity.defn(name="load_sending_policy")
    async def load_sending_policy(self) -> SendingPolicy:
        """The send window and frequency cap from the project configuration."""
        try:
            return load_project_config(self._project_file).sending
        except (ConfigError, OSError) as exc:
            raise ApplicationError(str(exc), type="ConfigError") from exc

    @activity.defn(name="load_enrolment_rules")
    async def load_enrolment_rules(self) -> list[EnrolmentRule]:
        """The enrolment rules from the project configuration."""
        try:
            return list(load_project_config(self._project_file).enrolment)
        except (ConfigError, OSError) as exc:
            raise ApplicationError(str(exc), type="ConfigError") from exc
