"""Configuration a workflow needs, read where I/O is allowed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from temporalio import activity

from nurture.config.files import load_project_config, load_scoring_model
from nurture.config.watched import Watched
from nurture.domain.scoring import ScoringModel
from nurture.domain.sequences.models import SendingPolicy
from nurture.domain.sequences.rules import EnrolmentRule

__all__ = ["ConfigActivities"]


class ConfigActivities:
    """Serves the scoring model and the project configuration's sending policy and enrolment
    rules, each file re-read when it changes, so edits apply to each lead's next run without
    a worker restart. Both files are loaded when this is made: a broken one is refused here
    (a :class:`ConfigError` naming file and line), and later breakage keeps the last good
    version."""

    def __init__(self, scoring_file: Path, project_file: Path) -> None:
        self._scoring = Watched(lambda: load_scoring_model(scoring_file), scoring_file)
        self._project = Watched(lambda: load_project_config(project_file), project_file)
        self._scoring.prime()
        self._project.prime()

    def activities(self) -> list[Callable[..., Awaitable[Any]]]:
        """Every activity of this class, for ``Worker(activities=...)``."""
        return [self.load_scoring_model, self.load_sending_policy, self.load_enrolment_rules]

    @activity.defn(name="load_scoring_model")
    async def load_scoring_model(self) -> ScoringModel:
        """The current scoring model (the last good one while the file is broken)."""
        return self._scoring.current()

    @activity.defn(name="load_sending_policy")
    async def load_sending_policy(self) -> SendingPolicy:
        """The send window and frequency cap from the project configuration."""
        return self._project.current().sending

    @activity.defn(name="load_enrolment_rules")
    async def load_enrolment_rules(self) -> list[EnrolmentRule]:
        """The enrolment rules from the project configuration."""
        return list(self._project.current().enrolment)
