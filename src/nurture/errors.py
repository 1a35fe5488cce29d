"""Typed errors of the domain: each says what went wrong and what to do about it."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["ConfigError", "ConfigProblem", "IllegalTransition", "NurtureError", "shown_path"]


class NurtureError(Exception):
    """Base class of every error nurture raises on purpose."""


class IllegalTransition(NurtureError):
    """A lifecycle move the transition table does not allow."""

    def __init__(self, current: str, target: str, allowed: frozenset[str]) -> None:
        self.current = current
        self.target = target
        choices = ", ".join(sorted(allowed)) or "nothing"
        super().__init__(
            f"cannot move a lead from stage '{current}' to '{target}'; "
            f"from '{current}' it can move to: {choices}"
        )


class ConfigProblem(BaseModel):
    """One thing wrong (an error) or worth a second look (a warning) in a configuration file,
    said so a person can find it: ``config/scoring.toml:57: behaviour.2.points: <rule>``."""

    model_config = ConfigDict(frozen=True)

    file: Path
    message: str
    """The rule that was broken, in words."""
    line: int | None = None
    """1-based; None when no line is to blame (a missing file, a whole-document rule)."""
    field: str | None = None
    """The dotted path of the value inside the file (``behaviour.2.points``)."""
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = shown_path(self.file) + (f":{self.line}" if self.line is not None else "")
        kind = "warning" if self.severity == "warning" else None
        return ": ".join(part for part in (where, kind, self.field, self.message) if part)


def shown_path(path: Path) -> str:
    """``path`` as a person in this working directory would type it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except (ValueError, OSError):
        return str(path)


class ConfigError(NurtureError):
    """A configuration file is missing or invalid; the message names the file, the line and
    the field, one problem per line, and ``problems`` holds them for a program to read."""

    def __init__(self, message: str, problems: Iterable[ConfigProblem] = ()) -> None:
        super().__init__(message)
        self.problems = tuple(problems)

    @classmethod
    def of(cls, problems: Iterable[ConfigProblem]) -> ConfigError:
        """The error of these problems, one per line."""
        problems = tuple(problems)
        return cls("\n".join(str(p) for p in problems), problems)
