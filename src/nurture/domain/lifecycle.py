"""The funnel: lifecycle stages, the moves allowed between them, and automatic qualification.

Stages describe where the lead is in the funnel; conditions (unsubscribed, bounced) are
orthogonal and can hold in any stage: an unsubscribed customer is still a customer.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from types import MappingProxyType

from nurture.errors import IllegalTransition

__all__ = [
    "ALLOWED_TRANSITIONS",
    "MARKETING_STAGES",
    "Condition",
    "Stage",
    "check_transition",
    "qualify",
    "why_not_mail",
]


class Stage(StrEnum):
    """Where a lead stands in the funnel (DOMAIN.md)."""

    NEW = "new"
    MQL = "mql"
    SQL = "sql"
    OPPORTUNITY = "opportunity"
    CUSTOMER = "customer"
    RECYCLED = "recycled"
    DISQUALIFIED = "disqualified"


class Condition(StrEnum):
    """A fact that limits what may be sent, whatever the stage."""

    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    UNCONFIRMED = "unconfirmed"
    """Known only from double opt-in forms not yet confirmed: only the confirmation goes."""
    NO_CONSENT = "no_consent"
    """Imported without a consent the file vouches for: no marketing mail, no sequence,
    until a form post gives consent."""
    HELD = "held"
    """Imported without enrolment: enters no sequence until the person acts (a form, a
    tracked event)."""


_S = Stage
ALLOWED_TRANSITIONS: MappingProxyType[Stage, frozenset[Stage]] = MappingProxyType(
    {
        _S.NEW: frozenset({_S.MQL, _S.SQL, _S.DISQUALIFIED}),
        _S.MQL: frozenset({_S.SQL, _S.RECYCLED, _S.DISQUALIFIED}),
        _S.SQL: frozenset({_S.OPPORTUNITY, _S.RECYCLED, _S.DISQUALIFIED}),
        _S.OPPORTUNITY: frozenset({_S.CUSTOMER, _S.RECYCLED, _S.DISQUALIFIED}),
        # A customer buying again starts a new deal.
        _S.CUSTOMER: frozenset({_S.OPPORTUNITY}),
        _S.RECYCLED: frozenset({_S.MQL, _S.SQL, _S.DISQUALIFIED}),
        # Circumstances change (budget found, new role): a disqualified lead can be recycled.
        _S.DISQUALIFIED: frozenset({_S.RECYCLED}),
    }
)
"""Every move the funnel allows; anything else raises :class:`IllegalTransition`."""

MARKETING_STAGES = frozenset({Stage.NEW, Stage.MQL, Stage.RECYCLED})
"""Stages marketing owns: scores qualify them, sequences run and marketing email goes out."""


def check_transition(current: Stage, target: Stage) -> Stage:
    """Return ``target`` if the move is allowed, else raise naming both stages."""
    allowed = ALLOWED_TRANSITIONS[current]
    if target not in allowed:
        raise IllegalTransition(current.value, target.value, frozenset(s.value for s in allowed))
    return target


def qualify(current: Stage, score: int, mql_at: int, sql_at: int) -> Stage | None:
    """The stage a score earns a marketing lead, or ``None`` when it stays where it is.

    Scores only ever promote: new, MQL and recycled leads move up at the thresholds; leads
    that sales owns or that left the funnel are never moved by a score. When a score may
    move a lead at all (it just rose; a recycled lead re-qualified) is the journey's rule.
    """
    if current not in MARKETING_STAGES:
        return None
    if score >= sql_at:
        return Stage.SQL
    if score >= mql_at and current is not Stage.MQL:
        return Stage.MQL
    return None


def why_not_mail(
    marketing: bool,
    stage: str,
    conditions: Iterable[str],
    stages: Iterable[str] = MARKETING_STAGES,
) -> str | None:
    """Why an email must not go to a lead now, or ``None`` when it may.

    Nothing goes to a bounced address; marketing email (``marketing=True``) also stops for
    an unsubscribed lead, one that has not confirmed its double opt-in, and outside
    ``stages``, where the sequence sending it may run.
    Transactional email (a thank-you for what the lead asked) is otherwise always sent.
    """
    held = set(conditions)
    if Condition.BOUNCED in held:
        return "the address bounced"
    if not marketing:
        return None
    if Condition.UNSUBSCRIBED in held:
        return "the lead unsubscribed"
    if Condition.UNCONFIRMED in held:
        return "the lead has not confirmed its subscription"
    if Condition.NO_CONSENT in held:
        return "the lead was imported without marketing consent"
    if stage not in set(stages):
        return f"marketing mail stops in stage '{stage}'"
    return None
