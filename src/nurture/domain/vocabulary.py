"""The event types nurture knows: one declared vocabulary, built from the configuration.

An event type means something only where a setting names it: a scoring rule counts it,
a form scores as it, tracking produces it, sales takes it as a hand-raise, or
``config/nurture.toml`` declares it in ``events`` (a sequence's goal, say). Anything
else is a typo or an integration nobody configured: ``POST /v1/events`` refuses it with
the nearest known types, rather than accepting an event that can never count. The
vocabulary is built from the configuration files by :mod:`nurture.config.files`.
"""

from __future__ import annotations

import difflib

from pydantic import BaseModel, ConfigDict

__all__ = ["EventVocabulary"]

NEAR_MATCHES = 3
"""How many near matches a refusal suggests."""
_WHERE = (
    "A new type is declared in config/nurture.toml `events` (or named by a scoring rule, a "
    "form's `event` or sales' `hand_raise_events`)."
)


class EventVocabulary(BaseModel):
    """Every event type the configuration declares."""

    model_config = ConfigDict(frozen=True)

    types: frozenset[str]

    def __contains__(self, event_type: object) -> bool:
        return event_type in self.types

    def near(self, event_type: str) -> list[str]:
        """The declared types closest to ``event_type`` (a typo's likely meaning), best first."""
        return difflib.get_close_matches(event_type, sorted(self.types), n=NEAR_MATCHES)

    def why_unknown(self, event_type: str) -> str | None:
        """Why ``event_type`` is refused, naming the near matches; ``None`` if it is known."""
        if event_type in self.types:
            return None
        near = [repr(n) for n in self.near(event_type)]
        if near:
            either = f"{', '.join(near[:-1])} or {near[-1]}" if len(near) > 1 else near[0]
            hint = f"did you mean {either}?"
        else:
            hint = "no declared type is close."
        return f"unknown event type {event_type!r}; {hint} {_WHERE}"
