"""Typed errors of the domain: each says what went wrong and what to do about it."""

from __future__ import annotations

__all__ = ["ConfigError", "IllegalTransition", "NurtureError"]


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


class ConfigError(NurtureError):
    """A configuration file is missing or invalid; the message names the file and the field."""
