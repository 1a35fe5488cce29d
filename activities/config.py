"""Configuration a workflow needs, read where I/O is allowed."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

from temporalio import activity
from temporalio.exceptions import ApplicationError

from nurture.config import ProjectConfig, load_project_config
from nurture.enrolment import EnrolmentRule
from nurture.errors import ConfigError
from nurture.scoring import ScoringModel, load_scoring_model
from nurture.sequencing import SendingPolicy

__all__ = ["ConfigActivities", "WatchedFile"]

T = TypeVar("T")
log = logging.getLogger("nurture.config")

_Version = tuple[int, int, int]
"""What tells one version of a file from the next: inode, mtime in ns, size."""
_MISSING: _Version = (-1, -1, -1)


class WatchedFile(Generic[T]):
    """A configuration file parsed once and again whenever it changes, so edits apply without
    a worker restart.

    A file broken while the worker runs (or deleted) never stops a lead: the last good
    version keeps being served, the problem is logged at ERROR once per broken version, and
    the recovery is logged when the file is good again. Only a file that was never good
    raises a ``ConfigError`` ApplicationError, which Temporal retries until it is fixed;
    :meth:`prime` at start (the activities below do it) makes sure that cannot happen.
    """

    def __init__(self, path: Path, load: Callable[[Path], T]) -> None:
        self._path = path
        self._load = load
        self._good: tuple[_Version, T] | None = None
        self._broken: _Version | None = None
        """The version last found broken and already logged."""

    def prime(self) -> T:
        """Load the file now; a broken file raises :class:`ConfigError` naming file and line."""
        version = self._version()
        self._good = (version, self._load(self._path))
        return self._good[1]

    def current(self) -> T:
        """The file as it is now, or as it last was when good."""
        version = self._version()
        if self._good is not None and version in (self._good[0], self._broken):
            return self._good[1]  # unchanged, or a broken version already reported
        try:
            value = self._load(self._path)
        except (ConfigError, OSError) as exc:
            return self._keep_last_good(version, exc)
        if self._broken is not None:
            log.info("%s is valid again: leads now use it", self._path)
        self._good, self._broken = (version, value), None
        return value

    def _keep_last_good(self, version: _Version, exc: Exception) -> T:
        if self._good is None:
            raise ApplicationError(str(exc), type="ConfigError") from exc
        log.error(
            "%s\n%s is broken: leads keep its last good version until it is fixed",
            exc,
            self._path,
        )
        self._broken = version
        return self._good[1]

    def _version(self) -> _Version:
        try:
            stat = self._path.stat()
        except OSError:
            return _MISSING
        return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


class ConfigActivities:
    """Serves the scoring model and the project configuration's sending policy and enrolment
    rules, each file re-read when it changes, so edits apply to each lead's next run without
    a worker restart. Both files are loaded when this is made: a broken one is refused here
    (a :class:`ConfigError` naming file and line), and later breakage keeps the last good
    version."""

    def __init__(self, scoring_file: Path, project_file: Path) -> None:
        self._scoring = WatchedFile(scoring_file, load_scoring_model)
        self._project: WatchedFile[ProjectConfig] = WatchedFile(project_file, load_project_config)
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
