"""Configuration a workflow needs, read where I/O is allowed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

from temporalio import activity
from temporalio.exceptions import ApplicationError

from nurture.config import load_project_config
from nurture.enrolment import EnrolmentRule
from nurture.errors import ConfigError
from nurture.scoring import ScoringModel, load_scoring_model
from nurture.sequencing import SendingPolicy

__all__ = ["ConfigActivities", "WatchedFile"]

T = TypeVar("T")


class WatchedFile(Generic[T]):
    """A configuration file parsed once and again whenever it changes (by mtime), so edits
    apply without a worker restart. A broken or missing file raises a ``ConfigError``
    ApplicationError, which Temporal retries until the file is fixed."""

    def __init__(self, path: Path, load: Callable[[Path], T]) -> None:
        self._path = path
        self._load = load
        self._cached: tuple[float, T] | None = None

    def current(self) -> T:
        """The parsed file as it is now."""
        try:
            mtime = self._path.stat().st_mtime
            if self._cached is None or self._cached[0] != mtime:
                self._cached = (mtime, self._load(self._path))
        except (ConfigError, OSError) as exc:
            raise ApplicationError(str(exc), type="ConfigError") from exc
        return self._cached[1]


class ConfigActivities:
    """Serves the scoring model, re-read whenever the file changes, so edits apply to each
    lead's next run without a worker restart."""

    def __init__(self, scoring_file: Path, project_file: Path) -> None:
        self._scoring = WatchedFile(scoring_file, load_scoring_model)
        self._project_file = project_file

    def activities(self) -> list[Callable[..., Awaitable[Any]]]:
        """Every activity of this class, for ``Worker(activities=...)``."""
        return [self.load_scoring_model, self.load_sending_policy, self.load_enrolment_rules]

    @activity.defn(name="load_scoring_model")
    async def load_scoring_model(self) -> ScoringModel:
        """The current scoring model; a broken file is reported, and retried until fixed."""
        return self._scoring.current()

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
