"""The search attributes that make leads filterable in the Temporal UI.

Within the SQL visibility budget (at most 10 Keyword, 3 Int, 3 Datetime: 8, 3 and 3 used);
no email address ever goes into one. Every server the project starts registers exactly
these.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from temporalio.common import SearchAttributeKey, SearchAttributeUpdate

from nurture.domain.lead.view import LeadView

__all__ = [
    "ACCEPT_BY",
    "ALL",
    "BUYING_STAGE",
    "GRADE",
    "LAST_ACTIVITY",
    "MAIL_STATUS",
    "NEXT_TOUCH",
    "OWNER",
    "OWNER_ATTRIBUTES",
    "SCORE",
    "SEQUENCE",
    "SEQUENCE_VERSION",
    "SOURCE",
    "STAGE",
    "TEMPERATURE",
    "for_view",
    "updates_between",
]

STAGE = SearchAttributeKey.for_keyword("NurtureStage")
GRADE = SearchAttributeKey.for_keyword("NurtureGrade")
SOURCE = SearchAttributeKey.for_keyword("NurtureSource")
TEMPERATURE = SearchAttributeKey.for_keyword("NurtureTemperature")
BUYING_STAGE = SearchAttributeKey.for_keyword("NurtureBuyingStage")
MAIL_STATUS = SearchAttributeKey.for_keyword("NurtureMailStatus")
SCORE = SearchAttributeKey.for_int("NurtureScore")
LAST_ACTIVITY = SearchAttributeKey.for_datetime("NurtureLastActivity")
NEXT_TOUCH = SearchAttributeKey.for_datetime("NurtureNextTouch")
OWNER = SearchAttributeKey.for_keyword("NurtureOwner")
"""On a lead: the rep id owning its open hand-off; unset in the pool or with none open."""
ACCEPT_BY = SearchAttributeKey.for_datetime("NurtureAcceptBy")
"""On a lead: when its open hand-off must be accepted; unset once accepted or ended."""
SEQUENCE = SearchAttributeKey.for_keyword("NurtureSequence")
"""On a lead: its active sequence. On a sequence workflow: which sequence it runs."""
SEQUENCE_VERSION = SearchAttributeKey.for_int("NurtureSequenceVersion")
"""On a sequence workflow: the version it runs (leads stay on the version they started)."""
DEAD_LETTERS = SearchAttributeKey.for_int("NurtureDeadLetters")
"""On a lead's webhook workflow: how many deliveries it gave up on and keeps for a replay
(``nurture webhooks list`` finds them without asking every open workflow)."""

ALL: tuple[SearchAttributeKey[Any], ...] = (
    STAGE,
    GRADE,
    SOURCE,
    TEMPERATURE,
    BUYING_STAGE,
    MAIL_STATUS,
    SCORE,
    LAST_ACTIVITY,
    NEXT_TOUCH,
    SEQUENCE,
    SEQUENCE_VERSION,
    OWNER,
    ACCEPT_BY,
    DEAD_LETTERS,
)

OWNER_ATTRIBUTES: frozenset[str] = frozenset({OWNER.name, ACCEPT_BY.name})
"""The attributes a lead's run publishes only if it began on code that has them (a run
that began earlier must upsert on replay exactly what it did)."""


def for_view(view: LeadView) -> dict[str, Any]:
    """The search attribute values a lead should have now, by name (``None`` = unset)."""
    return {
        STAGE.name: view.stage.value,
        GRADE.name: view.grade.value,
        SOURCE.name: view.source,
        TEMPERATURE.name: view.temperature.value,
        BUYING_STAGE.name: view.buying_stage,
        MAIL_STATUS.name: ",".join(sorted(view.conditions)) or "ok",
        SCORE.name: view.score,
        LAST_ACTIVITY.name: view.last_activity_at,
        NEXT_TOUCH.name: view.next_touch_at,
        SEQUENCE.name: view.sequence.sequence if view.sequence else None,
        OWNER.name: view.owner,
        ACCEPT_BY.name: view.accept_by,
    }


def updates_between(
    old: Mapping[str, Any], new: Mapping[str, Any]
) -> list[SearchAttributeUpdate[Any]]:
    """The upserts that turn ``old`` into ``new``: changed values set, vanished ones unset."""
    updates: list[SearchAttributeUpdate[Any]] = []
    for key in ALL:
        before, after = old.get(key.name), new.get(key.name)
        if before != after:
            updates.append(key.value_unset() if after is None else key.value_set(after))
    return updates
