"""What opens and clicks mean: the events tracking produces and which of them a person made.

Opens are a weak signal: Apple Mail Privacy Protection and many corporate gateways fetch
every image, so an open is worth little (scoring) and never moves a lead's stage on its own
(``ScoringModel.weak_events``). Security scanners follow links, too, typically within
seconds of delivery. A machine-made open or click is the same event type flagged with the
``machine`` property (why it looks so) under an id of its own, so the facts log can count
machine opens apart; the journey only remembers it (it scores nothing, is nobody's activity
and no sequence hears of it). How the links and the pixel are signed and rewritten is the
adapter's business (:mod:`nurture.adapters.links.tracking`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from nurture.domain.models import LeadEvent
from nurture.domain.schedule import Duration

__all__ = [
    "CLICKED",
    "HEAD_REQUEST",
    "MACHINE",
    "OPENED",
    "SCANNER_AGENT",
    "TRACKING_EVENTS",
    "Tracked",
    "TrackingPolicy",
    "click_event",
    "machine_reason",
    "open_event",
    "scanner_reason",
]

OPENED = "email_opened"
CLICKED = "email_clicked"
TRACKING_EVENTS = (OPENED, CLICKED)
"""The event types tracking produces (sequences wait for them, scoring rules count them)."""
MACHINE = "machine"
"""The property of a machine-made open or click: why it looks machine-made."""
HEAD_REQUEST = "HEAD request"
SCANNER_AGENT = "scanner user agent"

_SCANNER_AGENTS = re.compile(
    r"bot\b|crawler|spider|preview|scanner|safelinks|barracuda|proofpoint|mimecast|"
    r"trendmicro|forcepoint|symantec|messagelabs|python-requests|curl/|wget/",
    re.IGNORECASE,
)


class TrackingPolicy(BaseModel):
    """``[tracking]`` in ``nurture.toml``: what marketing email measures."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    opens: bool = True
    """Add the open pixel."""
    clicks: bool = True
    """Send links through the click redirect."""
    require_consent: bool = True
    """Track only leads that gave marketing consent (whose wording should mention it)."""
    scanner_window: Duration = timedelta(seconds=30)
    """Clicks this soon after sending are taken for a security scanner's and not counted."""

    def applies(self, consented: bool) -> bool:
        """Whether a marketing email to a lead with (or without) consent is tracked."""
        return (self.opens or self.clicks) and (consented or not self.require_consent)


@dataclass(frozen=True)
class Tracked:
    """What a verified open or click token says."""

    lead_id: str
    key: str
    template: str
    sent_at: datetime
    url: str | None = None


def scanner_reason(
    tracked: Tracked, now: datetime, method: str, user_agent: str | None, window: timedelta
) -> str | None:
    """Why a click looks like a machine's (a security scanner, a preview), or ``None``."""
    if method.upper() == "HEAD":
        return HEAD_REQUEST
    if now - tracked.sent_at < window:
        return f"within {window.total_seconds():g}s of sending"
    if not user_agent or _SCANNER_AGENTS.search(user_agent):
        return SCANNER_AGENT
    return None


def machine_reason(event: LeadEvent) -> str | None:
    """Why an open or click was machine-made (its ``machine`` property), ``None`` for a
    person's. Only tracking events can be machine-made: another event's ``machine``
    property is the client's own business."""
    if event.type not in TRACKING_EVENTS:
        return None
    reason = event.properties.get(MACHINE)
    return str(reason) if reason else None


def _event_id(kind: str, machine: str | None, *parts: str) -> str:
    """The event's id: one per email (or link) for a person's fetches, another for any
    machine's, whatever its reason."""
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]
    return f"{'machine-' if machine else ''}{kind}:{digest}"


def _properties(tracked: Tracked, machine: str | None) -> dict[str, str]:
    properties = {"email_key": tracked.key, "template": tracked.template, "via": "nurture"}
    return {**properties, MACHINE: machine} if machine else properties


def open_event(tracked: Tracked, at: datetime, machine: str | None = None) -> LeadEvent:
    """``email_opened``, once per email for a person (the same id for every later open)
    and once for machines (an id of their own: a prefetch never uses up the person's);
    ``via`` tells nurture's own measures from opens reported by other tools (prospecting)."""
    return LeadEvent(
        id=_event_id("open", machine, tracked.key),
        type=OPENED,
        occurred_at=at,
        properties=_properties(tracked, machine),
    )


def click_event(tracked: Tracked, at: datetime, machine: str | None = None) -> LeadEvent:
    """``email_clicked``, once per link of an email for a person and once for machines."""
    url = tracked.url or ""
    return LeadEvent(
        id=_event_id("click", machine, tracked.key, url),
        type=CLICKED,
        occurred_at=at,
        properties={**_properties(tracked, machine), "url": url},
    )
