"""What the sales side of a lead is made of: hand-offs, assignments, actions, the log.

Models only, so the lead's state can hold them; the rules are in ``nurture.handoff``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal, get_args

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

__all__ = [
    "RETURN_REASONS",
    "Assignment",
    "HandOff",
    "ReturnReason",
    "SalesAction",
    "SalesEntry",
    "WebhookMessage",
]

_FROZEN = ConfigDict(frozen=True)
ReturnReason = Literal["budget", "authority", "need", "timing", "no_response", "other"]
RETURN_REASONS: tuple[str, ...] = get_args(ReturnReason)
ActionName = Literal["accept", "return_to_nurture", "disqualify", "convert", "won", "lost"]
Actor = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]


class SalesEntry(BaseModel):
    """One line of the lead's sales history."""

    model_config = _FROZEN

    at: AwareDatetime
    kind: Literal[
        "handed_off",
        "assigned",
        "pooled",
        "reminded",
        "escalated",
        "accepted",
        "returned",
        "disqualified",
        "converted",
        "won",
        "lost",
    ]
    actor: str
    """Who did it: ``nurture`` for the system, else the rep or manager named in the action."""
    detail: str


class Assignment(BaseModel):
    """What the router decided for one hand-off (``rep_id`` None: the pool)."""

    model_config = _FROZEN

    rep_id: str | None
    rep_name: str | None = None
    rep_email: str | None = None
    manager_email: str | None = None
    reason: str


class HandOff(BaseModel):
    """One trip of the lead to sales."""

    model_config = _FROZEN

    number: int
    started_at: AwareDatetime
    trigger: str
    owner: str | None = None
    owner_name: str | None = None
    owner_email: str | None = None
    manager_email: str | None = None
    assigned_at: AwareDatetime | None = None
    remind_at: AwareDatetime | None = None
    accept_by: AwareDatetime | None = None
    reminded: bool = False
    reassignments: int = 0
    passed_over: tuple[str, ...] = ()
    """Reps who let the SLA lapse on this hand-off; the next assignment skips them."""
    accepted_at: AwareDatetime | None = None
    ended_at: AwareDatetime | None = None

    @property
    def routed(self) -> bool:
        """An owner was chosen or the lead went to the pool."""
        return self.assigned_at is not None


class SalesAction(BaseModel):
    """A sales action on a lead (API, CLI or Temporal update)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: ActionName
    actor: Actor
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None
    revisit_after: date | None = None
    """return_to_nurture only: no new hand-off before this date (UTC)."""
    action_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,128}$")] | None = None
    """Retries with the same id apply once."""


class WebhookMessage(BaseModel):
    """A Slack-compatible message: ``text`` is what Slack shows."""

    text: str
