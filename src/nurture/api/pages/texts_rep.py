"""The words of the sales rep's pages (a lead, its actions, "my leads" and the pool), per
language; keys are ``rep.<what>``."""

from __future__ import annotations

__all__ = ["REP"]

REP: dict[str, dict[str, str]] = {"en": {}, "fr": {}}
