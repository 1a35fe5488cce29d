"""The event types nurture knows: one declared vocabulary, built from the configuration.

An event type means something only where a setting names it: a scoring rule counts it,
a form scores as it, tracking produces it, sales takes it as a hand-raise, or
``config/nurture.toml`` declares it in ``events`` (a sequence's goal, say). Anything
else is a typo or an integration nobody configured: ``POST /v1/events`` refuses it with
the nearest known types, rather than accepting an event that can never count.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from nurture.adapters.links.tracking import TRACKING_EVENTS
from nurture.config.project import ProjectConfig, load_project_config
from nurture.domain.sales.routing import SalesTeam, load_sales_team
from nurture.domain.scoring import ScoringModel, load_scoring_model

__all__ = ["EventVocabulary", "event_vocabulary", "load_event_vocabulary"]

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

    def undeclared(self, event_types: set[str] | frozenset[str]) -> list[str]:
        """Those of ``event_types`` the vocabulary lacks, sorted."""
        return sorted(set(event_types) - self.types)


def event_vocabulary(
    project: ProjectConfig, model: ScoringModel, team: SalesTeam
) -> EventVocabulary:
    """The types the three configuration files declare, together."""
    types = {
        *(rule.event for rule in model.behaviour),
        *(form.event for form in project.forms.values()),
        *TRACKING_EVENTS,
        *team.hand_raise_events,
        *project.events,
    }
    return EventVocabulary(types=frozenset(types))


def load_event_vocabulary(
    project_file: Path, scoring_file: Path, sales_file: Path
) -> EventVocabulary:
    """Read the three files; a broken one raises :class:`ConfigError` naming it."""
    return event_vocabulary(
        load_project_config(project_file),
        load_scoring_model(scoring_file),
        load_sales_team(sales_file),
    )
