"""What a sales rep may see and do from the link of a mail to sales, without API key or
login: the signed link names the rep and the lead (or only the rep, for their leads and
the pool); the actions offered are those the lead's state allows and the rep is entitled
to (the owner acts, any rep may claim a lead from the pool within their capacity, the
manager only looks); each form carries a signed, expiring anti-forgery field bound to the
page's link."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from nurture.adapters.links.links import REP_DESK, REP_LEAD
from nurture.adapters.links.tokens import TokenError, TokenSigner
from nurture.domain.factlog.model import Fact
from nurture.domain.lead.view import LeadView
from nurture.domain.sales.handoff import open_handoff, refusal
from nurture.domain.sales.records import ActionName
from nurture.domain.sales.routing import Rep, SalesTeam

__all__ = [
    "ACTIONS",
    "ACTIVITY_KINDS",
    "FORM_VALIDITY",
    "ActivityRow",
    "RepAccess",
    "check_form_token",
    "form_token",
    "in_pool",
    "offered_actions",
    "read_access",
    "recent_activity",
    "why_not_allowed",
    "why_not_entitled",
]

ACTIONS: tuple[ActionName, ...] = (
    "accept",
    "return_to_nurture",
    "disqualify",
    "convert",
    "won",
    "lost",
)
FORM_VALIDITY = timedelta(hours=12)
"""How long a page's buttons work before the page must be reloaded."""
_FORM = "rep-form"
_ACTIVITY_KINDS = (
    "form_submitted",
    "event_received",
    "email_sent",
    "email_opened",
    "email_clicked",
    "stage_changed",
    "handed_off",
    "assigned",
    "pooled",
    "sales_action",
    "unsubscribed",
    "opt_in_confirmed",
)


@dataclass(frozen=True)
class RepAccess:
    """Who a verified link speaks for: a rep of the team (``rep``), or the manager when
    ``rep`` is ``None``; and the lead, for a lead's link."""

    rep: Rep | None
    lead_id: str | None
    expires_at: datetime | None = None
    """When the link expires: links made from it (a lead's page to the rep's leads, and
    back) expire no later, so a link passed on cannot renew itself."""

    def links_expire(self, now: datetime, validity: timedelta) -> datetime:
        """The expiry of a link made now from this one."""
        fresh = now + validity
        return min(fresh, self.expires_at) if self.expires_at else fresh

    @property
    def actor(self) -> str:
        return self.rep.id if self.rep else "manager"


def read_access(
    signer: TokenSigner, token: str, team: SalesTeam, now: datetime, desk: bool = False
) -> RepAccess:
    """The access a link gives, or :class:`TokenError` (forged, expired, another purpose,
    or a rep no longer in the team: their links stop working at once)."""
    fields = signer.verify(token, REP_DESK if desk else REP_LEAD, now)
    expires_at = signer.expiry(token)
    rep_id = str(fields.get("r") or "")
    rep = team.rep(rep_id) if rep_id else None
    if rep_id and (rep is None or not rep.active):
        raise TokenError("this rep is no longer in the sales team")
    if desk and rep is None:
        raise TokenError("a desk link names a rep")
    lead_id = None if desk else str(fields.get("l") or "")
    if not desk and not lead_id:
        raise TokenError("malformed token")
    return RepAccess(rep=rep, lead_id=lead_id, expires_at=expires_at)


def why_not_allowed(view: LeadView, access: RepAccess, action: str) -> str | None:
    """Why ``access`` may not take ``action`` on the lead now (``None``: it may): the
    lead's own rules first, then whose lead it is."""
    return refusal(view.stage, open_handoff(view.handoffs), action) or why_not_entitled(
        view, access, action
    )


def why_not_entitled(view: LeadView, access: RepAccess, action: str) -> str | None:
    """Why the link's holder may not take ``action`` on this lead, whatever its stage:
    the manager only looks, a lead with another rep is theirs, a lead in the pool is
    taken (Accept) before anything else. (The lead's own rules are the workflow's.)"""
    if access.rep is None:
        return "the manager's link shows the lead; its owner acts on it"
    handoff = open_handoff(view.handoffs)
    if handoff is None:  # returned, lost, won or never handed off: marketing's, or done
        return "this lead is not with sales now"
    if handoff.owner == access.rep.id:
        return None
    if handoff.owner is None:
        return None if action == "accept" else "take the lead from the pool first (Accept)"
    return f"this lead is now with {handoff.owner_name or handoff.owner}"


def in_pool(view: LeadView) -> bool:
    """The lead waits in the pool for a rep to take it."""
    handoff = open_handoff(view.handoffs)
    return handoff is not None and handoff.routed and handoff.owner is None


def offered_actions(view: LeadView, access: RepAccess) -> list[ActionName]:
    """The buttons to show: the actions allowed now, in the order of the funnel."""
    return [a for a in ACTIONS if why_not_allowed(view, access, a) is None]


def form_token(signer: TokenSigner, page_token: str, now: datetime) -> str:
    """The anti-forgery field of a page's forms: only a page served for this very link
    has it, and it expires after :data:`FORM_VALIDITY`."""
    return signer.sign(_FORM, {"t": _digest(page_token)}, now + FORM_VALIDITY)


def check_form_token(signer: TokenSigner, page_token: str, field: str, now: datetime) -> None:
    """:class:`TokenError` unless ``field`` came from a page of this link, recently."""
    fields = signer.verify(field, _FORM, now)
    if fields.get("t") != _digest(page_token):
        raise TokenError("this form belongs to another page")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class ActivityRow:
    """One line of a lead's recent activity: when, what kind, and its particulars."""

    at: datetime
    kind: str
    detail: str


ACTIVITY_KINDS = _ACTIVITY_KINDS
"""The kinds of facts the recent activity shows (read only these)."""


async def recent_activity(facts: AsyncIterator[Fact], limit: int = 20) -> list[ActivityRow]:
    """The newest ``limit`` things that happened to the lead, newest first (the facts of
    one lead, oldest first, as the facts log streams them)."""
    rows: list[ActivityRow] = []
    async for fact in facts:
        if fact.kind in _ACTIVITY_KINDS:
            rows.append(ActivityRow(fact.at, fact.kind, _detail(fact)))
            del rows[:-limit]
    return rows[::-1]


def _detail(fact: Fact) -> str:
    data = fact.data
    picks: Iterable[str] = (
        "type",
        "form",
        "template",
        "url",
        "to_stage",
        "trigger",
        "rep",
        "action",
        "actor",
        "reason",
        "via",
    )
    return " · ".join(str(data[k]) for k in picks if data.get(k) not in (None, ""))
